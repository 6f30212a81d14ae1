//! Time-bounded work: `--at` state chisels against an independent walk of
//! the records, `query --from/--to` pushdown against a full scan, hourly
//! partitions of a synthetic capture spanning hours, and the progress bar.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use saker::capture::{self, synth, CaptureWriter, WriterOptions};
use saker::event::meta::Summary;
use saker::event::table::Syscalls;
use saker::event::wire::{exec, fork, Record, CODE_EXEC, CODE_EXIT, CODE_FORK};

use super::sample;
use crate::util::{run, stderr, stdout, tmpdir};

/// `--at` argument for the event at `frac` of the capture, and the
/// CLOCK_BOOTTIME ns it resolves to (the CLI's arithmetic: first + s·1e9).
fn at_of(cap: &Path, frac: f64) -> (String, u64) {
    let r = capture::open(cap).unwrap();
    let t = r.totals();
    let (first, last) = (t.first_ts.unwrap(), t.last_ts.unwrap());
    let s = format!("{:.6}", (last - first) as f64 * frac / 1e9);
    let secs: f64 = s.parse().unwrap();
    (format!("+{s}"), first.saturating_add((secs * 1e9) as u64))
}

/// Threads alive at `at` by walking the records in file order until the
/// first one after `at`: the snapshot's threads, plus fork children, plus
/// any thread seen acting; minus exited threads and the old tid of a
/// non-leader exec.
fn threads_at(cap: &Path, at: u64) -> BTreeSet<(u32, u32)> {
    let r = capture::open(cap).unwrap();
    let mut alive: BTreeSet<(u32, u32)> = r
        .meta()
        .snapshot
        .procs
        .iter()
        .map(|p| (p.pid, p.tid))
        .collect();
    let mut done = false;
    r.for_each_event(|_, rec: Record<'_>| {
        if done || rec.ts() > at {
            done = true;
            return;
        }
        let arg = |i| rec.arg(i).unwrap_or(0) as u32;
        match rec.code() {
            CODE_FORK => {
                alive.insert((arg(fork::CHILD_PID), arg(fork::CHILD_TID)));
            }
            CODE_EXIT => alive.retain(|&(_, t)| t != rec.tid()),
            CODE_EXEC => {
                let old = arg(exec::OLD_TID);
                if old != rec.tid() {
                    alive.retain(|&(_, t)| t != old);
                }
                alive.insert((rec.pid(), rec.tid()));
            }
            _ if rec.tid() != 0 => {
                alive.insert((rec.pid(), rec.tid()));
            }
            _ => {}
        }
    })
    .unwrap();
    alive
}

fn json_lines(o: &std::process::Output) -> Vec<serde_json::Value> {
    assert!(o.status.success(), "{}", stderr(o));
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `ps --at` mid-capture lists exactly the threads the walk finds alive,
/// and differs from `ps` at the end where threads came or went.
#[test]
fn ps_at_matches_a_walk_of_the_records() {
    let cap = sample("workload.scap");
    let c = cap.to_str().unwrap();
    let mut differs = false;
    for frac in [0.25, 0.5, 0.75, 1.0] {
        let (arg, at) = at_of(&cap, frac);
        let o = run(&["read", "-r", c, "--json", "--at", &arg, "-c", "ps"]);
        let got: BTreeSet<(u32, u32)> = json_lines(&o)
            .iter()
            .map(|v| {
                (
                    v["pid"].as_u64().unwrap() as u32,
                    v["tid"].as_u64().unwrap() as u32,
                )
            })
            .collect();
        let want = threads_at(&cap, at);
        assert_eq!(got, want, "ps --at {arg}");
        differs |= want != threads_at(&cap, u64::MAX);
    }
    assert!(
        differs,
        "workload.scap has forks/exits: --at must change the answer"
    );
}

/// `lsof --at`: every file the capture opened (open/openat/creat) and had
/// not closed by then is listed under its pid and fd; every one closed
/// before then is not.
#[test]
fn lsof_at_matches_a_walk_of_the_records() {
    // A shell holds two files open while its children come and go.
    let cap = sample("files-open.scap");
    let c = cap.to_str().unwrap();
    let r = capture::open(&cap).unwrap();
    let table = Syscalls::new(r.meta().syscalls.clone()).unwrap();
    let mut checked = 0;
    for frac in [0.3, 0.6, 1.0] {
        let (arg, at) = at_of(&cap, frac);
        // (pid, fd) -> path while open; closed ones collected.
        let mut open: HashMap<(u32, i64), String> = HashMap::new();
        let mut closed: BTreeSet<(u32, i64, String)> = BTreeSet::new();
        let mut done = false;
        r.for_each_event(|_, rec: Record<'_>| {
            if done || rec.ts() > at {
                done = true;
                return;
            }
            if !rec.is_syscall() {
                if rec.code() == CODE_EXIT && rec.arg(1) == Some(1) {
                    open.retain(|k, _| k.0 != rec.pid());
                }
                return;
            }
            let name = table.name(rec.code());
            match name.as_ref() {
                "openat" | "open" | "creat" if rec.ret() >= 0 => {
                    let idx = u8::from(name == "openat");
                    let p = rec
                        .param(idx)
                        .map(|p| String::from_utf8_lossy(p.data).into_owned())
                        .unwrap_or_default();
                    if p.starts_with('/') && !p.contains('\0') {
                        open.insert((rec.pid(), rec.ret()), p);
                    } else {
                        open.remove(&(rec.pid(), rec.ret()));
                    }
                }
                "close" if rec.ret() == 0 => {
                    let k = (rec.pid(), rec.arg(0).unwrap_or(0) as i32 as i64);
                    if let Some(p) = open.remove(&k) {
                        closed.insert((k.0, k.1, p));
                    }
                }
                // Anything else that can replace an fd: forget it.
                "dup2" | "dup3" | "dup" | "fcntl" | "socket" | "pipe" | "pipe2" | "accept"
                | "accept4" | "eventfd2" | "epoll_create1" | "memfd_create" => {
                    open.remove(&(rec.pid(), rec.ret()));
                }
                _ => {}
            }
        })
        .unwrap();
        let o = run(&["read", "-r", c, "--json", "--at", &arg, "-c", "lsof"]);
        let got: BTreeSet<(u32, i64, String)> = json_lines(&o)
            .iter()
            .filter_map(|v| {
                Some((
                    v["pid"].as_u64()? as u32,
                    v["fd"].as_i64()?,
                    v["name"].as_str()?.to_string(),
                ))
            })
            .collect();
        for ((pid, fd), p) in &open {
            assert!(
                got.contains(&(*pid, *fd, p.clone())),
                "lsof --at {arg}: missing {pid} {fd} {p}"
            );
            checked += 1;
        }
        for k in &closed {
            // The fd number may have been reused for another file since.
            if open.get(&(k.0, k.1)) != Some(&k.2) {
                assert!(!got.contains(k), "lsof --at {arg}: {k:?} was closed");
            }
        }
    }
    assert!(checked > 0, "the walk found open files");
}

