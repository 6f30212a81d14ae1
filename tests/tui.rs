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

use crate::util::{tmux, tmux_ok, tmux_session, wait_long};

fn cap(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("captures")
        .join(name)
}

/// How many events a sample holds (from its index).
fn events_of(name: &str) -> u64 {
    saker::capture::open(&cap(name)).unwrap().totals().events
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
    let total = events_of("workload.scap");
    let n = s.app.list.len();
    assert!(n > 0 && n < total, "{n} of {total}");
    s.act(Action::ClearRestrictions).unwrap();
    assert_eq!(s.app.list.len(), total);
    // The subtree of the first event's process holds all but unrelated events.
    s.prepare(Rect::new(0, 0, 120, 40));
    let pid = s.app.derived.pid.expect("selected pid");
    s.act(Action::Subtree).unwrap();
    assert!(!s.app.list.is_empty());
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
    let total = events_of("system-1s.scap");
    s.act(Action::End).unwrap();
    assert_eq!(s.app.selected(), Some(total - 1));
    s.act(Action::Open(Prompt::Jump)).unwrap();
    for c in "+0.5s".chars() {
        s.act(Action::Input(c)).unwrap();
    }
    s.act(Action::Submit).unwrap();
    let n = s.app.selected().unwrap();
    assert!(n > 0 && n < total - 1, "{n} of {total}");
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

fn wait_for(session: &str, text: &str) -> String {
    wait_long(session, text, 30)
}

#[test]
fn end_to_end_in_tmux() {
    if !tmux_ok() {
        eprintln!("SKIP end_to_end_in_tmux: no tmux");
        return;
    }
    let name = format!("saker-tui-{}", std::process::id());
    let cmd = format!(
        "{} tui {}",
        env!("CARGO_BIN_EXE_saker"),
        cap("workload.scap").display()
    );
    tmux_session(&name, &cmd);
    let n = events_of("workload.scap");
    let s = wait_for(&name, &format!("{n}/{n} events"));
    assert!(s.contains("Timeline") && s.contains("clone3"), "{s}");
    tmux(&["send-keys", "-t", &name, "/", "evt.type=openat", "Enter"]);
    let s = wait_for(&name, &format!("8/{n} events"));
    assert!(
        s.contains(&format!("8/{n} events")) && s.contains("openat"),
        "{s}"
    );
    tmux(&["send-keys", "-t", &name, "?"]);
    let s = wait_for(&name, "Help (? to close)");
    assert!(s.contains("Help (? to close)"), "{s}");
    tmux(&["send-keys", "-t", &name, "?", "q"]);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20)
        && Command::new("tmux")
            .args(["-L", &name, "has-session", "-t", &name])
            .status()
            .is_ok_and(|s| s.success())
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    let alive = Command::new("tmux")
        .args(["-L", &name, "has-session", "-t", &name])
        .status()
        .is_ok_and(|s| s.success());
    if alive {
        tmux(&["kill-session", "-t", &name]);
    }
    assert!(!alive, "q quits the TUI");
}

fn external(name: &str) -> PathBuf {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/captures/external"
    ))
    .join(name)
}

fn session_at(path: &Path) -> Session {
    let src = Source::open(path, 8).expect("open capture");
    let mut s = Session::new(src);
    s.index_now().expect("index");
    s
}

fn type_in(s: &mut Session, text: &str) {
    for c in text.chars() {
        s.act(Action::Input(c)).unwrap();
    }
}

#[test]
fn imported_scap_opens() {
    // A sysdig .scap (gzipped, old event format) is imported on open.
    let mut s = session_at(&external("cat_write.scap"));
    assert_eq!(s.app.total, 45, "saker info: 345 raw events -> 45");
    let f = frame(&mut s, 120, 40);
    assert!(f.contains("45/45 events"), "{f}");
    assert!(f.contains(" cat "), "the cat process is named: {f}");
    insta::assert_snapshot!("scap_cat_write_120x40", f);
    let mut s = session_at(&external("sample.scap"));
    assert_eq!(s.app.total, 95, "saker info: 572 raw events -> 95");
    insta::assert_snapshot!("scap_sample_100x30", frame(&mut s, 100, 30));
}

