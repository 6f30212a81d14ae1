//! Decoding of flag and enum arguments for display, sysdig style
//! (`O_RDONLY|O_CLOEXEC`, `AF_INET`, `SIGKILL`, `0644`), and errno names.
//!
//! [`decoder_for`] picks a [`Decoder`] from the syscall and argument names
//! (generic over the kernel's naming: `flags`, `mode`, `prot`, `sig`,
//! `whence`, ...); [`decode`] appends the text. Values come from the `libc`
//! crate; the few kernel constants `libc` lacks are named here with their
//! kernel header.

use std::fmt::Write as _;

/// How to show a flag or enum argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Decoder {
    /// `open` flags: access mode plus `O_*` bits.
    OpenFlags,
    /// `O_CLOEXEC|O_NONBLOCK` style flags of fd-creating calls (pipe2, dup3...).
    FdFlags,
    /// File mode, octal.
    Mode,
    /// chmod-family permission bits as sysdig prints them (`S_IRUSR|S_ISUID`).
    ChmodMode,
    /// `AT_*` flags.
    AtFlags,
    /// `unlinkat` flags (`AT_REMOVEDIR`).
    UnlinkFlags,
    /// `faccessat2` flags (`AT_EACCESS`...).
    AccessAtFlags,
    /// `access` mode (`F_OK`, `R_OK|W_OK`...).
    AccessMode,
    /// Socket address family (`AF_INET`).
    Family,
    /// Socket type (`SOCK_STREAM|SOCK_CLOEXEC`).
    SockType,
    /// `accept4` flags (`SOCK_NONBLOCK|SOCK_CLOEXEC`).
    SockFlags,
    /// IP protocol (`IPPROTO_TCP`).
    Protocol,
    /// `send*`/`recv*` flags (`MSG_*`).
    MsgFlags,
    /// Memory protection (`PROT_READ|PROT_WRITE`).
    Prot,
    /// `mmap` flags (`MAP_PRIVATE|MAP_ANONYMOUS`).
    MmapFlags,
    /// `clone` flags: `CLONE_*` bits and the exit signal in the low byte.
    CloneFlags,
    /// Namespace flags of `unshare`/`setns` (`CLONE_NEW*`).
    NsFlags,
    /// `fcntl` command (`F_SETFL`).
    FcntlCmd,
    /// `prctl` option (`PR_SET_NAME`).
    PrctlOption,
    /// `ptrace` request (`PTRACE_ATTACH`).
    PtraceRequest,
    /// Signal number (`SIGKILL`).
    Signal,
    /// `mount` flags (`MS_*`).
    MountFlags,
    /// `umount2` flags (`MNT_DETACH`...).
    UmountFlags,
    /// `renameat2` flags (`RENAME_*`).
    RenameFlags,
    /// `lseek` whence (`SEEK_SET`).
    Whence,
    /// `shutdown` how (`SHUT_RDWR`).
    ShutdownHow,
    /// `sigprocmask` how (`SIG_BLOCK`).
    SigprocmaskHow,
    /// `open_how.resolve` flags (`RESOLVE_*`).
    ResolveFlags,
}

/// Picks the decoder for argument `arg` of `syscall`, if it is a flag or enum.
pub fn decoder_for(syscall: &str, arg: &str, ctype: &str) -> Option<Decoder> {
    use Decoder::*;
    let sc = syscall;
    let at_family =
        sc.ends_with("at") || sc.ends_with("at2") || sc == "statx" || sc.starts_with("open_tree");
    Some(match arg {
        "flags" | "oflag" if matches!(sc, "open" | "openat" | "mq_open" | "open_by_handle_at") => {
            OpenFlags
        }
        "flags" if sc.starts_with("mmap") => MmapFlags,
        "flags" if sc == "mount" => MountFlags,
        "flags" if sc.starts_with("umount") => UmountFlags,
        "flags" if sc == "renameat2" => RenameFlags,
        "flags" if sc == "setns" => NsFlags,
        "flags" | "flag" if sc == "unlinkat" => UnlinkFlags,
        "flags" if sc == "faccessat2" => AccessAtFlags,
        "flags" | "flag" | "at_flags" if at_family => AtFlags,
        "at_flags" => AtFlags,
        "flags" if sc == "accept4" => SockFlags,
        "flags" if sc.starts_with("send") || sc.starts_with("recv") => MsgFlags,
        "flags" if is_fd_creator(sc) => FdFlags,
        "mode" if sc == "access" || sc.starts_with("faccessat") => AccessMode,
        "mode" if matches!(sc, "chmod" | "fchmod" | "fchmodat" | "fchmodat2") => ChmodMode,
        "mode" if ctype == "umode_t" => Mode,
        "mask" if sc == "umask" => Mode,
        "family" | "domain" => Family,
        "type" if sc.starts_with("socket") => SockType,
        "protocol" if sc.starts_with("socket") => Protocol,
        "prot" => Prot,
        "clone_flags" => CloneFlags,
        "unshare_flags" => NsFlags,
        "cmd" if sc.starts_with("fcntl") => FcntlCmd,
        "option" if sc == "prctl" => PrctlOption,
        "request" if sc == "ptrace" => PtraceRequest,
        "sig" => Signal,
        "whence" => Whence,
        "how" if sc == "shutdown" => ShutdownHow,
        "how" if sc.contains("sigprocmask") => SigprocmaskHow,
        _ => return None,
    })
}

