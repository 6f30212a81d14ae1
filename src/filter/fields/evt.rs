//! `evt.*` fields: number, times, type, direction, category, arguments,
//! return value, I/O and open classification; plus the per-code facts
//! ([`CodeInfo`]) computed once per capture.

use std::io::Write as _;

use chrono::Datelike;

use super::registry::ANY;
use super::{fd, EventCtx, Fid};
use crate::event::display::{format_args_with, format_one_arg, ArgSel, Described};
use crate::event::flags::errno_name;
use crate::event::meta::{ArgKind, SyscallDesc};
use crate::event::table::Syscalls;
use crate::event::wire::{ParamKind, CODE_DROP, CODE_EXEC, CODE_EXIT, CODE_FORK, F_UNFINISHED};
use crate::filter::{FieldInfo, ValueBuf};
use crate::state::FdKind;

/// Direction of an I/O syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IoDir {
    /// Not an I/O syscall.
    None,
    /// Reads from an fd.
    Read,
    /// Writes to an fd.
    Write,
}

/// How `evt.outputtime` shows time (`-t`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutTime {
    /// `h`: HH:MM:SS.nnnnnnnnn (UTC).
    #[default]
    Human,
    /// `a`: seconds.nanoseconds since the epoch.
    Absolute,
    /// `r`: seconds since the first event of the capture.
    Relative,
    /// `d`: syscall latency (entry to exit), when recorded.
    Latency,
    /// `D`: seconds since the previous event that passed the filter.
    Delta,
}

/// Facts about one event code, computed once per capture.
#[derive(Debug, Clone)]
pub struct CodeInfo {
    /// `evt.type`.
    pub name: Box<str>,
    /// Index of the syscall in the table, when known.
    pub desc: Option<u32>,
    /// Static category (`io_*` syscalls get theirs from the fd type),
    /// found on first use ([`CodeInfo::category`]).
    category: std::sync::OnceLock<&'static str>,
    /// I/O direction.
    pub io: IoDir,
    /// open/openat/openat2/creat/open_by_handle_at.
    pub open: bool,
    /// Index of the first plain fd argument.
    pub fd_arg: Option<u8>,
    /// Indices of the flags and mode args of an open.
    pub open_flags: Option<u8>,
    /// Index of the mode arg of an open.
    pub open_mode: Option<u8>,
    /// Index of the path argument of an open.
    pub open_path: Option<u8>,
    /// Index of the dirfd argument of an open.
    pub open_dirfd: Option<u8>,
}

impl CodeInfo {
    /// The code's static category (`io_*` syscalls get theirs from the fd
    /// type); matched by name prefix, so looked up only when asked for.
    pub fn category(&self) -> &'static str {
        self.category.get_or_init(|| category(&self.name))
    }
}