#[test]
fn default_rules_run_without_r() {
    let src = Source::open(&cap("scenarios/reverse-shell.scap"), 8).unwrap();
    let mut s = Session::new(src);
    s.set_default_rules().expect("default rules load");
    s.index_now().unwrap();
    assert!(s.app.rules_loaded);
    assert!(!s.app.alerts.is_empty(), "the reverse shell raises alerts");
    s.act(Action::ShowSide(Side::Alerts)).unwrap();
    let f = frame(&mut s, 120, 40);
    assert!(!f.contains("(no rules loaded"), "{f}");
    insta::assert_snapshot!("reverse_shell_alerts_120x40", f);
}

#[test]
fn print_format_sets_columns() {
    let mut s = session("workload.scap");
    s.src
        .set_format("%evt.num %proc.pid %12proc.name %fd.name %evt.info")
        .unwrap();
    let cols: Vec<_> = s.src.columns().iter().map(|c| c.header.clone()).collect();
    assert_eq!(cols, ["num", "pid", "proc", "name", "info"]);
    assert_eq!(s.src.columns()[2].width, Some(12), "%12 sets the width");
    assert_eq!(s.src.columns()[4].width, None, "the last takes the rest");
    let f = frame(&mut s, 120, 40);
    assert!(f.contains(" num     pid          proc"), "{f}");
    insta::assert_snapshot!("workload_print_format_120x40", f);
    assert!(s.src.set_format("no fields here").is_err());
    assert!(s.src.set_format("%nosuch.field").is_err());
}

#[test]
fn jump_to_absolute_time() {
    let mut s = session("system-1s.scap");
    s.prepare(Rect::new(0, 0, 120, 40));
    // The time of day of the middle event, as the list shows it (UTC).
    let mid = events_of("system-1s.scap") / 2;
    s.act(Action::Open(Prompt::Jump)).unwrap();
    type_in(&mut s, &mid.to_string());
    s.act(Action::Submit).unwrap();
    s.prepare(Rect::new(0, 0, 120, 40));
    let d = s.app.derived.details.clone().unwrap();
    let time = d
        .fields
        .iter()
        .find(|f| f.name == "evt.time")
        .unwrap()
        .value
        .clone();
    let date = d
        .fields
        .iter()
        .find(|f| f.name == "evt.datetime")
        .map(|f| f.value.clone());
    let epoch = d
        .fields
        .iter()
        .find(|f| f.name == "evt.rawtime")
        .unwrap()
        .value
        .clone();
    let want = s.app.selected().unwrap();
    // The first event at or after that time is the middle one or an earlier
    // event of the same nanosecond.
    let check = |s: &mut Session, spec: &str| {
        s.act(Action::Home).unwrap();
        s.act(Action::Open(Prompt::Jump)).unwrap();
        type_in(s, spec);
        s.act(Action::Submit).unwrap();
        let got = s.app.selected().unwrap();
        assert!(got <= want && got + 5 > want, "{spec}: {got} vs {want}");
        assert!(s.app.status.contains("jumped"), "{spec}: {}", s.app.status);
    };
    check(&mut s, &time);
    check(&mut s, &format!("@{time}"));
    if let Some(dt) = date {
        check(&mut s, &dt);
        check(&mut s, &dt.replacen(' ', "T", 1));
    }
    let secs = format!(
        "@{}.{}",
        &epoch[..epoch.len() - 9],
        &epoch[epoch.len() - 9..]
    );
    check(&mut s, &secs);
    s.act(Action::Open(Prompt::Jump)).unwrap();
    type_in(&mut s, "25:00:00");
    s.act(Action::Submit).unwrap();
    assert!(s.app.status.contains("bad time"), "{}", s.app.status);
}

