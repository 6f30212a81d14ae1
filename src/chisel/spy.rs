//! Streaming chisels that print as events go by: captured buffers
//! (`echo_fds`, `spy_*`, `stdin`/`stdout`/`stderr`), slow calls
//! (`scallslower`, `fileslower`), process lifetimes (`proc_exec_time`),
//! interactive commands (`spy_users`). Every captured byte is escaped
//! before it is printed.

use std::net::IpAddr;

use serde_json::json;

use super::agg::format_bytes;
use super::around::{log_dump, LogDump, DUMP_ARGS};
use super::event::{endpoints, fd_name, fd_type, is_ip, Event, IoDir};
use super::{fmt_time, ArgDef, Chisel, ChiselDef, ChiselError, End, Init, Out};
use crate::event::text::escape_bytes;
use crate::event::wire::{CODE_EXEC, CODE_EXIT};

/// Which I/O events a buffer printer shows.
#[derive(Debug, Clone)]
enum Sel {
    AllFds,
    Files {
        dir: Option<IoDir>,
        name: Option<String>,
    },
    Ip(IpAddr),
    Port(u16),
    Logs,
    Std(i64),
}

struct Buffers {
    sel: Sel,
    name: String,
    text: String,
    /// `spy_logs DUMP_FILE`: the events around each log write.
    dump: Option<LogDump>,
}

impl Buffers {
    fn keep(&self, ev: &Event<'_>, dir: IoDir) -> bool {
        let fd = ev.fd();
        match &self.sel {
            Sel::AllFds => true,
            Sel::Files { dir: d, name } => {
                fd.is_some_and(|f| fd_type(f) == "file")
                    && d.is_none_or(|d| d == dir)
                    && name
                        .as_ref()
                        .is_none_or(|n| fd.is_some_and(|f| *f.name == **n))
            }
            Sel::Ip(ip) => fd.filter(|f| is_ip(f)).is_some_and(|f| {
                let (l, r) = endpoints(f);
                l.is_some_and(|a| a.ip() == *ip) || r.is_some_and(|a| a.ip() == *ip)
            }),
            Sel::Port(p) => fd.filter(|f| is_ip(f)).is_some_and(|f| {
                let (l, r) = endpoints(f);
                l.is_some_and(|a| a.port() == *p) || r.is_some_and(|a| a.port() == *p)
            }),
            Sel::Logs => {
                dir == IoDir::Out
                    && fd.is_some_and(|f| {
                        fd_type(f) == "file" && (f.name.contains(".log") || f.name.contains("_log"))
                    })
            }
            Sel::Std(n) => {
                ev.fd_num() == Some(*n) && dir == if *n == 0 { IoDir::In } else { IoDir::Out }
            }
        }
    }
}

impl Chisel for Buffers {
    /// A dump sees every event (the window needs them); the chisel then
    /// applies the filter's verdict itself.
    fn filtered(&self) -> bool {
        self.dump.is_none()
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        let io = ev.io().filter(|(dir, _)| ev.matched && self.keep(ev, *dir));
        if let Some(d) = self.dump.as_mut() {
            d.on_event(ev, io.is_some())?;
        }
        let Some((dir, n)) = io else {
            return Ok(());
        };
        let data = ev.buffer().unwrap_or(&[]);
        self.text.clear();
        escape_bytes(data, &mut self.text);
        match ev.fd() {
            Some(f) => fd_name(f, &mut self.name),
            None => self.name.clear(),
        }
        let pname = ev.proc_name();
        if out.json {
            let v = json!({
                "evt.num": ev.num + 1, "evt.time": ev.env.epoch(ev.rec.ts()), "proc.name": pname,
                "proc.pid": ev.rec.pid(), "fd.name": self.name, "evt.is_io_read": dir == IoDir::In,
                "evt.rawres": n, "evt.buffer": self.text,
            });
            writeln!(out.w, "{v}")?;
            return Ok(());
        }
        let mut name = String::new();
        escape_bytes(self.name.as_bytes(), &mut name);
        match &self.sel {
            Sel::Std(_) => writeln!(out.w, "{}", self.text)?,
            Sel::Logs => writeln!(
                out.w,
                "{} {}({}) {} {}",
                fmt_time(ev.env.epoch(ev.rec.ts())),
                pname,
                ev.rec.pid(),
                name,
                self.text
            )?,
            _ => {
                let (verb, prep) = if dir == IoDir::In {
                    ("Read", "from")
                } else {
                    ("Write", "to")
                };
                writeln!(
                    out.w,
                    "------ {verb} {} {prep} {name} ({pname})",
                    format_bytes(n)
                )?;
                writeln!(out.w, "{}", self.text)?;
            }
        }
        Ok(())
    }