fn category(name: &str) -> &'static str {
    let has = |list: &[&str]| list.iter().any(|p| name.starts_with(p));
    if has(&[
        "clone", "fork", "vfork", "execve", "exit", "wait", "set", "get", "prctl", "ptrace",
        "capset", "unshare", "setns", "kcmp", "pidfd",
    ]) && !has(&[
        "setsockopt",
        "getsockopt",
        "getsockname",
        "getpeername",
        "gettimeofday",
        "getdents",
        "getcwd",
        "getxattr",
        "setxattr",
        "getrandom",
    ]) {
        "process"
    } else if has(&[
        "socket",
        "connect",
        "accept",
        "bind",
        "listen",
        "getsockopt",
        "setsockopt",
        "getsockname",
        "getpeername",
        "shutdown",
    ]) {
        "net"
    } else if has(&[
        "mmap",
        "munmap",
        "mprotect",
        "brk",
        "mremap",
        "madvise",
        "mlock",
        "munlock",
        "msync",
        "mincore",
        "membarrier",
        "process_vm",
    ]) {
        "memory"
    } else if has(&["nanosleep", "clock_nanosleep", "pause", "sched_yield"]) {
        "sleep"
    } else if has(&[
        "kill",
        "tkill",
        "tgkill",
        "rt_sig",
        "sigaltstack",
        "signalfd",
    ]) {
        "signal"
    } else if has(&["clock_", "gettimeofday", "time", "adjtimex", "settimeofday"]) {
        "time"
    } else if has(&[
        "poll",
        "ppoll",
        "select",
        "pselect",
        "epoll_wait",
        "epoll_pwait",
    ]) {
        "wait"
    } else if has(&["pipe", "futex", "sem", "msg", "shm", "eventfd", "mq_"]) {
        "ipc"
    } else if has(&[
        "open",
        "creat",
        "close",
        "stat",
        "lstat",
        "fstat",
        "newfstat",
        "statx",
        "access",
        "faccess",
        "mkdir",
        "rmdir",
        "unlink",
        "rename",
        "link",
        "symlink",
        "readlink",
        "chmod",
        "fchmod",
        "chown",
        "fchown",
        "lchown",
        "lseek",
        "fcntl",
        "dup",
        "truncate",
        "ftruncate",
        "getdents",
        "chdir",
        "fchdir",
        "chroot",
        "mount",
        "umount",
        "mknod",
        "utime",
        "inotify",
        "fanotify",
        "flock",
        "fsync",
        "fdatasync",
        "sync",
        "getcwd",
        "statfs",
        "fstatfs",
        "xattr",
        "getxattr",
        "setxattr",
        "memfd",
        "ioctl",
        "fallocate",
        "copy_file_range",
        "splice",
        "tee",
        "sendfile",
    ]) {
        "file"
    } else {
        "system"
    }
}

fn io_dir(name: &str) -> IoDir {
    match name {
        "read" | "readv" | "pread64" | "preadv" | "preadv2" | "recvfrom" | "recvmsg"
        | "recvmmsg" | "recv" => IoDir::Read,
        "write" | "writev" | "pwrite64" | "pwritev" | "pwritev2" | "sendto" | "sendmsg"
        | "sendmmsg" | "send" | "sendfile" | "sendfile64" => IoDir::Write,
        _ => IoDir::None,
    }
}

fn info_for(name: Box<str>, desc: Option<(u32, &SyscallDesc)>) -> CodeInfo {
    let n: &str = &name;
    let find = |pred: &dyn Fn(&crate::event::meta::ArgDesc) -> bool| -> Option<u8> {
        desc?.1.args.iter().position(pred).map(|i| i as u8)
    };
    let open = matches!(
        n,
        "open" | "openat" | "openat2" | "creat" | "open_by_handle_at"
    );
    CodeInfo {
        category: std::sync::OnceLock::new(),
        io: io_dir(n),
        open,
        fd_arg: find(&|a| a.kind == ArgKind::Fd),
        open_flags: if open {
            find(&|a| a.name == "flags" || a.name == "how")
        } else {
            None
        },
        open_mode: if open {
            find(&|a| a.name == "mode")
        } else {
            None
        },
        open_path: if open {
            find(&|a| a.kind == ArgKind::Str)
        } else {
            None
        },
        open_dirfd: if open {
            find(&|a| a.kind == ArgKind::Dirfd)
        } else {
            None
        },
        desc: desc.map(|d| d.0),
        name,
    }
}

/// Whether events of `code` can have an fd (`fd.*` fields): an open's
/// return value or a plain fd argument ([`CodeInfo::open`],
/// [`CodeInfo::fd_arg`]); else every `fd.*` field of theirs has no value,
/// unless the state reports one for them (not for a code it ignores).
pub fn code_has_fd(table: &Syscalls, code: u16) -> bool {
    let info = info_for(
        table.name(code).into(),
        table.index_of(code).zip(table.get(code)),
    );
    info.open || info.fd_arg.is_some()
}

/// Per-code facts for every event code of `table`.
pub(super) fn code_table(table: &Syscalls) -> Vec<CodeInfo> {
    (0..=CODE_DROP + 1)
        .map(|code| {
            let desc = table.index_of(code).zip(table.get(code));
            let name: Box<str> = if code > CODE_DROP {
                "unknown".into()
            } else {
                table.name(code).into()
            };
            info_for(name, desc)
        })
        .collect()
}