#[test]
fn exec_history_of_selected_process() {
    let mut s = session("workload.scap");
    let exec = s.app.execs.first().cloned().expect("the workload execs");
    s.act(Action::Open(Prompt::Jump)).unwrap();
    type_in(&mut s, &(exec.num + 1).to_string());
    s.act(Action::Submit).unwrap();
    s.act(Action::ShowSide(Side::Procs)).unwrap();
    // Select the exec'ing process in the tree.
    s.prepare(Rect::new(0, 0, 120, 40));
    let row = s
        .app
        .derived
        .procs
        .iter()
        .position(|p| p.pid == exec.pid)
        .expect("in the tree");
    s.act(Action::Home).unwrap();
    s.act(Action::Move(row as i64)).unwrap();
    let f = frame(&mut s, 120, 40);
    assert!(f.contains(&format!("execs of {}:", exec.pid)), "{f}");
    assert!(f.contains(&format!("#{} +", exec.num + 1)), "{f}");
    let words: Vec<&str> = exec.cmdline.split(' ').collect();
    assert!(f.contains(words[0]), "{f}");
    insta::assert_snapshot!("workload_exec_history_120x40", f);
}

#[test]
fn follow_connection_both_ways() {
    // The listener (python3) sends on the accepted socket, whose tuple it
    // knows; the shell (bash) has the socket as fds 0-2.
    let mut s = session("scenarios/reverse-shell.scap");
    s.act(Action::Open(Prompt::Filter)).unwrap();
    type_in(&mut s, "evt.type=sendto");
    s.act(Action::Submit).unwrap();
    assert!(!s.app.list.is_empty(), "the scenario writes to a socket");
    s.prepare(Rect::new(0, 0, 120, 40));
    let (tuple, rev) = s.app.derived.conn.clone().expect("a connection");
    assert_eq!(
        rev.split_once("->").unwrap().1,
        tuple.split_once("->").unwrap().0
    );
    s.act(Action::FollowFd).unwrap();
    let f = frame(&mut s, 120, 40);
    assert!(
        f.contains("both ways: 127.0.0.1:41696->127.0.0.1:4444"),
        "{f}"
    );
    let io = &s.app.derived.io;
    assert!(!io.is_empty(), "{f}");
    let pids: std::collections::BTreeSet<_> = io.iter().map(|c| c.pid).collect();
    assert!(pids.len() >= 2, "both processes' I/O: {pids:?} {f}");
    assert!(f.contains("A = ") && f.contains("B = "), "{f}");
    assert!(
        f.contains("A>") && f.contains("B<") || f.contains("B>") && f.contains("A<"),
        "{f}"
    );
    insta::assert_snapshot!("reverse_shell_io_120x40", f);
}

#[test]
fn brush_restricts_alerts() {
    let src = Source::open(&cap("workload.scap"), 8).unwrap();
    let mut s = Session::new(src);
    let rules = "- rule: Open of marker\n  desc: t\n  condition: evt.type=openat\n  output: open %fd.name\n  priority: WARNING\n";
    s.set_rules(&[("t.yaml", rules)]).unwrap();
    s.index_now().unwrap();
    assert_eq!(s.app.alerts.len(), 8);
    s.prepare(Rect::new(0, 0, 120, 40));
    // Brush the time of the first three alerts only.
    let mut ts: Vec<u64> = s.app.alerts.iter().map(|a| a.ts).collect();
    ts.sort_unstable();
    let w = s.app.derived.timeline_width;
    let col = |t: u64| s.app.window.col_of(t, w).unwrap();
    let (a, b) = (col(ts[0]), col(ts[2]));
    s.act(Action::BrushCols(a, b)).unwrap();
    let range = s.app.restrict.range.unwrap();
    let inside = ts.iter().filter(|&&t| t >= range.0 && t <= range.1).count();
    assert!((3..8).contains(&inside), "{inside} {range:?} {ts:?}");
    assert_eq!(s.app.visible_alerts().len(), inside);
    s.act(Action::ShowSide(Side::Alerts)).unwrap();
    let f = frame(&mut s, 120, 40);
    assert!(
        f.contains(&format!("3 Alerts ({inside} of 8 in range)")),
        "{f}"
    );
    insta::assert_snapshot!("workload_brush_alerts_120x40", f);
    // Enter jumps to a shown alert.
    s.act(Action::Move(1)).unwrap();
    s.act(Action::Activate).unwrap();
    let n = s.app.selected().unwrap();
    let shown = s.app.visible_alerts();
    assert_eq!(n, s.app.alerts[shown[1]].num);
    s.act(Action::ClearRestrictions).unwrap();
    assert_eq!(s.app.visible_alerts().len(), 8);
}

