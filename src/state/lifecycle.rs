//! Thread and process lifecycle: lazy creation, removal and reparenting,
//! FORK and EXIT records, clone/fork syscall exits standing in for FORK, and
//! the shared fd-table / fs-info plumbing.

use std::sync::Arc;

use super::fd::FdTable;
use super::ops::{CLONE_FILES, CLONE_FS, CLONE_PARENT, CLONE_THREAD};
use super::{FsInfo, Process, State, Thread, MAX_THREADS};
use crate::event::wire::{exit, fork, Record};

impl State {
    /// Makes sure thread `tid` of process `pid` exists, creating it (and its
    /// process) from defaults. `false` if it can't exist (tid 0, caps).
    #[inline]
    pub(crate) fn ensure(&mut self, tid: u32, pid: u32) -> bool {
        (tid != 0 && self.hot.thread == Some((tid, pid))) || self.ensure_slow(tid, pid)
    }

    /// [`ensure`](Self::ensure) past the latest thread.
    fn ensure_slow(&mut self, tid: u32, pid: u32) -> bool {
        if tid == 0 {
            return false;
        }
        match self.threads.get(&tid) {
            Some(t) if t.pid == pid => {
                self.hot.thread = Some((tid, pid));
                return true;
            }
            Some(_) => self.remove_thread(tid), // tid reused: its exit was lost
            None => {}
        }
        self.touch();
        if self.threads.len() >= MAX_THREADS {
            self.stats.thread_cap += 1;
            return false;
        }
        if !self.procs.contains_key(&pid) {
            let files = self.files.insert(FdTable::default());
            let fs = self.fs.insert(FsInfo::default());
            self.insert_proc(Process::lazy(pid, files, fs));
            self.stats.lazy_processes += 1;
        }
        self.stats.lazy_threads += 1;
        self.add_thread(Thread::lazy(tid, pid));
        true
    }

    /// Removes a thread; its process goes when its last thread does.
    pub(super) fn remove_thread(&mut self, tid: u32) {
        self.hot.thread = None;
        let Some(t) = self.threads.remove(&tid) else {
            return;
        };
        let Some(p) = self.procs.get_mut(&t.pid) else {
            return;
        };
        let p = Arc::make_mut(p);
        p.nthreads = p.nthreads.saturating_sub(1);
        if p.nthreads == 0 {
            self.remove_process(t.pid);
        }
    }

    /// Removes a process, releasing its tables and reparenting its children
    /// to the nearest child-subreaper or pid-namespace init ancestor (pid 1
    /// when none is known).
    pub(super) fn remove_process(&mut self, pid: u32) {
        self.hot.files = None;
        let Some(p) = self.procs.remove(&pid) else {
            return;
        };
        self.files.release(p.files);
        self.fs.release(p.fs);
        self.unlink_child(p.ppid);
        let Some(n) = self.nchildren.remove(&pid) else {
            return;
        };
        let reaper = self
            .ancestors_of_pid(p.ppid)
            .find(|a| a.child_subreaper || a.vpid == 1)
            .map_or(1, |a| a.pid);
        for c in self.procs.values_mut() {
            if c.ppid == pid {
                Arc::make_mut(c).ppid = reaper;
            }
        }
        *self.nchildren.entry(reaper).or_default() += n;
    }

    /// Inserts a process, counting it as a child of its parent.
    pub(crate) fn insert_proc(&mut self, p: Process) {
        self.hot.files = None;
        *self.nchildren.entry(p.ppid).or_default() += 1;
        if let Some(old) = self.procs.insert(p.pid, Arc::new(p)) {
            self.unlink_child(old.ppid);
        }
    }

