//! Exec (EXEC records and execve exits) and the process-level syscalls:
//! credentials, cwd, names, sessions, unshare.

use std::sync::Arc;

use super::apply::{arg_int, param};
use super::ops::{FlagsSrc, IdForm, Op, CLONE_FILES, CLONE_FS};
use super::thread::{comm, container_id, split_argv};
use super::{path, State};
use crate::event::wire::{exec, ParamKind, Record};

const PR_SET_NAME: i32 = 15;
const PR_SET_CHILD_SUBREAPER: i32 = 36;

/// What an exec changes; `None` keeps the old value.
#[derive(Default)]
pub(super) struct ExecInfo {
    argv: Option<Arc<[Arc<str>]>>,
    exepath: Option<Arc<str>>,
    comm: Option<Arc<str>>,
    cwd: Option<Arc<str>>,
    cgroup: Option<Arc<str>>,
}

impl State {
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
        if let Some(new) = u32arg(exec::PPID).filter(|v| *v != 0) {
            if let Some(old) = self.procs.get(&pid).map(|p| p.ppid).filter(|o| *o != new) {
                self.unlink_child(old);
                *self.nchildren.entry(new).or_default() += 1;
                if let Some(p) = self.proc_mut(pid) {
                    p.ppid = new;
                }
            }
        }
        if let Some(t) = self.thread_mut(tid) {
            t.exec_seen = true;
        }
    }

    /// The parts of exec shared by EXEC records and execve exits.
    pub(super) fn exec_common(&mut self, tid: u32, pid: u32, info: ExecInfo) {
        // de_thread: every other thread of the group is gone.
        for o in self.other_threads(pid, tid) {
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

    pub(super) fn set_ids(
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
