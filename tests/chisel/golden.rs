//! saker's chisels against sysdig 0.29.3's output on the same real
//! captures (committed in tests/golden/chisels, see its README). Every
//! difference is explained where it is allowed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use saker::event::table::Syscalls;
use saker::event::wire::F_UNFINISHED;

use super::rows;
use crate::util::{run, stderr, stdout};

const FILES: &[&str] = &[
    "cat_write",
    "sf_files_files",
    "sf_client-server_tcp-client-server",
    "sf_nginx_nginx",
];

fn scap(f: &str) -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/captures/external"
    ))
    .join(format!("{f}.scap"))
}

fn golden(f: &str, c: &str) -> String {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/chisels"))
        .join(format!("{f}.{c}.txt"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn key_of(r: &[serde_json::Value]) -> String {
    r[..r.len() - 1]
        .iter()
        .map(|v| match v {
            serde_json::Value::String(s) => s.clone(),
            o => o.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn val_of(v: &serde_json::Value) -> u64 {
    v.as_u64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("not a count: {v}"))
}

/// `(key, value)` rows of a sysdig `-j` table chisel.
fn sysdig_rows(f: &str, c: &str) -> Vec<(String, u64)> {
    let v: serde_json::Value = serde_json::from_str(&golden(f, c)).unwrap();
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            (key_of(r), val_of(&r[r.len() - 1]))
        })
        .collect()
}

/// `(key, value)` rows of saker's `--json` table chisel (all keys joined).
fn saker_rows(f: &str, chisel: &[&str]) -> Vec<(String, u64)> {
    let v = super::chisel_json(&scap(f), &[], chisel);
    let _ = rows;
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            (key_of(r), val_of(&r[r.len() - 1]))
        })
        .collect()
}

fn saker_lines(f: &str, chisel: &[&str], json: bool) -> Vec<String> {
    let p = scap(f);
    let mut a = vec!["read", "-r", p.to_str().unwrap()];
    if json {
        a.push("--json");
    }
    a.push("-c");
    a.extend_from_slice(chisel);
    let o = run(&a);
    assert!(o.status.success(), "{a:?}: {}", stderr(&o));
    stdout(&o).lines().map(str::to_string).collect()
}

/// Top tables whose numbers must be identical. Where sysdig's top-N cut
/// falls inside a run of equal values (sf_nginx_nginx's topfiles_bytes: many
/// libraries with 832 bytes, their ELF header), which of the tied keys are
/// shown is arbitrary in both tools: the values must still match, and
/// every key above the tie.
#[test]
fn top_tables_match_sysdig() {
    for f in FILES {
        for (golden_name, args) in [
            ("topfiles_bytes", vec!["topfiles_bytes"]),
            ("topprocs_file", vec!["topprocs_file"]),
            ("topprocs_net", vec!["topprocs_net"]),
            ("fdbytes_by.proc.name", vec!["fdbytes_by", "proc.name"]),
        ] {
            let want = sysdig_rows(f, golden_name);
            let got = saker_rows(f, &args);
            let vals = |v: &[(String, u64)]| {
                let mut x: Vec<u64> = v.iter().map(|r| r.1).collect();
                x.sort_unstable();
                x
            };
            assert_eq!(
                vals(&got),
                vals(&want),
                "{f} {golden_name}: {got:?} vs sysdig {want:?}"
            );
            let cut = want.iter().map(|r| r.1).min().unwrap_or(0);
            let tied = want.iter().filter(|r| r.1 == cut).count();
            let above = |v: &[(String, u64)]| -> BTreeSet<(String, u64)> {
                v.iter()
                    .filter(|r| r.1 > cut || (tied == 1 && r.1 == cut))
                    .cloned()
                    .collect()
            };
            assert_eq!(above(&got), above(&want), "{f} {golden_name}");
        }
    }
}

/// Our x86_64 syscall name of a libs event name (libs names some events
/// after the libc call, not the kernel entry).
fn ours_of_libs(name: &str) -> &str {
    match name {
        "pread" => "pread64",
        "pwrite" => "pwrite64",
        "prlimit" => "prlimit64",
        n => n,
    }
}

/// sysdig 0.29.3's topscalls counts events: an enter and an exit event
/// each count once, so a complete syscall counts twice, one cut by the
/// capture's start (exit only) or end (enter only) once. saker pairs them
/// into one event (as current libs does). So, from saker's raw records:
/// sysdig = 2 × paired + lone, per syscall. Rows only sysdig has are not
/// syscalls in saker's model: `procinfo` (internal CPU-usage events),
/// `procexit`, `signaldeliver`, and `<unknown>`: the old generic `syscall`
/// events of SHB 1.0 files, which saker names by their syscall id (e.g.
/// fadvise64 in cat_write) and sysdig 0.29.3 cannot.
#[test]
fn topscalls_matches_sysdig_event_counts() {
    let not_syscalls = [
        "procinfo",
        "procexit",
        "signaldeliver",
        "<unknown>",
        "switch",
        "container",
    ];
    for f in FILES {
        let opened = saker::source::open(&scap(f)).unwrap();
        let r = opened.reader;
        let table = Syscalls::new(r.meta().syscalls.clone()).unwrap();
        let mut events: BTreeMap<String, u64> = BTreeMap::new();
        r.for_each_event(|_, rec| {
            if rec.is_syscall() {
                let paired = rec.enter_ts().is_some() && rec.flags() & F_UNFINISHED == 0;
                *events
                    .entry(table.name(rec.code()).into_owned())
                    .or_default() += 1 + u64::from(paired);
            }
        })
        .unwrap();
        let want = sysdig_rows(f, "topscalls");
        let mut matched = 0;
        let mut wrong = Vec::new();
        for (name, n) in &want {
            if not_syscalls.contains(&name.as_str()) {
                continue;
            }
            let ours = events.get(ours_of_libs(name)).copied().unwrap_or(0);
            if ours != *n {
                wrong.push((name.clone(), *n, ours));
            }
            matched += 1;
        }
        assert!(wrong.is_empty(), "{f}: (syscall, sysdig, saker) {wrong:?}");
        assert!(matched >= 5, "{f}");
        // And saker's own topscalls counts one per paired syscall.
        let got = saker_rows(f, &["topscalls"]);
        for (name, n) in &got {
            let raw = events.get(name).copied().unwrap_or(0);
            assert!(raw >= *n && raw <= 2 * n, "{f}: {name} {n} vs {raw} events");
        }
    }
}

/// topscalls_time: imported enter/exit pairs carry the enter's time, so the
/// capture has latency and the per-syscall time totals are sysdig's
/// (names as in [`ours_of_libs`]).
#[test]
fn topscalls_time_matches_sysdig() {
    for f in FILES {
        // `switch`: scheduler events (sysdig gives them the time since the
        // CPU's previous one) are internal events, no record of ours.
        let want: BTreeSet<(String, u64)> = sysdig_rows(f, "topscalls_time")
            .into_iter()
            .filter(|(n, _)| n != "switch")
            .map(|(n, v)| (ours_of_libs(&n).to_string(), v))
            .collect();
        let mut got: BTreeSet<(String, u64)> =
            saker_rows(f, &["topscalls_time"]).into_iter().collect();
        assert!(!want.is_empty(), "{f}");
        // `<unknown>`: an old generic `syscall` event 0.29.3 cannot name
        // (see topscalls); saker names it (cat_write: fadvise64).
        for (_, v) in want.iter().filter(|w| w.0 == "<unknown>") {
            let named = got.iter().find(|g| g.1 == *v && !want.contains(g)).cloned();
            let named = named.unwrap_or_else(|| panic!("{f}: no row of ours for <unknown> {v}"));
            got.remove(&named);
            got.insert(("<unknown>".into(), *v));
        }
        assert_eq!(got, want, "{f}");
    }
}

/// topconns / topports_server: the same rows. Both name a connection by
/// its `client->server` tuple, so the client's and the server's bytes add
/// up on one row (client-server: both ends are in the capture).
#[test]
fn topconns_and_ports_match_sysdig() {
    for f in FILES {
        for c in ["topconns", "topports_server"] {
            let want: BTreeSet<(String, u64)> = sysdig_rows(f, c).into_iter().collect();
            let got: BTreeSet<(String, u64)> = saker_rows(f, &[c]).into_iter().collect();
            assert_eq!(got, want, "{f} {c}");
        }
    }
}

/// fdcount_by prints `key\tcount` in both tools: identical.
///
/// The counts agree; names may be spelled differently: a Unix socket is
/// its path in saker, `SRC->DST PATH` (kernel pointers) in sysdig 0.29.3.
/// A failed connect names the Unix socket in both (nginx's fd 5 on
/// `/var/run/nscd/socket`, ENOENT, on sf_nginx_nginx), and an accepted
/// socket is named by its full tuple in both.
#[test]
fn fdcount_by_matches_sysdig() {
    for f in FILES {
        let want: BTreeSet<String> = golden(f, "fdcount_by.proc.name")
            .lines()
            .map(str::to_string)
            .collect();
        let got: BTreeSet<String> = saker_lines(f, &["fdcount_by", "proc.name"], false)
            .into_iter()
            .collect();
        assert_eq!(got, want, "{f}");
    }
}

/// iobytes*: sysdig prints every second, zeros included, labelled with the
/// end of the interval (its timer fires after the second); saker prints
/// the seconds that had I/O, labelled with their start. The non-zero
/// seconds, shifted by one, carry the same bytes in and out.
#[test]
fn iobytes_match_sysdig_per_second() {
    for f in FILES {
        for c in ["iobytes", "iobytes_file", "iobytes_net"] {
            let want: Vec<(String, u64, u64)> = golden(f, c)
                .lines()
                .filter_map(|l| {
                    let mut w = l.split_whitespace();
                    let t = w.next()?;
                    let i: u64 = w.next()?.strip_prefix("in:")?.parse().ok()?;
                    let o: u64 = w.next()?.strip_prefix("out:")?.parse().ok()?;
                    let t = chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").ok()?;
                    let t = t - chrono::Duration::seconds(1);
                    (i + o > 0).then(|| (t.format("%H:%M:%S").to_string(), i, o))
                })
                .collect();
            let got: Vec<(String, u64, u64)> = saker_lines(f, &[c], true)
                .iter()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    let t = v["time"].as_i64().unwrap();
                    let t = chrono::DateTime::from_timestamp(t / 1_000_000_000, 0).unwrap();
                    (
                        t.format("%H:%M:%S").to_string(),
                        v["in"].as_u64().unwrap(),
                        v["out"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, want, "{f} {c}");
        }
    }
}

/// ps: the same (tid, pid) set at the end of the capture.
#[test]
fn ps_matches_sysdig() {
    for f in FILES {
        let want: BTreeSet<(u64, u64)> = golden(f, "ps")
            .lines()
            .skip(1)
            .filter_map(|l| {
                let mut w = l.split_whitespace();
                Some((w.next()?.parse().ok()?, w.next()?.parse().ok()?))
            })
            .collect();
        let got: BTreeSet<(u64, u64)> = saker_lines(f, &["ps"], true)
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["tid"].as_u64().unwrap(), v["pid"].as_u64().unwrap())
            })
            .collect();
        assert!(want.len() > 50, "{f}");
        assert_eq!(got, want, "{f}");
    }
}

