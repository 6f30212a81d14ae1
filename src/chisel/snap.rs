//! State chisels: the reconstructed system at the end of the capture (or at
//! `--at TIME`): `ps`, `lsof`, `netstat`, `lscontainers`, and the login
//! sessions seen (`list_login_shells`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::agg::extend;
use super::event::{endpoints, fd_name, fd_type, l4proto, Event};
use super::{ArgDef, Chisel, ChiselDef, ChiselError, End, Init, Out};
use crate::event::table::Syscalls;
use crate::event::text::escape_bytes;
use crate::event::wire::{Record, RecordBuilder, CODE_DROP};
use crate::filter::fields::{EventCtx, FieldEnv, Fields};
use crate::filter::{Filter, Scratch};
use crate::state::{Effect, FdEntry, Process, Role, State};

fn esc(s: &str) -> String {
    let mut o = String::new();
    escape_bytes(s.as_bytes(), &mut o);
    o
}

fn user(st: &State, p: &Process) -> String {
    st.user(p.creds.uid)
        .map_or_else(|| p.creds.uid.to_string(), |u| u.name.clone())
}

/// Live processes by pid: a group that exited in the capture's last
/// events stays in the state until the next event, but is gone.
fn sorted(st: &State) -> Vec<&Process> {
    let mut v: Vec<&Process> = st.processes().filter(|p| p.exit_status.is_none()).collect();
    v.sort_by_key(|p| p.pid);
    v
}

/// sysdig's state-chisel filter argument (`-c lsof "proc.name=sshd"`):
/// evaluated on a thread with one of its fds, or with none, as if an event
/// of that thread worked on that fd at the end of the capture.
struct StateFilter {
    filter: Filter,
    /// The capture's syscall table and field environment (set by `bind`).
    tables: Option<(Syscalls, FieldEnv)>,
    scratch: Scratch,
    text: String,
}

impl StateFilter {
    fn new(d: &'static ChiselDef, i: &Init<'_>) -> Result<Option<StateFilter>, ChiselError> {
        let Some(text) = d.arg(i, 0)? else {
            return Ok(None);
        };
        let bad = |reason: String| ChiselError::BadArg {
            chisel: d.name,
            arg: "filter",
            reason,
        };
        let ast = crate::filter::parser::parse(text).map_err(|e| bad(e.to_string()))?;
        let filter =
            crate::filter::compile(&ast, &Fields).map_err(|e| bad(e.locate(text).to_string()))?;
        Ok(Some(StateFilter {
            filter,
            tables: None,
            scratch: Scratch::default(),
            text: String::new(),
        }))
    }

    /// Prepares the per-capture tables at the start of `finish`.
    fn bind(&mut self, end: &End<'_>) -> Result<(), ChiselError> {
        let table = Syscalls::new(end.meta.syscalls.clone()).map_err(|e| ChiselError::Table {
            reason: e.to_string(),
        })?;
        let env = FieldEnv::new(&table, end.meta, end.env.first_ts);
        self.tables = Some((table, env));
        Ok(())
    }

    /// Whether thread `tid` of `pid`, with fd `fd` (or none), matches.
    fn matches(&mut self, end: &End<'_>, tid: u32, pid: u32, fd: Option<(i32, &FdEntry)>) -> bool {
        let bytes = RecordBuilder::new(CODE_DROP, 0, end.last_ts, tid, pid, 0).build();
        let (Ok((rec, _)), Some((table, env))) = (Record::parse(&bytes), &self.tables) else {
            return false;
        };
        let effect = Effect {
            fd: fd.map(|(n, e)| (n, e.clone())),
        };
        let mut ctx = EventCtx::new(
            rec,
            end.matched,
            end.state,
            table,
            end.meta,
            &effect,
            env,
            &mut self.text,
        );
        self.filter.matches(&mut ctx, &mut self.scratch)
    }
}

