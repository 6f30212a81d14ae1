//! [`Event`]: one record seen by a chisel, with the reconstructed state and
//! per-code facts ([`Env`]) computed once from the capture's syscall table:
//! name, fd argument, I/O direction and data param. Nothing here allocates
//! per event.

use crate::event::meta::{ArgKind, FdKind};
use crate::event::table::Syscalls;
use crate::event::wire::{ParamKind, CODE_DROP, CODE_EXEC, CODE_EXIT, CODE_FORK, CODE_SPECIAL};
use crate::event::Record;
use crate::state::{Effect, FdEntry, Process, SockAddr, State};

/// Direction of an I/O syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoDir {
    /// Data flowed into the process (read, recv).
    In,
    /// Data flowed out of the process (write, send).
    Out,
}

/// Facts about one event code, computed once.
#[derive(Debug, Clone)]
pub struct CodeFacts {
    /// Event type name as sysdig shows it (`openat`, `execve`, `procexit`).
    pub name: String,
    /// Index of the fd argument, if the syscall takes one.
    pub fd_arg: Option<usize>,
    /// I/O direction for read/write/send/recv family syscalls.
    pub io: Option<IoDir>,
    /// Index of the arg whose param holds the data buffer.
    pub buf_arg: Option<u8>,
}

const READS: &[&str] = &[
    "read", "pread64", "readv", "preadv", "preadv2", "recvfrom", "recvmsg", "recvmmsg",
];
const WRITES: &[&str] = &[
    "write",
    "pwrite64",
    "writev",
    "pwritev",
    "pwritev2",
    "sendto",
    "sendmsg",
    "sendmmsg",
    "sendfile",
    "sendfile64",
];

/// Per-capture facts shared by every event.
#[derive(Debug)]
pub struct Env {
    codes: Vec<CodeFacts>,
    /// Add to a record timestamp for ns since the epoch.
    pub epoch_off: i64,
    /// Timestamp of the first event (0 when empty).
    pub first_ts: u64,
    /// Timestamp of the last event (0 when empty).
    pub last_ts: u64,
    /// Whether the recorder stored syscall entry times (`--latency`).
    pub has_latency: bool,
}

impl Env {
    /// Facts for every code of `table`. `has_latency`: entry times were recorded.
    pub fn new(
        table: &Syscalls,
        epoch_off: i64,
        first_ts: u64,
        last_ts: u64,
        has_latency: bool,
    ) -> Env {
        let mut codes = Vec::with_capacity(CODE_SPECIAL as usize + 5);
        for code in 0..=CODE_SPECIAL + 4 {
            codes.push(facts(table, code));
        }
        Env {
            codes,
            epoch_off,
            first_ts,
            last_ts,
            has_latency,
        }
    }

    /// Facts about `code` (the last entry, "unknown", for codes past the table).
    #[inline]
    pub fn code(&self, code: u16) -> &CodeFacts {
        let i = (code as usize).min(self.codes.len() - 1);
        &self.codes[i]
    }

    /// Record timestamp to ns since the epoch.
    pub fn epoch(&self, ts: u64) -> i64 {
        (ts as i64).saturating_add(self.epoch_off)
    }
}

fn facts(table: &Syscalls, code: u16) -> CodeFacts {
    let name = match code {
        CODE_FORK => "clone".to_string(),
        CODE_EXEC => "execve".to_string(),
        CODE_EXIT => "procexit".to_string(),
        CODE_DROP => "drop".to_string(),
        c if c > CODE_DROP => "unknown".to_string(),
        c => table.name(c).into_owned(),
    };
    let mut f = CodeFacts {
        io: None,
        fd_arg: None,
        buf_arg: None,
        name,
    };
    let Some(desc) = (code < CODE_SPECIAL).then(|| table.get(code)).flatten() else {
        return f;
    };
    f.fd_arg = desc.args.iter().position(|a| a.kind == ArgKind::Fd);
    f.buf_arg = desc
        .args
        .iter()
        .position(|a| {
            matches!(
                a.kind,
                ArgKind::BufIn
                    | ArgKind::BufOut
                    | ArgKind::IovecIn
                    | ArgKind::IovecOut
                    | ArgKind::MsghdrOut
                    | ArgKind::MsghdrIn
            )
        })
        .and_then(|i| u8::try_from(i).ok());
    if READS.contains(&&*desc.name) {
        f.io = Some(IoDir::In);
    } else if WRITES.contains(&&*desc.name) {
        f.io = Some(IoDir::Out);
        if desc.name.starts_with("sendfile") {
            f.fd_arg = Some(0);
        }
    }
    f
}

