//! Scenario tests: synthetic captures built with `RecordBuilder` over a small
//! x86_64 syscall table fixture.

use std::sync::Arc;

use super::sockaddr::{AF_INET, AF_INET6, AF_UNIX};
use super::*;
use crate::event::meta::{ArgDesc, ArgKind, FdInfo, ProcInfo, SyscallDesc, SyscallTable, UserInfo};
use crate::event::wire::{self, ParamKind, Record, RecordBuilder};

pub(super) const OPEN: u16 = 2;
pub(super) const CLOSE: u16 = 3;
pub(super) const DUP: u16 = 32;
pub(super) const DUP2: u16 = 33;
pub(super) const SOCKET: u16 = 41;
pub(super) const CONNECT: u16 = 42;
pub(super) const BIND: u16 = 49;
pub(super) const LISTEN: u16 = 50;
pub(super) const SOCKETPAIR: u16 = 53;
pub(super) const CLONE: u16 = 56;
pub(super) const EXECVE: u16 = 59;
pub(super) const FCNTL: u16 = 72;
pub(super) const CHDIR: u16 = 80;
pub(super) const FCHDIR: u16 = 81;
pub(super) const SETUID: u16 = 105;
pub(super) const SETRESUID: u16 = 117;
pub(super) const PRCTL: u16 = 157;
pub(super) const OPENAT: u16 = 257;
pub(super) const ACCEPT4: u16 = 288;
pub(super) const EVENTFD2: u16 = 290;
pub(super) const PIPE2: u16 = 293;
pub(super) const MEMFD: u16 = 319;
pub(super) const CLOSE_RANGE: u16 = 436;
pub(super) const SETPGID: u16 = 109;
pub(super) const SETSID: u16 = 112;
pub(super) const UNSHARE: u16 = 272;
pub(super) const COMPAT_OPENAT: u16 = 512 + 295;
pub(super) const PIPE: u16 = 22;
pub(super) const ACCEPT: u16 = 43;
pub(super) const CREAT: u16 = 85;
pub(super) const SETGID: u16 = 106;
pub(super) const SETREUID: u16 = 113;
pub(super) const SETREGID: u16 = 114;
pub(super) const SETRESGID: u16 = 119;
pub(super) const EPOLL_CREATE: u16 = 213;
pub(super) const INOTIFY_INIT: u16 = 253;
pub(super) const SIGNALFD: u16 = 282;
pub(super) const TIMERFD_CREATE: u16 = 283;
pub(super) const EVENTFD: u16 = 284;
pub(super) const SIGNALFD4: u16 = 289;
pub(super) const EPOLL_CREATE1: u16 = 291;
pub(super) const DUP3: u16 = 292;
pub(super) const INOTIFY_INIT1: u16 = 294;
pub(super) const EXECVEAT: u16 = 322;
pub(super) const OPENAT2: u16 = 437;

