//! State reconstruction: threads, processes, fd tables, cwd, users and groups
//! rebuilt from a capture's start [`Snapshot`] plus its event records.
//!
//! Depends only on [`crate::event::meta`] and [`crate::event::wire`], so our
//! captures and imported `.scap` files (converted to wire records) work alike.
//!
//! # Phases
//! 1. **Compile**: [`Ops::compile`] maps the capture's syscall table (names,
//!    arg names) to a `Vec<Op>` indexed by event code, once.
//! 2. **Build**: [`State::new`] loads the snapshot (threads, processes, fds,
//!    cwd, users, groups); [`State::to_snapshot`] writes one back.
//! 3. **Run**: [`State::apply`] updates the state with one record. It never
//!    fails or panics: odd input (bad fd numbers, missing params, unknown
//!    threads, full tables) is skipped or defaulted and counted in [`Stats`].
//!
//! # Semantics
//! * Only successful syscalls (`ret >= 0`; connect also on `EINPROGRESS`)
//!   change the state; unfinished records don't.
//! * A thread seen for the first time is created from defaults (`pid` from the
//!   record header) and flagged `lazy`, with its process if needed.
//! * FORK/EXEC/EXIT records are authoritative; clone/fork/execve syscall exits
//!   stand in for them in captures that lack them. Once a FORK record was
//!   applied, clone exits create no thread: the source decided which clones
//!   make one (a caller in a pid namespace returns the child's tid there).
//! * After an EXIT record the thread (and, when the group died, its process
//!   with its `exit_status`) stays visible until the next [`State::apply`], so
//!   fields of the exit event itself still resolve.
//! * [`Effect`] returns the fd an fd-changing event worked on (the new fd for
//!   open/socket/dup..., the removed entry for close), since after `apply`
//!   the state alone no longer shows a closed fd.
//!
//! # Sharing and cheap clones
//! Threads and processes are `Arc`s in hash maps; fd tables and fs info (cwd)
//! live in id-addressed shared slots (`CLONE_FILES`/`CLONE_FS` share a slot,
//! fork copies it) whose values are `Arc`s written with `Arc::make_mut`.
//! Cloning a [`State`] therefore copies only maps of pointers; a table is
//! really copied the first time either side writes it. [`Checkpoints`] relies
//! on this to keep a state every K events.

mod apply;
mod checkpoint;
mod compile;
mod error;
mod fd;
pub(crate) mod idmap;
mod lifecycle;
pub mod ops;
mod path;
mod pathcache;
mod proc;
mod query;
mod shared;
mod snapshot;
pub mod sockaddr;
mod thread;
mod users;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_proc;
#[cfg(test)]
mod tests_snapshot;
#[cfg(test)]
mod tests_syscalls;

use std::sync::Arc;

pub use checkpoint::{Checkpoints, DEFAULT_INTERVAL};
pub use error::StateError;
pub use fd::{FdEntry, FdTable, L4Proto, Role, SockInfo, MAX_FDS_PER_TABLE, O_CLOEXEC};
pub use ops::{Op, Ops};
pub use path::PATH_CAP;
pub use query::Ancestors;
pub use sockaddr::SockAddr;
pub use thread::{container_id, Creds, Process, Thread, LOGINUID_UNSET};
pub use users::Users;

pub use crate::event::meta::FdKind;

use crate::event::meta::{Snapshot, SyscallTable};
use idmap::IdMap;
use shared::Shared;

/// Most threads (and processes) kept; more are counted in [`Stats::thread_cap`].
pub const MAX_THREADS: usize = 1 << 20;

/// Per-fs-struct info shared by `CLONE_FS` (the cwd).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FsInfo {
    cwd: Arc<str>,
}

impl Default for FsInfo {
    fn default() -> Self {
        FsInfo { cwd: "".into() }
    }
}

/// Counters of input the state could not use as is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Threads created from defaults at their first event.
    pub lazy_threads: u64,
    /// Processes created from defaults.
    pub lazy_processes: u64,
    /// Threads not created because [`MAX_THREADS`] was reached.
    pub thread_cap: u64,
    /// fds not stored because a table held [`MAX_FDS_PER_TABLE`].
    pub table_full: u64,
    /// Negative or out-of-range fd numbers met in args or return values.
    pub bad_fds: u64,
    /// Records whose needed param (path, sockaddr, fd pair) was missing or short.
    pub missing_params: u64,
    /// Gap markers seen (events lost while recording).
    pub drop_markers: u64,
    /// Records with a code no state op knows (>= 1028).
    pub unknown_codes: u64,
}

/// What an applied record did that the state no longer shows by itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effect {
    /// The fd the event created, changed or closed, and its entry (for close:
    /// the entry as it was before closing).
    pub fd: Option<(i32, FdEntry)>,
}

