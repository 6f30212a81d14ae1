//! sysdig-style argument text (`%evt.args`) for records: `res=` (or `fd=`)
//! first, then each argument as `name=value` under its sysdig name
//! ([`super::argnames::sysdig_arg_name`]; captured buffers as `data=`,
//! sockaddrs as `addr=`), with fds resolved to names, flags decoded, buffers
//! and strings escaped, sockaddrs decoded, and the special events (procfork,
//! procexec, procexit, drop) shown by field. How each syscall's arguments are
//! shown is planned once per table ([`super::plan`]).
//!
//! Everything captured comes from hostile processes: every byte reaches the
//! output through [`escape_bytes`], so no control character is ever printed raw.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::flags::{decode, errno_name, Decoder};
use super::meta::{ArgDesc, ArgKind, SyscallDesc};
use super::plan::{ArgPlan, How, SyscallPlan};
pub use super::text::{escape_bytes, format_sockaddr};
use super::text::{push_argv, push_hex, push_i64, push_pathcomp, push_u64};
use super::wire::{
    drop as wdrop, exec, exit, fork, Param, ParamKind, Record, CODE_DROP, CODE_EXEC, CODE_EXIT,
    CODE_FORK, F_COMPAT, F_TRUNCATED, F_UNFINISHED,
};

/// How captured I/O buffers are shown (sysdig `-A`, `-x`, `-X`, `-b`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BufFmt {
    /// Text with control characters and invalid UTF-8 escaped (default).
    #[default]
    Escaped,
    /// Printable ASCII only; every other byte as `.`.
    Ascii,
    /// Hex digits.
    Hex,
    /// Hex digits, then the printable-ASCII view.
    HexAscii,
    /// Base64.
    Base64,
}

/// Options for argument text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ArgOpts {
    /// Buffer rendering.
    pub buf: BufFmt,
    /// Show at most this many bytes of each buffer (`None`: all captured bytes).
    pub max_buf: Option<usize>,
}

/// Appends a captured I/O buffer as `opts` says. Never writes a control character.
pub fn push_buffer(data: &[u8], opts: &ArgOpts, out: &mut String) {
    let data = match opts.max_buf {
        Some(n) if data.len() > n => &data[..n],
        _ => data,
    };
    let ascii = |out: &mut String| {
        out.extend(data.iter().map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        }))
    };
    match opts.buf {
        BufFmt::Escaped => escape_bytes(data, out),
        BufFmt::Ascii => ascii(out),
        BufFmt::Hex => push_hex(data, out),
        BufFmt::HexAscii => {
            push_hex(data, out);
            out.push(' ');
            ascii(out);
        }
        BufFmt::Base64 => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD.encode_string(data, out);
        }
    }
}

/// Resolves a file descriptor of the record's process to its display name
/// (borrowed from the state when it can be: no allocation per fd argument).
pub type FdNames<'n> = dyn Fn(i64) -> Option<Cow<'n, str>> + 'n;

/// Which argument [`format_one_arg`] renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSel<'s> {
    /// By position as in `%evt.args`: 0 is the return value (`res`/`fd`),
    /// `n` the `n`-th syscall argument.
    Index(usize),
    /// By sysdig name (`flags`, `name`, `res`, `fd`, `data`, `addr`...).
    Name(&'s str),
}

/// Appends the value (without `name=`) of one syscall argument of `rec`, as
/// `%evt.args` shows it; false when the record has no such argument.
pub fn format_one_arg(
    rec: &Record<'_>,
    desc: Option<Described<'_>>,
    sel: ArgSel<'_>,
    out: &mut String,
    fd_name: &FdNames<'_>,
    opts: &ArgOpts,
) -> bool {
    let Some((desc, plan)) = desc.filter(|_| rec.is_syscall()) else {
        return false;
    };
    let ret_label = if plan.returns_fd { "fd" } else { "res" };
    let is_ret = match sel {
        ArgSel::Index(0) => true,
        ArgSel::Name(n) => n == ret_label || n == "res",
        ArgSel::Index(_) => false,
    };
    if is_ret {
        if rec.flags() & F_UNFINISHED != 0 {
            return false;
        }
        let ret = rec.ret();
        if ret_label == "fd" && ret >= 0 {
            push_fd(ret, out, fd_name);
        } else {
            push_ret(ret, out);
        }
        return true;
    }
    let mut args = desc.args.iter().zip(&plan.args).enumerate();
    let found = args.find(|(i, (d, p))| match sel {
        ArgSel::Index(n) => n == i + 1,
        ArgSel::Name(n) => {
            *p.label == *n
                || (n == "data" && matches!(d.kind, ArgKind::BufIn | ArgKind::BufOut))
                || (n == "addr" && matches!(d.kind, ArgKind::SockaddrIn | ArgKind::SockaddrOut))
        }
    });
    let Some((i, (d, p))) = found else {
        return false;
    };
    if rec.arg(i).is_none() {
        return false;
    }
    let start = out.len();
    push_arg(rec, i, d, p, out, start, fd_name, opts);
    // Drop the leading `label=`.
    if let Some(eq) = out[start..].find('=') {
        out.replace_range(start..start + eq + 1, "");
    }
    true
}