/// The fixture table (arg names as the kernel's).
pub(super) fn table() -> SyscallTable {
    let d = |nr, name: &str, args: &[&str]| SyscallDesc {
        nr,
        compat: false,
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
    };
    SyscallTable {
        source: "fixture".into(),
        syscalls: vec![
            d(OPEN, "open", &["filename", "flags", "mode"]),
            d(CLOSE, "close", &["fd"]),
            d(DUP, "dup", &["fildes"]),
            d(DUP2, "dup2", &["oldfd", "newfd"]),
            d(SOCKET, "socket", &["family", "type", "protocol"]),
            d(CONNECT, "connect", &["fd", "uservaddr", "addrlen"]),
            d(BIND, "bind", &["fd", "umyaddr", "addrlen"]),
            d(LISTEN, "listen", &["fd", "backlog"]),
            d(
                SOCKETPAIR,
                "socketpair",
                &["family", "type", "protocol", "usockvec"],
            ),
            d(
                CLONE,
                "clone",
                &[
                    "clone_flags",
                    "newsp",
                    "parent_tidptr",
                    "child_tidptr",
                    "tls",
                ],
            ),
            d(EXECVE, "execve", &["filename", "argv", "envp"]),
            d(FCNTL, "fcntl", &["fd", "cmd", "arg"]),
            d(CHDIR, "chdir", &["filename"]),
            d(FCHDIR, "fchdir", &["fd"]),
            d(SETUID, "setuid", &["uid"]),
            d(SETRESUID, "setresuid", &["ruid", "euid", "suid"]),
            d(PRCTL, "prctl", &["option", "arg2", "arg3", "arg4", "arg5"]),
            d(OPENAT, "openat", &["dfd", "filename", "flags", "mode"]),
            d(
                ACCEPT4,
                "accept4",
                &["fd", "upeer_sockaddr", "upeer_addrlen", "flags"],
            ),
            d(EVENTFD2, "eventfd2", &["count", "flags"]),
            d(PIPE2, "pipe2", &["fildes", "flags"]),
            d(MEMFD, "memfd_create", &["uname", "flags"]),
            d(CLOSE_RANGE, "close_range", &["fd", "max_fd", "flags"]),
            d(SETPGID, "setpgid", &["pid", "pgid"]),
            d(SETSID, "setsid", &[]),
            d(UNSHARE, "unshare", &["unshare_flags"]),
            d(PIPE, "pipe", &["fildes"]),
            d(ACCEPT, "accept", &["fd", "upeer_sockaddr", "upeer_addrlen"]),
            d(CREAT, "creat", &["pathname", "mode"]),
            d(SETGID, "setgid", &["gid"]),
            d(SETREUID, "setreuid", &["ruid", "euid"]),
            d(SETREGID, "setregid", &["rgid", "egid"]),
            d(SETRESGID, "setresgid", &["rgid", "egid", "sgid"]),
            d(EPOLL_CREATE, "epoll_create", &["size"]),
            d(INOTIFY_INIT, "inotify_init", &[]),
            d(SIGNALFD, "signalfd", &["ufd", "user_mask", "sizemask"]),
            d(TIMERFD_CREATE, "timerfd_create", &["clockid", "flags"]),
            d(EVENTFD, "eventfd", &["count"]),
            d(
                SIGNALFD4,
                "signalfd4",
                &["ufd", "user_mask", "sizemask", "flags"],
            ),
            d(EPOLL_CREATE1, "epoll_create1", &["flags"]),
            d(DUP3, "dup3", &["oldfd", "newfd", "flags"]),
            d(INOTIFY_INIT1, "inotify_init1", &["flags"]),
            d(
                EXECVEAT,
                "execveat",
                &["fd", "filename", "argv", "envp", "flags"],
            ),
            d(OPENAT2, "openat2", &["dfd", "filename", "how", "usize"]),
            SyscallDesc {
                compat: true,
                ..d(295, "openat", &["dfd", "filename", "flags", "mode"])
            },
        ]
        .into(),
    }
}

pub(super) fn ops() -> Arc<Ops> {
    Arc::new(Ops::compile(&table()))
}

pub(super) fn proc_info(tid: u32, pid: u32, ppid: u32, comm: &str) -> ProcInfo {
    ProcInfo {
        tid,
        pid,
        ppid,
        vpid: pid,
        vtid: tid,
        comm: comm.into(),
        exe: format!("/usr/bin/{comm}"),
        args: vec![comm.into()],
        cwd: "/home/u".into(),
        loginuid: 1000,
        ..ProcInfo::default()
    }
}

pub(super) fn tty_fd(fd: i32) -> FdInfo {
    FdInfo {
        fd,
        kind: FdKind::File,
        name: "/dev/pts/0".into(),
        flags: 2,
        ino: 0,
        socket: None,
    }
}

/// init(1) -> bash(100, uid 1000) with fds 0-2.
pub(super) fn snapshot() -> Snapshot {
    let mut bash = proc_info(100, 100, 1, "bash");
    bash.uid = 1000;
    bash.euid = 1000;
    bash.fds = vec![tty_fd(0), tty_fd(1), tty_fd(2)];
    Snapshot {
        ts: 0,
        procs: vec![proc_info(1, 1, 0, "systemd"), bash],
        users: vec![UserInfo {
            uid: 1000,
            gid: 1000,
            name: "u".into(),
            home: "/home/u".into(),
            shell: "/bin/bash".into(),
        }],
        groups: vec![],
    }
}

pub(super) fn state() -> State {
    State::new(ops(), &snapshot())
}

/// A successful syscall record.
pub(super) fn sc(code: u16, tid: u32, ret: i64, args: &[u64]) -> RecordBuilder {
    RecordBuilder::new(code, 0, 1, tid, tid, ret).args(args)
}

pub(super) fn sct(code: u16, tid: u32, pid: u32, ret: i64, args: &[u64]) -> RecordBuilder {
    RecordBuilder::new(code, 0, 1, tid, pid, ret).args(args)
}