#[test]
fn live_batches_grow_the_source() {
    let path = cap("workload.scap");
    let file = saker::capture::open(&path).unwrap();
    let mut recs = Vec::new();
    file.for_each_event(|_, r| recs.push(r.bytes().to_vec()))
        .unwrap();
    assert_eq!(recs.len() as u64, events_of("workload.scap"));
    assert!(recs.len() > 100);
    let mut live = Session::live(file.meta(), 8).unwrap();
    let rules = "- rule: Open of marker\n  desc: t\n  condition: evt.type=openat\n  output: open %fd.name\n  priority: WARNING\n";
    live.set_rules(&[("t.yaml", rules)]).unwrap();
    assert_eq!(live.app.total, 0);
    let f = frame(&mut live, 100, 30);
    assert!(f.contains("0/0 events") && f.contains("recording"), "{f}");
    // Two batches, one refresh: the list and the timeline show 100 events.
    live.push_live(&recs[..60].concat()).unwrap();
    live.push_live(&recs[60..100].concat()).unwrap();
    assert_eq!(live.app.total, 0, "shown at the next refresh");
    live.refresh_live().unwrap();
    assert_eq!((live.app.total, live.app.list.len()), (100, 100));
    assert_eq!(
        live.app.selected(),
        Some(99),
        "the selection follows the end"
    );
    let first_ts = saker::capture::open(&path).unwrap().totals().first_ts;
    assert_eq!(live.app.window.full.0, first_ts.unwrap());
    let f = frame(&mut live, 100, 30);
    assert!(f.contains("100/100 events"), "{f}");
    // The rest; then rows match the file's, state included.
    live.push_live(&recs[100..].concat()).unwrap();
    live.refresh_live().unwrap();
    assert_eq!(live.app.list.len(), recs.len() as u64);
    assert_eq!(live.app.selected(), Some(recs.len() as u64 - 1));
    assert_eq!(live.app.alerts.len(), 8, "rules ran on the live events");
    assert!(!live.app.execs.is_empty());
    let mut off = session("workload.scap");
    for n in [0u64, 5, 99, 100, 150, 220] {
        live.src.ensure_block(live.src.block_of(n)).unwrap();
        off.src.ensure_block(off.src.block_of(n)).unwrap();
        assert_eq!(
            live.src.row(n).unwrap().cols,
            off.src.row(n).unwrap().cols,
            "event {n}"
        );
    }
    // A scrolled-up selection stays put; filters work on live data.
    live.act(Action::Home).unwrap();
    live.push_live(&recs[..1].concat()).unwrap();
    live.refresh_live().unwrap();
    assert_eq!(
        (live.app.total, live.app.selected()),
        (recs.len() as u64 + 1, Some(0))
    );
    live.act(Action::Open(Prompt::Filter)).unwrap();
    type_in(&mut live, "evt.type=openat");
    live.act(Action::Submit).unwrap();
    assert_eq!(live.app.list.len(), 8);
    // A damaged batch is refused after the good records before it.
    assert!(live.push_live(&[1, 2, 3]).is_err());
    live.end_live("recording stopped".into());
    let f = frame(&mut live, 100, 30);
    assert!(f.contains("recording stopped"), "{f}");
}

