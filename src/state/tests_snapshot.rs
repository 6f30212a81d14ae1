//! [`State::to_snapshot`]: a state written as a snapshot and loaded back
//! equals the original, and a loaded snapshot writes back as itself.

use std::net::IpAddr;

use proptest::prelude::*;

use super::sockaddr::{AF_INET, AF_INET6};
use super::tests::*;
use super::*;
use crate::event::meta::{FdInfo, GroupInfo, ProcInfo, SocketInfo, UserInfo};
use crate::event::wire::{self, ParamKind, RecordBuilder};

fn fd(fd: i32, kind: FdKind, name: &str, ino: u64, socket: Option<SocketInfo>) -> FdInfo {
    let flags = if fd > 2 { O_CLOEXEC | 2 } else { 2 };
    FdInfo {
        fd,
        kind,
        name: name.into(),
        flags,
        ino,
        socket,
    }
}

fn inet(proto: &str, l: (&str, u16), r: (&str, u16), listening: bool) -> Option<SocketInfo> {
    Some(SocketInfo::Inet {
        proto: proto.into(),
        local_ip: l.0.into(),
        local_port: l.1,
        remote_ip: r.0.into(),
        remote_port: r.1,
        listening,
    })
}

fn sock(n: i32, ino: u64, s: Option<SocketInfo>) -> FdInfo {
    fd(n, FdKind::Socket, &format!("socket:[{ino}]"), ino, s)
}

fn unix(path: &str) -> Option<SocketInfo> {
    let path = path.into();
    Some(SocketInfo::Unix { path })
}

/// systemd, sshd (listening v4/v6), bash (pipe, tcp, unix, an other-family
/// socket), a 3-thread firefox in a container, a process whose leader is gone.
fn fixture() -> Snapshot {
    let mut init = proc_info(1, 1, 0, "systemd");
    init.cwd = "/".into();
    init.loginuid = LOGINUID_UNSET;
    init.fds = vec![sock(3, 10, unix("/run/systemd/private"))];
    let mut sshd = proc_info(500, 500, 1, "sshd");
    sshd.args = vec!["sshd:".into(), "-D".into()];
    sshd.cap_effective = 0x1ff_ffff_ffff;
    sshd.fds = vec![
        fd(0, FdKind::File, "/dev/null", 0, None),
        sock(3, 20, inet("tcp", ("0.0.0.0", 22), ("0.0.0.0", 0), true)),
        sock(4, 21, inet("tcp", ("::", 22), ("::", 0), true)),
    ];
    let mut bash = proc_info(100, 100, 500, "bash");
    (bash.uid, bash.euid, bash.gid, bash.egid) = (1000, 1000, 1000, 1000);
    (bash.tty, bash.sid, bash.pgid, bash.start_time_ns) = (34816, 100, 100, 7_000);
    bash.fds = vec![
        tty_fd(0),
        tty_fd(1),
        tty_fd(2),
        fd(3, FdKind::Pipe, "pipe:[777]", 777, None),
        sock(
            4,
            30,
            inet("tcp", ("10.0.0.5", 4000), ("1.2.3.4", 443), false),
        ),
        sock(5, 31, unix("@dbus")),
        sock(6, 32, Some(SocketInfo::Other { name: "nl".into() })),
        fd(7, FdKind::Directory, "/home/u", 0, None),
    ];
    let ff = |tid, comm: &str| {
        let mut p = proc_info(tid, 300, 100, comm);
        p.exe = "/usr/lib/firefox/firefox".into();
        p.args = vec!["firefox".into(), "--new-window".into()];
        p.cgroup = format!("/docker/{}", "0123456789abcdef".repeat(4));
        p.container_id = "0123456789ab".into();
        (p.vpid, p.vtid, p.start_time_ns) = (1, tid - 299, 8_000 + u64::from(tid));
        p
    };
    let mut leader = ff(300, "firefox");
    leader.fds = vec![fd(0, FdKind::Memfd, "/memfd:shm (deleted)", 0, None)];
    let mut orphan = proc_info(401, 400, 1, "worker");
    orphan.fds = vec![fd(1, FdKind::Event, "anon_inode:[eventfd]", 0, None)];
    let (name, home, shell) = ("root".into(), "/root".into(), "/bin/sh".into());
    let root = UserInfo {
        uid: 0,
        gid: 0,
        name,
        home,
        shell,
    };
    let group = |gid, name: &str| GroupInfo {
        gid,
        name: name.into(),
    };
    Snapshot {
        ts: 1,
        procs: vec![
            init,
            sshd,
            bash,
            leader,
            ff(301, "Socket Thread"),
            ff(302, "Renderer"),
            orphan,
        ],
        users: vec![root, snapshot().users[0].clone()],
        groups: vec![group(0, "root"), group(1000, "u")],
    }
}