    pub(super) fn unlink_child(&mut self, ppid: u32) {
        if let Some(n) = self.nchildren.get_mut(&ppid) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.nchildren.remove(&ppid);
            }
        }
    }

    /// Threads of `pid` other than `except`; skips the scan of the thread
    /// table when the count says there are none.
    pub(super) fn other_threads(&self, pid: u32, except: u32) -> Vec<u32> {
        let n = self.procs.get(&pid).map_or(0, |p| p.nthreads);
        let except_is_member = self.threads.get(&except).is_some_and(|t| t.pid == pid);
        if n == 0 || (n == 1 && except_is_member) {
            return Vec::new();
        }
        let mut v: Vec<u32> = self
            .threads
            .values()
            .filter(|t| t.pid == pid && t.tid != except)
            .map(|t| t.tid)
            .collect();
        v.sort_unstable();
        v
    }

    /// Ancestors walk starting AT `pid` itself.
    pub(super) fn ancestors_of_pid(&self, pid: u32) -> impl Iterator<Item = &Process> + '_ {
        self.process(pid).into_iter().chain(self.ancestors(pid))
    }

    /// Drops threads (and groups) whose EXIT record was the previous event.
    pub(crate) fn purge_exited(&mut self) {
        for tid in std::mem::take(&mut self.pending_exit) {
            if self
                .threads
                .get(&tid)
                .is_some_and(|t| t.exit_code.is_some())
            {
                self.remove_thread(tid);
            }
        }
    }

    pub(crate) fn clear_exec_seen(&mut self, tid: u32) {
        if let Some(t) = self.threads.get_mut(&tid) {
            if t.exec_seen {
                Arc::make_mut(t).exec_seen = false;
            }
        }
    }

    /// Gives process `pid` a private fd table if it shares one.
    pub(crate) fn unshare_files(&mut self, pid: u32) {
        self.hot.files = None;
        if let Some(p) = self.procs.get(&pid) {
            let id = self.files.unshare(p.files);
            if let Some(p) = self.procs.get_mut(&pid).filter(|p| p.files != id) {
                Arc::make_mut(p).files = id;
            }
        }
    }

    pub(super) fn unshare_fs(&mut self, pid: u32) {
        if let Some(p) = self.procs.get(&pid) {
            let id = self.fs.unshare(p.fs);
            if let Some(p) = self.procs.get_mut(&pid) {
                Arc::make_mut(p).fs = id;
            }
        }
    }

    pub(super) fn set_cwd(&mut self, pid: u32, cwd: Arc<str>) {
        if let Some(f) = self
            .procs
            .get(&pid)
            .map(|p| p.fs)
            .and_then(|id| self.fs.get_mut(id))
        {
            f.cwd = cwd;
        }
    }

    pub(super) fn proc_mut(&mut self, pid: u32) -> Option<&mut Process> {
        self.procs.get_mut(&pid).map(Arc::make_mut)
    }

    pub(super) fn thread_mut(&mut self, tid: u32) -> Option<&mut Thread> {
        self.threads.get_mut(&tid).map(Arc::make_mut)
    }

    pub(crate) fn on_fork(&mut self, rec: &Record<'_>) {
        self.forks_seen = true;
        let a = |i| rec.arg(i).map(|v| v as u32);
        let Some(child) = a(fork::CHILD_TID).filter(|t| *t != 0) else {
            self.stats.missing_params += 1;
            return;
        };
        let child_pid = a(fork::CHILD_PID).filter(|p| *p != 0).unwrap_or(child);
        let flags = rec.arg(fork::FLAGS).unwrap_or(0);
        if self.ensure(rec.tid(), rec.pid()) {
            let v = (
                a(fork::CHILD_VTID).unwrap_or(0),
                a(fork::CHILD_VPID).unwrap_or(0),
            );
            let made = self.spawn(rec.tid(), child, child_pid, flags, rec.ts(), v);
            // The source's name for the child wins over the parent's (which
            // a thread first seen mid-capture does not have).
            let named = rec
                .param(fork::P_COMM)
                .filter(|p| made && !p.data.is_empty());
            if let (Some(p), Some(t)) = (named, self.thread_mut(child)) {
                t.comm = super::thread::comm(p.data);
            }
        }
    }

    /// Creates thread `child` as a clone of thread `parent` with `flags`;
    /// false when it could not (unknown parent, impossible ids, thread cap).
    pub(super) fn spawn(
        &mut self,
        parent: u32,
        child: u32,
        child_pid: u32,
        flags: u64,
        ts: u64,
        v: (u32, u32),
    ) -> bool {
        let Some(pt) = self.threads.get(&parent).cloned() else {
            return false;
        };
        let Some(pp) = self.procs.get(&pt.pid).cloned() else {
            return false;
        };
        let is_thread = flags & CLONE_THREAD != 0;
        if child == parent || (!is_thread && child_pid == pp.pid) {
            return false; // impossible for live tasks: hostile or corrupt input
        }
        self.remove_thread(child);
        if !self.procs.contains_key(&pp.pid) {
            return false;
        }
        if self.threads.len() >= MAX_THREADS {
            self.stats.thread_cap += 1;
            return false;
        }
        let t = Thread {
            tid: child,
            pid: pp.pid,
            vtid: v.0,
            comm: pt.comm.clone(),
            start_ts: ts,
            lazy: pt.lazy,
            exit_code: None,
            exec_seen: false,
        };
        if is_thread {
            self.add_thread(t);
            return true;
        }
        // A new process: drop any stale one with the same pid first.
        for tid in self.other_threads(child_pid, 0) {
            self.remove_thread(tid);
        }
        self.remove_process(child_pid);
        let files = if flags & CLONE_FILES != 0 {
            self.files.share(pp.files)
        } else {
            self.files.copy(pp.files)
        };
        let fs = if flags & CLONE_FS != 0 {
            self.fs.share(pp.fs)
        } else {
            self.fs.copy(pp.fs)
        };
        let p = Process {
            pid: child_pid,
            ppid: if flags & CLONE_PARENT != 0 {
                pp.ppid
            } else {
                pp.pid
            },
            vpid: v.1,
            start_ts: ts,
            child_subreaper: false,
            nthreads: 0,
            exit_status: None,
            files,
            fs,
            ..(*pp).clone()
        };
        self.insert_proc(p);
        self.add_thread(Thread {
            pid: child_pid,
            ..t
        });
        true
    }

    /// clone/fork syscall exit in a stream without FORK records.
    pub(super) fn on_clone_exit(&mut self, rec: &Record<'_>, flags: u64) {
        let Ok(child) = u32::try_from(rec.ret()) else {
            return;
        };
        if child == 0 || self.forks_seen {
            // The child's side (`ensure` already made it), or a stream whose
            // FORK records say which clones made threads.
            return;
        }
        let (tid, pid) = (rec.tid(), rec.pid());
        // A caller inside a pid namespace gets the child's tid there, not a
        // global one: only the child's own events can name it.
        if self
            .threads
            .get(&tid)
            .is_some_and(|t| t.vtid != 0 && t.vtid != t.tid)
        {
            return;
        }
        let child_pid = if flags & CLONE_THREAD != 0 {
            pid
        } else {
            child
        };
        match self.threads.get(&child) {
            Some(t) if !t.lazy => {} // known already (snapshot, or an earlier clone exit)
            Some(t) => {
                // The child ran first: rebuild it from the parent, keeping
                // what its own events showed.
                let (old_pid, comm) = (t.pid, t.comm.clone());
                let own = self.fd_table(old_pid).cloned().unwrap_or_default();
                let cwd = self.cwd(old_pid).unwrap_or("").to_owned();
                if self.spawn(tid, child, child_pid, flags, rec.ts(), (0, 0)) && !comm.is_empty() {
                    // A name its own events gave it (an exec) stays.
                    if let Some(t) = self.thread_mut(child) {
                        t.comm = comm;
                    }
                }
                if let Some(table) = self.table_mut(child_pid) {
                    for (fd, e) in own.iter() {
                        table.insert(fd, e.clone());
                    }
                }
                if !cwd.is_empty() && flags & CLONE_THREAD == 0 {
                    self.set_cwd(child_pid, cwd.into());
                }
            }
            None => {
                self.spawn(tid, child, child_pid, flags, rec.ts(), (0, 0));
            }
        }
    }

    pub(crate) fn on_exit(&mut self, rec: &Record<'_>) {
        let (tid, pid) = (rec.tid(), rec.pid());
        if !self.ensure(tid, pid) {
            return;
        }
        let code = rec.arg(exit::CODE).map_or(0, |c| c as i64);
        if let Some(t) = self.thread_mut(tid) {
            t.exit_code = Some(code);
        }
        self.pending_exit.push(tid);
        let alone = self.procs.get(&pid).is_some_and(|p| p.nthreads <= 1);
        let group_dead = rec.arg(exit::GROUP_DEAD).map_or(alone, |g| g != 0);
        if group_dead {
            if let Some(p) = self.proc_mut(pid) {
                p.exit_status = Some(code);
            }
            // Threads whose own exits were lost go with the group.
            for t in self.other_threads(pid, tid) {
                if let Some(th) = self.thread_mut(t) {
                    th.exit_code.get_or_insert(code);
                }
                self.pending_exit.push(t);
            }
        }
    }
}