impl<'a> EventCtx<'a> {
    /// The syscall description of this event.
    pub fn desc(&self) -> Option<&'a SyscallDesc> {
        let i = self.code().desc?;
        let table: &'a Syscalls = self.table;
        table.table().syscalls.get(i as usize)
    }

    /// The syscall description of this event with its display plan.
    fn described(&self) -> Option<Described<'a>> {
        let i = self.code().desc?;
        let table: &'a Syscalls = self.table;
        table.described(i as usize)
    }
}

/// Writes `ns since the epoch` in one of the UTC text forms.
fn push_time(ns: i64, date: bool, frac: bool, iso: bool, out: &mut ValueBuf) {
    out.push_with(|b| {
        let secs = ns.div_euclid(1_000_000_000);
        let nanos = ns.rem_euclid(1_000_000_000) as u32;
        if date || iso {
            let Some(t) = chrono::DateTime::from_timestamp(secs, nanos) else {
                return write!(b, "@{ns}").is_ok();
            };
            let sep = if iso { 'T' } else { ' ' };
            let _ = write!(b, "{:04}-{:02}-{:02}{sep}", t.year(), t.month(), t.day());
        }
        let (c, n) = clock(secs, nanos, frac);
        b.extend_from_slice(&c[..n]);
        if iso {
            b.extend_from_slice(b"+0000");
        }
        true
    });
}

/// `evt.dir` of a record with `code`.
pub(super) fn dir(code: u16) -> &'static str {
    match code {
        CODE_EXIT | CODE_DROP => ">",
        _ => "<",
    }
}

/// `HH:MM:SS`, then `.nnnnnnnnn` if `frac`, of UTC time `secs` + `nanos`
/// (below 10^9): the bytes and how many are used. The time of day needs no
/// calendar (UTC has no leap seconds here).
fn clock(secs: i64, nanos: u32, frac: bool) -> ([u8; 18], usize) {
    // Two digits at a time from a table, the halves of the nanoseconds
    // apart: few dependent divisions on the hot path of `saker read`.
    let put2 = |c: &mut [u8], v: u32| {
        let i = 2 * (v % 100) as usize;
        c[..2].copy_from_slice(&DIGIT_PAIRS[i..i + 2]);
    };
    let day = secs.rem_euclid(86_400) as u32;
    let mut c = *b"00:00:00.000000000";
    put2(&mut c[0..], day / 3600);
    put2(&mut c[3..], day / 60 % 60);
    put2(&mut c[6..], day % 60);
    if !frac {
        return (c, 8);
    }
    let (hi, lo) = (nanos / 100_000 % 10_000, nanos % 100_000);
    put2(&mut c[9..], hi / 100);
    put2(&mut c[11..], hi % 100);
    c[13] = b'0' + (lo / 10_000) as u8;
    put2(&mut c[14..], lo / 100 % 100);
    put2(&mut c[16..], lo % 100);
    (c, 18)
}

/// `00010203...99`: the two digits of `v` are `[2 * v..2 * v + 2]`.
static DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut v = 0;
    while v < 100 {
        t[2 * v] = b'0' + (v / 10) as u8;
        t[2 * v + 1] = b'0' + (v % 10) as u8;
        v += 1;
    }
    t
};

/// Appends `evt.time` of the record at `epoch` ns (the `-t h` `evt.outputtime`)
/// as text, as [`value`] and a template's printing of it would.
pub(super) fn write_time(epoch: i64, out: &mut String) {
    let (c, n) = clock(
        epoch.div_euclid(1_000_000_000),
        epoch.rem_euclid(1_000_000_000) as u32,
        true,
    );
    debug_assert!(c.is_ascii());
    // SAFETY: `clock` writes ASCII digits over an ASCII template, so the
    // bytes are UTF-8 (checking them again cost 2% of `saker read`'s
    // printing).
    out.push_str(unsafe { std::str::from_utf8_unchecked(&c[..n]) });
}

/// Appends `v` in decimal, zero padded to at least `width` digits.
fn digits(b: &mut Vec<u8>, v: u64, width: usize) {
    let mut buf = itoa::Buffer::new();
    let d = buf.format(v);
    b.resize(b.len() + width.saturating_sub(d.len()), b'0');
    b.extend_from_slice(d.as_bytes());
}