    fn finish(&mut self, end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        match self.dump.as_mut() {
            Some(d) => d.finish(end, out),
            None => Ok(()),
        }
    }
}

fn buffers(sel: Sel) -> Box<dyn Chisel> {
    buffers_dumping(sel, None)
}

/// [`buffers`] that also dumps the events around each kept write.
fn buffers_dumping(sel: Sel, dump: Option<LogDump>) -> Box<dyn Chisel> {
    Box::new(Buffers {
        sel,
        name: String::new(),
        text: String::new(),
        dump,
    })
}

fn bad(d: &'static ChiselDef, arg: &'static str, reason: String) -> ChiselError {
    ChiselError::BadArg {
        chisel: d.name,
        arg,
        reason,
    }
}

fn min_ms(d: &'static ChiselDef, i: &Init<'_>) -> Result<u64, ChiselError> {
    if !i.has_latency {
        return Err(ChiselError::Unsupported {
            chisel: d.name,
            reason: "this capture has no syscall entry times, so no latency: record with `saker record --latency`".into(),
        });
    }
    match d.arg(i, 0)? {
        None => Ok(0),
        Some(s) => s.parse::<u64>().map_err(|_| {
            bad(
                d,
                "min_ms",
                format!(
                    "'{}' is not a number of milliseconds",
                    crate::filter::error::escape_str(s)
                ),
            )
        }),
    }
}

/// Syscalls (or file I/O) slower than a threshold.
struct Slower {
    min_ns: u64,
    files: bool,
    header: bool,
    name: String,
}

impl Chisel for Slower {
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        let Some(lat) = ev.latency() else {
            return Ok(());
        };
        if lat < self.min_ns || !ev.rec.is_syscall() {
            return Ok(());
        }
        if self.files && !(ev.io().is_some() && ev.fd().is_some_and(|f| fd_type(f) == "file")) {
            return Ok(());
        }
        let mut name = String::new();
        if let Some(f) = ev.fd() {
            fd_name(f, &mut self.name);
            escape_bytes(self.name.as_bytes(), &mut name);
        }
        let time = fmt_time(ev.env.epoch(ev.rec.ts()));
        if out.json {
            let v = json!({"evt.datetime": time, "proc.name": ev.proc_name(), "evt.type": ev.name(),
                "evt.latency": lat, "fd.name": name});
            return Ok(writeln!(out.w, "{v}")?);
        }
        if !self.header {
            self.header = true;
            if self.files {
                writeln!(
                    out.w,
                    "{:<23} {:<20} {:<12} {:>12} fd.name",
                    "evt.datetime", "proc.name", "evt.type", "LATENCY(ms)"
                )?;
            } else {
                writeln!(
                    out.w,
                    "{:<23} {:<20} {:<23} {:>12} fd.name",
                    "evt.datetime", "proc.name", "evt.type", "LATENCY(ms)"
                )?;
            }
        }
        let ms = format!("{:.3}", lat as f64 / 1e6);
        let t: String = time.chars().take(23).collect();
        let p: String = ev.proc_name().chars().take(20).collect();
        writeln!(out.w, "{t:<23} {p:<20} {:<12} {ms:>12} {name}", ev.name())?;
        Ok(())
    }

    fn finish(&mut self, _end: &End<'_>, _out: &mut Out<'_>) -> Result<(), ChiselError> {
        Ok(())
    }
}

/// Process lifetimes at exit.
struct ExecTime {
    header: bool,
}

impl Chisel for ExecTime {
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        if ev.rec.code() != CODE_EXIT || ev.rec.arg(crate::event::wire::exit::GROUP_DEAD) != Some(1)
        {
            return Ok(());
        }
        let Some(p) = ev.process() else { return Ok(()) };
        if p.start_ts == 0 {
            return Ok(()); // started before the snapshot: unknown start
        }
        let dur = ev.rec.ts().saturating_sub(p.start_ts);
        let name = ev.proc_name();
        if out.json {
            return Ok(writeln!(
                out.w,
                "{}",
                json!({"proc.name": name, "proc.pid": p.pid, "exectime": dur})
            )?);
        }
        if !self.header {
            self.header = true;
            writeln!(out.w, "{:<13} {:<12} exectime(s)", "proc.name", "proc.pid")?;
        }
        let mut n = String::new();
        escape_bytes(name.as_bytes(), &mut n);
        writeln!(out.w, "{:<13} {:<12} {:.3}", n, p.pid, dur as f64 / 1e9)?;
        Ok(())
    }

    fn finish(&mut self, _end: &End<'_>, _out: &mut Out<'_>) -> Result<(), ChiselError> {
        Ok(())
    }
}

