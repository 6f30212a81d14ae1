//! [`App`]: the whole TUI state, changed only by [`App::update`] (one
//! [`Action`]) and [`App::on_event`] (job results). Both are pure: work
//! that needs the capture is returned as [`Command`]s for the runner, and
//! data derived from the capture (rows, details, the process tree) is filled
//! in by [`super::prepare`] before each frame.

use super::action::{Action, Focus, Prompt, Side};
use super::jobs::{AlertRow, AppEvent, ExecRecord, ScanRequest};
use super::notes::Notes;
use super::prepare::Derived;
use super::timeline::{Histogram, Window};
use crate::filter::fields::CATALOG;
use crate::filter::{parse_lenient, FilterError};

/// Work the runner must do for the app.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Start a scan (a new generation; older ones stop).
    Scan(ScanRequest),
    /// Select the first listed event at or after this time.
    SeekTime(u64),
    /// Write the notes sidecar.
    SaveNotes,
}

/// What the I/O view follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Follow {
    /// One process's fd: `(pid, fd)`.
    Fd(u32, i64),
    /// A connection both ways, by its tuple `cip:cport->sip:sport`.
    Conn(String),
}

/// The rows of the event list: every event, or the matches of a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListModel {
    /// Events `0..n`.
    All(u64),
    /// Matching event numbers (growing while the scan runs).
    Matches(Vec<u64>),
}

impl ListModel {
    /// Rows.
    pub fn len(&self) -> u64 {
        match self {
            ListModel::All(n) => *n,
            ListModel::Matches(v) => v.len() as u64,
        }
    }
    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Event number of row `i`.
    pub fn get(&self, i: u64) -> Option<u64> {
        match self {
            ListModel::All(n) => (i < *n).then_some(i),
            ListModel::Matches(v) => v.get(usize::try_from(i).ok()?).copied(),
        }
    }
    /// Row of the first event numbered `>= n`.
    pub fn row_of(&self, n: u64) -> u64 {
        match self {
            ListModel::All(t) => n.min(t.saturating_sub(1)),
            ListModel::Matches(v) => v.partition_point(|&x| x < n) as u64,
        }
    }
}

/// The TUI state.
#[derive(Debug)]
pub struct App {
    /// Set by [`Action::Quit`].
    pub quit: bool,
    /// Focused pane.
    pub focus: Focus,
    /// Side pane content.
    pub side: Side,
    /// Help overlay shown.
    pub help: bool,
    /// Open prompt.
    pub prompt: Option<Prompt>,
    /// Prompt text and cursor (byte offset).
    pub input: String,
    /// Cursor in `input`.
    pub input_cursor: usize,
    /// Live errors of the filter being typed.
    pub input_errors: Vec<FilterError>,
    /// Field-name completions for the word at the cursor.
    pub completions: Vec<&'static str>,
    /// Timeline window and brush.
    pub window: Window,
    /// Histogram from the block index.
    pub hist_index: Histogram,
    /// Exact histogram from the indexer.
    pub hist_exact: Option<Histogram>,
    /// Drop gaps: `(first_ts, last_ts, events lost)` of blocks with drops.
    pub gaps: Vec<(u64, u64, u64)>,
    /// Event list rows.
    pub list: ListModel,
    /// Selected row.
    pub sel: u64,
    /// First shown row.
    pub top: u64,
    /// Rows the event list shows (set from the layout).
    pub page: u16,
    /// The restriction in force.
    pub restrict: ScanRequest,
    /// Scan progress: events scanned, done.
    pub scan: (u64, bool),
    /// Bookmarks and notes.
    pub notes: Notes,
    /// Alerts, most severe first.
    pub alerts: Vec<AlertRow>,
    /// Selected alert.
    pub alert_sel: usize,
    /// Selected process row.
    pub proc_sel: usize,
    /// Exec history (indexer).
    pub execs: Vec<ExecRecord>,
    /// Whether the indexer finished.
    pub indexed: bool,
    /// Total events.
    pub total: u64,
    /// Status message.
    pub status: String,
    /// Derived data for the selected event (filled by `prepare`).
    pub derived: Derived,
    /// Whether rules were loaded (alerts pane content).
    pub rules_loaded: bool,
    /// Lines the details or I/O pane is scrolled by (↑/↓ with the side
    /// pane focused; back to 0 when another event is selected).
    pub side_scroll: u16,
    /// What the I/O view follows (set by [`Action::FollowFd`]).
    pub following: Option<Follow>,
    /// A recording in progress feeds the app (`saker record --tui`).
    pub live: bool,
    /// Nanoseconds to add to a record timestamp for the time since the
    /// epoch (absolute jumps).
    pub epoch_off: i64,
}

