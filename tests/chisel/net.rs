//! Network chisels and SQL on a fresh recording of real TCP traffic: a
//! Python server on a fixed local port and two clients that send known
//! byte counts. Expected numbers come from the workload itself (what it
//! sent, the ports it printed) and from a walk of the raw records, not
//! from the chisel code.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use saker::capture;
use saker::event::table::Syscalls;

use super::{chisel_json, rows};
use crate::util::{bpf_guard, record_cmd, run, stderr, stdout, tmpdir};

/// Bytes each client sends; the server answers twice as many.
const SENDS: [usize; 2] = [100, 300];

/// Server: on a port the kernel picks, accept both clients, read `n`,
/// answer `2n`, keep the sockets open until the clients are done. Prints
/// the server port, then the clients' local ports.
const SCRIPT: &str = r#"
import socket, threading, time
sends = [100, 300]
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0)); srv.listen(4); port = srv.getsockname()[1]
done = threading.Event(); conns = []
def serve():
    for n in sends:
        c, _ = srv.accept(); conns.append(c)
        got = b""
        while len(got) < n:
            got += c.recv(n - len(got))
        c.sendall(got * 2)
    done.wait()
    for c in conns: c.close()
t = threading.Thread(target=serve); t.start()
cl = []
for n in sends:
    s = socket.create_connection(("127.0.0.1", port)); cl.append(s)
    s.sendall(b"x" * n)
    got = 0
    while got < 2 * n:
        got += len(s.recv(4096))
print(port, " ".join(str(s.getsockname()[1]) for s in cl), flush=True)
time.sleep(0.3)
done.set(); t.join()
for s in cl: s.close()
srv.close()
"#;

/// The recording: capture path, server port, client ports (in `SENDS` order).
struct Rec {
    _dir: tempfile::TempDir,
    cap: PathBuf,
    port: u16,
    cports: Vec<u16>,
}

/// Records the workload once (BPF); `None` when BPF tests are skipped.
fn recording() -> Option<&'static Rec> {
    static REC: OnceLock<Rec> = OnceLock::new();
    let _guard = bpf_guard("chisel::net")?;
    Some(REC.get_or_init(|| {
        let dir = tmpdir();
        let script = dir.path().join("tcp.py");
        std::fs::write(&script, SCRIPT).unwrap();
        let cap = dir.path().join("tcp.scap");
        let o = record_cmd(&cap, &["python3", script.to_str().unwrap()]);
        assert!(o.status.success(), "{}", stderr(&o));
        let mut ports: Vec<u16> = stdout(&o)
            .split_whitespace()
            .map(|p| p.parse().unwrap())
            .collect();
        assert_eq!(ports.len(), 1 + SENDS.len(), "{}", stdout(&o));
        let port = ports.remove(0);
        let cports = ports;
        Rec {
            _dir: dir,
            cap,
            port,
            cports,
        }
    }))
}

