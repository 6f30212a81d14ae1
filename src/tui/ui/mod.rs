//! Rendering: [`View`] borrows the app state and the capture source and
//! draws one frame (`impl Widget for &View`). It reads and never changes
//! state; [`layout`] is shared with the runner so mouse hit-testing and page
//! sizes agree with what is drawn. `NO_COLOR`/monochrome draw with glyphs
//! and modifiers only.

mod panes;
mod side;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget, Wrap};

use super::action::{Focus, Prompt};
use super::app::App;
use super::source::Source;

/// Colours, or none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    /// Use colours (false: `NO_COLOR` or a monochrome terminal).
    pub color: bool,
}

impl Theme {
    /// From the environment: no colour when `NO_COLOR` is set (non-empty)
    /// or `TERM` is `dumb`.
    pub fn from_env() -> Theme {
        Theme::from_vars(
            std::env::var_os("NO_COLOR").as_deref(),
            std::env::var_os("TERM").as_deref(),
        )
    }
    /// From the values of `NO_COLOR` and `TERM` (unset: `None`).
    pub fn from_vars(no_color: Option<&std::ffi::OsStr>, term: Option<&std::ffi::OsStr>) -> Theme {
        let no = no_color.is_some_and(|v| !v.is_empty()) || term.is_some_and(|t| t == "dumb");
        Theme { color: !no }
    }
    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }
    fn sel(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    fn err(self) -> Style {
        if self.color {
            Style::default().fg(Color::White).bg(Color::Red)
        } else {
            Style::default().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        }
    }
    fn border(self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::default().fg(Color::Cyan),
            (true, false) => Style::default().add_modifier(Modifier::BOLD),
            _ => Style::default(),
        }
    }
}

/// Screen areas of one frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Areas {
    /// Timeline block (with border).
    pub timeline: Rect,
    /// Filter bar.
    pub filter: Rect,
    /// Event list block.
    pub events: Rect,
    /// Side pane block.
    pub side: Rect,
    /// Status line.
    pub status: Rect,
}

impl Areas {
    /// Inner area of the timeline bars (inside the border, above the axis).
    pub fn timeline_bars(&self) -> Rect {
        let i = Block::default().borders(Borders::ALL).inner(self.timeline);
        Rect {
            height: i.height.saturating_sub(1),
            ..i
        }
    }
    /// Inner rows of the event list (inside the border, below the header).
    pub fn event_rows(&self) -> Rect {
        let i = Block::default().borders(Borders::ALL).inner(self.events);
        Rect {
            y: i.y + 1,
            height: i.height.saturating_sub(1),
            ..i
        }
    }
}

/// Splits the screen.
pub fn layout(area: Rect) -> Areas {
    let tl_h = if area.height >= 30 { 10 } else { 7 };
    let [timeline, filter, main, status] = Layout::vertical([
        Constraint::Length(tl_h),
        Constraint::Length(3),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let [events, side] =
        Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(main);
    Areas {
        timeline,
        filter,
        events,
        side,
        status,
    }
}

/// One frame's view of the app.
pub struct View<'a> {
    /// The state.
    pub app: &'a App,
    /// The capture (read-only: cached rows).
    pub src: &'a Source,
    /// Colours.
    pub theme: Theme,
}

fn pane<'b>(title: &'b str, focused: bool, t: Theme) -> Block<'b> {
    Block::default()
        .borders(Borders::ALL)
        .title(title)
        .border_style(t.border(focused))
}

impl Widget for &View<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let a = layout(area);
        let app = self.app;
        panes::timeline(self, a.timeline, buf);
        self.filter_bar(a.filter, buf);
        panes::events(self, a.events, buf);
        side::render(self, a.side, buf);
        self.status(a.status, buf);
        if app.help {
            help(area, buf);
        }
        if let Some(p @ (Prompt::Jump | Prompt::Note)) = app.prompt {
            self.prompt_box(p, area, buf);
        }
    }
}