impl App {
    /// A fresh app over a capture of `total` events spanning `[first, last]`.
    pub fn new(
        total: u64,
        first: u64,
        last: u64,
        hist_index: Histogram,
        gaps: Vec<(u64, u64, u64)>,
    ) -> App {
        App {
            quit: false,
            focus: Focus::Events,
            side: Side::Details,
            help: false,
            prompt: None,
            input: String::new(),
            input_cursor: 0,
            input_errors: Vec::new(),
            completions: Vec::new(),
            window: Window::new(first, last),
            hist_index,
            hist_exact: None,
            gaps,
            list: ListModel::All(total),
            sel: 0,
            top: 0,
            page: 20,
            restrict: ScanRequest::default(),
            scan: (0, true),
            notes: Notes::default(),
            alerts: Vec::new(),
            alert_sel: 0,
            proc_sel: 0,
            execs: Vec::new(),
            indexed: false,
            total,
            status: String::new(),
            derived: Derived::default(),
            rules_loaded: false,
            live: false,
            epoch_off: 0,
            following: None,
            side_scroll: 0,
        }
    }

    /// A live recording grew to `total` events spanning `[first, last]`:
    /// the unrestricted list, the timeline and the drop gaps follow; the
    /// selection follows the end when it was on the last row.
    pub fn grow(
        &mut self,
        total: u64,
        first: u64,
        last: u64,
        hist_index: Histogram,
        gaps: Vec<(u64, u64, u64)>,
    ) {
        let at_end = self.sel + 1 >= self.list.len();
        let whole = self.window.t0 == self.window.full.0 && self.window.t1 == self.window.full.1;
        if self.total == 0 {
            self.window = Window::new(first, last);
        } else {
            self.window.full = (self.window.full.0.min(first), last.max(self.window.full.1));
            if whole {
                self.window.reset();
            }
        }
        self.total = total;
        self.hist_index = hist_index;
        self.gaps = gaps;
        if let ListModel::All(n) = &mut self.list {
            *n = total;
            self.scan = (total, true);
            if at_end {
                self.select_row(total.saturating_sub(1));
            }
        }
    }

    /// Adds alerts (a live recording), keeping them grouped by priority and rule.
    pub fn add_alerts(&mut self, more: Vec<AlertRow>) {
        if more.is_empty() {
            return;
        }
        self.alerts.extend(more);
        self.alerts
            .sort_by(|a, b| (a.rank, &a.rule, a.num).cmp(&(b.rank, &b.rule, b.num)));
    }

    /// Indices in [`App::alerts`] of the alerts whose event is in the
    /// current restriction (brush, process subtree, filter): every alert
    /// when nothing is restricted.
    pub fn visible_alerts(&self) -> Vec<usize> {
        match &self.list {
            ListModel::All(_) => (0..self.alerts.len()).collect(),
            ListModel::Matches(v) => (0..self.alerts.len())
                .filter(|&i| v.binary_search(&self.alerts[i].num).is_ok())
                .collect(),
        }
    }

    /// The selected event number.
    pub fn selected(&self) -> Option<u64> {
        self.list.get(self.sel)
    }