/// Syscalls whose `flags` are `O_CLOEXEC`/`O_NONBLOCK` style.
fn is_fd_creator(sc: &str) -> bool {
    matches!(
        sc,
        "pipe2"
            | "dup3"
            | "eventfd2"
            | "epoll_create1"
            | "inotify_init1"
            | "signalfd4"
            | "timerfd_create"
    )
}

/// `(value, name)` pairs from `libc` constants.
macro_rules! named {
    ($ty:ty; $($c:ident),* $(,)?) => { &[$((libc::$c as $ty, stringify!($c))),*] };
}

/// Kernel `__O_LARGEFILE` (asm-generic/fcntl.h); glibc defines `O_LARGEFILE`
/// as 0 on 64-bit targets, but 32-bit callers pass this bit.
const O_LARGEFILE_KERNEL: u32 = 0o100000;
/// `CLONE_CLEAR_SIGHAND` (linux/sched.h); `libc`'s constant overflows `c_int`.
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;
/// `CLONE_INTO_CGROUP` (linux/sched.h); `libc`'s constant overflows `c_int`.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
/// `CSIGNAL` (linux/sched.h): the exit-signal byte of clone flags.
const CSIGNAL: u64 = 0xff;

/// Open flag bits after the access mode; composite flags before their parts.
const OPEN_BITS: &[(u32, &str)] = named![u32;
    O_TMPFILE, O_SYNC, O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC,
    O_ASYNC, O_DIRECT, O_DIRECTORY, O_NOFOLLOW, O_NOATIME, O_CLOEXEC, O_PATH,
];
const FD_BITS: &[(u32, &str)] = named![u32; O_CLOEXEC, O_NONBLOCK, O_DIRECT];
const AT_BITS: &[(u32, &str)] = named![u32;
    AT_SYMLINK_NOFOLLOW, AT_SYMLINK_FOLLOW, AT_NO_AUTOMOUNT, AT_EMPTY_PATH,
    AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC, AT_RECURSIVE,
];
const UNLINK_BITS: &[(u32, &str)] = named![u32; AT_REMOVEDIR];
const ACCESS_AT_BITS: &[(u32, &str)] = named![u32; AT_EACCESS, AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH];
const ACCESS_BITS: &[(u32, &str)] = named![u32; R_OK, W_OK, X_OK];
/// libsinsp's `chmod_mode` flag names, in its order.
const CHMOD_BITS: &[(u32, &str)] = named![u32;
    S_IXOTH, S_IWOTH, S_IROTH, S_IXGRP, S_IWGRP, S_IRGRP, S_IXUSR, S_IWUSR, S_IRUSR,
    S_ISVTX, S_ISGID, S_ISUID,
];
const SOCK_BITS: &[(u32, &str)] = named![u32; SOCK_NONBLOCK, SOCK_CLOEXEC];
const MSG_BITS: &[(u32, &str)] = named![u32;
    MSG_OOB, MSG_PEEK, MSG_DONTROUTE, MSG_CTRUNC, MSG_TRUNC, MSG_DONTWAIT, MSG_EOR,
    MSG_WAITALL, MSG_FIN, MSG_SYN, MSG_CONFIRM, MSG_RST, MSG_ERRQUEUE, MSG_NOSIGNAL, MSG_MORE,
    MSG_WAITFORONE, MSG_FASTOPEN, MSG_CMSG_CLOEXEC, MSG_ZEROCOPY,
];
const PROT_BITS: &[(u32, &str)] =
    named![u32; PROT_READ, PROT_WRITE, PROT_EXEC, PROT_GROWSDOWN, PROT_GROWSUP];
