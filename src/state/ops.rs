//! The compile step: maps a capture's syscall table to semantic state ops.
//!
//! Built once per capture from [`SyscallTable`]: a `Vec<Op>` indexed by
//! event code (`0..2048`), so applying a record is one array lookup. Syscalls
//! are recognised by NAME (native and compat tables alike), and argument
//! positions come from the table's `ArgDesc` names when present, falling back
//! to the standard Linux argument order.

use crate::event::meta::{FdKind, SyscallTable};
use crate::event::wire::CODE_COMPAT_BASE;

/// Number of event codes covered by an [`Ops`] table.
pub const NUM_CODES: usize = 2048;

/// `CLONE_VM`.
pub const CLONE_VM: u64 = 0x100;
/// `CLONE_FS`.
pub const CLONE_FS: u64 = 0x200;
/// `CLONE_FILES`.
pub const CLONE_FILES: u64 = 0x400;
/// `CLONE_VFORK`.
pub const CLONE_VFORK: u64 = 0x4000;
/// `CLONE_PARENT`.
pub const CLONE_PARENT: u64 = 0x8000;
/// `CLONE_THREAD`.
pub const CLONE_THREAD: u64 = 0x10000;

/// `O_CREAT | O_WRONLY | O_TRUNC`, the flags `creat` implies.
const CREAT_FLAGS: u32 = 0o100 | 0o1 | 0o1000;

/// Where an open-like syscall's flags come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagsSrc {
    /// A scalar argument.
    Arg(u8),
    /// The first `u64` of a struct param on this argument (`open_how`, `clone_args`).
    Struct(u8),
    /// Fixed flags (creat, fork, vfork).
    Fixed(u64),
}

/// How a new anonymous fd's close-on-exec bit is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloexec {
    /// Never at creation.
    Never,
    /// Always (pidfd, io_uring).
    Always,
    /// When `arg & mask != 0`.
    Bit {
        /// Argument holding the flags.
        arg: u8,
        /// The flag's bit.
        mask: u64,
    },
}

/// Which credential a set*id syscall changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdForm {
    /// `setuid(id)`.
    Single,
    /// `setreuid(r, e)`.
    RealEffective,
    /// `setresuid(r, e, s)`.
    RealEffectiveSaved,
}

