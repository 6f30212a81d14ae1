//! The recorder's view of `/proc` and `/etc`: the start [`Snapshot`] of every
//! process and thread, the [`Machine`] description, and the syscalls still in
//! flight when recording stops.
//!
//! Parsing is pure (functions over `&str` / `&[u8]` in the submodules, unit
//! tested with fixture text); the I/O lives in thin wrappers that read files
//! under a configurable root ([`SnapshotOptions::proc_root`]) so tests can
//! point them at a fixture tree. Processes vanish while `/proc` is walked:
//! `ENOENT`/`ESRCH` mean "skip", never "fail the snapshot".
//!
//! [`Machine`]: crate::event::meta::Machine

pub mod fds;
pub mod inflight;
pub mod machine;
pub mod net;
pub mod proc;
pub mod users;

#[cfg(test)]
mod live_tests;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::event::meta::Snapshot;

pub use inflight::{in_flight, read_user_string, InFlight};
pub use machine::machine_info;

/// Errors of the procfs snapshot, machine info and in-flight readers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcfsError {
    /// A file or directory could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A file's content is not in the expected format.
    #[error("{}:{line}:{col}: {reason}", path.display())]
    Parse {
        /// The file (empty when the text did not come from a file).
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column (byte).
        col: usize,
        /// What is wrong; quoted data is escaped.
        reason: String,
    },
    /// A system call that should not fail did.
    #[error("{call}: {source}")]
    Sys {
        /// The call (`uname`, `clock_gettime(CLOCK_BOOTTIME)`...).
        call: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl ProcfsError {
    /// A parse error at `line:col` of text whose file is not known yet.
    pub(crate) fn parse(line: usize, col: usize, reason: impl Into<String>) -> Self {
        Self::Parse {
            path: PathBuf::new(),
            line,
            col,
            reason: reason.into(),
        }
    }

    /// Sets the file of a [`ProcfsError::Parse`] error.
    pub(crate) fn in_file(self, file: &Path) -> Self {
        match self {
            Self::Parse {
                line, col, reason, ..
            } => Self::Parse {
                path: file.to_path_buf(),
                line,
                col,
                reason,
            },
            other => other,
        }
    }

    /// `true` when the error only means the process or thread is gone.
    pub fn is_vanished(&self) -> bool {
        matches!(self, Self::Io { source, .. } if is_vanished_io(source))
    }
}

/// `ENOENT`/`ESRCH`: the process or thread exited while being read.
pub(crate) fn is_vanished_io(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

/// Reads at most `cap` bytes of a file (procfs files report size 0, so the
/// length cannot be checked up front; the cap bounds the allocation).
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, ProcfsError> {
    let io_err = |source| ProcfsError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut buf = Vec::with_capacity(4096);
    file.take(cap).read_to_end(&mut buf).map_err(io_err)?;
    Ok(buf)
}

/// Like [`read_capped`], as (lossy) UTF-8 text.
pub(crate) fn read_text(path: &Path, cap: u64) -> Result<String, ProcfsError> {
    let bytes = read_capped(path, cap)?;
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// `readlink`, as (lossy) UTF-8 text.
pub(crate) fn read_link(path: &Path) -> Result<String, ProcfsError> {
    std::fs::read_link(path)
        .map(|p| p.to_string_lossy().into_owned())
        .map_err(|source| ProcfsError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Decides which threads are read: called as `filter(pid, tid)`.
pub type ThreadFilter = Arc<dyn Fn(u32, u32) -> bool + Send + Sync>;

/// What [`snapshot`] reads, and from where.
#[derive(Clone)]
pub struct SnapshotOptions {
    /// Read every process's open fds and socket tables.
    pub include_fds: bool,
    /// Where procfs is mounted (`/proc`).
    pub proc_root: PathBuf,
    /// Where `passwd` and `group` are (`/etc`).
    pub etc_root: PathBuf,
    /// Only threads accepted by the filter are recorded (`None`: all).
    /// Process-wide data (fds) is read when the leader is accepted.
    pub filter: Option<ThreadFilter>,
}

impl Default for SnapshotOptions {
    fn default() -> Self {
        Self {
            include_fds: true,
            proc_root: PathBuf::from("/proc"),
            etc_root: PathBuf::from("/etc"),
            filter: None,
        }
    }
}

impl fmt::Debug for SnapshotOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotOptions")
            .field("include_fds", &self.include_fds)
            .field("proc_root", &self.proc_root)
            .field("etc_root", &self.etc_root)
            .field("filter", &self.filter.as_ref().map(|_| "<fn>"))
            .finish()
    }
}

/// Most per-process problems kept in [`SnapshotStats::warnings`].
pub const MAX_WARNINGS: usize = 64;

/// How a snapshot went.
#[derive(Debug, Default)]
pub struct SnapshotStats {
    /// Wall time of the whole snapshot.
    pub elapsed: Duration,
    /// Processes (thread groups) recorded.
    pub processes: usize,
    /// Threads recorded (including leaders).
    pub threads: usize,
    /// Open fds recorded.
    pub fds: usize,
    /// Processes or threads that exited while being read.
    pub vanished: usize,
    /// Distinct network namespaces whose socket tables were read.
    pub netns: usize,
    /// Unexpected per-process problems (the process or fd was skipped);
    /// at most [`MAX_WARNINGS`] are kept.
    pub warnings: Vec<ProcfsError>,
    /// Warnings beyond [`MAX_WARNINGS`] that were counted but not kept.
    pub warnings_dropped: usize,
}

impl SnapshotStats {
    /// Records a non-fatal problem.
    pub(crate) fn warn(&mut self, e: ProcfsError) {
        if e.is_vanished() {
            self.vanished += 1;
        } else if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(e);
        } else {
            self.warnings_dropped += 1;
        }
    }
}

/// Takes the start snapshot: every process and thread, their fds (when
/// asked), users and groups.
pub fn snapshot(opts: &SnapshotOptions) -> Result<Snapshot, ProcfsError> {
    snapshot_with_stats(opts).map(|(snap, _)| snap)
}

/// [`snapshot`], also returning how long it took and what was skipped.
pub fn snapshot_with_stats(
    opts: &SnapshotOptions,
) -> Result<(Snapshot, SnapshotStats), ProcfsError> {
    let started = Instant::now();
    let mut stats = SnapshotStats::default();
    let ts = machine::clock_ns(libc::CLOCK_BOOTTIME, "clock_gettime(CLOCK_BOOTTIME)")?;
    let hz = machine::clock_ticks_per_sec()?;
    let mut sockets = net::SocketTables::new(&opts.proc_root);
    let procs = proc::walk(opts, hz, &mut sockets, &mut stats)?;
    stats.netns = sockets.namespaces_read();
    let users = users::read_users(&opts.etc_root)?;
    let groups = users::read_groups(&opts.etc_root)?;
    stats.elapsed = started.elapsed();
    Ok((
        Snapshot {
            ts,
            procs,
            users,
            groups,
        },
        stats,
    ))
}