/// `--at` (seconds after the first event) just after the last I/O syscall
/// on a socket of the server port's connections: all sockets still open.
/// `read -r CAP --json OPTS -c CHISEL...`: one JSON value per line.
fn json_lines(cap: &Path, opts: &[&str], chisel: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["read", "-r", cap.to_str().unwrap(), "--json"];
    a.extend_from_slice(opts);
    a.push("-c");
    a.extend_from_slice(chisel);
    let o = run(&a);
    assert!(o.status.success(), "{a:?}: {}", stderr(&o));
    stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn at_last_recv(cap: &Path) -> String {
    let r = capture::open(cap).unwrap();
    let table = Syscalls::new(r.meta().syscalls.clone()).unwrap();
    let first = r.totals().first_ts.unwrap();
    let mut last = first;
    r.for_each_event(|_, rec| {
        if rec.is_syscall() && table.name(rec.code()) == "recvfrom" && rec.ret() > 0 {
            last = rec.ts();
        }
    })
    .unwrap();
    format!("+{:.9}", (last - first + 1_000) as f64 / 1e9)
}

/// topconns: each server-side socket is named `cip:cport->sip:sport`
/// (sysdig's `fd.name`) and carries what the server read plus wrote; the
/// totals are every byte both ends moved. topports_server: all of it on
/// the server port, as sysdig counts both ends there.
#[test]
fn topconns_and_topports_server_on_real_tcp() {
    let Some(rec) = recording() else { return };
    let v = chisel_json(&rec.cap, &[], &["topconns"]);
    let conns: BTreeMap<String, u64> = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r[0], "tcp", "{r}");
            (r[1].as_str().unwrap().to_string(), r[2].as_u64().unwrap())
        })
        .collect();
    let moved: u64 = SENDS.iter().map(|n| 6 * *n as u64).sum();
    assert_eq!(conns.values().sum::<u64>(), moved, "{conns:?}");
    for (n, cport) in SENDS.iter().zip(&rec.cports) {
        let name = format!("127.0.0.1:{cport}->127.0.0.1:{}", rec.port);
        let got = conns.get(&name).copied().unwrap_or(0);
        // The server's end (read n, wrote 2n) and the client's end (the
        // recorder keeps connect's local port) share the row.
        assert_eq!(got, 6 * *n as u64, "{name}: {got} in {conns:?}");
    }
    let ports = rows(&chisel_json(&rec.cap, &[], &["topports_server"]));
    assert_eq!(ports, vec![(rec.port.to_string(), moved)], "{ports:?}");
    // The other network chisels see the same bytes.
    assert_eq!(
        rows(&chisel_json(&rec.cap, &[], &["topprocs_net"])),
        vec![("python3".to_string(), moved)]
    );
    assert_eq!(
        rows(&chisel_json(&rec.cap, &[], &["fdbytes_by", "fd.sport"])),
        vec![(rec.port.to_string(), moved)]
    );
    let lines = |args: &[&str]| json_lines(&rec.cap, &[], args);
    let sum =
        |v: &[serde_json::Value], k: &str| v.iter().filter_map(|e| e[k].as_u64()).sum::<u64>();
    let io = lines(&["iobytes_net"]);
    assert_eq!(
        (sum(&io, "in"), sum(&io, "out")),
        (moved / 2, moved / 2),
        "{io:?}"
    );
    let port = rec.port.to_string();
    for spy in [vec!["spy_port", port.as_str()], vec!["spy_ip", "127.0.0.1"]] {
        let v = lines(&spy);
        assert_eq!(sum(&v, "evt.rawres"), moved, "{spy:?}");
        assert!(v.iter().all(|e| e["evt.buffer"]
            .as_str()
            .is_some_and(|b| b.chars().all(|c| c == 'x'))));
    }
    // A filter narrows it to one connection's server end.
    let one = rows(&chisel_json(
        &rec.cap,
        &[&format!("fd.cport={}", rec.cports[1])],
        &["topports_server"],
    ));
    let got = one.iter().map(|r| r.1).sum::<u64>();
    let n = SENDS[1] as u64;
    assert_eq!(got, 6 * n, "both ends of the connection: {one:?}");
}

