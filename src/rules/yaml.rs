//! A small positioned YAML tree built from `libyaml-safer` events (a safe port of libyaml,
//! so rules files parse exactly where yaml-cpp and PyYAML do).
//!
//! Owns tree building only: scalars keep their original text and whether they were plain;
//! anchors are resolved by copying under a node budget (no alias bombs); nesting deeper
//! than [`MAX_DEPTH`] is rejected before it is built.

use libyaml_safer::{EventData, Mark, Parser, ScalarStyle};
use std::collections::HashMap;

/// Deepest nesting accepted (rules files need 5).
pub const MAX_DEPTH: usize = 64;
/// Most nodes a file may produce, aliases included.
pub const MAX_NODES: usize = 4_000_000;

/// A YAML node with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The content.
    pub kind: Kind,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

/// Node content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A scalar's text; `plain` when written without quotes or block style.
    Scalar {
        /// The text.
        value: String,
        /// Written plain.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Node, Node)>),
}

/// A YAML error with its 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

fn pos(m: Mark) -> (u32, u32) {
    (
        u32::try_from(m.line + 1).unwrap_or(u32::MAX),
        u32::try_from(m.column + 1).unwrap_or(u32::MAX),
    )
}

fn count(n: &Node) -> usize {
    match &n.kind {
        Kind::Scalar { .. } => 1,
        Kind::Seq(v) => 1 + v.iter().map(count).sum::<usize>(),
        Kind::Map(v) => 1 + v.iter().map(|(k, x)| count(k) + count(x)).sum::<usize>(),
    }
}

