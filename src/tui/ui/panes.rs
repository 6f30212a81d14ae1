//! The timeline (stacked event rate, drop gaps, alert markers, cursor and
//! brush) and the event list (virtualised: only the rows on screen are
//! looked up in the block cache).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::Widget;

use super::{pane, View};
use crate::tui::action::Focus;
use crate::tui::timeline::Category;

const GLYPH: [char; 4] = ['█', '▓', '▒', '░'];
const COLOR: [Color; 4] = [Color::Blue, Color::Green, Color::Magenta, Color::DarkGray];

fn fmt_secs(ns: u64) -> String {
    let s = ns as f64 / 1e9;
    if s >= 1.0 {
        format!("{s:.3}s")
    } else if s >= 1e-3 {
        format!("{:.3}ms", s * 1e3)
    } else {
        format!("{:.1}µs", s * 1e6)
    }
}

fn put(buf: &mut Buffer, x: u16, y: u16, s: &str, st: Style, max_x: u16) {
    for (x, c) in (x..max_x).zip(s.chars()) {
        buf[(x, y)].set_char(c).set_style(st);
    }
}

/// Draws the timeline.
pub(super) fn timeline(v: &View<'_>, area: Rect, buf: &mut Buffer) {
    let app = v.app;
    let t = v.theme;
    let w = &app.window;
    let h = app.histogram();
    let title = format!(
        " Timeline {}–{} of {}{} ",
        fmt_secs(w.t0 - w.full.0),
        fmt_secs(w.t1 - w.full.0),
        fmt_secs(w.full.1 - w.full.0),
        if h.exact {
            ""
        } else {
            " (estimated from index)"
        }
    );
    let block = pane(&title, app.focus == Focus::Timeline, t);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height < 2 || inner.width < 4 {
        return;
    }
    let bars = Rect {
        height: inner.height - 1,
        ..inner
    };
    let cols = h.resample(w.t0, w.t1 + 1, bars.width as usize);
    let max = cols
        .iter()
        .map(|c| c.iter().sum::<f64>())
        .fold(0.0, f64::max);
    if max > 0.0 {
        for (x, c) in cols.iter().enumerate() {
            let total: f64 = c.iter().sum();
            let cells = ((total / max) * f64::from(bars.height)).ceil() as u16;
            let mut acc = 0.0;
            for k in 0..cells {
                let y = bars.y + bars.height - 1 - k;
                // Category covering the middle of this cell.
                let mid = (f64::from(k) + 0.5) / f64::from(bars.height) * max;
                let mut cat = Category::Other;
                acc = 0.0;
                for cc in Category::ALL {
                    acc += c[cc as usize];
                    if mid <= acc {
                        cat = cc;
                        break;
                    }
                }
                let st = t.fg(COLOR[cat as usize]);
                buf[(bars.x + x as u16, y)]
                    .set_char(GLYPH[cat as usize])
                    .set_style(st);
            }
            let _ = acc;
        }
    }
    // Legend (top right).
    let legend: String = Category::ALL
        .iter()
        .map(|c| format!("{}{} ", GLYPH[*c as usize], c.label()))
        .collect();
    let lx = (bars.x + bars.width).saturating_sub(legend.chars().count() as u16);
    put(
        buf,
        lx,
        bars.y,
        &legend,
        Style::default(),
        bars.x + bars.width,
    );
    // Alert markers (top row) by priority rank.
    for a in &app.alerts {
        if let Some(x) = w.col_of(a.ts, bars.width) {
            let ch = char::from_digit(u32::from(a.rank.min(9)), 10).unwrap_or('!');
            let st = if t.color {
                Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
            } else {
                Style::default().add_modifier(Modifier::BOLD)
            };
            buf[(bars.x + x, bars.y)].set_char(ch).set_style(st);
        }
    }
    // Axis: brush, drops, cursor.
    let ay = inner.y + inner.height - 1;
    for x in 0..inner.width {
        buf[(inner.x + x, ay)].set_char('─');
    }
    if let Some((a, b)) = w.brush {
        let ca = w.col_of(a.max(w.t0), bars.width).unwrap_or(0);
        let cb = w.col_of(b.min(w.t1), bars.width).unwrap_or(bars.width - 1);
        for x in ca..=cb.min(bars.width - 1) {
            buf[(inner.x + x, ay)].set_char('═').set_style(t.sel());
        }
    }
    if let Some(a) = w.anchor {
        if let Some(x) = w.col_of(a, bars.width) {
            buf[(inner.x + x, ay)].set_char('[');
        }
    }
    for &(g0, g1, _) in &app.gaps {
        let a = w.col_of(g0.max(w.t0), bars.width);
        let b = w.col_of(g1.min(w.t1), bars.width);
        if let (Some(a), Some(b)) = (a, b) {
            for x in a..=b {
                let st = if t.color {
                    Style::default().fg(Color::Red)
                } else {
                    Style::default().add_modifier(Modifier::BOLD)
                };
                buf[(inner.x + x, ay)].set_char('!').set_style(st);
            }
        }
    }
    if let Some(x) = w.col_of(w.cursor, bars.width) {
        buf[(inner.x + x, ay)]
            .set_char('▲')
            .set_style(t.fg(Color::Yellow));
    }
}

