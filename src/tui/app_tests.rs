//! Action/state tests of [`App`], without a terminal or a capture.

use super::*;
use crate::tui::timeline::Histogram;

fn app(total: u64) -> App {
    let h = Histogram {
        start: 0,
        end: 1_000_001,
        buckets: vec![[1.0; 4]; 8],
        exact: false,
    };
    let mut a = App::new(total, 0, 1_000_000, h, vec![]);
    a.page = 10;
    a
}

#[test]
fn scrolling_keeps_selection_visible() {
    let mut a = app(100);
    a.update(Action::Move(15));
    assert_eq!((a.sel, a.top), (15, 6));
    a.update(Action::End);
    assert_eq!((a.sel, a.top), (99, 90));
    a.update(Action::Home);
    assert_eq!((a.sel, a.top), (0, 0));
    a.update(Action::Page(1));
    assert_eq!(a.sel, 10);
}

#[test]
fn filter_validates_and_scans() {
    let mut a = app(100);
    a.update(Action::Open(Prompt::Filter));
    for c in "evt.type=".chars() {
        a.update(Action::Input(c));
    }
    assert!(!a.input_errors.is_empty(), "a dangling '=' is an error");
    for c in "open and".chars() {
        a.update(Action::Input(c));
    }
    assert!(!a.input_errors.is_empty());
    let e = &a.input_errors[0];
    assert!(e.pos >= "evt.type=open".len(), "{e:?}");
    for _ in 0..4 {
        a.update(Action::Backspace);
    }
    assert!(a.input_errors.is_empty(), "{:?}", a.input_errors);
    let cmd = a.update(Action::Submit);
    match cmd {
        Some(Command::Scan(r)) => assert_eq!(r.filter.as_deref(), Some("evt.type=open")),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.list, ListModel::Matches(vec![]));
    // Stale results are ignored, current ones shown.
    a.on_event(AppEvent::Matches {
        generation: 0,
        nums: vec![1],
        scanned: 5,
        done: false,
    });
    a.on_event(AppEvent::Matches {
        generation: a.restrict.generation,
        nums: vec![3, 7],
        scanned: 100,
        done: true,
    });
    assert_eq!(a.list, ListModel::Matches(vec![3, 7]));
}

#[test]
fn unknown_field_is_refused_on_submit() {
    let mut a = app(10);
    a.update(Action::Open(Prompt::Filter));
    for c in "nosuch.field=1".chars() {
        a.update(Action::Input(c));
    }
    assert_eq!(a.update(Action::Submit), None);
    assert_eq!(a.prompt, Some(Prompt::Filter), "the prompt stays open");
    assert!(a.status.contains("nosuch.field"), "{}", a.status);
}

#[test]
fn completion_fills_field_name() {
    let mut a = app(10);
    a.update(Action::Open(Prompt::Filter));
    for c in "proc.na".chars() {
        a.update(Action::Input(c));
    }
    assert!(a.completions.contains(&"proc.name"), "{:?}", a.completions);
    a.update(Action::Complete);
    assert!(a.input.starts_with("proc.name"), "{}", a.input);
}

#[test]
fn zoom_and_brush_restrict() {
    let mut a = app(100);
    a.derived.timeline_width = 100;
    a.update(Action::ZoomAt(0.5, 50));
    assert_eq!((a.window.t0, a.window.t1), (250_000, 750_000));
    a.update(Action::ZoomReset);
    let cmd = a.update(Action::BrushCols(60, 20));
    match cmd {
        Some(Command::Scan(r)) => assert_eq!(r.range, Some((200_000, 610_000))),
        other => panic!("{other:?}"),
    }
    assert!(
        a.update(Action::ClearRestrictions).is_none(),
        "no restriction left: plain list"
    );
    assert_eq!(a.list, ListModel::All(100));
    assert_eq!(a.window.brush, None);
}

#[test]
fn jump_to_alert_and_event_number() {
    let mut a = app(100);
    a.alerts = vec![AlertRow {
        rule: "r".into(),
        priority: "Warning".into(),
        rank: 4,
        num: 42,
        ts: 5,
        output: "x".into(),
    }];
    a.update(Action::ShowSide(Side::Alerts));
    a.update(Action::Activate);
    assert_eq!(a.selected(), Some(42));
    assert_eq!(a.focus, Focus::Events);
    a.update(Action::Open(Prompt::Jump));
    for c in "7".chars() {
        a.update(Action::Input(c));
    }
    a.update(Action::Submit);
    assert_eq!(a.selected(), Some(6), "evt.num is 1-based");
    a.update(Action::Open(Prompt::Jump));
    a.update(Action::Input('x'));
    a.update(Action::Submit);
    assert!(a.status.contains("bad jump"));
    a.update(Action::Open(Prompt::Jump));
    for c in "+0.5s".chars() {
        a.update(Action::Input(c));
    }
    assert_eq!(
        a.update(Action::Submit),
        Some(Command::SeekTime(500_000_000))
    );
}

#[test]
fn process_subtree_from_tree_pane() {
    let mut a = app(100);
    a.derived.procs = vec![
        crate::tui::prepare::ProcRow {
            depth: 0,
            pid: 1,
            ..Default::default()
        },
        crate::tui::prepare::ProcRow {
            depth: 1,
            pid: 77,
            ..Default::default()
        },
    ];
    a.update(Action::ShowSide(Side::Procs));
    a.update(Action::Move(1));
    match a.update(Action::Activate) {
        Some(Command::Scan(r)) => assert_eq!(r.subtree, Some(77)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bookmarks_and_notes() {
    let mut a = app(100);
    a.update(Action::Move(5));
    assert_eq!(a.update(Action::Bookmark), Some(Command::SaveNotes));
    a.update(Action::Move(10));
    a.update(Action::Open(Prompt::Note));
    for c in "rev shell".chars() {
        a.update(Action::Input(c));
    }
    assert_eq!(a.update(Action::Submit), Some(Command::SaveNotes));
    assert_eq!(a.notes.get(15), Some("rev shell"));
    a.update(Action::Home);
    a.update(Action::NextBookmark);
    assert_eq!(a.selected(), Some(5));
    a.update(Action::NextBookmark);
    assert_eq!(a.selected(), Some(15));
}
