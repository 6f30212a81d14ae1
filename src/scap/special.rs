//! The non-syscall side of the conversion: the thread table that gives each
//! event its thread group id, our special records (EXEC and FORK from
//! execve/clone exits, EXIT from `procexit`, DROP from `drop` markers: one
//! gap per dropping period of a CPU), and
//! the internal events (container metadata kept, the rest counted).

use std::collections::HashSet;

use crate::state::idmap::IdMap;

use super::convert::{exec_argv, Converter};
use super::events_table::EVENTS;
use super::flags::{clone_flags_from_ppm, exe_flags_from_ppm};
use super::parse::RawEvent;
use super::state::cgroup_path;
use super::ImportStats;
use crate::event::meta::ProcInfo;
use crate::event::wire::{exec, fork, CODE_DROP, CODE_EXEC, CODE_EXIT, CODE_FORK};
use crate::event::{ParamKind, RecordBuilder};

/// What an exit event implies beyond its syscall record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ExitKind {
    /// execve/execveat: an EXEC record when it succeeds.
    Exec,
    /// clone/clone3/fork/vfork: a FORK record for the child.
    Fork,
    /// unshare: may move the caller's children to a new pid namespace.
    Unshare,
    /// Nothing more.
    Other,
}

/// Facts about one libs event type, found once from its table entry
/// instead of comparing names for every event.
#[derive(Debug, Clone, Copy)]
pub(super) struct Facts {
    /// What its exit implies.
    pub exit: ExitKind,
    /// Whether its first param is the return value (`res`, `fd`, `res_or_fd`).
    pub ret_first: bool,
    /// Whether it is the generic `syscall` event (its syscall in params).
    pub generic: bool,
}

/// The [`Facts`] of event type `t` (those of no special event beyond the table).
pub(super) fn facts(t: u16) -> Facts {
    static FACTS: std::sync::OnceLock<Vec<Facts>> = std::sync::OnceLock::new();
    let all = FACTS.get_or_init(|| {
        EVENTS
            .iter()
            .map(|i| Facts {
                exit: match i.name {
                    "execve" | "execveat" => ExitKind::Exec,
                    "clone" | "clone3" | "fork" | "vfork" => ExitKind::Fork,
                    "unshare" => ExitKind::Unshare,
                    _ => ExitKind::Other,
                },
                ret_first: i
                    .params
                    .first()
                    .is_some_and(|p| matches!(p.name, "res" | "fd" | "res_or_fd")),
                generic: i.name == "syscall",
            })
            .collect()
    });
    all.get(usize::from(t)).copied().unwrap_or(Facts {
        exit: ExitKind::Other,
        ret_first: false,
        generic: false,
    })
}

/// What we know about a thread, for filling special records.
#[derive(Debug, Clone, Default)]
pub struct ThreadCtx {
    /// Thread group id.
    pub pid: u32,
    /// Parent's thread group id.
    pub ppid: u32,
    uid: u32,
    gid: u32,
    loginuid: u32,
    tty: u32,
    sid: u32,
    pgid: u32,
    vpid: u32,
    cap_effective: u64,
}

/// tid -> thread context, seeded from the process list and kept current by
/// clone/execve/procexit events.
#[derive(Debug, Default)]
pub struct Threads {
    map: IdMap<u32, ThreadCtx>,
    unknown: HashSet<u32>,
    forked: HashSet<u32>,
    /// Threads after a successful `unshare(CLONE_NEWPID)`: their next child
    /// is pid 1 of the new namespace.
    newpid: HashSet<u32>,
    /// The last answer of [`Threads::pid_of`], `(tid, pid)`: consecutive
    /// events are mostly one thread's. Cleared by every change to `map`.
    last: Option<(u32, u32)>,
}

impl Threads {
    /// Seeds the table from a snapshot.
    pub fn from_snapshot(procs: &[ProcInfo]) -> Self {
        let map = procs
            .iter()
            .map(|p| {
                let c = ThreadCtx {
                    pid: p.pid,
                    ppid: p.ppid,
                    uid: p.uid,
                    gid: p.gid,
                    loginuid: p.loginuid,
                    tty: p.tty,
                    sid: p.sid,
                    pgid: p.pgid,
                    vpid: p.vpid,
                    cap_effective: p.cap_effective,
                };
                (p.tid, c)
            })
            .collect();
        Threads {
            map,
            ..Threads::default()
        }
    }

