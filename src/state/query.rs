//! Read-only lookups on a [`State`]: threads, processes, fds, cwd,
//! ancestry, the process tree, users and groups.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use super::{FdEntry, FdTable, Process, State, Thread};
use crate::event::meta::{GroupInfo, UserInfo};

/// Deepest ancestor chain walked (guards against cycles in hostile input).
pub const MAX_ANCESTRY: usize = 4096;

/// Iterator over a process's ancestors, parent first.
///
/// Stops at an unknown parent, pid 0, a repeated pid (cycle) or after
/// [`MAX_ANCESTRY`] steps.
#[derive(Debug)]
pub struct Ancestors<'a> {
    state: &'a State,
    next: u32,
    seen: HashSet<u32>,
}

impl<'a> Iterator for Ancestors<'a> {
    type Item = &'a Process;
    fn next(&mut self) -> Option<&'a Process> {
        if self.next == 0 || self.seen.len() >= MAX_ANCESTRY || !self.seen.insert(self.next) {
            return None;
        }
        let p = self.state.procs.get(&self.next)?;
        self.next = p.ppid;
        Some(p)
    }
}

impl State {
    /// The thread `tid`.
    pub fn thread(&self, tid: u32) -> Option<&Thread> {
        self.threads.get(&tid).map(|t| &**t)
    }

    /// The process (thread group) `pid`.
    pub fn process(&self, pid: u32) -> Option<&Process> {
        self.procs.get(&pid).map(|p| &**p)
    }

    /// The process of thread `tid`.
    pub fn process_of(&self, tid: u32) -> Option<&Process> {
        self.process(self.thread(tid)?.pid)
    }

    /// All threads, in no particular order.
    pub fn threads(&self) -> impl Iterator<Item = &Thread> + '_ {
        self.threads.values().map(|t| &**t)
    }

    /// All processes, in no particular order.
    pub fn processes(&self) -> impl Iterator<Item = &Process> + '_ {
        self.procs.values().map(|p| &**p)
    }

    /// Threads still running with their process, in no particular order:
    /// an exited thread or group stays in the state until the next record
    /// (so that the exit record sees it), but is gone.
    pub(super) fn live(&self) -> impl Iterator<Item = (&Process, &Thread)> + '_ {
        self.threads()
            .filter(|t| t.exit_code.is_none())
            .filter_map(|t| Some((self.process(t.pid)?, t)))
            .filter(|(p, _)| p.exit_status.is_none())
    }

    /// Threads still running ([`live`](Self::live)), ascending by (pid, tid).
    pub fn live_threads(&self) -> Vec<&Thread> {
        let mut v: Vec<&Thread> = self.live().map(|(_, t)| t).collect();
        v.sort_by_key(|t| (t.pid, t.tid));
        v
    }

    /// Threads of process `pid`, ascending by tid.
    pub fn threads_of(&self, pid: u32) -> Vec<&Thread> {
        let mut v: Vec<&Thread> = self.threads().filter(|t| t.pid == pid).collect();
        v.sort_by_key(|t| t.tid);
        v
    }

    /// The fd table of process `pid`.
    pub fn fd_table(&self, pid: u32) -> Option<&FdTable> {
        let id = match self.hot_files(pid) {
            Some(id) => id,
            None => self.procs.get(&pid)?.files,
        };
        self.files.get(id)
    }

    /// The fd table id of `pid` when the lookup cache still holds it.
    pub(super) fn hot_files(&self, pid: u32) -> Option<u64> {
        match self.hot.files {
            Some((p, e, id)) if p == pid && e == self.epoch() => Some(id),
            _ => None,
        }
    }

    /// The entry of fd `fd` of process `pid`; negative or out-of-range
    /// numbers give `None`.
    pub fn fd(&self, pid: u32, fd: i64) -> Option<&FdEntry> {
        let fd = i32::try_from(fd).ok().filter(|f| *f >= 0)?;
        self.fd_table(pid)?.get(fd)
    }

    /// The cwd of process `pid` (empty when unknown).
    pub fn cwd(&self, pid: u32) -> Option<&str> {
        self.cwd_arc(pid).map(|c| &**c)
    }

    /// The cwd of process `pid`, shared.
    pub(super) fn cwd_arc(&self, pid: u32) -> Option<&Arc<str>> {
        self.fs.get(self.procs.get(&pid)?.fs).map(|f| &f.cwd)
    }

    /// Ancestors of thread `tid`'s process (of process `tid` if no such
    /// thread is known), parent first.
    pub fn ancestors(&self, tid: u32) -> Ancestors<'_> {
        let pid = self.thread(tid).map_or(tid, |t| t.pid);
        let start = self.procs.get(&pid).map_or(0, |p| p.ppid);
        let mut seen = HashSet::new();
        seen.insert(pid);
        Ancestors {
            state: self,
            next: start,
            seen,
        }
    }

    /// Children of process `pid`, ascending.
    pub fn children(&self, pid: u32) -> Vec<u32> {
        let mut v: Vec<u32> = self
            .procs
            .values()
            .filter(|p| p.ppid == pid && p.pid != pid)
            .map(|p| p.pid)
            .collect();
        v.sort_unstable();
        v
    }

    /// The whole process tree: parent pid -> children pids (ascending).
    /// Processes whose parent is unknown appear under their `ppid` too.
    pub fn tree(&self) -> BTreeMap<u32, Vec<u32>> {
        let mut t: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for p in self.procs.values().filter(|p| p.ppid != p.pid) {
            t.entry(p.ppid).or_default().push(p.pid);
        }
        for v in t.values_mut() {
            v.sort_unstable();
        }
        t
    }

    /// The user with `uid`, from the snapshot.
    pub fn user(&self, uid: u32) -> Option<&UserInfo> {
        self.users.user(uid)
    }

    /// The group with `gid`, from the snapshot.
    pub fn group(&self, gid: u32) -> Option<&GroupInfo> {
        self.users.group(gid)
    }
}
