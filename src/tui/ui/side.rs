//! The side pane: details (fields, hex+ASCII buffers, latency), process
//! tree with exec counts and the selected process's fds, alerts grouped by
//! priority and rule, and the I/O stream of a followed fd.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Widget};

use super::{pane, View};
use crate::filter::fields::IoDir;
use crate::tui::action::{Focus, Side};

/// Hex+ASCII dump lines of `data` (16 bytes a line; non-printables as `.`).
pub fn hexdump(data: &[u8]) -> Vec<String> {
    data.chunks(16)
        .enumerate()
        .map(|(i, c)| {
            let mut s = format!("{:04x} ", i * 16);
            for j in 0..16 {
                match c.get(j) {
                    Some(b) => {
                        let _ = write!(s, "{b:02x}");
                    }
                    None => s.push_str("  "),
                }
                if j % 2 == 1 {
                    s.push(' ');
                }
            }
            s.extend(c.iter().map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            }));
            s
        })
        .collect()
}

fn lines_of(v: &View<'_>) -> (String, Vec<Line<'static>>, usize) {
    let app = v.app;
    let d = &app.derived;
    let bold = Style::default().add_modifier(Modifier::BOLD);
    let mut out: Vec<Line<'static>> = Vec::new();
    let mut sel_line = 0;
    let title;
    match app.side {
        Side::Details => {
            title = " 1 Details ".to_string();
            match &d.details {
                None => out.push(Line::from("(no event selected)")),
                Some(det) => {
                    if let Some(note) = app.notes.get(det.num) {
                        let mut s = String::from("note: ");
                        crate::event::display::escape_bytes(note.as_bytes(), &mut s);
                        out.push(Line::styled(s, bold));
                    }
                    if let Some(l) = det.latency_ns {
                        out.push(Line::from(format!("latency: {:.3} µs", l as f64 / 1e3)));
                    }
                    for f in &det.fields {
                        out.push(Line::from(format!("{:<18} {}", f.name, f.value)));
                    }
                    for (label, data) in &det.buffers {
                        out.push(Line::styled(
                            format!("{label} ({} bytes)", data.len()),
                            bold,
                        ));
                        out.extend(hexdump(data).into_iter().map(Line::from));
                    }
                }
            }
        }
        Side::Procs => {
            title = format!(" 2 Processes at #{} ", d.num.map_or(0, |n| n + 1));
            for (i, p) in d.procs.iter().enumerate() {
                let mark = if p.selected { "●" } else { " " };
                let execs = if p.execs > 0 {
                    format!(" [{} exec]", p.execs)
                } else {
                    String::new()
                };
                let text = format!(
                    "{mark}{}{} {}{execs}",
                    "  ".repeat(p.depth.min(20)),
                    p.pid,
                    p.cmd
                );
                let st = if i == app.proc_sel && app.focus == Focus::Side {
                    v.theme.sel()
                } else {
                    Style::default()
                };
                out.push(Line::styled(text, st));
            }
            sel_line = app.proc_sel;
            if !d.fds.is_empty() {
                out.push(Line::styled(
                    format!("fds of {} (lsof at this time):", d.pid.unwrap_or(0)),
                    bold,
                ));
                out.extend(d.fds.iter().map(|s| Line::from(s.clone())));
            }
        }
        Side::Alerts => {
            title = format!(" 3 Alerts ({}) ", app.alerts.len());
            if !app.rules_loaded {
                out.push(Line::from("(no rules loaded: saker tui -R RULES.yaml)"));
            } else if app.alerts.is_empty() {
                out.push(Line::from("(no alerts)"));
            }
            let mut last: Option<(&str, &str)> = None;
            for (i, a) in app.alerts.iter().enumerate() {
                if last != Some((&a.priority, &a.rule)) {
                    out.push(Line::styled(format!("{} {}", a.priority, a.rule), bold));
                    last = Some((&a.priority, &a.rule));
                }
                let st = if i == app.alert_sel && app.focus == Focus::Side {
                    v.theme.sel()
                } else {
                    Style::default()
                };
                if i == app.alert_sel {
                    sel_line = out.len();
                }
                out.push(Line::styled(format!("  #{} {}", a.num + 1, a.output), st));
            }
        }
        Side::Io => {
            title = format!(
                " 4 I/O pid {} fd {} ",
                d.pid.unwrap_or(0),
                d.fd.map_or("-".into(), |f| f.to_string())
            );
            if app
                .restrict
                .filter
                .as_deref()
                .is_none_or(|f| !f.contains("fd.num="))
            {
                out.push(Line::from("(press f on an event to follow its fd)"));
            }
            for c in &d.io {
                let arrow = match c.dir {
                    IoDir::Read => "<",
                    IoDir::Write => ">",
                    _ => "?",
                };
                out.push(Line::from(format!("{arrow} #{} {}", c.num + 1, c.text)));
            }
        }
    }
    (title, out, sel_line)
}

/// Draws the side pane.
pub(super) fn render(v: &View<'_>, area: Rect, buf: &mut Buffer) {
    let (title, lines, sel) = lines_of(v);
    let block = pane(&title, v.app.focus == Focus::Side, v.theme);
    let h = block.inner(area).height as usize;
    let scroll = sel.saturating_sub(h.saturating_sub(1)) as u16;
    Paragraph::new(lines)
        .block(block)
        .scroll((scroll, 0))
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    #[test]
    fn hexdump_hides_controls() {
        let l = super::hexdump(b"ab\x1b[2J\n");
        assert_eq!(
            l,
            vec!["0000 6162 1b5b 324a 0a                       ab.[2J.".to_string()]
        );
    }
}