    /// The histogram to draw.
    pub fn histogram(&self) -> &Histogram {
        self.hist_exact.as_ref().unwrap_or(&self.hist_index)
    }

    /// Selects list row `row`, scrolling so it is visible.
    pub fn select_row(&mut self, row: u64) {
        let n = self.list.len();
        let old = self.sel;
        self.sel = row.min(n.saturating_sub(1));
        if self.sel != old {
            self.side_scroll = 0;
        }
        let page = u64::from(self.page.max(1));
        if self.sel < self.top {
            self.top = self.sel;
        } else if self.sel >= self.top + page {
            self.top = self.sel + 1 - page;
        }
    }

    /// Selects the first listed event numbered `>= n`.
    pub fn select_event(&mut self, n: u64) {
        let r = self.list.row_of(n);
        self.select_row(r);
    }

    fn rescan(&mut self) -> Option<Command> {
        self.restrict.generation += 1;
        self.sel = 0;
        self.top = 0;
        self.alert_sel = 0;
        if self.restrict.is_all() {
            self.list = ListModel::All(self.total);
            self.scan = (self.total, true);
            return None;
        }
        self.list = ListModel::Matches(Vec::new());
        self.scan = (0, false);
        Some(Command::Scan(self.restrict.clone()))
    }

    fn move_by(&mut self, d: i64) {
        match (self.focus, self.side) {
            (Focus::Side, Side::Procs) => {
                let n = self.derived.procs.len();
                self.proc_sel =
                    (self.proc_sel as i64 + d).clamp(0, n.saturating_sub(1) as i64) as usize;
            }
            (Focus::Side, Side::Alerts) => {
                let n = self.visible_alerts().len();
                self.alert_sel =
                    (self.alert_sel as i64 + d).clamp(0, n.saturating_sub(1) as i64) as usize;
            }
            (Focus::Side, Side::Details | Side::Io) => {
                self.side_scroll = (i64::from(self.side_scroll) + d).clamp(0, 10_000) as u16;
            }
            (Focus::Timeline, _) => self.window.move_cursor(d as f64 * 0.02),
            _ => {
                let n = self.list.len() as i64;
                let r = (self.sel as i64).saturating_add(d).clamp(0, (n - 1).max(0));
                self.select_row(r as u64);
            }
        }
    }

    fn edit_input(&mut self) {
        if self.prompt != Some(Prompt::Filter) {
            return;
        }
        let (_, errs) = parse_lenient(&self.input);
        self.input_errors = if self.input.trim().is_empty() {
            Vec::new()
        } else {
            errs
        };
        let start = self.input[..self.input_cursor]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
            .map_or(0, |i| i + 1);
        let word = &self.input[start..self.input_cursor];
        self.completions = if word.is_empty() {
            Vec::new()
        } else {
            CATALOG
                .iter()
                .map(|d| d.name)
                .filter(|n| n.starts_with(word) && *n != word)
                .take(20)
                .collect()
        };
    }

    fn submit(&mut self) -> Option<Command> {
        let p = self.prompt.take()?;
        let text = std::mem::take(&mut self.input);
        self.input_cursor = 0;
        self.completions.clear();
        match p {
            Prompt::Filter => {
                let text = text.trim().to_string();
                if text.is_empty() {
                    self.restrict.filter = None;
                    self.input_errors.clear();
                    return self.rescan();
                }
                if let Err(e) = crate::filter::compile_str(&text, &crate::filter::fields::Fields) {
                    self.status = format!("filter not applied: {}", e.message);
                    self.input_errors = vec![e];
                    self.prompt = Some(Prompt::Filter);
                    self.input_cursor = text.len();
                    self.input = text;
                    return None;
                }
                self.input_errors.clear();
                self.restrict.filter = Some(text);
                self.rescan()
            }
            Prompt::Jump => self.jump(text.trim()),
            Prompt::Note => {
                let n = self.selected()?;
                self.notes.set(n, text.trim());
                Some(Command::SaveNotes)
            }
        }
    }