/// Commands run from a login shell (processes with a shell among their
/// ancestors, as sysdig's `proc.loginshellid`) and their cds: one line per
/// successful exec or chdir, `TIME SHELL_PID USER) COMMAND`.
/// `spy_users`: commands and `cd`s under login shells.
struct SpyUsers {
    /// Most generations below the login shell shown.
    max_depth: Option<u32>,
}

/// Generations from `p` up to its ancestor `shell` (0 for the shell itself).
fn depth_below(st: &crate::state::State, p: &crate::state::Process, shell: u32) -> u32 {
    let mut cur = p;
    for d in 0..256 {
        if cur.pid == shell {
            return d;
        }
        match st.process(cur.ppid).filter(|q| q.pid != cur.pid) {
            Some(q) => cur = q,
            None => return d,
        }
    }
    256
}

impl Chisel for SpyUsers {
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        let Some(p) = ev.process() else { return Ok(()) };
        let Some(shell) = super::event::login_shell(ev.state, p) else {
            return Ok(());
        };
        if self
            .max_depth
            .is_some_and(|m| depth_below(ev.state, p, shell) > m)
        {
            return Ok(());
        }
        let user = ev
            .state
            .user(p.creds.uid)
            .map_or_else(|| p.creds.uid.to_string(), |u| u.name.clone());
        let line = if ev.rec.code() == CODE_EXEC {
            super::event::exeline(p)
        } else if ev.name() == "chdir" && ev.rec.ret() == 0 {
            let mut s = "cd ".to_string();
            s.push_str(&String::from_utf8_lossy(ev.path().unwrap_or(b"")));
            s
        } else {
            return Ok(());
        };
        let time = fmt_time(ev.env.epoch(ev.rec.ts()));
        if out.json {
            return Ok(writeln!(
                out.w,
                "{}",
                json!({"evt.time": time, "user.name": user, "proc.pid": p.pid, "proc.loginshellid": shell, "cmd": line})
            )?);
        }
        let mut esc = String::new();
        escape_bytes(line.as_bytes(), &mut esc);
        let mut u = String::new();
        escape_bytes(user.as_bytes(), &mut u);
        writeln!(out.w, "{time} {shell} {u}) {esc}")?;
        Ok(())
    }

    fn finish(&mut self, _end: &End<'_>, _out: &mut Out<'_>) -> Result<(), ChiselError> {
        Ok(())
    }
}

const NO_ARGS: &[ArgDef] = &[];
/// sysdig's `disable_color` argument: saker never colors, so only the
/// value is checked.
const COLOR: ArgDef = ArgDef {
    name: "disable_color",
    ty: "string",
    desc: "'disable_colors' (accepted for sysdig compatibility: saker never colors its output)",
    optional: true,
};
const COLOR_ONLY: &[ArgDef] = &[COLOR];
const MIN_MS: &[ArgDef] = &[
    ArgDef {
        name: "min_ms",
        ty: "int",
        desc: "Minimum latency in milliseconds (default 0: all)",
        optional: true,
    },
    COLOR,
];

/// Checks the `disable_color` argument at `idx`.
fn color_arg(d: &'static ChiselDef, i: &Init<'_>, idx: usize) -> Result<(), ChiselError> {
    match d.arg(i, idx)? {
        None | Some("disable_colors" | "disable_color") => Ok(()),
        Some(o) => Err(bad(
            d,
            "disable_color",
            format!(
                "'{}': expected 'disable_colors'",
                crate::filter::error::escape_str(o)
            ),
        )),
    }
}