const MAP_TYPES: &[(i64, &str)] = named![i64; MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE];
const MAP_BITS: &[(u32, &str)] = named![u32;
    MAP_FIXED, MAP_ANONYMOUS, MAP_32BIT, MAP_GROWSDOWN, MAP_DENYWRITE, MAP_EXECUTABLE,
    MAP_LOCKED, MAP_NORESERVE, MAP_POPULATE, MAP_NONBLOCK, MAP_STACK, MAP_HUGETLB, MAP_SYNC,
    MAP_FIXED_NOREPLACE,
];
const CLONE_BITS: &[(u32, &str)] = named![u32;
    CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_PIDFD, CLONE_PTRACE, CLONE_VFORK,
    CLONE_PARENT, CLONE_THREAD, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID,
    CLONE_CHILD_CLEARTID, CLONE_DETACHED, CLONE_UNTRACED, CLONE_CHILD_SETTID, CLONE_NEWCGROUP,
    CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_IO,
];
const NS_BITS: &[(u32, &str)] = named![u32;
    CLONE_FILES, CLONE_FS, CLONE_NEWNS, CLONE_SYSVSEM, CLONE_NEWCGROUP, CLONE_NEWUTS,
    CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWTIME,
];
const MS_BITS: &[(u32, &str)] = named![u32;
    MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK,
    MS_DIRSYNC, MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_MOVE, MS_REC, MS_SILENT,
    MS_POSIXACL, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED, MS_RELATIME, MS_KERNMOUNT,
    MS_I_VERSION, MS_STRICTATIME, MS_LAZYTIME, MS_ACTIVE, MS_NOUSER,
];
const UMOUNT_BITS: &[(u32, &str)] = named![u32; MNT_FORCE, MNT_DETACH, MNT_EXPIRE, UMOUNT_NOFOLLOW];
const RESOLVE_BITS: &[(u32, &str)] = named![u32;
    RESOLVE_NO_XDEV, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_BENEATH, RESOLVE_IN_ROOT,
    RESOLVE_CACHED,
];
const RENAME_BITS: &[(u32, &str)] = named![u32; RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT];

