//! sysdig `-p` format strings: parsed once into a [`Template`] (fields
//! resolved through a [`FieldRegistry`]), then rendered per event as text or
//! as a JSON object with typed values.
//!
//! Syntax: `%field`, `%field[arg]`, `%evt.arg.NAME`, a width `%12field`
//! (pad on the right / cut to 12 characters, as sysdig does) or `%-12field`
//! (right-aligned, cut to 12), `%%` for a literal `%`, other text copied. A
//! leading `*` prints every event, with `<NA>` for missing values; without
//! it an event with any missing field is not printed (sysdig semantics).
//! Everything captured is escaped: no control character reaches the output.

use std::fmt::Write as _;

use super::OutputError;
use crate::event::display::{escape_bytes, push_buffer, ArgOpts};
use crate::event::text::{push_i64, push_u64};
use crate::filter::{
    FieldArg, FieldInfo, FieldRegistry, FieldSource, FieldType, Span, Value, ValueBuf,
};

/// sysdig's default line.
pub const DEFAULT_FORMAT: &str =
    "*%evt.num %evt.outputtime %evt.cpu %proc.name (%thread.tid) %evt.dir %evt.type %evt.args";

/// A field's print width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Width {
    /// Characters.
    pub n: usize,
    /// Right-align (`%-N`) instead of sysdig's pad-right.
    pub right: bool,
}

/// One piece of a template.
#[derive(Debug, Clone)]
pub enum Piece {
    /// Text copied as is.
    Lit(String),
    /// A field.
    Field {
        /// The field as written (`proc.aname[2]`), the JSON key.
        key: String,
        /// The resolved field.
        info: FieldInfo,
        /// Optional width.
        width: Option<Width>,
        /// The values are already escaped display text (`evt.args`).
        escaped: bool,
    },
}

/// A compiled format string.
#[derive(Debug, Clone)]
pub struct Template {
    pieces: Vec<Piece>,
    all: bool,
}

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'.'
}

impl Template {
    /// Parses `fmt`, resolving every field once through `reg`.
    pub fn parse(fmt: &str, reg: &dyn FieldRegistry) -> Result<Template, OutputError> {
        let (all, body, base) = match fmt.strip_prefix('*') {
            Some(rest) => (true, rest, 1),
            None => (false, fmt, 0),
        };
        let b = body.as_bytes();
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut i = 0;
        while i < b.len() {
            let Some(off) = body[i..].find('%') else {
                lit.push_str(&body[i..]);
                break;
            };
            lit.push_str(&body[i..i + off]);
            let pct = i + off;
            i = pct + 1;
            if b.get(i) == Some(&b'%') {
                lit.push('%');
                i += 1;
                continue;
            }
            let right = b.get(i) == Some(&b'-');
            if right {
                i += 1;
            }
            let wstart = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let width = if i > wstart {
                let n = body[wstart..i]
                    .parse::<usize>()
                    .ok()
                    .filter(|n| *n <= 4096)
                    .ok_or(OutputError::Format {
                        pos: base + wstart,
                        message: "field width must be at most 4096".into(),
                    })?;
                Some(Width { n, right })
            } else {
                None
            };
            let (piece, end) = field_at(body, i, base, reg, width)?;
            if !lit.is_empty() {
                pieces.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            pieces.push(piece);
            i = end;
        }
        if !lit.is_empty() {
            pieces.push(Piece::Lit(lit));
        }
        Ok(Template { pieces, all })
    }

    /// The pieces.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The resolved fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldInfo> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Field { info, .. } => Some(info),
            Piece::Lit(_) => None,
        })
    }

    /// Whether the template started with `*`.
    pub fn prints_all(&self) -> bool {
        self.all
    }

    /// Renders the event behind `src` as text into `out`; false (and `out`
    /// unchanged) when a field is missing and the template lacks `*`.
    pub fn render_text<S: FieldSource + ?Sized>(
        &self,
        src: &mut S,
        vals: &mut ValueBuf,
        opts: &ArgOpts,
        out: &mut String,
    ) -> bool {
        let start = out.len();
        for p in &self.pieces {
            match p {
                Piece::Lit(s) => out.push_str(s),
                Piece::Field {
                    info,
                    width,
                    escaped,
                    ..
                } => {
                    vals.clear();
                    let fstart = out.len();
                    // Written straight into `out` when the source can;
                    // otherwise through `vals`.
                    let direct = if *escaped {
                        src.write_text(info, out)
                    } else {
                        src.write_plain(info, out)
                    };
                    let has = match direct {
                        Some(has) => has,
                        None if src.value(info, vals) && !vals.is_empty() => {
                            for (i, v) in vals.iter().enumerate() {
                                if i > 0 {
                                    out.push(' ');
                                }
                                push_value(v, info.ty, *escaped, opts, out);
                            }
                            true
                        }
                        None => false,
                    };
                    if !has {
                        if !self.all {
                            out.truncate(start);
                            return false;
                        }
                        out.push_str("<NA>");
                    }
                    if let Some(w) = width {
                        apply_width(out, fstart, *w);
                    }
                }
            }
        }
        true
    }

    /// Renders the event as one JSON object of the template's fields (typed
    /// values; arrays for multi-valued fields; `null` for missing ones with
    /// `*`). False when a field is missing and the template lacks `*`.
    pub fn render_json<S: FieldSource + ?Sized>(
        &self,
        src: &mut S,
        vals: &mut ValueBuf,
        opts: &ArgOpts,
        out: &mut String,
    ) -> bool {
        let start = out.len();
        let mut tmp = String::new();
        out.push('{');
        let mut first = true;
        for p in &self.pieces {
            let Piece::Field {
                key, info, escaped, ..
            } = p
            else {
                continue;
            };
            if !first {
                out.push(',');
            }
            first = false;
            json_str(key, out);
            out.push(':');
            vals.clear();
            if !src.value(info, vals) || vals.is_empty() {
                if !self.all {
                    out.truncate(start);
                    return false;
                }
                out.push_str("null");
                continue;
            }
            let many = vals.len() > 1;
            if many {
                out.push('[');
            }
            for (i, v) in vals.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                match v {
                    Value::U64(n) => push_u64(n, out),
                    Value::I64(n) => push_i64(n, out),
                    Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
                    v => {
                        tmp.clear();
                        push_value(v, info.ty, *escaped, opts, &mut tmp);
                        json_str(&tmp, out);
                    }
                }
            }
            if many {
                out.push(']');
            }
        }
        out.push('}');
        true
    }
}

