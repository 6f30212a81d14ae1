//! Which `evt.type` values a filter can match (Falco's `filter_evttype_resolver`).
//!
//! Owns the set algebra only. The rule engine indexes rules by the result, so the answer
//! must be a superset of what can match: any check that is not `evt.type =`/`==`/`!=`/`in`
//! on the plain field counts as "every type".

use super::ast::{Ast, Op, Operand, Rhs};
use std::collections::BTreeSet;

/// The event types `ast` can match, out of `universe` (every known event type name);
/// `None` means all of them. Run it on the macro-expanded, list-substituted AST.
///
/// Rules, as in libsinsp's resolver: the walk carries a polarity that `not` flips.
/// Under positive polarity `evt.type = x` / `in (…)` give those names (names outside the
/// universe match nothing), `evt.type != x` all but `x`, `and` intersects and `or` unites;
/// under negation (De Morgan) a type check gives its complement, `and` unites and `or`
/// intersects. Any other check gives "all" in both polarities, so `not (evt.type=x and
/// proc.name=y)` is "all", not "all but x".
pub fn event_types(ast: &Ast, universe: &BTreeSet<String>) -> Option<BTreeSet<String>> {
    let set = resolve(ast, universe, false);
    if set.len() == universe.len() {
        None
    } else {
        Some(set)
    }
}

fn names(rhs: &Rhs, universe: &BTreeSet<String>) -> BTreeSet<String> {
    let items: Vec<&str> = match rhs {
        Rhs::Value(l) => vec![l.value.as_str()],
        Rhs::List { items, .. } => items.iter().map(|l| l.value.as_str()).collect(),
        Rhs::None | Rhs::Field(_) => Vec::new(),
    };
    items
        .into_iter()
        .filter(|n| universe.contains(*n))
        .map(str::to_string)
        .collect()
}

fn intersect(children: &[Ast], universe: &BTreeSet<String>, neg: bool) -> BTreeSet<String> {
    let mut acc = universe.clone();
    for c in children {
        let s = resolve(c, universe, neg);
        acc.retain(|n| s.contains(n));
    }
    acc
}

fn unite(children: &[Ast], universe: &BTreeSet<String>, neg: bool) -> BTreeSet<String> {
    children
        .iter()
        .flat_map(|c| resolve(c, universe, neg))
        .collect()
}

/// The types that `ast` (or, with `neg`, `not ast`) may match.
fn resolve(ast: &Ast, universe: &BTreeSet<String>, neg: bool) -> BTreeSet<String> {
    match ast {
        Ast::And { children, .. } if neg => unite(children, universe, neg),
        Ast::And { children, .. } => intersect(children, universe, neg),
        Ast::Or { children, .. } if neg => intersect(children, universe, neg),
        Ast::Or { children, .. } => unite(children, universe, neg),
        Ast::Not { child, .. } => resolve(child, universe, !neg),
        Ast::Identifier { .. } => universe.clone(),
        Ast::Check {
            lhs: Operand::Field(f),
            op,
            rhs,
            ..
        } if f.name == "evt.type"
            && f.arg.is_none()
            && matches!(op, Op::Eq | Op::EqEq | Op::Ne | Op::In)
            && matches!(rhs, Rhs::Value(_) | Rhs::List { .. }) =>
        {
            let s = names(rhs, universe);
            // `!=` under negation is `=`, and `=` under negation is `!=`.
            if (*op == Op::Ne) != neg {
                universe.difference(&s).cloned().collect()
            } else {
                s
            }
        }
        Ast::Check { .. } => universe.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::parse;

    fn types(f: &str) -> Option<Vec<String>> {
        let u: BTreeSet<String> = ["open", "openat", "execve", "connect", "read"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        event_types(&parse(f).unwrap(), &u).map(|s| s.into_iter().collect())
    }

    fn v(x: &[&str]) -> Option<Vec<String>> {
        Some(x.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn resolver() {
        assert_eq!(types("proc.name=cat"), None);
        assert_eq!(types("evt.type=open"), v(&["open"]));
        assert_eq!(
            types("evt.type in (open, openat, bogus)"),
            v(&["open", "openat"])
        );
        assert_eq!(
            types("evt.type != open"),
            v(&["connect", "execve", "openat", "read"])
        );
        assert_eq!(types("evt.type=open and proc.name=cat"), v(&["open"]));
        assert_eq!(types("evt.type=open or proc.name=cat"), None);
        assert_eq!(
            types("evt.type=open or evt.type=execve"),
            v(&["execve", "open"])
        );
        assert_eq!(
            types("evt.type in (open, read) and evt.type in (read, execve)"),
            v(&["read"])
        );
        assert_eq!(
            types("not evt.type in (open, openat, read)"),
            v(&["connect", "execve"])
        );
        assert_eq!(types("not proc.name=cat"), None);
        assert_eq!(types("evt.type=bogus"), v(&[]));
        assert_eq!(types("evt.type contains open"), None);
        assert_eq!(types("evt.type = val(proc.name)"), None);
        assert_eq!(types("evt.type != val(proc.name)"), None);
        assert_eq!(types("tolower(evt.type) = open"), None);
        // Negation of a mixed conjunction cannot exclude a type (audit finding).
        assert_eq!(
            types("not (evt.type=openat and proc.name=nonexistent)"),
            None
        );
        assert_eq!(
            types("evt.type=openat and not proc.name=nonexistent"),
            v(&["openat"])
        );
        assert_eq!(
            types("not (evt.type=open or proc.name=cat)"),
            v(&["connect", "execve", "openat", "read"])
        );
        assert_eq!(
            types("not (evt.type=open or evt.type=read)"),
            v(&["connect", "execve", "openat"])
        );
        assert_eq!(
            types("not (evt.type=open and evt.type=read)"),
            None // not open or not read: every type
        );
        assert_eq!(
            types("not (evt.type in (open, read) and not evt.type=read)"),
            v(&["connect", "execve", "openat", "read"])
        );
        assert_eq!(types("not not evt.type=open"), v(&["open"]));
        assert_eq!(types("not evt.type != open"), v(&["open"]));
        assert_eq!(
            types("not (proc.name=cat or evt.type=open)"),
            v(&["connect", "execve", "openat", "read"])
        );
        assert_eq!(types("not (evt.type=open and a_macro)"), None);
    }
}