    /// Adds the threads of `procs` not tracked yet (a later section).
    pub fn seed(&mut self, procs: &[ProcInfo]) {
        for (tid, c) in Self::from_snapshot(procs).map {
            self.map.entry(tid).or_insert(c);
        }
        self.last = None;
    }

    /// Sets the context of `tid`.
    fn set(&mut self, tid: u32, c: ThreadCtx) {
        self.map.insert(tid, c);
        self.last = None;
    }

    /// Forgets `tid` (it exited).
    fn forget(&mut self, tid: u32) {
        self.map.remove(&tid);
        self.last = None;
    }

    /// The thread group id of `tid`; an unknown thread is taken to be its
    /// own group leader (and counted once).
    pub fn pid_of(&mut self, tid: u32, stats: &mut ImportStats) -> u32 {
        match self.last {
            Some((t, pid)) if t == tid => return pid,
            _ => {}
        }
        let pid = match self.map.get(&tid) {
            Some(c) => c.pid,
            None => {
                if self.unknown.insert(tid) {
                    stats.unknown_threads += 1;
                }
                tid
            }
        };
        self.last = Some((tid, pid));
        pid
    }

    fn ctx(&self, tid: u32) -> ThreadCtx {
        // A thread the capture never described: its credentials are
        // unknown, which libsinsp shows as uid/gid 4294967295 (-1).
        self.map.get(&tid).cloned().unwrap_or(ThreadCtx {
            pid: tid,
            uid: u32::MAX,
            gid: u32::MAX,
            loginuid: u32::MAX,
            ..ThreadCtx::default()
        })
    }
}

/// A container metadata event as JSON text: its `json` param, or the old
/// events' fields as `{"container": {...}}`.
pub(super) fn container_json(ev: &RawEvent<'_>) -> String {
    if let Some(j) = ev.str("json") {
        return String::from_utf8_lossy(j).into_owned();
    }
    let s = |n| ev.str(n).map(|v| String::from_utf8_lossy(v).into_owned());
    let obj = serde_json::json!({
        "container": {
            "id": s("id"), "type": ev.int("type"), "name": s("name"), "image": s("image"),
        }
    });
    obj.to_string()
}

fn u32p(e: &RawEvent<'_>, n: &str) -> Option<u32> {
    e.int(n).map(|v| v as u32)
}

