//! The compile step: maps a capture's syscall table to semantic state ops.
//!
//! Built once per capture from [`SyscallTable`]: a `Vec<Op>` indexed by
//! event code (`0..2048`), so applying a record is one array lookup. Syscalls
//! are recognised by NAME (native and compat tables alike), and argument
//! positions come from the table's `ArgDesc` names when present, falling back
//! to the standard Linux argument order.

use std::sync::{Arc, OnceLock};

use crate::event::meta::{FdKind, SyscallTable};
use crate::event::table::Syscalls;
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
pub(super) const CREAT_FLAGS: u32 = 0o100 | 0o1 | 0o1000;

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
    /// sendto(fd, .., addr): an unconnected socket takes the address as its
    /// peer, as libsinsp names a UDP socket by its last datagram's tuple.
    SendTo {
        /// Socket fd.
        fd: u8,
        /// Destination sockaddr param (absent when connected).
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
    /// pipe/pipe2: two fds in an 8-byte struct param, optionally followed by the
    /// pipe's inode as a little-endian u64 (a 16-byte param).
    Pipe {
        /// The `int[2]` (+ inode) struct param's argument.
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
    /// The op table of `table`, shared: compiled once for the built-in
    /// x86_64 table (every `.scap` import's), else compiled now.
    pub fn of(table: &SyscallTable) -> Arc<Ops> {
        static BUILT_IN: OnceLock<Arc<Ops>> = OnceLock::new();
        let built_in = Syscalls::default_x86_64().table();
        if std::ptr::eq(&*table.syscalls, &*built_in.syscalls) {
            return BUILT_IN
                .get_or_init(|| Arc::new(Ops::compile(built_in)))
                .clone();
        }
        Arc::new(Ops::compile(table))
    }

    /// Compiles the op table of a syscall table; unknown names map to [`Op::Ignore`].
    pub fn compile(table: &SyscallTable) -> Ops {
        let mut ops = Ops::default();
        for sc in table.syscalls.iter() {
            let code = usize::from(sc.nr)
                + if sc.compat {
                    usize::from(CODE_COMPAT_BASE)
                } else {
                    0
                };
            if sc.nr >= CODE_COMPAT_BASE {
                continue;
            }
            let names: Vec<&str> = sc.args.iter().map(|a| &*a.name).collect();
            ops.ops[code] = super::compile::op_for(&sc.name, sc.compat, &names);
        }
        ops
    }

    /// The op of an event code ([`Op::Ignore`] past the table).
    pub fn get(&self, code: u16) -> Op {
        self.ops.get(usize::from(code)).copied().unwrap_or_default()
    }

    /// Whether events of `code` make threads or processes depend on fd
    /// tables: execveat names the program (and so `comm`) by a dirfd.
    pub fn procs_read_fds(&self, code: u16) -> bool {
        matches!(self.get(code), Op::Execve { dirfd: Some(_), .. })
    }
}

impl Op {
    /// Whether the op only changes fd tables (opens, sockets, dup, close...).
    pub fn fds_only(self) -> bool {
        matches!(
            self,
            Op::Open { .. }
                | Op::OpenByHandle { .. }
                | Op::Socket { .. }
                | Op::Socketpair { .. }
                | Op::Connect { .. }
                | Op::SendTo { .. }
                | Op::Accept { .. }
                | Op::Bind { .. }
                | Op::Listen { .. }
                | Op::Pipe { .. }
                | Op::Dup { .. }
                | Op::Fcntl { .. }
                | Op::AnonFd { .. }
                | Op::Signalfd { .. }
                | Op::MemfdCreate { .. }
                | Op::Close { .. }
                | Op::CloseRange { .. }
        )
    }
}