    fn jump(&mut self, spec: &str) -> Option<Command> {
        if let Some(rel) = spec.strip_prefix('+') {
            let secs: f64 = match rel.trim_end_matches('s').parse() {
                Ok(v) if f64::is_finite(v) && v >= 0.0 => v,
                _ => {
                    self.status = format!(
                        "bad time offset '{}': use +SECONDS, e.g. +1.5s",
                        rel.escape_default()
                    );
                    return None;
                }
            };
            let t = self.window.full.0.saturating_add((secs * 1e9) as u64);
            return Some(Command::SeekTime(t));
        }
        if spec.contains(':') || spec.starts_with('@') {
            return match self.absolute_time(spec) {
                Some(t) => Some(Command::SeekTime(t)),
                None => {
                    self.status = format!(
                        "bad time '{}': HH:MM:SS[.f] (UTC, the capture's day), \
                         YYYY-MM-DD HH:MM:SS[.f] or @EPOCH_SECONDS",
                        spec.escape_default()
                    );
                    None
                }
            };
        }
        match spec.parse::<u64>() {
            Ok(n) if n >= 1 => {
                self.select_event(n - 1);
                None
            }
            _ => {
                self.status = format!(
                    "bad jump '{}': an event number (evt.num), +SECONDS or a time (HH:MM:SS)",
                    spec.escape_default()
                );
                None
            }
        }
    }