impl View<'_> {
    fn filter_bar(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let t = self.theme;
        let editing = app.prompt == Some(Prompt::Filter);
        let title = match (editing, &app.restrict.filter) {
            (true, _) => " Filter (Enter apply, Esc cancel, Tab complete) ".to_string(),
            (false, Some(_)) => " Filter (applied; / to edit) ".to_string(),
            (false, None) => " Filter (/ to edit) ".to_string(),
        };
        let block = pane(&title, editing, t);
        let inner = block.inner(area);
        block.render(area, buf);
        let text = if editing {
            app.input.clone()
        } else {
            app.restrict.filter.clone().unwrap_or_default()
        };
        let mut spans = Vec::new();
        let bad = |i: usize| {
            editing
                && app
                    .input_errors
                    .iter()
                    .any(|e| i >= e.pos && (i < e.end || i == e.pos))
        };
        for (i, c) in text.char_indices() {
            let mut s = String::new();
            crate::event::display::escape_bytes(c.to_string().as_bytes(), &mut s);
            let mut st = if bad(i) { t.err() } else { Style::default() };
            if editing && i == app.input_cursor {
                st = st.add_modifier(Modifier::REVERSED);
            }
            spans.push(Span::styled(s, st));
        }
        if editing && app.input_cursor >= text.len() {
            let at_end_err = app.input_errors.iter().any(|e| e.pos >= text.len());
            spans.push(Span::styled(
                " ",
                if at_end_err { t.err() } else { t.sel() },
            ));
        }
        let mut msg = String::new();
        if editing {
            if let Some(e) = app.input_errors.first() {
                msg = format!("  ✗ col {}: {}", e.pos + 1, e.message);
            } else if !app.input.trim().is_empty() {
                msg = "  ✓".into();
            }
            if !app.completions.is_empty() {
                msg.push_str("  [");
                msg.push_str(
                    &app.completions
                        .iter()
                        .take(4)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" "),
                );
                msg.push(']');
            }
        }
        let mut s2 = String::new();
        crate::event::display::escape_bytes(msg.as_bytes(), &mut s2);
        spans.push(Span::styled(s2, t.fg(Color::Yellow)));
        Paragraph::new(Line::from(spans)).render(inner, buf);
    }

    fn status(&self, area: Rect, buf: &mut Buffer) {
        let app = self.app;
        let c = self.src.cache();
        let mut s = String::new();
        if !app.status.is_empty() {
            crate::event::display::escape_bytes(app.status.as_bytes(), &mut s);
            s.push_str(" | ");
        }
        if app.live {
            s.push_str("● recording | ");
        }
        let (scanned, done) = app.scan;
        let shown = app.list.len();
        s.push_str(&format!("{}/{} events", shown, app.total));
        if !done {
            s.push_str(&format!(
                " (scanning {}%)",
                scanned * 100 / app.total.max(1)
            ));
        }
        if !app.indexed {
            s.push_str(" | indexing…");
        }
        s.push_str(&format!(
            " | cache {} blocks, hit {} miss {}",
            c.len(),
            c.hits(),
            c.misses()
        ));
        let hints = match (app.prompt, app.focus) {
            (Some(_), _) => " | Enter ok  Esc cancel",
            (None, Focus::Timeline) => {
                " | ←→ cursor +/- zoom H/L pan [ ] brush x clear Tab pane ? help q quit"
            }
            (None, Focus::Events) => {
                " | ↑↓ PgUp/Dn g/G : jump / filter b mark n note f follow s subtree ? help q quit"
            }
            (None, Focus::Side) => " | 1-4 pane ↑↓ Enter select s subtree Tab pane ? help q quit",
        };
        s.push_str(hints);
        Paragraph::new(s).style(self.theme.sel()).render(area, buf);
    }

    fn prompt_box(&self, p: Prompt, area: Rect, buf: &mut Buffer) {
        let w = area.width.min(60);
        let r = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + area.height / 3,
            width: w,
            height: 3,
        };
        Clear.render(r, buf);
        let title = match p {
            Prompt::Jump => " Jump: evt.num, +SECS, HH:MM:SS[.f] (UTC), @EPOCH ",
            Prompt::Note => " Note for this event ",
            Prompt::Filter => " Filter ",
        };
        let b = pane(title, true, self.theme);
        let inner = b.inner(r);
        b.render(r, buf);
        let mut s = String::new();
        crate::event::display::escape_bytes(self.app.input.as_bytes(), &mut s);
        s.push('▏');
        Paragraph::new(s).render(inner, buf);
    }
}

const HELP: &str = "\
saker tui — keys

Global    q quit · ? help · Tab/Shift-Tab focus · / filter
          : jump to evt.num, +SECS, HH:MM:SS[.f] UTC, date time, @EPOCH
          1 details · 2 processes · 3 alerts · 4 I/O stream
          b bookmark · B next bookmark · n note · x/Esc clear brush+subtree
Timeline  ←/→ cursor · H/L pan · +/- zoom · 0 whole capture
          [ then ] brush a range · Enter jump to cursor
          mouse: wheel zoom · Shift+wheel/right drag pan · drag brush
          · click jump
Events    ↑/↓ j/k · PgUp/PgDn · g/G start/end · Enter details
          f follow the event's fd, or its connection both ways (I/O)
          s restrict to its subtree
Filter    sysdig/Falco syntax, checked as you type; Tab completes fields
Processes ↑/↓ select · Enter/s restrict to subtree
Alerts    ↑/↓ select · Enter jump to the alert's event (the brush,
          subtree and filter restrict the list)

saker tui --export-notes FILE writes the markdown incident timeline.";

fn help(area: Rect, buf: &mut Buffer) {
    let w = area.width.min(74);
    let h = area.height.min(24);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    Clear.render(r, buf);
    Paragraph::new(HELP)
        .wrap(Wrap { trim: false })
        .block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Help (? to close) "),
        )
        .render(r, buf);
}