thread_local! {
    /// Whether this thread is inside [`guarded`] (its panics are not printed).
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(its message)`. libyaml-safer 0.3 panics on some
/// malformed input (a tag it cannot scan, the end of input inside a block scalar:
/// upstream issues #6 and #7) and hostile rules files must not crash us; such a panic
/// is not printed either (the caller reports it as a YAML error).
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    GUARDED.with(|g| g.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(false));
    r.map_err(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned());
        let mut out = String::new();
        crate::event::text::escape_bytes(text.as_deref().unwrap_or("").as_bytes(), &mut out);
        out
    })
}

/// Where libyaml's reader stops (it reports no mark): the first character YAML does not
/// allow (a control character other than tab, CR, LF), else the start.
fn reader_pos(text: &str) -> (u32, u32) {
    let bad = text
        .char_indices()
        .find(|&(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{85}'))
        .map_or(0, |(i, _)| i);
    let before = &text[..bad];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

type Stack = Vec<(Node, Option<String>, Option<Node>)>;

fn open(
    stack: &mut Stack,
    kind: Kind,
    anchor: Option<String>,
    line: u32,
    col: u32,
) -> Result<(), YamlError> {
    if stack.len() >= MAX_DEPTH {
        return Err(YamlError {
            line,
            col,
            message: format!("nesting deeper than {MAX_DEPTH} levels"),
        });
    }
    stack.push((Node { kind, line, col }, anchor, None));
    Ok(())
}

/// Parses every document of `text`.
pub fn load(text: &str) -> Result<Vec<Node>, YamlError> {
    // The end of input ends a last line as a line break would (YAML 1.2, 8.1.1.2);
    // libyaml-safer panics on a block scalar cut by it, so the break is added.
    let with_break;
    let text = if text.is_empty() || text.ends_with(['\n', '\r']) {
        text
    } else {
        with_break = format!("{text}\n");
        &with_break
    };
    let mut p = Parser::new();
    p.set_input(text.as_bytes());
    let mut docs = Vec::new();
    // Open collections: the node, its anchor, and a pending map key.
    let mut stack: Stack = Vec::new();
    let mut anchors: HashMap<String, Node> = HashMap::new();
    let mut nodes = 0usize;
    // Where the last event ended: where the scanner was when it gave up.
    let mut last_end = None;
    loop {
        let parsed = guarded(|| p.parse());
        let Ok(parsed) = parsed else {
            let (line, col) = last_end.map_or_else(|| reader_pos(text), pos);
            let why = parsed.err().unwrap_or_default();
            return Err(YamlError {
                line,
                col,
                message: format!("the YAML parser stopped after this point ({why})"),
            });
        };
        let ev = parsed.map_err(|e| {
            let (line, col) = e.problem_mark().map_or_else(|| reader_pos(text), pos);
            let message = match e.context() {
                Some(c) => format!("{}, {}", e.problem(), c),
                None => e.problem().to_string(),
            };
            YamlError { line, col, message }
        })?;
        last_end = Some(ev.end_mark);
        let (line, col) = pos(ev.start_mark);
        let err = |message: String| YamlError { line, col, message };
        let done = match ev.data {
            EventData::StreamEnd => break,
            EventData::StreamStart { .. }
            | EventData::DocumentStart { .. }
            | EventData::DocumentEnd { .. } => continue,
            EventData::Scalar {
                value,
                anchor,
                style,
                ..
            } => {
                let plain = style == ScalarStyle::Plain;
                Some((
                    Node {
                        kind: Kind::Scalar { value, plain },
                        line,
                        col,
                    },
                    anchor,
                ))
            }
            EventData::Alias { anchor } => {
                let n = anchors
                    .get(&anchor)
                    .cloned()
                    .ok_or_else(|| err(format!("unknown anchor '{anchor}'")))?;
                nodes += count(&n);
                Some((n, None))
            }
            EventData::SequenceStart { anchor, .. } => {
                open(&mut stack, Kind::Seq(Vec::new()), anchor, line, col)?;
                None
            }
            EventData::MappingStart { anchor, .. } => {
                open(&mut stack, Kind::Map(Vec::new()), anchor, line, col)?;
                None
            }
            EventData::SequenceEnd | EventData::MappingEnd => {
                let (n, anchor, _) = stack
                    .pop()
                    .ok_or_else(|| err("unbalanced collection end".into()))?;
                Some((n, anchor))
            }
        };
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(err(format!("more than {MAX_NODES} YAML nodes")));
        }
        let Some((node, anchor)) = done else { continue };
        if let Some(a) = anchor {
            anchors.insert(a, node.clone());
        }
        match stack.last_mut() {
            None => docs.push(node),
            Some((
                Node {
                    kind: Kind::Seq(v), ..
                },
                _,
                _,
            )) => v.push(node),
            Some((
                Node {
                    kind: Kind::Map(v), ..
                },
                _,
                key,
            )) => match key.take() {
                None => *key = Some(node),
                Some(k) => v.push((k, node)),
            },
            Some(_) => return Err(err("scalar cannot hold children".into())),
        }
    }
    Ok(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_scalar_may_end_the_file_without_a_line_break() {
        let docs = load("- macro: m\n  condition: >\n    (a and\n    b)").unwrap();
        let Kind::Seq(items) = &docs[0].kind else {
            panic!("{docs:?}")
        };
        let Kind::Map(entries) = &items[0].kind else {
            panic!("{items:?}")
        };
        let cond = &entries[1].1;
        assert_eq!(
            cond.kind,
            Kind::Scalar {
                value: "(a and b)\n".into(),
                plain: false
            }
        );
    }

    #[test]
    fn inputs_the_parser_panics_on_are_yaml_errors_at_its_last_position() {
        // libyaml-safer issue #7: a tag it cannot scan.
        let e = load("[!,").unwrap_err();
        assert!(e.message.starts_with("the YAML parser stopped"), "{e:?}");
        assert!(e.message.contains("TODO"), "{e:?}");
        // The last event, the document's start, ended at 1:1.
        assert_eq!((e.line, e.col), (1, 1));
        // Issue #6 panics on the end of input in a block scalar: with the
        // line break added it is the parser's own error.
        let e = load("a: ''|\n 0").unwrap_err();
        assert_eq!((e.line, e.col), (1, 6), "{e:?}");
        assert!(e.message.contains("expected key"), "{e:?}");
    }

    #[test]
    fn the_guard_leaves_other_panics_alone() {
        assert_eq!(guarded(|| 7), Ok(7));
        assert_eq!(
            guarded(|| -> u8 { panic!("inside") }),
            Err("inside".to_string())
        );
        // Outside the guard a panic still unwinds with its payload.
        let outside = std::panic::catch_unwind(|| panic!("outside")).unwrap_err();
        assert_eq!(outside.downcast_ref::<&str>(), Some(&"outside"));
    }
}