/// The streaming chisels.
pub(crate) static DEFS: &[ChiselDef] = &[
    ChiselDef { name: "echo_fds", category: "I/O", short: "Print the data read and written by processes",
        desc: "Prints the data read and written on any FD (escaped). Combine with a filter to restrict it.",
        args: COLOR_ONLY, make: |d, i| { color_arg(d, i, 0)?; Ok(buffers(Sel::AllFds)) } },
    ChiselDef { name: "spy_file", category: "I/O", short: "Echo any read/write made by any process to all files",
        desc: "Prints the data read from and written to files; optionally only reads (R) or writes (W), and only one file.",
        args: &[ArgDef { name: "read_or_write", ty: "string", desc: "R, W or RW (default RW)", optional: true },
                ArgDef { name: "spy_on_file_name", ty: "string", desc: "Only this file (full path)", optional: true }],
        make: |d, i| {
            let dir = match d.arg(i, 0)? {
                None | Some("RW") => None,
                Some("R") => Some(IoDir::In),
                Some("W") => Some(IoDir::Out),
                Some(o) => return Err(bad(d, "read_or_write", format!("'{}' is not R, W or RW", crate::filter::error::escape_str(o)))),
            };
            Ok(buffers(Sel::Files { dir, name: d.arg(i, 1)?.map(str::to_string) }))
        } },
    ChiselDef { name: "spy_ip", category: "Net", short: "Show the data exchanged with the given IP address",
        desc: "Prints the payloads exchanged with an IP end-point.",
        args: &[ArgDef { name: "host_ip", ty: "ipv4", desc: "The remote or local address", optional: false }, COLOR],
        make: |d, i| {
            color_arg(d, i, 1)?;
            let s = d.arg(i, 0)?.unwrap_or_default();
            let ip = s.parse().map_err(|_| bad(d, "host_ip", format!("'{}' is not an IP address", crate::filter::error::escape_str(s))))?;
            Ok(buffers(Sel::Ip(ip)))
        } },
    ChiselDef { name: "spy_port", category: "Net", short: "Show the data exchanged using the given IP port number",
        desc: "Prints the payloads exchanged on a given port (local or remote).",
        args: &[ArgDef { name: "host_port", ty: "int", desc: "The port", optional: false }, COLOR],
        make: |d, i| {
            color_arg(d, i, 1)?;
            let s = d.arg(i, 0)?.unwrap_or_default();
            let p = s.parse().map_err(|_| bad(d, "host_port", format!("'{}' is not a port number", crate::filter::error::escape_str(s))))?;
            Ok(buffers(Sel::Port(p)))
        } },
    ChiselDef { name: "spy_logs", category: "Logs", short: "Echo any write made by any process to a log file",
        desc: "Prints the writes to files whose name contains '.log' or '_log', one line each; with dump_file_name, also writes the events of the same thread within dump_range_ms of each one to that capture.",
        args: DUMP_ARGS, make: |d, i| {
            Ok(buffers_dumping(Sel::Logs, log_dump(d, i)?))
        } },
    ChiselDef { name: "stdin", category: "I/O", short: "Print the standard input of any process",
        desc: "Prints what processes read from fd 0.", args: NO_ARGS, make: |_, _| Ok(buffers(Sel::Std(0))) },
    ChiselDef { name: "stdout", category: "I/O", short: "Print the standard output of any process",
        desc: "Prints what processes write to fd 1.", args: NO_ARGS, make: |_, _| Ok(buffers(Sel::Std(1))) },
    ChiselDef { name: "stderr", category: "I/O", short: "Print the standard error of any process",
        desc: "Prints what processes write to fd 2.", args: NO_ARGS, make: |_, _| Ok(buffers(Sel::Std(2))) },
    ChiselDef { name: "scallslower", category: "Performance", short: "Trace slow syscalls",
        desc: "Lists syscalls slower than min_ms milliseconds (needs `record --latency`).",
        args: MIN_MS, make: |d, i| { color_arg(d, i, 1)?; Ok(Box::new(Slower { min_ns: min_ms(d, i)? * 1_000_000, files: false, header: false, name: String::new() })) } },
    ChiselDef { name: "fileslower", category: "Performance", short: "Trace slow file I/O",
        desc: "Lists file reads and writes slower than min_ms milliseconds (needs `record --latency`).",
        args: MIN_MS, make: |d, i| { color_arg(d, i, 1)?; Ok(Box::new(Slower { min_ns: min_ms(d, i)? * 1_000_000, files: true, header: false, name: String::new() })) } },
    ChiselDef { name: "proc_exec_time", category: "Performance", short: "Show process execution time",
        desc: "Lists processes that exited during the capture with their run time (from their start time).",
        args: COLOR_ONLY, make: |d, i| { color_arg(d, i, 0)?; Ok(Box::new(ExecTime { header: false })) } },
    ChiselDef { name: "spy_users", category: "Security", short: "Display interactive user activity",
        desc: "Lists every command run under a login shell and every directory it cd's to; with max_depth, only processes at most that many generations below their login shell.",
        args: &[ArgDef { name: "max_depth", ty: "int", desc: "The maximum depth below the login shell to show (default: all)", optional: true }, COLOR],
        make: |d, i| {
            color_arg(d, i, 1)?;
            let max_depth = match d.arg(i, 0)? {
                None => None,
                Some(s) => Some(s.parse::<u32>().map_err(|_| bad(d, "max_depth", format!("'{}' is not a number", crate::filter::error::escape_str(s))))?),
            };
            Ok(Box::new(SpyUsers { max_depth }))
        } },
];