/// Appends ` ` unless at the start of the arguments.
fn sep(out: &mut String, start: usize) {
    if out.len() > start {
        out.push(' ');
    }
}

/// Appends `v` and, when it is an error, `(ENAME)`.
fn push_ret(v: i64, out: &mut String) {
    if (-4095..0).contains(&v) {
        push_i64(v, out);
        if let Some(n) = errno_name(v) {
            out.push('(');
            out.push_str(n);
            out.push(')');
        }
    } else if v >= 1 << 32 {
        let _ = write!(out, "{v:#x}");
    } else {
        push_i64(v, out);
    }
}

/// Appends `fd` and its resolved name, or `AT_FDCWD`.
fn push_fd(fd: i64, out: &mut String, fd_name: &FdNames<'_>) {
    push_i64(fd, out);
    if fd == i64::from(libc::AT_FDCWD) {
        out.push_str("(AT_FDCWD)");
    } else if let Some(name) = fd_name(fd) {
        out.push('(');
        escape_bytes(name.as_bytes(), out);
        out.push(')');
    }
}

/// Appends a pointer value (`NULL` or hex).
fn push_ptr(v: u64, out: &mut String) {
    let _ = if v == 0 {
        write!(out, "NULL")
    } else {
        write!(out, "{v:#x}")
    };
}

/// Appends a scalar of the given width and signedness (a compat record's
/// values are 32-bit).
fn push_scalar(wide: bool, signed: bool, v: u64, compat: bool, out: &mut String) {
    match (wide && !compat, signed) {
        (true, true) => push_i64(v as i64, out),
        (true, false) => push_u64(v, out),
        (false, true) => push_i64(i64::from(v as u32 as i32), out),
        (false, false) => push_u64(u64::from(v as u32), out),
    }
}