/// Parses the field after `%` at `i`; returns it and the offset after it.
fn field_at(
    body: &str,
    i: usize,
    base: usize,
    reg: &dyn FieldRegistry,
    width: Option<Width>,
) -> Result<(Piece, usize), OutputError> {
    let b = body.as_bytes();
    let mut end = i;
    while end < b.len() && is_name_char(b[end]) {
        end += 1;
    }
    let bad = |message: String| OutputError::Format {
        pos: base + i,
        message,
    };
    if end == i {
        return Err(bad("expected a field name after '%'".into()));
    }
    // Longest prefix (cut at dots) that resolves, with an optional [arg].
    let mut cand = end;
    let mut first_err = None;
    loop {
        let name = body[i..cand].trim_end_matches('.');
        let mut after = i + name.len();
        let mut arg = None;
        if b.get(after) == Some(&b'[') {
            let close =
                body[after..]
                    .find(']')
                    .map(|o| after + o)
                    .ok_or_else(|| OutputError::Format {
                        pos: base + after,
                        message: "unclosed '[' in field argument".into(),
                    })?;
            arg = Some(FieldArg {
                value: body[after + 1..close].to_string(),
                quoted: false,
                span: Span::new(base + after + 1, base + close),
            });
            after = close + 1;
        }
        let span = Span::new(base + i, base + i + name.len());
        match reg.resolve(name, arg.as_ref(), span) {
            Ok(info) => {
                let key = body[i..after].to_string();
                let escaped = reg.is_escaped_text(&info);
                return Ok((
                    Piece::Field {
                        key,
                        info,
                        width,
                        escaped,
                    },
                    after,
                ));
            }
            Err(e) => {
                first_err.get_or_insert(e);
                match name.rfind('.') {
                    Some(dot) if dot > 0 => cand = i + dot,
                    _ => {
                        let e = first_err.expect("set above");
                        return Err(OutputError::Format {
                            pos: e.pos,
                            message: e.message,
                        });
                    }
                }
            }
        }
    }
}

/// Appends one value as text.
fn push_value(v: Value<'_>, ty: FieldType, escaped: bool, opts: &ArgOpts, out: &mut String) {
    match v {
        Value::U64(n) => push_u64(n, out),
        Value::I64(n) => push_i64(n, out),
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
        Value::Str(s) if ty == FieldType::Bytes => push_buffer(s, opts, out),
        // Display text from `event::display`: escaped there, valid UTF-8 without
        // control characters; escaping again would double every backslash.
        Value::Str(s) if escaped && !has_control(s) => match std::str::from_utf8(s) {
            Ok(t) => out.push_str(t),
            Err(_) => out.push_str(&String::from_utf8_lossy(s)),
        },
        Value::Str(s) => escape_bytes(s, out),
    }
}

/// Whether `s` holds a C0 control character or DEL (no early exit, so the
/// loop vectorises: display text is long and rarely has one).
fn has_control(s: &[u8]) -> bool {
    s.iter()
        .fold(false, |found, &b| found | (b < 0x20) | (b == 0x7f))
}

/// Pads or cuts `out[start..]` to `w` characters.
fn apply_width(out: &mut String, start: usize, w: Width) {
    let n = out[start..].chars().count();
    if n > w.n {
        let cut = out[start..]
            .char_indices()
            .nth(w.n)
            .map_or(out.len(), |(o, _)| start + o);
        out.truncate(cut);
    } else if n < w.n {
        let pad = w.n - n;
        if w.right {
            out.insert_str(start, &" ".repeat(pad));
        } else {
            out.extend(std::iter::repeat_n(' ', pad));
        }
    }
}

/// Appends `s` as a JSON string (control characters escaped).
pub fn json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
