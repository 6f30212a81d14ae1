//! The one error type of the filter module, with positions and a caret renderer.
//!
//! Owns error construction and presentation only. Rendering never writes raw control
//! characters: the echoed input line is escaped.

use super::ast::Span;
use std::fmt;

/// What kind of problem a [`FilterError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text does not follow the grammar.
    #[error("syntax error")]
    Syntax,
    /// A string escape is not supported.
    #[error("bad escape")]
    Escape,
    /// Nesting exceeds the depth limit.
    #[error("too deep")]
    Depth,
    /// A macro is undefined or recursive.
    #[error("macro error")]
    Macro,
    /// A list is recursive or its items do not parse.
    #[error("list error")]
    List,
    /// The field registry does not know the field or its argument.
    #[error("unknown field")]
    UnknownField,
    /// The operator or transformer does not apply to the field type.
    #[error("type error")]
    Type,
    /// A value does not parse as the field type (number, IP, bool, hex…).
    #[error("bad value")]
    Value,
    /// A regular expression does not compile.
    #[error("bad regex")]
    Regex,
    /// A resource limit was hit (expansion size).
    #[error("limit exceeded")]
    Limit,
}

/// An error with the byte position it refers to.
///
/// `line` and `col` are 1-based; they are 0 when the error was made without the source
/// text at hand (see [`FilterError::locate`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct FilterError {
    /// The category.
    pub kind: ErrorKind,
    /// Byte offset of the offending token.
    pub pos: usize,
    /// Byte offset one past the offending token (`>= pos`).
    pub end: usize,
    /// 1-based line of `pos` (0 = unknown).
    pub line: u32,
    /// 1-based column (in characters) of `pos` (0 = unknown).
    pub col: u32,
    /// What is wrong.
    pub message: String,
}

impl FilterError {
    /// An error at `span` whose line/column are not yet known.
    pub fn new(kind: ErrorKind, span: Span, message: impl Into<String>) -> Self {
        FilterError {
            kind,
            pos: span.start,
            end: span.end.max(span.start),
            line: 0,
            col: 0,
            message: message.into(),
        }
    }

    /// An error at `span` in `src`, with line and column filled in.
    pub fn at(kind: ErrorKind, src: &str, span: Span, message: impl Into<String>) -> Self {
        FilterError::new(kind, span, message).locate(src)
    }

    /// Fills `line`/`col` from the source text `pos` refers to.
    pub fn locate(mut self, src: &str) -> Self {
        let (line, col) = line_col(src, self.pos);
        self.line = line;
        self.col = col;
        self
    }

    /// The span this error points at.
    pub fn span(&self) -> Span {
        Span::new(self.pos, self.end)
    }

    /// Renders the message, the input line and a caret under the offending token:
    ///
    /// ```text
    /// error: expected a string value at 1:12
    ///  | evt.type =
    ///  |            ^
    /// ```
    pub fn render(&self, src: &str) -> String {
        let pos = floor_boundary(src, self.pos);
        let (line, col) = line_col(src, pos);
        let line_start = src[..pos].rfind('\n').map_or(0, |i| i + 1);
        let line_end = src[pos..].find('\n').map_or(src.len(), |i| pos + i);
        let text = &src[line_start..line_end];
        let mut shown = String::new();
        let mut caret_col = 0usize;
        let mut caret_len = 0usize;
        let end = floor_boundary(src, self.end.min(line_end).max(pos));
        for (i, c) in text.char_indices() {
            let abs = line_start + i;
            let piece = escape_char(c);
            let w = piece.chars().count();
            if abs < pos {
                caret_col += w;
            } else if abs < end {
                caret_len += w;
            }
            shown.push_str(&piece);
        }
        let caret_len = caret_len.max(1);
        format!(
            "error: {} at {}:{}\n | {}\n | {}{}\n",
            escape_str(&self.message),
            line,
            col,
            shown,
            " ".repeat(caret_col),
            "^".repeat(caret_len)
        )
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{} at {}:{}", self.message, self.line, self.col)
        } else {
            write!(f, "{} at byte {}", self.message, self.pos)
        }
    }
}

/// 1-based (line, column in characters) of byte `pos` in `src` (clamped).
pub fn line_col(src: &str, pos: usize) -> (u32, u32) {
    let pos = floor_boundary(src, pos);
    let before = &src[..pos];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = src[line_start..pos].chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn floor_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn escape_char(c: char) -> String {
    if c.is_control() {
        c.escape_default().to_string()
    } else {
        c.to_string()
    }
}

/// Escapes control characters so text is safe to print on a terminal.
pub(crate) fn escape_str(s: &str) -> String {
    s.chars().map(escape_char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_points_at_column() {
        let src = "a = 1 and\n  b =\t";
        let e = FilterError::at(ErrorKind::Syntax, src, Span::new(16, 16), "expected value");
        assert_eq!((e.line, e.col), (2, 7));
        let r = e.render(src);
        assert_eq!(
            r,
            "error: expected value at 2:7\n |   b =\\t\n |        ^\n"
        );
        assert_eq!(e.to_string(), "expected value at 2:7");
    }

    #[test]
    fn render_clamps_and_escapes() {
        let src = "x\u{1b}[31m é";
        let e = FilterError::new(ErrorKind::Syntax, Span::new(100, 200), "m\u{7}");
        let r = e.render(src);
        assert!(!r.contains('\u{1b}') && !r.contains('\u{7}'), "{r}");
        let e = FilterError::new(ErrorKind::Syntax, Span::new(9, 10), "inside char");
        assert!(e.render(src).contains("^"));
    }
}
