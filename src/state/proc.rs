//! Thread and process lifecycle: lazy creation, FORK/EXEC/EXIT records,
//! their syscall stand-ins (clone/fork/execve exits), credentials, cwd,
//! names, sessions and unshare.

use std::sync::Arc;

use super::apply::{arg_int, param};
use super::fd::FdTable;
use super::ops::{FlagsSrc, IdForm, Op, CLONE_FILES, CLONE_FS, CLONE_PARENT, CLONE_THREAD};
use super::thread::{comm, container_id, split_argv};
use super::{path, FsInfo, Process, State, Thread, MAX_THREADS};
use crate::event::wire::{exec, exit, fork, ParamKind, Record};

const PR_SET_NAME: i32 = 15;
const PR_SET_CHILD_SUBREAPER: i32 = 36;

/// What an exec changes; `None` keeps the old value.
#[derive(Default)]
struct ExecInfo {
    argv: Option<Arc<[Arc<str>]>>,
    exepath: Option<Arc<str>>,
    comm: Option<Arc<str>>,
    cwd: Option<Arc<str>>,
    cgroup: Option<Arc<str>>,
}

impl State {
    /// Makes sure thread `tid` of process `pid` exists, creating it (and its
    /// process) from defaults. `false` if it can't exist (tid 0, caps).
    pub(crate) fn ensure(&mut self, tid: u32, pid: u32) -> bool {
        if tid == 0 {
            return false;
        }
        match self.threads.get(&tid) {
            Some(t) if t.pid == pid => return true,
            Some(_) => self.remove_thread(tid), // tid reused: its exit was lost
            None => {}
        }
        if self.threads.len() >= MAX_THREADS {
            self.stats.thread_cap += 1;
            return false;
        }
        if !self.procs.contains_key(&pid) {
            let files = self.files.insert(FdTable::default());
            let fs = self.fs.insert(FsInfo::default());
            self.procs
                .insert(pid, Arc::new(Process::lazy(pid, files, fs)));
            self.stats.lazy_processes += 1;
        }
        self.stats.lazy_threads += 1;
        self.add_thread(Thread::lazy(tid, pid));
        true
    }

    /// Removes a thread; its process goes when its last thread does.
    fn remove_thread(&mut self, tid: u32) {
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
    fn remove_process(&mut self, pid: u32) {
        let Some(p) = self.procs.remove(&pid) else {
            return;
        };
        self.files.release(p.files);
        self.fs.release(p.fs);
        let reaper = self
            .ancestors_of_pid(p.ppid)
            .find(|a| a.child_subreaper || a.vpid == 1)
            .map_or(1, |a| a.pid);
        for c in self.procs.values_mut() {
            if c.ppid == pid {
                Arc::make_mut(c).ppid = reaper;
            }
        }
    }

    /// Ancestors walk starting AT `pid` itself.
    fn ancestors_of_pid(&self, pid: u32) -> impl Iterator<Item = &Process> + '_ {
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
        if let Some(p) = self.procs.get(&pid) {
            let id = self.files.unshare(p.files);
            if id != p.files {
                Arc::make_mut(self.procs.get_mut(&pid).expect("checked above")).files = id;
            }
        }
    }

    fn unshare_fs(&mut self, pid: u32) {
        if let Some(p) = self.procs.get(&pid) {
            let id = self.fs.unshare(p.fs);
            if let Some(p) = self.procs.get_mut(&pid) {
                Arc::make_mut(p).fs = id;
            }
        }
    }

    fn set_cwd(&mut self, pid: u32, cwd: Arc<str>) {
        if let Some(f) = self
            .procs
            .get(&pid)
            .map(|p| p.fs)
            .and_then(|id| self.fs.get_mut(id))
        {
            f.cwd = cwd;
        }
    }

    fn proc_mut(&mut self, pid: u32) -> Option<&mut Process> {
        self.procs.get_mut(&pid).map(Arc::make_mut)
    }

    fn thread_mut(&mut self, tid: u32) -> Option<&mut Thread> {
        self.threads.get_mut(&tid).map(Arc::make_mut)
    }

