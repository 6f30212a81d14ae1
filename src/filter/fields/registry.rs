//! [`Fields`]: name → catalogue entry, with `[arg]` parsing (`proc.aname[2]`,
//! `evt.arg[1]`, `evt.arg[flags]`, `evt.arg.flags`). Resolution happens once
//! per filter or format; events only see the resulting id and `aux`.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::catalog::{ArgRule, FieldDef, CATALOG};
use crate::filter::{
    unknown_field, ErrorKind, FieldArg, FieldInfo, FieldRegistry, FilterError, Span,
};

/// `aux` of a field given without an index (`proc.aname`: every ancestor;
/// `evt.arg.NAME`: select by name).
pub const ANY: u64 = u64::MAX;

/// Largest accepted index (`proc.aname[N]`, `evt.arg[N]`).
const MAX_INDEX: u64 = 4096;

/// The field registry over [`CATALOG`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Fields;

static BY_NAME: LazyLock<HashMap<&'static str, usize>> = LazyLock::new(|| {
    CATALOG
        .iter()
        .enumerate()
        .map(|(i, d)| (d.name, i))
        .collect()
});

impl Fields {
    /// The catalogue entry of `name` (without `[arg]` or `.NAME` suffix).
    pub fn def(name: &str) -> Option<&'static FieldDef> {
        BY_NAME.get(name).map(|&i| &CATALOG[i])
    }

    /// The catalogue entry of a resolved field.
    pub fn def_of(f: &FieldInfo) -> Option<&'static FieldDef> {
        CATALOG.get(f.id as usize)
    }
}

fn arg_err(span: Span, msg: String) -> FilterError {
    FilterError::new(ErrorKind::UnknownField, span, msg)
}

fn info(i: usize, arg: Option<FieldArg>, aux: u64) -> FieldInfo {
    let d = &CATALOG[i];
    FieldInfo {
        id: i as u32,
        arg,
        aux,
        ty: d.ty,
        list: false,
    }
}

fn parse_index(a: &FieldArg, name: &str) -> Result<u64, FilterError> {
    a.value
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_INDEX)
        .ok_or_else(|| {
            arg_err(
                a.span,
                format!(
                    "field '{name}' needs a numeric index (0..={MAX_INDEX}), not '{}'",
                    crate::filter::error::escape_str(&a.value)
                ),
            )
        })
}

impl FieldRegistry for Fields {
    fn resolve(
        &self,
        name: &str,
        arg: Option<&FieldArg>,
        span: Span,
    ) -> Result<FieldInfo, FilterError> {
        // `evt.arg.NAME` / `evt.rawarg.NAME`.
        for base in ["evt.arg", "evt.rawarg"] {
            if let Some(rest) = name.strip_prefix(base).and_then(|r| r.strip_prefix('.')) {
                if arg.is_some() {
                    return Err(arg_err(span, format!("field '{name}' takes no [argument]")));
                }
                if rest.is_empty() {
                    return Err(unknown_field(name, span));
                }
                let i = BY_NAME[base];
                let a = FieldArg {
                    value: rest.to_string(),
                    quoted: false,
                    span,
                };
                return Ok(info(i, Some(a), ANY));
            }
        }
        let Some(&i) = BY_NAME.get(name) else {
            return Err(unknown_field(name, span));
        };
        match (CATALOG[i].arg, arg) {
            (ArgRule::None, None) => Ok(info(i, None, 0)),
            (ArgRule::None, Some(a)) => Err(arg_err(
                a.span,
                format!("field '{name}' takes no [argument]"),
            )),
            (ArgRule::OptIndex, None) => Ok(info(i, None, ANY)),
            (ArgRule::OptIndex, Some(a)) => Ok(info(i, None, parse_index(a, name)?)),
            (ArgRule::IndexOrName | ArgRule::Text, None) => Err(arg_err(
                span,
                format!("field '{name}' needs an argument: {name}[...]"),
            )),
            (ArgRule::IndexOrName, Some(a)) => match a.value.parse::<u64>() {
                Ok(_) => Ok(info(i, None, parse_index(a, name)?)),
                Err(_) if !a.value.is_empty() => Ok(info(i, Some(a.clone()), ANY)),
                Err(_) => Err(arg_err(a.span, format!("field '{name}' needs an argument"))),
            },
            (ArgRule::Text, Some(a)) => Ok(info(i, Some(a.clone()), 0)),
        }
    }
}
