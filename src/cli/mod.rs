//! The command-line front end: argument parsing and one module per command.
//! Only this module and `main.rs` use `anyhow`.

pub mod args;
#[cfg(feature = "analytics")]
pub mod chisel;
pub mod convert;
pub mod fields;
pub mod info;
pub mod read;
#[cfg(feature = "bpf")]
pub mod record;
pub mod replay;
pub mod rules;
pub mod test;
pub mod tui;
pub mod verify;

pub use args::{Cli, Cmd};

use std::path::Path;

use anyhow::Context;

/// Opens any capture ([`saker::source::open`]); unless `quiet`, warns on
/// stderr when it stops early: where, why, and that `doing` (reading,
/// replaying...) uses the events before it.
pub fn open_capture(
    path: &Path,
    quiet: bool,
    doing: &str,
) -> anyhow::Result<saker::source::Opened> {
    let opened =
        saker::source::open(path).with_context(|| format!("opening {}", path.display()))?;
    if let (Some(inc), false) = (opened.incomplete(), quiet) {
        warn_incomplete(path, &inc, doing);
    }
    Ok(opened)
}

/// Warns on stderr that the capture at `path` stops early: where, why,
/// and that `doing` (reading, replaying...) uses the events before it.
pub fn warn_incomplete(path: &Path, inc: &saker::source::Incomplete, doing: &str) {
    let at = inc
        .offset
        .map(|o| format!(" at offset {o}"))
        .unwrap_or_default();
    eprintln!(
        "saker: warning: {} is incomplete{at} ({}); {doing} the events before it",
        path.display(),
        inc.reason
    );
}

/// Formats ns since the epoch as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC).
pub fn fmt_epoch(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.9f").to_string(),
        None => format!("@{ns}"),
    }
}
