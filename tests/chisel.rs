//! Chisels, `saker query` and `saker export` against the committed samples
//! and fresh recordings; expected numbers are computed here from the raw
//! records and the capture index, independently of the chisel code.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use saker::capture;
use saker::event::meta::FdKind;
use saker::event::table::Syscalls;
use saker::event::wire::Record;

use crate::util::{bpf_guard, run, stderr, stdout, tmpdir};

mod dump;
mod external;
mod golden;
mod net;
mod time;

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

const SAMPLES: &[&str] = &["workload.scap", "cat-hostname.scap", "system-1s.scap"];

fn chisel_json(cap: &Path, filter: &[&str], chisel: &[&str]) -> serde_json::Value {
    let mut args = vec!["read", "-r", cap.to_str().unwrap(), "--json"];
    args.extend_from_slice(filter);
    args.push("-c");
    args.extend_from_slice(chisel);
    let o = run(&args);
    assert!(o.status.success(), "saker {args:?}: {}", stderr(&o));
    serde_json::from_str(&stdout(&o)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&o)))
}

/// `(key, value)` rows of a table chisel's JSON output.
fn rows(v: &serde_json::Value) -> Vec<(String, u64)> {
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            let key = match &r[0] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, r[r.len() - 1].as_u64().unwrap())
        })
        .collect()
}

/// Per-syscall-name totals from the block index (no decompression).
fn index_counts(cap: &Path) -> BTreeMap<String, u64> {
    let r = capture::open(cap).unwrap();
    let table = Syscalls::new(r.meta().syscalls.clone()).unwrap();
    let mut m = BTreeMap::new();
    for (code, n) in r.totals().counts {
        if code < 1024 {
            *m.entry(table.name(code).into_owned()).or_default() += n;
        }
    }
    m
}

fn check_topscalls(cap: &Path) {
    let want = index_counts(cap);
    let got = rows(&chisel_json(cap, &[], &["topscalls"]));
    assert!(!got.is_empty());
    assert_eq!(got.len(), want.len().min(30), "{}", cap.display());
    for (name, n) in &got {
        assert_eq!(want.get(name), Some(n), "{}: {name}", cap.display());
    }
    assert!(got.windows(2).all(|w| w[0].1 >= w[1].1), "sorted by count");
    // Whatever is left out is not larger than what is shown.
    let min = got.last().unwrap().1;
    let shown: Vec<&String> = got.iter().map(|(k, _)| k).collect();
    assert!(want
        .iter()
        .filter(|(k, _)| !shown.contains(k))
        .all(|(_, v)| *v <= min));
}

/// Bytes read+written per file path, walking the records: opens (openat,
/// open, creat) map fds to paths per process, closes and dup2 over them
/// drop them; start fds come from the snapshot.
fn file_bytes(cap: &Path) -> HashMap<String, u64> {
    let r = capture::open(cap).unwrap();
    let table = Syscalls::new(r.meta().syscalls.clone()).unwrap();
    let mut fds: HashMap<(u32, i64), String> = HashMap::new();
    for p in &r.meta().snapshot.procs {
        for f in &p.fds {
            if f.kind == FdKind::File {
                fds.insert((p.pid, i64::from(f.fd)), f.name.clone());
            }
        }
    }
    let mut bytes: HashMap<String, u64> = HashMap::new();
    r.for_each_event(|_, rec: Record<'_>| {
        if !rec.is_syscall() {
            return;
        }
        let name = table.name(rec.code());
        let fd_arg = |i| rec.arg(i).map(|v| v as i32 as i64).unwrap_or(-1);
        match name.as_ref() {
            "openat" | "open" | "creat" if rec.ret() >= 0 => {
                let idx = if name == "openat" { 1 } else { 0 };
                let path = rec
                    .param(idx)
                    .map(|p| String::from_utf8_lossy(p.data).into_owned())
                    .unwrap_or_default();
                if path.starts_with('/') {
                    fds.insert((rec.pid(), rec.ret()), path);
                } else {
                    fds.remove(&(rec.pid(), rec.ret()));
                }
            }
            "dup" | "dup2" | "dup3" if rec.ret() >= 0 => {
                match fds.get(&(rec.pid(), fd_arg(0))).cloned() {
                    Some(p) => fds.insert((rec.pid(), rec.ret()), p),
                    None => fds.remove(&(rec.pid(), rec.ret())),
                };
            }
            "close" if rec.ret() == 0 => {
                fds.remove(&(rec.pid(), fd_arg(0)));
            }
            "read" | "write" | "pread64" | "pwrite64" | "readv" | "writev" if rec.ret() > 0 => {
                if let Some(p) = fds.get(&(rec.pid(), fd_arg(0))) {
                    *bytes.entry(p.clone()).or_default() += rec.ret() as u64;
                }
            }
            _ => {}
        }
    })
    .unwrap();
    bytes
}

