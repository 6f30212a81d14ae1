//! One test per state syscall that the scenario tests of `tests.rs` do not reach:
//! openat2, creat, accept, dup3, fcntl F_DUPFD, eventfd, signalfd/signalfd4,
//! timerfd_create, inotify_init/inotify_init1, epoll_create/epoll_create1, pipe (with and
//! without an inode), the setgid family, setreuid, and execveat.

use super::tests::*;
use super::*;
use crate::event::wire::ParamKind;

const O_CLOEXEC: u64 = 0o2000000;
const O_WRONLY: u32 = 1;
const O_RDWR: u32 = 2;
const O_CREAT: u32 = 0o100;
const O_TRUNC: u32 = 0o1000;

fn kind_name_flags(st: &State, fd: i64) -> (FdKind, String, u32) {
    let e = st
        .fd(100, fd)
        .unwrap_or_else(|| panic!("fd {fd} not in the table"));
    (e.kind, e.name.to_string(), e.flags)
}

#[test]
fn openat2_takes_flags_from_open_how() {
    let mut st = state();
    let mut how = (u64::from(O_RDWR) | O_CLOEXEC).to_le_bytes().to_vec();
    how.extend_from_slice(&[0; 16]);
    run(
        &mut st,
        sc(OPENAT2, 100, 5, &[AT_FDCWD, 0, 0, 24])
            .param(1, ParamKind::Str, b"notes.txt")
            .param(2, ParamKind::Struct, &how),
    );
    let (k, n, f) = kind_name_flags(&st, 5);
    assert_eq!((k, n.as_str()), (FdKind::File, "/home/u/notes.txt"));
    assert_eq!(f & 3, O_RDWR);
    assert!(st.fd(100, 5).unwrap().cloexec());
    // O_DIRECTORY through open_how.
    let mut how = (O_DIRECTORY).to_le_bytes().to_vec();
    how.extend_from_slice(&[0; 16]);
    run(
        &mut st,
        sc(OPENAT2, 100, 6, &[AT_FDCWD, 0, 0, 24])
            .param(1, ParamKind::Str, b"/etc")
            .param(2, ParamKind::Struct, &how),
    );
    assert_eq!(st.fd(100, 6).unwrap().kind, FdKind::Directory);
    // A failed openat2 adds nothing.
    run(
        &mut st,
        sc(OPENAT2, 100, -2, &[AT_FDCWD, 0, 0, 24]).param(1, ParamKind::Str, b"/nope"),
    );
    assert_eq!(st.fd(100, 7), None);
}

#[test]
fn creat_is_open_wronly_creat_trunc() {
    let mut st = state();
    run(
        &mut st,
        sc(CREAT, 100, 3, &[0, 0o644]).param(0, ParamKind::Str, b"out.log"),
    );
    let (k, n, f) = kind_name_flags(&st, 3);
    assert_eq!((k, n.as_str()), (FdKind::File, "/home/u/out.log"));
    assert_eq!(f, O_WRONLY | O_CREAT | O_TRUNC);
}

#[test]
fn plain_accept_is_a_server_socket_without_cloexec() {
    let mut st = state();
    run(
        &mut st,
        sc(SOCKET, 100, 3, &[u64::from(sockaddr::AF_INET), 1, 0]),
    );
    run(
        &mut st,
        sc(BIND, 100, 0, &[3, 0, 16]).param(1, ParamKind::Sockaddr, &inet4([0, 0, 0, 0], 8080)),
    );
    run(&mut st, sc(LISTEN, 100, 0, &[3, 16]));
    run(
        &mut st,
        sc(ACCEPT, 100, 4, &[3, 0, 0]).param(1, ParamKind::Sockaddr, &inet4([192, 0, 2, 7], 40000)),
    );
    let e = st.fd(100, 4).unwrap();
    assert!(!e.cloexec());
    let s = e.socket.as_ref().unwrap();
    assert_eq!((s.l4, s.role), (L4Proto::Tcp, Role::Server));
    assert_eq!(s.local, Some(SockAddr::Ip("0.0.0.0:8080".parse().unwrap())));
    assert_eq!(
        s.remote,
        Some(SockAddr::Ip("192.0.2.7:40000".parse().unwrap()))
    );
    // A failed accept adds nothing.
    run(&mut st, sc(ACCEPT, 100, -11, &[3, 0, 0]));
    assert_eq!(st.fd(100, 5), None);
}