/// lsof: the same (pid, fd, type, name) rows. Type names differ only in
/// spelling where sysdig 0.29.3 prints its own: none on these files.
/// Sockets of the initial fd list whose two ends are IPv4-mapped IPv6
/// addresses are `ipv4` in both (dockerd's fd 29 on client-server).
#[test]
fn lsof_matches_sysdig() {
    for (f, c, args) in [
        ("cat_write", "lsof", vec!["lsof"]),
        (
            "sf_client-server_tcp-client-server",
            "lsof.fd.type=ipv4",
            vec!["lsof"],
        ),
    ] {
        let want: BTreeSet<(u64, i64)> = golden(f, c)
            .lines()
            .skip(1)
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                Some((w.get(1)?.parse().ok()?, w.get(4)?.parse().ok()?))
            })
            .collect();
        let ipv4_only = c.contains("ipv4");
        let got: BTreeSet<(u64, i64)> = saker_lines(f, &args, true)
            .iter()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                if ipv4_only && v["type"] != "ipv4" {
                    return None;
                }
                Some((v["pid"].as_u64()?, v["fd"].as_i64()?))
            })
            .collect();
        assert!(!want.is_empty(), "{f}");
        assert_eq!(got, want, "{f} {c}");
    }
    // Names of file fds agree too.
    let names = |v: Vec<String>| -> BTreeSet<String> { v.into_iter().collect() };
    let want = names(
        golden("cat_write", "lsof")
            .lines()
            .skip(1)
            .filter(|l| l.split_whitespace().nth(5) == Some("file"))
            // The name runs to the end of the line: `/tmp/x (deleted)`.
            .map(|l| l.split_whitespace().skip(6).collect::<Vec<_>>().join(" "))
            .collect(),
    );
    let got = names(
        saker_lines("cat_write", &["lsof"], true)
            .iter()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["type"] == "file").then(|| v["name"].as_str().unwrap_or("").to_string())
            })
            .collect(),
    );
    assert_eq!(got, want);
}

