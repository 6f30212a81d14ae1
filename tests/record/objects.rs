//! Real recordings of what the probes read from kernel objects at exit:
//! the local endpoint (struct sock) of connect, bind, listen and accept, pipe inodes, prctl's conditional
//! name string, and paths cut by the path walk's limits (`F_TRUNCATED`).

use saker::event::wire::{exec, ParamKind, Record, CODE_EXEC, F_TRUNCATED};

use super::Events;
use crate::util::{bpf_guard, c_program, record_cmd, run, stderr, stdout, tmpdir};

/// Port and address bytes of a raw `sockaddr_in`/`sockaddr_in6`.
fn inet(sa: &[u8]) -> (u16, u16, Vec<u8>) {
    let family = u16::from_le_bytes([sa[0], sa[1]]);
    let port = u16::from_be_bytes([sa[2], sa[3]]);
    let addr = match family {
        2 => sa[4..8].to_vec(),
        10 => sa[8..24].to_vec(),
        f => panic!("family {f}"),
    };
    (family, port, addr)
}

/// The `TAG A B` line of the objects program's output, as numbers.
fn line(out: &str, tag: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix(tag)?.strip_prefix(' '))
        .flat_map(|l| l.split(' ').map(|n| n.parse::<u64>().unwrap()))
        .collect()
}

