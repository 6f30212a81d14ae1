//! Real recordings of an exec's lifecycle fields (credentials, loginuid,
//! tty, cwd, cgroup v2 path and container id) and of socket addresses and
//! message buffers (inet, inet6, unix; sendmsg/recvmsg).

use std::path::{Path, PathBuf};

use saker::event::wire::{exec, ParamKind, Record};

use super::Events;
use crate::util::{bpf_guard, c_program, record_cmd, run, stderr, stdout, tmpdir};

/// A path written leaf first, NUL-separated (PathComp), as `/a/b`.
fn pathcomp(data: &[u8]) -> String {
    let mut parts: Vec<&[u8]> = data.split(|&b| b == 0).filter(|p| !p.is_empty()).collect();
    parts.reverse();
    let mut s = String::new();
    for p in parts {
        s.push('/');
        s.push_str(&String::from_utf8_lossy(p));
    }
    s
}

/// The cgroup v2 mount: `/sys/fs/cgroup` (unified) or its `unified` child (hybrid).
fn cgroup2_root() -> PathBuf {
    let root = Path::new("/sys/fs/cgroup");
    if root.join("cgroup.controllers").exists() {
        root.to_path_buf()
    } else {
        root.join("unified")
    }
}

/// A cgroup removed when dropped (once its processes have exited).
struct Cgroup(PathBuf);
impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

#[test]
fn exec_records_credentials_tty_cwd_and_cgroup() {
    let Some(_g) = bpf_guard("exec_records_credentials_tty_cwd_and_cgroup") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("exec.scap");
    let work = dir.path().join("work dir");
    std::fs::create_dir(&work).unwrap();
    // A docker-style scope: its 64 hex digits are the container id.
    let id = format!("5a{:062x}", std::process::id());
    let cg = Cgroup(cgroup2_root().join(format!("docker-{id}.scope")));
    std::fs::create_dir(&cg.0).unwrap();
    // Join the cgroup, set the loginuid, cd, and exec /bin/true as nobody
    // on a fresh pty (script).
    let sh = format!(
        "echo $$ > '{}/cgroup.procs' && echo 4242 > /proc/self/loginuid && cd '{}' && \
         exec script -qec 'setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true' /dev/null",
        cg.0.display(),
        work.display()
    );
    let o = record_cmd(&cap, &["sh", "-c", &sh]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (ev, _) = Events::load(&cap);
    let execs: Vec<Record> = ev
        .iter()
        .filter(|r| r.code() == saker::event::wire::CODE_EXEC)
        .collect();
    let t = execs
        .iter()
        .find(|r| {
            r.param(exec::P_FILENAME)
                .is_some_and(|p| p.data == b"/bin/true")
        })
        .unwrap_or_else(|| panic!("no exec of /bin/true among {} execs", execs.len()));
    let arg = |i| t.arg(i).unwrap();
    assert_eq!((arg(exec::UID), arg(exec::EUID)), (65534, 65534));
    assert_eq!((arg(exec::GID), arg(exec::EGID)), (65534, 65534));
    assert_eq!(arg(exec::LOGINUID), 4242);
    // A pty slave: major 136 in stat's tty_nr encoding.
    assert_eq!(
        (arg(exec::TTY) >> 8) & 0xfff,
        136,
        "tty {:#x}",
        arg(exec::TTY)
    );
    let cwd = pathcomp(t.param(exec::P_CWD).unwrap().data);
    assert_eq!(Path::new(&cwd), work.canonicalize().unwrap());
    let cgroup = pathcomp(t.param(exec::P_CGROUP).unwrap().data);
    assert_eq!(cgroup, format!("/docker-{id}.scope"));
    let exe = pathcomp(t.param(exec::P_EXE).unwrap().data);
    assert!(exe.ends_with("/true"), "{exe}");
    // Replay turns the same record into the fields rules use.
    let o = run(&[
        "read",
        "-r",
        cap.to_str().unwrap(),
        "-p",
        "%user.uid %user.loginuid %container.id %proc.cwd",
        "evt.type=execve and proc.name=true",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = format!(
        "65534 4242 {} {}/",
        &id[..12],
        work.canonicalize().unwrap().display()
    );
    assert!(
        stdout(&o).lines().any(|l| l == want),
        "want {want:?} in:\n{}",
        stdout(&o)
    );
}

#[test]
fn socket_addresses_and_message_buffers() {
    let Some(_g) = bpf_guard("socket_addresses_and_message_buffers") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("net.scap");
    let prog = c_program("net");
    let o = record_cmd(
        &cap,
        &[prog.to_str().unwrap(), dir.path().to_str().unwrap()],
    );
    assert!(o.status.success(), "net workload failed: {}", stderr(&o));
    let (ev, _) = Events::load(&cap);
    let find = |name: &str, pred: &dyn Fn(&Record) -> bool| -> Vec<u8> {
        let r = ev
            .iter()
            .find(|r| ev.name(r) == name && pred(r))
            .unwrap_or_else(|| panic!("no matching {name}"));
        r.bytes().to_vec()
    };
    let sockaddr = |r: &Record| -> Vec<u8> {
        r.params()
            .find(|p| p.kind == ParamKind::Sockaddr as u8)
            .map(|p| p.data.to_vec())
            .unwrap_or_default()
    };
    let buf = |r: &Record| -> Vec<u8> {
        r.params()
            .find(|p| p.kind == ParamKind::Buf as u8)
            .map(|p| p.data.to_vec())
            .unwrap_or_default()
    };
    // 1. The refused connect keeps its address: AF_INET, port 1, 127.0.0.1.
    let c = find("connect", &|r| r.ret() == -111);
    let c = Record::parse(&c).unwrap().0;
    let a = sockaddr(&c);
    assert_eq!(
        &a[..8],
        &[2, 0, 0, 1, 127, 0, 0, 1],
        "connect sockaddr {a:?}"
    );
    // 2. inet6: sendto [::1] with its data, recvfrom the same bytes.
    let s = find("sendto", &|r| r.ret() == 8);
    let s = Record::parse(&s).unwrap().0;
    let a = sockaddr(&s);
    assert_eq!(u16::from_le_bytes([a[0], a[1]]), 10, "AF_INET6");
    let mut lo = [0u8; 16];
    lo[15] = 1;
    assert_eq!(&a[8..24], &lo, "::1");
    assert_eq!(buf(&s), b"v6-hello");
    let rf = find("recvfrom", &|r| r.ret() == 8);
    assert_eq!(buf(&Record::parse(&rf).unwrap().0), b"v6-hello");
    // 3. unix: sendmsg's msg_name is the socket path, and both ends carry the data.
    let sm = find("sendmsg", &|r| r.ret() == 9);
    let sm = Record::parse(&sm).unwrap().0;
    let a = sockaddr(&sm);
    assert_eq!(u16::from_le_bytes([a[0], a[1]]), 1, "AF_UNIX");
    let path = format!("{}/sock", dir.path().display());
    assert!(
        a[2..].starts_with(path.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&a)
    );
    assert_eq!(buf(&sm), b"msg-hello");
    let rm = find("recvmsg", &|r| r.ret() == 9);
    assert_eq!(buf(&Record::parse(&rm).unwrap().0), b"msg-hello");
}
