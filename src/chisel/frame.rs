//! [`Frame`]: events as polars columns. Fields are resolved once through
//! the field catalogue ([`Fields`]); each event's values are extracted with
//! [`EventCtx`] into typed columnar builders, and [`Frame::take`] turns the
//! buffered rows into a DataFrame (callers flush every N rows, so memory is
//! bounded). Column names are the field names with `.` (and `[`, `]`)
//! turned into `_`: `evt.type` → `evt_type`, `proc.aname[2]` → `proc_aname_2`.

use polars::prelude::*;

use super::ChiselError;
use crate::filter::fields::{Fields, CATALOG};
use crate::filter::{
    FieldArg, FieldInfo, FieldRegistry, FieldSource, FieldType, Span, Value, ValueBuf,
};

/// Fields exported when none are asked for.
pub const DEFAULT_FIELDS: &[&str] = &[
    "evt.num",
    "evt.rawtime",
    "evt.cpu",
    "evt.type",
    "evt.rawres",
    "evt.latency",
    "proc.name",
    "proc.pid",
    "thread.tid",
    "proc.ppid",
    "user.name",
    "fd.num",
    "fd.type",
    "fd.name",
    "container.id",
];

/// Whether extracting `f` needs the reconstructed state: every non-`evt`
/// field, and the `evt` fields that render arguments through fd/thread
/// tables (as the read pipeline decides).
pub fn needs_state(f: &FieldInfo) -> bool {
    use crate::filter::fields::{Class, Fid};
    match Fields::def_of(f) {
        Some(d) if d.class() == Class::Evt => matches!(
            d.id,
            Fid::EvtArgs | Fid::EvtInfo | Fid::EvtArg | Fid::EvtCategory
        ),
        Some(_) => true,
        None => false,
    }
}

/// The column name of a field: `.`, `[` and `]` become `_` (a trailing one is dropped).
pub fn column_name(field: &str) -> String {
    let s: String = field
        .chars()
        .map(|c| if matches!(c, '.' | '[' | ']') { '_' } else { c })
        .collect();
    s.trim_end_matches('_').to_string()
}

/// The catalogue field closest to `name` (edit distance), if close enough.
pub fn suggest(name: &str) -> Option<&'static str> {
    CATALOG
        .iter()
        .map(|d| (strsim::levenshtein(d.name, name), d.name))
        .min()
        .filter(|(d, n)| *d <= 3.max(n.len() / 3))
        .map(|(_, n)| n)
}

/// Resolves a field reference `name` or `name[arg]`.
pub fn resolve(field: &str) -> Result<FieldInfo, ChiselError> {
    let (name, arg) = match field.find('[') {
        Some(i) if field.ends_with(']') => (&field[..i], Some(&field[i + 1..field.len() - 1])),
        _ => (field, None),
    };
    let span = Span {
        start: 0,
        end: field.len(),
    };
    let arg = arg.map(|a| FieldArg {
        value: a.to_string(),
        quoted: false,
        span,
    });
    Fields
        .resolve(name, arg.as_ref(), span)
        .map_err(|e| ChiselError::BadField {
            field: crate::filter::error::escape_str(field),
            reason: e.to_string(),
            hint: suggest(name)
                .filter(|s| *s != name)
                .map_or(String::new(), |s| format!("; did you mean '{s}'?")),
        })
}

