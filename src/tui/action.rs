//! [`Action`]s and the key/mouse map: input becomes an `Action`, the only
//! way the app state changes ([`super::App::update`]). Mapping depends on
//! which pane has focus and whether a text prompt is open; it is pure.

use ratatui::crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use ratatui::layout::Rect;

/// Which pane receives keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The timeline.
    Timeline,
    /// The event list.
    Events,
    /// The side pane (details, processes, alerts, I/O).
    Side,
}

/// What the side pane shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Fields, buffers and latency of the selected event.
    Details,
    /// Process tree at the selected event's time.
    Procs,
    /// Alerts by rule and priority.
    Alerts,
    /// The data stream of the selected event's fd.
    Io,
}

/// A text prompt being edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// The filter bar.
    Filter,
    /// Jump to an event number (`123`) or a time offset (`+1.5s`, `@12:00:01`).
    Jump,
    /// A note for the selected event.
    Note,
}

/// Everything that can change the app state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Leave.
    Quit,
    /// Toggle the help overlay.
    Help,
    /// Focus the next pane.
    FocusNext,
    /// Focus the previous pane.
    FocusPrev,
    /// Show this in the side pane (and focus it).
    ShowSide(Side),
    /// Move the selection by this many rows (events, processes, alerts).
    Move(i64),
    /// Move by this many pages.
    Page(i64),
    /// First row.
    Home,
    /// Last row.
    End,
    /// Enter on the focused pane (jump to alert, restrict to process...).
    Activate,
    /// Zoom the timeline by a factor (<1 in) around its cursor.
    Zoom(f64),
    /// Zoom the timeline around the time at a column of its area.
    ZoomAt(f64, u16),
    /// Pan the timeline by a fraction of its span.
    Pan(f64),
    /// Move the timeline cursor by a fraction of its span.
    Cursor(f64),
    /// Show the whole capture.
    ZoomReset,
    /// Set a brush end at the timeline cursor.
    BrushPoint,
    /// Brush from one timeline column to another (mouse drag).
    BrushCols(u16, u16),
    /// Remove the brush and the process restriction.
    ClearRestrictions,
    /// Jump the event list to the time at a timeline column.
    JumpToCol(u16),
    /// Select the event list row at this screen row.
    ClickRow(u16),
    /// Open a prompt.
    Open(Prompt),
    /// Type a character into the prompt.
    Input(char),
    /// Delete before the cursor.
    Backspace,
    /// Move the prompt cursor.
    PromptCursor(i32),
    /// Complete the field name at the cursor.
    Complete,
    /// Accept the prompt.
    Submit,
    /// Close the prompt without applying.
    Cancel,
    /// Toggle a bookmark on the selected event.
    Bookmark,
    /// Jump to the next bookmark.
    NextBookmark,
    /// Follow the selected event's fd in the I/O view.
    FollowFd,
    /// Restrict to the selected process's subtree.
    Subtree,
}

/// Screen areas the mouse map needs (set by the last render).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    /// Inner area of the timeline bars.
    pub timeline: Rect,
    /// Inner area of the event list (rows, no header).
    pub events: Rect,
}

