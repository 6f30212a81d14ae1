//! `fd.*` fields: the file descriptor an event works on: the fd it created
//! or closed (from the state's [`Effect`]), else its fd argument looked up in
//! the state, else for a failed open the path it tried.

use std::borrow::Cow;
use std::io::Write as _;
use std::net::SocketAddr;

use super::{fs, EventCtx, Fid};
use crate::filter::ValueBuf;
use crate::state::sockaddr::{AF_INET, AF_INET6, AF_NETLINK, AF_UNIX};
use crate::state::{Effect, FdEntry, FdKind, L4Proto, Role, SockAddr, SockInfo, State};

/// The fd of an event.
#[derive(Debug, Clone, Copy)]
pub(super) enum EvFd<'a> {
    /// A known entry.
    Entry(i64, &'a FdEntry),
    /// A failed open: no fd, but the path is in the record.
    FailedOpen,
    /// An fd number without a known entry.
    Num(i64),
    /// The event works on no fd.
    None,
}

impl<'a> EvFd<'a> {
    /// The entry, when known.
    pub(super) fn entry(&self) -> Option<&'a FdEntry> {
        match self {
            EvFd::Entry(_, e) => Some(e),
            _ => None,
        }
    }
}

/// Finds the fd of the event in `cx`.
pub(super) fn event_fd<'a>(cx: &mut EventCtx<'a>) -> EvFd<'a> {
    let effect: &'a Effect = cx.effect;
    if let Some((n, e)) = &effect.fd {
        return EvFd::Entry(i64::from(*n), e);
    }
    let c = cx.code();
    let (state, pid, rec) = (cx.state, cx.rec.pid(), cx.rec);
    let lookup = |n: i64| match state.fd(pid, n) {
        Some(e) => EvFd::Entry(n, e),
        None => EvFd::Num(n),
    };
    if c.open {
        return if rec.ret() < 0 {
            EvFd::FailedOpen
        } else {
            lookup(rec.ret())
        };
    }
    match c.fd_arg.and_then(|i| rec.arg(usize::from(i))) {
        Some(v) => lookup(i64::from(v as u32 as i32)),
        None => EvFd::None,
    }
}

/// Display name of fd `n` of process `pid` after an event with `effect`
/// (used for `fd=3(/etc/passwd)` in `evt.args`).
pub(super) fn name_for<'a>(
    state: &'a State,
    effect: &'a Effect,
    pid: u32,
    n: i64,
) -> Option<Cow<'a, str>> {
    let e = match &effect.fd {
        Some((f, e)) if i64::from(*f) == n => e,
        _ => state.fd(pid, n)?,
    };
    if e.kind != FdKind::Socket || e.socket.is_none() {
        // fd_display_name would copy the name as is.
        return (!e.name.is_empty()).then(|| Cow::Borrowed(&*e.name));
    }
    let mut b = Vec::new();
    fd_display_name(e, &mut b);
    (!b.is_empty()).then(|| Cow::Owned(String::from_utf8_lossy(&b).into_owned()))
}

fn push_addr(a: &SockAddr, out: &mut Vec<u8>) {
    match a {
        SockAddr::Ip(sa) => {
            let _ = write!(out, "{}:{}", sa.ip(), sa.port());
        }
        SockAddr::Unix(p) => out.extend_from_slice(p.as_bytes()),
        SockAddr::Other { family } => {
            let _ = write!(out, "family:{family}");
        }
    }
}

/// Client and server ends of a socket, by its role.
fn client_server(s: &SockInfo) -> (Option<&SockAddr>, Option<&SockAddr>) {
    match s.role {
        Role::Server => (s.remote.as_ref(), s.local.as_ref()),
        _ => (s.local.as_ref(), s.remote.as_ref()),
    }
}