pub(super) fn run(st: &mut State, b: RecordBuilder) -> Effect {
    let bytes = b.build();
    let (r, _) = Record::parse(&bytes).expect("test records parse");
    st.apply(&r)
}

pub(super) fn fork_rec(
    parent: u32,
    ppid: u32,
    child: u32,
    child_pid: u32,
    flags: u64,
) -> RecordBuilder {
    RecordBuilder::new(wire::CODE_FORK, 0, 5, parent, ppid, 0).args(&[
        u64::from(child),
        u64::from(child_pid),
        flags,
        u64::from(child),
        u64::from(child_pid),
    ])
}

pub(super) fn pathcomp(p: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for c in p.split('/').filter(|c| !c.is_empty()).rev() {
        v.extend_from_slice(c.as_bytes());
        v.push(0);
    }
    v
}

pub(super) fn exec_rec(tid: u32, argv: &[&str], exe: &str) -> RecordBuilder {
    let mut args = [0u64; wire::exec::NARGS];
    args[wire::exec::OLD_TID] = u64::from(tid);
    args[wire::exec::UID] = 1000;
    args[wire::exec::EUID] = 1000;
    args[wire::exec::LOGINUID] = 1000;
    args[wire::exec::PPID] = 0;
    let mut av = argv.join("\0").into_bytes();
    av.push(0);
    RecordBuilder::new(wire::CODE_EXEC, 0, 9, tid, tid, 0)
        .args(&args)
        .param(wire::exec::P_FILENAME, ParamKind::Str, exe.as_bytes())
        .param(wire::exec::P_ARGV, ParamKind::Argv, &av)
        .param(wire::exec::P_EXE, ParamKind::PathComp, &pathcomp(exe))
        .param(
            wire::exec::P_COMM,
            ParamKind::Str,
            path::basename(exe).as_bytes(),
        )
}

pub(super) const AT_FDCWD: u64 = -100i64 as u64;
pub(super) const O_DIRECTORY: u64 = 0o200000;

pub(super) fn openat(tid: u32, ret: i64, dirfd: u64, p: &str, flags: u64) -> RecordBuilder {
    sc(OPENAT, tid, ret, &[dirfd, 0, flags, 0]).param(1, ParamKind::Str, p.as_bytes())
}

pub(super) fn name(st: &State, pid: u32, fd: i64) -> Option<String> {
    st.fd(pid, fd).map(|e| e.name.to_string())
}

#[test]
fn snapshot_loads() {
    let st = state();
    assert_eq!(st.process(100).unwrap().ppid, 1);
    assert_eq!(&*st.thread(100).unwrap().comm, "bash");
    assert_eq!(name(&st, 100, 0).as_deref(), Some("/dev/pts/0"));
    assert_eq!(st.cwd(100), Some("/home/u"));
    assert_eq!(st.user(1000).unwrap().name, "u");
    assert_eq!(
        st.ancestors(100).map(|p| p.pid).collect::<Vec<_>>(),
        vec![1]
    );
    assert_eq!(st.children(1), vec![100]);
    assert_eq!(st.fd(100, -1), None);
    assert_eq!(st.fd(100, i64::MAX), None);
}

#[test]
fn fork_exec_open_dup_close() {
    let mut st = state();
    run(&mut st, fork_rec(100, 100, 200, 200, 0));
    let child = st.process(200).unwrap();
    assert_eq!((child.ppid, child.start_ts), (100, 5));
    assert_eq!(name(&st, 200, 1).as_deref(), Some("/dev/pts/0"));
    run(&mut st, exec_rec(200, &["cat", "-n", "f"], "/usr/bin/cat"));
    let p = st.process(200).unwrap();
    assert_eq!((p.exe(), &*p.exepath), ("cat", "/usr/bin/cat"));
    assert_eq!(
        p.args().iter().map(|a| &**a).collect::<Vec<_>>(),
        vec!["-n", "f"]
    );
    assert_eq!(&*st.thread(200).unwrap().comm, "cat");
    assert_eq!(
        st.ancestors(200).map(|p| p.pid).collect::<Vec<_>>(),
        vec![100, 1]
    );

    let e = run(&mut st, openat(200, 3, AT_FDCWD, "sub/../f", 0));
    assert_eq!(
        e.fd.map(|(fd, e)| (fd, e.name.to_string())),
        Some((3, "/home/u/f".into()))
    );
    run(&mut st, sc(DUP, 200, 4, &[3]));
    assert_eq!(name(&st, 200, 4).as_deref(), Some("/home/u/f"));
    run(&mut st, sc(DUP2, 200, 1, &[3, 1]));
    assert_eq!(name(&st, 200, 1).as_deref(), Some("/home/u/f"));
    assert_eq!(
        name(&st, 100, 1).as_deref(),
        Some("/dev/pts/0"),
        "parent's table untouched"
    );
    let e = run(&mut st, sc(CLOSE, 200, 0, &[3]));
    assert_eq!(
        e.fd.map(|(fd, _)| fd),
        Some(3),
        "close reports the closed fd"
    );
    assert_eq!(st.fd(200, 3), None);
    // A failed close changes nothing.
    run(&mut st, sc(CLOSE, 200, -9, &[4]));
    assert!(st.fd(200, 4).is_some());
}