fn u64_le(d: &[u8], off: usize) -> Option<u64> {
    let s = d.get(off..off + 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Appends a captured fixed struct, decoded when its layout is known.
fn push_struct(desc: &ArgDesc, data: &[u8], out: &mut String) {
    let base = desc.ctype.trim_start_matches("const ");
    match (base, data.len()) {
        // pipe's fd pair may be followed by the pipe's inode (shown as fd.ino).
        ("int *", 8 | 16) => {
            let a = i32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            let b = i32::from_le_bytes([data[4], data[5], data[6], data[7]]);
            let _ = write!(out, "[{a},{b}]");
        }
        ("struct open_how *", n) if n >= 24 => {
            let f = |o| u64_le(data, o).unwrap_or(0);
            out.push_str("{flags=");
            decode(Decoder::OpenFlags, f(0), out);
            out.push_str(" mode=");
            decode(Decoder::Mode, f(8), out);
            out.push_str(" resolve=");
            decode(Decoder::ResolveFlags, f(16), out);
            out.push('}');
        }
        ("struct clone_args *", n) if n >= 64 => {
            let f = |o| u64_le(data, o).unwrap_or(0);
            out.push_str("{flags=");
            decode(Decoder::CloneFlags, f(0) & !0xff, out);
            out.push_str(" exit_signal=");
            decode(Decoder::Signal, f(32), out);
            out.push_str(" stack=");
            push_ptr(f(40), out);
            let _ = write!(out, " stack_size={}", f(48));
            out.push('}');
        }
        _ => push_hex(data, out),
    }
}

/// Appends one param's value by its wire kind.
fn push_param(p: &Param<'_>, desc: Option<&ArgDesc>, out: &mut String, opts: &ArgOpts) {
    match p.kind() {
        Some(ParamKind::Str) => escape_bytes(p.data, out),
        Some(ParamKind::Buf) => push_buffer(p.data, opts, out),
        Some(ParamKind::Sockaddr) => format_sockaddr(p.data, out),
        Some(ParamKind::Argv) => push_argv(p.data, out),
        Some(ParamKind::PathComp) => push_pathcomp(p.data, out),
        Some(ParamKind::Struct) => match desc {
            Some(d) => push_struct(d, p.data, out),
            None => push_hex(p.data, out),
        },
        None => push_hex(p.data, out),
    }
}

/// Appends `label=` and the param's value.
fn push_labeled(
    label: &str,
    p: &Param<'_>,
    desc: Option<&ArgDesc>,
    out: &mut String,
    start: usize,
    opts: &ArgOpts,
) {
    sep(out, start);
    out.push_str(label);
    out.push('=');
    push_param(p, desc, out, opts);
}

/// Appends one syscall argument as `name=value`.
#[allow(clippy::too_many_arguments)]
fn push_arg(
    rec: &Record<'_>,
    i: usize,
    d: &ArgDesc,
    plan: &ArgPlan,
    out: &mut String,
    start: usize,
    fd_name: &FdNames<'_>,
    opts: &ArgOpts,
) {
    let Some(v) = rec.arg(i) else { return };
    let compat = rec.flags() & F_COMPAT != 0;
    let idx = i as u8;
    let mut params = rec.params().filter(|p| p.idx == idx).peekable();
    match d.kind {
        ArgKind::BufIn
        | ArgKind::BufOut
        | ArgKind::IovecIn
        | ArgKind::IovecOut
        | ArgKind::MsghdrIn
        | ArgKind::MsghdrOut
        | ArgKind::SockaddrIn
        | ArgKind::SockaddrOut
            if params.peek().is_some() =>
        {
            let mut addrs = 0;
            for p in params {
                // A second address is the socket's own end (imported tuples).
                let label = match p.kind() {
                    Some(ParamKind::Sockaddr) => {
                        addrs += 1;
                        if addrs == 1 {
                            "addr"
                        } else {
                            "local"
                        }
                    }
                    _ => "data",
                };
                push_labeled(label, &p, Some(d), out, start, opts);
            }
            return;
        }
        ArgKind::Str | ArgKind::Argv | ArgKind::StructIn | ArgKind::StructOut
            if params.peek().is_some() =>
        {
            for p in params {
                push_labeled(&plan.label, &p, Some(d), out, start, opts);
            }
            return;
        }
        _ => {}
    }
    sep(out, start);
    out.push_str(&plan.label);
    out.push('=');
    match plan.how {
        How::Fd => push_fd(i64::from(v as u32 as i32), out, fd_name),
        How::Decode(dec) => decode(dec, v, out),
        How::Scalar { wide, signed } => push_scalar(wide, signed, v, compat, out),
        How::Ptr => push_ptr(v, out),
    }
}

/// Appends sysdig-style `%evt.args` text for `rec`.
///
/// `desc` is the record's syscall (from [`super::table::Syscalls::get`]);
/// without it the raw args are shown. `fd_name` resolves a file descriptor
/// of the record's process to a name (`/etc/passwd`, `127.0.0.1:1->...`).
pub fn format_args(
    rec: &Record<'_>,
    desc: Option<&SyscallDesc>,
    out: &mut String,
    fd_name: &FdNames<'_>,
) {
    let plan = desc.map(SyscallPlan::new);
    let described = desc.zip(plan.as_ref());
    format_args_with(rec, described, out, fd_name, &ArgOpts::default())
}

/// A syscall's descriptor with its display plan
/// ([`super::table::Syscalls::described`]).
pub type Described<'a> = (&'a SyscallDesc, &'a SyscallPlan);

/// [`format_args`] with buffer rendering options and a precomputed plan.
pub fn format_args_with(
    rec: &Record<'_>,
    desc: Option<Described<'_>>,
    out: &mut String,
    fd_name: &FdNames<'_>,
    opts: &ArgOpts,
) {
    let start = out.len();
    match rec.code() {
        CODE_FORK => format_fork(rec, out, start, opts),
        CODE_EXEC => format_exec(rec, out, start, opts),
        CODE_EXIT => format_exit(rec, out, start, opts),
        CODE_DROP => {
            let _ = write!(out, "count={}", rec.arg(wdrop::COUNT).unwrap_or(0));
            if let Some(ts) = rec.arg(wdrop::FIRST_TS) {
                let _ = write!(out, " first_ts={ts}");
            }
        }
        _ if rec.is_syscall() => format_syscall(rec, desc, out, start, fd_name, opts),
        _ => format_raw(rec, 0, out, start, opts),
    }
    if rec.flags() & F_TRUNCATED != 0 {
        sep(out, start);
        out.push_str("(truncated)");
    }
}

fn format_syscall(
    rec: &Record<'_>,
    desc: Option<Described<'_>>,
    out: &mut String,
    start: usize,
    fd_name: &FdNames<'_>,
    opts: &ArgOpts,
) {
    if rec.flags() & F_UNFINISHED != 0 {
        out.push_str("(unfinished)");
    } else if desc.is_some_and(|(_, p)| p.returns_fd) {
        out.push_str("fd=");
        let ret = rec.ret();
        if ret < 0 {
            push_ret(ret, out)
        } else {
            push_fd(ret, out, fd_name)
        }
    } else {
        out.push_str("res=");
        push_ret(rec.ret(), out);
    }
    let Some((desc, plan)) = desc else {
        format_raw(rec, 0, out, start, opts);
        return;
    };
    for (i, (d, p)) in desc.args.iter().zip(&plan.args).enumerate() {
        push_arg(rec, i, d, p, out, start, fd_name, opts);
    }
    format_raw(rec, desc.args.len(), out, start, opts);
}

/// Appends args and params from index `from` on as `argN=0x..` / `pN=...`.
fn format_raw(rec: &Record<'_>, from: usize, out: &mut String, start: usize, opts: &ArgOpts) {
    for i in from..rec.nargs() {
        sep(out, start);
        let _ = write!(out, "arg{i}=");
        push_ptr(rec.arg(i).unwrap_or(0), out);
    }
    for p in rec.params().filter(|p| p.idx as usize >= from) {
        sep(out, start);
        let _ = write!(out, "p{}=", p.idx);
        push_param(&p, None, out, opts);
    }
}

fn format_fork(rec: &Record<'_>, out: &mut String, start: usize, opts: &ArgOpts) {
    let a = |i| rec.arg(i).unwrap_or(0);
    let _ = write!(
        out,
        "child_tid={} child_pid={} flags=",
        a(fork::CHILD_TID),
        a(fork::CHILD_PID)
    );
    decode(Decoder::CloneFlags, a(fork::FLAGS), out);
    if rec.nargs() > fork::CHILD_VPID {
        let _ = write!(
            out,
            " child_vtid={} child_vpid={}",
            a(fork::CHILD_VTID),
            a(fork::CHILD_VPID)
        );
    }
    if let Some(p) = rec.param(fork::P_COMM) {
        push_labeled("comm", &p, None, out, start, opts);
    }
    format_raw(rec, fork::CHILD_VPID + 1, out, start, opts);
}

fn format_exec(rec: &Record<'_>, out: &mut String, start: usize, opts: &ArgOpts) {
    for (idx, label) in [
        (exec::P_FILENAME, "filename"),
        (exec::P_ARGV, "argv"),
        (exec::P_EXE, "exe"),
        (exec::P_CWD, "cwd"),
        (exec::P_COMM, "comm"),
        (exec::P_CGROUP, "cgroup"),
    ] {
        if let Some(p) = rec.param(idx) {
            push_labeled(label, &p, None, out, start, opts);
        }
    }
    let fields = [
        (exec::OLD_TID, "old_tid"),
        (exec::UID, "uid"),
        (exec::GID, "gid"),
        (exec::EUID, "euid"),
        (exec::EGID, "egid"),
        (exec::LOGINUID, "loginuid"),
        (exec::TTY, "tty"),
        (exec::SID, "sid"),
        (exec::PGID, "pgid"),
        (exec::VPID, "vpid"),
        (exec::PPID, "ppid"),
    ];
    for (i, label) in fields {
        if let Some(v) = rec.arg(i) {
            sep(out, start);
            // uids are u32 (loginuid u32::MAX = unset shows as -1 like sysdig).
            let _ = write!(out, "{label}={}", v as u32 as i32);
        }
    }
    if let Some(v) = rec.arg(exec::CAP_EFFECTIVE) {
        sep(out, start);
        let _ = write!(out, "cap_effective={v:#x}");
    }
    if let Some(v) = rec.arg(exec::EXE_FLAGS) {
        sep(out, start);
        out.push_str("exe_flags=");
        let names = [
            (exec::EXE_NO_LINKS, "NO_LINKS"),
            (exec::EXE_UPPER_LAYER, "UPPER_LAYER"),
            (exec::EXE_WRITABLE, "WRITABLE"),
        ];
        let flags_start = out.len();
        for (bit, n) in names {
            if v & bit != 0 {
                if out.len() > flags_start {
                    out.push('|');
                }
                out.push_str(n);
            }
        }
        if out.len() == flags_start {
            out.push('0');
        }
    }
    format_raw(rec, exec::NARGS, out, start, opts);
}

fn format_exit(rec: &Record<'_>, out: &mut String, start: usize, opts: &ArgOpts) {
    let status = rec.arg(exit::CODE).unwrap_or(0) as u32;
    let _ = write!(out, "status={status}");
    let sig = status & 0x7f;
    if sig == 0 {
        let _ = write!(out, " code={}", (status >> 8) & 0xff);
    } else {
        out.push_str(" sig=");
        decode(Decoder::Signal, u64::from(sig), out);
        if status & 0x80 != 0 {
            out.push_str(" core=1");
        }
    }
    if let Some(g) = rec.arg(exit::GROUP_DEAD) {
        let _ = write!(out, " group_dead={g}");
    }
    format_raw(rec, exit::GROUP_DEAD + 1, out, start, opts);
}

#[cfg(test)]
#[path = "display_tests.rs"]
mod tests;