/// netstat and lsof at a time when every socket is open, with sysdig's
/// filter argument.
#[test]
fn netstat_and_lsof_with_a_filter_on_real_tcp() {
    let Some(rec) = recording() else { return };
    let cap = rec.cap.to_str().unwrap();
    let at = at_last_recv(&rec.cap);
    let lines = |args: &[&str]| json_lines(&rec.cap, &["--at", &at], args);
    let srv = format!("127.0.0.1:{}", rec.port);
    let ns = lines(&["netstat"]);
    let set: BTreeSet<(String, String, String)> = ns
        .iter()
        .map(|v| {
            (
                v["server"].as_str().unwrap().to_string(),
                v["client"].as_str().unwrap().to_string(),
                v["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        set.contains(&(srv.clone(), "*:*".into(), "LISTEN".into())),
        "{set:?}"
    );
    for cport in &rec.cports {
        let cli = format!("127.0.0.1:{cport}");
        assert!(
            set.contains(&(srv.clone(), cli.clone(), "ESTABLISHED".into())),
            "{cli}: {set:?}"
        );
    }
    // Server end, two accepted, two clients: 5 TCP sockets.
    assert_eq!(ns.len(), 5, "{ns:?}");
    let only = lines(&["netstat", &format!("fd.cport={}", rec.cports[0])]);
    assert!(!only.is_empty() && only.len() < ns.len(), "{only:?}");
    assert!(only
        .iter()
        .all(|v| v["client"] == format!("127.0.0.1:{}", rec.cports[0]) || v["client"] == "*:*"));
    // lsof "fd.type=ipv4": exactly the sockets netstat listed.
    let ls = lines(&["lsof", "fd.type=ipv4"]);
    assert_eq!(ls.len(), ns.len(), "{ls:?}");
    assert!(ls.iter().all(|v| v["type"] == "ipv4"));
    let all = lines(&["lsof"]);
    assert!(all.len() > ls.len());
    // ps with an fd filter: the processes with such an fd (one python).
    let ps = lines(&["ps", "fd.type=ipv4"]);
    assert!(!ps.is_empty(), "{ps:?}");
    assert!(ps.iter().all(|v| v["cmd"] == "python3"), "{ps:?}");
    let bad = run(&["read", "-r", cap, "-c", "lsof", "fd.nme=x"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("argument 'filter'"),
        "{}",
        stderr(&bad)
    );
}

/// Common SQL shapes through `saker query` on a real capture, each checked
/// against a walk of the raw records.
#[test]
fn sql_shapes_on_a_fresh_capture() {
    let Some(rec) = recording() else { return };
    let r = capture::open(&rec.cap).unwrap();
    let table = Syscalls::new(r.meta().syscalls.clone()).unwrap();
    let off = r.meta().machine.boottime_to_epoch_ns;
    let (mut n, mut tids, mut sends, mut sent) = (0u64, BTreeSet::new(), 0u64, 0i64);
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    r.for_each_event(|_, e| {
        n += 1;
        tids.insert(e.tid());
        if e.is_syscall() {
            let name = table.name(e.code());
            if name == "sendto" && e.ret() > 0 {
                sends += 1;
                sent += e.ret();
            }
            *by_type.entry(name.into_owned()).or_default() += 1;
        }
    })
    .unwrap();
    let t = r.totals();
    let q = |sql: &str| -> Vec<serde_json::Value> {
        let o = run(&["query", rec.cap.to_str().unwrap(), sql, "--json"]);
        assert!(o.status.success(), "{sql}: {}", stderr(&o));
        stdout(&o)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let one = |sql: &str, col: &str| -> serde_json::Value {
        let v = q(sql);
        assert_eq!(v.len(), 1, "{sql}: {v:?}");
        v[0][col].clone()
    };
    assert_eq!(one("SELECT COUNT(*) FROM events", "len"), n);
    assert_eq!(one("SELECT COUNT(*) AS n FROM events", "n"), n);
    assert_eq!(
        one("SELECT COUNT(DISTINCT thread_tid) AS n FROM events", "n"),
        tids.len()
    );
    let v = q("SELECT COUNT(*) AS n, SUM(evt_rawres) AS s, AVG(evt_rawres) AS a FROM events WHERE evt_type = 'sendto' AND evt_rawres > 0");
    assert_eq!(v[0]["n"], sends);
    assert_eq!(v[0]["s"], sent);
    let avg = v[0]["a"].as_f64().unwrap();
    assert!((avg - sent as f64 / sends as f64).abs() < 1e-6, "{v:?}");
    let v = q("SELECT MIN(evt_rawtime) AS a, MAX(evt_rawtime) AS b, MAX(evt_rawtime) - MIN(evt_rawtime) AS span FROM events");
    assert_eq!(v[0]["a"], t.first_ts.unwrap() as i64 + off);
    assert_eq!(v[0]["b"], t.last_ts.unwrap() as i64 + off);
    assert_eq!(v[0]["span"], (t.last_ts.unwrap() - t.first_ts.unwrap()));
    let all = q(
        "SELECT evt_type, COUNT(*) AS n FROM events GROUP BY evt_type ORDER BY n DESC, evt_type",
    );
    let mut seen = 0;
    for row in &all {
        if let Some(c) = row["evt_type"].as_str().and_then(|t| by_type.get(t)) {
            assert_eq!(row["n"], *c, "{row}");
            seen += 1;
        }
    }
    assert_eq!(seen, by_type.len(), "{all:?}");
    assert!(all
        .windows(2)
        .all(|w| w[0]["n"].as_u64() >= w[1]["n"].as_u64()));
    let top = q("SELECT evt_type, COUNT(*) AS n FROM events GROUP BY evt_type ORDER BY n DESC, evt_type LIMIT 3");
    assert_eq!(top, all[..3].to_vec());
    // Strings: the server port's connections by fd name.
    let like = format!("%->127.0.0.1:{}", rec.port);
    let v = q(&format!(
        "SELECT fd_name, SUM(evt_rawres) AS b FROM events WHERE fd_name LIKE '{like}' AND evt_type IN ('sendto', 'recvfrom') AND evt_rawres > 0 GROUP BY fd_name ORDER BY b"
    ));
    assert_eq!(v.len(), SENDS.len(), "{v:?}");
    for (row, n) in v.iter().zip(SENDS) {
        assert!(row["b"].as_i64().unwrap() >= 3 * n as i64, "{v:?}");
    }
    // Time buckets: per second of the epoch, adding up to every event.
    let v = q(
        "SELECT evt_rawtime // 1000000000 AS s, COUNT(*) AS n FROM events GROUP BY s ORDER BY s",
    );
    assert_eq!(v.iter().map(|r| r["n"].as_u64().unwrap()).sum::<u64>(), n);
    assert!(v
        .windows(2)
        .all(|w| w[0]["s"].as_i64() < w[1]["s"].as_i64()));
}

/// `around --json` is one JSON object per line with the matches flagged;
/// sysdig's extra arguments are accepted or rejected by value.
#[test]
fn around_json_and_sysdig_arguments() {
    let Some(rec) = recording() else { return };
    let cap = rec.cap.to_str().unwrap();
    // Only the workload's TCP connects: python with no HOME looks users up
    // and connects to nscd/userdb sockets too (34 connects in CI).
    let only_ours = format!("evt.type=connect and fd.sport={}", rec.port);
    let o = run(&[
        "read", "-r", cap, "--json", &only_ours, "-c", "around", "-", "100",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let matches: Vec<&serde_json::Value> = v.iter().filter(|e| e["match"] == true).collect();
    assert_eq!(matches.len(), SENDS.len(), "{matches:?}");
    assert!(matches.iter().all(|e| e["evt.type"] == "connect"));
    assert!(v.len() > matches.len(), "context events too");
    for ok in [
        vec!["echo_fds", "disable_colors"],
        vec!["spy_port", "53", "disable_colors"],
        vec!["spy_users", "2"],
        vec!["list_login_shells", "*", "x"],
        vec!["lscontainers", "desc"],
    ] {
        let mut a = vec!["read", "-r", cap, "-c"];
        a.extend(&ok);
        let o = run(&a);
        assert!(o.status.success(), "{ok:?}: {}", stderr(&o));
    }
    for (bad, why) in [
        (vec!["echo_fds", "red"], "expected 'disable_colors'"),
        (vec!["spy_users", "deep"], "not a number"),
        (vec!["lscontainers", "x"], "expected 'desc'"),
        (vec!["ps", "proc.name="], "argument 'filter'"),
    ] {
        let mut a = vec!["read", "-r", cap, "-c"];
        a.extend(&bad);
        let o = run(&a);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&o).contains(why), "{bad:?}: {}", stderr(&o));
    }
}