/// netstat: the same sockets. sysdig 0.29.3's netstat chisel stops at the
/// first event and lists that state (the capture's initial fd lists):
/// saker's is compared `--at 0` (the first event's time). Spelling differs:
/// sysdig prints an unknown peer as `0.0.0.0:*` (saker `*:*`) and IPv6
/// without brackets (`:::22`, saker `[::]:22`); for sockets from the initial
/// fd list, which end is the "server" is a guess in both (sysdig takes the
/// tuple's order, saker the local end unless it saw a connect), so the pair
/// is compared unordered. Both show an IPv6 socket whose two ends are
/// IPv4-mapped as IPv4.
#[test]
fn netstat_matches_sysdig() {
    let norm = |s: &str| -> String {
        let s = s.replace("[", "").replace("]", "");
        if s == "*:*" {
            "0.0.0.0:*".into()
        } else {
            s
        }
    };
    for f in FILES {
        let pair = |a: String, b: String| if a <= b { (a, b) } else { (b, a) };
        let want: BTreeSet<(String, String, String)> = golden(f, "netstat")
            .lines()
            .skip(1)
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                let (a, b) = pair(norm(w.get(1)?), norm(w.get(2)?));
                Some((w[0].to_string(), a, b))
            })
            .collect();
        let p = scap(f);
        let o = run(&[
            "read",
            "-r",
            p.to_str().unwrap(),
            "--json",
            "--at",
            "0",
            "-c",
            "netstat",
        ]);
        assert!(o.status.success(), "{f}: {}", stderr(&o));
        let got: BTreeSet<(String, String, String)> = stdout(&o)
            .lines()
            .filter_map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let proto = v["proto"].as_str()?.to_string();
                let (a, b) = pair(norm(v["server"].as_str()?), norm(v["client"].as_str()?));
                (!proto.is_empty()).then_some((proto, a, b))
            })
            .collect();
        assert_eq!(got, want, "{f}");
    }
}