    /// The record timestamp of an absolute time: `HH:MM:SS[.f]` (UTC, on
    /// the day of the capture's first event, or the next day when the
    /// capture runs past midnight and the time falls there), a full
    /// `YYYY-MM-DD[ T]HH:MM:SS[.f]` (UTC), or `@SECONDS` since the epoch.
    pub fn absolute_time(&self, spec: &str) -> Option<u64> {
        use chrono::{NaiveDateTime, NaiveTime};
        let spec = spec.trim();
        let epoch_ns: i128 = if let Some(e) = spec.strip_prefix('@').filter(|e| !e.contains(':')) {
            // Exact to the nanosecond: seconds and up to 9 decimals apart.
            let (int, frac) = e.trim_end_matches('s').split_once('.').unwrap_or((e, ""));
            let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
            if !digits(int) || !(frac.is_empty() || digits(frac)) || frac.len() > 9 {
                return None;
            }
            let secs: i128 = int.parse().ok()?;
            let nanos: i128 = if frac.is_empty() {
                0
            } else {
                format!("{frac:0<9}").parse().ok()?
            };
            secs.checked_mul(1_000_000_000)?.checked_add(nanos)?
        } else {
            let s = spec.trim_start_matches('@');
            let full = ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok());
            let dt = match full {
                Some(dt) => dt,
                None => {
                    let tod = NaiveTime::parse_from_str(s, "%H:%M:%S%.f").ok()?;
                    let first =
                        i64::try_from(i128::from(self.window.full.0) + i128::from(self.epoch_off))
                            .ok()?;
                    let day = chrono::DateTime::from_timestamp_nanos(first).date_naive();
                    let dt = day.and_time(tod);
                    let last = i128::from(self.window.full.1) + i128::from(self.epoch_off);
                    let ns = |d: NaiveDateTime| d.and_utc().timestamp_nanos_opt().map(i128::from);
                    match day.succ_opt().map(|d| d.and_time(tod)) {
                        Some(next) if ns(dt)? < i128::from(first) && ns(next)? <= last => next,
                        _ => dt,
                    }
                }
            };
            i128::from(dt.and_utc().timestamp_nanos_opt()?)
        };
        u64::try_from((epoch_ns - i128::from(self.epoch_off)).max(0)).ok()
    }

    /// Applies one action.
    pub fn update(&mut self, a: Action) -> Option<Command> {
        self.status.clear();
        match a {
            Action::Quit => self.quit = true,
            Action::Help => self.help = !self.help,
            Action::FocusNext | Action::FocusPrev => {
                let order = [Focus::Timeline, Focus::Events, Focus::Side];
                let i = order.iter().position(|f| *f == self.focus).unwrap_or(1);
                let d = if a == Action::FocusNext { 1 } else { 2 };
                self.focus = order[(i + d) % 3];
            }
            Action::ShowSide(s) => {
                self.side = s;
                self.focus = Focus::Side;
            }
            Action::Move(d) => self.move_by(d),
            Action::Page(d) => self.move_by(d * i64::from(self.page.max(1))),
            Action::Home => self.move_by(i64::MIN / 2),
            Action::End => self.move_by(i64::MAX / 2),
            Action::Activate => return self.activate(),
            Action::Zoom(f) => {
                let at = self.window.cursor;
                self.window.zoom(f, at);
            }
            Action::ZoomAt(f, col) => {
                let at = self.window.time_at(col, self.derived.timeline_width);
                self.window.zoom(f, at);
            }
            Action::Pan(f) => self.window.pan(f),
            Action::Cursor(f) => self.window.move_cursor(f),
            Action::ZoomReset => self.window.reset(),
            Action::BrushPoint => {
                self.window.brush_point(self.window.cursor);
                if let Some(b) = self.window.brush.filter(|_| self.window.anchor.is_none()) {
                    self.restrict.range = Some(b);
                    return self.rescan();
                }
            }
            Action::BrushCols(a, b) => {
                let w = self.derived.timeline_width;
                let (a, b) = (a.min(b), a.max(b));
                let range = (self.window.time_at(a, w), self.window.time_at(b + 1, w));
                self.window.brush = Some(range);
                self.window.anchor = None;
                self.restrict.range = Some(range);
                return self.rescan();
            }
            Action::ClearRestrictions => {
                self.window.clear_brush();
                if self.restrict.range.is_some() || self.restrict.subtree.is_some() {
                    self.restrict.range = None;
                    self.restrict.subtree = None;
                    return self.rescan();
                }
            }
            Action::JumpToCol(c) => {
                let t = self.window.time_at(c, self.derived.timeline_width);
                self.window.cursor = t;
                return Some(Command::SeekTime(t));
            }
            Action::ClickRow(r) => {
                self.focus = Focus::Events;
                self.select_row(self.top + u64::from(r));
            }
            Action::Open(p) => {
                self.prompt = Some(p);
                self.input = match p {
                    Prompt::Filter => self.restrict.filter.clone().unwrap_or_default(),
                    Prompt::Note => self
                        .selected()
                        .and_then(|n| self.notes.get(n))
                        .unwrap_or("")
                        .to_string(),
                    Prompt::Jump => String::new(),
                };
                self.input_cursor = self.input.len();
                self.edit_input();
            }
            Action::Input(c) if !c.is_control() => {
                self.input.insert(self.input_cursor, c);
                self.input_cursor += c.len_utf8();
                self.edit_input();
            }
            Action::Input(_) => {}
            Action::Backspace => {
                if let Some(c) = self.input[..self.input_cursor].chars().next_back() {
                    self.input_cursor -= c.len_utf8();
                    self.input.remove(self.input_cursor);
                    self.edit_input();
                }
            }
            Action::PromptCursor(d) => {
                let s = &self.input;
                self.input_cursor = if d < 0 {
                    s[..self.input_cursor]
                        .char_indices()
                        .next_back()
                        .map_or(0, |(i, _)| i)
                } else {
                    s[self.input_cursor..]
                        .chars()
                        .next()
                        .map_or(s.len(), |c| self.input_cursor + c.len_utf8())
                };
                self.edit_input();
            }
            Action::Complete => {
                if let Some(first) = self.completions.first().copied() {
                    let start = self.input[..self.input_cursor]
                        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_'))
                        .map_or(0, |i| i + 1);
                    self.input.replace_range(start..self.input_cursor, first);
                    self.input_cursor = start + first.len();
                    self.edit_input();
                }
            }
            Action::Submit => return self.submit(),
            Action::Cancel => {
                self.prompt = None;
                self.input.clear();
                self.input_cursor = 0;
                self.input_errors.clear();
                self.completions.clear();
            }
            Action::Bookmark => {
                let n = self.selected()?;
                self.notes.toggle(n);
                return Some(Command::SaveNotes);
            }
            Action::NextBookmark => {
                let cur = self.selected().unwrap_or(0);
                match self.notes.next_after(cur) {
                    Some(n) => self.select_event(n),
                    None => self.status = "no bookmark after this event".into(),
                }
            }
            Action::FollowFd => {
                self.side = Side::Io;
                if let Some((tuple, rev)) = self.derived.conn.clone() {
                    // A connection: both ends' I/O as one stream. An end
                    // whose own address was not recorded (a client's local
                    // port, say) names the socket by the peer's address alone.
                    let q = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
                    let (c, sv) = tuple.split_once("->").unwrap_or((&tuple, &tuple));
                    let names = [tuple.as_str(), rev.as_str(), c, sv]
                        .iter()
                        .map(|n| format!("\"{}\"", q(n)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.restrict.filter = Some(format!(
                        "evt.is_io=true and fd.type in (ipv4, ipv6) and fd.name in ({names})"
                    ));
                    self.following = Some(Follow::Conn(tuple));
                } else {
                    let (pid, fd) = (self.derived.pid?, self.derived.fd?);
                    self.restrict.filter = Some(format!("proc.pid={pid} and fd.num={fd}"));
                    self.following = Some(Follow::Fd(pid, fd));
                }
                return self.rescan();
            }
            Action::Subtree => {
                let pid = match (self.focus, self.side) {
                    (Focus::Side, Side::Procs) => {
                        self.derived.procs.get(self.proc_sel).map(|p| p.pid)
                    }
                    _ => self.derived.pid,
                }?;
                self.restrict.subtree = Some(pid);
                return self.rescan();
            }
        }
        None
    }

    fn activate(&mut self) -> Option<Command> {
        match (self.focus, self.side) {
            (Focus::Side, Side::Alerts) => {
                let i = *self.visible_alerts().get(self.alert_sel)?;
                let n = self.alerts.get(i)?.num;
                self.focus = Focus::Events;
                if self.list.get(self.list.row_of(n)) != Some(n) {
                    // Not in the current restriction: drop it to show the alert's event.
                    self.restrict = ScanRequest {
                        generation: self.restrict.generation,
                        ..Default::default()
                    };
                    self.window.clear_brush();
                    let cmd = self.rescan();
                    self.select_event(n);
                    return cmd;
                }
                self.select_event(n);
                None
            }
            (Focus::Side, Side::Procs) => self.update(Action::Subtree),
            (Focus::Timeline, _) => Some(Command::SeekTime(self.window.cursor)),
            _ => {
                self.focus = Focus::Side;
                None
            }
        }
    }

    /// Applies a job result.
    pub fn on_event(&mut self, ev: AppEvent) {
        match ev {
            AppEvent::Indexed(ix) => {
                self.hist_exact = Some(ix.hist);
                self.execs = ix.execs;
                let mut alerts = ix.alerts;
                alerts.sort_by(|a, b| (a.rank, &a.rule, a.num).cmp(&(b.rank, &b.rule, b.num)));
                self.alerts = alerts;
                self.indexed = true;
            }
            AppEvent::Matches {
                generation,
                nums,
                scanned,
                done,
            } => {
                if generation != self.restrict.generation {
                    return;
                }
                if let ListModel::Matches(v) = &mut self.list {
                    v.extend(nums);
                }
                self.scan = (scanned, done);
            }
            AppEvent::JobError(e) => self.status = e,
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