fn csv_rows(o: &std::process::Output) -> Vec<String> {
    assert!(o.status.success(), "{}", stderr(o));
    stdout(o).lines().skip(1).map(str::to_string).collect()
}

/// `query --from/--to` (pushed down: seek without state, event-type
/// prefilter) returns exactly the rows of a full scan restricted in SQL.
#[test]
fn query_from_to_equals_a_full_scan() {
    // Several blocks: --from seeks past the first ones.
    let cap = sample("files-open.scap");
    let c = cap.to_str().unwrap();
    let r = capture::open(&cap).unwrap();
    let off = r.meta().machine.boottime_to_epoch_ns;
    let (from, from_ts) = at_of(&cap, 0.4);
    let (to, to_ts) = at_of(&cap, 0.8);
    let (lo, hi) = (from_ts as i64 + off, to_ts as i64 + off);
    for (fields, filt) in [
        // No state needed: --from seeks to its block.
        ("evt.num,evt.rawtime,evt.type,evt.rawres", None),
        (
            "evt.num,evt.rawtime,evt.type",
            Some("evt.type=read or evt.type=close"),
        ),
        // State needed: replayed from the start, extracted from --from on.
        (
            "evt.num,evt.rawtime,proc.name,fd.name",
            Some("evt.type=openat"),
        ),
        (
            "evt.num,evt.rawtime,proc.name",
            Some("proc.name contains a"),
        ),
    ] {
        let sql = "SELECT * FROM events ORDER BY evt_num";
        let mut a = vec!["query", c, sql, "--csv", "--fields", fields];
        if let Some(f) = filt {
            a.extend(["-f", f]);
        }
        let full = csv_rows(&run(&a));
        let mut b = a.clone();
        b.extend(["--from", &from, "--to", &to]);
        let cut = csv_rows(&run(&b));
        let want: Vec<String> = full
            .iter()
            .filter(|l| {
                let t: i64 = l.split(',').nth(1).unwrap().parse().unwrap();
                t >= lo && t <= hi
            })
            .cloned()
            .collect();
        assert!(
            !want.is_empty() && want.len() < full.len(),
            "{fields} {filt:?}"
        );
        assert_eq!(cut, want, "{fields} {filt:?}");
    }
}

/// A synthetic capture spanning 2h40m from 2024-01-01 00:30 UTC.
fn synthetic_hours(path: &Path) -> (u64, Vec<i64>) {
    let mut meta = capture::open(&sample("workload.scap"))
        .unwrap()
        .meta()
        .clone();
    meta.snapshot.procs.clear();
    let epoch0: i64 = 1_704_069_000_000_000_000; // 2024-01-01T00:30:00Z
    let ts0: u64 = 5_000_000_000;
    meta.machine.boottime_to_epoch_ns = epoch0 - ts0 as i64;
    let f = std::fs::File::create(path).unwrap();
    let mut w = CaptureWriter::new(
        std::io::BufWriter::new(f),
        &meta,
        WriterOptions {
            zstd_level: 1,
            block_size: 64 << 10,
        },
    )
    .unwrap();
    let n = 4800u64;
    let step = 2_000_000_000u64; // 2 s: 9600 s in all
    let mut epochs = Vec::new();
    for i in 0..n {
        let ts = ts0 + i * step;
        w.push(&synth::record(i, ts)).unwrap();
        epochs.push(ts as i64 + meta.machine.boottime_to_epoch_ns);
    }
    w.finish(&Summary {
        events: n,
        ..Summary::default()
    })
    .unwrap();
    (n, epochs)
}