const FAMILIES: &[(i64, &str)] = named![i64;
    AF_UNSPEC, AF_UNIX, AF_INET, AF_AX25, AF_IPX, AF_APPLETALK, AF_NETROM, AF_BRIDGE,
    AF_ATMPVC, AF_X25, AF_INET6, AF_ROSE, AF_DECnet, AF_NETBEUI, AF_SECURITY, AF_KEY,
    AF_NETLINK, AF_PACKET, AF_ASH, AF_ECONET, AF_ATMSVC, AF_RDS, AF_SNA, AF_IRDA, AF_PPPOX,
    AF_WANPIPE, AF_LLC, AF_IB, AF_MPLS, AF_CAN, AF_TIPC, AF_BLUETOOTH, AF_IUCV, AF_RXRPC,
    AF_ISDN, AF_PHONET, AF_IEEE802154, AF_CAIF, AF_ALG, AF_NFC, AF_VSOCK, AF_XDP,
];
const SOCK_TYPES: &[(i64, &str)] = named![i64;
    SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_RDM, SOCK_SEQPACKET, SOCK_DCCP,
];
const PROTOCOLS: &[(i64, &str)] = named![i64;
    IPPROTO_ICMP, IPPROTO_IGMP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IPV6, IPPROTO_GRE,
    IPPROTO_ESP, IPPROTO_AH, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_UDPLITE, IPPROTO_RAW,
    IPPROTO_MPTCP,
];
const FCNTL_CMDS: &[(i64, &str)] = named![i64;
    F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL, F_GETLK, F_SETLK, F_SETLKW, F_SETOWN,
    F_GETOWN, F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW, F_SETLEASE,
    F_GETLEASE, F_NOTIFY, F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ, F_ADD_SEALS, F_GET_SEALS,
];
const PRCTL_OPTIONS: &[(i64, &str)] = named![i64;
    PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_GET_UNALIGN,
    PR_SET_UNALIGN, PR_GET_KEEPCAPS, PR_SET_KEEPCAPS, PR_GET_FPEMU, PR_SET_FPEMU,
    PR_GET_FPEXC, PR_SET_FPEXC, PR_GET_TIMING, PR_SET_TIMING, PR_SET_NAME, PR_GET_NAME,
    PR_GET_ENDIAN, PR_SET_ENDIAN, PR_GET_SECCOMP, PR_SET_SECCOMP, PR_CAPBSET_READ,
    PR_CAPBSET_DROP, PR_GET_TSC, PR_SET_TSC, PR_GET_SECUREBITS, PR_SET_SECUREBITS,
    PR_SET_TIMERSLACK, PR_GET_TIMERSLACK, PR_TASK_PERF_EVENTS_DISABLE,
    PR_TASK_PERF_EVENTS_ENABLE, PR_MCE_KILL, PR_MCE_KILL_GET, PR_SET_MM, PR_SET_PTRACER,
    PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS,
    PR_GET_TID_ADDRESS, PR_SET_THP_DISABLE, PR_GET_THP_DISABLE, PR_MPX_ENABLE_MANAGEMENT,
    PR_MPX_DISABLE_MANAGEMENT, PR_SET_FP_MODE, PR_GET_FP_MODE, PR_CAP_AMBIENT,
    PR_GET_SPECULATION_CTRL, PR_SET_SPECULATION_CTRL, PR_SET_VMA,
];
const PTRACE_REQUESTS: &[(i64, &str)] = named![i64;
    PTRACE_TRACEME, PTRACE_PEEKTEXT, PTRACE_PEEKDATA, PTRACE_PEEKUSER, PTRACE_POKETEXT,
    PTRACE_POKEDATA, PTRACE_POKEUSER, PTRACE_CONT, PTRACE_KILL, PTRACE_SINGLESTEP,
    PTRACE_GETREGS, PTRACE_SETREGS, PTRACE_GETFPREGS, PTRACE_SETFPREGS, PTRACE_ATTACH,
    PTRACE_DETACH, PTRACE_GETFPXREGS, PTRACE_SETFPXREGS, PTRACE_SYSCALL, PTRACE_SYSEMU,
    PTRACE_SYSEMU_SINGLESTEP, PTRACE_SETOPTIONS, PTRACE_GETEVENTMSG, PTRACE_GETSIGINFO,
    PTRACE_SETSIGINFO, PTRACE_GETREGSET, PTRACE_SETREGSET, PTRACE_SEIZE, PTRACE_INTERRUPT,
    PTRACE_LISTEN, PTRACE_PEEKSIGINFO, PTRACE_GETSIGMASK, PTRACE_SETSIGMASK,
    PTRACE_GET_SYSCALL_INFO,
];
const SIGNALS: &[(i64, &str)] = named![i64;
    SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1,
    SIGSEGV, SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP,
    SIGTSTP, SIGTTIN, SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO,
    SIGPWR, SIGSYS,
];
const WHENCE: &[(i64, &str)] = named![i64; SEEK_SET, SEEK_CUR, SEEK_END, SEEK_DATA, SEEK_HOLE];
const SHUT_HOW: &[(i64, &str)] = named![i64; SHUT_RD, SHUT_WR, SHUT_RDWR];
const SIGPROCMASK_HOW: &[(i64, &str)] = named![i64; SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK];