#[test]
fn details_hex_buffer_and_latency() {
    // Imported .scap enter/exit pairs carry the entry time: event 13 is a
    // read of 832 bytes that took 1402 ns (saker read -p %evt.latency).
    let mut s = session_at(&external("cat_write.scap"));
    s.act(Action::Open(Prompt::Jump)).unwrap();
    type_in(&mut s, "13");
    s.act(Action::Submit).unwrap();
    s.prepare(Rect::new(0, 0, 120, 40));
    let d = s.app.derived.details.clone().unwrap();
    assert_eq!(d.latency_ns, Some(1402), "{d:?}");
    let field = d.fields.iter().find(|f| f.name == "evt.latency").unwrap();
    assert_eq!(field.value, "1402");
    assert!(
        d.buffers.iter().any(|(_, b)| b.len() == 80),
        "the snaplen: {d:?}"
    );
    let f = frame(&mut s, 120, 40);
    assert!(f.contains("latency: 1.402 µs"), "{f}");
    insta::assert_snapshot!("cat_write_details_120x40", f);
    // Scrolled to the buffer: hex and ASCII, control bytes as dots.
    s.act(Action::ShowSide(Side::Details)).unwrap();
    let at = {
        let f = frame(&mut s, 120, 400);
        let side: Vec<&str> = f.lines().skip(14).collect();
        side.iter()
            .position(|l| l.contains("(80 bytes)"))
            .expect("buffer shown")
    };
    s.act(Action::Move(at as i64)).unwrap();
    let f = frame(&mut s, 120, 40);
    assert!(f.contains("(80 bytes)"), "{f}");
    assert!(f.contains("0000 7f45 4c46"), "ELF header in hex: {f}");
    assert!(f.contains(".ELF"), "{f}");
    insta::assert_snapshot!("cat_write_details_hex_120x40", f);
}

/// Every cell's colours of one frame drawn with `theme`.
fn colours(s: &mut Session, theme: Theme) -> Vec<(ratatui::style::Color, ratatui::style::Color)> {
    s.prepare(Rect::new(0, 0, 100, 30));
    let mut t = Terminal::new(TestBackend::new(100, 30)).unwrap();
    t.draw(|f| {
        f.render_widget(
            &View {
                app: &s.app,
                src: &s.src,
                theme,
            },
            f.area(),
        )
    })
    .unwrap();
    t.backend()
        .buffer()
        .content()
        .iter()
        .map(|c| (c.fg, c.bg))
        .collect()
}

#[test]
fn no_color_and_dumb_terminals_draw_without_colour() {
    use std::ffi::OsStr;
    let off = Theme { color: false };
    assert_eq!(Theme::from_vars(Some(OsStr::new("1")), None), off);
    assert_eq!(Theme::from_vars(None, Some(OsStr::new("dumb"))), off);
    assert_eq!(
        Theme::from_vars(Some(OsStr::new("")), Some(OsStr::new("xterm"))),
        Theme { color: true },
        "an empty NO_COLOR does not count"
    );
    let mut s = session("workload.scap");
    let reset = ratatui::style::Color::Reset;
    let mono = colours(&mut s, off);
    assert!(mono.iter().all(|&(f, b)| f == reset && b == reset));
    let colour = colours(&mut s, Theme { color: true });
    assert!(
        colour.iter().any(|&(f, _)| f != reset),
        "colours are used otherwise"
    );
}