/// The state effect of one event code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Op {
    /// No effect on the state.
    #[default]
    Ignore,
    /// open/openat/openat2/creat: new fd = ret, path resolved against `dirfd` or cwd.
    Open {
        /// Directory fd argument (`AT_FDCWD` aware), if any.
        dirfd: Option<u8>,
        /// Path argument.
        path: u8,
        /// Open flags.
        flags: FlagsSrc,
    },
    /// open_by_handle_at: new fd = ret, path unknown.
    OpenByHandle {
        /// Flags argument.
        flags: u8,
    },
    /// socket(family, type, proto).
    Socket {
        /// Family argument.
        family: u8,
        /// Type argument.
        ty: u8,
        /// Protocol argument.
        proto: u8,
    },
    /// socketpair(family, type, proto, sv[2]).
    Socketpair {
        /// Family argument.
        family: u8,
        /// Type argument.
        ty: u8,
        /// Protocol argument.
        proto: u8,
        /// The `int[2]` struct param's argument.
        sv: u8,
    },
    /// connect(fd, addr).
    Connect {
        /// Socket fd.
        fd: u8,
        /// Sockaddr param.
        addr: u8,
    },
    /// accept/accept4: new fd = ret.
    Accept {
        /// Listening fd.
        fd: u8,
        /// Peer sockaddr param.
        addr: u8,
        /// accept4 flags.
        flags: Option<u8>,
    },
    /// bind(fd, addr).
    Bind {
        /// Socket fd.
        fd: u8,
        /// Sockaddr param.
        addr: u8,
    },
    /// listen(fd).
    Listen {
        /// Socket fd.
        fd: u8,
    },
    /// pipe/pipe2: two fds in an 8-byte struct param.
    Pipe {
        /// The `int[2]` struct param's argument.
        fds: u8,
        /// pipe2 flags.
        flags: Option<u8>,
    },
    /// dup/dup2/dup3: new fd = ret, a copy of `old`.
    Dup {
        /// Source fd.
        old: u8,
        /// dup3 flags (`O_CLOEXEC`).
        flags: Option<u8>,
    },
    /// fcntl: F_DUPFD, F_DUPFD_CLOEXEC, F_SETFD, F_SETFL.
    Fcntl {
        /// fd argument.
        fd: u8,
        /// Command argument.
        cmd: u8,
        /// Third argument.
        arg: u8,
    },
    /// eventfd, timerfd_create, inotify_init, epoll_create, ...: new fd = ret.
    AnonFd {
        /// Kind of the new fd.
        kind: FdKind,
        /// Its name (`anon_inode:[eventfd]`).
        name: &'static str,
        /// Close-on-exec source.
        cloexec: Cloexec,
    },
    /// signalfd/signalfd4: new fd = ret when `ufd == -1`.
    Signalfd {
        /// The `ufd` argument.
        ufd: u8,
        /// signalfd4 flags.
        flags: Option<u8>,
    },
    /// memfd_create(name, flags).
    MemfdCreate {
        /// Name param.
        name: u8,
        /// Flags argument.
        flags: u8,
    },
    /// close(fd).
    Close {
        /// fd argument.
        fd: u8,
    },
    /// close_range(first, last, flags).
    CloseRange {
        /// First fd.
        first: u8,
        /// Last fd.
        last: u8,
        /// Flags.
        flags: u8,
    },
    /// clone/clone3/fork/vfork: child tid = ret in the parent.
    Clone {
        /// Clone flags.
        flags: FlagsSrc,
    },
    /// execve/execveat (used when the capture has no EXEC record).
    Execve {
        /// Directory fd (execveat).
        dirfd: Option<u8>,
        /// Filename param.
        path: u8,
        /// argv param.
        argv: u8,
    },
    /// setuid/setreuid/setresuid and the gid equivalents.
    SetIds {
        /// `true` for the gid family.
        group: bool,
        /// Which ids are set.
        form: IdForm,
        /// Argument positions (r, e, s; unused ones 0).
        args: [u8; 3],
        /// 16-bit ids (legacy ia32 calls): `0xffff` means "unchanged".
        id16: bool,
    },
    /// chdir(path).
    Chdir {
        /// Path param.
        path: u8,
    },
    /// fchdir(fd).
    Fchdir {
        /// fd argument.
        fd: u8,
    },
    /// prctl: PR_SET_NAME and PR_SET_CHILD_SUBREAPER.
    Prctl {
        /// Option argument.
        option: u8,
        /// arg2.
        arg2: u8,
    },
    /// setsid().
    Setsid,
    /// setpgid(pid, pgid).
    Setpgid {
        /// pid argument.
        pid: u8,
        /// pgid argument.
        pgid: u8,
    },
    /// unshare(flags): CLONE_FILES / CLONE_FS.
    Unshare {
        /// Flags argument.
        flags: u8,
    },
}

/// The compiled op table of a capture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ops {
    ops: Vec<Op>,
}

impl Default for Ops {
    fn default() -> Self {
        Ops {
            ops: vec![Op::Ignore; NUM_CODES],
        }
    }
}

impl Ops {
    /// Compiles the op table of a syscall table; unknown names map to [`Op::Ignore`].
    pub fn compile(table: &SyscallTable) -> Ops {
        let mut ops = Ops::default();
        for sc in &table.syscalls {
            let code = usize::from(sc.nr)
                + if sc.compat {
                    usize::from(CODE_COMPAT_BASE)
                } else {
                    0
                };
            if sc.nr >= CODE_COMPAT_BASE {
                continue;
            }
            let names: Vec<&str> = sc.args.iter().map(|a| a.name.as_str()).collect();
            ops.ops[code] = op_for(&sc.name, sc.compat, &names);
        }
        ops
    }

