//! `saker convert`: a sysdig/Falco `.scap` file (plain or gzipped) into our
//! format, indexed and compressed; prints the size ratio.

use std::io::Write as _;

use anyhow::{bail, Context, Result};

use super::args::ConvertArgs;
use saker::capture::WriterOptions;
use saker::scap;

/// Runs `saker convert`.
pub fn run(a: &ConvertArgs) -> Result<i32> {
    let bytes =
        std::fs::read(&a.input).with_context(|| format!("reading {}", a.input.display()))?;
    if !matches!(
        scap::detect(&bytes),
        scap::FileKind::Scap | scap::FileKind::Gzip
    ) {
        bail!(
            "{}: not a sysdig/Falco .scap file (by its magic bytes)",
            a.input.display()
        );
    }
    let imp = scap::import(&bytes).with_context(|| format!("importing {}", a.input.display()))?;
    if let Some(e) = &imp.stats.truncation {
        eprintln!(
            "warning: {}: {e}; converting the events before it",
            a.input.display()
        );
    }
    let opts = WriterOptions {
        zstd_level: a.level,
        ..WriterOptions::default()
    };
    let ours = scap::to_capture(&imp, opts).context("converting")?;
    let mut f = std::fs::OpenOptions::new();
    f.write(true).create(true).truncate(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut f, 0o600);
    let mut out = f
        .open(&a.write)
        .with_context(|| format!("creating {}", a.write.display()))?;
    out.write_all(&ours)
        .with_context(|| format!("writing {}", a.write.display()))?;
    out.sync_all().ok();
    let ratio = ours.len() as f64 / bytes.len().max(1) as f64;
    if !a.quiet {
        eprintln!(
            "{} -> {}: {} raw events -> {} events; {} -> {} bytes ({:.2}x the original)",
            a.input.display(),
            a.write.display(),
            imp.stats.raw_events,
            imp.stats.records,
            bytes.len(),
            ours.len(),
            ratio
        );
    }
    Ok(0)
}