/// The ends the recorder reads from the kernel (Sockaddr params on the fd
/// arg) win over the buffers: bind to port 0 names the picked port, accept
/// with NULL buffers still gets both ends of the new socket.
#[test]
fn kernel_ends_name_bound_and_accepted_sockets() {
    let mut st = state();
    run(
        &mut st,
        sc(SOCKET, 100, 3, &[u64::from(sockaddr::AF_INET), 1, 0]),
    );
    run(
        &mut st,
        sc(BIND, 100, 0, &[3, 0, 16])
            .param(0, ParamKind::Sockaddr, &inet4([0, 0, 0, 0], 41234))
            .param(1, ParamKind::Sockaddr, &inet4([0, 0, 0, 0], 0)),
    );
    let ip = |s: &str| Some(SockAddr::Ip(s.parse().unwrap()));
    let sock = |st: &State, fd| st.fd(100, fd).unwrap().socket.clone().unwrap();
    assert_eq!(sock(&st, 3).local, ip("0.0.0.0:41234"));
    run(&mut st, sc(LISTEN, 100, 0, &[3, 16]));
    run(
        &mut st,
        sc(ACCEPT, 100, 4, &[3, 0, 0])
            .param(0, ParamKind::Sockaddr, &inet4([10, 0, 0, 5], 41234))
            .param(0, ParamKind::Sockaddr, &inet4([192, 0, 2, 7], 40000)),
    );
    let s = sock(&st, 4);
    assert_eq!(
        (s.local, s.remote),
        (ip("10.0.0.5:41234"), ip("192.0.2.7:40000"))
    );
    // listen on an unbound socket: the kernel's autobind port.
    run(
        &mut st,
        sc(SOCKET, 100, 5, &[u64::from(sockaddr::AF_INET), 1, 0]),
    );
    run(
        &mut st,
        sc(LISTEN, 100, 0, &[5, 16]).param(0, ParamKind::Sockaddr, &inet4([0, 0, 0, 0], 39999)),
    );
    let s = sock(&st, 5);
    assert_eq!((s.local, s.role), (ip("0.0.0.0:39999"), Role::Server));
}

#[test]
fn dup3_copies_and_sets_cloexec() {
    let mut st = state();
    run(&mut st, openat(100, 3, AT_FDCWD, "/etc/passwd", 0));
    run(&mut st, sc(DUP3, 100, 9, &[3, 9, O_CLOEXEC]));
    assert_eq!(name(&st, 100, 9).as_deref(), Some("/etc/passwd"));
    assert!(st.fd(100, 9).unwrap().cloexec());
    run(&mut st, sc(DUP3, 100, 1, &[3, 1, 0]));
    assert_eq!(name(&st, 100, 1).as_deref(), Some("/etc/passwd"));
    assert!(!st.fd(100, 1).unwrap().cloexec());
    // dup3 onto an fd from an unknown source forgets what the new fd was.
    run(&mut st, sc(DUP3, 100, 2, &[77, 2, 0]));
    assert_eq!(st.fd(100, 2), None);
}

#[test]
fn fcntl_dupfd_copies_without_cloexec() {
    let mut st = state();
    run(
        &mut st,
        openat(100, 3, AT_FDCWD, "/var/log/syslog", O_CLOEXEC),
    );
    assert!(st.fd(100, 3).unwrap().cloexec());
    // F_DUPFD (0) with a lower bound of 10 returns 10; the copy is not close-on-exec.
    run(&mut st, sc(FCNTL, 100, 10, &[3, 0, 10]));
    assert_eq!(name(&st, 100, 10).as_deref(), Some("/var/log/syslog"));
    assert!(!st.fd(100, 10).unwrap().cloexec());
    // F_GETFL (3) creates nothing.
    run(&mut st, sc(FCNTL, 100, 0o100002, &[3, 3, 0]));
    assert_eq!(st.fd_table(100).unwrap().iter().count(), 5);
}

