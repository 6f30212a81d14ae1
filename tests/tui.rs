//! TUI tests: TestBackend snapshots of each screen at fixed sizes on the
//! committed captures, Session-level behaviour on real data, and one
//! end-to-end run of the real binary in tmux.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ratatui::backend::TestBackend;
use ratatui::layout::Rect;
use ratatui::Terminal;
use saker::tui::ui::{Theme, View};
use saker::tui::{Action, Prompt, Session, Side, Source};

fn cap(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

fn session(name: &str) -> Session {
    let src = Source::open(&cap(name), 8).expect("open capture");
    let mut s = Session::new(src);
    s.index_now().expect("index");
    s
}

/// Draws one frame into a TestBackend (after `prepare`) and returns its text.
fn frame(s: &mut Session, w: u16, h: u16) -> String {
    s.prepare(Rect::new(0, 0, w, h));
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| {
        f.render_widget(
            &View {
                app: &s.app,
                src: &s.src,
                theme: Theme { color: false },
            },
            f.area(),
        )
    })
    .unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..h {
        for x in 0..w {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    // The status line holds cache counters that depend on test order: keep them.
    out
}

#[test]
fn snapshot_main_screen_workload() {
    let mut s = session("workload.scap");
    insta::assert_snapshot!("workload_120x40", frame(&mut s, 120, 40));
}

#[test]
fn snapshot_small_terminal_system() {
    let mut s = session("system-1s.scap");
    insta::assert_snapshot!("system_80x24", frame(&mut s, 80, 24));
}

#[test]
fn snapshot_process_tree_and_help() {
    let mut s = session("workload.scap");
    s.act(Action::ShowSide(Side::Procs)).unwrap();
    insta::assert_snapshot!("workload_procs_120x40", frame(&mut s, 120, 40));
    s.act(Action::Help).unwrap();
    insta::assert_snapshot!("workload_help_100x30", frame(&mut s, 100, 30));
}

#[test]
fn snapshot_filter_error_highlight() {
    let mut s = session("workload.scap");
    s.act(Action::Open(Prompt::Filter)).unwrap();
    for c in "evt.type=openat and (".chars() {
        s.act(Action::Input(c)).unwrap();
    }
    let f = frame(&mut s, 120, 40);
    assert!(f.contains("✗ col"), "{f}");
    insta::assert_snapshot!("workload_filter_error_120x40", f);
}

#[test]
fn filter_restricts_to_matching_events() {
    let mut s = session("workload.scap");
    s.act(Action::Open(Prompt::Filter)).unwrap();
    for c in "evt.type=openat".chars() {
        s.act(Action::Input(c)).unwrap();
    }
    s.act(Action::Submit).unwrap();
    assert_eq!(s.app.list.len(), 8, "info says 8 openat");
    let f = frame(&mut s, 120, 40);
    assert_eq!(f.matches("< openat").count(), 8, "{f}");
    assert!(!f.contains(" close "), "{f}");
}

#[test]
fn brush_and_subtree_restrict() {
    let mut s = session("workload.scap");
    s.prepare(Rect::new(0, 0, 120, 40));
    // First half of the capture only.
    let w = s.app.derived.timeline_width;
    s.act(Action::BrushCols(0, w / 2)).unwrap();
    let n = s.app.list.len();
    assert!(n > 0 && n < 221, "{n}");
    s.act(Action::ClearRestrictions).unwrap();
    assert_eq!(s.app.list.len(), 221);
    // The subtree of the first event's process holds all but unrelated events.
    s.prepare(Rect::new(0, 0, 120, 40));
    let pid = s.app.derived.pid.expect("selected pid");
    s.act(Action::Subtree).unwrap();
    assert!(s.app.list.len() > 0);
    assert_eq!(s.app.restrict.subtree, Some(pid));
}

#[test]
fn details_show_fields_and_latency() {
    let mut s = session("system-1s.scap");
    s.prepare(Rect::new(0, 0, 120, 40));
    let d = s.app.derived.details.clone().expect("details");
    assert!(d.fields.iter().any(|f| f.name == "evt.type"), "{d:?}");
    assert!(d.fields.iter().any(|f| f.name == "proc.pid"), "{d:?}");
}

#[test]
fn jump_to_time_and_end() {
    let mut s = session("system-1s.scap");
    s.prepare(Rect::new(0, 0, 120, 40));
    s.act(Action::End).unwrap();
    assert_eq!(s.app.selected(), Some(11381));
    s.act(Action::Open(Prompt::Jump)).unwrap();
    for c in "+0.5s".chars() {
        s.act(Action::Input(c)).unwrap();
    }
    s.act(Action::Submit).unwrap();
    let n = s.app.selected().unwrap();
    assert!(n > 100 && n < 11000, "{n}");
    let f = frame(&mut s, 120, 40);
    assert!(
        f.contains(&format!(" {} ", n + 1)),
        "selected row shown: {f}"
    );
}

#[test]
fn alerts_from_rules_jump_to_event() {
    let src = Source::open(&cap("workload.scap"), 8).unwrap();
    let mut s = Session::new(src);
    let rules = "- rule: Open of marker\n  desc: t\n  condition: evt.type=openat\n  output: open %fd.name\n  priority: WARNING\n";
    s.set_rules(&[("t.yaml", rules)]).expect("rules load");
    s.index_now().unwrap();
    assert_eq!(s.app.alerts.len(), 8, "{:?}", s.app.alerts);
    s.act(Action::ShowSide(Side::Alerts)).unwrap();
    s.act(Action::Move(2)).unwrap();
    s.act(Action::Activate).unwrap();
    assert_eq!(s.app.selected(), Some(s.app.alerts[2].num));
    let f = frame(&mut s, 120, 40);
    assert!(f.contains("Open of marker"), "{f}");
}

#[test]
fn export_notes_cli() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("w.scap");
    std::fs::copy(cap("workload.scap"), &c).unwrap();
    let notes = r#"{"bookmarks": {"3": "suspicious \u001b[31m sigaction", "10": ""}}"#;
    std::fs::write(dir.path().join("w.scap.saker-notes.json"), notes).unwrap();
    let out = crate::util::run(&["tui", c.to_str().unwrap(), "--export-notes", "-"]);
    let md = crate::util::stdout(&out);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert!(md.contains("**#4**") && md.contains("**#11**"), "{md}");
    assert!(md.contains("suspicious \\x1b\\[31m sigaction"), "{md}");
    assert!(!md.contains('\x1b'));
    assert!(md.contains("## Processes involved"), "{md}");
    std::fs::write(dir.path().join("w.scap.saker-notes.json"), "{oops").unwrap();
    let out = crate::util::run(&["tui", c.to_str().unwrap(), "--export-notes", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        crate::util::stderr(&out).contains("line 1 column 2"),
        "{}",
        crate::util::stderr(&out)
    );
}

fn tmux(args: &[&str]) -> String {
    let o = Command::new("tmux").args(args).output().expect("tmux");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn wait_for(session: &str, text: &str) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if screen.contains(text) || start.elapsed() > Duration::from_secs(10) {
            return screen;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn end_to_end_in_tmux() {
    if Command::new("tmux").arg("-V").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is installed by .ci/setup.sh"
        );
        eprintln!("SKIP end_to_end_in_tmux: no tmux");
        return;
    }
    let name = format!("saker-tui-{}", std::process::id());
    let cmd = format!(
        "{} tui {}",
        env!("CARGO_BIN_EXE_saker"),
        cap("workload.scap").display()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &name,
        "-x",
        "120",
        "-y",
        "40",
        &cmd,
    ]);
    let s = wait_for(&name, "221/221 events");
    assert!(s.contains("Timeline") && s.contains("clone3"), "{s}");
    tmux(&["send-keys", "-t", &name, "/", "evt.type=openat", "Enter"]);
    let s = wait_for(&name, "8/221 events");
    assert!(s.contains("8/221 events") && s.contains("openat"), "{s}");
    tmux(&["send-keys", "-t", &name, "?"]);
    let s = wait_for(&name, "Help (? to close)");
    assert!(s.contains("Help (? to close)"), "{s}");
    tmux(&["send-keys", "-t", &name, "?", "q"]);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5)
        && Command::new("tmux")
            .args(["has-session", "-t", &name])
            .status()
            .is_ok_and(|s| s.success())
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let alive = Command::new("tmux")
        .args(["has-session", "-t", &name])
        .status()
        .is_ok_and(|s| s.success());
    if alive {
        tmux(&["kill-session", "-t", &name]);
    }
    assert!(!alive, "q quits the TUI");
}
