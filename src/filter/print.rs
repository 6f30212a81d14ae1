//! Canonical filter text for an [`Ast`] (`Display`), such that parsing the printed text
//! gives back the same tree (spans aside).
//!
//! Owns printing only. Quoted strings escape every control character, so printed filters
//! are safe to show on a terminal.

use super::ast::{Ast, FieldArg, FieldRef, Literal, Op, Operand, Rhs};
use super::lexer::{is_bare_arg_byte, is_bare_value_byte};
use std::fmt::{self, Display, Formatter, Write};

/// Writes `s` as a double-quoted filter string that the parser reads back as `s`.
pub fn write_quoted(f: &mut impl Write, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let n = s.len();
    for (i, c) in s.char_indices() {
        match c {
            // The scanner would take `\"` at the end as an escaped quote: "\ " is a backslash.
            '\\' if i + 1 == n => f.write_str("\\ ")?,
            '\\' => f.write_str("\\\\")?,
            '"' => f.write_str("\\\"")?,
            '\u{8}' => f.write_str("\\b")?,
            '\u{c}' => f.write_str("\\f")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_ascii_control() => write!(f, "\\x{:02x}", c as u32)?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

/// True if `s` reads back as one bare value.
pub fn is_bare_value(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_bare_value_byte)
}

fn is_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if !self.quoted && is_bare_value(&self.value) {
            f.write_str(&self.value)
        } else {
            write_quoted(f, &self.value)
        }
    }
}

impl Display for FieldArg {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if !self.quoted && !self.value.is_empty() && self.value.bytes().all(is_bare_arg_byte) {
            f.write_str(&self.value)
        } else {
            write_quoted(f, &self.value)
        }
    }
}

impl Display for FieldRef {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(a) = &self.arg {
            write!(f, "[{a}]")?;
        }
        Ok(())
    }
}

impl Display for Operand {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Field(fr) => fr.fmt(f),
            Operand::Transform { func, arg, .. } => write!(f, "{}({arg})", func.as_str()),
        }
    }
}

fn write_rhs(f: &mut Formatter<'_>, op: Op, rhs: &Rhs) -> fmt::Result {
    match rhs {
        Rhs::None => Ok(()),
        Rhs::Value(l) if op.is_list() && (l.quoted || !is_identifier(&l.value)) => {
            write!(f, " ({l})")
        }
        Rhs::Value(l) => write!(f, " {l}"),
        Rhs::List { items, .. } => {
            f.write_str(" (")?;
            for (i, l) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                l.fmt(f)?;
            }
            f.write_char(')')
        }
        Rhs::Field(Operand::Field(fr)) => write!(f, " val({fr})"),
        Rhs::Field(o) => write!(f, " {o}"),
    }
}

fn write_child(f: &mut Formatter<'_>, child: &Ast, paren: bool) -> fmt::Result {
    if paren {
        write!(f, "({child})")
    } else {
        child.fmt(f)
    }
}