/// One event as a chisel sees it: the record, its number, the state after
/// applying it and what applying it did.
pub struct Event<'a> {
    /// 0-based event number.
    pub num: u64,
    /// The record.
    pub rec: Record<'a>,
    /// The state after the record.
    pub state: &'a State,
    /// The fd the record created or closed.
    pub effect: &'a Effect,
    /// Per-capture facts.
    pub env: &'a Env,
    /// Whether the event passed the filter.
    pub matched: bool,
}

impl<'a> Event<'a> {
    /// Facts about this event's code.
    #[inline]
    pub fn facts(&self) -> &'a CodeFacts {
        self.env.code(self.rec.code())
    }

    /// Event type name.
    #[inline]
    pub fn name(&self) -> &'a str {
        &self.facts().name
    }

    /// The process, if known.
    pub fn process(&self) -> Option<&'a Process> {
        self.state.process(self.rec.pid())
    }

    /// Process name (the thread group leader's comm, else the thread's).
    pub fn proc_name(&self) -> &'a str {
        let st = self.state;
        st.thread(self.rec.pid())
            .or_else(|| st.thread(self.rec.tid()))
            .map_or("<NA>", |t| &t.comm)
    }

    /// The fd number this syscall works on.
    pub fn fd_num(&self) -> Option<i64> {
        let i = self.facts().fd_arg?;
        self.rec.arg(i).map(|v| v as i32 as i64)
    }

    /// The fd entry the event works on: the fd argument's entry, or the fd
    /// the event created or closed.
    pub fn fd(&self) -> Option<&'a FdEntry> {
        if let Some((_, e)) = &self.effect.fd {
            return Some(e);
        }
        let fd = self.fd_num()?;
        self.state.fd(self.rec.pid(), fd)
    }

    /// Bytes moved by a successful I/O syscall, with the direction.
    pub fn io(&self) -> Option<(IoDir, u64)> {
        let dir = self.facts().io?;
        let r = self.rec.ret();
        (r > 0).then_some((dir, r as u64))
    }

    /// The captured data buffer of an I/O syscall.
    pub fn buffer(&self) -> Option<&'a [u8]> {
        let idx = self.facts().buf_arg?;
        let p = self.rec.param(idx)?;
        (p.kind() == Some(ParamKind::Buf)).then_some(p.data)
    }

    /// Syscall latency in ns (needs entry times).
    pub fn latency(&self) -> Option<u64> {
        let e = self.rec.enter_ts()?;
        Some(self.rec.ts().saturating_sub(e))
    }

    /// The first path-like string param (the path of an open that failed).
    pub fn path(&self) -> Option<&'a [u8]> {
        self.rec
            .params()
            .find(|p| p.kind() == Some(ParamKind::Str))
            .map(|p| p.data)
    }

    /// `-errno` of a failed syscall.
    pub fn errno(&self) -> Option<i64> {
        let r = self.rec.ret();
        (self.rec.is_syscall() && (-4095..0).contains(&r)).then_some(-r)
    }
}

/// sysdig's `fd.type` name.
pub fn fd_type(e: &FdEntry) -> &'static str {
    match e.kind {
        FdKind::File | FdKind::Memfd => "file",
        FdKind::Directory => "directory",
        FdKind::Socket => match e.socket.as_ref().map(|s| s.family) {
            Some(2) => "ipv4",
            Some(10) => "ipv6",
            Some(1) => "unix",
            _ => "socket",
        },
        FdKind::Pipe => "pipe",
        FdKind::Event => "event",
        FdKind::Signal => "signalfd",
        FdKind::Timer => "timerfd",
        FdKind::Inotify => "inotify",
        FdKind::Epoll => "eventpoll",
        FdKind::Other => "unknown",
    }
}