#[test]
fn anonymous_fds() {
    let mut st = state();
    /// (code, args, returned fd, kind, name, close-on-exec)
    type Case = (u16, &'static [u64], i64, FdKind, &'static str, bool);
    let cases: &[Case] = &[
        (
            EVENTFD,
            &[0],
            3,
            FdKind::Event,
            "anon_inode:[eventfd]",
            false,
        ),
        (
            TIMERFD_CREATE,
            &[1, O_CLOEXEC],
            4,
            FdKind::Timer,
            "anon_inode:[timerfd]",
            true,
        ),
        (
            TIMERFD_CREATE,
            &[1, 0o4000],
            5,
            FdKind::Timer,
            "anon_inode:[timerfd]",
            false,
        ),
        (
            INOTIFY_INIT,
            &[],
            6,
            FdKind::Inotify,
            "anon_inode:inotify",
            false,
        ),
        (
            INOTIFY_INIT1,
            &[O_CLOEXEC],
            7,
            FdKind::Inotify,
            "anon_inode:inotify",
            true,
        ),
        (
            EPOLL_CREATE,
            &[10],
            8,
            FdKind::Epoll,
            "anon_inode:[eventpoll]",
            false,
        ),
        (
            EPOLL_CREATE1,
            &[O_CLOEXEC],
            9,
            FdKind::Epoll,
            "anon_inode:[eventpoll]",
            true,
        ),
        (
            EPOLL_CREATE1,
            &[0],
            10,
            FdKind::Epoll,
            "anon_inode:[eventpoll]",
            false,
        ),
    ];
    for &(code, args, fd, kind, n, cloexec) in cases {
        run(&mut st, sc(code, 100, fd, args));
        let e = st
            .fd(100, fd)
            .unwrap_or_else(|| panic!("code {code}: no fd {fd}"));
        assert_eq!(
            (e.kind, &*e.name, e.cloexec()),
            (kind, n, cloexec),
            "code {code}"
        );
        assert_eq!(e.flags & 3, O_RDWR, "code {code}");
    }
    // Failures add nothing.
    run(&mut st, sc(EPOLL_CREATE, 100, -22, &[0]));
    run(&mut st, sc(INOTIFY_INIT, 100, -24, &[]));
    assert_eq!(st.fd_table(100).unwrap().iter().count(), 3 + cases.len());
}

#[test]
fn signalfd_new_and_mask_update() {
    let mut st = state();
    let minus1 = u64::from(u32::MAX); // ufd = -1 as an int register value
    run(&mut st, sc(SIGNALFD, 100, 3, &[minus1, 0, 8]));
    let (k, n, _) = kind_name_flags(&st, 3);
    assert_eq!((k, n.as_str()), (FdKind::Signal, "anon_inode:[signalfd]"));
    assert!(!st.fd(100, 3).unwrap().cloexec());
    run(
        &mut st,
        sc(SIGNALFD4, 100, 4, &[-1i64 as u64, 0, 8, O_CLOEXEC]),
    );
    assert_eq!(st.fd(100, 4).unwrap().kind, FdKind::Signal);
    assert!(st.fd(100, 4).unwrap().cloexec());
    // Updating the mask of fd 0 (not -1) must not turn the tty into a signalfd.
    run(&mut st, sc(SIGNALFD4, 100, 0, &[0, 0, 8, 0]));
    assert_eq!(name(&st, 100, 0).as_deref(), Some("/dev/pts/0"));
}

#[test]
fn pipe_with_and_without_inode() {
    let mut st = state();
    // pipe(): the recorder's 8-byte fd pair; no name (sysdig shows none), no inode.
    run(
        &mut st,
        sc(PIPE, 100, 0, &[0]).param(0, ParamKind::Struct, &[3, 0, 0, 0, 4, 0, 0, 0]),
    );
    let r = st.fd(100, 3).unwrap();
    assert_eq!(
        (r.kind, &*r.name, r.flags & 3, r.ino),
        (FdKind::Pipe, "", 0, 0)
    );
    assert!(!r.cloexec());
    assert_eq!(st.fd(100, 4).unwrap().flags & 3, O_WRONLY);
    // pipe2 with the inode after the fd pair (as the .scap importer writes it).
    let mut pair = vec![5, 0, 0, 0, 6, 0, 0, 0];
    pair.extend_from_slice(&38688u64.to_le_bytes());
    run(
        &mut st,
        sc(PIPE2, 100, 0, &[0, O_CLOEXEC]).param(0, ParamKind::Struct, &pair),
    );
    for fd in [5, 6] {
        let e = st.fd(100, fd).unwrap();
        assert_eq!((e.kind, e.ino), (FdKind::Pipe, 38688), "fd {fd}");
        assert!(e.cloexec());
    }
    // A param between 8 and 16 bytes still gives the fds, with no inode.
    run(
        &mut st,
        sc(PIPE, 100, 0, &[0]).param(0, ParamKind::Struct, &[7, 0, 0, 0, 8, 0, 0, 0, 1, 2]),
    );
    assert_eq!(st.fd(100, 7).unwrap().ino, 0);
}

