//! Capture metadata: the machine, the recorder's configuration, the syscall
//! table and the start snapshot. Stored as sections of a capture file and
//! produced by the recorder or the `.scap` importer.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The machine a capture was recorded on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// `uname -n`.
    pub hostname: String,
    /// `uname -r`.
    pub kernel_release: String,
    /// `uname -v`.
    pub kernel_version: String,
    /// `uname -m`, e.g. `x86_64`.
    pub arch: String,
    /// Online CPUs when recording started.
    pub num_cpus: u32,
    /// Physical memory in bytes (0 if unknown).
    pub memory_bytes: u64,
    /// Boot time, ns since the Unix epoch.
    pub boot_time_ns: u64,
    /// Add to a CLOCK_BOOTTIME event timestamp to get ns since the epoch.
    pub boottime_to_epoch_ns: i64,
}

/// How the capture was made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecorderConfig {
    /// Producer, e.g. `saker 0.1.0` or `scap import`.
    pub producer: String,
    /// The command line used.
    pub command_line: Vec<String>,
    /// Bytes of I/O buffers captured per syscall.
    pub snaplen: u32,
    /// Whether entry timestamps (latency) were recorded.
    pub latency: bool,
    /// In-kernel pid filter (empty: all).
    pub pids: Vec<u32>,
    /// In-kernel comm filter (empty: all).
    pub comms: Vec<String>,
    /// Only the launched command's process tree was recorded.
    pub only_cmd: bool,
    /// zstd level of the event blocks.
    pub zstd_level: i32,
    /// Index of this file in a rotated series (0 for the first).
    pub rotation_index: u32,
}

/// How a syscall argument is captured and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgKind {
    /// Scalar value.
    Scalar,
    /// File descriptor.
    Fd,
    /// Directory file descriptor (`AT_FDCWD` aware).
    Dirfd,
    /// User string (path or name).
    Str,
    /// Input buffer with its length in another arg.
    BufIn,
    /// Output buffer, length = return value.
    BufOut,
    /// Socket address with its length in another arg.
    SockaddrIn,
    /// Socket address written by the kernel.
    SockaddrOut,
    /// iovec array read by the kernel.
    IovecIn,
    /// iovec array filled by the kernel.
    IovecOut,
    /// msghdr read by the kernel.
    MsghdrIn,
    /// msghdr filled by the kernel.
    MsghdrOut,
    /// NULL-terminated string array.
    Argv,
    /// Fixed-size struct read by the kernel.
    StructIn,
    /// Fixed-size struct written by the kernel.
    StructOut,
    /// Other pointer, not captured.
    Pointer,
}

/// One syscall argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgDesc {
    /// Name as in the kernel (`filename`, `buf`, ...).
    pub name: Cow<'static, str>,
    /// C type as in the kernel (`const char *`).
    pub ctype: Cow<'static, str>,
    /// How it is captured.
    pub kind: ArgKind,
    /// Index of the length arg for buffers/sockaddrs/iovecs, or the struct
    /// size in bytes for structs. For [`ArgKind::Str`], 0 means always a string and
    /// any other value a conditional string: captured only when arg 0 equals aux
    /// (`prctl(PR_SET_NAME, name)`), otherwise a scalar.
    pub aux: u8,
}

/// One syscall of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallDesc {
    /// Number in its ABI.
    pub nr: u16,
    /// `true` for the 32-bit compat ABI.
    pub compat: bool,
    /// Name (`openat`).
    pub name: Cow<'static, str>,
    /// Arguments in order (empty when unknown).
    pub args: Cow<'static, [ArgDesc]>,
}

/// The syscall table a capture was recorded with. Its text and lists
/// borrow static data when it is the table built into the binary (no
/// allocation to make or clone it), and own what a capture carries.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyscallTable {
    /// Where the names and schemas came from.
    pub source: Cow<'static, str>,
    /// All syscalls, native first.
    pub syscalls: Cow<'static, [SyscallDesc]>,
}

