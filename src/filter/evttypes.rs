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
    let set: BTreeSet<String> = match resolve_types(ast) {
        Types::Only(s) => s.into_iter().filter(|n| universe.contains(n)).collect(),
        Types::AllBut(s) => universe.difference(&s).cloned().collect(),
    };
    (set.len() != universe.len()).then_some(set)
}

/// The `evt.type` values a filter can match, whatever the set of known types:
/// [`event_types`] without a universe (names the capture does not know are
/// kept; they match no event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Types {
    /// These names only.
    Only(BTreeSet<String>),
    /// Every name but these.
    AllBut(BTreeSet<String>),
}

impl Types {
    /// Whether events of type `name` may match.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Types::Only(s) => s.contains(name),
            Types::AllBut(s) => !s.contains(name),
        }
    }

    fn all() -> Self {
        Types::AllBut(BTreeSet::new())
    }

    fn complement(self) -> Self {
        match self {
            Types::Only(s) => Types::AllBut(s),
            Types::AllBut(s) => Types::Only(s),
        }
    }

    fn intersect(self, o: Self) -> Self {
        use Types::*;
        match (self, o) {
            (Only(mut a), Only(b)) => {
                a.retain(|n| b.contains(n));
                Only(a)
            }
            (Only(mut a), AllBut(b)) | (AllBut(b), Only(mut a)) => {
                a.retain(|n| !b.contains(n));
                Only(a)
            }
            (AllBut(mut a), AllBut(b)) => {
                a.extend(b);
                AllBut(a)
            }
        }
    }

    fn unite(self, o: Self) -> Self {
        self.complement().intersect(o.complement()).complement()
    }
}

/// The types `ast` can match, as [`event_types`] finds them, before they are
/// put in a universe.
pub fn resolve_types(ast: &Ast) -> Types {
    resolve(ast, false)
}

/// The types that `ast` (or, with `neg`, `not ast`) may match.
fn resolve(ast: &Ast, neg: bool) -> Types {
    let fold = |children: &[Ast], and: bool| {
        let parts = children.iter().map(|c| resolve(c, neg));
        // Under negation `and` unites and `or` intersects (De Morgan).
        if and != neg {
            parts.fold(Types::all(), Types::intersect)
        } else {
            parts.fold(Types::Only(BTreeSet::new()), Types::unite)
        }
    };
    match ast {
        Ast::And { children, .. } => fold(children, true),
        Ast::Or { children, .. } => fold(children, false),
        Ast::Not { child, .. } => resolve(child, !neg),
        Ast::Identifier { .. } => Types::all(),
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
            let s = names(rhs);
            // `!=` under negation is `=`, and `=` under negation is `!=`.
            if (*op == Op::Ne) != neg {
                Types::AllBut(s)
            } else {
                Types::Only(s)
            }
        }
        Ast::Check { .. } => Types::all(),
    }
}

fn names(rhs: &Rhs) -> BTreeSet<String> {
    match rhs {
        Rhs::Value(l) => BTreeSet::from([l.value.clone()]),
        Rhs::List { items, .. } => items.iter().map(|l| l.value.clone()).collect(),
        Rhs::None | Rhs::Field(_) => BTreeSet::new(),
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
