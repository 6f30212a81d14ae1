//! sysdig's `dump_file_name`: `around FILE MS` and `spy_logs FILE MS` write
//! the events around their matches to a new capture. Checked against what
//! `around -` prints for the same filter, and against the workload's own
//! writes.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use saker::capture;

use crate::util::{bpf_guard, record_cmd, run, stderr, stdout, tmpdir};

/// (tid, type, result) of each line `read -p` prints; lifecycle records
/// (procexec, procexit) have no result (`<NA>`).
fn triples(text: &str) -> Vec<(u64, String, Option<i64>)> {
    text.lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            (f[0].parse().unwrap(), f[1].to_string(), f[2].parse().ok())
        })
        .collect()
}

/// Checks a dump file: mode 0600, complete, its chain verifies, and it
/// holds `events` events.
fn check_file(path: &Path, events: u64) {
    let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let r = capture::open(path).unwrap();
    assert!(r.is_complete() && r.verify().is_ok());
    assert_eq!(r.totals().events, events);
}

#[test]
fn around_writes_what_it_prints_to_a_capture() {
    let Some(g) = bpf_guard("around_writes_what_it_prints_to_a_capture") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("src.scap");
    let o = record_cmd(
        &cap,
        &[
            "sh",
            "-c",
            "cat /etc/hostname; ls /nonexistent; cat /etc/hostname",
        ],
    );
    drop(g);
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    let c = cap.to_str().unwrap();
    let filter = "evt.type=openat and fd.name=/etc/hostname";
    // Printed: one JSON object per event, in the order found.
    let o = run(&["read", "-r", c, "--json", filter, "-c", "around", "-", "50"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut printed: Vec<serde_json::Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(printed.iter().filter(|e| e["match"] == true).count(), 2);
    printed.sort_by_key(|e| e["evt.num"].as_u64().unwrap());
    let want: Vec<(u64, String, i64)> = printed
        .iter()
        .map(|e| {
            (
                e["thread.tid"].as_u64().unwrap(),
                e["evt.type"].as_str().unwrap().to_string(),
                e["evt.res"].as_i64().unwrap(),
            )
        })
        .collect();

    // Dumped: the same events, in capture order.
    let out = dir.path().join("around.scap");
    let o = run(&[
        "read",
        "-r",
        c,
        "--json",
        filter,
        "-c",
        "around",
        out.to_str().unwrap(),
        "50",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(report["events"].as_u64().unwrap(), want.len() as u64);
    check_file(&out, want.len() as u64);
    let back = run(&[
        "read",
        "-r",
        out.to_str().unwrap(),
        "-p",
        "*%thread.tid %evt.type %evt.rawres",
    ]);
    assert!(back.status.success(), "{}", stderr(&back));
    let got = triples(&stdout(&back));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!((g.0, &g.1), (w.0, &w.1));
        assert!(g.2.is_none_or(|r| r == w.2), "{g:?} {w:?}");
    }
    assert!(got.iter().filter(|g| g.2.is_some()).count() > want.len() / 2);
    // The file's snapshot (the state at the first match) names the process
    // and its files: the filter still matches there.
    let again = run(&[
        "read",
        "-r",
        out.to_str().unwrap(),
        "-p",
        "%proc.name",
        filter,
    ]);
    assert_eq!(stdout(&again), "cat\ncat\n", "{}", stderr(&again));
    // Dumping over the capture being read replaces it whole (written
    // beside, then renamed): the read is not cut short.
    let same = dir.path().join("same.scap");
    std::fs::copy(&cap, &same).unwrap();
    let s = same.to_str().unwrap();
    let o = run(&["read", "-r", s, "--json", filter, "-c", "around", s, "50"]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_file(&same, want.len() as u64);
    // A file that cannot be created is refused before the capture is read.
    let o = run(&["read", "-r", c, "-c", "around", "/nonexistent/x.scap"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("argument 'dump_file_name': cannot create '/nonexistent/x.scap'"),
        "{}",
        stderr(&o)
    );
    // A bad range is refused by name.
    let o = run(&["read", "-r", c, "-c", "around", "-", "soon"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("dump_range_ms"), "{}", stderr(&o));
}

/// `read -r CAP [FILTER] -c spy_logs OUT MS`.
fn spy_logs(cap: &str, filter: Option<&str>, out: &Path, ms: &str) -> Output {
    let mut a = vec!["read", "-r", cap];
    a.extend(filter);
    a.extend(["-c", "spy_logs", out.to_str().unwrap(), ms]);
    run(&a)
}

#[test]
fn spy_logs_prints_log_writes_and_dumps_around_them() {
    let Some(g) = bpf_guard("spy_logs_prints_log_writes_and_dumps_around_them") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("logs.scap");
    let log = dir.path().join("app.log");
    let script = format!(
        "echo one >> {l}; cat /etc/hostname >/dev/null; echo two >> {l}",
        l = log.display()
    );
    let o = record_cmd(&cap, &["sh", "-c", &script]);
    drop(g);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = cap.to_str().unwrap();
    let printed = run(&["read", "-r", c, "-c", "spy_logs"]);
    let text = stdout(&printed);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().next().unwrap().ends_with(" one\\n"), "{text}");

    let out = dir.path().join("logs-around.scap");
    let o = spy_logs(c, None, &out, "1000");
    assert!(o.status.success(), "{}", stderr(&o));
    let t = stdout(&o);
    // The same two log lines, then the dump's report.
    assert_eq!(
        t.lines().take(2).collect::<Vec<_>>(),
        text.lines().collect::<Vec<_>>()
    );
    let n: u64 = t
        .lines()
        .nth(2)
        .and_then(|l| l.strip_prefix("wrote "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{t}"));
    check_file(&out, n);
    // Both writes are there (only the shell's own events: the cat between
    // them is another thread), named by the file they went to.
    let o = run(&[
        "read",
        "-r",
        out.to_str().unwrap(),
        "-p",
        "%fd.name",
        "evt.type=write",
    ]);
    let want = format!("{0}\n{0}\n", log.display());
    assert_eq!(stdout(&o), want, "{}", stderr(&o));
    // A filter restricts which log writes count: only 'two'.
    let out2 = dir.path().join("two.scap");
    let o = spy_logs(c, Some("evt.buffer contains two"), &out2, "0");
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 2, "one log line and the report");
    check_file(&out2, 1);
}