#[test]
fn resize_relayouts() {
    let mut s = session("workload.scap");
    let big = frame(&mut s, 120, 40);
    let page_big = s.app.page;
    let small = frame(&mut s, 60, 16);
    assert!(s.app.page < page_big, "{} {page_big}", s.app.page);
    assert_eq!(small.lines().count(), 16);
    assert!(small.lines().all(|l| l.chars().count() == 60));
    assert!(
        small.contains("Timeline") && small.contains("Events"),
        "{small}"
    );
    // Selecting the last row of the small page then growing keeps it shown.
    s.act(Action::End).unwrap();
    let again = frame(&mut s, 120, 40);
    let last = format!(" {} ", events_of("workload.scap"));
    assert!(again.contains(&last), "{again}");
    assert_ne!(big, again);
    insta::assert_snapshot!("workload_small_60x16", small);
}

#[test]
fn bookmarks_shown_in_list_and_details() {
    let mut s = session("workload.scap");
    s.act(Action::Move(2)).unwrap();
    s.act(Action::Bookmark).unwrap();
    s.act(Action::Move(3)).unwrap();
    s.act(Action::Open(Prompt::Note)).unwrap();
    type_in(&mut s, "odd \x1b[31m close");
    s.act(Action::Submit).unwrap();
    assert_eq!(
        s.app.notes.get(5),
        Some("odd [31m close"),
        "the prompt takes no control keys"
    );
    // A sidecar written by hand may hold one: it is shown escaped.
    s.app.notes.set(5, "odd \x1b[31m close");
    let f = frame(&mut s, 120, 40);
    assert!(f.contains("note: odd \\x1b[31m close"), "escaped: {f}");
    let marked: Vec<&str> = f.lines().filter(|l| l.starts_with("│*")).collect();
    assert_eq!(marked.len(), 2, "{f}");
    insta::assert_snapshot!("workload_bookmarks_120x40", f);
}

/// The workload in 2 KiB blocks, with 500 events lost before event 110.
fn workload_with_drops() -> Vec<u8> {
    use saker::capture::{CaptureWriter, WriterOptions};
    use saker::event::meta::Summary;
    use saker::event::wire::{RecordBuilder, CODE_DROP};
    let file = saker::capture::open(&cap("workload.scap")).unwrap();
    let mut recs = Vec::new();
    file.for_each_event(|_, r| recs.push(r.bytes().to_vec()))
        .unwrap();
    let mid = saker::event::wire::Record::parse(&recs[110])
        .unwrap()
        .0
        .ts();
    let drop = RecordBuilder::new(CODE_DROP, 0, mid, 0, 0, 500)
        .args(&[500, mid - 1000])
        .build();
    let mut w = CaptureWriter::new(
        Vec::new(),
        file.meta(),
        WriterOptions {
            zstd_level: 1,
            block_size: 2048,
        },
    )
    .unwrap();
    for (i, r) in recs.iter().enumerate() {
        if i == 110 {
            w.push(&drop).unwrap();
        }
        w.push(r).unwrap();
    }
    w.finish_into(&Summary::default()).unwrap().1
}

#[test]
fn timeline_marks_drop_gaps_and_alerts() {
    let src = Source::from_vec(workload_with_drops(), 8).unwrap();
    let mut s = Session::new(src);
    assert_eq!(s.app.gaps.iter().map(|g| g.2).sum::<u64>(), 500);
    let rules = "- rule: Open of marker\n  desc: t\n  condition: evt.type=openat\n  output: open %fd.name\n  priority: ERROR\n";
    s.set_rules(&[("t.yaml", rules)]).unwrap();
    s.index_now().unwrap();
    let f = frame(&mut s, 120, 40);
    let lines: Vec<&str> = f.lines().collect();
    // The axis is the timeline's last inner row; bars start on row 1.
    let axis = lines[8];
    assert!(axis.contains('!'), "drop gap on the axis: {axis}");
    let first_bar = lines[1];
    assert!(
        first_bar.contains('3'),
        "Error alerts (rank 3) marked: {first_bar}"
    );
    insta::assert_snapshot!("workload_drops_alerts_120x40", f);
}