fn creds(st: &State) -> (u32, u32, u32, u32, u32, u32) {
    let c = &st.process(100).unwrap().creds;
    (c.uid, c.euid, c.suid, c.gid, c.egid, c.sgid)
}

#[test]
fn gid_family_and_setreuid() {
    let mut st = state();
    // bash starts as uid 1000 (snapshot), gid 0 (default); make it root first.
    run(&mut st, sc(SETRESUID, 100, 0, &[0, 0, 0]));
    assert_eq!((creds(&st).0, creds(&st).1, creds(&st).2), (0, 0, 0));
    // setgid as root sets all three.
    run(&mut st, sc(SETGID, 100, 0, &[50]));
    assert_eq!((creds(&st).3, creds(&st).4, creds(&st).5), (50, 50, 50));
    // setregid(-1, 60): effective only; differs from the real gid, so saved follows.
    run(&mut st, sc(SETREGID, 100, 0, &[u64::from(u32::MAX), 60]));
    assert_eq!((creds(&st).3, creds(&st).4, creds(&st).5), (50, 60, 60));
    // setresgid sets each, -1 keeps.
    run(
        &mut st,
        sc(SETRESGID, 100, 0, &[70, u64::from(u32::MAX), 80]),
    );
    assert_eq!((creds(&st).3, creds(&st).4, creds(&st).5), (70, 60, 80));
    // A failed setresgid changes nothing.
    run(&mut st, sc(SETRESGID, 100, -1, &[1, 1, 1]));
    assert_eq!((creds(&st).3, creds(&st).4, creds(&st).5), (70, 60, 80));
    // setreuid(1000, 1001): real set, so saved = new effective.
    run(&mut st, sc(SETREUID, 100, 0, &[1000, 1001]));
    assert_eq!(
        (creds(&st).0, creds(&st).1, creds(&st).2),
        (1000, 1001, 1001)
    );
    // Unprivileged setgid changes only the effective gid.
    run(&mut st, sc(SETGID, 100, 0, &[70]));
    assert_eq!((creds(&st).3, creds(&st).4, creds(&st).5), (70, 70, 80));
}

#[test]
fn execveat_relative_to_dirfd_and_fexecve() {
    let mut st = state();
    run(&mut st, openat(100, 5, AT_FDCWD, "/usr/bin", O_DIRECTORY));
    run(
        &mut st,
        sc(EXECVEAT, 100, 0, &[5, 0, 0, 0, 0])
            .param(1, ParamKind::Str, b"ls")
            .param(2, ParamKind::Argv, b"ls\0-l\0"),
    );
    let p = st.process(100).unwrap();
    assert_eq!((&*p.exepath, p.exe()), ("/usr/bin/ls", "ls"));
    assert_eq!(
        p.args().iter().map(|a| &**a).collect::<Vec<_>>(),
        vec!["-l"]
    );
    assert_eq!(&*st.thread(100).unwrap().comm, "ls");
    // fexecve: empty path with AT_EMPTY_PATH runs the file the fd refers to.
    run(&mut st, openat(100, 6, AT_FDCWD, "/opt/tool/run", 0));
    run(
        &mut st,
        sc(EXECVEAT, 100, 0, &[6, 0, 0, 0, 0x1000])
            .param(1, ParamKind::Str, b"")
            .param(2, ParamKind::Argv, b"run\0"),
    );
    let p = st.process(100).unwrap();
    assert_eq!(&*p.exepath, "/opt/tool/run");
    assert_eq!(&*st.thread(100).unwrap().comm, "run");
    // A failed execveat changes nothing.
    run(
        &mut st,
        sc(EXECVEAT, 100, -2, &[AT_FDCWD, 0, 0, 0, 0]).param(1, ParamKind::Str, b"/nope"),
    );
    assert_eq!(&*st.process(100).unwrap().exepath, "/opt/tool/run");
}