#[test]
fn topscalls_matches_the_index_on_every_sample() {
    for s in SAMPLES {
        check_topscalls(&sample(s));
    }
}

#[test]
fn topfiles_bytes_matches_a_walk_of_the_records() {
    for s in ["cat-hostname.scap", "workload.scap"] {
        let cap = sample(s);
        let want = file_bytes(&cap);
        let got = rows(&chisel_json(&cap, &[], &["topfiles_bytes"]));
        for (path, n) in &got {
            assert_eq!(want.get(path), Some(n), "{s}: {path} (want {want:?})");
        }
        let mut top: Vec<u64> = want.values().copied().collect();
        top.sort_unstable_by(|a, b| b.cmp(a));
        top.truncate(10);
        let mut g: Vec<u64> = got.iter().map(|(_, n)| *n).collect();
        g.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(g, top, "{s}");
    }
    // cat's reads of libc, locale.alias and /etc/hostname are counted.
    let got = rows(&chisel_json(
        &sample("cat-hostname.scap"),
        &[],
        &["topfiles_bytes"],
    ));
    assert!(
        got.iter()
            .any(|(p, n)| p == "/usr/share/locale/locale.alias" && *n > 0),
        "{got:?}"
    );
}

#[test]
fn filter_restricts_a_chisel() {
    let cap = sample("system-1s.scap");
    let all = index_counts(&cap);
    // The machine's busiest syscall in that second, and only it.
    let (top, n) = all.iter().max_by_key(|(_, n)| **n).unwrap();
    let got = rows(&chisel_json(
        &cap,
        &[&format!("evt.type={top}")],
        &["topscalls"],
    ));
    assert_eq!(got, vec![(top.clone(), *n)]);
    assert!(all.len() > 1, "other syscalls were filtered out");
}