/// An imported FORK names the child; without the param it keeps the parent's comm.
#[test]
fn fork_comm_param_names_the_child() {
    let mut st = state();
    let named = fork_rec(100, 100, 200, 200, 0).param(
        wire::fork::P_COMM,
        ParamKind::Str,
        b"runc:[1:CHILD]",
    );
    run(&mut st, named);
    assert_eq!(&*st.thread(200).unwrap().comm, "runc:[1:CHILD]");
    assert_eq!(
        &*st.thread(100).unwrap().comm,
        "bash",
        "the parent keeps its name"
    );
    run(&mut st, fork_rec(100, 100, 300, 300, 0));
    assert_eq!(&*st.thread(300).unwrap().comm, "bash");
}

#[test]
fn threads_share_fds_fork_copies() {
    let mut st = state();
    let thread_flags = ops::CLONE_VM | ops::CLONE_FS | ops::CLONE_FILES | ops::CLONE_THREAD;
    run(&mut st, fork_rec(100, 100, 101, 100, thread_flags));
    assert_eq!(st.process(100).unwrap().nthreads, 2);
    run(&mut st, openat(101, 5, AT_FDCWD, "/etc/hosts", 0).flags(0));
    // openat's header pid must be the group's: build it explicitly.
    let mut st2 = st.clone();
    run(
        &mut st2,
        sct(OPENAT, 101, 100, 6, &[AT_FDCWD, 0, 0, 0]).param(1, ParamKind::Str, b"/etc/a"),
    );
    assert_eq!(
        name(&st2, 100, 6).as_deref(),
        Some("/etc/a"),
        "thread's open is the process's"
    );

    run(&mut st2, fork_rec(100, 100, 300, 300, 0));
    run(&mut st2, openat(300, 7, AT_FDCWD, "/child", 0));
    run(&mut st2, openat(100, 8, AT_FDCWD, "/parent", 0));
    assert_eq!(name(&st2, 300, 6).as_deref(), Some("/etc/a"), "fork copies");
    assert_eq!(st2.fd(100, 7), None);
    assert_eq!(st2.fd(300, 8), None);

    // CLONE_FILES without CLONE_THREAD shares the table between processes.
    run(&mut st2, fork_rec(100, 100, 400, 400, ops::CLONE_FILES));
    run(&mut st2, openat(400, 9, AT_FDCWD, "/shared", 0));
    assert_eq!(name(&st2, 100, 9).as_deref(), Some("/shared"));
    // ...until exec unshares it.
    run(&mut st2, exec_rec(400, &["x"], "/bin/x"));
    run(&mut st2, openat(400, 10, AT_FDCWD, "/own", 0));
    assert_eq!(st2.fd(100, 10), None);
}

#[test]
fn relative_paths_dirfd_and_chdir() {
    let mut st = state();
    run(&mut st, openat(100, 5, AT_FDCWD, "/etc", O_DIRECTORY));
    assert_eq!(st.fd(100, 5).unwrap().kind, FdKind::Directory);
    run(&mut st, openat(100, 6, 5, "ssh/sshd_config", 0));
    assert_eq!(name(&st, 100, 6).as_deref(), Some("/etc/ssh/sshd_config"));
    run(
        &mut st,
        sc(CHDIR, 100, 0, &[0]).param(0, ParamKind::Str, b"../../tmp/x"),
    );
    assert_eq!(st.cwd(100), Some("/tmp/x"));
    run(
        &mut st,
        sc(CHDIR, 100, -2, &[0]).param(0, ParamKind::Str, b"/nope"),
    );
    assert_eq!(st.cwd(100), Some("/tmp/x"), "failed chdir ignored");
    run(&mut st, openat(100, 7, AT_FDCWD, "../var/log", 0));
    assert_eq!(name(&st, 100, 7).as_deref(), Some("/tmp/var/log"));
    run(
        &mut st,
        sc(OPEN, 100, 8, &[0, 0]).param(0, ParamKind::Str, b"rel"),
    );
    assert_eq!(name(&st, 100, 8).as_deref(), Some("/tmp/x/rel"));
    run(&mut st, sc(FCHDIR, 100, 0, &[5]));
    assert_eq!(st.cwd(100), Some("/etc"));
    // Unknown dirfd: the relative path stays relative.
    run(&mut st, openat(100, 9, 77, "a/b", 0));
    assert_eq!(name(&st, 100, 9).as_deref(), Some("a/b"));
}