impl Display for Ast {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Ast::And { children, .. } => {
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" and ")?;
                    }
                    write_child(f, c, matches!(c, Ast::And { .. } | Ast::Or { .. }))?;
                }
                Ok(())
            }
            Ast::Or { children, .. } => {
                for (i, c) in children.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    write_child(f, c, matches!(c, Ast::Or { .. }))?;
                }
                Ok(())
            }
            Ast::Not { child, .. } => {
                f.write_str("not ")?;
                let paren = matches!(**child, Ast::And { .. } | Ast::Or { .. } | Ast::Not { .. });
                write_child(f, child, paren)
            }
            // `not` followed by a blank reads as the operator: in parentheses
            // it is a name again.
            Ast::Identifier { name, .. } if name == "not" => f.write_str("(not)"),
            Ast::Identifier { name, .. } => f.write_str(name),
            Ast::Check { lhs, op, rhs, .. } => {
                write!(f, "{lhs} {}", op.as_str())?;
                write_rhs(f, *op, rhs)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::ast::{Span, Transformer};
    use super::super::parse;
    use super::*;
    use proptest::prelude::*;

    fn sp() -> Span {
        Span::default()
    }

    fn bare() -> impl Strategy<Value = Literal> {
        "[a-zA-Z0-9_./*:-]{1,8}".prop_map(|value| Literal {
            value,
            quoted: false,
            span: sp(),
        })
    }

    fn quoted() -> impl Strategy<Value = Literal> {
        "(\\PC|[\\\\\"' \t\n\u{1}\u{7f}]){0,10}".prop_map(|value| Literal {
            value,
            quoted: true,
            span: sp(),
        })
    }

    fn literal() -> impl Strategy<Value = Literal> {
        prop_oneof![bare(), quoted()]
    }

    fn number() -> impl Strategy<Value = Literal> {
        "[+-]?[0-9]{1,6}|0x[0-9a-fA-F]{1,6}|[0-9]{1,3}\\.[0-9]{0,3}(e[+-][0-9])?".prop_map(
            |value| Literal {
                value,
                quoted: false,
                span: sp(),
            },
        )
    }

    fn ident() -> impl Strategy<Value = String> {
        // The parser also reads the keywords as names where no operator fits
        // (`(not)`, `(and)`): they must print back as names.
        prop_oneof![
            8 => "[a-zA-Z][a-zA-Z0-9_]{0,6}",
            1 => prop_oneof![Just("not"), Just("and"), Just("or")].prop_map(String::from),
        ]
    }

    fn field() -> impl Strategy<Value = FieldRef> {
        let arg = prop_oneof![
            "[a-z0-9*/._-]{1,6}".prop_map(|value| FieldArg {
                value,
                quoted: false,
                span: sp()
            }),
            "(\\PC|[\\\\\"' \\]\\[]){0,6}".prop_map(|value| FieldArg {
                value,
                quoted: true,
                span: sp()
            }),
        ];
        (
            ident(),
            "[a-z][a-z0-9_]{0,5}(\\.[a-z][a-z0-9_]{0,4}){0,2}",
            proptest::option::of(arg),
        )
            .prop_map(|(a, b, arg)| FieldRef {
                name: format!("{a}.{b}"),
                arg,
                span: sp(),
            })
    }

    fn operand() -> impl Strategy<Value = Operand> {
        field()
            .prop_map(Operand::Field)
            .prop_recursive(3, 4, 1, |inner| {
                (proptest::sample::select(Transformer::ALL.to_vec()), inner).prop_map(
                    |(func, arg)| Operand::Transform {
                        func,
                        arg: Box::new(arg),
                        span: sp(),
                    },
                )
            })
    }

    fn check() -> impl Strategy<Value = Ast> {
        (operand(), proptest::sample::select(Op::ALL.to_vec()))
            .prop_flat_map(|(lhs, op)| {
                let rhs: BoxedStrategy<Rhs> = match op {
                    Op::Exists => Just(Rhs::None).boxed(),
                    _ if op.is_numeric() => prop_oneof![
                        number().prop_map(Rhs::Value),
                        operand().prop_map(Rhs::Field)
                    ]
                    .boxed(),
                    _ if op.is_list() => prop_oneof![
                        proptest::collection::vec(literal(), 0..5)
                            .prop_map(|items| Rhs::List { items, span: sp() }),
                        ident().prop_map(|value| Rhs::Value(Literal {
                            value,
                            quoted: false,
                            span: sp()
                        })),
                        operand().prop_map(Rhs::Field),
                    ]
                    .boxed(),
                    _ => prop_oneof![
                        literal().prop_map(Rhs::Value),
                        operand().prop_map(Rhs::Field)
                    ]
                    .boxed(),
                };
                (Just(lhs), Just(op), rhs)
            })
            .prop_map(|(lhs, op, rhs)| Ast::Check {
                lhs,
                op,
                rhs,
                span: sp(),
            })
    }

    fn ast() -> impl Strategy<Value = Ast> {
        let leaf = prop_oneof![
            check(),
            ident().prop_map(|name| Ast::Identifier { name, span: sp() })
        ];
        leaf.prop_recursive(5, 40, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 2..4).prop_map(|children| Ast::And {
                    children,
                    span: sp()
                }),
                proptest::collection::vec(inner.clone(), 2..4).prop_map(|children| Ast::Or {
                    children,
                    span: sp()
                }),
                inner.prop_map(|c| Ast::Not {
                    child: Box::new(c),
                    span: sp()
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn print_parse_roundtrip(a in ast()) {
            let text = a.to_string();
            let back = parse(&text).map_err(|e| TestCaseError::fail(e.render(&text)))?;
            prop_assert_eq!(back.without_spans(), a.without_spans(), "text: {}", text);
            prop_assert!(!text.chars().any(|c| c.is_control() && c != ' '), "raw control char in {:?}", text);
        }
    }

    #[test]
    fn canonical_text() {
        for (src, want) in [
            ("a and (b and c) or not not d", "a and (b and c) or d"),
            ("not (not a)", "not (not a)"),
            // A name `not` (read where no operator fits) stays a name.
            ("(not) and not (not)", "(not) and not (not)"),
            (
                "proc.name in(a,'b c' , \"d\")",
                "proc.name in (a, \"b c\", \"d\")",
            ),
            ("fd.num>=0x10", "fd.num >= 0x10"),
            (
                "tolower( proc.name )=val(proc.pname)",
                "tolower(proc.name) = val(proc.pname)",
            ),
            (
                "proc.aname[2]=x and c.m[\"/a b\"] exists",
                "proc.aname[2] = x and c.m[\"/a b\"] exists",
            ),
            ("x.y = 'a\\\\b'", "x.y = \"a\\\\b\""),
            ("x.y in lst", "x.y in lst"),
        ] {
            assert_eq!(parse(src).unwrap().to_string(), want, "{src}");
        }
    }
}
