//! Token scanners for the filter language, used by the parser on demand.
//!
//! Like libsinsp the language is scanned in context (a `=` ends a bare value but not a
//! quoted one, `in` needs no blank after it, `contains` does), so there is no separate
//! token stream: the parser asks for the token kind it expects at the cursor. Each scanner
//! either consumes a token and returns it, or leaves the cursor where it was.

use super::ast::Span;
use super::error::{ErrorKind, FilterError};

/// Blank characters between tokens (libsinsp: space, `\t`, `\b`, `\r`, `\n`; `[[:space:]]`
/// adds `\v` and `\f`: we accept the union everywhere).
pub(crate) fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x08 | 0x0b | 0x0c)
}

/// A byte may appear in a bare (unquoted) value: `[^()"'[:space:]=,]`.
pub(crate) fn is_bare_value_byte(b: u8) -> bool {
    !matches!(b, b'(' | b')' | b'"' | b'\'' | b'=' | b',') && !is_blank(b)
}

/// A byte may appear in a bare field argument: `[^][\"'[:space:]]`.
pub(crate) fn is_bare_arg_byte(b: u8) -> bool {
    !matches!(b, b'[' | b']' | b'"' | b'\'') && !is_blank(b)
}

/// The scanning cursor over one source text.
pub(crate) struct Lexer<'a> {
    /// The whole source.
    pub src: &'a str,
    bytes: &'a [u8],
    /// Current byte offset.
    pub pos: usize,
    /// Span of the last token consumed (for "unexpected token after …").
    pub last: Span,
}

impl<'a> Lexer<'a> {
    /// A cursor at the start of `src`.
    pub fn new(src: &'a str) -> Self {
        Lexer {
            src,
            bytes: src.as_bytes(),
            pos: 0,
            last: Span::default(),
        }
    }

    /// True at the end of input.
    pub fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    /// The byte at the cursor.
    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn byte_at(&self, i: usize) -> Option<u8> {
        self.bytes.get(i).copied()
    }

    fn take(&mut self, len: usize) -> &'a str {
        let start = self.pos;
        self.pos += len;
        self.last = Span::new(start, self.pos);
        &self.src[start..self.pos]
    }

    /// Skips blanks; true if there was at least one.
    pub fn blank(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Consumes `s` if the input continues with it.
    pub fn lit(&mut self, s: &str) -> bool {
        if self.bytes[self.pos..].starts_with(s.as_bytes()) {
            self.take(s.len());
            true
        } else {
            false
        }
    }

    /// Consumes word `w` followed by one blank (libsinsp's `"contains "` operators).
    pub fn word_blank(&mut self, w: &str) -> bool {
        let rest = &self.bytes[self.pos..];
        if rest.starts_with(w.as_bytes()) && rest.get(w.len()).copied().is_some_and(is_blank) {
            self.take(w.len());
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// True if the input continues with `not` and a blank (`not[[:space:]]+`).
    pub fn not_blank(&mut self) -> bool {
        if self.word_blank("not") {
            self.blank();
            true
        } else {
            false
        }
    }

    fn ident_len_at(&self, i: usize) -> usize {
        if !self.byte_at(i).is_some_and(|b| b.is_ascii_alphabetic()) {
            return 0;
        }
        let mut j = i + 1;
        while self
            .byte_at(j)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            j += 1;
        }
        j - i
    }

    /// `[a-zA-Z]+[a-zA-Z0-9_]*`
    pub fn identifier(&mut self) -> Option<&'a str> {
        match self.ident_len_at(self.pos) {
            0 => None,
            n => Some(self.take(n)),
        }
    }

    /// `Identifier ('.' Identifier)+`
    pub fn field_name(&mut self) -> Option<&'a str> {
        let first = self.ident_len_at(self.pos);
        if first == 0 {
            return None;
        }
        let mut end = self.pos + first;
        let mut segments = 0;
        while self.byte_at(end) == Some(b'.') {
            let n = self.ident_len_at(end + 1);
            if n == 0 {
                break;
            }
            end += 1 + n;
            segments += 1;
        }
        (segments > 0).then(|| self.take(end - self.pos))
    }

    fn run_len(&self, ok: impl Fn(u8) -> bool) -> usize {
        self.bytes[self.pos..]
            .iter()
            .take_while(|&&b| ok(b))
            .count()
    }

    /// A bare field argument `[^][\"'[:space:]]+`.
    pub fn field_arg_bare(&mut self) -> Option<&'a str> {
        match self.run_len(is_bare_arg_byte) {
            0 => None,
            n => Some(self.take(n)),
        }
    }

    /// A bare value `[^()"'[:space:]=,]+`.
    pub fn bare_str(&mut self) -> Option<&'a str> {
        match self.run_len(is_bare_value_byte) {
            0 => None,
            n => Some(self.take(n)),
        }
    }

    /// `0[xX][0-9a-zA-Z]+` or `[+-]?[0-9]+\.?[0-9]*([eE][+-][0-9]+)?`.
    pub fn number(&mut self) -> Option<&'a str> {
        let b = &self.bytes[self.pos..];
        if b.len() > 2 && b[0] == b'0' && (b[1] | 0x20) == b'x' && b[2].is_ascii_alphanumeric() {
            let n = 2 + b[2..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric())
                .count();
            return Some(self.take(n));
        }
        let digits = |from: usize| {
            b[from.min(b.len())..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count()
        };
        let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
        let d = digits(i);
        if d == 0 {
            return None;
        }
        i += d;
        if b.get(i) == Some(&b'.') {
            i += 1;
        }
        i += digits(i);
        if matches!(b.get(i), Some(b'e' | b'E')) && matches!(b.get(i + 1), Some(b'+' | b'-')) {
            let e = digits(i + 2);
            if e > 0 {
                i += 2 + e;
            }
        }
        Some(self.take(i))
    }

    /// A quoted string at the cursor: `Ok(None)` if the cursor is not at a quote.
    ///
    /// As in libsinsp, a quote closes the string unless the previous byte is a backslash
    /// (so a string cannot end with an escaped backslash; write `\ ` for that).
    pub fn quoted(&mut self) -> Result<Option<String>, FilterError> {
        let start = self.pos;
        let delim = match self.peek() {
            Some(q @ (b'"' | b'\'')) => q,
            _ => return Ok(None),
        };
        let mut i = start + 1;
        let mut prev = delim;
        loop {
            match self.byte_at(i) {
                None => {
                    return Err(FilterError::at(
                        ErrorKind::Syntax,
                        self.src,
                        Span::new(start, self.bytes.len()),
                        "unterminated quoted string",
                    ))
                }
                Some(b) if b == delim && prev != b'\\' => break,
                Some(b) => prev = b,
            }
            i += 1;
        }
        let value = unescape(self.src, start + 1, i, delim)?;
        self.pos = start;
        self.take(i + 1 - start);
        Ok(Some(value))
    }
}