pub(super) fn inet4(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut v = AF_INET.to_le_bytes().to_vec();
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&ip);
    v.extend_from_slice(&[0; 8]);
    v
}

pub(super) fn inet6(ip: std::net::Ipv6Addr, port: u16) -> Vec<u8> {
    let mut v = AF_INET6.to_le_bytes().to_vec();
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&ip.octets());
    v.extend_from_slice(&[0; 4]);
    v
}

#[test]
fn socket_tuples() {
    let mut st = state();
    // IPv4 client.
    run(&mut st, sc(SOCKET, 100, 3, &[u64::from(AF_INET), 1, 0]));
    let e = run(
        &mut st,
        sc(CONNECT, 100, -115, &[3, 0, 16]).param(
            1,
            ParamKind::Sockaddr,
            &inet4([93, 184, 216, 34], 80),
        ),
    );
    let s = e.fd.unwrap().1.socket.unwrap();
    assert_eq!(
        (s.family, s.l4, s.role),
        (AF_INET, L4Proto::Tcp, Role::Client)
    );
    assert_eq!(
        s.remote,
        Some(SockAddr::Ip("93.184.216.34:80".parse().unwrap()))
    );
    // A refused connect changes nothing.
    run(&mut st, sc(SOCKET, 100, 9, &[u64::from(AF_INET), 2, 0]));
    run(
        &mut st,
        sc(CONNECT, 100, -111, &[9, 0, 16]).param(1, ParamKind::Sockaddr, &inet4([1, 1, 1, 1], 53)),
    );
    assert_eq!(st.fd(100, 9).unwrap().socket.as_ref().unwrap().remote, None);
    assert_eq!(
        st.fd(100, 9).unwrap().socket.as_ref().unwrap().l4,
        L4Proto::Udp
    );

    // IPv6 server: socket, bind, listen, accept4.
    run(
        &mut st,
        sc(SOCKET, 100, 4, &[u64::from(AF_INET6), 1 | 0o2000000, 6]),
    );
    assert!(st.fd(100, 4).unwrap().cloexec());
    run(
        &mut st,
        sc(BIND, 100, 0, &[4, 0, 28]).param(
            1,
            ParamKind::Sockaddr,
            &inet6(std::net::Ipv6Addr::UNSPECIFIED, 443),
        ),
    );
    run(&mut st, sc(LISTEN, 100, 0, &[4, 128]));
    let peer: std::net::Ipv6Addr = "2001:db8::1".parse().unwrap();
    let e = run(
        &mut st,
        sc(ACCEPT4, 100, 5, &[4, 0, 0, 0o2000000]).param(
            1,
            ParamKind::Sockaddr,
            &inet6(peer, 5555),
        ),
    );
    let (fd, ent) = e.fd.unwrap();
    assert_eq!(fd, 5);
    assert!(ent.cloexec());
    let s = ent.socket.unwrap();
    assert_eq!(
        (s.family, s.l4, s.role),
        (AF_INET6, L4Proto::Tcp, Role::Server)
    );
    assert_eq!(s.local, Some(SockAddr::Ip("[::]:443".parse().unwrap())));
    assert_eq!(
        s.remote,
        Some(SockAddr::Ip("[2001:db8::1]:5555".parse().unwrap()))
    );
    assert_eq!(
        st.fd(100, 4).unwrap().socket.as_ref().unwrap().role,
        Role::Server
    );

    // Unix client: a failed connect names the socket for its own event only.
    run(&mut st, sc(SOCKET, 100, 6, &[u64::from(AF_UNIX), 1, 0]));
    let mut un = AF_UNIX.to_le_bytes().to_vec();
    un.extend_from_slice(b"/run/docker.sock\0");
    let e = run(
        &mut st,
        sc(CONNECT, 100, -2, &[6, 0, 19]).param(1, ParamKind::Sockaddr, &un),
    );
    let shown = e.fd.and_then(|(_, e)| e.socket).and_then(|s| s.remote);
    assert_eq!(shown, Some(SockAddr::Unix("/run/docker.sock".into())));
    assert_eq!(
        st.fd(100, 6)
            .unwrap()
            .socket
            .as_ref()
            .and_then(|s| s.remote.clone()),
        None
    );
    run(
        &mut st,
        sc(CONNECT, 100, 0, &[6, 0, 19]).param(1, ParamKind::Sockaddr, &un),
    );
    let s = st.fd(100, 6).unwrap().socket.clone().unwrap();
    assert_eq!(
        (s.family, s.remote),
        (AF_UNIX, Some(SockAddr::Unix("/run/docker.sock".into())))
    );
    // Socketpair.
    run(
        &mut st,
        sc(SOCKETPAIR, 100, 0, &[u64::from(AF_UNIX), 1, 0, 0]).param(
            3,
            ParamKind::Struct,
            &[7, 0, 0, 0, 8, 0, 0, 0],
        ),
    );
    assert_eq!(
        st.fd(100, 8).unwrap().socket.as_ref().unwrap().family,
        AF_UNIX
    );
}

