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
            Ast::Identifier { name, .. } => f.write_str(name),
            Ast::Check { lhs, op, rhs, .. } => {
                write!(f, "{lhs} {}", op.as_str())?;
                write_rhs(f, *op, rhs)
            }
        }
    }
}