/// The reconstructed state at one point of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    ops: Arc<Ops>,
    threads: IdMap<u32, Arc<Thread>>,
    procs: IdMap<u32, Arc<Process>>,
    /// Live processes per parent pid (so exits of childless processes skip
    /// the reparenting scan).
    nchildren: IdMap<u32, u32>,
    files: Shared<FdTable>,
    fs: Shared<FsInfo>,
    users: Users,
    pending_exit: Vec<u32>,
    /// A FORK record was applied: the stream has them, so clone exits no
    /// longer stand in for them.
    forks_seen: bool,
    stats: Stats,
    applied: u64,
    hot: Hot,
    /// Whether fd-table ops are applied ([`State::without_fds`]).
    fds: bool,
    paths: pathcache::PathCache,
    epoch: Epoch,
}

/// See [`State::epoch`]: a value no other state change took, from one
/// counter for all states, so two states share one only while they are
/// copies with the same threads, processes and users. Not state itself:
/// two states are equal whatever theirs are.
#[derive(Debug, Clone, Copy)]
struct Epoch(u64);

impl Epoch {
    fn fresh() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Epoch(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
    }
}

impl PartialEq for Epoch {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Epoch {}

/// Lookups the state last made, for the next event (consecutive events
/// mostly come from one thread): the (tid, pid) [`State::ensure`] found,
/// cleared whenever a thread is added or removed; and the fd table id of a
/// process at an [epoch](State::epoch) (a table id changes only with
/// records that change the epoch). A cache, not state: a clone starts
/// empty, and two states are equal whatever theirs hold.
#[derive(Debug, Default)]
struct Hot {
    thread: Option<(u32, u32)>,
    /// (pid, epoch, fd table id).
    files: Option<(u32, u64, u64)>,
}

impl Clone for Hot {
    fn clone(&self) -> Self {
        Hot::default()
    }
}

impl PartialEq for Hot {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Hot {}

impl State {
    /// Builds the state at the start of a capture from its snapshot.
    ///
    /// Threads of a process share the leader's fd table and cwd; a thread
    /// whose leader is missing from the snapshot creates the process.
    /// Duplicate tids keep the first entry; at most [`MAX_THREADS`] are kept.
    pub fn new(ops: Arc<Ops>, snap: &Snapshot) -> State {
        let mut st = State {
            ops,
            threads: IdMap::default(),
            procs: IdMap::default(),
            nchildren: IdMap::default(),
            files: Shared::default(),
            fs: Shared::default(),
            users: Users::from_snapshot(snap),
            pending_exit: Vec::new(),
            forks_seen: false,
            stats: Stats::default(),
            applied: 0,
            hot: Hot::default(),
            fds: true,
            paths: pathcache::PathCache::default(),
            epoch: Epoch::fresh(),
        };
        // Leaders first, so their fds and cwd define the process.
        let leaders = snap.procs.iter().filter(|p| p.tid == p.pid);
        let others = snap.procs.iter().filter(|p| p.tid != p.pid);
        for p in leaders.chain(others) {
            if st.threads.contains_key(&p.tid) {
                continue;
            }
            if st.threads.len() >= MAX_THREADS {
                st.stats.thread_cap += 1;
                continue;
            }
            if !st.procs.contains_key(&p.pid) {
                let mut table = FdTable::default();
                for f in &p.fds {
                    if !table.insert(f.fd, FdEntry::from_info(f)) {
                        st.stats.bad_fds += 1;
                    }
                }
                let files = st.files.insert(table);
                let cwd = path::cap_ref(&p.cwd, PATH_CAP).into();
                let fs = st.fs.insert(FsInfo { cwd });
                st.insert_proc(Process::from_info(p, files, fs));
            }
            st.add_thread(Thread::from_info(p));
        }
        st
    }

    /// Compiles `table` and builds the start state from `snap` in one step.
    pub fn from_capture(table: &SyscallTable, snap: &Snapshot) -> State {
        State::new(Ops::of(table), snap)
    }

    /// An empty state (no snapshot) for a table of ops.
    pub fn empty(ops: Arc<Ops>) -> State {
        State::new(ops, &Snapshot::default())
    }

    /// The state for a consumer that reads threads and processes but no
    /// fds: ops that only change fd tables are skipped (their events have
    /// no [`Effect`]; tables keep the snapshot's fds). Exact for threads
    /// and processes unless the capture has execveat events
    /// ([`Ops::procs_read_fds`]).
    pub fn without_fds(mut self) -> State {
        self.fds = false;
        self
    }

    /// Number of records applied so far.
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// Changes whenever an applied record may have changed a thread, a
    /// process or the users (anything but fd-table syscalls and syscalls
    /// the state ignores): what a reader derived from those (a process
    /// name, a user) for an epoch still holds while the epoch stays.
    pub fn epoch(&self) -> u64 {
        self.epoch.0
    }

    /// Starts a new [`State::epoch`].
    fn touch(&mut self) {
        self.epoch = Epoch::fresh();
    }

    /// Counters of unusable input met so far.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The compiled op table.
    pub fn ops(&self) -> &Ops {
        &self.ops
    }

    /// Inserts a thread and counts it in its process (which must exist).
    fn add_thread(&mut self, t: Thread) {
        self.hot.thread = None;
        if let Some(p) = self.procs.get_mut(&t.pid) {
            Arc::make_mut(p).nthreads += 1;
        }
        self.threads.insert(t.tid, Arc::new(t));
    }
}