enum Builder {
    U64(Vec<Option<u64>>),
    I64(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Str(StringChunkedBuilder),
}

/// One output column.
struct Col {
    name: PlSmallStr,
    info: FieldInfo,
    b: Builder,
}

fn builder(ty: FieldType, name: &PlSmallStr, cap: usize) -> Builder {
    match ty {
        FieldType::U64 | FieldType::Port | FieldType::Duration => {
            Builder::U64(Vec::with_capacity(cap))
        }
        FieldType::I64 | FieldType::AbsTime => Builder::I64(Vec::with_capacity(cap)),
        FieldType::Bool => Builder::Bool(Vec::with_capacity(cap)),
        _ => Builder::Str(StringChunkedBuilder::new(name.clone(), cap)),
    }
}

/// Events as typed columns.
pub struct Frame {
    cols: Vec<Col>,
    fields: Vec<String>,
    rows: usize,
    cap: usize,
    vb: ValueBuf,
    text: String,
}

impl Frame {
    /// A frame of `fields` (names as in filters), buffering up to `cap` rows.
    pub fn new(fields: &[String], cap: usize) -> Result<Frame, ChiselError> {
        let mut cols = Vec::with_capacity(fields.len());
        for f in fields {
            let info = resolve(f)?;
            let name = PlSmallStr::from_string(column_name(f));
            if cols.iter().any(|c: &Col| c.name == name) {
                return Err(ChiselError::BadField {
                    field: crate::filter::error::escape_str(f),
                    reason: "given twice".into(),
                    hint: String::new(),
                });
            }
            let b = builder(info.ty, &name, cap);
            cols.push(Col { name, info, b });
        }
        Ok(Frame {
            cols,
            fields: fields.to_vec(),
            rows: 0,
            cap,
            vb: ValueBuf::default(),
            text: String::new(),
        })
    }

    /// Whether extracting some column needs the reconstructed state.
    pub fn needs_state(&self) -> bool {
        self.cols.iter().any(|c| needs_state(&c.info))
    }

    /// The field names, in column order.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// Buffered rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the buffer reached its capacity.
    pub fn full(&self) -> bool {
        self.rows >= self.cap
    }

    /// Appends one event's values (null where the event has none).
    pub fn push<S: FieldSource + ?Sized>(&mut self, src: &mut S) {
        for c in &mut self.cols {
            self.vb.clear();
            let ok = src.value(&c.info, &mut self.vb);
            let v = if ok { self.vb.get(0) } else { None };
            match &mut c.b {
                Builder::U64(b) => b.push(
                    v.and_then(|v| v.as_int())
                        .and_then(|i| u64::try_from(i).ok()),
                ),
                Builder::I64(b) => b.push(
                    v.and_then(|v| v.as_int())
                        .and_then(|i| i64::try_from(i).ok()),
                ),
                Builder::Bool(b) => b.push(match v {
                    Some(Value::Bool(x)) => Some(x),
                    Some(v) => v.as_int().map(|i| i != 0),
                    None => None,
                }),
                Builder::Str(b) => match v {
                    None => b.append_null(),
                    Some(Value::Str(s)) => match std::str::from_utf8(s) {
                        Ok(s) => b.append_value(s),
                        Err(_) => b.append_value(String::from_utf8_lossy(s)),
                    },
                    Some(Value::Ip(ip)) => {
                        use std::fmt::Write as _;
                        self.text.clear();
                        let _ = write!(self.text, "{ip}");
                        b.append_value(&self.text);
                    }
                    Some(other) => {
                        self.text.clear();
                        match other.as_int() {
                            Some(i) => self.text.push_str(&i.to_string()),
                            None => self.text.push_str(&format!("{other:?}")),
                        }
                        b.append_value(&self.text);
                    }
                },
            }
        }
        self.rows += 1;
    }

    /// The buffered rows as a DataFrame; the buffer starts over.
    pub fn take(&mut self) -> Result<DataFrame, ChiselError> {
        let mut out = Vec::with_capacity(self.cols.len());
        for c in &mut self.cols {
            let fresh = builder(c.info.ty, &c.name, self.cap.min(1 << 16));
            let b = std::mem::replace(&mut c.b, fresh);
            out.push(match b {
                Builder::U64(v) => Column::new(c.name.clone(), v),
                Builder::I64(v) => Column::new(c.name.clone(), v),
                Builder::Bool(v) => Column::new(c.name.clone(), v),
                Builder::Str(b) => b.finish().into_column(),
            });
        }
        self.rows = 0;
        DataFrame::new_infer_height(out).map_err(|e| ChiselError::Polars {
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_suggestions() {
        assert_eq!(column_name("evt.type"), "evt_type");
        assert_eq!(column_name("proc.aname[2]"), "proc_aname_2");
        assert_eq!(suggest("proc.nme"), Some("proc.name"));
        let e = resolve("proc.nmae").unwrap_err().to_string();
        assert!(e.contains("did you mean 'proc.name'"), "{e}");
        assert!(resolve("fd.name").is_ok());
        assert!(Frame::new(&["fd.name".into(), "fd.name".into()], 8).is_err());
    }
}