    pub(crate) fn on_fork(&mut self, rec: &Record<'_>) {
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
            self.spawn(rec.tid(), child, child_pid, flags, rec.ts(), v);
        }
    }

    /// Creates thread `child` as a clone of thread `parent` with `flags`.
    fn spawn(
        &mut self,
        parent: u32,
        child: u32,
        child_pid: u32,
        flags: u64,
        ts: u64,
        v: (u32, u32),
    ) {
        let Some(pt) = self.threads.get(&parent).cloned() else {
            return;
        };
        let Some(pp) = self.procs.get(&pt.pid).cloned() else {
            return;
        };
        let is_thread = flags & CLONE_THREAD != 0;
        if child == parent || (!is_thread && child_pid == pp.pid) {
            return; // impossible for live tasks: hostile or corrupt input
        }
        self.remove_thread(child);
        if !self.procs.contains_key(&pp.pid) {
            return;
        }
        if self.threads.len() >= MAX_THREADS {
            self.stats.thread_cap += 1;
            return;
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
            return;
        }
        // A new process: drop any stale one with the same pid first.
        for tid in self
            .threads_of(child_pid)
            .iter()
            .map(|t| t.tid)
            .collect::<Vec<_>>()
        {
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
        self.procs.insert(child_pid, Arc::new(p));
        self.add_thread(Thread {
            pid: child_pid,
            ..t
        });
    }

    /// clone/fork syscall exit without a FORK record (imported captures).
    fn on_clone_exit(&mut self, rec: &Record<'_>, flags: u64) {
        let Ok(child) = u32::try_from(rec.ret()) else {
            return;
        };
        if child == 0 {
            return; // the child's side: `ensure` already made it
        }
        let (tid, pid) = (rec.tid(), rec.pid());
        let child_pid = if flags & CLONE_THREAD != 0 {
            pid
        } else {
            child
        };
        match self.threads.get(&child) {
            Some(t) if !t.lazy => {} // a FORK record already created it
            Some(t) => {
                // The child ran first: rebuild it from the parent, keeping
                // what its own events showed.
                let old_pid = t.pid;
                let own = self.fd_table(old_pid).cloned().unwrap_or_default();
                let cwd = self.cwd(old_pid).unwrap_or("").to_owned();
                self.spawn(tid, child, child_pid, flags, rec.ts(), (0, 0));
                if let Some(table) = self.table_mut(child_pid) {
                    for (fd, e) in own.iter() {
                        table.insert(fd, e.clone());
                    }
                }
                if !cwd.is_empty() && flags & CLONE_THREAD == 0 {
                    self.set_cwd(child_pid, cwd.into());
                }
            }
            None => self.spawn(tid, child, child_pid, flags, rec.ts(), (0, 0)),
        }
    }

    pub(crate) fn on_exec(&mut self, rec: &Record<'_>) {
        let (tid, pid) = (rec.tid(), rec.pid());
        if !self.ensure(tid, pid) {
            return;
        }
        let u32arg = |i| rec.arg(i).map(|v| v as u32);
        let pc = |i| rec.param(i).map(|p| path::from_pathcomp(p.data));
        let filename = param(rec, exec::P_FILENAME).map(path::param_str);
        let argv = param(rec, exec::P_ARGV).map(split_argv);
        let exepath = pc(exec::P_EXE).or_else(|| {
            filename
                .as_deref()
                .map(|f| path::resolve(self.cwd(pid).unwrap_or(""), f))
        });
        let info = ExecInfo {
            argv: argv.or_else(|| filename.as_deref().map(|f| vec![Arc::from(f)].into())),
            comm: param(rec, exec::P_COMM).map(comm).or_else(|| {
                exepath
                    .as_deref()
                    .map(|e| comm(path::basename(e).as_bytes()))
            }),
            exepath,
            cwd: pc(exec::P_CWD),
            cgroup: pc(exec::P_CGROUP),
        };
        if let Some(old) = u32arg(exec::OLD_TID).filter(|o| *o != tid && *o != 0) {
            if self.threads.get(&old).is_some_and(|t| t.pid == pid) {
                self.remove_thread(old);
            }
        }
        self.exec_common(tid, pid, info);
        if let Some(p) = self.proc_mut(pid) {
            let set = |dst: &mut u32, i| {
                if let Some(v) = u32arg(i) {
                    *dst = v;
                }
            };
            set(&mut p.creds.uid, exec::UID);
            set(&mut p.creds.gid, exec::GID);
            set(&mut p.creds.euid, exec::EUID);
            set(&mut p.creds.egid, exec::EGID);
            p.creds.suid = p.creds.euid;
            p.creds.sgid = p.creds.egid;
            set(&mut p.creds.loginuid, exec::LOGINUID);
            set(&mut p.tty, exec::TTY);
            set(&mut p.sid, exec::SID);
            set(&mut p.pgid, exec::PGID);
            set(&mut p.vpid, exec::VPID);
            if let Some(pp) = u32arg(exec::PPID).filter(|v| *v != 0) {
                p.ppid = pp;
            }
            if let Some(c) = rec.arg(exec::CAP_EFFECTIVE) {
                p.cap_effective = c;
            }
            if let Some(f) = rec.arg(exec::EXE_FLAGS) {
                p.exe_flags = f;
            }
            if let Some(s) = rec.arg(exec::START_TIME).filter(|s| *s != 0) {
                p.start_ts = s;
            }
        }
        if let Some(t) = self.thread_mut(tid) {
            t.exec_seen = true;
        }
    }

    /// The parts of exec shared by EXEC records and execve exits.
    fn exec_common(&mut self, tid: u32, pid: u32, info: ExecInfo) {
        // de_thread: every other thread of the group is gone.
        let others: Vec<u32> = self
            .threads_of(pid)
            .iter()
            .map(|t| t.tid)
            .filter(|t| *t != tid)
            .collect();
        for o in others {
            self.remove_thread(o);
        }
        self.unshare_files(pid);
        if let Some(t) = self.table_mut(pid) {
            t.close_on_exec();
        }
        if let Some(cwd) = info.cwd {
            self.set_cwd(pid, cwd);
        }
        if let Some(p) = self.proc_mut(pid) {
            p.lazy = false;
            if let Some(a) = info.argv {
                p.argv = a;
            }
            if let Some(e) = info.exepath {
                p.exepath = e;
            }
            if let Some(c) = info.cgroup {
                p.container_id = container_id(&c);
                p.cgroup = c;
            }
        }
        if let Some(t) = self.thread_mut(tid) {
            t.lazy = false;
            if let Some(c) = info.comm {
                t.comm = c;
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
            for t in self
                .threads_of(pid)
                .iter()
                .map(|t| t.tid)
                .filter(|t| *t != tid)
                .collect::<Vec<_>>()
            {
                if let Some(th) = self.thread_mut(t) {
                    th.exit_code.get_or_insert(code);
                }
                self.pending_exit.push(t);
            }
        }
    }

    /// Process-level syscall ops (called for successful syscalls only).
    pub(crate) fn apply_proc_op(&mut self, rec: &Record<'_>, op: Op) {
        let (tid, pid) = (rec.tid(), rec.pid());
        match op {
            Op::Clone { flags } => {
                let f = match flags {
                    FlagsSrc::Arg(i) => rec.arg(usize::from(i)).unwrap_or(0),
                    FlagsSrc::Struct(i) => param(rec, i)
                        .and_then(|d| d.get(..8))
                        .and_then(|d| <[u8; 8]>::try_from(d).ok())
                        .map_or(0, u64::from_le_bytes),
                    FlagsSrc::Fixed(v) => v,
                };
                self.on_clone_exit(rec, f);
            }
            Op::Execve {
                dirfd,
                path: pi,
                argv,
            } => {
                if self.threads.get(&tid).is_some_and(|t| t.exec_seen) {
                    self.clear_exec_seen(tid);
                    return;
                }
                let dirfd = dirfd.and_then(|d| arg_int(rec, d));
                let raw = param(rec, pi).map(path::param_str);
                let exepath = match raw.as_deref() {
                    Some("") | None => dirfd.map(|d| self.dir_base(pid, Some(d))),
                    Some(_) => self.path_param(rec, pi, dirfd),
                };
                let argv = param(rec, argv).map(split_argv);
                let argv = argv.or_else(|| raw.as_deref().map(|f| vec![Arc::from(f)].into()));
                let comm_src = raw.as_deref().filter(|r| !r.is_empty()).map(str::to_owned);
                let comm_src = comm_src.or_else(|| exepath.as_deref().map(str::to_owned));
                let info = ExecInfo {
                    argv,
                    comm: comm_src.map(|c| comm(path::basename(&c).as_bytes())),
                    exepath,
                    cwd: None,
                    cgroup: None,
                };
                self.exec_common(tid, pid, info);
            }
            Op::SetIds {
                group,
                form,
                args,
                id16,
            } => self.set_ids(rec, pid, group, form, args, id16),
            Op::Chdir { path: pi } => {
                if let Some(p) = self.path_param(rec, pi, None) {
                    self.set_cwd(pid, p);
                }
            }
            Op::Fchdir { fd } => {
                if let Some(fd) = arg_int(rec, fd).filter(|f| *f >= 0) {
                    if let Some(name) = self.fd(pid, i64::from(fd)).map(|e| e.name.clone()) {
                        self.set_cwd(pid, name);
                    }
                }
            }
            Op::Prctl { option, arg2 } => match arg_int(rec, option) {
                Some(PR_SET_NAME) => {
                    if let Some(n) = rec.param(arg2).filter(|p| p.kind() == Some(ParamKind::Str)) {
                        let c = comm(n.data);
                        if let Some(t) = self.thread_mut(tid) {
                            t.comm = c;
                        }
                    } else {
                        self.stats.missing_params += 1;
                    }
                }
                Some(PR_SET_CHILD_SUBREAPER) => {
                    let on = rec.arg(usize::from(arg2)).unwrap_or(0) != 0;
                    if let Some(p) = self.proc_mut(pid) {
                        p.child_subreaper = on;
                    }
                }
                _ => {}
            },
            Op::Setsid => {
                if let Some(p) = self.proc_mut(pid) {
                    p.sid = pid;
                    p.pgid = pid;
                }
            }
            Op::Setpgid { pid: pa, pgid } => {
                let (Some(target), Some(pg)) = (arg_int(rec, pa), arg_int(rec, pgid)) else {
                    return;
                };
                let host_ns = self
                    .procs
                    .get(&pid)
                    .is_some_and(|p| p.vpid == 0 || p.vpid == pid);
                if target < 0 || pg < 0 || (!host_ns && (target != 0 || pg != 0)) {
                    return; // ids of another pid namespace can't be mapped
                }
                let target = if target == 0 { pid } else { target as u32 };
                let pg = if pg == 0 { target } else { pg as u32 };
                if let Some(p) = self.proc_mut(target) {
                    p.pgid = pg;
                }
            }
            Op::Unshare { flags } => {
                let f = rec.arg(usize::from(flags)).unwrap_or(0);
                if f & CLONE_FILES != 0 {
                    self.unshare_files(pid);
                }
                if f & CLONE_FS != 0 {
                    self.unshare_fs(pid);
                }
            }
            _ => {}
        }
    }

    fn set_ids(
        &mut self,
        rec: &Record<'_>,
        pid: u32,
        group: bool,
        form: IdForm,
        args: [u8; 3],
        id16: bool,
    ) {
        let get = |i: usize| -> Option<u32> {
            let v = rec.arg(usize::from(args[i]))?;
            if id16 {
                let v = v as u16;
                (v != u16::MAX).then_some(u32::from(v))
            } else {
                let v = v as u32;
                (v != u32::MAX).then_some(v)
            }
        };
        let Some(p) = self.proc_mut(pid) else { return };
        let privileged = p.creds.euid == 0;
        let c = &mut p.creds;
        let (real, eff, saved) = if group {
            (&mut c.gid, &mut c.egid, &mut c.sgid)
        } else {
            (&mut c.uid, &mut c.euid, &mut c.suid)
        };
        match form {
            IdForm::Single => {
                if let Some(v) = get(0) {
                    if privileged {
                        (*real, *saved) = (v, v);
                    }
                    *eff = v;
                }
            }
            IdForm::RealEffective => {
                let (r, e) = (get(0), get(1));
                let old_real = *real;
                if let Some(r) = r {
                    *real = r;
                }
                if let Some(e) = e {
                    *eff = e;
                }
                if r.is_some() || e.is_some_and(|e| e != old_real) {
                    *saved = *eff;
                }
            }
            IdForm::RealEffectiveSaved => {
                for (dst, v) in [(real, get(0)), (eff, get(1)), (saved, get(2))] {
                    if let Some(v) = v {
                        *dst = v;
                    }
                }
            }
        }
    }
}