/// Appends the name of an fd entry: its path, or for sockets the tuple
/// `cip:cport->sip:sport` (one end when only one is known).
pub fn fd_display_name(e: &FdEntry, out: &mut Vec<u8>) {
    let Some(s) = e.socket.as_ref().filter(|_| e.kind == FdKind::Socket) else {
        out.extend_from_slice(e.name.as_bytes());
        return;
    };
    match client_server(s) {
        (Some(c), Some(sv)) => {
            push_addr(c, out);
            out.extend_from_slice(b"->");
            push_addr(sv, out);
        }
        (Some(a), None) | (None, Some(a)) => push_addr(a, out),
        (None, None) => out.extend_from_slice(e.name.as_bytes()),
    }
}

/// `fd.type` of an entry.
pub fn fd_type_name(e: &FdEntry) -> &'static str {
    match e.kind {
        FdKind::File => "file",
        FdKind::Directory => "directory",
        FdKind::Socket => match e.socket.as_ref().map_or(0, |s| s.family) {
            AF_INET => "ipv4",
            AF_INET6 => "ipv6",
            AF_UNIX => "unix",
            AF_NETLINK => "netlink",
            _ => "socket",
        },
        FdKind::Pipe => "pipe",
        FdKind::Event => "event",
        FdKind::Signal => "signalfd",
        FdKind::Timer => "timerfd",
        FdKind::Inotify => "inotify",
        FdKind::Epoll => "eventpoll",
        FdKind::Memfd => "memfd",
        FdKind::Other => {
            let n = &*e.name;
            if n.contains("pidfd") {
                "pidfd"
            } else if n.contains("bpf") {
                "bpf"
            } else if n.contains("userfaultfd") {
                "userfaultfd"
            } else if n.contains("io_uring") {
                "io_uring"
            } else {
                "unknown"
            }
        }
    }
}

/// `fd.typechar` of an entry.
pub fn fd_typechar(e: &FdEntry) -> &'static str {
    match fd_type_name(e) {
        "file" => "f",
        "directory" => "d",
        "ipv4" => "4",
        "ipv6" => "6",
        "unix" | "userfaultfd" => "u",
        "pipe" => "p",
        "event" => "e",
        "signalfd" => "s",
        "eventpoll" => "l",
        "inotify" => "i",
        "timerfd" => "t",
        "netlink" => "n",
        "memfd" => "m",
        "bpf" => "b",
        "io_uring" => "r",
        "pidfd" => "P",
        _ => "o",
    }
}

fn ip_of(a: Option<&SockAddr>) -> Option<SocketAddr> {
    match a? {
        SockAddr::Ip(sa) => Some(*sa),
        _ => None,
    }
}