/// Unescapes `src[from..to]` (the inside of a string quoted with `delim`).
fn unescape(src: &str, from: usize, to: usize, delim: u8) -> Result<String, FilterError> {
    let raw = &src.as_bytes()[from..to];
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let esc = raw.get(i + 1).copied().unwrap_or(b'\\');
        let bad = |msg: String, len: usize| {
            FilterError::at(
                ErrorKind::Escape,
                src,
                Span::new(from + i, from + i + len),
                msg,
            )
        };
        let mut len = 2;
        match esc {
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            // Legacy quirk kept by libsinsp: "\ " is a backslash.
            b' ' | b'\\' => out.push(b'\\'),
            b'/' => out.push(b'/'),
            b'"' | b'\'' if esc == delim => out.push(esc),
            b'"' => return Err(bad("invalid \\\" escape in '-quoted string".into(), 2)),
            b'\'' => return Err(bad("invalid \\' escape in \"-quoted string".into(), 2)),
            b'x' => {
                let hex = raw
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) if v < 0x80 => out.push(v),
                    Some(_) => {
                        return Err(bad(
                            "\\x escapes above \\x7f are not supported: write the UTF-8 character"
                                .into(),
                            4,
                        ))
                    }
                    None => return Err(bad("\\x needs two hex digits".into(), 2)),
                }
                len = 4;
            }
            other => {
                let shown = src[from + i + 1..]
                    .chars()
                    .next()
                    .map_or_else(String::new, |c| c.escape_default().to_string());
                let _ = other;
                return Err(bad(
                    format!("unsupported string escape sequence: \\{shown}"),
                    2,
                ));
            }
        }
        i += len;
    }
    // Only ASCII bytes were inserted into valid UTF-8, so this cannot fail; map it anyway.
    String::from_utf8(out).map_err(|_| {
        FilterError::at(
            ErrorKind::Escape,
            src,
            Span::new(from, to),
            "invalid UTF-8 in string",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Result<Option<String>, FilterError> {
        Lexer::new(s).quoted()
    }

    #[test]
    fn quoted_strings() {
        assert_eq!(q(r#""a b""#).unwrap().unwrap(), "a b");
        assert_eq!(q(r#"'it\'s'"#).unwrap().unwrap(), "it's");
        assert_eq!(q(r#""a\"b""#).unwrap().unwrap(), "a\"b");
        assert_eq!(q(r#""\t\n\\\/""#).unwrap().unwrap(), "\t\n\\/");
        assert_eq!(q(r#""x\ ""#).unwrap().unwrap(), "x\\");
        assert_eq!(q(r#""\x41""#).unwrap().unwrap(), "A");
        assert_eq!(q(r#""""#).unwrap().unwrap(), "");
        assert_eq!(q("x").unwrap(), None);
        assert!(q(r#""abc"#).is_err());
        assert!(
            q(r#""ab\\""#).is_err(),
            "escaped backslash before quote does not close"
        );
        let e = q(r#""a\qb""#).unwrap_err();
        assert_eq!((e.pos, e.kind), (2, ErrorKind::Escape));
        assert!(q(r#""a\'b""#).is_err());
        assert!(q(r#"'a\"b'"#).is_err());
        assert!(q(r#""\xff""#).is_err());
    }

    #[test]
    fn scanners() {
        let mut l = Lexer::new("proc.aname[2]");
        assert_eq!(l.field_name(), Some("proc.aname"));
        let mut l = Lexer::new("proc. x");
        assert_eq!(l.field_name(), None);
        assert_eq!(l.identifier(), Some("proc"));
        for (s, n) in [
            ("-1x", "-1"),
            ("0x1F)", "0x1F"),
            ("1.5e+3 ", "1.5e+3"),
            ("2e5", "2"),
            ("2e+5", "2e+5"),
        ] {
            assert_eq!(Lexer::new(s).number(), Some(n));
        }
        assert_eq!(Lexer::new("abc").number(), None);
        assert_eq!(Lexer::new("/etc/x=1").bare_str(), Some("/etc/x"));
        let mut l = Lexer::new("contains\tx");
        assert!(l.word_blank("contains"));
        assert_eq!(l.pos, 9);
        assert!(!Lexer::new("containsx").word_blank("contains"));
    }
}