fn push_secs(ns: i128, out: &mut ValueBuf) {
    out.push_with(|b| {
        if ns < 0 {
            b.push(b'-');
        }
        let a = ns.unsigned_abs();
        match u64::try_from(a / 1_000_000_000) {
            Ok(s) => digits(b, s, 1),
            Err(_) => return write!(b, "{}", a / 1_000_000_000).is_ok(),
        }
        b.push(b'.');
        digits(b, (a % 1_000_000_000) as u64, 9);
        true
    });
}

fn push_human_dur(ns: u64, out: &mut ValueBuf) {
    out.push_with(|b| {
        let f = ns as f64;
        if ns < 1_000 {
            write!(b, "{ns}ns").is_ok()
        } else if ns < 1_000_000 {
            write!(b, "{:.1}us", f / 1e3).is_ok()
        } else if ns < 1_000_000_000 {
            write!(b, "{:.1}ms", f / 1e6).is_ok()
        } else {
            write!(b, "{:.2}s", f / 1e9).is_ok()
        }
    });
}

impl EventCtx<'_> {
    fn latency(&self) -> Option<u64> {
        let e = self.rec.enter_ts()?;
        Some(self.rec.ts().saturating_sub(e))
    }

    /// Open flags of an open-family event (`creat`: `O_CREAT|O_WRONLY|O_TRUNC`).
    pub(super) fn open_flags(&self) -> Option<u64> {
        let c = self.code();
        if !c.open {
            return None;
        }
        if &*c.name == "creat" {
            return Some(0o1101);
        }
        let i = c.open_flags?;
        if &*c.name == "openat2" {
            let p = self.rec.param(i)?;
            let b: [u8; 8] = p.data.get(..8)?.try_into().ok()?;
            return Some(u64::from_le_bytes(b));
        }
        self.rec.arg(usize::from(i))
    }

    fn open_mode(&self) -> Option<u64> {
        let c = self.code();
        if &*c.name == "openat2" {
            let p = self.rec.param(c.open_flags?)?;
            let b: [u8; 8] = p.data.get(8..16)?.try_into().ok()?;
            return Some(u64::from_le_bytes(b));
        }
        self.rec.arg(usize::from(c.open_mode?))
    }

    /// Renders `evt.args` into the scratch string and pushes it.
    fn push_args(&mut self, out: &mut ValueBuf) {
        let mut text = std::mem::take(self.scratch);
        text.clear();
        self.write_args(&mut text);
        out.push_str(&text);
        *self.scratch = text;
    }

    /// Appends `evt.args` display text (escaped) to `out`.
    pub(super) fn write_args(&self, out: &mut String) {
        let desc = self.described();
        let (state, pid, effect) = (self.state, self.rec.pid(), self.effect);
        let resolve = |n: i64| fd::name_for(state, effect, pid, n);
        format_args_with(&self.rec, desc, out, &resolve, &self.env.arg_opts);
    }

    fn push_arg(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
        let sel = match (&f.arg, f.aux) {
            (Some(a), ANY) => ArgSel::Name(&a.value),
            (_, n) => ArgSel::Index(n as usize),
        };
        let desc = self.described();
        let (state, pid, effect) = (self.state, self.rec.pid(), self.effect);
        let resolve = |n: i64| fd::name_for(state, effect, pid, n);
        self.scratch.clear();
        if !format_one_arg(
            &self.rec,
            desc,
            sel,
            self.scratch,
            &resolve,
            &self.env.arg_opts,
        ) {
            return false;
        }
        out.push_str(self.scratch);
        true
    }

    fn push_rawarg(&self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
        let Some(desc) = self.desc() else {
            return false;
        };
        let idx = match (&f.arg, f.aux) {
            (Some(a), ANY) => {
                if a.value == "res" || a.value == "fd" {
                    out.push_i64(self.rec.ret());
                    return true;
                }
                let Some(i) = desc.args.iter().position(|d| {
                    crate::event::argnames::sysdig_arg_name(&desc.name, &d.name) == a.value
                }) else {
                    return false;
                };
                i
            }
            (_, 0) => {
                out.push_i64(self.rec.ret());
                return true;
            }
            (_, n) => n as usize - 1,
        };
        match self.rec.arg(idx) {
            Some(v) => {
                out.push_i64(v as i64);
                true
            }
            None => false,
        }
    }

    fn buffer(&self) -> Option<&[u8]> {
        if self.code().io == IoDir::None {
            return None;
        }
        self.rec
            .params()
            .find(|p| p.kind() == Some(ParamKind::Buf))
            .map(|p| p.data)
    }

    fn push_category(&mut self, out: &mut ValueBuf) {
        let c = self.code();
        let cat = match c.io {
            IoDir::None => match self.rec.code() {
                CODE_FORK | CODE_EXEC | CODE_EXIT => "process",
                CODE_DROP => "internal",
                _ => c.category(),
            },
            dir => match fd::event_fd(self)
                .entry()
                .map(|e| (e.kind, e.socket.as_ref()))
            {
                Some((FdKind::Socket, Some(s))) if s.family == crate::state::sockaddr::AF_UNIX => {
                    "ipc"
                }
                Some((FdKind::Socket, _)) => "net",
                Some((FdKind::Pipe, _)) => "ipc",
                Some((FdKind::File | FdKind::Directory | FdKind::Memfd, _)) => "file",
                _ if dir == IoDir::Read => "io_read",
                _ => "io_write",
            },
        };
        out.push_str(cat);
    }
}

