//! Bookmarks and notes, kept in a JSON sidecar next to the capture
//! (`FILE.saker-notes.json`), and the markdown incident timeline made from
//! them ([`export_markdown`]). Parsing and formatting are pure; the two file
//! functions are the only I/O.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::jobs::{AlertRow, ExecRecord};
use super::TuiError;
use crate::event::display::escape_bytes;

/// Largest sidecar read (guards against a hostile file).
pub const MAX_NOTES_LEN: u64 = 16 << 20;

/// Bookmarked events (0-based event numbers) and their notes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notes {
    /// Event number → note (empty: bookmark without note).
    pub bookmarks: BTreeMap<u64, String>,
}

impl Notes {
    /// Toggles a bookmark.
    pub fn toggle(&mut self, n: u64) {
        if self.bookmarks.remove(&n).is_none() {
            self.bookmarks.insert(n, String::new());
        }
    }
    /// Sets the note of event `n` (bookmarking it).
    pub fn set(&mut self, n: u64, note: &str) {
        self.bookmarks.insert(n, note.to_string());
    }
    /// The note of event `n`, if bookmarked.
    pub fn get(&self, n: u64) -> Option<&str> {
        self.bookmarks.get(&n).map(String::as_str)
    }
    /// Whether `n` is bookmarked.
    pub fn is_marked(&self, n: u64) -> bool {
        self.bookmarks.contains_key(&n)
    }
    /// The first bookmark after `n` (wrapping to the first one).
    pub fn next_after(&self, n: u64) -> Option<u64> {
        self.bookmarks
            .range(n + 1..)
            .next()
            .or_else(|| self.bookmarks.iter().next())
            .map(|(k, _)| *k)
    }
    /// Parses a sidecar.
    pub fn parse(text: &str) -> Result<Notes, TuiError> {
        serde_json::from_str(text).map_err(|e| TuiError::Notes {
            what: format!("line {} column {}", e.line(), e.column()),
            message: e.to_string(),
        })
    }
}

/// The sidecar path of a capture.
pub fn sidecar(capture: &Path) -> PathBuf {
    let mut s = capture.as_os_str().to_owned();
    s.push(".saker-notes.json");
    PathBuf::from(s)
}

/// Reads the sidecar of `capture` (empty notes when there is none).
pub fn load(capture: &Path) -> Result<Notes, TuiError> {
    let p = sidecar(capture);
    let io = |e| TuiError::Io {
        what: format!("reading {}", p.display()),
        source: e,
    };
    match std::fs::metadata(&p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Notes::default()),
        Err(e) => return Err(io(e)),
        Ok(m) if m.len() > MAX_NOTES_LEN => {
            return Err(TuiError::Notes {
                what: p.display().to_string(),
                message: format!("{} bytes, more than the {MAX_NOTES_LEN} allowed", m.len()),
            })
        }
        Ok(_) => {}
    }
    let text = std::fs::read_to_string(&p).map_err(io)?;
    Notes::parse(&text)
}

/// Writes the sidecar of `capture` (via a temp file and rename).
pub fn save(capture: &Path, notes: &Notes) -> Result<(), TuiError> {
    let p = sidecar(capture);
    let tmp = p.with_extension("json.tmp");
    let io = |e| TuiError::Io {
        what: format!("writing {}", p.display()),
        source: e,
    };
    let text = serde_json::to_string_pretty(notes).unwrap_or_default();
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::rename(&tmp, &p).map_err(io)
}

/// One bookmarked event, as the export shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkedEvent {
    /// Event number (0-based).
    pub num: u64,
    /// Time, formatted.
    pub time: String,
    /// Process id.
    pub pid: u32,
    /// The event's line (escaped).
    pub line: String,
    /// The note.
    pub note: String,
}

/// A process of the export's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeProc {
    /// Depth in the tree.
    pub depth: usize,
    /// Process id.
    pub pid: u32,
    /// Command (escaped).
    pub cmd: String,
}

fn md_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        if matches!(c, '|' | '`' | '*' | '_' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The markdown incident timeline: bookmarked events with their notes,
/// alerts, the processes involved (tree) and their execs.
pub fn export_markdown(
    title: &str,
    events: &[MarkedEvent],
    alerts: &[AlertRow],
    tree: &[TreeProc],
    execs: &[ExecRecord],
) -> String {
    let mut o = String::new();
    let mut t = String::new();
    escape_bytes(title.as_bytes(), &mut t);
    let _ = writeln!(o, "# Incident timeline: {t}\n");
    let _ = writeln!(o, "## Bookmarked events\n");
    if events.is_empty() {
        o.push_str("(none)\n");
    }
    for e in events {
        let _ = write!(o, "- **#{}** {} pid {}: `", e.num + 1, e.time, e.pid);
        o.push_str(&e.line.replace('`', "'"));
        o.push_str("`\n");
        if !e.note.is_empty() {
            o.push_str("  - note: ");
            let mut n = String::new();
            escape_bytes(e.note.as_bytes(), &mut n);
            md_escape(&n, &mut o);
            o.push('\n');
        }
    }
    let _ = writeln!(o, "\n## Alerts\n");
    if alerts.is_empty() {
        o.push_str("(none)\n");
    }
    for a in alerts {
        let _ = write!(o, "- {} **", a.priority);
        md_escape(&a.rule, &mut o);
        let _ = write!(o, "** (event #{}): ", a.num + 1);
        md_escape(&a.output, &mut o);
        o.push('\n');
    }
    let _ = writeln!(o, "\n## Processes involved\n");
    if tree.is_empty() {
        o.push_str("(none)\n");
    }
    for p in tree {
        let _ = write!(o, "{}- {} ", "  ".repeat(p.depth), p.pid);
        md_escape(&p.cmd, &mut o);
        o.push('\n');
        for e in execs.iter().filter(|e| e.pid == p.pid) {
            let _ = write!(o, "{}  - exec at #{}: ", "  ".repeat(p.depth), e.num + 1);
            md_escape(&e.cmdline, &mut o);
            o.push('\n');
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggle_next_and_roundtrip() {
        let mut n = Notes::default();
        n.toggle(5);
        n.set(9, "attacker shell");
        assert_eq!(n.next_after(5), Some(9));
        assert_eq!(n.next_after(9), Some(5));
        n.toggle(5);
        assert!(!n.is_marked(5));
        let text = serde_json::to_string(&n).unwrap();
        assert_eq!(Notes::parse(&text).unwrap(), n);
        assert!(Notes::parse("{\"bookmarks\": [").is_err());
    }

    #[test]
    fn export_escapes_hostile_text() {
        let ev = MarkedEvent {
            num: 0,
            time: "t".into(),
            pid: 1,
            line: "a`b".into(),
            note: "x\x1b[31m|".into(),
        };
        let md = export_markdown(
            "cap",
            &[ev],
            &[],
            &[TreeProc {
                depth: 0,
                pid: 1,
                cmd: "sh".into(),
            }],
            &[],
        );
        assert!(!md.contains('\x1b'), "{md}");
        assert!(md.contains(r"note: x\x1b\[31m\|"), "{md}");
        assert!(md.contains("- 1 sh"), "{md}");
    }
}
