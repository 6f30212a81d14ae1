//! The side pane: details (fields, hex+ASCII buffers, latency), process
//! tree with exec counts, the selected process's exec history and fds, alerts grouped by
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
use crate::tui::app::Follow;

/// The mark of the `k`th end of a connection: A, B, then C...
fn end_mark(k: usize) -> char {
    char::from(b'A' + (k.min(25) as u8))
}

fn fmt_rel(ns: u64) -> String {
    format!("{:.6}s", ns as f64 / 1e9)
}

/// Bytes a hex dump line holds in `width` columns: 16, 8 or 4.
pub fn hex_per_line(width: u16) -> usize {
    // "oooo " + 5 columns per 2 bytes + one per byte of ASCII.
    [16usize, 8, 4]
        .into_iter()
        .find(|n| 5 + n / 2 * 5 + n <= usize::from(width))
        .unwrap_or(4)
}

/// Hex+ASCII dump lines of `data`, `per_line` bytes a line (even);
/// non-printables as `.`.
pub fn hexdump(data: &[u8], per_line: usize) -> Vec<String> {
    let per_line = per_line.max(2);
    data.chunks(per_line)
        .enumerate()
        .map(|(i, c)| {
            let mut s = format!("{:04x} ", i * per_line);
            for j in 0..per_line {
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

fn lines_of(v: &View<'_>, width: u16) -> (String, Vec<Line<'static>>, usize) {
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
                        out.extend(
                            hexdump(data, hex_per_line(width))
                                .into_iter()
                                .map(Line::from),
                        );
                    }
                }
            }
        }
        Side::Procs => {
            title = format!(" 2 Processes at #{} ", d.num.map_or(0, |n| n + 1));
            let mut tree_at = 0;
            // Exec history of the selected process (the highlighted row when
            // the pane has focus, else the selected event's process).
            let pid = if app.focus == Focus::Side {
                d.procs.get(app.proc_sel).map(|p| p.pid)
            } else {
                d.pid
            };
            if let Some(pid) = pid {
                let upto = d.num.map_or(0, |n| n + 1);
                let execs: Vec<_> = app
                    .execs
                    .iter()
                    .filter(|e| e.pid == pid && e.num < upto)
                    .collect();
                if !execs.is_empty() {
                    tree_at = execs.len() + 1;
                    out.push(Line::styled(format!("execs of {pid}:"), bold));
                    for e in execs {
                        out.push(Line::from(format!(
                            "  #{} +{} {}",
                            e.num + 1,
                            fmt_rel(e.ts.saturating_sub(app.window.full.0)),
                            e.cmdline
                        )));
                    }
                }
            }
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
            sel_line = app.proc_sel + tree_at;
            if !d.fds.is_empty() {
                out.push(Line::styled(
                    format!("fds of {} (lsof at this time):", d.pid.unwrap_or(0)),
                    bold,
                ));
                out.extend(d.fds.iter().map(|s| Line::from(s.clone())));
            }
        }
        Side::Alerts => {
            let shown = app.visible_alerts();
            title = if shown.len() == app.alerts.len() {
                format!(" 3 Alerts ({}) ", app.alerts.len())
            } else {
                format!(
                    " 3 Alerts ({} of {} in range) ",
                    shown.len(),
                    app.alerts.len()
                )
            };
            if !app.rules_loaded {
                out.push(Line::from("(no rules loaded)"));
            } else if app.alerts.is_empty() {
                out.push(Line::from("(no alerts)"));
            } else if shown.is_empty() {
                out.push(Line::from("(no alerts in the restriction; x clears it)"));
            }
            let mut last: Option<(&str, &str)> = None;
            for (i, a) in shown.iter().filter_map(|&k| app.alerts.get(k)).enumerate() {
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
            // For a connection: which end (process) each chunk is from.
            let mut ends: Vec<u32> = Vec::new();
            match &app.following {
                None => out.push(Line::from(
                    "(press f on an event to follow its fd or connection)",
                )),
                Some(Follow::Fd(pid, fd)) => {
                    out.push(Line::styled(format!("fd {fd} of pid {pid}"), bold));
                }
                Some(Follow::Conn(t)) => {
                    let mut s = String::from("both ways: ");
                    crate::event::display::escape_bytes(t.as_bytes(), &mut s);
                    out.push(Line::styled(s, bold));
                    for c in &d.io {
                        if !ends.contains(&c.pid) {
                            ends.push(c.pid);
                        }
                    }
                    let names: Vec<String> = ends
                        .iter()
                        .enumerate()
                        .map(|(k, pid)| format!("{} = pid {pid}", end_mark(k)))
                        .collect();
                    out.push(Line::from(names.join("  ")));
                }
            }
            for c in &d.io {
                let arrow = match c.dir {
                    IoDir::Read => "<",
                    IoDir::Write => ">",
                    _ => "?",
                };
                let end = ends.iter().position(|&p| p == c.pid).map_or(' ', end_mark);
                let end = if ends.is_empty() {
                    String::new()
                } else {
                    end.to_string()
                };
                out.push(Line::from(format!(
                    "{end}{arrow} #{} {}",
                    c.num + 1,
                    c.text
                )));
            }
        }
    }
    (title, out, sel_line)
}

/// Draws the side pane.
pub(super) fn render(v: &View<'_>, area: Rect, buf: &mut Buffer) {
    let inner_w = area.width.saturating_sub(2);
    let (title, lines, sel) = lines_of(v, inner_w);
    let block = pane(&title, v.app.focus == Focus::Side, v.theme);
    let h = block.inner(area).height as usize;
    let scroll = match v.app.side {
        Side::Details | Side::Io => v.app.side_scroll.min(lines.len().saturating_sub(1) as u16),
        _ => sel.saturating_sub(h.saturating_sub(1)) as u16,
    };
    Paragraph::new(lines)
        .block(block)
        .scroll((scroll, 0))
        .render(area, buf);
}

#[cfg(test)]
mod tests {
    #[test]
    fn hexdump_hides_controls() {
        let l = super::hexdump(b"ab\x1b[2J\n", 16);
        assert_eq!(
            l,
            vec!["0000 6162 1b5b 324a 0a                       ab.[2J.".to_string()]
        );
        let l = super::hexdump(b"ab\x1b[2J\n", 4);
        assert_eq!(l, ["0000 6162 1b5b ab.[", "0004 324a 0a   2J."]);
    }

    #[test]
    fn hex_lines_fit_the_pane() {
        assert_eq!(super::hex_per_line(120), 16);
        assert_eq!(super::hex_per_line(61), 16);
        assert_eq!(super::hex_per_line(60), 8);
        assert_eq!(super::hex_per_line(44), 8);
        assert_eq!(super::hex_per_line(10), 4);
        for w in [20u16, 33, 44, 61, 100] {
            let n = super::hex_per_line(w);
            let l = super::hexdump(&[0x41; 64], n);
            assert!(
                n == 4 || l[0].chars().count() <= usize::from(w),
                "{w}: {l:?}"
            );
        }
    }
}
