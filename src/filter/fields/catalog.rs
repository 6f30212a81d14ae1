//! The static field catalogue: every field saker knows, its class, value
//! type, argument rule, whether saker captures can ever give it a value, and
//! its description (as in libsinsp / the container plugin, see `fields.md`).

use crate::filter::FieldType;

/// Field classes, as `sysdig -l` groups them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// `evt.*`, `syscall.type`.
    Evt,
    /// `proc.*`.
    Proc,
    /// `thread.*`.
    Thread,
    /// `fd.*`.
    Fd,
    /// `user.*`.
    User,
    /// `group.*`.
    Group,
    /// `container.*`.
    Container,
    /// `k8s.*`.
    K8s,
    /// `fs.path.*`.
    Fs,
}

impl Class {
    /// Name shown by `saker fields`.
    pub fn name(self) -> &'static str {
        match self {
            Class::Evt => "evt",
            Class::Proc => "process",
            Class::Thread => "thread",
            Class::Fd => "fd",
            Class::User => "user",
            Class::Group => "group",
            Class::Container => "container",
            Class::K8s => "k8s",
            Class::Fs => "fs.path",
        }
    }
}

/// What a field accepts in `[...]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgRule {
    /// No argument.
    None,
    /// Optional non-negative index (`proc.aname[2]`).
    OptIndex,
    /// Required index or argument name (`evt.arg[1]`, `evt.arg[flags]`).
    IndexOrName,
    /// Required free text (`container.mount.dest[/etc]`).
    Text,
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Avail {
    /// Extracted from saker captures.
    Yes,
    /// Known for rule compatibility, but saker captures never record it (the
    /// field never has a value; the text says why).
    Never(&'static str),
}

/// One catalogue entry.
#[derive(Debug, Clone, Copy)]
pub struct FieldDef {
    /// Accessor.
    pub id: Fid,
    /// Full name (`proc.name`).
    pub name: &'static str,
    /// Value type.
    pub ty: FieldType,
    /// Accepted argument.
    pub arg: ArgRule,
    /// Availability in saker captures.
    pub avail: Avail,
    /// One-line description.
    pub desc: &'static str,
}

impl FieldDef {
    /// The field's class (catalogue ids are grouped by class).
    #[inline]
    pub fn class(&self) -> Class {
        let i = self.id as u32;
        let before = |f: Fid| i < f as u32;
        if before(Fid::ProcPid) {
            Class::Evt
        } else if before(Fid::ThreadTid) {
            Class::Proc
        } else if before(Fid::FdNum) {
            Class::Thread
        } else if before(Fid::UserUid) {
            Class::Fd
        } else if before(Fid::GroupGid) {
            Class::User
        } else if before(Fid::ContainerId) {
            Class::Group
        } else if before(Fid::K8sPodName) {
            Class::Container
        } else if before(Fid::FsPathName) {
            Class::K8s
        } else {
            Class::Fs
        }
    }
}

macro_rules! catalog {
    ($( $id:ident $name:literal $ty:ident $arg:ident $avail:expr, $desc:literal; )*) => {
        /// Field accessor ids (one per catalogue entry).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(missing_docs)]
        pub enum Fid { $($id,)* }

        /// Every field, in `saker fields` order.
        pub static CATALOG: &[FieldDef] = &[
            $(FieldDef {
                id: Fid::$id,
                name: $name,
                ty: FieldType::$ty,
                arg: ArgRule::$arg,
                avail: $avail,
                desc: $desc,
            },)*
        ];
    };
}

const Y: Avail = Avail::Yes;
const NO_INODE: Avail = Avail::Never("the recorder does not capture exe inode data");
const NO_ENV: Avail = Avail::Never("the recorder does not capture environments");
const NO_DNS: Avail = Avail::Never("needs DNS resolution at capture time");
const NO_RUNTIME: Avail =
    Avail::Never("needs a container runtime query; saker only knows container ids");
const NO_CAPS: Avail = Avail::Never("the recorder captures only the effective set");

catalog! {
    EvtNum "evt.num" U64 None Y, "event number (1 = first event of the capture).";
    EvtTime "evt.time" Str None Y, "event timestamp as HH:MM:SS.nnnnnnnnn (UTC).";
    EvtTimeS "evt.time.s" Str None Y, "event timestamp as HH:MM:SS (UTC).";
    EvtTimeIso "evt.time.iso8601" Str None Y, "event timestamp in ISO 8601 with nanoseconds, UTC.";
    EvtDatetime "evt.datetime" Str None Y, "event timestamp with the date: YYYY-MM-DD HH:MM:SS.nnnnnnnnn (UTC).";
    EvtDatetimeS "evt.datetime.s" Str None Y, "event timestamp with the date, no nanoseconds (UTC).";
    EvtRawtime "evt.rawtime" AbsTime None Y, "absolute event timestamp, ns since the epoch.";
    EvtRawtimeS "evt.rawtime.s" AbsTime None Y, "integer part of the event timestamp (seconds since the epoch).";
    EvtRawtimeNs "evt.rawtime.ns" AbsTime None Y, "fractional part of the event timestamp, in ns.";
    EvtReltime "evt.reltime" Duration None Y, "ns from the first event of the capture.";
    EvtReltimeS "evt.reltime.s" Duration None Y, "seconds from the first event of the capture.";
    EvtReltimeNs "evt.reltime.ns" Duration None Y, "fractional part (ns) of the time from the first event.";
    EvtLatency "evt.latency" Duration None Y, "ns between syscall entry and exit (captures recorded with --latency).";
    EvtLatencyS "evt.latency.s" Duration None Y, "integer part (s) of the latency.";
    EvtLatencyNs "evt.latency.ns" Duration None Y, "fractional part (ns) of the latency.";
    EvtLatencyHuman "evt.latency.human" Str None Y, "latency as human readable text (10.3ms).";
    EvtOutputtime "evt.outputtime" Str None Y, "the timestamp as selected with -t (default: evt.time).";
    EvtDir "evt.dir" Str None Y, "event direction: '<' for syscall exits (saker events are exit events), '>' for procexit and drop.";
    EvtType "evt.type" Str None Y, "event name: the syscall name, or procfork/procexec/procexit/drop.";
    SyscallType "syscall.type" Str None Y, "for syscall events, the name of the syscall.";
    EvtCategory "evt.category" Str None Y, "event category (file, net, ipc, memory, process, signal, time, system, io_read...).";
    EvtCpu "evt.cpu" I64 None Y, "CPU the event happened on.";
    EvtArgs "evt.args" Str None Y, "all event arguments as one string.";
    EvtInfo "evt.info" Str None Y, "same as evt.args.";
    EvtArg "evt.arg" Str IndexOrName Y, "one argument by number (evt.arg[0] is the return value) or name (evt.arg.flags).";
    EvtRawarg "evt.rawarg" I64 IndexOrName Y, "one argument as its raw register value (evt.rawarg.flags).";
    EvtBuffer "evt.buffer" Bytes None Y, "the captured I/O data buffer (read, write, sendto...).";
    EvtBuflen "evt.buflen" U64 None Y, "length of the I/O data transferred.";
    EvtRes "evt.res" Str None Y, "return value as text: SUCCESS or the errno name (ENOENT).";
    EvtRawres "evt.rawres" I64 None Y, "return value as a number.";
    EvtFailed "evt.failed" Bool None Y, "true for syscalls that returned an error.";
    EvtIsIo "evt.is_io" Bool None Y, "true for syscalls that read or write fds.";
    EvtIsIoRead "evt.is_io_read" Bool None Y, "true for syscalls that read from fds.";
    EvtIsIoWrite "evt.is_io_write" Bool None Y, "true for syscalls that write to fds.";
    EvtIoDir "evt.io_dir" Str None Y, "'r' for reads, 'w' for writes.";
    EvtIsOpenRead "evt.is_open_read" Bool None Y, "true for opens for reading.";
    EvtIsOpenWrite "evt.is_open_write" Bool None Y, "true for opens for writing.";
    EvtIsOpenExec "evt.is_open_exec" Bool None Y, "true for opens that create a file with execute permissions.";
    EvtIsOpenCreate "evt.is_open_create" Bool None Y, "true for successful opens with O_CREAT.";
    EvtCount "evt.count" U64 None Y, "always 1.";
    EvtCountError "evt.count.error" U64 None Y, "1 for syscalls that returned an error.";
    EvtCountExit "evt.count.exit" U64 None Y, "1 for exit events (every syscall event).";
    EvtHostname "evt.hostname" Str None Y, "hostname of the machine the capture was recorded on.";
    EvtSource "evt.source" Str None Y, "event source: syscall.";
    EvtIsAsync "evt.is_async" Bool None Y, "always false (saker records no asynchronous events).";

    ProcPid "proc.pid" I64 None Y, "id of the process generating the event.";
    ProcPpid "proc.ppid" I64 None Y, "pid of the parent process.";
    ProcVpid "proc.vpid" I64 None Y, "pid as seen from the process's own pid namespace.";
    ProcPvpid "proc.pvpid" I64 None Y, "parent's pid as seen from its own pid namespace.";
    ProcName "proc.name" Str None Y, "process name (comm, at most 15 characters).";
    ProcPname "proc.pname" Str None Y, "name of the parent process.";
    ProcAname "proc.aname" Str OptIndex Y, "name of ancestor N (proc.aname[0] = self, [1] = parent); without N, every ancestor.";
    ProcApid "proc.apid" I64 OptIndex Y, "pid of ancestor N; without N, every ancestor.";
    ProcExe "proc.exe" Str None Y, "argv[0] of the process.";
    ProcPexe "proc.pexe" Str None Y, "argv[0] of the parent process.";
    ProcAexe "proc.aexe" Str OptIndex Y, "argv[0] of ancestor N; without N, every ancestor.";
    ProcExepath "proc.exepath" Str None Y, "full executable path.";
    ProcPexepath "proc.pexepath" Str None Y, "full executable path of the parent.";
    ProcAexepath "proc.aexepath" Str OptIndex Y, "full executable path of ancestor N; without N, every ancestor.";
    ProcArgs "proc.args" Str None Y, "command line arguments without argv[0], space separated.";
    ProcCmdline "proc.cmdline" Str None Y, "proc.name followed by proc.args.";
    ProcPcmdline "proc.pcmdline" Str None Y, "command line of the parent process.";
    ProcAcmdline "proc.acmdline" Str OptIndex Y, "command line of ancestor N; without N, every ancestor.";
    ProcCmdnargs "proc.cmdnargs" U64 None Y, "number of command line arguments (proc.args).";
    ProcCmdlenargs "proc.cmdlenargs" U64 None Y, "total length of the command line arguments, without separators.";
    ProcExeline "proc.exeline" Str None Y, "proc.exe followed by proc.args.";
    ProcEnv "proc.env" Str OptIndex NO_ENV, "environment variables of the process.";
    ProcCwd "proc.cwd" Str None Y, "current working directory, with a trailing '/'.";
    ProcLoginshellid "proc.loginshellid" I64 None Y, "pid of the oldest shell among the process and its ancestors.";
    ProcTty "proc.tty" U64 None Y, "controlling terminal (0: none).";
    ProcSid "proc.sid" I64 None Y, "session id.";
    ProcSname "proc.sname" Str None Y, "name of the session leader.";
    ProcSidExe "proc.sid.exe" Str None Y, "argv[0] of the session leader.";
    ProcSidExepath "proc.sid.exepath" Str None Y, "executable path of the session leader.";
    ProcVpgid "proc.vpgid" I64 None Y, "process group id as seen from the process's pid namespace (host namespace only).";
    ProcVpgidName "proc.vpgid.name" Str None Y, "name of the process group leader.";
    ProcPgid "proc.pgid" I64 None Y, "process group id (host pid namespace).";
    ProcPgidName "proc.pgid.name" Str None Y, "name of the process group leader.";
    ProcIsSidLeader "proc.is_sid_leader" Bool None Y, "true if the process leads its session.";
    ProcIsVpgidLeader "proc.is_vpgid_leader" Bool None Y, "true if the process leads its process group.";
    ProcIsPgidLeader "proc.is_pgid_leader" Bool None Y, "true if the process leads its process group.";
    ProcDuration "proc.duration" Duration None Y, "ns since the process started.";
    ProcPpidDuration "proc.ppid.duration" Duration None Y, "ns since the parent process started.";
    ProcPidTs "proc.pid.ts" AbsTime None Y, "process start, ns since the epoch.";
    ProcPpidTs "proc.ppid.ts" AbsTime None Y, "parent process start, ns since the epoch.";
    ProcIsExeWritable "proc.is_exe_writable" Bool None Y, "true if the executable is writable by the process's user (known for execs seen in the capture).";
    ProcIsExeUpperLayer "proc.is_exe_upper_layer" Bool None Y, "true if the executable lives in an overlayfs upper layer (known for execs seen in the capture).";
    ProcIsExeFromMemfd "proc.is_exe_from_memfd" Bool None Y, "true if the executable has no links (memfd or deleted file; known for execs seen in the capture).";
    ProcExeIno "proc.exe_ino" I64 None NO_INODE, "inode of the executable.";
    ProcExeInoCtime "proc.exe_ino.ctime" AbsTime None NO_INODE, "ctime of the executable's inode.";
    ProcExeInoMtime "proc.exe_ino.mtime" AbsTime None NO_INODE, "mtime of the executable's inode.";
    ProcExeInoCtimeDur "proc.exe_ino.ctime_duration_proc_start" AbsTime None NO_INODE, "ns between the exe's ctime and the process start.";
    ProcNthreads "proc.nthreads" U64 None Y, "number of live threads of the process.";
    ProcNchilds "proc.nchilds" U64 None Y, "number of live threads other than the leader.";
    ProcFdopencount "proc.fdopencount" U64 None Y, "number of open fds of the process.";
    ProcStdinType "proc.stdin.type" Str None Y, "type of fd 0.";
    ProcStdoutType "proc.stdout.type" Str None Y, "type of fd 1.";
    ProcStderrType "proc.stderr.type" Str None Y, "type of fd 2.";
    ProcStdinName "proc.stdin.name" Str None Y, "name of fd 0.";
    ProcStdoutName "proc.stdout.name" Str None Y, "name of fd 1.";
    ProcStderrName "proc.stderr.name" Str None Y, "name of fd 2.";

    ThreadTid "thread.tid" I64 None Y, "id of the thread generating the event.";
    ThreadVtid "thread.vtid" I64 None Y, "thread id as seen from its pid namespace.";
    ThreadIsmain "thread.ismain" Bool None Y, "true for the process's main thread.";
    ThreadCapEffective "thread.cap_effective" Str None Y, "effective capabilities (CAP_CHOWN CAP_KILL ...).";
    ThreadCapPermitted "thread.cap_permitted" Str None NO_CAPS, "permitted capabilities.";
    ThreadCapInheritable "thread.cap_inheritable" Str None NO_CAPS, "inheritable capabilities.";

    FdNum "fd.num" I64 None Y, "the fd the event works on (-1 for a failed open).";
    FdType "fd.type" Str None Y, "fd type: file, directory, ipv4, ipv6, unix, pipe, event, signalfd, eventpoll, inotify, timerfd, netlink, memfd...";
    FdTypechar "fd.typechar" Str None Y, "fd type as one character (f d 4 6 u p e s l i t n m o).";
    FdName "fd.name" Str None Y, "full name: the path, or the connection tuple (cip:cport->sip:sport).";
    FdNameraw "fd.nameraw" Str None Y, "the name as passed to the syscall, unresolved (opens), else fd.name.";
    FdDirectory "fd.directory" Str None Y, "directory part of a file's name (the name for directories).";
    FdFilename "fd.filename" Str None Y, "file name without its directory.";
    FdIp "fd.ip" Ip None Y, "client or server IP (filter only).";
    FdCip "fd.cip" Ip None Y, "client IP.";
    FdSip "fd.sip" Ip None Y, "server IP.";
    FdLip "fd.lip" Ip None Y, "local IP.";
    FdRip "fd.rip" Ip None Y, "remote IP.";
    FdNet "fd.net" IpNet None Y, "matches the client or server IP network (filter only).";
    FdCnet "fd.cnet" IpNet None Y, "matches the client IP network.";
    FdSnet "fd.snet" IpNet None Y, "matches the server IP network.";
    FdLnet "fd.lnet" IpNet None Y, "matches the local IP network.";
    FdRnet "fd.rnet" IpNet None Y, "matches the remote IP network.";
    FdPort "fd.port" Port None Y, "client or server port (filter only).";
    FdCport "fd.cport" Port None Y, "client port.";
    FdSport "fd.sport" Port None Y, "server port.";
    FdLport "fd.lport" Port None Y, "local port.";
    FdRport "fd.rport" Port None Y, "remote port.";
    FdL4proto "fd.l4proto" Str None Y, "IP protocol of a socket: tcp, udp, icmp, raw.";
    FdSockfamily "fd.sockfamily" Str None Y, "socket family: ip or unix.";
    FdIsServer "fd.is_server" Bool None Y, "true if this process is the server end of the connection.";
    FdConnected "fd.connected" Bool None Y, "true if the socket is connected.";
    FdNameChanged "fd.name_changed" Bool None Y, "true when the event changed the tuple of the socket it works on.";
    FdIno "fd.ino" I64 None Y, "inode of the fd (pipes, and sockets from the start snapshot).";
    FdCipName "fd.cip.name" Str None NO_DNS, "domain name of the client IP.";
    FdSipName "fd.sip.name" Str None NO_DNS, "domain name of the server IP.";
    FdLipName "fd.lip.name" Str None NO_DNS, "domain name of the local IP.";
    FdRipName "fd.rip.name" Str None NO_DNS, "domain name of the remote IP.";

    UserUid "user.uid" U64 None Y, "effective user id.";
    UserName "user.name" Str None Y, "user name (from the capture's /etc/passwd).";
    UserHomedir "user.homedir" Str None Y, "home directory of the user.";
    UserShell "user.shell" Str None Y, "login shell of the user.";
    UserLoginuid "user.loginuid" I64 None Y, "audit login uid (-1 when unset).";
    UserLoginname "user.loginname" Str None Y, "name of the audit login user.";
    GroupGid "group.gid" U64 None Y, "effective group id.";
    GroupName "group.name" Str None Y, "group name (from the capture's /etc/group).";

    ContainerId "container.id" Str None Y, "12-character container id from the cgroup path, or 'host'.";
    ContainerName "container.name" Str None Y, "'host' for host processes; the name from imported .scap container metadata (saker captures have none: it needs the runtime).";
    ContainerImage "container.image" Str None Y, "container image, from imported .scap container metadata.";
    ContainerImageRepository "container.image.repository" Str None Y, "container image repository, from imported .scap container metadata.";
    ContainerImageTag "container.image.tag" Str None Y, "container image tag, from imported .scap container metadata.";
    ContainerPrivileged "container.privileged" Bool None Y, "true for privileged containers, from imported .scap container metadata.";
    ContainerStartTs "container.start_ts" AbsTime None NO_RUNTIME, "container start time.";
    ContainerMounts "container.mounts" Str None NO_RUNTIME, "container mounts.";
    ContainerMountDest "container.mount.dest" Str Text NO_RUNTIME, "destination of the container mount matching the argument.";
    K8sPodName "k8s.pod.name" Str None NO_RUNTIME, "Kubernetes pod name.";
    K8sNsName "k8s.ns.name" Str None NO_RUNTIME, "Kubernetes namespace name.";

    FsPathName "fs.path.name" Str None Y, "for path syscalls without an fd (mkdir, unlink, chmod...), the resolved path.";
    FsPathNameraw "fs.path.nameraw" Str None Y, "the path as passed to the syscall.";
    FsPathSource "fs.path.source" Str None Y, "for rename/link/symlink, the resolved source path.";
    FsPathSourceraw "fs.path.sourceraw" Str None Y, "the source path as passed.";
    FsPathTarget "fs.path.target" Str None Y, "for rename/link/symlink, the resolved target path.";
    FsPathTargetraw "fs.path.targetraw" Str None Y, "the target path as passed.";
}