#[test]
fn connect_local_end_pipe_inode_and_prctl_name() {
    let Some(_g) = bpf_guard("connect_local_end_pipe_inode_and_prctl_name") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("objects.scap");
    let prog = c_program("objects");
    let o = record_cmd(&cap, &[prog.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let (ev, _) = Events::load(&cap);
    let c = cap.to_str().unwrap();

    // 1. Both ends of each connect: the local one read from struct sock.
    let connects: Vec<Record> = ev
        .iter()
        .filter(|r| ev.name(r) == "connect" && r.ret() == 0)
        .collect();
    assert_eq!(connects.len(), 2, "a v4 and a v6 connect");
    let mut lo6 = vec![0u8; 16];
    lo6[15] = 1;
    for (r, tag, family, lo) in [
        (&connects[0], "v4", 2, vec![127, 0, 0, 1]),
        (&connects[1], "v6", 10, lo6),
    ] {
        let ports = line(&out, tag);
        let (cport, sport) = (ports[0] as u16, ports[1] as u16);
        let local = r.param(0).expect("local endpoint on the fd arg");
        assert_eq!(local.kind(), Some(ParamKind::Sockaddr));
        assert_eq!(inet(local.data), (family, cport, lo.clone()), "{tag} local");
        let remote = r.param(1).expect("connect's address");
        assert_eq!(inet(remote.data), (family, sport, lo), "{tag} remote");
    }
    // bind and listen (to port 0: the kernel picks) and accept (the socket
    // it returns) carry the server's real local end on their fd arg.
    for (i, (tag, family, lo)) in [
        ("v4", 2, vec![127, 0, 0, 1]),
        ("v6", 10, {
            let mut a = vec![0u8; 16];
            a[15] = 1;
            a
        }),
    ]
    .into_iter()
    .enumerate()
    {
        let sport = line(&out, tag)[1] as u16;
        for name in ["bind", "listen", "accept"] {
            let r = ev
                .iter()
                .filter(|r| ev.name(r) == name && r.ret() >= 0)
                .nth(i)
                .unwrap_or_else(|| panic!("{tag} {name}"));
            let local = r
                .param(0)
                .unwrap_or_else(|| panic!("{tag} {name}: local end"));
            assert_eq!(local.kind(), Some(ParamKind::Sockaddr), "{tag} {name}");
            assert_eq!(
                inet(local.data),
                (family, sport, lo.clone()),
                "{tag} {name}"
            );
            if name == "accept" {
                // accept(l, NULL, NULL): the peer comes from the kernel.
                let peer = r.params().filter(|p| p.idx == 0).nth(1).expect("peer");
                let cport = line(&out, tag)[0] as u16;
                assert_eq!(inet(peer.data), (family, cport, lo.clone()), "{tag} peer");
            }
        }
    }
    let o = run(&[
        "read",
        "-r",
        c,
        "-p",
        "%fd.name",
        "evt.type in (listen, accept)",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let (v4, v6) = (line(&out, "v4"), line(&out, "v6"));
    assert_eq!(
        stdout(&o).lines().collect::<Vec<_>>(),
        [
            format!("127.0.0.1:{}", v4[1]),
            format!("127.0.0.1:{0}->127.0.0.1:{1}", v4[0], v4[1]),
            format!("::1:{}", v6[1]),
            format!("::1:{0}->::1:{1}", v6[0], v6[1]),
        ],
        "the listener is named by the port bind picked"
    );

    // The state turns them into the client-side fields.
    let o = run(&[
        "read",
        "-r",
        c,
        "-p",
        "%fd.cip %fd.cport %fd.sip %fd.sport %fd.lport %fd.rport",
        "evt.type=write and evt.rawres=4",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).lines().collect::<Vec<_>>(),
        [
            format!("127.0.0.1 {0} 127.0.0.1 {1} {0} {1}", v4[0], v4[1]),
            format!("::1 {0} ::1 {1} {0} {1}", v6[0], v6[1]),
        ]
    );

    // 2. pipe2 and pipe: the fd pair, then the inode fstat gave.
    let pipes: Vec<Vec<u64>> = out
        .lines()
        .filter_map(|l| l.strip_prefix("pipe "))
        .map(|l| l.split(' ').map(|n| n.parse().unwrap()).collect())
        .collect();
    assert_eq!(pipes.len(), 2);
    for (name, want) in ["pipe2", "pipe"].iter().zip(&pipes) {
        let r = ev
            .iter()
            .find(|r| ev.name(r) == *name)
            .unwrap_or_else(|| panic!("no {name}"));
        let d = r.param(0).expect("fd pair").data;
        assert_eq!(d.len(), 16, "{name}: int[2] + inode");
        let fd = |i: usize| i32::from_le_bytes(d[i..i + 4].try_into().unwrap()) as u64;
        let ino = u64::from_le_bytes(d[8..16].try_into().unwrap());
        assert_eq!(vec![fd(0), fd(4), ino], *want, "{name}");
    }
    let o = run(&[
        "read",
        "-r",
        c,
        "-p",
        "%fd.num %fd.ino",
        "evt.type=write and evt.rawres=1",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want: Vec<String> = pipes.iter().map(|p| format!("{} {}", p[1], p[2])).collect();
    assert_eq!(stdout(&o).lines().collect::<Vec<_>>(), want, "fd.ino");

    // 3. prctl: PR_SET_NAME's arg2 is its name; PR_GET_NAME's (a buffer the
    // kernel filled with the same name) is only a pointer.
    let prctls: Vec<Record> = ev.iter().filter(|r| ev.name(r) == "prctl").collect();
    let set = prctls
        .iter()
        .find(|r| r.arg(0) == Some(libc::PR_SET_NAME as u64))
        .expect("prctl(PR_SET_NAME)");
    assert_eq!(Events::str_param(set, 1).as_deref(), Some("saker-renamed"));
    let get = prctls
        .iter()
        .find(|r| r.arg(0) == Some(libc::PR_GET_NAME as u64))
        .expect("prctl(PR_GET_NAME)");
    assert!(get.param(1).is_none(), "no string captured for PR_GET_NAME");
    let o = run(&["read", "-r", c, "-p", "%evt.args", "evt.type=prctl"]);
    let text = stdout(&o);
    assert_eq!(text.matches("saker-renamed").count(), 1, "{text}");
}

/// A path deeper than the walk's 32 components, or longer than its buffer,
/// is cut and the record says so; a short one is not.
#[test]
fn deep_and_long_paths_are_flagged_truncated() {
    let Some(_g) = bpf_guard("deep_and_long_paths_are_flagged_truncated") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("deep.scap");
    let long = "l".repeat(250);
    // Three execs of /bin/true: from the temp dir, 40 directories down, and
    // 16 directories of 250-byte names down (4 KB of path).
    let sh = format!(
        "cd '{d}' && /bin/true shallow; \
         for i in $(seq 40); do mkdir d && cd d || exit 9; done; /bin/true deep; \
         cd '{d}' && for i in $(seq 16); do mkdir {long} && cd {long} || exit 9; done; \
         /bin/true long",
        d = dir.path().display()
    );
    let o = record_cmd(&cap, &["sh", "-c", &sh]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (ev, _) = Events::load(&cap);
    let exec_of = |arg: &str| -> Vec<u8> {
        let want = format!("/bin/true\0{arg}\0");
        ev.iter()
            .find(|r| {
                r.code() == CODE_EXEC
                    && r.param(exec::P_ARGV)
                        .is_some_and(|p| p.data == want.as_bytes())
            })
            .unwrap_or_else(|| panic!("exec of true {arg}"))
            .bytes()
            .to_vec()
    };
    let cwd_parts = |r: &Record| -> usize {
        let d = r.param(exec::P_CWD).expect("cwd").data;
        d.split(|&b| b == 0).filter(|p| !p.is_empty()).count()
    };
    let shallow = exec_of("shallow");
    let shallow = Record::parse(&shallow).unwrap().0;
    assert_eq!(shallow.flags() & F_TRUNCATED, 0, "a short cwd is whole");
    let deep = exec_of("deep");
    let deep = Record::parse(&deep).unwrap().0;
    assert_ne!(deep.flags() & F_TRUNCATED, 0, "a 40-deep cwd is cut");
    let n = cwd_parts(&deep);
    assert!((20..40).contains(&n), "{n} components kept");
    assert_eq!(
        cwd_parts(&shallow),
        dir.path().components().count() - 1,
        "the whole short cwd"
    );
    let long = exec_of("long");
    let long = Record::parse(&long).unwrap().0;
    assert_ne!(long.flags() & F_TRUNCATED, 0, "a 4 KB cwd is cut");
    // The whole cwd: the temp dir's components plus the 16 long ones.
    let whole = dir.path().components().count() - 1 + 16;
    assert!(cwd_parts(&long) < whole, "{} of {whole}", cwd_parts(&long));
    // `read` says so after the args.
    let o = run(&[
        "read",
        "-r",
        cap.to_str().unwrap(),
        "-p",
        "%proc.args %evt.args",
        "evt.type=procexec and proc.name=true",
    ]);
    let text = stdout(&o);
    let cut: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with("(truncated)"))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(cut, ["deep", "long"], "{text}");
}