/// Everything `to_snapshot` promises to keep, via the query API.
fn assert_same(a: &State, b: &State) {
    let mut ta: Vec<&Thread> = a.threads().collect();
    let mut tb: Vec<&Thread> = b.threads().collect();
    ta.sort_by_key(|t| t.tid);
    tb.sort_by_key(|t| t.tid);
    assert_eq!(ta, tb);
    let mut pa: Vec<&Process> = a.processes().collect();
    pa.sort_by_key(|p| p.pid);
    let pids: Vec<u32> = pa.iter().map(|p| p.pid).collect();
    let mut pb: Vec<u32> = b.processes().map(|p| p.pid).collect();
    pb.sort_unstable();
    assert_eq!(pids, pb);
    for p in pa {
        let q = b.process(p.pid).expect("reloaded process");
        let strip = |p: &Process| Process {
            files: 0,
            fs: 0,
            ..p.clone()
        };
        assert_eq!(strip(p), strip(q));
        assert_eq!((p.exe(), p.args()), (q.exe(), q.args()));
        assert_eq!(a.cwd(p.pid), b.cwd(p.pid));
        assert_eq!(a.fd_table(p.pid), b.fd_table(p.pid), "fds of {}", p.pid);
    }
    assert_eq!(a.tree(), b.tree());
    for id in [0, 1000, 5] {
        assert_eq!(a.user(id), b.user(id));
        assert_eq!(a.group(id), b.group(id));
    }
}

#[test]
fn state_after_records_round_trips() {
    let mut st = State::new(ops(), &fixture());
    run(&mut st, openat(100, 8, AT_FDCWD, "notes.txt", 0));
    run(&mut st, sc(CLOSE, 100, 0, &[3]));
    run(&mut st, sc(SOCKET, 100, 9, &[u64::from(AF_INET), 2, 0]));
    run(&mut st, sc(SOCKET, 500, 5, &[u64::from(AF_INET6), 1, 6]));
    let any6 = inet6(std::net::Ipv6Addr::UNSPECIFIED, 2222);
    run(
        &mut st,
        sc(BIND, 500, 0, &[5, 0, 28]).param(1, ParamKind::Sockaddr, &any6),
    );
    run(&mut st, sc(LISTEN, 500, 0, &[5, 128]));
    run(&mut st, fork_rec(100, 100, 200, 200, 0));
    run(&mut st, exec_rec(200, &["cat", "-n", "f"], "/usr/bin/cat"));
    run(&mut st, sc(EXECVE, 200, 0, &[0, 0, 0]));
    run(
        &mut st,
        sc(CHDIR, 200, 0, &[0]).param(0, ParamKind::Str, b"/tmp"),
    );
    let thread = ops::CLONE_VM | ops::CLONE_FS | ops::CLONE_FILES | ops::CLONE_THREAD;
    // The container's thread comes from a FORK record: its clone exit
    // returns a tid of the container's pid namespace.
    run(&mut st, fork_rec(300, 300, 303, 300, thread));
    run(&mut st, sct(CLONE, 300, 300, 4, &[thread, 0, 0, 0, 0]));
    assert!(st.thread(4).is_none(), "no thread from a namespace tid");
    let exit = RecordBuilder::new(wire::CODE_EXIT, 0, 8, 302, 300, 0).args(&[0, 0]);
    run(&mut st, exit);
    assert!(st.thread(302).is_some_and(|t| t.exit_code.is_some()));
    let snap = st.to_snapshot(42);
    assert_eq!(snap.ts, 42);
    assert!(
        snap.procs.iter().all(|p| p.tid != 302),
        "exited thread left out"
    );
    let s2 = State::new(ops(), &snap);
    run(&mut st, sc(CLOSE, 100, -9, &[77])); // purges thread 302
    assert_same(&st, &s2);
    assert_eq!(s2.cwd(200), Some("/tmp"));
    assert_eq!(name(&s2, 100, 8).as_deref(), Some("/home/u/notes.txt"));
    assert_eq!(s2.fd(100, 3), None);
    let l = s2
        .fd(500, 5)
        .and_then(|e| e.socket.clone())
        .unwrap_or_default();
    assert_eq!(
        (l.family, l.l4, l.role),
        (AF_INET6, L4Proto::Tcp, Role::Server)
    );
    assert_eq!(s2.thread(303).map(|t| t.pid), Some(300));
    assert_eq!(s2.process(200).map(|p| &*p.exepath), Some("/usr/bin/cat"));
}

/// Procs sorted by tid, each with its fds sorted by fd.
fn sorted(mut procs: Vec<ProcInfo>) -> Vec<ProcInfo> {
    procs.sort_by_key(|p| p.tid);
    for p in &mut procs {
        p.fds.sort_by_key(|f| f.fd);
    }
    procs
}