/// `--partition-by hour` writes one hive directory per UTC hour with
/// exactly that hour's rows; duckdb and pyarrow read the tree back with
/// the partition columns (installed by .ci/setup.sh; must run in CI).
#[test]
fn export_partitions_a_multi_hour_capture() {
    let d = tmpdir();
    let cap = d.path().join("hours.sakr");
    let (n, epochs) = synthetic_hours(&cap);
    let out = d.path().join("parts");
    let o = run(&[
        "export",
        "-r",
        cap.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--partition-by",
        "hour",
        "--fields",
        "evt.num,evt.rawtime,evt.type",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut per_hour: std::collections::BTreeMap<String, u64> = Default::default();
    for e in &epochs {
        let t = chrono::DateTime::from_timestamp(e / 1_000_000_000, 0).unwrap();
        *per_hour
            .entry(format!(
                "date={}/hour={}",
                t.format("%Y-%m-%d"),
                t.format("%H")
            ))
            .or_default() += 1;
    }
    assert_eq!(
        per_hour.keys().cloned().collect::<Vec<_>>(),
        [
            "date=2024-01-01/hour=00",
            "date=2024-01-01/hour=01",
            "date=2024-01-01/hour=02",
            "date=2024-01-01/hour=03"
        ]
    );
    use polars_io::prelude::*;
    for (dir, rows) in &per_hour {
        let p = out.join(dir).join("part-0.parquet");
        let df = ParquetReader::new(
            std::fs::File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
        )
        .finish()
        .unwrap();
        assert_eq!(df.height() as u64, *rows, "{dir}");
        let files = std::fs::read_dir(out.join(dir)).unwrap().count();
        assert_eq!(
            files, 1,
            "{dir}: one file per hour of a time-ordered capture"
        );
    }
    if !crate::util::pyarrow_duckdb_ok() {
        eprintln!("SKIP hive read-back: python3 with pyarrow and duckdb not installed");
        return;
    }
    let want: Vec<String> = per_hour
        .iter()
        .map(|(k, v)| format!("{} {v}", k.replace("date=", "").replace("/hour=", " ")))
        .collect();
    let script = format!(
        r#"import duckdb, pyarrow.dataset as ds
rows = duckdb.sql("select date, hour, count(*) from read_parquet('{p}/**/*.parquet', hive_partitioning=1) group by all order by all").fetchall()
print("duckdb", [f"{{d}} {{int(h):02d}} {{c}}" for d, h, c in rows])
t = ds.dataset('{p}', format='parquet', partitioning='hive').to_table()
assert t.num_rows == {n}, t.num_rows
assert 'hour' in t.column_names and 'evt_num' in t.column_names, t.column_names
hrs = sorted(set(int(h) for h in t.column('hour').to_pylist()))
print("pyarrow", hrs)
"#,
        p = out.display()
    );
    let o = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}{text}",
        String::from_utf8_lossy(&o.stderr)
    );
    let duck = text.lines().find(|l| l.starts_with("duckdb")).unwrap();
    for w in &want {
        assert!(duck.contains(&format!("'{w}'")), "{w} not in {duck}");
    }
    assert!(text.contains("pyarrow [0, 1, 2, 3]"), "{text}");
}

/// Piped, `query` and `export` print no progress bar; under a pseudo
/// terminal (`script`) the bar is drawn on stderr.
#[test]
fn progress_bar_only_on_a_terminal() {
    let cap = sample("files-open.scap");
    assert!(
        capture::open(&cap).unwrap().blocks().len() >= 2,
        "a bar needs blocks"
    );
    let c = cap.to_str().unwrap();
    let d = tmpdir();
    let out = d.path().join("x.parquet");
    let o = run(&["export", "-r", c, "-o", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        !e.contains("blocks") && !e.contains('\r') && !e.contains('\u{1b}'),
        "{e:?}"
    );
    let o = run(&["query", c, "SELECT COUNT(evt_num) FROM events"]);
    assert!(!stderr(&o).contains("blocks"), "{}", stderr(&o));
    let has_script = std::process::Command::new("script")
        .arg("--version")
        .output();
    if !has_script.is_ok_and(|o| o.status.success()) {
        eprintln!("SKIP pty half: util-linux script not installed");
        return;
    }
    // Under a pty every stream is a terminal; stdout goes to a file so
    // only stderr (the bar) reaches the typescript.
    let cmd = format!(
        "{} export -r {c} -o {} 2>&1 >/dev/null",
        env!("CARGO_BIN_EXE_saker"),
        out.display()
    );
    let o = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    let t = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("blocks"), "no progress bar under a pty: {t:?}");
}
