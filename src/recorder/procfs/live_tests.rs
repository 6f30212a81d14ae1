//! Tests against the real `/proc` (own process, no root needed) and against
//! a fixture tree built in a temporary directory.

use std::io::Write;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::event::meta::{FdKind, SocketInfo};

/// A directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let p =
            std::env::temp_dir().join(format!("saker-procfs-{tag}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `pipe(2)` as owned fds (read, write).
fn pipe() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    use std::os::fd::FromRawFd;
    let mut fds = [0i32; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe(2) to fill.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: pipe(2) succeeded, so both fds are open and owned by nobody else.
    unsafe {
        (
            std::os::fd::OwnedFd::from_raw_fd(fds[0]),
            std::os::fd::OwnedFd::from_raw_fd(fds[1]),
        )
    }
}

#[test]
fn live_snapshot_of_own_process() {
    let tmp = TempDir::new("live");
    let file_path = tmp.0.join("open-me.txt");
    let mut file = std::fs::File::create(&file_path).unwrap();
    file.write_all(b"hello").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (pr, pw) = pipe();
    let pipe_ino = std::fs::metadata(format!("/proc/self/fd/{}", pr.as_raw_fd()))
        .unwrap()
        .ino();

    let me = std::process::id();
    let opts = SnapshotOptions {
        filter: Some(Arc::new(move |pid, _| pid == me)),
        ..SnapshotOptions::default()
    };
    let (snap, stats) = snapshot_with_stats(&opts).unwrap();
    let leader = snap.procs.iter().find(|p| p.tid == me).expect("own pid");
    assert_eq!(leader.pid, me);
    assert!(snap.procs.iter().all(|p| p.pid == me));
    let exe = std::env::current_exe().unwrap();
    assert_eq!(leader.exe, exe.to_string_lossy());
    let name = exe.file_name().unwrap().to_string_lossy();
    assert_eq!(leader.comm, name[..name.len().min(15)]);
    assert_eq!(
        leader.cwd,
        std::env::current_dir().unwrap().to_string_lossy()
    );
    assert_eq!(leader.args[0], std::env::args().next().unwrap());
    // SAFETY: getuid/getppid have no preconditions.
    let (uid, ppid) = unsafe { (libc::getuid(), libc::getppid()) };
    assert_eq!((leader.uid, leader.ppid), (uid, ppid as u32));
    assert!(leader.start_time_ns > 0 && leader.start_time_ns <= snap.ts);
    // This test's thread is recorded too, with the same process data.
    // SAFETY: gettid has no preconditions.
    let my_tid = unsafe { libc::gettid() } as u32;
    let thread = snap
        .procs
        .iter()
        .find(|p| p.tid == my_tid)
        .expect("own tid");
    assert_eq!((thread.pid, &thread.exe), (me, &leader.exe));
    assert!(thread.fds.is_empty() || my_tid == me);

    let fd_of = |fd: i32| leader.fds.iter().find(|f| f.fd == fd).expect("fd listed");
    let f = fd_of(file.as_raw_fd());
    assert_eq!(
        (f.kind, f.name.as_str()),
        (FdKind::File, &*file_path.to_string_lossy())
    );
    assert_eq!(f.flags & libc::O_ACCMODE as u32, libc::O_WRONLY as u32);
    let s = fd_of(listener.as_raw_fd());
    assert_eq!(s.kind, FdKind::Socket);
    assert_eq!(
        s.socket,
        Some(SocketInfo::Inet {
            proto: "tcp".into(),
            local_ip: "127.0.0.1".into(),
            local_port: port,
            remote_ip: "0.0.0.0".into(),
            remote_port: 0,
            listening: true,
        })
    );
    let p = fd_of(pr.as_raw_fd());
    assert_eq!((p.kind, p.ino), (FdKind::Pipe, pipe_ino));
    assert_eq!(fd_of(pw.as_raw_fd()).ino, pipe_ino);
    assert!(stats.netns >= 1 && stats.fds >= 4);

    let u = snap.users.iter().find(|u| u.uid == 0);
    assert!(u.is_none_or(|u| u.name == "root"));
}

#[test]
fn live_full_snapshot_timing() {
    let (snap, stats) = snapshot_with_stats(&SnapshotOptions::default()).unwrap();
    assert!(snap.procs.iter().any(|p| p.pid == 1));
    assert!(snap.procs.iter().any(|p| p.tid == std::process::id()));
    let (_, no_fds) = snapshot_with_stats(&SnapshotOptions {
        include_fds: false,
        ..SnapshotOptions::default()
    })
    .unwrap();
    println!(
        "snapshot: {} processes, {} threads, {} fds, {} netns, {} vanished, {} warnings in {:?} \
         (without fds: {:?})",
        stats.processes,
        stats.threads,
        stats.fds,
        stats.netns,
        stats.vanished,
        stats.warnings.len() + stats.warnings_dropped,
        stats.elapsed,
        no_fds.elapsed
    );
    for w in &stats.warnings {
        println!("  warning: {w}");
    }
}

#[test]
fn live_inflight_read_on_pipe() {
    let (pr, pw) = pipe();
    let rfd = pr.as_raw_fd();
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        // SAFETY: gettid has no preconditions.
        tx.send(unsafe { libc::gettid() } as u32).unwrap();
        let mut b = [0u8; 1];
        // SAFETY: `b` is a valid 1-byte buffer and `rfd` is open until joined.
        unsafe { libc::read(rfd, b.as_mut_ptr().cast(), 1) }
    });
    let tid = rx.recv().unwrap();
    let me = std::process::id();
    let deadline = Instant::now() + Duration::from_secs(10);
    let found = loop {
        let scan = in_flight(Path::new("/proc"), |pid, t| pid == me && t == tid).unwrap();
        assert!(scan.threads.iter().all(|t| t.tid == tid));
        if let Some(t) = scan.threads.first().copied() {
            break t;
        }
        assert!(Instant::now() < deadline, "reader never blocked in read");
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_eq!((found.pid, found.tid, found.nr), (me, tid, 0));
    assert_eq!(found.args[0], rfd as u64);
    assert_eq!(found.args[2], 1);
    // SAFETY: writes one byte from a valid buffer to an open pipe.
    assert_eq!(
        unsafe { libc::write(pw.as_raw_fd(), b"x".as_ptr().cast(), 1) },
        1
    );
    assert_eq!(reader.join().unwrap(), 1);
    drop(pr);
}

/// Writes `text` to `root/rel`, creating parents.
fn put(root: &Path, rel: &str, text: &[u8]) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

#[test]
fn fixture_tree_snapshot() {
    let tmp = TempDir::new("fixture");
    let proc_root = tmp.0.join("proc");
    let etc = tmp.0.join("etc");
    let real_file = tmp.0.join("data.log");
    std::fs::write(&real_file, b"x").unwrap();
    let id = "0123456789abcdef".repeat(4);
    let status = |pid: u32, tid: u32| {
        format!(
            "Name:\tw\nPPid:\t1\nUid:\t1000\t0\t0\t0\nGid:\t10\t20\t0\t0\n\
             NStgid:\t{pid}\t7\nNSpid:\t{tid}\t{}\nCapEff:\t00000000a80425fb\n",
            tid - pid + 7
        )
    };
    // Process 300 with threads 300 and 301; comm with ") (".
    for tid in [300u32, 301] {
        let t = format!("proc/300/task/{tid}");
        put(
            &tmp.0,
            &format!("{t}/stat"),
            format!("{tid} (we) (ird) S 1 300 299 34816 0 0 0 0 0 0 0 0 0 0 20 0 2 0 500 0 0")
                .as_bytes(),
        );
        put(&tmp.0, &format!("{t}/status"), status(300, tid).as_bytes());
    }
    put(&tmp.0, "proc/300/cmdline", b"/bin/w\0--flag\0");
    put(&tmp.0, "proc/300/loginuid", b"1000");
    put(
        &tmp.0,
        "proc/300/cgroup",
        format!("0::/system.slice/docker-{id}.scope\n").as_bytes(),
    );
    symlink("/bin/w", proc_root.join("300/exe")).unwrap();
    symlink("/srv", proc_root.join("300/cwd")).unwrap();
    std::fs::create_dir_all(proc_root.join("300/ns")).unwrap();
    symlink("net:[4026531840]", proc_root.join("300/ns/net")).unwrap();
    std::fs::create_dir_all(proc_root.join("300/fd")).unwrap();
    symlink(&real_file, proc_root.join("300/fd/3")).unwrap();
    symlink("socket:[4242]", proc_root.join("300/fd/4")).unwrap();
    symlink("anon_inode:[eventpoll]", proc_root.join("300/fd/5")).unwrap();
    put(&tmp.0, "proc/300/fdinfo/3", b"pos:\t0\nflags:\t0100002\n");
    put(&tmp.0, "proc/300/fdinfo/4", b"pos:\t0\nflags:\t02\n");
    put(&tmp.0, "proc/300/fdinfo/5", b"pos:\t0\nflags:\tbad\n");
    put(&tmp.0, "proc/300/net/tcp6", b"  sl  local_address remote_address st\n   0: 00000000000000000000000001000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4242 1\n");
    // Process 400: a thread vanished (task dir entry without files), and a
    // malformed stat in 401.
    put(
        &tmp.0,
        "proc/400/task/400/stat",
        b"400 (k) S 2 0 0 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 9 0 0",
    );
    put(
        &tmp.0,
        "proc/400/task/400/status",
        b"PPid:\t2\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n",
    );
    std::fs::create_dir_all(proc_root.join("400/task/402")).unwrap();
    put(&tmp.0, "proc/400/task/401/stat", b"401 (k S");
    put(&tmp.0, "proc/400/task/401/status", b"PPid:\t2\n");
    // Not a pid.
    put(&tmp.0, "proc/self/stat", b"junk");
    put(&tmp.0, "etc/passwd", b"root:x:0:0::/root:/bin/sh\nbad\n");
    put(&tmp.0, "etc/group", b"wheel:x:10:\n");

    let opts = SnapshotOptions {
        proc_root: proc_root.clone(),
        etc_root: etc,
        ..SnapshotOptions::default()
    };
    let (snap, stats) = snapshot_with_stats(&opts).unwrap();
    let tids: Vec<u32> = snap.procs.iter().map(|p| p.tid).collect();
    assert_eq!(tids, [300, 301, 400]);
    let p = &snap.procs[0];
    assert_eq!(
        (p.comm.as_str(), p.ppid, p.pgid, p.sid, p.tty),
        ("we) (ird", 1, 300, 299, 34816)
    );
    assert_eq!(
        (p.uid, p.euid, p.gid, p.egid, p.loginuid),
        (1000, 0, 10, 20, 1000)
    );
    assert_eq!((p.vpid, p.vtid), (7, 7));
    assert_eq!(snap.procs[1].vtid, 8);
    assert_eq!((p.exe.as_str(), p.cwd.as_str()), ("/bin/w", "/srv"));
    assert_eq!(p.args, ["/bin/w", "--flag"]);
    assert_eq!(p.container_id, &id[..12]);
    assert_eq!(p.cap_effective, 0xa80425fb);
    assert_eq!(p.start_time_ns, ticks_per(500));
    assert_eq!(p.fds.len(), 3);
    assert_eq!((p.fds[0].kind, p.fds[0].flags), (FdKind::File, 0o100002));
    assert_eq!(p.fds[1].kind, FdKind::Socket);
    assert!(
        matches!(&p.fds[1].socket, Some(SocketInfo::Inet { local_ip, local_port: 80, listening: true, .. }) if local_ip == "::1")
    );
    assert_eq!((p.fds[2].kind, p.fds[2].flags), (FdKind::Epoll, 0));
    assert!(snap.procs[1].fds.is_empty());
    let k = &snap.procs[2];
    assert_eq!(
        (k.exe.as_str(), k.args.len(), k.loginuid),
        ("", 0, u32::MAX)
    );
    assert_eq!(k.container_id, "");
    assert_eq!((stats.processes, stats.threads), (2, 3));
    // 402 vanished; 401's stat and 5's fdinfo are malformed.
    assert!(stats.vanished >= 1);
    let msgs: Vec<String> = stats.warnings.iter().map(|w| w.to_string()).collect();
    assert!(msgs.iter().any(|m| m.contains("401/stat:1:")), "{msgs:?}");
    assert!(
        msgs.iter()
            .any(|m| m.contains("fdinfo/5:2:8: bad octal flags")),
        "{msgs:?}"
    );
    assert_eq!(snap.users.len(), 1);
    assert_eq!(snap.groups[0].name, "wheel");

    // The filter drops process 400 entirely, and thread 301.
    let filtered = SnapshotOptions {
        filter: Some(Arc::new(|pid, tid| pid == 300 && tid == 300)),
        ..opts
    };
    let snap = snapshot(&filtered).unwrap();
    assert_eq!(snap.procs.len(), 1);
    assert_eq!(snap.procs[0].fds.len(), 3);

    // A missing proc root is the one fatal error.
    let bad = SnapshotOptions {
        proc_root: tmp.0.join("nope"),
        ..SnapshotOptions::default()
    };
    assert!(matches!(snapshot(&bad), Err(ProcfsError::Io { .. })));
}

/// 500 ticks in ns at this machine's clock rate.
fn ticks_per(ticks: u64) -> u64 {
    proc::ticks_to_ns(ticks, machine::clock_ticks_per_sec().unwrap())
}