/// sysdig's `fd.typechar`.
pub fn fd_typechar(e: &FdEntry) -> char {
    match fd_type(e) {
        "file" => 'f',
        "directory" => 'd',
        "ipv4" => '4',
        "ipv6" => '6',
        "unix" => 'u',
        "pipe" => 'p',
        "event" => 'e',
        "signalfd" => 's',
        "eventpoll" => 'l',
        "inotify" => 'i',
        "timerfd" => 't',
        _ => 'o',
    }
}

/// `fd.l4proto`.
pub fn l4proto(e: &FdEntry) -> &'static str {
    e.socket.as_ref().map_or("", |s| s.l4.name())
}

/// Whether the fd is an IP socket.
pub fn is_ip(e: &FdEntry) -> bool {
    matches!(fd_type(e), "ipv4" | "ipv6")
}

/// `(local, remote)` IP endpoints of a socket.
pub fn endpoints(e: &FdEntry) -> (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>) {
    let ip = |a: &Option<SockAddr>| match a {
        Some(SockAddr::Ip(s)) => Some(*s),
        _ => None,
    };
    e.socket
        .as_ref()
        .map_or((None, None), |s| (ip(&s.local), ip(&s.remote)))
}

/// sysdig's `fd.name` into `out`: the path; for IP sockets the tuple in
/// client-to-server order (`cip:cport->sip:sport`, as the `fd.name` filter
/// field), so both ends of a connection share one name; for unix sockets
/// the path of whichever end has one.
pub fn fd_name(e: &FdEntry, out: &mut String) {
    out.clear();
    if let Some(n) = fd_name_ref(e) {
        out.push_str(n);
        return;
    }
    let mut b = std::mem::take(out).into_bytes();
    crate::filter::fields::fd_display_name(e, &mut b);
    *out =
        String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

/// [`fd_name`] when it is a stored string (paths, unix socket paths), so
/// without copying; `None` when it is formatted (IP sockets).
pub fn fd_name_ref(e: &FdEntry) -> Option<&str> {
    fn unix(a: &Option<SockAddr>) -> Option<&str> {
        match a {
            Some(SockAddr::Unix(p)) => Some(p),
            _ => None,
        }
    }
    if let Some(s) = &e.socket {
        if let Some(p) = unix(&s.local).or(unix(&s.remote)) {
            return Some(p);
        }
        if e.kind == FdKind::Socket {
            return None;
        }
    }
    Some(&e.name)
}

/// Shell names for [`login_shell`] (as libsinsp's `proc.loginshellid`).
const SHELLS: &[&str] = &["sh", "bash", "zsh", "ksh", "csh", "tcsh", "dash", "fish"];

/// Most ancestors walked by [`login_shell`] (cycles in hostile state).
const MAX_ANCESTORS: usize = 256;

/// `proc.loginshellid`: the pid of the oldest shell among `p` and its
/// ancestors, as sysdig's `spy_users` and `list_login_shells` use it.
pub fn login_shell(st: &crate::state::State, p: &Process) -> Option<u32> {
    let name = |q: &Process| -> String {
        match st.thread(q.pid).filter(|t| !t.comm.is_empty()) {
            Some(t) => t.comm.to_string(),
            None => q.exepath.rsplit('/').next().unwrap_or("").to_string(),
        }
    };
    let mut found = SHELLS.contains(&name(p).as_str()).then_some(p.pid);
    let mut cur = p;
    for _ in 0..MAX_ANCESTORS {
        if cur.ppid == 0 || cur.ppid == cur.pid || cur.ppid == p.pid {
            break;
        }
        let Some(next) = st.process(cur.ppid) else {
            break;
        };
        if SHELLS.contains(&name(next).as_str()) {
            found = Some(next.pid);
        }
        cur = next;
    }
    found
}

/// `proc.exeline`-style command line: argv (argv[0] first) joined by spaces.
pub fn exeline(p: &Process) -> String {
    p.argv
        .iter()
        .map(|a| a.as_ref())
        .collect::<Vec<&str>>()
        .join(" ")
}
