//! `proc.*` fields: identity, names, exe and command line, ancestry
//! (`proc.aname[N]`, `proc.apid`, ...), session and process group, times,
//! exe flags and the standard fds.

use super::fd::{fd_display_name, fd_type_name};
use super::registry::ANY;
use super::{EventCtx, Fid};
use crate::event::wire::exec;
use crate::filter::{FieldInfo, ValueBuf};
use crate::state::{Process, State};

/// Deepest ancestor walked for `proc.aname` without an index.
const MAX_WALK: usize = 256;

/// Shells for `proc.loginshellid` (as in libsinsp).
const SHELLS: [&str; 8] = ["sh", "bash", "zsh", "ksh", "csh", "tcsh", "dash", "fish"];

/// The name (comm) of process `p`: its leader thread's, else the exe's basename.
pub(super) fn proc_name<'a>(state: &'a State, p: &'a Process) -> Option<&'a str> {
    if let Some(t) = state.thread(p.pid).filter(|t| !t.comm.is_empty()) {
        return Some(&t.comm);
    }
    let e: &str = &p.exepath;
    (!e.is_empty()).then(|| e.rsplit('/').next().unwrap_or(e))
}

/// The `n`-th ancestor of `p` (0 = `p`).
fn ancestor<'a>(state: &'a State, p: &'a Process, n: u64) -> Option<&'a Process> {
    let mut cur = p;
    for _ in 0..n {
        if cur.ppid == 0 || cur.ppid == cur.pid || cur.ppid == p.pid {
            return None;
        }
        cur = state.process(cur.ppid)?;
    }
    Some(cur)
}

/// Calls `f` on every ancestor of `p`, parent first (cycle-safe, capped).
fn each_ancestor<'a>(state: &'a State, p: &'a Process, mut f: impl FnMut(&'a Process)) {
    let mut cur = p;
    for _ in 0..MAX_WALK {
        if cur.ppid == 0 || cur.ppid == cur.pid || cur.ppid == p.pid {
            return;
        }
        let Some(next) = state.process(cur.ppid) else {
            return;
        };
        f(next);
        cur = next;
    }
}

fn push_joined(args: &[std::sync::Arc<str>], out: &mut Vec<u8>) {
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(a.as_bytes());
    }
}

/// Pushes `proc.cmdline` of `p` (name, then args).
fn push_cmdline(state: &State, p: &Process, out: &mut ValueBuf) -> bool {
    let Some(name) = proc_name(state, p) else {
        return false;
    };
    out.push_with(|b| {
        b.extend_from_slice(name.as_bytes());
        if !p.args().is_empty() {
            b.push(b' ');
            push_joined(p.args(), b);
        }
        true
    })
}

/// What to push for one process (self, parent or an ancestor).
#[derive(Clone, Copy)]
enum Of {
    Name,
    Pid,
    Exe,
    Exepath,
    Cmdline,
}

fn push_of(state: &State, p: &Process, what: Of, out: &mut ValueBuf) -> bool {
    match what {
        Of::Name => match proc_name(state, p) {
            Some(n) => out.push_str(n),
            None => return false,
        },
        Of::Pid => out.push_i64(i64::from(p.pid)),
        Of::Exe => out.push_str(p.exe()),
        Of::Exepath => {
            if p.exepath.is_empty() {
                return false;
            }
            out.push_str(&p.exepath)
        }
        Of::Cmdline => return push_cmdline(state, p, out),
    }
    true
}