fn dirname(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => p,
    }
}

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// Extracts an `fd.*` field.
pub(super) fn value(cx: &mut EventCtx<'_>, id: Fid, out: &mut ValueBuf) -> bool {
    let fd = event_fd(cx);
    let e = match fd {
        EvFd::Entry(_, e) => e,
        EvFd::FailedOpen => return failed_open(cx, id, out),
        EvFd::Num(n) if id == Fid::FdNum => {
            out.push_i64(n);
            return true;
        }
        EvFd::Num(_) | EvFd::None => return false,
    };
    let sock = e.socket.as_ref().filter(|_| e.kind == FdKind::Socket);
    let (local, remote) = sock.map_or((None, None), |s| (s.local.as_ref(), s.remote.as_ref()));
    let (client, server) = sock.map_or((None, None), |s| client_server(s));
    let ip = |a: Option<&SockAddr>, out: &mut ValueBuf| match ip_of(a) {
        Some(sa) => {
            out.push_ip(sa.ip());
            true
        }
        None => false,
    };
    let port = |a: Option<&SockAddr>, out: &mut ValueBuf| match ip_of(a) {
        Some(sa) => {
            out.push_u64(u64::from(sa.port()));
            true
        }
        None => false,
    };
    match id {
        Fid::FdNum => out.push_i64(match fd {
            EvFd::Entry(n, _) => n,
            _ => -1,
        }),
        Fid::FdType => out.push_str(fd_type_name(e)),
        Fid::FdTypechar => out.push_str(fd_typechar(e)),
        Fid::FdName => {
            out.push_with(|b| {
                fd_display_name(e, b);
                true
            });
        }
        Fid::FdNameraw => {
            if cx.code().open {
                if let Some(i) = cx.code().open_path {
                    return fs::push_path(cx, i, None, false, out);
                }
            }
            out.push_with(|b| {
                fd_display_name(e, b);
                true
            });
        }
        Fid::FdDirectory => match e.kind {
            FdKind::File | FdKind::Memfd => out.push_str(dirname(&e.name)),
            FdKind::Directory => out.push_str(&e.name),
            _ => return false,
        },
        Fid::FdFilename => match e.kind {
            FdKind::File | FdKind::Memfd => out.push_str(basename(&e.name)),
            _ => return false,
        },
        Fid::FdIp | Fid::FdNet => {
            let a = ip(client, out);
            let b = ip(server, out);
            return a || b;
        }
        Fid::FdCip | Fid::FdCnet => return ip(client, out),
        Fid::FdSip | Fid::FdSnet => return ip(server, out),
        Fid::FdLip | Fid::FdLnet => return ip(local, out),
        Fid::FdRip | Fid::FdRnet => return ip(remote, out),
        Fid::FdPort => {
            let a = port(client, out);
            let b = port(server, out);
            return a || b;
        }
        Fid::FdCport => return port(client, out),
        Fid::FdSport => return port(server, out),
        Fid::FdLport => return port(local, out),
        Fid::FdRport => return port(remote, out),
        Fid::FdL4proto => {
            let Some(s) = sock.filter(|s| s.l4 != L4Proto::Unknown) else {
                return false;
            };
            out.push_str(s.l4.name());
        }
        Fid::FdSockfamily => {
            let Some(s) = sock else { return false };
            out.push_str(match s.family {
                AF_INET | AF_INET6 => "ip",
                AF_UNIX => "unix",
                _ => return false,
            });
        }
        Fid::FdIsServer => {
            let Some(s) = sock else { return false };
            out.push_bool(s.role == Role::Server);
        }
        Fid::FdConnected => {
            let Some(s) = sock else { return false };
            out.push_bool(s.remote.is_some());
        }
        Fid::FdNameChanged => {
            let changes = matches!(
                &*cx.code().name,
                "connect" | "bind" | "sendto" | "sendmsg" | "recvfrom" | "recvmsg"
            );
            out.push_bool(changes && cx.effect.fd.is_some() && cx.rec.ret() >= 0);
        }
        Fid::FdIno => {
            if e.ino == 0 {
                return false;
            }
            out.push_i64(e.ino as i64);
        }
        _ => return false,
    }
    true
}

/// fd fields of a failed open: the number is -1, names come from the path.
fn failed_open(cx: &mut EventCtx<'_>, id: Fid, out: &mut ValueBuf) -> bool {
    let c = cx.code();
    let Some(path) = c.open_path else {
        return false;
    };
    match id {
        Fid::FdNum => {
            out.push_i64(-1);
            true
        }
        Fid::FdName => fs::push_path(cx, path, c.open_dirfd, true, out),
        Fid::FdNameraw => fs::push_path(cx, path, None, false, out),
        Fid::FdDirectory | Fid::FdFilename => {
            let mut tmp = ValueBuf::default();
            if !fs::push_path(cx, path, c.open_dirfd, true, &mut tmp) {
                return false;
            }
            let Some(crate::filter::Value::Str(p)) = tmp.get(0) else {
                return false;
            };
            let p = String::from_utf8_lossy(p);
            out.push_str(if id == Fid::FdDirectory {
                dirname(&p)
            } else {
                basename(&p)
            });
            true
        }
        _ => false,
    }
}
