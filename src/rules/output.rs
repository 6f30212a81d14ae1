//! Output templates (`%field` substitution) and the alert line formats: Falco's text line
//! `HH:MM:SS.nnnnnnnnn: Priority message` and its JSON object.
//!
//! Owns template parsing (at load time, through the field registry) and rendering (per
//! alert, through an [`OutputSource`]). Rendered text never holds raw control characters.

use super::items::Priority;
use crate::filter::{FieldArg, FieldInfo, FieldRegistry, FieldSource, FieldType, FilterError, Span, Value, ValueBuf};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Text printed for a field with no value.
pub const NA: &str = "<NA>";

/// Field values for output: display text and typed JSON.
///
/// The default methods render the raw values a [`FieldSource`] pushes; a field catalogue
/// overrides them with its own formatting (symbolic flags, times, …).
pub trait OutputSource: FieldSource {
    /// Appends the display text of `f` to `out`; false if the field has no value.
    fn display(&mut self, f: &FieldInfo, out: &mut String) -> bool {
        let mut buf = ValueBuf::default();
        if !self.value(f, &mut buf) || buf.is_empty() {
            return false;
        }
        for (i, v) in buf.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            display_value(v, out);
        }
        true
    }
    /// The typed JSON value of `f` (`null` when it has no value).
    fn json(&mut self, f: &FieldInfo) -> Json {
        let mut buf = ValueBuf::default();
        if !self.value(f, &mut buf) || buf.is_empty() {
            return Json::Null;
        }
        let one = |v: Value<'_>| -> Json {
            match v {
                Value::U64(n) => Json::from(n),
                Value::I64(n) => Json::from(n),
                Value::Bool(b) if f.ty == FieldType::Bool => Json::Bool(b),
                Value::Bool(b) => Json::from(u8::from(b)),
                Value::Str(s) => Json::String(safe_text(s)),
                Value::Ip(ip) => Json::String(ip.to_string()),
            }
        };
        if buf.len() == 1 {
            buf.get(0).map_or(Json::Null, one)
        } else {
            Json::Array(buf.iter().map(one).collect())
        }
    }
}

/// Appends one raw value as text.
pub fn display_value(v: Value<'_>, out: &mut String) {
    match v {
        Value::U64(n) => {
            let _ = write!(out, "{n}");
        }
        Value::I64(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Value::Str(s) => out.push_str(&safe_text(s)),
        Value::Ip(ip) => {
            let _ = write!(out, "{ip}");
        }
    }
}

/// Bytes as text safe for a terminal: invalid UTF-8 becomes U+FFFD and control characters
/// are escaped (as Falco's master branch does for text output).
pub fn safe_text(s: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(s);
    if !lossy.chars().any(char::is_control) {
        return lossy.into_owned();
    }
    lossy
        .chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// One piece of a compiled template.
#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Field { key: String, info: FieldInfo, pad: usize },
}

/// A compiled output template.
#[derive(Debug, Clone)]
pub struct OutputTemplate {
    parts: Vec<Part>,
}

/// Deprecated tokens replaced by nothing (Falco: `%container.info`).
const DEPRECATED: &[&str] = &["container.info"];

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

impl OutputTemplate {
    /// Compiles `text`; returns the template and the deprecated tokens it dropped.
    ///
    /// A token is `%`, an optional pad width, then the longest `name[arg]` prefix that the
    /// registry resolves (so `%proc.name.` reads `proc.name` followed by `.`).
    pub fn compile(text: &str, reg: &dyn FieldRegistry) -> Result<(Self, Vec<String>), FilterError> {
        let b = text.as_bytes();
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut dropped = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let Some(off) = text[i..].find('%') else {
                lit.push_str(&text[i..]);
                break;
            };
            lit.push_str(&text[i..i + off]);
            let start = i + off;
            let mut j = start + 1;
            let pad_start = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let pad = text[pad_start..j].parse::<usize>().unwrap_or(0).min(256);
            let name_start = j;
            while j < b.len() && is_name_byte(b[j]) {
                j += 1;
            }
            if j == name_start || !b[name_start].is_ascii_alphabetic() {
                lit.push('%');
                i = start + 1;
                continue;
            }
            let mut name_end = j;
            let resolved;
            loop {
                let name = &text[name_start..name_end];
                if DEPRECATED.contains(&name) {
                    resolved = Some((name_end, None));
                    break;
                }
                // Optional [arg] right after the full name.
                let (arg, end) = match (name_end == j, b.get(name_end)) {
                    (true, Some(b'[')) => match text[name_end..].find(']') {
                        Some(c) => {
                            let a = &text[name_end + 1..name_end + c];
                            (Some(FieldArg { value: a.to_string(), quoted: false, span: Span::new(name_end + 1, name_end + c) }), name_end + c + 1)
                        }
                        None => (None, name_end),
                    },
                    _ => (None, name_end),
                };
                let span = Span::new(name_start, end);
                match reg.resolve(name, arg.as_ref(), span) {
                    Ok(info) => {
                        resolved = Some((end, Some(info)));
                        break;
                    }
                    Err(e) => match text[name_start..name_end].rfind('.') {
                        Some(d) if d > 0 => name_end = name_start + d,
                        _ => return Err(e),
                    },
                }
            }
            let (end, info) = resolved.expect("loop ends with a resolution or an error");
            match info {
                None => dropped.push(text[name_start..end].to_string()),
                Some(info) => {
                    if !lit.is_empty() {
                        parts.push(Part::Lit(std::mem::take(&mut lit)));
                    }
                    parts.push(Part::Field { key: text[name_start..end].to_string(), info, pad });
                }
            }
            i = end;
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok((OutputTemplate { parts }, dropped))
    }

    /// The field keys as written (`proc.aname[2]`), in order, without duplicates.
    pub fn keys(&self) -> Vec<&str> {
        let mut v: Vec<&str> = Vec::new();
        for p in &self.parts {
            if let Part::Field { key, .. } = p {
                if !v.contains(&key.as_str()) {
                    v.push(key);
                }
            }
        }
        v
    }

    /// Renders the message text; missing values print as `<NA>`.
    pub fn render(&self, src: &mut dyn OutputSource) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(&super::error::escape(s)),
                Part::Field { info, pad, .. } => {
                    let start = out.len();
                    if !src.display(info, &mut out) {
                        out.push_str(NA);
                    }
                    let w = out[start..].chars().count();
                    for _ in w..*pad {
                        out.push(' ');
                    }
                }
            }
        }
        out
    }

    /// The typed values of every field, keyed as written.
    pub fn fields(&self, src: &mut dyn OutputSource) -> BTreeMap<String, Json> {
        let mut m = BTreeMap::new();
        for p in &self.parts {
            if let Part::Field { key, info, .. } = p {
                if !m.contains_key(key) {
                    m.insert(key.clone(), src.json(info));
                }
            }
        }
        m
    }
}