/// Extracts a `proc.*` field.
pub(super) fn value(cx: &mut EventCtx<'_>, id: Fid, f: &FieldInfo, out: &mut ValueBuf) -> bool {
    let state = cx.state;
    if id == Fid::ProcName {
        let Some(t) = cx.thread().filter(|t| !t.comm.is_empty()) else {
            return false;
        };
        out.push_str(&t.comm);
        return true;
    }
    if id == Fid::ProcPid {
        out.push_i64(i64::from(cx.rec.pid()));
        return true;
    }
    let self_comm: Option<&str> = cx.thread().map(|t| &*t.comm).filter(|c| !c.is_empty());
    let Some(p) = cx.process() else {
        return false;
    };
    let parent = || {
        state
            .process(p.ppid)
            .filter(|_| p.ppid != 0 && p.ppid != p.pid)
    };
    let ancestors = |what: Of, out: &mut ValueBuf| -> bool {
        if f.aux == ANY {
            let mut any = false;
            each_ancestor(state, p, |a| any |= push_of(state, a, what, out));
            return any;
        }
        if f.aux == 0 && matches!(what, Of::Name) {
            // Ancestor 0 is the event's own thread.
            if let Some(c) = self_comm {
                out.push_str(c);
                return true;
            }
        }
        ancestor(state, p, f.aux).is_some_and(|a| push_of(state, a, what, out))
    };
    let epoch_off = cx.env.epoch_off;
    let ts = cx.rec.ts();
    match id {
        Fid::ProcPpid => out.push_i64(i64::from(p.ppid)),
        Fid::ProcVpid => {
            if p.vpid == 0 {
                return false;
            }
            out.push_i64(i64::from(p.vpid))
        }
        Fid::ProcPvpid => match parent() {
            Some(pp) if pp.vpid != 0 => out.push_i64(i64::from(pp.vpid)),
            _ => return false,
        },
        Fid::ProcPname => return parent().is_some_and(|pp| push_of(state, pp, Of::Name, out)),
        Fid::ProcAname => return ancestors(Of::Name, out),
        Fid::ProcApid => return ancestors(Of::Pid, out),
        Fid::ProcExe => out.push_str(p.exe()),
        Fid::ProcPexe => return parent().is_some_and(|pp| push_of(state, pp, Of::Exe, out)),
        Fid::ProcAexe => return ancestors(Of::Exe, out),
        Fid::ProcExepath => return push_of(state, p, Of::Exepath, out),
        Fid::ProcPexepath => {
            return parent().is_some_and(|pp| push_of(state, pp, Of::Exepath, out))
        }
        Fid::ProcAexepath => return ancestors(Of::Exepath, out),
        Fid::ProcArgs => {
            out.push_with(|b| {
                push_joined(p.args(), b);
                true
            });
        }
        Fid::ProcCmdline => return push_cmdline(state, p, out),
        Fid::ProcPcmdline => return parent().is_some_and(|pp| push_cmdline(state, pp, out)),
        Fid::ProcAcmdline => return ancestors(Of::Cmdline, out),
        Fid::ProcCmdnargs => out.push_u64(p.args().len() as u64),
        Fid::ProcCmdlenargs => out.push_u64(p.args().iter().map(|a| a.len() as u64).sum()),
        Fid::ProcExeline => {
            out.push_with(|b| {
                push_joined(&p.argv, b);
                true
            });
        }
        Fid::ProcCwd => {
            let Some(cwd) = state.cwd(p.pid).filter(|c| !c.is_empty()) else {
                return false;
            };
            out.push_with(|b| {
                b.extend_from_slice(cwd.as_bytes());
                if !cwd.ends_with('/') {
                    b.push(b'/');
                }
                true
            });
        }
        Fid::ProcLoginshellid => {
            let mut found = None;
            let is_shell = |q: &Process| proc_name(state, q).is_some_and(|n| SHELLS.contains(&n));
            if is_shell(p) {
                found = Some(p.pid);
            }
            each_ancestor(state, p, |a| {
                if is_shell(a) {
                    found = Some(a.pid);
                }
            });
            let Some(pid) = found else { return false };
            out.push_i64(i64::from(pid));
        }
        Fid::ProcTty => out.push_u64(u64::from(p.tty)),
        Fid::ProcSid => out.push_i64(i64::from(p.sid)),
        Fid::ProcSname | Fid::ProcSidExe | Fid::ProcSidExepath => {
            let what = match id {
                Fid::ProcSname => Of::Name,
                Fid::ProcSidExe => Of::Exe,
                _ => Of::Exepath,
            };
            return state
                .process(p.sid)
                .filter(|_| p.sid != 0)
                .is_some_and(|s| push_of(state, s, what, out));
        }
        Fid::ProcPgid => out.push_i64(i64::from(p.pgid)),
        Fid::ProcVpgid => {
            // Known only in the host pid namespace, where vpgid = pgid.
            if p.vpid != p.pid {
                return false;
            }
            out.push_i64(i64::from(p.pgid))
        }
        Fid::ProcPgidName | Fid::ProcVpgidName => {
            return state
                .process(p.pgid)
                .filter(|_| p.pgid != 0)
                .is_some_and(|g| push_of(state, g, Of::Name, out))
        }
        Fid::ProcIsSidLeader => out.push_bool(p.sid == p.pid),
        Fid::ProcIsPgidLeader => out.push_bool(p.pgid == p.pid),
        Fid::ProcIsVpgidLeader => {
            if p.vpid != p.pid {
                return false;
            }
            out.push_bool(p.pgid == p.pid)
        }
        Fid::ProcDuration => {
            if p.start_ts == 0 || p.start_ts > ts {
                return false;
            }
            out.push_u64(ts - p.start_ts)
        }
        Fid::ProcPpidDuration => match parent() {
            Some(pp) if pp.start_ts != 0 && pp.start_ts <= ts => out.push_u64(ts - pp.start_ts),
            _ => return false,
        },
        Fid::ProcPidTs => {
            if p.start_ts == 0 {
                return false;
            }
            out.push_i64((p.start_ts as i64).saturating_add(epoch_off))
        }
        Fid::ProcPpidTs => match parent() {
            Some(pp) if pp.start_ts != 0 => {
                out.push_i64((pp.start_ts as i64).saturating_add(epoch_off))
            }
            _ => return false,
        },
        Fid::ProcIsExeWritable => out.push_bool(p.exe_flags & exec::EXE_WRITABLE != 0),
        Fid::ProcIsExeUpperLayer => out.push_bool(p.exe_flags & exec::EXE_UPPER_LAYER != 0),
        Fid::ProcIsExeFromMemfd => out.push_bool(p.exe_flags & exec::EXE_NO_LINKS != 0),
        Fid::ProcNthreads => out.push_u64(u64::from(p.nthreads)),
        Fid::ProcNchilds => out.push_u64(u64::from(p.nthreads.saturating_sub(1))),
        Fid::ProcFdopencount => out.push_u64(state.fd_table(p.pid).map_or(0, |t| t.len()) as u64),
        Fid::ProcStdinType | Fid::ProcStdoutType | Fid::ProcStderrType => {
            let n = match id {
                Fid::ProcStdinType => 0,
                Fid::ProcStdoutType => 1,
                _ => 2,
            };
            let Some(e) = state.fd(p.pid, n) else {
                return false;
            };
            out.push_str(fd_type_name(e));
        }
        Fid::ProcStdinName | Fid::ProcStdoutName | Fid::ProcStderrName => {
            let n = match id {
                Fid::ProcStdinName => 0,
                Fid::ProcStdoutName => 1,
                _ => 2,
            };
            let Some(e) = state.fd(p.pid, n) else {
                return false;
            };
            out.push_with(|b| {
                fd_display_name(e, b);
                true
            });
        }
        _ => return false,
    }
    true
}
