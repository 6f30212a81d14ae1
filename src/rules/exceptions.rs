//! Exceptions → condition text, as Falco's compiler builds it.
//!
//! Owns the text form only: tuple form `(f1 c1 v1 and f2 c2 v2) or (…)`, single-field form
//! `(f in (v1, v2))`, list values as `(a, b)`, scalars with a list operator parenthesised
//! (so they may name a list), other values quoted when they are not bare words. The caller
//! parses the text and adds `and not (…)` to the rule condition.

use super::items::{ExcEntry, ExcValue, Exception, OneOrMany, Text};
use crate::filter::print::{is_bare_value, write_quoted};
use crate::filter::Op;

/// Why an exception cannot be turned into a condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExcProblem(pub String);

fn op_of(s: &str) -> Option<Op> {
    Op::ALL.into_iter().find(|o| o.as_str() == s && *o != Op::Exists)
}

fn value(v: &str) -> String {
    if v.starts_with('"') || v.starts_with('\'') || is_bare_value(v) {
        v.to_string()
    } else {
        let mut s = String::new();
        let _ = write_quoted(&mut s, v);
        s
    }
}

fn list(items: &[Text]) -> String {
    let v: Vec<String> = items.iter().map(|t| value(&t.value)).collect();
    format!("({})", v.join(", "))
}

fn operand(v: &ExcValue, op: Op) -> String {
    match v {
        ExcValue::List(items) => list(items),
        ExcValue::Scalar(t) if op.is_list() => format!("({})", value(&t.value)),
        ExcValue::Scalar(t) => value(&t.value),
    }
}

/// The fields of an exception, one per position.
pub fn fields(e: &Exception) -> Vec<&Text> {
    match &e.fields {
        None => Vec::new(),
        Some(OneOrMany::One(t)) => vec![t],
        Some(OneOrMany::Many(v)) => v.iter().collect(),
    }
}

/// The condition text of one exception, or `None` if it has no values.
pub fn build(e: &Exception) -> Result<Option<String>, ExcProblem> {
    let Some(fs) = &e.fields else {
        return Err(ExcProblem("exception has no 'fields'".into()));
    };
    match fs {
        OneOrMany::One(field) => {
            let comp = match &e.comps {
                None => Op::In,
                Some(OneOrMany::One(c)) => op_of(c.value.trim())
                    .ok_or_else(|| ExcProblem(format!("'{}' is not a supported comparison operator", c.value)))?,
                Some(OneOrMany::Many(_)) => {
                    return Err(ExcProblem("'comps' must be a single operator when 'fields' is a single field".into()))
                }
            };
            if !comp.is_list() {
                return Err(ExcProblem(format!(
                    "operator '{comp}' cannot be used with a single field; use in, pmatch or intersects"
                )));
            }
            let mut items = Vec::new();
            let mut push = |v: &ExcValue| match v {
                ExcValue::Scalar(t) => items.push(value(&t.value)),
                ExcValue::List(l) => items.extend(l.iter().map(|t| value(&t.value))),
            };
            for entry in &e.values {
                match entry {
                    ExcEntry::Single(v, _) => push(v),
                    ExcEntry::Tuple(vals, _) => vals.iter().for_each(&mut push),
                }
            }
            if items.is_empty() {
                return Ok(None);
            }
            Ok(Some(format!("({} {} ({}))", field.value, comp, items.join(", "))))
        }
        OneOrMany::Many(fields) => {
            let comps: Vec<Op> = match &e.comps {
                None => vec![Op::Eq; fields.len()],
                Some(OneOrMany::Many(cs)) => cs
                    .iter()
                    .map(|c| {
                        op_of(c.value.trim()).ok_or_else(|| {
                            ExcProblem(format!("'{}' is not a supported comparison operator", c.value))
                        })
                    })
                    .collect::<Result<_, _>>()?,
                Some(OneOrMany::One(_)) => {
                    return Err(ExcProblem("'comps' must be a list when 'fields' is a list".into()))
                }
            };
            if comps.len() != fields.len() {
                return Err(ExcProblem("fields and comps lists must have equal length".into()));
            }
            let mut tuples = Vec::new();
            for entry in &e.values {
                let ExcEntry::Tuple(vals, _) = entry else {
                    return Err(ExcProblem("each value must be a list with one value per field".into()));
                };
                if vals.len() != fields.len() {
                    return Err(ExcProblem("fields and values lists must have equal length".into()));
                }
                let parts: Vec<String> = fields
                    .iter()
                    .zip(&comps)
                    .zip(vals)
                    .map(|((f, c), v)| format!("{} {} {}", f.value, c, operand(v, *c)))
                    .collect();
                tuples.push(format!("({})", parts.join(" and ")));
            }
            if tuples.is_empty() {
                return Ok(None);
            }
            Ok(Some(tuples.join(" or ")))
        }
    }
}