/// A socket endpoint tuple.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "family", rename_all = "snake_case")]
pub enum SocketInfo {
    /// AF_INET / AF_INET6.
    Inet {
        /// `tcp`, `udp`, `raw`...
        proto: String,
        /// Local address.
        local_ip: String,
        /// Local port.
        local_port: u16,
        /// Remote address.
        remote_ip: String,
        /// Remote port.
        remote_port: u16,
        /// Listening socket.
        listening: bool,
    },
    /// AF_UNIX.
    Unix {
        /// Bound path (may be empty or abstract `@name`).
        path: String,
    },
    /// Another family (netlink, packet...).
    Other {
        /// Family name or number.
        name: String,
    },
}

/// Kind of an open file descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FdKind {
    /// Regular file.
    File,
    /// Directory.
    Directory,
    /// Socket.
    Socket,
    /// Pipe or FIFO.
    Pipe,
    /// eventfd.
    Event,
    /// signalfd.
    Signal,
    /// timerfd.
    Timer,
    /// inotify.
    Inotify,
    /// epoll.
    Epoll,
    /// memfd.
    Memfd,
    /// Anything else (`anon_inode:...`, devices).
    Other,
}

/// An open file descriptor in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FdInfo {
    /// fd number.
    pub fd: i32,
    /// Kind.
    pub kind: FdKind,
    /// Path, or the `readlink` text for non-files.
    pub name: String,
    /// Open flags from fdinfo (0 if unknown).
    pub flags: u32,
    /// Inode for pipes and sockets (0 otherwise).
    pub ino: u64,
    /// Socket tuple, when a socket.
    pub socket: Option<SocketInfo>,
}

/// A thread or process in the snapshot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcInfo {
    /// Thread id.
    pub tid: u32,
    /// Thread group id.
    pub pid: u32,
    /// Parent's thread group id.
    pub ppid: u32,
    /// pid in its own namespace.
    pub vpid: u32,
    /// tid in its own namespace.
    pub vtid: u32,
    /// comm.
    pub comm: String,
    /// readlink of /proc/PID/exe (empty for kernel threads).
    pub exe: String,
    /// argv.
    pub args: Vec<String>,
    /// readlink of /proc/PID/cwd.
    pub cwd: String,
    /// Real, effective uid.
    pub uid: u32,
    /// Effective uid.
    pub euid: u32,
    /// Real gid.
    pub gid: u32,
    /// Effective gid.
    pub egid: u32,
    /// Audit login uid (u32::MAX when unset).
    pub loginuid: u32,
    /// Controlling tty (stat field 7).
    pub tty: u32,
    /// Session id.
    pub sid: u32,
    /// Process group id.
    pub pgid: u32,
    /// Start time, CLOCK_BOOTTIME ns.
    pub start_time_ns: u64,
    /// cgroup v2 path.
    pub cgroup: String,
    /// Container id (12+ hex chars) parsed from the cgroup path, empty on the host.
    pub container_id: String,
    /// Effective capabilities.
    pub cap_effective: u64,
    /// Open fds (only on the thread group leader; threads share them).
    pub fds: Vec<FdInfo>,
}

/// A user from /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// uid.
    pub uid: u32,
    /// gid.
    pub gid: u32,
    /// Login name.
    pub name: String,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
}

/// A group from /etc/group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupInfo {
    /// gid.
    pub gid: u32,
    /// Group name.
    pub name: String,
}

/// The state of the machine when recording started.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// When the snapshot was taken, CLOCK_BOOTTIME ns.
    pub ts: u64,
    /// Every thread (threads of a process share the leader's fds).
    pub procs: Vec<ProcInfo>,
    /// /etc/passwd.
    pub users: Vec<UserInfo>,
    /// /etc/group.
    pub groups: Vec<GroupInfo>,
}

/// How a recording ended; written into the footer summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Events written.
    pub events: u64,
    /// Events lost (sum of all gap markers).
    pub drops: u64,
    /// Per-CPU losses.
    pub drops_per_cpu: Vec<u64>,
    /// Why recording stopped (`signal`, `duration`, `count`, `command`, `rotation`).
    pub stop_reason: String,
    /// Exit status of the launched command, when there was one.
    pub command_status: Option<i32>,
}