#[test]
fn every_chisel_runs_on_every_sample_and_prints_safely() {
    let o = run(&["chisels", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let list: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let names: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    for want in [
        "topprocs_cpu",
        "topprocs_file",
        "topprocs_net",
        "topprocs_errors",
        "topfiles_bytes",
        "topfiles_time",
        "topfiles_errors",
        "topscalls",
        "topscalls_time",
        "topconns",
        "topports_server",
        "fdbytes_by",
        "fdcount_by",
        "fdtime_by",
        "iobytes",
        "iobytes_file",
        "iobytes_net",
        "spy_users",
        "spy_file",
        "spy_ip",
        "spy_port",
        "spy_logs",
        "echo_fds",
        "stdin",
        "stdout",
        "stderr",
        "list_login_shells",
        "proc_exec_time",
        "ps",
        "lsof",
        "netstat",
        "lscontainers",
        "around",
        "scallslower",
        "fileslower",
    ] {
        assert!(names.iter().any(|n| n == want), "missing chisel {want}");
    }
    let needs_latency = [
        "topprocs_cpu",
        "topfiles_time",
        "topscalls_time",
        "fdtime_by",
        "scallslower",
        "fileslower",
    ];
    for s in SAMPLES {
        let cap = sample(s);
        let latency = capture::open(&cap).unwrap().meta().config.latency;
        for n in &names {
            let args: Vec<&str> = match n.as_str() {
                "fdbytes_by" | "fdcount_by" | "fdtime_by" => vec![n, "proc.name"],
                "spy_ip" => vec![n, "127.0.0.1"],
                "spy_port" => vec![n, "53"],
                _ => vec![n],
            };
            let mut a = vec!["read", "-r", cap.to_str().unwrap(), "-c"];
            a.extend(args);
            let o = run(&a);
            if needs_latency.contains(&n.as_str()) && !latency {
                assert_eq!(o.status.code(), Some(2), "{s} {n}");
                assert!(
                    stderr(&o).contains("no syscall entry times"),
                    "{s} {n}: {}",
                    stderr(&o)
                );
                continue;
            }
            assert!(o.status.success(), "{s} {n}: {}", stderr(&o));
            let text = stdout(&o);
            assert!(
                !text
                    .chars()
                    .any(|c| c.is_control() && c != '\n' && c != '\t'),
                "{s} {n}: raw control char"
            );
        }
    }
}

#[test]
fn echo_fds_escapes_buffers_and_ps_lists_processes() {
    let cap = sample("cat-hostname.scap");
    let o = run(&["read", "-r", cap.to_str().unwrap(), "-c", "echo_fds"]);
    let text = stdout(&o);
    assert!(
        text.contains("------ Read 2.93KB from /usr/share/locale/locale.alias (cat)"),
        "{text}"
    );
    // Binary data (the ELF header of libc) is escaped, newlines too.
    assert!(text.contains("\\x7fELF\\x02"), "{text}");
    assert!(text.contains("# Locale name alias data base.\\n"), "{text}");
    let o = run(&[
        "read",
        "-r",
        sample("system-1s.scap").to_str().unwrap(),
        "-c",
        "ps",
    ]);
    assert!(o.status.success());
    let ps = stdout(&o);
    assert!(ps.starts_with("TID"));
    let r = capture::open(&sample("system-1s.scap")).unwrap();
    let init = r
        .meta()
        .snapshot
        .procs
        .iter()
        .find(|p| p.pid == 1)
        .map(|p| p.comm.clone());
    if let Some(c) = init {
        assert!(
            ps.lines()
                .any(|l| l.starts_with("1 ") && l.contains(&c) || l.starts_with("1       1 ")),
            "{ps}"
        );
    }
}

#[test]
fn chisel_errors_are_clear() {
    let cap = sample("cat-hostname.scap");
    let c = cap.to_str().unwrap();
    let o = run(&["read", "-r", c, "-c", "topscall"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean 'topscalls'"),
        "{}",
        stderr(&o)
    );
    let o = run(&["read", "-r", c, "-c", "fdbytes_by", "proc.nme"]);
    assert!(
        stderr(&o).contains("did you mean 'proc.name'"),
        "{}",
        stderr(&o)
    );
    let o = run(&["read", "-r", c, "-c", "fdbytes_by"]);
    assert!(
        stderr(&o).contains("argument 'key': missing"),
        "{}",
        stderr(&o)
    );
    let o = run(&["read", "-r", c, "-c", "spy_port", "http"]);
    assert!(stderr(&o).contains("not a port number"), "{}", stderr(&o));
    let o = run(&["chisels", "spy_port"]);
    assert!(stdout(&o).contains("host_port"), "{}", stdout(&o));
}

#[test]
fn query_counts_match_the_index_and_errors_suggest_fields() {
    let cap = sample("workload.scap");
    let c = cap.to_str().unwrap();
    let o = run(&[
        "query",
        c,
        "SELECT evt_type, COUNT(*) AS n FROM events GROUP BY evt_type ORDER BY n DESC, evt_type",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let want = index_counts(&cap);
    let mut seen = 0;
    for line in stdout(&o).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let t = v["evt_type"].as_str().unwrap();
        if let Some(n) = want.get(t) {
            assert_eq!(v["n"].as_u64(), Some(*n), "{t}");
            seen += 1;
        }
    }
    assert_eq!(seen, want.len());
    let o = run(&["query", c, "SELECT proc_nme FROM events"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("did you mean column 'proc_name'"),
        "{}",
        stderr(&o)
    );
    let o = run(&["query", c, "SELECT 1 FROM events", "--fields", "proc.nmae"]);
    assert!(
        stderr(&o).contains("did you mean 'proc.name'"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "query",
        c,
        "SELECT evt_type FROM events",
        "-f",
        "evt.type=openat",
        "--csv",
    ]);
    let out = stdout(&o);
    assert_eq!(out.lines().count() as u64, 1 + want["openat"], "{out}");
}

#[test]
fn parquet_round_trip_through_polars() {
    use polars_io::prelude::*;
    let cap = sample("workload.scap");
    let d = tmpdir();
    let out = d.path().join("ev.parquet");
    let o = run(&[
        "export",
        "-r",
        cap.to_str().unwrap(),
        "--format",
        "parquet",
        "-o",
        out.to_str().unwrap(),
        "--fields",
        "evt.num,evt.type,proc.pid,evt.rawres",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let df = ParquetReader::new(std::fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    let r = capture::open(&cap).unwrap();
    let table = Syscalls::new(r.meta().syscalls.clone()).unwrap();
    assert_eq!(df.height() as u64, r.totals().events);
    let nums = df.column("evt_num").unwrap().u64().unwrap().clone();
    let pids = df.column("proc_pid").unwrap().clone();
    let types = df.column("evt_type").unwrap().str().unwrap().clone();
    let mut i = 0usize;
    r.for_each_event(|n, rec| {
        assert_eq!(nums.get(i), Some(n + 1));
        assert_eq!(
            pids.get(i).unwrap().extract::<u64>(),
            Some(u64::from(rec.pid()))
        );
        if rec.is_syscall() {
            assert_eq!(
                types.get(i),
                Some(table.name(rec.code()).as_ref()),
                "event {n}"
            );
        }
        i += 1;
    })
    .unwrap();
    // CSV and JSON lines carry the same rows.
    for fmt in ["csv", "jsonl"] {
        let p = d.path().join(format!("ev.{fmt}"));
        let o = run(&[
            "export",
            "-r",
            cap.to_str().unwrap(),
            "--format",
            fmt,
            "-o",
            p.to_str().unwrap(),
            "--fields",
            "evt.num",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let lines = std::fs::read_to_string(&p).unwrap().lines().count();
        assert_eq!(lines as u64, r.totals().events + u64::from(fmt == "csv"));
    }
}

#[test]
fn export_partitions_by_hour() {
    let cap = sample("system-1s.scap");
    let d = tmpdir();
    let o = run(&[
        "export",
        "-r",
        cap.to_str().unwrap(),
        "-o",
        d.path().to_str().unwrap(),
        "--partition-by",
        "hour",
        "--fields",
        "evt.num,evt.time",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = capture::open(&cap).unwrap();
    let off = r.meta().machine.boottime_to_epoch_ns;
    let ts = r.totals().first_ts.unwrap() as i64 + off;
    let t = chrono::DateTime::from_timestamp(ts / 1_000_000_000, 0).unwrap();
    let p = d
        .path()
        .join(format!("date={}", t.format("%Y-%m-%d")))
        .join(format!("hour={}", t.format("%H")))
        .join("part-0.parquet");
    assert!(p.exists(), "{}", p.display());
}

/// pyarrow and duckdb read the export too (installed by .ci/setup.sh; must run in CI).
#[test]
fn parquet_readable_by_pyarrow_and_duckdb() {
    if !crate::util::pyarrow_duckdb_ok() {
        eprintln!("SKIP parquet_readable_by_pyarrow_and_duckdb: python3 with pyarrow and duckdb not installed");
        return;
    }
    let cap = sample("workload.scap");
    let d = tmpdir();
    let out = d.path().join("ev.parquet");
    let o = run(&[
        "export",
        "-r",
        cap.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = capture::open(&cap).unwrap().totals().events;
    let script = format!(
        "import pyarrow.parquet as pq, duckdb\nt = pq.read_table('{p}')\nassert t.num_rows == {n}, t.num_rows\nc = duckdb.sql(\"select count(*) from '{p}'\").fetchall()[0][0]\nassert c == {n}, c\n",
        p = out.display()
    );
    let o = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Records a workload with latency and checks the latency chisels and
/// topscalls on a fresh capture (BPF: must run in CI).
#[test]
fn chisels_on_a_fresh_recording_with_latency() {
    let Some(_guard) = bpf_guard("chisels_on_a_fresh_recording_with_latency") else {
        return;
    };
    let d = tmpdir();
    let cap = d.path().join("cat.scap");
    let o = run(&[
        "record",
        "-q",
        "--latency",
        "--only-cmd",
        "-w",
        cap.to_str().unwrap(),
        "--",
        "dd",
        "if=/etc/passwd",
        "of=/dev/null",
        "bs=512",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_topscalls(&cap);
    let want = file_bytes(&cap);
    let got = rows(&chisel_json(&cap, &[], &["topfiles_bytes"]));
    for f in ["/etc/passwd", "/dev/null"] {
        assert_eq!(
            got.iter().find(|(p, _)| p == f).map(|(_, n)| *n),
            want.get(f).copied(),
            "{f}"
        );
        assert_eq!(
            want.get(f).copied(),
            Some(std::fs::metadata("/etc/passwd").unwrap().len()),
            "{f}"
        );
    }
    // topfiles_time: sum of (exit - entry) of reads/writes per file.
    let r = capture::open(&cap).unwrap();
    assert!(r.meta().config.latency);
    let time = rows(&chisel_json(&cap, &[], &["topfiles_time"]));
    assert!(
        time.iter().any(|(p, t)| p == "/etc/passwd" && *t > 0),
        "{time:?}"
    );
    let o = run(&[
        "read",
        "-r",
        cap.to_str().unwrap(),
        "-c",
        "scallslower",
        "0",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).lines().any(|l| l.contains("openat")),
        "{}",
        stdout(&o)
    );
}
