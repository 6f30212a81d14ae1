//! Name -> [`Op`] mapping of the compile step, with argument positions
//! taken from the syscall table's arg names (standard Linux order as the
//! fallback).

use super::ops::{Cloexec, FlagsSrc, IdForm, Op, CLONE_VFORK, CLONE_VM, CREAT_FLAGS};
use crate::event::meta::FdKind;

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

pub(super) fn op_for(name: &str, compat: bool, n: &[&str]) -> Op {
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
        "sendto" => Op::SendTo {
            fd: pos(n, FD, 0),
            addr: pos(n, ADDR, 4),
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
    use super::super::ops::*;
    use crate::event::meta::{ArgDesc, ArgKind, SyscallDesc, SyscallTable};

    fn desc(nr: u16, compat: bool, name: &str, args: &[&str]) -> SyscallDesc {
        SyscallDesc {
            nr,
            compat,
            name: name.to_string().into(),
            args: args
                .iter()
                .map(|a| ArgDesc {
                    name: a.to_string().into(),
                    ctype: "long".into(),
                    kind: ArgKind::Scalar,
                    aux: 0,
                })
                .collect::<Vec<_>>()
                .into(),
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
            ]
            .into(),
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