    /// The op of an event code ([`Op::Ignore`] past the table).
    pub fn get(&self, code: u16) -> Op {
        self.ops.get(usize::from(code)).copied().unwrap_or_default()
    }
}

/// Position of the first arg named one of `cands`, else `default`.
fn pos(names: &[&str], cands: &[&str], default: u8) -> u8 {
    names
        .iter()
        .position(|n| cands.contains(n))
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(default)
}

const FD: &[&str] = &["fd", "fildes", "sockfd", "s"];
const PATH: &[&str] = &["filename", "pathname", "path", "name"];
const FLAGS: &[&str] = &["flags"];
const ADDR: &[&str] = &[
    "uservaddr",
    "umyaddr",
    "upeer_sockaddr",
    "addr",
    "sockaddr",
    "myaddr",
];

fn op_for(name: &str, compat: bool, n: &[&str]) -> Op {
    let anon = |kind, name, cloexec| Op::AnonFd {
        kind,
        name,
        cloexec,
    };
    let bit = |cands: &[&str], default, mask| Cloexec::Bit {
        arg: pos(n, cands, default),
        mask,
    };
    const O_CLOEXEC: u64 = 0o2000000;
    let ids = |group, form, defaults: [u8; 3], cands: [&[&str]; 3]| Op::SetIds {
        group,
        form,
        args: [
            pos(n, cands[0], defaults[0]),
            pos(n, cands[1], defaults[1]),
            pos(n, cands[2], defaults[2]),
        ],
        id16: compat && !name.ends_with("32"),
    };
    match name {
        "open" => Op::Open {
            dirfd: None,
            path: pos(n, PATH, 0),
            flags: FlagsSrc::Arg(pos(n, FLAGS, 1)),
        },
        "openat" => Op::Open {
            dirfd: Some(pos(n, &["dfd", "dirfd"], 0)),
            path: pos(n, PATH, 1),
            flags: FlagsSrc::Arg(pos(n, FLAGS, 2)),
        },
        "openat2" => Op::Open {
            dirfd: Some(pos(n, &["dfd", "dirfd"], 0)),
            path: pos(n, PATH, 1),
            flags: FlagsSrc::Struct(pos(n, &["how"], 2)),
        },
        "creat" => Op::Open {
            dirfd: None,
            path: pos(n, PATH, 0),
            flags: FlagsSrc::Fixed(u64::from(CREAT_FLAGS)),
        },
        "open_by_handle_at" => Op::OpenByHandle {
            flags: pos(n, FLAGS, 2),
        },
        "socket" => Op::Socket {
            family: pos(n, &["family", "domain"], 0),
            ty: pos(n, &["type"], 1),
            proto: pos(n, &["protocol"], 2),
        },
        "socketpair" => Op::Socketpair {
            family: pos(n, &["family", "domain"], 0),
            ty: pos(n, &["type"], 1),
            proto: pos(n, &["protocol"], 2),
            sv: pos(n, &["usockvec", "sv"], 3),
        },
        "connect" => Op::Connect {
            fd: pos(n, FD, 0),
            addr: pos(n, ADDR, 1),
        },
        "accept" => Op::Accept {
            fd: pos(n, FD, 0),
            addr: pos(n, ADDR, 1),
            flags: None,
        },
        "accept4" => Op::Accept {
            fd: pos(n, FD, 0),
            addr: pos(n, ADDR, 1),
            flags: Some(pos(n, FLAGS, 3)),
        },
        "bind" => Op::Bind {
            fd: pos(n, FD, 0),
            addr: pos(n, ADDR, 1),
        },
        "listen" => Op::Listen { fd: pos(n, FD, 0) },
        "pipe" => Op::Pipe {
            fds: pos(n, &["fildes", "pipefd"], 0),
            flags: None,
        },
        "pipe2" => Op::Pipe {
            fds: pos(n, &["fildes", "pipefd"], 0),
            flags: Some(pos(n, FLAGS, 1)),
        },
        "dup" => Op::Dup {
            old: pos(n, &["fildes", "oldfd"], 0),
            flags: None,
        },
        "dup2" => Op::Dup {
            old: pos(n, &["oldfd", "fildes"], 0),
            flags: None,
        },
        "dup3" => Op::Dup {
            old: pos(n, &["oldfd", "fildes"], 0),
            flags: Some(pos(n, FLAGS, 2)),
        },
        "fcntl" | "fcntl64" => Op::Fcntl {
            fd: pos(n, FD, 0),
            cmd: pos(n, &["cmd"], 1),
            arg: pos(n, &["arg"], 2),
        },
        "eventfd" => anon(FdKind::Event, "anon_inode:[eventfd]", Cloexec::Never),
        "eventfd2" => anon(
            FdKind::Event,
            "anon_inode:[eventfd]",
            bit(FLAGS, 1, O_CLOEXEC),
        ),
        "timerfd_create" => anon(
            FdKind::Timer,
            "anon_inode:[timerfd]",
            bit(FLAGS, 1, O_CLOEXEC),
        ),
        "inotify_init" => anon(FdKind::Inotify, "anon_inode:inotify", Cloexec::Never),
        "inotify_init1" => anon(
            FdKind::Inotify,
            "anon_inode:inotify",
            bit(FLAGS, 0, O_CLOEXEC),
        ),
        "epoll_create" => anon(FdKind::Epoll, "anon_inode:[eventpoll]", Cloexec::Never),
        "epoll_create1" => anon(
            FdKind::Epoll,
            "anon_inode:[eventpoll]",
            bit(FLAGS, 0, O_CLOEXEC),
        ),
        "userfaultfd" => anon(
            FdKind::Other,
            "anon_inode:[userfaultfd]",
            bit(FLAGS, 0, O_CLOEXEC),
        ),
        "pidfd_open" => anon(FdKind::Other, "anon_inode:[pidfd]", Cloexec::Always),
        "io_uring_setup" => anon(FdKind::Other, "anon_inode:[io_uring]", Cloexec::Always),
        "perf_event_open" => anon(FdKind::Other, "anon_inode:[perf_event]", bit(FLAGS, 4, 8)),
        "fanotify_init" => anon(FdKind::Other, "anon_inode:[fanotify]", bit(FLAGS, 0, 1)),
        "signalfd" => Op::Signalfd {
            ufd: pos(n, &["ufd", "fd"], 0),
            flags: None,
        },
        "signalfd4" => Op::Signalfd {
            ufd: pos(n, &["ufd", "fd"], 0),
            flags: Some(pos(n, FLAGS, 3)),
        },
        "memfd_create" => Op::MemfdCreate {
            name: pos(n, &["uname", "name"], 0),
            flags: pos(n, FLAGS, 1),
        },
        "close" => Op::Close { fd: pos(n, FD, 0) },
        "close_range" => Op::CloseRange {
            first: pos(n, &["fd", "first"], 0),
            last: pos(n, &["max_fd", "last"], 1),
            flags: pos(n, FLAGS, 2),
        },
        "clone" => Op::Clone {
            flags: FlagsSrc::Arg(pos(n, &["clone_flags", "flags"], 0)),
        },
        "clone3" => Op::Clone {
            flags: FlagsSrc::Struct(pos(n, &["uargs", "cl_args"], 0)),
        },
        "fork" => Op::Clone {
            flags: FlagsSrc::Fixed(0),
        },
        "vfork" => Op::Clone {
            flags: FlagsSrc::Fixed(CLONE_VM | CLONE_VFORK),
        },
        "execve" => Op::Execve {
            dirfd: None,
            path: pos(n, PATH, 0),
            argv: pos(n, &["argv"], 1),
        },
        "execveat" => Op::Execve {
            dirfd: Some(pos(n, &["fd", "dfd", "dirfd"], 0)),
            path: pos(n, PATH, 1),
            argv: pos(n, &["argv"], 2),
        },
        "setuid" | "setuid32" => ids(false, IdForm::Single, [0, 0, 0], [&["uid"], &[], &[]]),
        "setgid" | "setgid32" => ids(true, IdForm::Single, [0, 0, 0], [&["gid"], &[], &[]]),
        "setreuid" | "setreuid32" => ids(
            false,
            IdForm::RealEffective,
            [0, 1, 0],
            [&["ruid"], &["euid"], &[]],
        ),
        "setregid" | "setregid32" => ids(
            true,
            IdForm::RealEffective,
            [0, 1, 0],
            [&["rgid"], &["egid"], &[]],
        ),
        "setresuid" | "setresuid32" => ids(
            false,
            IdForm::RealEffectiveSaved,
            [0, 1, 2],
            [&["ruid"], &["euid"], &["suid"]],
        ),
        "setresgid" | "setresgid32" => ids(
            true,
            IdForm::RealEffectiveSaved,
            [0, 1, 2],
            [&["rgid"], &["egid"], &["sgid"]],
        ),
        "chdir" => Op::Chdir {
            path: pos(n, PATH, 0),
        },
        "fchdir" => Op::Fchdir { fd: pos(n, FD, 0) },
        "prctl" => Op::Prctl {
            option: pos(n, &["option"], 0),
            arg2: pos(n, &["arg2"], 1),
        },
        "setsid" => Op::Setsid,
        "setpgid" => Op::Setpgid {
            pid: pos(n, &["pid"], 0),
            pgid: pos(n, &["pgid"], 1),
        },
        "unshare" => Op::Unshare {
            flags: pos(n, &["unshare_flags", "flags"], 0),
        },
        _ => Op::Ignore,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::meta::{ArgDesc, ArgKind, SyscallDesc};

    fn desc(nr: u16, compat: bool, name: &str, args: &[&str]) -> SyscallDesc {
        SyscallDesc {
            nr,
            compat,
            name: name.into(),
            args: args
                .iter()
                .map(|a| ArgDesc {
                    name: (*a).into(),
                    ctype: "long".into(),
                    kind: ArgKind::Scalar,
                    aux: 0,
                })
                .collect(),
        }
    }

    #[test]
    fn names_and_positions() {
        let t = SyscallTable {
            source: "test".into(),
            syscalls: vec![
                desc(257, false, "openat", &["dfd", "filename", "flags", "mode"]),
                // A table that orders args unusually: names win over defaults.
                desc(2, false, "open", &["flags", "filename"]),
                desc(3, false, "close", &[]),
                desc(213, true, "setuid32", &["uid"]),
                desc(23, true, "setuid", &["uid"]),
                desc(600, true, "bogus", &[]),
                desc(999, false, "nonsense", &[]),
            ],
        };
        let ops = Ops::compile(&t);
        assert_eq!(
            ops.get(257),
            Op::Open {
                dirfd: Some(0),
                path: 1,
                flags: FlagsSrc::Arg(2)
            }
        );
        assert_eq!(
            ops.get(2),
            Op::Open {
                dirfd: None,
                path: 1,
                flags: FlagsSrc::Arg(0)
            }
        );
        assert_eq!(ops.get(3), Op::Close { fd: 0 });
        assert!(matches!(
            ops.get(512 + 213),
            Op::SetIds {
                id16: false,
                group: false,
                ..
            }
        ));
        assert!(matches!(ops.get(512 + 23), Op::SetIds { id16: true, .. }));
        assert_eq!(ops.get(999), Op::Ignore);
        assert_eq!(ops.get(u16::MAX), Op::Ignore);
    }
}