/// `HH:MM:SS.nnnnnnnnn` of an epoch time in ns (UTC).
pub fn time_of_day(ns: i64) -> String {
    let nanos = ns.rem_euclid(1_000_000_000);
    let secs = ns.div_euclid(1_000_000_000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}.{:09}", secs / 3600, secs / 60 % 60, secs % 60, nanos)
}

/// RFC 3339 UTC with nanoseconds and `Z` (`2016-08-04T16:17:57.881781397Z`).
pub fn rfc3339(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.9fZ").to_string(),
        None => format!("@{ns}"),
    }
}

/// Falco's text line: `HH:MM:SS.nnnnnnnnn: Priority message`.
pub fn text_line(time_ns: i64, priority: Priority, message: &str) -> String {
    format!("{}: {} {}", time_of_day(time_ns), priority, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::unknown_field;

    struct Reg;
    impl FieldRegistry for Reg {
        fn resolve(&self, name: &str, arg: Option<&FieldArg>, span: Span) -> Result<FieldInfo, FilterError> {
            match (name, arg) {
                ("proc.name", None) => Ok(FieldInfo::new(0, FieldType::Str)),
                ("fd.num", None) => Ok(FieldInfo::new(1, FieldType::I64)),
                ("proc.aname", Some(_)) => Ok(FieldInfo::new(2, FieldType::Str)),
                _ => Err(unknown_field(name, span)),
            }
        }
    }
    struct Ev;
    impl FieldSource for Ev {
        fn value(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool {
            match f.id {
                0 => out.push_bytes(b"c\x1bat"),
                1 => out.push_i64(-3),
                _ => return false,
            }
            true
        }
    }
    impl OutputSource for Ev {}

    #[test]
    fn template_renders_and_types() {
        let (t, dropped) = OutputTemplate::compile(
            "x %proc.name. fd=%fd.num a=%proc.aname[2] %% %5fd.num| %container.info 100%",
            &Reg,
        )
        .unwrap();
        assert_eq!(dropped, ["container.info"]);
        assert_eq!(t.keys(), ["proc.name", "fd.num", "proc.aname[2]"]);
        assert_eq!(t.render(&mut Ev), "x c\\u{1b}at. fd=-3 a=<NA> %% -3   |  100%");
        let f = t.fields(&mut Ev);
        assert_eq!(serde_json::to_string(&f).unwrap(), r#"{"fd.num":-3,"proc.aname[2]":null,"proc.name":"c\\u{1b}at"}"#);
        assert!(OutputTemplate::compile("%bogus.field", &Reg).is_err());
    }

    #[test]
    fn times() {
        let ns = 1_470_327_477_881_781_397;
        assert_eq!(time_of_day(ns), "16:17:57.881781397");
        assert_eq!(rfc3339(ns), "2016-08-04T16:17:57.881781397Z");
        assert_eq!(text_line(ns, Priority::Informational, "m"), "16:17:57.881781397: Informational m");
    }
}