/// lscontainers: the same container ids (sysdig adds image and name from
/// the container events, which saker's model does not keep).
#[test]
fn lscontainers_matches_sysdig() {
    for f in FILES {
        let want: BTreeSet<String> = golden(f, "lscontainers")
            .lines()
            .skip(2)
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect();
        let got: BTreeSet<String> = saker_lines(f, &["lscontainers"], false)
            .iter()
            .skip(2)
            .filter_map(|l| l.split_whitespace().next().map(str::to_string))
            .collect();
        assert_eq!(got, want, "{f}");
    }
}

/// spy_users and list_login_shells: the same login shell ids, and the
/// same commands at the same seconds. sysdig prints `<NA>` for the user
/// where the capture's user list has no entry for the uid; saker falls
/// back to the uid's name from the same list or the number, so users are
/// not compared. sysdig prints the shell id once per row of its internal
/// table (three times here); saker prints each once.
#[test]
fn spy_users_and_login_shells_match_sysdig() {
    for f in FILES {
        let want: Vec<(String, String, String)> = golden(f, "spy_users")
            .lines()
            .filter_map(|l| {
                let (head, cmd) = l.split_once(") ")?;
                let mut w = head.split_whitespace();
                Some((
                    w.next()?.to_string(),
                    w.next()?.to_string(),
                    cmd.trim_end().to_string(),
                ))
            })
            .collect();
        let got: Vec<(String, String, String)> = saker_lines(f, &["spy_users"], true)
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let t = v["evt.time"].as_str().unwrap();
                (
                    v["proc.loginshellid"].to_string(),
                    t.get(11..19).unwrap_or("").to_string(),
                    v["cmd"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(got, want, "{f} spy_users");
        // sysdig 0.29.3's list_login_shells keeps ONE record (`sids`),
        // overwritten by every execve, so it prints only the last exec's
        // shell id (client-server: 7130, not the server's 7955). The ids of
        // every exec are in its spy_users output: saker lists those.
        let printed: BTreeSet<u64> = golden(f, "list_login_shells")
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        let last: BTreeSet<u64> = want
            .last()
            .and_then(|w| w.0.parse().ok())
            .into_iter()
            .collect();
        assert_eq!(printed, last, "{f}: sysdig prints the last exec's shell");
        let want: BTreeSet<u64> = want.iter().filter_map(|w| w.0.parse().ok()).collect();
        let v: serde_json::Value =
            serde_json::from_str(&saker_lines(f, &["list_login_shells"], true).join("")).unwrap();
        let got: BTreeSet<u64> = v["shells"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|x| x.as_u64())
            .collect();
        assert_eq!(got, want, "{f} list_login_shells");
    }
}

/// proc_exec_time: sysdig prints no row on any of these files (its chisel
/// needs both the exec and the procexit of a process, and a duration
/// above its threshold); saker prints none either.
#[test]
fn proc_exec_time_matches_sysdig() {
    for f in FILES {
        let want = golden(f, "proc_exec_time")
            .lines()
            .skip(2)
            .filter(|l| !l.trim().is_empty())
            .count();
        let got = saker_lines(f, &["proc_exec_time"], true).len();
        assert_eq!((got, want), (0, 0), "{f}");
    }
}
