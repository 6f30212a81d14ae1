//! Real recordings of what `saker record` does with files and the terminal:
//! `-C` size rotation, `-W` round robin, mode 0600, the gap-marker lines
//! `read` prints, and the status line / summary / `-q`.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use saker::capture;

use super::record;
use crate::util::{bpf_guard, run, stderr, stdout, tmpdir};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// A command making a few hundred thousand syscalls.
const BUSY: &str = "for i in $(seq 2500); do cat /etc/hostname; done >/dev/null";

#[test]
fn size_rotation_cuts_standalone_files() {
    let Some(_g) = bpf_guard("size_rotation_cuts_standalone_files") else {
        return;
    };
    let dir = tmpdir();
    let base = dir.path().join("size.scap");
    let o = record(&[
        "record",
        "-q",
        "--json",
        "--only-cmd",
        "--block-kb",
        "64",
        "-C",
        "1",
        "-w",
        base.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        BUSY,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<_> = (0..64)
        .map(|i| dir.path().join(format!("size.scap{i}")))
        .take_while(|p| p.exists())
        .collect();
    assert!(
        files.len() >= 2,
        "-C 1 over several MB of events: {files:?}"
    );
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut events = 0;
    for (i, f) in files.iter().enumerate() {
        let len = std::fs::metadata(f).unwrap().len();
        // A file is cut at the first block that reaches 1 MB.
        if i + 1 < files.len() {
            assert!(
                (1_000_000..1_000_000 + 200_000).contains(&len),
                "{}: {len}",
                f.display()
            );
        }
        assert_eq!(mode(f), 0o600, "{}", f.display());
        let r = capture::open(f).unwrap();
        assert!(r.is_complete() && r.verify().is_ok(), "{}", f.display());
        assert_eq!(r.meta().config.rotation_index, i as u32);
        assert!(!r.meta().snapshot.procs.is_empty(), "own snapshot");
        events += r.totals().events;
    }
    assert_eq!(
        events,
        summary["events"].as_u64().unwrap(),
        "no event lost between files"
    );
}

#[test]
fn round_robin_reuses_w_names() {
    let Some(_g) = bpf_guard("round_robin_reuses_w_names") else {
        return;
    };
    let dir = tmpdir();
    let base = dir.path().join("rr.scap");
    let o = record(&[
        "record",
        "-q",
        "-w",
        base.to_str().unwrap(),
        "-G",
        "1",
        "-W",
        "2",
        "-M",
        "3.6",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let slot = |i: u32| dir.path().join(format!("rr.scap{i}"));
    assert!(slot(0).exists() && slot(1).exists());
    assert!(!slot(2).exists(), "-W 2 keeps two names");
    let mut seen = Vec::new();
    for i in 0..2 {
        assert_eq!(mode(&slot(i)), 0o600);
        let r = capture::open(&slot(i)).unwrap();
        assert!(r.is_complete() && r.verify().is_ok());
        let idx = r.meta().config.rotation_index;
        assert_eq!(idx % 2, i, "file {idx} goes to slot {}", idx % 2);
        seen.push(idx);
    }
    assert!(
        seen.iter().max().unwrap() >= &2,
        "more files than -W were made and the old ones replaced: {seen:?}"
    );
}

#[test]
fn read_prints_gap_markers_in_text_and_json() {
    let Some(_g) = bpf_guard("read_prints_gap_markers_in_text_and_json") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("gaps.scap");
    let o = record(&[
        "record",
        "-q",
        "--json",
        "--ring-kb",
        "16",
        "-w",
        cap.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let drops = serde_json::from_slice::<serde_json::Value>(&o.stdout).unwrap()["drops"]
        .as_u64()
        .unwrap();
    assert!(drops > 0, "a 16 KiB ring overflows");
    let text = run(&["read", "-r", cap.to_str().unwrap()]);
    let lost: u64 = stdout(&text)
        .lines()
        .filter_map(|l| l.strip_prefix("--- "))
        .filter_map(|l| l.split(' ').next()?.parse::<u64>().ok())
        .sum();
    assert_eq!(lost, drops, "text marker lines add up to the drops");
    assert!(stdout(&text)
        .lines()
        .any(|l| l.starts_with("--- ") && l.contains(" events lost on CPU ")));
    let json = run(&["read", "-j", "-r", cap.to_str().unwrap()]);
    let lost: u64 = stdout(&json)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["gap"]["lost"].as_u64())
        .sum();
    assert_eq!(lost, drops, "JSON gap objects add up to the drops");
}

#[test]
fn status_line_summary_and_quiet() {
    let Some(_g) = bpf_guard("status_line_summary_and_quiet") else {
        return;
    };
    let dir = tmpdir();
    let cap = dir.path().join("q.scap");
    let c = cap.to_str().unwrap();
    // -q: nothing at all.
    let q = record(&["record", "-q", "-w", c, "--", "true"]);
    assert!(q.stdout.is_empty() && q.stderr.is_empty(), "{}", stderr(&q));
    // Not a TTY: the summary only, no status line.
    let s = record(&["record", "-w", c, "--", "sleep", "1.5"]);
    let err = stderr(&s);
    assert!(err.starts_with("recorded "), "{err}");
    assert!(
        err.contains(" dropped, ") && err.contains(" compression"),
        "{err}"
    );
    assert!(
        !err.contains("/s)") && !err.contains('\r'),
        "no status line: {err}"
    );
    // A TTY (script's pty): the live status line, then the summary.
    let bin = env!("CARGO_BIN_EXE_saker");
    let o = Command::new("script")
        .args([
            "-qec",
            &format!("{bin} record -w {c} -- sleep 2.5"),
            "/dev/null",
        ])
        .output()
        .unwrap();
    let tty = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{tty}");
    assert!(
        tty.contains("/s)  drops ") && tty.contains("  written ") && tty.contains("  ratio "),
        "status line: {tty:?}"
    );
    assert!(tty.contains("recorded "), "summary: {tty:?}");
    let q = Command::new("script")
        .args([
            "-qec",
            &format!("{bin} record -q -w {c} -- sleep 1.5"),
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(
        q.stdout.is_empty(),
        "-q on a TTY: {:?}",
        String::from_utf8_lossy(&q.stdout)
    );
}