/// Maps a key to an action.
pub fn key_action(k: KeyEvent, focus: Focus, prompt: Option<Prompt>) -> Option<Action> {
    if k.kind == KeyEventKind::Release {
        return None;
    }
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if let Some(p) = prompt {
        return Some(match k.code {
            KeyCode::Enter => Action::Submit,
            KeyCode::Esc => Action::Cancel,
            KeyCode::Backspace => Action::Backspace,
            KeyCode::Left => Action::PromptCursor(-1),
            KeyCode::Right => Action::PromptCursor(1),
            KeyCode::Tab if p == Prompt::Filter => Action::Complete,
            KeyCode::Char(c) => Action::Input(c),
            _ => return None,
        });
    }
    let a = match (k.code, focus) {
        (KeyCode::Char('q'), _) => Action::Quit,
        (KeyCode::Char('?'), _) => Action::Help,
        (KeyCode::Tab, _) => Action::FocusNext,
        (KeyCode::BackTab, _) => Action::FocusPrev,
        (KeyCode::Char('/'), _) => Action::Open(Prompt::Filter),
        (KeyCode::Char(':'), _) => Action::Open(Prompt::Jump),
        (KeyCode::Char('1'), _) => Action::ShowSide(Side::Details),
        (KeyCode::Char('2'), _) => Action::ShowSide(Side::Procs),
        (KeyCode::Char('3'), _) => Action::ShowSide(Side::Alerts),
        (KeyCode::Char('4'), _) => Action::ShowSide(Side::Io),
        (KeyCode::Char('x'), _) => Action::ClearRestrictions,
        (KeyCode::Char('+' | '='), _) => Action::Zoom(0.5),
        (KeyCode::Char('-'), _) => Action::Zoom(2.0),
        (KeyCode::Char('0'), _) => Action::ZoomReset,
        (KeyCode::Char('['), _) | (KeyCode::Char(']'), _) => Action::BrushPoint,
        (KeyCode::Char('b'), _) => Action::Bookmark,
        (KeyCode::Char('B'), _) => Action::NextBookmark,
        (KeyCode::Char('n'), _) => Action::Open(Prompt::Note),
        (KeyCode::Char('f'), _) => Action::FollowFd,
        (KeyCode::Char('s'), _) => Action::Subtree,
        (KeyCode::Left | KeyCode::Char('h'), Focus::Timeline) => Action::Cursor(-0.02),
        (KeyCode::Right | KeyCode::Char('l'), Focus::Timeline) => Action::Cursor(0.02),
        (KeyCode::Char('H'), Focus::Timeline) => Action::Pan(-0.25),
        (KeyCode::Char('L'), Focus::Timeline) => Action::Pan(0.25),
        (KeyCode::Up | KeyCode::Char('k'), _) => Action::Move(-1),
        (KeyCode::Down | KeyCode::Char('j'), _) => Action::Move(1),
        (KeyCode::PageUp, _) => Action::Page(-1),
        (KeyCode::PageDown | KeyCode::Char(' '), _) => Action::Page(1),
        (KeyCode::Home | KeyCode::Char('g'), _) => Action::Home,
        (KeyCode::End | KeyCode::Char('G'), _) => Action::End,
        (KeyCode::Enter, _) => Action::Activate,
        (KeyCode::Esc, _) => Action::ClearRestrictions,
        _ => return None,
    };
    Some(a)
}

fn inside(r: Rect, col: u16, row: u16) -> bool {
    col >= r.x && col < r.x + r.width && row >= r.y && row < r.y + r.height
}

/// Mouse drags in progress on the timeline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Drag {
    /// Column where a left-button drag (brush) started.
    pub brush_from: Option<u16>,
    /// Last column of a right-button drag (pan).
    pub pan_at: Option<u16>,
}

/// Fraction of the span one wheel notch pans.
const WHEEL_PAN: f64 = 0.1;

