//! The eBPF recorder: probes, ring-buffer draining, the /proc snapshot and
//! the recording session that writes a capture file.
//!
//! Only `cli/` uses this module; the analyzer never needs it (or root).

pub mod merge;
pub mod probes;
pub mod procfs;
pub mod session;
pub mod table;
pub mod writer;

use std::path::Path;

use crate::event::meta::{ArgKind, SyscallTable};
use crate::event::wire::{
    ParamKind, RecordBuilder, CODE_COMPAT_BASE, CPU_UNKNOWN, F_COMPAT, F_UNFINISHED,
};
pub use session::{record, NoHooks, RecordHooks, RecordOptions, RecordReport, Status};

/// Errors of a recording session.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// Loading or driving the BPF probes failed.
    #[error(transparent)]
    Probe(#[from] probes::ProbeError),
    /// Writing the capture failed.
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
    /// Reading /proc failed.
    #[error(transparent)]
    Procfs(#[from] procfs::ProcfsError),
    /// The syscall table could not be built.
    #[error("syscall table: {0}")]
    Table(String),
    /// The writer thread failed.
    #[error("writer: {0}")]
    Writer(String),
    /// Another I/O error.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
}

fn comm_of(pid: u32) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    Some(s.trim_end_matches('\n').to_string())
}

/// Syscalls still blocked when recording stops, as unfinished records with
/// their entry arguments (string arguments read from the process's memory).
pub fn inflight_records(
    now: u64,
    table: &SyscallTable,
    comms: &[String],
    keep: &dyn Fn(u32) -> bool,
) -> Vec<Vec<u8>> {
    let filter = |pid: u32, _tid: u32| {
        keep(pid) && (comms.is_empty() || comm_of(pid).is_some_and(|c| comms.contains(&c)))
    };
    let Ok(scan) = procfs::inflight::in_flight(Path::new("/proc"), filter) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(scan.threads.len());
    for t in scan.threads {
        // /proc/PID/syscall reports the number of the task's ABI: ia32
        // numbers for a 32-bit executable.
        if t.nr >= CODE_COMPAT_BASE {
            continue;
        }
        let desc = table
            .syscalls
            .iter()
            .find(|d| d.compat == t.compat && d.nr == t.nr);
        let nargs = desc.map_or(6, |d| d.args.len().min(6));
        let (code, flags) = if t.compat {
            (t.nr + CODE_COMPAT_BASE, F_UNFINISHED | F_COMPAT)
        } else {
            (t.nr, F_UNFINISHED)
        };
        // The CPU it last ran on; CPU_UNKNOWN if procfs did not say.
        let cpu = t
            .cpu
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(CPU_UNKNOWN);
        let mut b = RecordBuilder::new(code, cpu, now, t.tid, t.pid, 0)
            .flags(flags)
            .args(&t.args[..nargs]);
        if let Some(d) = desc {
            for (i, a) in d.args.iter().enumerate().take(6) {
                if a.kind == ArgKind::Str {
                    if let Some(s) = procfs::inflight::read_user_string(t.pid, t.args[i], 4096) {
                        b = b.param(i as u8, ParamKind::Str, &s);
                    }
                }
            }
        }
        out.push(b.build());
    }
    out
}