#[test]
fn loaded_snapshot_writes_back() {
    let snap = fixture();
    let mut back = State::new(ops(), &snap).to_snapshot(snap.ts);
    // The state keeps no details of non-IP, non-unix sockets.
    let mut want = snap.clone();
    want.procs[2].fds[6].socket = None;
    (back.procs, want.procs) = (sorted(back.procs), sorted(want.procs));
    assert_eq!(back, want);
}

fn socket_strategy() -> impl Strategy<Value = Option<SocketInfo>> {
    let v4 = any::<[u8; 4]>().prop_map(|b| (IpAddr::from(b).to_string(), "10.1.2.3"));
    let v6 = any::<[u8; 16]>().prop_map(|b| (IpAddr::from(b).to_string(), "2001:db8::1"));
    let proto = proptest::sample::select(vec!["", "tcp", "udp", "raw", "icmp"]);
    let ports = any::<(u16, u16, bool)>();
    let inet = (prop_oneof![v4, v6], ports, proto)
        .prop_map(|((l, r), (lp, rp, lis), pr)| inet(pr, (&l, lp), (r, rp), lis));
    prop_oneof![Just(None), inet, "[@/a-z]{0,20}".prop_map(|p| unix(&p))]
}

/// A process's fields, its fds, extra threads (vtid, comm, start) and
/// whether its leader is alive.
type ProcCase = (ProcInfo, Vec<(u32, String, u64)>, bool);

fn proc_strategy() -> impl Strategy<Value = ProcCase> {
    let fd = ("[a-z/]{0,12}", any::<(u32, u64)>(), socket_strategy());
    let fds = proptest::collection::btree_map(0i32..64, fd, 0..6);
    let thread = ("[a-zA-Z ]{0,15}", any::<u64>()).prop_map(|(c, s)| (s as u32, c, s));
    let threads = proptest::collection::vec(thread, 0..3);
    let ids = any::<([u32; 10], u64)>();
    (ids, "[a-z]{1,15}", fds, threads, any::<bool>()).prop_map(|((i, cap), comm, fds, ts, l)| {
        let fds = fds
            .into_iter()
            .map(|(fd, (name, (flags, ino), socket))| FdInfo {
                fd,
                kind: if socket.is_some() {
                    FdKind::Socket
                } else {
                    FdKind::File
                },
                name,
                flags,
                ino,
                socket,
            });
        let p = ProcInfo {
            ppid: i[0],
            vpid: i[1],
            vtid: i[2],
            exe: format!("/bin/{comm}"),
            args: vec![comm.clone(), format!("-{}", i[3])],
            comm,
            cwd: format!("/d{}", i[4]),
            uid: i[5],
            euid: i[6],
            gid: i[7],
            egid: i[8],
            loginuid: i[9],
            tty: i[0] ^ i[1],
            sid: i[2] ^ i[3],
            pgid: i[4] ^ i[5],
            start_time_ns: cap.rotate_left(7),
            cgroup: format!("/c{}", i[6]),
            container_id: format!("{:012x}", i[7]),
            cap_effective: cap,
            fds: fds.collect(),
            ..ProcInfo::default()
        };
        (p, ts, l)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A snapshot in the state's canonical form (process fields the same on
    /// every thread, fds on the first entry) writes back unchanged.
    #[test]
    fn canonical_snapshots_round_trip(
        procs in proptest::collection::vec(proc_strategy(), 0..6),
        ids in proptest::collection::btree_map(any::<u32>(), "[a-z]{1,8}", 0..4),
        ts in any::<u64>(),
    ) {
        let mut snap = Snapshot { ts, ..Snapshot::default() };
        for (uid, name) in ids {
            let (home, shell) = (format!("/home/{name}"), "/bin/sh".into());
            snap.groups.push(GroupInfo { gid: uid, name: name.clone() });
            snap.users.push(UserInfo { uid, gid: uid, name, home, shell });
        }
        for (i, (p, threads, leader)) in procs.into_iter().enumerate() {
            let pid = 1000 * (i as u32 + 1);
            let base = ProcInfo { pid, tid: if leader { pid } else { pid + 10 }, ..p };
            snap.procs.push(base.clone());
            for (j, (vtid, comm, start)) in threads.into_iter().enumerate() {
                let tid = pid + 11 + j as u32;
                let fds = Vec::new();
                snap.procs.push(ProcInfo { tid, vtid, comm, start_time_ns: start, fds, ..base.clone() });
            }
        }
        let mut back = State::new(ops(), &snap).to_snapshot(ts);
        (back.procs, snap.procs) = (sorted(back.procs), sorted(snap.procs));
        prop_assert_eq!(back, snap);
    }
}