const ERRNOS: &[(i64, &str)] = named![i64;
    EPERM, ENOENT, ESRCH, EINTR, EIO, ENXIO, E2BIG, ENOEXEC, EBADF, ECHILD, EAGAIN, ENOMEM,
    EACCES, EFAULT, ENOTBLK, EBUSY, EEXIST, EXDEV, ENODEV, ENOTDIR, EISDIR, EINVAL, ENFILE,
    EMFILE, ENOTTY, ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, EPIPE, EDOM, ERANGE,
    EDEADLK, ENAMETOOLONG, ENOLCK, ENOSYS, ENOTEMPTY, ELOOP, ENOMSG, EIDRM, ECHRNG,
    EL2NSYNC, EL3HLT, EL3RST, ELNRNG, EUNATCH, ENOCSI, EL2HLT, EBADE, EBADR, EXFULL, ENOANO,
    EBADRQC, EBADSLT, EBFONT, ENOSTR, ENODATA, ETIME, ENOSR, ENONET, ENOPKG, EREMOTE,
    ENOLINK, EADV, ESRMNT, ECOMM, EPROTO, EMULTIHOP, EDOTDOT, EBADMSG, EOVERFLOW, ENOTUNIQ,
    EBADFD, EREMCHG, ELIBACC, ELIBBAD, ELIBSCN, ELIBMAX, ELIBEXEC, EILSEQ, ERESTART,
    ESTRPIPE, EUSERS, ENOTSOCK, EDESTADDRREQ, EMSGSIZE, EPROTOTYPE, ENOPROTOOPT,
    EPROTONOSUPPORT, ESOCKTNOSUPPORT, EOPNOTSUPP, EPFNOSUPPORT, EAFNOSUPPORT, EADDRINUSE,
    EADDRNOTAVAIL, ENETDOWN, ENETUNREACH, ENETRESET, ECONNABORTED, ECONNRESET, ENOBUFS,
    EISCONN, ENOTCONN, ESHUTDOWN, ETOOMANYREFS, ETIMEDOUT, ECONNREFUSED, EHOSTDOWN,
    EHOSTUNREACH, EALREADY, EINPROGRESS, ESTALE, EUCLEAN, ENOTNAM, ENAVAIL, EISNAM,
    EREMOTEIO, EDQUOT, ENOMEDIUM, EMEDIUMTYPE, ECANCELED, ENOKEY, EKEYEXPIRED, EKEYREVOKED,
    EKEYREJECTED, EOWNERDEAD, ENOTRECOVERABLE, ERFKILL, EHWPOISON,
];
/// Kernel-internal restart codes (linux/errno.h) seen at syscall exit when a
/// signal interrupts a call; `libc` does not define them.
const KERNEL_ERRNOS: &[(i64, &str)] = &[
    (512, "ERESTARTSYS"),
    (513, "ERESTARTNOINTR"),
    (514, "ERESTARTNOHAND"),
    (515, "ENOIOCTLCMD"),
    (516, "ERESTART_RESTARTBLOCK"),
];

