//! Golden tests of `saker read` filters and formats on real `.scap` files, with
//! expectations taken from sysdig 0.29.3 (see tests/golden/read/README.md), and
//! self-consistency checks of `-t`, `-j` and the buffer flags on captures recorded here.

use std::path::{Path, PathBuf};

use crate::util::{run, stderr, stdout};

fn external(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/captures/external"
    ))
    .join(name)
}

fn committed(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn golden(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/read")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn read(cap: &Path, args: &[&str]) -> String {
    let mut a = vec!["read", "-r", cap.to_str().expect("utf-8 path")];
    a.extend_from_slice(args);
    let o = run(&a);
    assert!(o.status.success(), "saker {a:?}: {}", stderr(&o));
    stdout(&o)
}

const OMF: &str = "open-multiple-files.scap";
const TIME_FMT: &str = "%evt.outputtime %evt.type %fd.name";

/// (golden file, capture, saker args). sysdig's filter adds `evt.dir=<` where saker's
/// merged records make it implicit; the README gives each sysdig command.
const CASES: &[(&str, &str, &[&str])] = &[
    (
        "omf_exits.txt",
        OMF,
        &[
            "evt.dir=<",
            "-p",
            "%evt.rawtime %evt.type %proc.name %proc.pid %thread.tid %fd.num %fd.name",
        ],
    ),
    (
        "omf_t_h.txt",
        OMF,
        &["-t", "h", "evt.dir=<", "-p", TIME_FMT],
    ),
    (
        "omf_t_a.txt",
        OMF,
        &["-t", "a", "evt.dir=<", "-p", TIME_FMT],
    ),
    (
        "omf_t_r.txt",
        OMF,
        &["-t", "r", "evt.dir=<", "-p", TIME_FMT],
    ),
    (
        "omf_t_d.txt",
        OMF,
        &["-t", "d", "evt.dir=<", "-p", TIME_FMT],
    ),
    (
        "omf_t_D.txt",
        OMF,
        &["-t", "D", "evt.dir=<", "-p", TIME_FMT],
    ),
    (
        "omf_width.txt",
        OMF,
        &[
            "evt.dir=<",
            "-p",
            "%12proc.name|%8evt.type|%5fd.num|%fd.name",
        ],
    ),
    (
        "omf_star.txt",
        OMF,
        &[
            "evt.dir=< and evt.type!=exit_group",
            "-p",
            "*%evt.type %fd.name",
        ],
    ),
    (
        "omf_nostar.txt",
        OMF,
        &[
            "evt.dir=< and evt.type!=exit_group",
            "-p",
            "%evt.type %fd.name",
        ],
    ),
    (
        "cat_write_files.txt",
        "cat_write.scap",
        &[
            "evt.type in (open, close) and not fd.name startswith /lib",
            "-p",
            "%evt.rawtime %evt.type %fd.name %fd.directory %fd.filename",
        ],
    ),
    (
        "curl_read_b.txt",
        "curl_google.scap",
        &[
            "-v",
            "-b",
            "evt.type=read and fd.num=3",
            "-p",
            "%evt.rawres %evt.arg.data",
        ],
    ),
];

#[test]
fn read_matches_sysdig_goldens() {
    let mut bad = Vec::new();
    for (file, cap, args) in CASES {
        let got = read(&external(cap), args);
        let want = golden(file);
        if got != want {
            let at = got
                .lines()
                .zip(want.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(got.lines().count().min(want.lines().count()));
            bad.push(format!(
                "{file}: first difference at line {}:\n  saker:  {:?}\n  golden: {:?}",
                at + 1,
                got.lines().nth(at),
                want.lines().nth(at)
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// sysdig's `-x` is a multi-line hexdump, saker's one hex string per buffer: the bytes
/// must be the same, as must the `-A` and `-X` views derived from them.
#[test]
fn hex_and_ascii_buffers_match_sysdig_bytes() {
    let dump = golden("curl_read_x.sysdig.txt");
    let mut want: Vec<Vec<u8>> = Vec::new();
    for l in dump.lines() {
        if let Some(rest) = l.trim_start().strip_prefix("0x") {
            let hex: String = rest
                .split_once(": ")
                .map(|(_, h)| h)
                .unwrap_or("")
                .chars()
                .filter(char::is_ascii_hexdigit)
                .collect();
            let last = want.last_mut().expect("a dump line follows a header");
            for i in (0..hex.len()).step_by(2) {
                last.push(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"));
            }
        } else if !l.trim().is_empty() {
            want.push(Vec::new());
        }
    }
    assert_eq!(want.len(), 38);
    let cap = external("curl_google.scap");
    let args = |flag| {
        read(
            &cap,
            &[
                "-v",
                flag,
                "evt.type=read and fd.num=3",
                "-p",
                "%evt.arg.data",
            ],
        )
    };
    let hex: Vec<Vec<u8>> = args("-x")
        .lines()
        .map(|l| {
            (0..l.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&l[i..i + 2], 16).expect("saker hex"))
                .collect()
        })
        .collect();
    assert_eq!(hex, want);
    let ascii = |b: &[u8]| -> String {
        b.iter()
            .map(|&c| {
                if c.is_ascii_graphic() || c == b' ' {
                    c as char
                } else {
                    '.'
                }
            })
            .collect()
    };
    let a: Vec<String> = args("-A").lines().map(str::to_owned).collect();
    assert_eq!(a, want.iter().map(|b| ascii(b)).collect::<Vec<_>>());
    let x: Vec<String> = args("-X").lines().map(str::to_owned).collect();
    let want_x: Vec<String> = want
        .iter()
        .map(|b| {
            let h: String = b.iter().map(|c| format!("{c:02x}")).collect();
            format!("{h} {}", ascii(b))
        })
        .collect();
    assert_eq!(x, want_x);
    // Without -v a buffer is cut (sysdig's default print length).
    let short = read(
        &cap,
        &["-x", "evt.type=read and fd.num=3", "-p", "%evt.arg.data"],
    );
    let first = short.lines().next().expect("a line");
    let cut: Vec<u8> = (0..first.len() / 2)
        .map(|i| u8::from_str_radix(&first[2 * i..2 * i + 2], 16).expect("saker hex"))
        .collect();
    assert!(!cut.is_empty() && cut.len() < want[0].len(), "{first}");
    assert!(want[0].starts_with(&cut), "{first}");
}

/// `-t r`, `-t D` and `-t a` agree with `%evt.rawtime` on a capture recorded here.
#[test]
fn time_formats_agree_with_rawtime() {
    let cap = committed("workload.scap");
    let filter = "evt.type in (openat, close, read)";
    let raw: Vec<u64> = read(&cap, &["-p", "%evt.rawtime", filter])
        .lines()
        .map(|l| l.parse().expect("rawtime"))
        .collect();
    assert!(raw.len() > 5);
    let first_all: u64 = read(&cap, &["-n", "1", "-p", "%evt.rawtime"])
        .trim()
        .parse()
        .expect("rawtime");
    let secs = |flag: &str| -> Vec<u64> {
        read(&cap, &["-t", flag, "-p", "%evt.outputtime", filter])
            .lines()
            .map(|l| {
                let (s, ns) = l.split_once('.').expect("s.ns");
                assert_eq!(ns.len(), 9, "{l}");
                s.parse::<u64>().expect("s") * 1_000_000_000 + ns.parse::<u64>().expect("ns")
            })
            .collect()
    };
    let rel = secs("r");
    assert_eq!(
        rel,
        raw.iter().map(|t| t - first_all).collect::<Vec<_>>(),
        "-t r counts from the capture's first event"
    );
    let delta = secs("D");
    let mut prev = first_all;
    let want: Vec<u64> = raw
        .iter()
        .map(|&t| {
            let d = t - prev;
            prev = t;
            d
        })
        .collect();
    assert_eq!(delta, want, "-t D counts from the previous matching event");
    // The help says what the code does.
    let help = stdout(&run(&["read", "--help"]));
    assert!(help.contains("since the capture's first event"), "{help}");
    assert!(
        help.contains("since the previous event that passed the filter"),
        "{help}"
    );
    // -t a is the epoch time; its difference between two events is the rawtime one.
    let abs = secs("a");
    assert_eq!(abs[1] - abs[0], raw[1] - raw[0]);
    assert!(
        abs[0] > 1_600_000_000 * 1_000_000_000,
        "epoch seconds: {}",
        abs[0]
    );
}

/// `-j` prints one JSON object per event with typed values.
#[test]
fn json_lines_are_typed() {
    let cap = committed("workload.scap");
    let out = read(
        &cap,
        &[
            "-j",
            "-p",
            "%evt.num %evt.type %proc.name %proc.pid %fd.num %fd.name %evt.failed",
            "evt.type=openat",
        ],
    );
    let mut n = 0;
    for l in out.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
        assert!(v["evt.num"].is_u64(), "{l}");
        assert_eq!(v["evt.type"], "openat", "{l}");
        assert!(v["proc.name"].is_string(), "{l}");
        assert!(v["proc.pid"].is_u64(), "{l}");
        assert!(v["evt.failed"].is_boolean(), "{l}");
        if v["evt.failed"] == false {
            assert!(v["fd.num"].is_i64(), "{l}");
            assert!(
                v["fd.name"].as_str().is_some_and(|s| s.starts_with('/')),
                "{l}"
            );
        }
        n += 1;
    }
    assert!(n >= 8, "{out}");
}

fn cols(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_owned).collect()
}

/// Values of Falco-ruleset fields on real events of the scenario captures, each checked
/// against an independent source in the same capture (syscall arguments as printed by
/// `%evt.args`, other events, other fields).
#[test]
fn falco_field_values_on_real_events() {
    let scen = |n: &str| committed(&format!("scenarios/{n}.scap"));

    // Sockets: the listener of reverse-shell.scap binds 127.0.0.1:4444 and accepts the
    // shell's connection; the accept4 arguments give the peer.
    let rs = scen("reverse-shell");
    let bind = read(
        &rs,
        &["evt.type=bind and proc.name=python3", "-p", "%evt.arg.addr"],
    );
    assert_eq!(bind.trim(), "127.0.0.1:4444");
    let acc = read(
        &rs,
        &[
            "evt.type=accept4 and proc.name=python3",
            "-p",
            "%evt.arg.addr %fd.cip %fd.rip %fd.lport %fd.cport %fd.sport %proc.vpid %proc.pid %fd.ip",
        ],
    );
    let c = cols(acc.lines().next().expect("an accept4"));
    let (peer_ip, peer_port) = c[0].rsplit_once(':').expect("ip:port");
    assert_eq!(c[1], peer_ip, "fd.cip is the peer of accept");
    assert_eq!(c[2], peer_ip, "fd.rip: a server's remote end is the client");
    assert_eq!(c[3], "4444", "fd.lport: the bound port");
    assert_eq!(c[4], peer_port);
    assert_eq!(c[5], "4444");
    assert_eq!(c[6], c[7], "proc.vpid: recorded in the host pid namespace");
    assert_eq!(c[8..], ["127.0.0.1", "127.0.0.1"], "fd.ip: both ends");
    // Filter-only fields, by the events they select.
    let count = |f: &str| read(&rs, &[f, "-p", "%evt.num"]).lines().count();
    let server = "evt.type=accept4 and proc.name=python3";
    for f in [
        "fd.port=4444",
        "fd.port=41696",
        "fd.net=127.0.0.0/8",
        "fd.cnet=127.0.0.0/8",
        "fd.snet=127.0.0.1/32",
        "fd.rnet=127.0.0.0/8",
    ] {
        let f = f.replace("41696", peer_port);
        assert_eq!(count(&format!("{server} and {f}")), 1, "{f}");
    }
    for f in [
        "fd.port=4445",
        "fd.net=10.0.0.0/8",
        "fd.snet=127.0.0.2/32",
        "fd.rnet=::1/128",
    ] {
        assert_eq!(count(&format!("{server} and {f}")), 0, "{f}");
    }
    // The client side: connect's address is the server.
    let conn = read(
        &rs,
        &[
            "evt.type=connect and fd.port=4444",
            "-p",
            "%evt.arg.addr %fd.rip %fd.sip",
        ],
    );
    let c = cols(conn.lines().next().expect("a connect"));
    assert_eq!(c[0], "127.0.0.1:4444");
    assert_eq!((c[1].as_str(), c[2].as_str()), ("127.0.0.1", "127.0.0.1"));

    // group.gid follows setgid's argument (setuid-program.scap drops to nobody).
    let su = scen("setuid-program");
    let out = read(
        &su,
        &["evt.type=setgid", "-p", "%evt.arg.gid %group.gid %proc.pid"],
    );
    let c = cols(out.lines().next().expect("a setgid"));
    assert_eq!(c[0], c[1], "group.gid after setgid");
    let before = read(
        &su,
        &[
            &format!("proc.pid={} and evt.type=openat", c[2]),
            "-p",
            "%group.gid",
        ],
    );
    assert!(
        before.lines().any(|l| l == "0"),
        "root's gid before setgid: {before}"
    );

    // Ancestors: shell-from-server.scap execs nginx -> sh -> id; each exec gives the
    // process's exepath, so the parent and grandparent fields of `id` follow from them.
    let sfs = scen("shell-from-server");
    let execs = read(
        &sfs,
        &[
            "evt.type=execve and evt.failed=false",
            "-p",
            "%proc.pid %proc.ppid %proc.name %proc.exe %proc.exepath %proc.pexe %proc.pexepath \
             %proc.aexe[2] %proc.aexepath[2] %proc.is_exe_upper_layer %proc.is_exe_from_memfd \
             %proc.tty %proc.vpgid %proc.vpgid.name %proc.pgid %evt.rawtime %proc.duration %proc.ppid.duration",
        ],
    );
    let rows: Vec<Vec<String>> = execs.lines().map(cols).collect();
    let by_pid = |pid: &str| rows.iter().find(|r| r[0] == pid);
    let id = rows.iter().find(|r| r[2] == "id").expect("id was exec'd");
    let sh = by_pid(&id[1]).expect("id's parent was exec'd");
    let nginx = by_pid(&sh[1]).expect("sh's parent was exec'd");
    assert_eq!((sh[2].as_str(), nginx[2].as_str()), ("sh", "nginx"));
    assert_eq!(id[5], sh[3], "proc.pexe");
    assert_eq!(id[6], sh[4], "proc.pexepath");
    assert_eq!(id[7], nginx[3], "proc.aexe[2]");
    assert_eq!(id[8], nginx[4], "proc.aexepath[2]");
    assert_eq!(sh[4], "/usr/bin/dash", "sh is dash here");
    for r in &rows {
        assert_eq!(r[9], "false", "no overlayfs on the recording host: {r:?}");
        assert_eq!(r[10], "false", "{r:?}");
        assert_eq!(r[11], "0", "recorded without a controlling tty: {r:?}");
        assert_eq!(r[12], r[14], "proc.vpgid = proc.pgid in the host namespace");
    }
    // The process group leader is the recording shell, named by proc.vpgid.name.
    assert!(rows.iter().all(|r| r[13] == "bash"), "{execs}");
    // proc.ppid.duration of id = its time minus sh's start (sh's time minus its duration).
    let t = |r: &Vec<String>, i: usize| r[i].parse::<u64>().expect("number");
    let sh_start = t(sh, 15) - t(sh, 16);
    assert_eq!(t(id, 17), t(id, 15) - sh_start, "proc.ppid.duration");

    // memfd-exec.scap fexecve()s a memfd: only that image is from a memfd.
    let mf = read(
        &scen("memfd-exec"),
        &[
            "evt.type=execve and evt.failed=false",
            "-p",
            "%proc.exepath %proc.is_exe_from_memfd",
        ],
    );
    let rows: Vec<Vec<String>> = mf.lines().map(cols).collect();
    assert!(rows.iter().any(|r| r[1] == "true"), "{mf}");
    for r in rows {
        assert_eq!(r[1] == "true", r[0].starts_with("/memfd:"), "{r:?}");
    }
}