#[test]
fn block_cache_evicts_least_recently_used() {
    // A cache of 2 blocks over a capture of small blocks.
    let mut src = Source::from_vec(workload_with_drops(), 2).unwrap();
    let blocks = src.capture().blocks().len();
    assert!(blocks >= 3, "{blocks} blocks");
    assert!(!src.ensure_block(0).unwrap(), "miss");
    assert!(!src.ensure_block(1).unwrap(), "miss");
    assert!(src.ensure_block(0).unwrap(), "hit refreshes block 0");
    assert!(!src.ensure_block(2).unwrap(), "miss evicts block 1");
    assert_eq!(src.cache().len(), 2);
    assert!(src.cache().peek(0).is_some() && src.cache().peek(2).is_some());
    assert!(src.cache().peek(1).is_none(), "least recently used went");
    assert_eq!((src.cache().hits(), src.cache().misses()), (1, 3));
    // Rows of an evicted block are reloaded on demand, identical.
    let n = src.capture().blocks()[1].first_event;
    assert!(src.row(n).is_none());
    src.ensure_block(1).unwrap();
    assert_eq!(src.row(n).unwrap().num, n);
}

#[test]
fn export_notes_with_rules_lists_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let c = dir.path().join("w.scap");
    std::fs::copy(cap("workload.scap"), &c).unwrap();
    let r = dir.path().join("r.yaml");
    std::fs::write(
        &r,
        "- rule: Open of marker\n  desc: t\n  condition: evt.type=openat\n  output: open %fd.name\n  priority: WARNING\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("w.scap.saker-notes.json"),
        r#"{"bookmarks": {"3": "start"}}"#,
    )
    .unwrap();
    let out = crate::util::run(&[
        "tui",
        c.to_str().unwrap(),
        "-R",
        r.to_str().unwrap(),
        "--export-notes",
        "-",
    ]);
    let md = crate::util::stdout(&out);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert!(md.contains("Open of marker"), "{md}");
    assert_eq!(md.matches("Open of marker").count(), 8, "{md}");
    // Without -R the default rules run.
    let out = crate::util::run(&[
        "tui",
        external("cat_write.scap").to_str().unwrap(),
        "--export-notes",
        "-",
    ]);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
}

/// The pid of the process running in the session's pane, below its shell.
fn pane_child(session: &str) -> Option<u32> {
    let shell: u32 = tmux(&["list-panes", "-t", session, "-F", "#{pane_pid}"])
        .trim()
        .parse()
        .ok()?;
    let kids = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).ok()?;
    kids.split_whitespace().next()?.parse().ok()
}

#[test]
fn sigterm_restores_the_terminal() {
    if !tmux_ok() {
        eprintln!("SKIP sigterm_restores_the_terminal: no tmux");
        return;
    }
    let name = format!("saker-tui-term-{}", std::process::id());
    tmux_session(&name, "sh");
    let cmd = format!(
        "{} tui {}; echo TUI\"\"-EXIT=$?",
        env!("CARGO_BIN_EXE_saker"),
        cap("workload.scap").display()
    );
    tmux(&["send-keys", "-t", &name, &cmd, "Enter"]);
    let n = events_of("workload.scap");
    let s = wait_for(&name, &format!("{n}/{n} events"));
    let alt = tmux(&["display-message", "-p", "-t", &name, "#{alternate_on}"]);
    let pid = pane_child(&name);
    if let Some(pid) = pid {
        // SAFETY: kill(2) on a pid we started; no memory is involved.
        unsafe { libc::kill(pid as i32, libc::SIGTERM) };
    }
    // The exit line, then the shell's prompt (drawn a moment later).
    let prompt = |s: &str| {
        s.lines()
            .map(str::trim_end)
            .rfind(|l| !l.is_empty())
            .is_some_and(|l| l.ends_with('#') || l.ends_with('$'))
    };
    let after = crate::util::wait_until(&name, 30, |s| s.contains("TUI-EXIT=") && prompt(s));
    let alt_after = tmux(&["display-message", "-p", "-t", &name, "#{alternate_on}"]);
    tmux(&["kill-session", "-t", &name]);
    assert!(s.contains("Timeline"), "{s}");
    assert_eq!(alt.trim(), "1", "the TUI uses the alternate screen");
    assert!(pid.is_some(), "saker runs under the shell");
    assert!(
        after.contains("TUI-EXIT=0"),
        "left cleanly on SIGTERM: {after}"
    );
    assert_eq!(alt_after.trim(), "0", "alternate screen left");
    assert!(!after.contains("Timeline"), "the TUI is gone: {after}");
    // The shell prompt is back after the exit line.
    assert!(prompt(&after), "shell prompt back: {after}");
}