fn lookup(table: &[(i64, &'static str)], v: i64) -> Option<&'static str> {
    table.iter().find(|(k, _)| *k == v).map(|(_, n)| *n)
}

/// Name of an errno value (`2` -> `ENOENT`); accepts either sign.
pub fn errno_name(errno: i64) -> Option<&'static str> {
    let e = errno.checked_abs()?;
    lookup(ERRNOS, e).or_else(|| lookup(KERNEL_ERRNOS, e))
}

/// Name of a signal number (`9` -> `SIGKILL`).
pub fn signal_name(sig: i64) -> Option<&'static str> {
    lookup(SIGNALS, sig)
}

/// Appends `NAME|NAME|0x..` for the bits of `v`; `zero` when nothing is set.
fn bits(table: &[(u32, &str)], v: u64, zero: &str, out: &mut String) {
    let start = out.len();
    let mut rest = v;
    for &(mask, name) in table {
        let m = u64::from(mask);
        if m != 0 && rest & m == m {
            if out.len() > start {
                out.push('|');
            }
            out.push_str(name);
            rest &= !m;
        }
    }
    if rest != 0 {
        if out.len() > start {
            out.push('|');
        }
        let _ = write!(out, "{rest:#x}");
    }
    if out.len() == start {
        out.push_str(zero);
    }
}

/// Appends the enum name of `v`, or `v` in decimal.
fn enum_name(table: &[(i64, &'static str)], v: i64, out: &mut String) {
    match lookup(table, v) {
        Some(n) => out.push_str(n),
        None => {
            let _ = write!(out, "{v}");
        }
    }
}

/// The low 32 bits of a register holding a C `int`, as signed.
fn int(v: u64) -> i64 {
    i64::from(v as u32 as i32)
}

/// Appends the decoded text of `value` (a raw argument register).
pub fn decode(dec: Decoder, value: u64, out: &mut String) {
    use Decoder::*;
    let v32 = value & 0xffff_ffff;
    match dec {
        OpenFlags => {
            let acc = v32 & libc::O_ACCMODE as u64;
            enum_name(named![i64; O_RDONLY, O_WRONLY, O_RDWR], acc as i64, out);
            let rest = v32 & !(libc::O_ACCMODE as u64);
            if rest != 0 {
                out.push('|');
                let large = u64::from(O_LARGEFILE_KERNEL);
                bits(OPEN_BITS, rest & !large, "", out);
                if rest & large != 0 {
                    out.push_str(if rest == large {
                        "O_LARGEFILE"
                    } else {
                        "|O_LARGEFILE"
                    });
                }
            }
        }
        FdFlags => bits(FD_BITS, v32, "0", out),
        Mode => {
            let _ = if v32 == 0 {
                write!(out, "0")
            } else {
                write!(out, "0{v32:o}")
            };
        }
        AtFlags => bits(AT_BITS, v32, "0", out),
        UnlinkFlags => bits(UNLINK_BITS, v32, "0", out),
        AccessAtFlags => bits(ACCESS_AT_BITS, v32, "0", out),
        AccessMode => bits(ACCESS_BITS, v32, "F_OK", out),
        ChmodMode => bits(CHMOD_BITS, v32, "0", out),
        Family => enum_name(FAMILIES, int(value), out),
        SockType => {
            let ty = v32 & 0xf; // SOCK_TYPE_MASK (linux/net.h)
            enum_name(SOCK_TYPES, ty as i64, out);
            if v32 & !0xf != 0 {
                out.push('|');
                bits(SOCK_BITS, v32 & !0xf, "", out);
            }
        }
        SockFlags => bits(SOCK_BITS, v32, "0", out),
        Protocol => enum_name(PROTOCOLS, int(value), out),
        MsgFlags => bits(MSG_BITS, v32, "0", out),
        Prot => bits(PROT_BITS, v32, "PROT_NONE", out),
        MmapFlags => {
            let ty = v32 & 0x3;
            enum_name(MAP_TYPES, ty as i64, out);
            if v32 & !0x3 != 0 {
                out.push('|');
                bits(MAP_BITS, v32 & !0x3, "", out);
            }
        }
        CloneFlags => {
            let start = out.len();
            let high = value & !CSIGNAL;
            bits(CLONE_BITS, high & 0xffff_ffff, "", out);
            let wide = [
                (CLONE_CLEAR_SIGHAND, "CLONE_CLEAR_SIGHAND"),
                (CLONE_INTO_CGROUP, "CLONE_INTO_CGROUP"),
            ];
            for (bit, name) in wide {
                if high & bit != 0 {
                    push_sep(out, start, name);
                }
            }
            let unknown = high & !0x3_ffff_ffff;
            if unknown != 0 {
                push_sep(out, start, "");
                let _ = write!(out, "{unknown:#x}");
            }
            let sig = (value & CSIGNAL) as i64;
            if sig != 0 {
                push_sep(out, start, "");
                enum_name(SIGNALS, sig, out);
            }
            if out.len() == start {
                out.push('0');
            }
        }
        NsFlags => bits(NS_BITS, v32, "0", out),
        FcntlCmd => enum_name(FCNTL_CMDS, int(value), out),
        PrctlOption => enum_name(PRCTL_OPTIONS, int(value), out),
        PtraceRequest => enum_name(PTRACE_REQUESTS, value as i64, out),
        Signal => enum_name(SIGNALS, int(value), out),
        MountFlags => {
            let mut v = v32;
            // Flags with the legacy magic in the top half (MS_MGC_VAL) have it stripped.
            if v & libc::MS_MGC_MSK == libc::MS_MGC_VAL {
                out.push_str("MS_MGC_VAL");
                v &= !libc::MS_MGC_MSK;
                if v != 0 {
                    out.push('|');
                    bits(MS_BITS, v, "", out);
                }
            } else {
                bits(MS_BITS, v, "0", out);
            }
        }
        UmountFlags => bits(UMOUNT_BITS, v32, "0", out),
        RenameFlags => bits(RENAME_BITS, v32, "0", out),
        Whence => enum_name(WHENCE, int(value), out),
        ShutdownHow => enum_name(SHUT_HOW, int(value), out),
        SigprocmaskHow => enum_name(SIGPROCMASK_HOW, int(value), out),
        ResolveFlags => bits(RESOLVE_BITS, v32, "0", out),
    }
}

/// Appends `|name`, or `name` when nothing was written since `start`.
fn push_sep(out: &mut String, start: usize, name: &str) {
    if out.len() > start {
        out.push('|');
    }
    out.push_str(name);
}

#[cfg(test)]
#[path = "flags_tests.rs"]
mod tests;
