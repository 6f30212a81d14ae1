//! Regenerates `src/event/syscalls_x86_64.json`, the syscall table embedded
//! in saker for captures that carry none (e.g. imported `.scap` files).
//!
//! Run on an x86_64 Linux machine with tracefs mounted
//! (`mount -t tracefs nodev /sys/kernel/tracing`, as root) and the kernel's
//! UAPI headers installed (Debian: `linux-libc-dev`):
//!
//! ```text
//! cargo run --example gen_syscalls -- src/event/syscalls_x86_64.json
//! ```
//!
//! Numbers come from `asm/unistd_64.h` and `asm/unistd_32.h`; argument
//! schemas from the running kernel's `sys_enter_*` formats. Syscalls newer
//! than the headers are left out (the recorder gets their numbers from the
//! kernel at record time); the `source` field records which were missing.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{bail, Context, Result};
use saker::event::table::{build_table, unnumbered_formats, x86_64_names_from_unistd};
use saker::event::tracefs::parse_format;

const TRACEFS: &str = "/sys/kernel/tracing/events/syscalls";
const UNISTD_64: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_64.h";
const UNISTD_32: &str = "/usr/include/x86_64-linux-gnu/asm/unistd_32.h";

fn main() -> Result<()> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "src/event/syscalls_x86_64.json".into());
    let mut formats = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(TRACEFS)
        .with_context(|| format!("reading {TRACEFS} (is tracefs mounted?)"))?
        .collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if !e.file_name().to_string_lossy().starts_with("sys_enter_") {
            continue;
        }
        let path = e.path().join("format");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        formats.push(parse_format(&path.display().to_string(), &text)?);
    }
    if formats.is_empty() {
        bail!("no sys_enter_* formats under {TRACEFS}");
    }
    let read = |p: &str| std::fs::read_to_string(p).with_context(|| format!("reading {p}"));
    let native = x86_64_names_from_unistd(&read(UNISTD_64)?);
    let compat = x86_64_names_from_unistd(&read(UNISTD_32)?);
    let mut table = build_table(&native, &compat, &formats);

    let unnumbered = unnumbered_formats(&native, &formats);
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    table.source = format!(
        "default x86_64 table: numbers from {UNISTD_64} and {UNISTD_32}, argument schemas from \
         tracefs of Linux {}; {}; not in the headers (numbered at record time): {}",
        release.trim(),
        table.source,
        unnumbered.join(" ")
    )
    .into();

    // One syscall per line keeps diffs readable.
    let mut json = String::new();
    writeln!(
        json,
        "{{\"source\": {},",
        serde_json::to_string(&table.source)?
    )?;
    json.push_str("\"syscalls\": [\n");
    for (i, d) in table.syscalls.iter().enumerate() {
        let sep = if i + 1 == table.syscalls.len() {
            ""
        } else {
            ","
        };
        writeln!(json, "{}{sep}", serde_json::to_string(d)?)?;
    }
    json.push_str("]}\n");
    std::fs::write(Path::new(&out), json).with_context(|| format!("writing {out}"))?;
    eprintln!("wrote {out}: {} syscalls", table.syscalls.len());
    Ok(())
}