/// `/a/b/c` as path components, leaf first (our PathComp param).
fn pathcomp(path: &[u8]) -> Option<Vec<u8>> {
    if !path.starts_with(b"/") {
        return None;
    }
    let comps: Vec<&[u8]> = path
        .split(|&c| c == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    Some(comps.into_iter().rev().collect::<Vec<_>>().join(&0u8))
}

impl Converter {
    /// Non-syscall events: procexit, drop, container metadata, the rest counted.
    pub(super) fn special(&mut self, ev: &RawEvent<'_>) {
        let name = ev.info().name;
        self.internal.add(ev.etype);
        let tid = ev.tid as u32;
        match name {
            "procexit" => {
                let pid = self.threads.pid_of(tid, &mut self.stats);
                self.threads.forget(tid);
                self.threads.newpid.remove(&tid);
                let group_dead = !self.threads.map.values().any(|c| c.pid == pid);
                let status = ev.int("status").unwrap_or(0);
                let rec = RecordBuilder::new(CODE_EXIT, ev.cpu, ev.ts, tid, pid, 0)
                    .args(&[status as u64, u64::from(group_dead)])
                    .build();
                self.emit(ev.ts, rec);
            }
            // libs drivers write `drop>` (with the sampling ratio) when a
            // CPU enters dropping mode and `drop<` when it leaves; events in
            // between were discarded. The markers carry no event count, so
            // each dropping period is one gap of count 1: a lower bound,
            // which makes the capture's drop total the number of periods.
            // (`scapevent` is libs' internal mock event, not a drop marker.)
            "drop" => {
                let opened = if ev.is_enter() {
                    self.drop_open.insert(ev.cpu)
                } else {
                    // An exit whose enter precedes the capture still ends a gap.
                    !self.drop_open.remove(&ev.cpu)
                };
                if opened {
                    self.stats.drop_periods += 1;
                    let rec = RecordBuilder::new(CODE_DROP, ev.cpu, ev.ts, 0, 0, 0)
                        .args(&[1, ev.ts])
                        .build();
                    self.emit(ev.ts, rec);
                }
            }
            "container" => self.containers.push(container_json(ev)),
            _ => {}
        }
    }

    fn emit(&mut self, ts: u64, rec: Vec<u8>) {
        self.out.push(ts, &rec);
        self.stats.records += 1;
    }

    /// EXEC and FORK records implied by an execve/clone exit.
    pub(super) fn after_exit(&mut self, enter: Option<&RawEvent<'_>>, exit: &RawEvent<'_>) {
        let kind = facts(exit.etype).exit;
        if kind == ExitKind::Other {
            return;
        }
        let res = exit.int("res").unwrap_or(-1);
        match kind {
            ExitKind::Exec if res == 0 => self.exec(enter, exit),
            ExitKind::Fork if res >= 0 => self.fork(exit, res),
            ExitKind::Unshare if res == 0 => {
                let f = |e: Option<&RawEvent<'_>>| e.and_then(|e| e.int("flags")).unwrap_or(0);
                let ppm = (f(enter) | f(Some(exit))) as u32;
                if clone_flags_from_ppm(ppm) & libc::CLONE_NEWPID as u64 != 0 {
                    self.threads.newpid.insert(exit.tid as u32);
                }
            }
            _ => {}
        }
    }

    fn exec(&mut self, enter: Option<&RawEvent<'_>>, x: &RawEvent<'_>) {
        let tid = x.tid as u32;
        let mut c = self.threads.ctx(tid);
        if let Some(p) = u32p(x, "pid") {
            c.pid = p;
        }
        let set = |dst: &mut u32, n| {
            if let Some(v) = u32p(x, n) {
                *dst = v;
            }
        };
        set(&mut c.uid, "uid");
        set(&mut c.gid, "gid");
        set(&mut c.loginuid, "loginuid");
        set(&mut c.tty, "tty");
        set(&mut c.pgid, "pgid");
        set(&mut c.vpid, "vpid");
        if let Some(p) = u32p(x, "ptid") {
            c.ppid = self.threads.map.get(&p).map_or(p, |pc| pc.pid);
        }
        if let Some(cap) = x.int("cap_effective") {
            c.cap_effective = cap as u64;
        }
        self.threads.set(tid, c.clone());
        let mut args = [0u64; exec::NARGS];
        args[exec::OLD_TID] = u64::from(tid);
        args[exec::UID] = u64::from(c.uid);
        args[exec::GID] = u64::from(c.gid);
        args[exec::EUID] = u64::from(c.uid);
        args[exec::EGID] = u64::from(c.gid);
        args[exec::LOGINUID] = u64::from(c.loginuid);
        args[exec::TTY] = u64::from(c.tty);
        args[exec::SID] = u64::from(c.sid);
        args[exec::PGID] = u64::from(c.pgid);
        args[exec::VPID] = u64::from(c.vpid);
        args[exec::CAP_EFFECTIVE] = c.cap_effective;
        args[exec::PPID] = u64::from(c.ppid);
        if let Some(f) = x.int("flags") {
            args[exec::EXE_FLAGS] = exe_flags_from_ppm(f as u32);
        }
        let mut b = RecordBuilder::new(CODE_EXEC, x.cpu, x.ts, tid, c.pid, 0).args(&args);
        let evs: Vec<&RawEvent<'_>> = enter.into_iter().chain(Some(x)).collect();
        let filename = evs.iter().rev().find_map(|e| e.str("filename"));
        if let Some(f) = filename {
            b = b.param(exec::P_FILENAME, ParamKind::Str, f);
        }
        if let Some(argv) = exec_argv(&evs) {
            b = b.param(exec::P_ARGV, ParamKind::Argv, &argv);
        }
        let exe = x.str("trusted_exepath").filter(|p| p.starts_with(b"/"));
        if let Some(pc) = exe.and_then(pathcomp) {
            b = b.param(exec::P_EXE, ParamKind::PathComp, &pc);
        }
        if let Some(pc) = x.str("cwd").and_then(pathcomp) {
            b = b.param(exec::P_CWD, ParamKind::PathComp, &pc);
        }
        if let Some((cg, _)) = x.get("cgroups") {
            if let Some(pc) = pathcomp(cgroup_path(cg).as_bytes()) {
                b = b.param(exec::P_CGROUP, ParamKind::PathComp, &pc);
            }
        }
        if let Some(comm) = x.str("comm") {
            b = b.param(exec::P_COMM, ParamKind::Str, comm);
        }
        self.emit(x.ts, b.build());
    }

    /// FORK from the parent's exit (`res` = child tid), or from the child's
    /// (`res` = 0) when it returns first.
    fn fork(&mut self, x: &RawEvent<'_>, res: i64) {
        let flags = clone_flags_from_ppm(x.int("flags").unwrap_or(0) as u32);
        let thread = flags & libc::CLONE_THREAD as u64 != 0;
        let me = x.tid as u32;
        // A caller inside a pid namespace gets the child's tid in that
        // namespace: the child's own exit creates it (as libsinsp does).
        if res > 0 && u32p(x, "vtid").is_some_and(|v| v != me) {
            return;
        }
        let (parent, child, child_pid, vtid, vpid) = if res > 0 {
            let child = res as u32;
            let ppid = self.threads.pid_of(me, &mut self.stats);
            let cpid = if thread { ppid } else { child };
            // The caller sees the child's global ids; where the child is the
            // init of a new pid namespace (clone(CLONE_NEWPID), or the first
            // child after unshare(CLONE_NEWPID)) its own ids are 1. Other
            // children in a namespace the caller is not in keep the guess.
            let unshared = !thread && self.threads.newpid.remove(&me);
            if unshared || flags & libc::CLONE_NEWPID as u64 != 0 {
                (me, child, cpid, 1, 1)
            } else {
                (me, child, cpid, child, cpid)
            }
        } else {
            let cpid = u32p(x, "pid").unwrap_or(me);
            // `ptid` is the process's parent; a new thread's is its leader.
            let Some(parent) = (if thread { Some(cpid) } else { u32p(x, "ptid") }) else {
                return;
            };
            let vt = u32p(x, "vtid").unwrap_or(me);
            let vp = u32p(x, "vpid").unwrap_or(cpid);
            (parent, me, cpid, vt, vp)
        };
        if !self.threads.forked.insert(child) {
            return;
        }
        let pctx = self.threads.ctx(parent);
        let parent_pid = self.threads.pid_of(parent, &mut self.stats);
        let mut cctx = pctx.clone();
        cctx.pid = child_pid;
        cctx.ppid = if thread { pctx.ppid } else { parent_pid };
        self.threads.set(child, cctx);
        self.threads.unknown.remove(&child);
        let mut b = RecordBuilder::new(CODE_FORK, x.cpu, x.ts, parent, parent_pid, 0).args(&[
            u64::from(child),
            u64::from(child_pid),
            flags,
            u64::from(vtid),
            u64::from(vpid),
        ]);
        // Either side's exit names the child: at clone time both share a comm.
        if let Some(comm) = x.str("comm") {
            b = b.param(fork::P_COMM, ParamKind::Str, comm);
        }
        self.emit(x.ts, b.build());
    }
}

#[cfg(test)]
mod tests {
    use super::{pathcomp, ThreadCtx, Threads};
    use crate::scap::ImportStats;

    #[test]
    fn a_changed_thread_is_not_answered_from_the_last_lookup() {
        let mut t = Threads::default();
        let mut st = ImportStats::default();
        assert_eq!(t.pid_of(5, &mut st), 5, "unknown: its own leader");
        assert_eq!(t.pid_of(5, &mut st), 5);
        assert_eq!(st.unknown_threads, 1, "counted once");
        let c = |pid| ThreadCtx {
            pid,
            ..ThreadCtx::default()
        };
        t.set(5, c(4));
        assert_eq!(t.pid_of(5, &mut st), 4);
        t.set(5, c(5));
        assert_eq!(
            t.pid_of(5, &mut st),
            5,
            "exec in a thread made it the leader"
        );
        t.set(6, c(4));
        assert_eq!(t.pid_of(6, &mut st), 4);
        t.forget(6);
        assert_eq!(t.pid_of(6, &mut st), 6, "gone: unknown again");
        t.seed(&[crate::event::meta::ProcInfo {
            tid: 7,
            pid: 3,
            ..Default::default()
        }]);
        assert_eq!(t.pid_of(7, &mut st), 3);
    }

    #[test]
    fn pathcomp_is_leaf_first() {
        assert_eq!(pathcomp(b"/usr/bin/curl").unwrap(), b"curl\0bin\0usr");
        assert_eq!(pathcomp(b"/").unwrap(), b"");
        assert!(pathcomp(b"rel/x").is_none());
    }
}