#[test]
fn pipe2_and_close_on_exec() {
    let mut st = state();
    run(
        &mut st,
        sc(PIPE2, 100, 0, &[0, 0o2000000]).param(0, ParamKind::Struct, &[3, 0, 0, 0, 4, 0, 0, 0]),
    );
    assert_eq!(st.fd(100, 3).unwrap().kind, FdKind::Pipe);
    assert_eq!(st.fd(100, 4).unwrap().flags & 3, 1, "write end");
    // A short fd-pair param is ignored (and counted).
    run(
        &mut st,
        sc(PIPE2, 100, 0, &[0, 0]).param(0, ParamKind::Struct, &[9, 0, 0]),
    );
    assert_eq!(st.stats().missing_params, 1);
    run(&mut st, sc(EVENTFD2, 100, 5, &[0, 0o2000000]));
    run(
        &mut st,
        sc(MEMFD, 100, 6, &[0, 0]).param(0, ParamKind::Str, b"payload"),
    );
    assert_eq!(name(&st, 100, 6).as_deref(), Some("memfd:payload"));
    // fd 6 made close-on-exec through fcntl(F_SETFD, FD_CLOEXEC); F_DUPFD_CLOEXEC dup of 0.
    run(&mut st, sc(FCNTL, 100, 0, &[6, 2, 1]));
    run(&mut st, sc(FCNTL, 100, 10, &[0, 1030, 10]));
    assert!(st.fd(100, 10).unwrap().cloexec());
    run(&mut st, exec_rec(100, &["sh"], "/bin/sh"));
    let left: Vec<i32> = st.fd_table(100).unwrap().iter().map(|(f, _)| f).collect();
    assert_eq!(left, vec![0, 1, 2]);
}

#[test]
fn close_range_and_cloexec_flag() {
    let mut st = state();
    for fd in 3..8 {
        run(&mut st, openat(100, fd, AT_FDCWD, "/x", 0));
    }
    run(&mut st, sc(CLOSE_RANGE, 100, 0, &[5, 6, 4]));
    assert!(st.fd(100, 5).unwrap().cloexec());
    run(
        &mut st,
        sc(CLOSE_RANGE, 100, 0, &[4, u64::from(u32::MAX), 0]),
    );
    let left: Vec<i32> = st.fd_table(100).unwrap().iter().map(|(f, _)| f).collect();
    assert_eq!(left, vec![0, 1, 2, 3]);
}

#[test]
fn ops_of_the_built_in_table_are_compiled_once_and_shared() {
    let built_in = crate::event::table::Syscalls::default_x86_64().table();
    let (a, b) = (Ops::of(built_in), Ops::of(&built_in.clone()));
    assert!(Arc::ptr_eq(&a, &b));
    let open = crate::event::table::Syscalls::default_x86_64().codes("open")[0];
    assert_eq!(*a, Ops::compile(built_in));
    assert_ne!(a.get(open), Op::Ignore);
    // Another table (names given by the capture) is compiled on its own.
    let (c, d) = (Ops::of(&table()), Ops::of(&table()));
    assert!(!Arc::ptr_eq(&c, &d) && !Arc::ptr_eq(&a, &c));
}
