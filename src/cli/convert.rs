//! `saker convert`: a sysdig/Falco `.scap` file (plain or gzipped) into our
//! format, indexed and compressed; prints the size ratio. The input is
//! memory-mapped and the output written block by block as it is converted.

use anyhow::{bail, Context, Result};

use super::args::ConvertArgs;
use saker::capture::{Replacing, WriterOptions};
use saker::scap;

/// Runs `saker convert`.
pub fn run(a: &ConvertArgs) -> Result<i32> {
    let input =
        std::fs::File::open(&a.input).with_context(|| format!("reading {}", a.input.display()))?;
    // SAFETY: read-only mapping, only read while converting; a file changed
    // underneath can at worst fault (SIGBUS), as for `capture::open`.
    let bytes = unsafe { memmap2::Mmap::map(&input) }
        .with_context(|| format!("reading {}", a.input.display()))?;
    if !matches!(
        scap::detect(&bytes),
        scap::FileKind::Scap | scap::FileKind::Gzip
    ) {
        bail!(
            "{}: not a sysdig/Falco .scap file (by its magic bytes)",
            a.input.display()
        );
    }
    // Written beside, then renamed over the name once complete: an existing
    // file is never lost to a failed import, and converting onto the input
    // itself cannot cut the mapping being read. Dropped on an error, the
    // temporary file goes.
    let (file, out) = Replacing::create(&a.write)?;
    let opts = WriterOptions {
        zstd_level: a.level,
        ..WriterOptions::default()
    };
    let imp = saker::source::import_mapped(&bytes, opts, std::io::BufWriter::new(out))
        .with_context(|| format!("importing {}", a.input.display()))?;
    if let Some(e) = &imp.stats.truncation {
        eprintln!(
            "warning: {}: {e}; converting the events before it",
            a.input.display()
        );
    }
    let out = imp
        .out
        .into_inner()
        .map_err(|e| e.into_error())
        .with_context(|| format!("writing {}", a.write.display()))?;
    out.sync_all().ok();
    file.commit()?;
    let ratio = imp.info.bytes as f64 / bytes.len().max(1) as f64;
    if !a.quiet {
        eprintln!(
            "{} -> {}: {} raw events -> {} events; {} -> {} bytes ({:.2}x the original)",
            a.input.display(),
            a.write.display(),
            imp.stats.raw_events,
            imp.stats.records,
            bytes.len(),
            imp.info.bytes,
            ratio
        );
    }
    Ok(0)
}