/// Whether `f` (if any) keeps thread `tid` of `pid` with fd `fd`.
fn keep(
    f: &mut Option<StateFilter>,
    end: &End<'_>,
    tid: u32,
    pid: u32,
    fd: Option<(i32, &FdEntry)>,
) -> bool {
    f.as_mut().is_none_or(|f| f.matches(end, tid, pid, fd))
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Ps,
    Lsof,
    Netstat,
    Containers,
}

/// A state chisel: what to list, the optional filter argument, and whether
/// to print JSON whatever `--json` says (`lscontainers desc`).
struct Snap(Kind, Option<StateFilter>, bool);

impl Chisel for Snap {
    fn wants_events(&self) -> bool {
        false
    }

    fn on_event(&mut self, _ev: &Event<'_>, _out: &mut Out<'_>) -> Result<(), ChiselError> {
        Ok(())
    }

    fn finish(&mut self, end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        let st = end.state;
        out.json |= self.2;
        if let Some(f) = &mut self.1 {
            f.bind(end)?;
        }
        let filt = &mut self.1;
        match self.0 {
            Kind::Ps => {
                if !out.json {
                    writeln!(
                        out.w,
                        "{}{}{}{}CMD",
                        extend("TID", 8),
                        extend("PID", 8),
                        extend("USER", 12),
                        extend("TTY", 8)
                    )?;
                }
                for t in st.live_threads() {
                    let Some(p) = st.process(t.pid) else {
                        continue;
                    };
                    if filt.is_some()
                        && !keep(filt, end, t.tid, t.pid, None)
                        && !st.fd_table(t.pid).is_some_and(|tb| {
                            tb.iter()
                                .any(|(n, e)| keep(filt, end, t.tid, t.pid, Some((n, e))))
                        })
                    {
                        continue;
                    }
                    // CMD is the thread's comm, as sysdig's; JSON adds the command line.
                    let cmd: &str = &t.comm;
                    if out.json {
                        writeln!(
                            out.w,
                            "{}",
                            json!({"tid": t.tid, "pid": t.pid, "user": user(st, p), "tty": p.tty, "cmd": cmd, "exeline": super::event::exeline(p)})
                        )?;
                    } else {
                        writeln!(
                            out.w,
                            "{}{}{}{}{}",
                            extend(&t.tid.to_string(), 8),
                            extend(&t.pid.to_string(), 8),
                            extend(&esc(&user(st, p)), 12),
                            extend(&p.tty.to_string(), 8),
                            esc(cmd)
                        )?;
                    }
                }
            }
            Kind::Lsof => {
                if !out.json {
                    writeln!(
                        out.w,
                        "{}{}{}{}{}NAME",
                        extend("COMMAND", 20),
                        extend("PID", 8),
                        extend("USER", 12),
                        extend("FD", 8),
                        extend("TYPE", 12)
                    )?;
                }
                let mut name = String::new();
                for p in sorted(st) {
                    let Some(table) = st.fd_table(p.pid) else {
                        continue;
                    };
                    let comm = st
                        .thread(p.pid)
                        .map_or_else(String::new, |t| t.comm.to_string());
                    let mut fds: Vec<_> = table.iter().collect();
                    fds.sort_by_key(|(n, _)| *n);
                    for (n, e) in fds {
                        if !keep(filt, end, p.pid, p.pid, Some((n, e))) {
                            continue;
                        }
                        fd_name(e, &mut name);
                        if out.json {
                            writeln!(
                                out.w,
                                "{}",
                                json!({"command": comm, "pid": p.pid, "user": user(st, p), "fd": n, "type": fd_type(e), "name": name})
                            )?;
                        } else {
                            writeln!(
                                out.w,
                                "{}{}{}{}{}{}",
                                extend(&esc(&comm), 20),
                                extend(&p.pid.to_string(), 8),
                                extend(&esc(&user(st, p)), 12),
                                extend(&n.to_string(), 8),
                                extend(fd_type(e), 12),
                                esc(&name)
                            )?;
                        }
                    }
                }
            }
            Kind::Netstat => {
                if !out.json {
                    writeln!(
                        out.w,
                        "{}{}{}{}TID/PID/Program Name",
                        extend("Proto", 6),
                        extend("Server Address", 25),
                        extend("Client Address", 25),
                        extend("State", 12)
                    )?;
                }
                for p in sorted(st) {
                    let Some(table) = st.fd_table(p.pid) else {
                        continue;
                    };
                    let comm = st
                        .thread(p.pid)
                        .map_or_else(String::new, |t| t.comm.to_string());
                    let mut fds: Vec<_> = table
                        .iter()
                        .filter(|(_, e)| matches!(fd_type(e), "ipv4" | "ipv6"))
                        .collect();
                    fds.sort_by_key(|(n, _)| *n);
                    for (n, e) in fds {
                        if !keep(filt, end, p.pid, p.pid, Some((n, e))) {
                            continue;
                        }
                        let (l, r) = endpoints(e);
                        let role = e.socket.as_ref().map_or(Role::Unknown, |s| s.role);
                        let (srv, cli) = if role == Role::Client { (r, l) } else { (l, r) };
                        let fmt = |a: Option<std::net::SocketAddr>| {
                            a.map_or_else(|| "*:*".to_string(), |a| a.to_string())
                        };
                        let state = match (role, r.is_some()) {
                            (Role::Server, false) => "LISTEN",
                            (_, true) => "ESTABLISHED",
                            _ => "",
                        };
                        if out.json {
                            writeln!(
                                out.w,
                                "{}",
                                json!({"proto": l4proto(e), "server": fmt(srv), "client": fmt(cli), "state": state, "pid": p.pid, "program": comm})
                            )?;
                        } else {
                            writeln!(
                                out.w,
                                "{}{}{}{}{}/{}",
                                extend(l4proto(e), 6),
                                extend(&fmt(srv), 25),
                                extend(&fmt(cli), 25),
                                extend(state, 12),
                                p.pid,
                                esc(&comm)
                            )?;
                        }
                    }
                }
            }
            Kind::Containers => {
                let mut by: BTreeMap<&str, Vec<&Process>> = BTreeMap::new();
                for p in sorted(st) {
                    if !p.container_id.is_empty() {
                        by.entry(&p.container_id).or_default().push(p);
                    }
                }
                if !out.json {
                    writeln!(
                        out.w,
                        "{}{}processes",
                        extend("container.id", 15),
                        extend("procs", 8)
                    )?;
                    writeln!(
                        out.w,
                        "{}{}---------",
                        extend("------------", 15),
                        extend("-----", 8)
                    )?;
                }
                for (id, ps) in by {
                    let names: BTreeSet<String> = ps
                        .iter()
                        .filter_map(|p| st.thread(p.pid))
                        .map(|t| t.comm.to_string())
                        .collect();
                    let names: Vec<String> = names.into_iter().collect();
                    if out.json {
                        writeln!(
                            out.w,
                            "{}",
                            json!({"container.id": id, "procs": ps.len(), "processes": names})
                        )?;
                    } else {
                        writeln!(
                            out.w,
                            "{}{}{}",
                            extend(&esc(id), 15),
                            extend(&ps.len().to_string(), 8),
                            esc(&names.join(","))
                        )?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Login shells (`proc.loginshellid`) of the processes that exec'd; as
/// sysdig's, optionally only those under which a process ran whose name
/// contains `command` (`*`: any) and whose arguments contain `arguments`.
struct LoginShells {
    command: Option<String>,
    arguments: Option<String>,
    shells: BTreeSet<u32>,
}

impl LoginShells {
    fn see(&mut self, st: &State, p: &Process) {
        let Some(sh) = super::event::login_shell(st, p) else {
            return;
        };
        let comm = st.thread(p.pid).map_or("", |t| &t.comm);
        let name_ok = self
            .command
            .as_deref()
            .is_none_or(|c| c == "*" || comm.contains(c));
        let args_ok = self
            .arguments
            .as_deref()
            .is_none_or(|a| p.args().iter().any(|x| x.contains(a)));
        if name_ok && args_ok {
            self.shells.insert(sh);
        }
    }
}

impl Chisel for LoginShells {
    fn on_event(&mut self, ev: &Event<'_>, _out: &mut Out<'_>) -> Result<(), ChiselError> {
        if ev.rec.code() == crate::event::wire::CODE_EXEC {
            if let Some(p) = ev.process() {
                self.see(ev.state, p);
            }
        }
        Ok(())
    }

    fn finish(&mut self, _end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        let sids: Vec<u32> = self.shells.iter().copied().collect();
        if out.json {
            writeln!(out.w, "{}", json!({"shells": sids}))?;
            return Ok(());
        }
        match &self.command {
            Some(c) => writeln!(out.w, "Shells containing {}:", esc(c))?,
            None => writeln!(out.w, "All shells:")?,
        }
        for s in sids {
            writeln!(out.w, "{s}")?;
        }
        Ok(())
    }
}

const FILTER_ARG: &[ArgDef] = &[ArgDef {
    name: "filter",
    ty: "filter",
    desc: "A filter restricting the list, evaluated on each thread and fd, e.g. 'proc.name=sshd and fd.name contains /etc'",
    optional: true,
}];

/// The state chisels.
pub(crate) static DEFS: &[ChiselDef] = &[
    ChiselDef { name: "ps", category: "System State", short: "List (and optionally filter) the machine processes",
        desc: "Lists the threads alive at the end of the capture (or at --at TIME), like ps.", args: FILTER_ARG,
        make: |d, i| Ok(Box::new(Snap(Kind::Ps, StateFilter::new(d, i)?, false))) },
    ChiselDef { name: "lsof", category: "System State", short: "List (and optionally filter) the open file descriptors",
        desc: "Lists the fds open at the end of the capture (or at --at TIME), like lsof.", args: FILTER_ARG,
        make: |d, i| Ok(Box::new(Snap(Kind::Lsof, StateFilter::new(d, i)?, false))) },
    ChiselDef { name: "netstat", category: "System State", short: "List (and optionally filter) network connections",
        desc: "Lists the IPv4/IPv6 sockets open at the end of the capture (or at --at TIME), like netstat.", args: FILTER_ARG,
        make: |d, i| Ok(Box::new(Snap(Kind::Netstat, StateFilter::new(d, i)?, false))) },
    ChiselDef { name: "lscontainers", category: "System State", short: "List the running containers",
        desc: "Lists the containers (by cgroup container id) with processes alive at the end of the capture.", args: &[ArgDef { name: "desc", ty: "string", desc: "'desc': print the list as JSON (as --json)", optional: true }],
        make: |d, i| {
            let desc = match d.arg(i, 0)? {
                None => false,
                Some("desc") => true,
                Some(o) => return Err(ChiselError::BadArg { chisel: d.name, arg: "desc", reason: format!("'{}': expected 'desc'", crate::filter::error::escape_str(o)) }),
            };
            Ok(Box::new(Snap(Kind::Containers, None, desc)))
        } },
    ChiselDef { name: "list_login_shells", category: "Security", short: "List the login shell IDs",
        desc: "Lists the login shell ids (proc.loginshellid: the oldest shell among a process and its ancestors) of the processes that exec'd in the capture; with a command, only shells under which it ran.",
        args: &[ArgDef { name: "command", ty: "string", desc: "Only sessions that ran a process whose name contains this ('*': any)", optional: true },
                ArgDef { name: "arguments", ty: "string", desc: "Only sessions that ran a process whose arguments contain this", optional: true }],
        make: |d, i| Ok(Box::new(LoginShells {
            command: d.arg(i, 0)?.map(str::to_string),
            arguments: d.arg(i, 1)?.map(str::to_string),
            shells: BTreeSet::new(),
        })) },
];