/// Extracts an `evt.*` field.
pub(super) fn value(cx: &mut EventCtx<'_>, id: Fid, f: &FieldInfo, out: &mut ValueBuf) -> bool {
    let rec = cx.rec;
    let sys = cx.is_syscall() && rec.flags() & F_UNFINISHED == 0;
    let ts = rec.ts();
    let epoch = cx.env.epoch(ts);
    match id {
        Fid::EvtNum => out.push_u64(cx.num + 1),
        Fid::EvtTime => push_time(epoch, false, true, false, out),
        Fid::EvtTimeS => push_time(epoch, false, false, false, out),
        Fid::EvtTimeIso => push_time(epoch, true, true, true, out),
        Fid::EvtDatetime => push_time(epoch, true, true, false, out),
        Fid::EvtDatetimeS => push_time(epoch, true, false, false, out),
        Fid::EvtRawtime => out.push_i64(epoch),
        Fid::EvtRawtimeS => out.push_i64(epoch.div_euclid(1_000_000_000)),
        Fid::EvtRawtimeNs => out.push_i64(epoch.rem_euclid(1_000_000_000)),
        Fid::EvtReltime => out.push_u64(ts.saturating_sub(cx.env.first_ts)),
        Fid::EvtReltimeS => out.push_u64(ts.saturating_sub(cx.env.first_ts) / 1_000_000_000),
        Fid::EvtReltimeNs => out.push_u64(ts.saturating_sub(cx.env.first_ts) % 1_000_000_000),
        Fid::EvtLatency | Fid::EvtLatencyS | Fid::EvtLatencyNs | Fid::EvtLatencyHuman => {
            let Some(l) = cx.latency() else { return false };
            match id {
                Fid::EvtLatency => out.push_u64(l),
                Fid::EvtLatencyS => out.push_u64(l / 1_000_000_000),
                Fid::EvtLatencyNs => out.push_u64(l % 1_000_000_000),
                _ => push_human_dur(l, out),
            }
        }
        Fid::EvtOutputtime => match cx.env.out_time {
            OutTime::Human => push_time(epoch, false, true, false, out),
            OutTime::Absolute => push_secs(i128::from(epoch), out),
            // As sysdig: from the capture's first event, and from the previous event
            // that passed the filter (the first event's time before any did).
            OutTime::Relative => push_secs(i128::from(ts) - i128::from(cx.env.first_ts), out),
            OutTime::Delta => push_secs(
                i128::from(ts) - i128::from(cx.shown.prev.unwrap_or(cx.env.first_ts)),
                out,
            ),
            OutTime::Latency => push_secs(i128::from(cx.latency().unwrap_or(0)), out),
        },
        Fid::EvtDir => out.push_str(dir(rec.code())),
        Fid::EvtType => out.push_str(&cx.code().name),
        Fid::SyscallType => {
            if !cx.is_syscall() {
                return false;
            }
            out.push_str(&cx.code().name)
        }
        Fid::EvtCategory => cx.push_category(out),
        Fid::EvtCpu => out.push_i64(i64::from(rec.cpu())),
        Fid::EvtArgs | Fid::EvtInfo => cx.push_args(out),
        Fid::EvtArg => return cx.push_arg(f, out),
        Fid::EvtRawarg => return cx.push_rawarg(f, out),
        Fid::EvtBuffer => {
            let Some(b) = cx.buffer() else { return false };
            out.push_bytes(b);
        }
        Fid::EvtBuflen => {
            if cx.code().io == IoDir::None || !sys || rec.ret() < 0 {
                return false;
            }
            out.push_u64(rec.ret() as u64);
        }
        Fid::EvtRes => {
            if !sys {
                return false;
            }
            let r = rec.ret();
            if r >= 0 {
                out.push_str("SUCCESS");
            } else if let Some(n) = errno_name(r) {
                out.push_str(n);
            } else {
                out.push_with(|b| write!(b, "{r}").is_ok());
            }
        }
        Fid::EvtRawres => {
            if !sys {
                return false;
            }
            out.push_i64(rec.ret());
        }
        Fid::EvtFailed | Fid::EvtCountError => {
            if !sys {
                return false;
            }
            let failed = rec.ret() < 0;
            if id == Fid::EvtFailed {
                out.push_bool(failed);
            } else {
                out.push_u64(u64::from(failed));
            }
        }
        Fid::EvtIsIo => out.push_bool(cx.code().io != IoDir::None),
        Fid::EvtIsIoRead => out.push_bool(cx.code().io == IoDir::Read),
        Fid::EvtIsIoWrite => out.push_bool(cx.code().io == IoDir::Write),
        Fid::EvtIoDir => match cx.code().io {
            IoDir::Read => out.push_str("r"),
            IoDir::Write => out.push_str("w"),
            IoDir::None => return false,
        },
        Fid::EvtIsOpenRead | Fid::EvtIsOpenWrite | Fid::EvtIsOpenExec | Fid::EvtIsOpenCreate => {
            let flags = cx.open_flags();
            let acc = flags.map_or(3, |f| f & 3);
            let creat = flags.is_some_and(|f| f & 0o100 != 0);
            let v = match id {
                Fid::EvtIsOpenRead => flags.is_some() && (acc == 0 || acc == 2),
                Fid::EvtIsOpenWrite => flags.is_some() && (acc == 1 || acc == 2),
                Fid::EvtIsOpenExec => creat && cx.open_mode().is_some_and(|m| m & 0o111 != 0),
                _ => creat && rec.ret() >= 0,
            };
            out.push_bool(v);
        }
        Fid::EvtCount => out.push_u64(1),
        Fid::EvtCountExit => out.push_u64(u64::from(cx.is_syscall())),
        Fid::EvtHostname => out.push_str(&cx.env.hostname),
        Fid::EvtSource => out.push_str("syscall"),
        Fid::EvtIsAsync => out.push_bool(false),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    /// `clock` agrees with chrono's `%H:%M:%S%.9f` and `%H:%M:%S`, before
    /// the epoch too.
    #[test]
    fn clock_is_the_time_of_day() {
        let mut ns: i64 = -86_400_000_000_123;
        while ns < 200_000_000_000_000 {
            let (secs, nanos) = (
                ns.div_euclid(1_000_000_000),
                ns.rem_euclid(1_000_000_000) as u32,
            );
            let t = chrono::DateTime::from_timestamp(secs, nanos).expect("in range");
            let (c, n) = super::clock(secs, nanos, true);
            assert_eq!(
                &c[..n],
                t.format("%H:%M:%S%.9f").to_string().as_bytes(),
                "{ns}"
            );
            let (c, n) = super::clock(secs, nanos, false);
            assert_eq!(&c[..n], t.format("%H:%M:%S").to_string().as_bytes(), "{ns}");
            ns += 7_777_777_777_777 / 1_000 + 12_345;
        }
    }
}