#[test]
fn record_tui_end_to_end() {
    let Some(_g) = crate::util::bpf_guard("record_tui_end_to_end") else {
        return;
    };
    if !tmux_ok() {
        eprintln!("SKIP record_tui_end_to_end: no tmux");
        return;
    }
    let dir = crate::util::tmpdir();
    let out = dir.path().join("live.sakr");
    let name = format!("saker-tui-live-{}", std::process::id());
    let cmd = format!(
        "{} record --tui -w {} -- sh -c 'sleep 1; for i in 1 2 3; do cat /etc/hostname; sleep 0.3; done >/dev/null'; echo REC\"\"-EXIT=$?",
        env!("CARGO_BIN_EXE_saker"),
        out.display()
    );
    tmux_session(&name, "sh");
    tmux(&["send-keys", "-t", &name, &cmd, "Enter"]);
    let rec = wait_for(&name, "● recording");
    // The command runs ~2 s; the list grows while it does, then stops.
    let stopped = {
        let start = Instant::now();
        loop {
            let s = tmux(&["capture-pane", "-p", "-t", &name]);
            if s.contains("recording stopped") || start.elapsed() > Duration::from_secs(30) {
                break s;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    };
    tmux(&["send-keys", "-t", &name, "/", "proc.name=cat", "Enter"]);
    // The unfiltered list may show an execve already: wait for the filter.
    let filtered = crate::util::wait_all(&name, &["[filter]", "cat ", "< execve"], 30);
    tmux(&["send-keys", "-t", &name, "q"]);
    let done = wait_long(&name, "REC-EXIT=", 40);
    tmux(&["kill-session", "-t", &name]);
    assert!(rec.contains("Timeline"), "{rec}");
    assert!(stopped.contains("recording stopped (command)"), "{stopped}");
    assert!(
        filtered.contains("cat ") && filtered.contains("[filter]"),
        "live events are filterable: {filtered}"
    );
    // Every event the TUI got is in the file.
    let shown: u64 = stopped
        .split(" events")
        .next()
        .and_then(|s| s.rsplit(['/', ' ', '|']).next())
        .and_then(|n| n.parse().ok())
        .expect("event count in the status line");
    assert!(done.contains("REC-EXIT=0"), "{done}");
    assert!(
        done.contains("recorded "),
        "the summary after the TUI: {done}"
    );
    // The file was written as usual and holds what the TUI showed.
    let o = crate::util::run(&["read", "-r", out.to_str().unwrap(), "proc.name=cat"]);
    assert!(o.status.success(), "{}", crate::util::stderr(&o));
    assert!(
        crate::util::stdout(&o).contains("hostname"),
        "{}",
        crate::util::stdout(&o)
    );
    let info = crate::util::run(&["info", out.to_str().unwrap()]);
    let info = crate::util::stdout(&info);
    assert!(
        info.contains(&format!("events:      {shown}\n")),
        "{shown} shown; {info}"
    );
}
