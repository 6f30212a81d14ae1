//! Real recordings of what `saker record` does with files and the terminal:
//! `-C` size rotation, `-G`/`-W` round robin of standalone files, mode 0600,
//! the status line / summary / `-q`, and `--tui`'s command log.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use saker::capture;

use super::record;
use crate::util::{bpf_guard, output, stderr, tmpdir, tmux, tmux_ok, tmux_session, wait_long};

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
    let _load = crate::util::Load::start();
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
        assert!(
            r.meta().snapshot.procs.len() > 5,
            "each file has its own snapshot"
        );
        assert!(!r.meta().syscalls.syscalls.is_empty(), "and syscall table");
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
    let o = output(Command::new("script").args([
        "-qec",
        &format!("{bin} record -w {c} -- sleep 2.5"),
        "/dev/null",
    ]));
    let tty = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{tty}");
    assert!(
        tty.contains("/s)  drops ") && tty.contains("  written ") && tty.contains("  ratio "),
        "status line: {tty:?}"
    );
    assert!(tty.contains("recorded "), "summary: {tty:?}");
    let q = output(Command::new("script").args([
        "-qec",
        &format!("{bin} record -q -w {c} -- sleep 1.5"),
        "/dev/null",
    ]));
    assert!(
        q.stdout.is_empty(),
        "-q on a TTY: {:?}",
        String::from_utf8_lossy(&q.stdout)
    );
}

/// `record --tui -- CMD`: the command reads /dev/null and writes FILE.log;
/// nothing it prints reaches the terminal the TUI draws on.
#[test]
fn tui_command_output_goes_to_the_log() {
    let Some(_g) = bpf_guard("tui_command_output_goes_to_the_log") else {
        return;
    };
    if !tmux_ok() {
        eprintln!("SKIP tui_command_output_goes_to_the_log: no tmux");
        return;
    }
    let dir = tmpdir();
    let cap = dir.path().join("live.scap");
    let raw = dir.path().join("pane.raw");
    let name = format!("saker-rec-tui-{}", std::process::id());
    // `read` gets EOF at once from /dev/null (a terminal would block it).
    let cmd = format!(
        "{} record --tui -w {} -- sh -c 'echo out-$((6*7)); echo err-$((6*8)) >&2; \
         read x; echo stdin-$x-eof; sleep 1'; echo REC\"\"-EXIT=$?",
        env!("CARGO_BIN_EXE_saker"),
        cap.display()
    );
    let s = name.as_str();
    tmux_session(s, "sh");
    let pipe = format!("cat >> '{}'", raw.display());
    tmux(&["pipe-pane", "-t", s, "-o", &pipe]);
    tmux(&["send-keys", "-t", s, &cmd, "Enter"]);
    let stopped = wait_long(s, "recording stopped", 40);
    tmux(&["send-keys", "-t", s, "q"]);
    let done = wait_long(s, "REC-EXIT=", 20);
    tmux(&["kill-session", "-t", s]);
    assert!(stopped.contains("recording stopped (command)"), "{stopped}");
    assert!(done.contains("REC-EXIT=0"), "{done}");
    let log = dir.path().join("live.scap.log");
    assert!(
        done.contains("command output: "),
        "the summary names the log: {done}"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "out-42\nerr-48\nstdin--eof\n"
    );
    assert_eq!(mode(&log), 0o600);
    let pane = String::from_utf8_lossy(&std::fs::read(&raw).unwrap()).into_owned();
    assert!(pane.contains("Timeline"), "the TUI was drawn: {pane:.200}");
    // (The typed command line holds none of these: they are computed.)
    for m in ["out-42", "err-48", "stdin--eof"] {
        assert!(!pane.contains(m), "{m} reached the terminal");
    }
}