/// Draws the event list.
pub(super) fn events(v: &View<'_>, area: Rect, buf: &mut Buffer) {
    let app = v.app;
    let t = v.theme;
    let title = format!(
        " Events{}{}{} ",
        if app.restrict.filter.is_some() {
            " [filter]"
        } else {
            ""
        },
        if app.restrict.range.is_some() {
            " [time range]"
        } else {
            ""
        },
        app.restrict
            .subtree
            .map(|p| format!(" [subtree {p}]"))
            .unwrap_or_default()
    );
    let block = pane(&title, app.focus == Focus::Events, t);
    let inner = block.inner(area);
    block.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let end = inner.x + inner.width;
    let mut x = inner.x + 1;
    let columns = v.src.columns();
    for c in columns {
        let w = c.width.unwrap_or(u16::MAX);
        put(
            buf,
            x,
            inner.y,
            &c.header,
            Style::default().add_modifier(Modifier::BOLD),
            end.min(x.saturating_add(w)),
        );
        x = x.saturating_add(w).saturating_add(1);
        if x >= end {
            break;
        }
    }
    for r in 0..inner.height.saturating_sub(1) {
        let row = app.top + u64::from(r);
        let y = inner.y + 1 + r;
        let Some(n) = app.list.get(row) else {
            if r == 0 {
                let msg = if app.scan.1 {
                    "(no events match)"
                } else {
                    "(scanning…)"
                };
                put(buf, inner.x + 1, y, msg, Style::default(), end);
            }
            break;
        };
        let st = if row == app.sel {
            t.sel()
        } else {
            Style::default()
        };
        for xx in inner.x..end {
            buf[(xx, y)].set_style(st);
        }
        if app.notes.is_marked(n) {
            put(buf, inner.x, y, "*", st.add_modifier(Modifier::BOLD), end);
        }
        let Some(rowdata) = v.src.row(n) else {
            put(
                buf,
                inner.x + 1,
                y,
                &format!("{} (loading…)", n + 1),
                st,
                end,
            );
            continue;
        };
        let mut x = inner.x + 1;
        for (col, c) in rowdata.cols.iter().zip(columns) {
            let w = c.width.unwrap_or(u16::MAX);
            let text: &str = if c.header == "time" && c.width.is_some() {
                // Time: keep the time of day (the date is in the timeline).
                let n = col.chars().count();
                let skip = n.saturating_sub(usize::from(w));
                col.char_indices().nth(skip).map_or(col, |(b, _)| &col[b..])
            } else {
                col
            };
            put(buf, x, y, text, st, end.min(x.saturating_add(w)));
            x = x.saturating_add(w).saturating_add(1);
            if x >= end {
                break;
            }
        }
    }
}