/// Maps a mouse event to an action. On the timeline: the wheel zooms,
/// Shift+wheel and the horizontal wheel pan, a left drag brushes, a right
/// drag pans (the view follows the pointer), a click jumps.
pub fn mouse_action(m: MouseEvent, areas: &Areas, drag: &mut Drag) -> Option<Action> {
    let tl = areas.timeline;
    let col = m.column.saturating_sub(tl.x);
    let on_tl = inside(tl, m.column, m.row);
    let shift = m.modifiers.contains(KeyModifiers::SHIFT);
    match m.kind {
        MouseEventKind::ScrollUp | MouseEventKind::ScrollLeft
            if on_tl && (shift || m.kind == MouseEventKind::ScrollLeft) =>
        {
            Some(Action::Pan(-WHEEL_PAN))
        }
        MouseEventKind::ScrollDown | MouseEventKind::ScrollRight
            if on_tl && (shift || m.kind == MouseEventKind::ScrollRight) =>
        {
            Some(Action::Pan(WHEEL_PAN))
        }
        MouseEventKind::Down(MouseButton::Right) if on_tl => {
            drag.pan_at = Some(col);
            None
        }
        MouseEventKind::Drag(MouseButton::Right) => {
            let from = drag.pan_at.replace(col)?;
            let d = f64::from(col) - f64::from(from);
            (d != 0.0).then(|| Action::Pan(-d / f64::from(tl.width.max(1))))
        }
        MouseEventKind::Up(MouseButton::Right) => {
            drag.pan_at = None;
            None
        }
        MouseEventKind::ScrollUp if inside(tl, m.column, m.row) => Some(Action::ZoomAt(0.8, col)),
        MouseEventKind::ScrollDown if inside(tl, m.column, m.row) => {
            Some(Action::ZoomAt(1.25, col))
        }
        MouseEventKind::ScrollUp => Some(Action::Move(-3)),
        MouseEventKind::ScrollDown => Some(Action::Move(3)),
        MouseEventKind::Down(MouseButton::Left) if on_tl => {
            drag.brush_from = Some(col);
            None
        }
        MouseEventKind::Up(MouseButton::Left) => match drag.brush_from.take() {
            Some(a) if a.abs_diff(col) >= 2 => {
                Some(Action::BrushCols(a, col.min(tl.width.saturating_sub(1))))
            }
            Some(a) => Some(Action::JumpToCol(a)),
            None if inside(areas.events, m.column, m.row) => {
                Some(Action::ClickRow(m.row - areas.events.y))
            }
            None => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn prompt_captures_letters() {
        assert_eq!(
            key_action(key(KeyCode::Char('q')), Focus::Events, Some(Prompt::Filter)),
            Some(Action::Input('q'))
        );
        assert_eq!(
            key_action(key(KeyCode::Char('q')), Focus::Events, None),
            Some(Action::Quit)
        );
        assert_eq!(
            key_action(key(KeyCode::Tab), Focus::Events, Some(Prompt::Filter)),
            Some(Action::Complete)
        );
    }

    #[test]
    fn arrows_depend_on_focus() {
        assert_eq!(
            key_action(key(KeyCode::Left), Focus::Timeline, None),
            Some(Action::Cursor(-0.02))
        );
        assert_eq!(key_action(key(KeyCode::Left), Focus::Events, None), None);
    }

    #[test]
    fn drag_brushes_click_jumps() {
        let areas = Areas {
            timeline: Rect::new(1, 1, 100, 5),
            events: Rect::new(1, 10, 60, 20),
        };
        let ev = |kind, column, row| MouseEvent {
            kind,
            column,
            row,
            modifiers: KeyModifiers::NONE,
        };
        let mut drag = Drag::default();
        assert_eq!(
            mouse_action(
                ev(MouseEventKind::Down(MouseButton::Left), 11, 2),
                &areas,
                &mut drag
            ),
            None
        );
        assert_eq!(
            mouse_action(
                ev(MouseEventKind::Up(MouseButton::Left), 41, 2),
                &areas,
                &mut drag
            ),
            Some(Action::BrushCols(10, 40))
        );
        mouse_action(
            ev(MouseEventKind::Down(MouseButton::Left), 11, 2),
            &areas,
            &mut drag,
        );
        assert_eq!(
            mouse_action(
                ev(MouseEventKind::Up(MouseButton::Left), 11, 2),
                &areas,
                &mut drag
            ),
            Some(Action::JumpToCol(10))
        );
        assert_eq!(
            mouse_action(
                ev(MouseEventKind::Up(MouseButton::Left), 5, 15),
                &areas,
                &mut drag
            ),
            Some(Action::ClickRow(5))
        );
    }

    #[test]
    fn mouse_pans_the_timeline() {
        let areas = Areas {
            timeline: Rect::new(1, 1, 100, 5),
            events: Rect::new(1, 10, 60, 20),
        };
        let ev = |kind, column, row, modifiers| MouseEvent {
            kind,
            column,
            row,
            modifiers,
        };
        let mut d = Drag::default();
        let (none, shift) = (KeyModifiers::NONE, KeyModifiers::SHIFT);
        // Plain wheel zooms, Shift+wheel and the horizontal wheel pan.
        assert_eq!(
            mouse_action(ev(MouseEventKind::ScrollUp, 11, 2, none), &areas, &mut d),
            Some(Action::ZoomAt(0.8, 10))
        );
        assert_eq!(
            mouse_action(ev(MouseEventKind::ScrollUp, 11, 2, shift), &areas, &mut d),
            Some(Action::Pan(-WHEEL_PAN))
        );
        assert_eq!(
            mouse_action(ev(MouseEventKind::ScrollDown, 11, 2, shift), &areas, &mut d),
            Some(Action::Pan(WHEEL_PAN))
        );
        assert_eq!(
            mouse_action(ev(MouseEventKind::ScrollRight, 11, 2, none), &areas, &mut d),
            Some(Action::Pan(WHEEL_PAN))
        );
        // Off the timeline the wheel scrolls the list.
        assert_eq!(
            mouse_action(ev(MouseEventKind::ScrollDown, 5, 15, shift), &areas, &mut d),
            Some(Action::Move(3))
        );
        // A right drag of 25 columns to the right pans back a quarter.
        let r = MouseButton::Right;
        assert_eq!(
            mouse_action(ev(MouseEventKind::Down(r), 51, 2, none), &areas, &mut d),
            None
        );
        assert_eq!(
            mouse_action(ev(MouseEventKind::Drag(r), 76, 2, none), &areas, &mut d),
            Some(Action::Pan(-0.25))
        );
        assert_eq!(
            mouse_action(ev(MouseEventKind::Drag(r), 76, 2, none), &areas, &mut d),
            None,
            "no move, no pan"
        );
        mouse_action(ev(MouseEventKind::Up(r), 76, 2, none), &areas, &mut d);
        assert_eq!(
            mouse_action(ev(MouseEventKind::Drag(r), 90, 2, none), &areas, &mut d),
            None,
            "released"
        );
        // Panning moves the window by that fraction of its span.
        let mut w = crate::tui::timeline::Window::new(0, 1_000_000);
        w.zoom(0.5, 500_000);
        w.pan(-0.25);
        assert_eq!((w.t0, w.t1), (125_000, 625_000));
    }
}
