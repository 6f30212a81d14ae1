//! Check-level productions of the filter grammar (see the EBNF in `parser.rs`): fields and
//! their arguments, transformers, operators, and the value, list and `val()` operands.
//!
//! Owns no state of its own: these are methods of the parser in `parser.rs`.

use super::ast::{Ast, FieldArg, FieldRef, Literal, Op, Operand, Rhs, Span, Transformer};
use super::lexer::is_bare_value_byte;
use super::parser::{PResult, Parser};

impl Parser<'_> {
    pub(super) fn transformer_name(&mut self) -> Option<Transformer> {
        for t in Transformer::ALL {
            let rest = &self.lx.src.as_bytes()[self.lx.pos..];
            let n = t.as_str().len();
            if rest.starts_with(t.as_str().as_bytes()) && rest.get(n) == Some(&b'(') {
                self.lx.lit(t.as_str());
                self.lx.lit("(");
                return Some(t);
            }
        }
        None
    }

    pub(super) fn field_rest(&mut self, name: &str, start: usize) -> PResult<FieldRef> {
        let mut arg = None;
        if self.lx.lit("[") {
            let astart = self.lx.pos;
            let (value, quoted) = if let Some(q) = self.lx.quoted()? {
                (q, true)
            } else if let Some(b) = self.lx.field_arg_bare() {
                (b.to_string(), false)
            } else {
                return Err(
                    self.err("expected a valid field argument: a quoted string or a bare string")
                );
            };
            arg = Some(FieldArg {
                value,
                quoted,
                span: Span::new(astart, self.lx.pos),
            });
            if !self.lx.lit("]") {
                return Err(self.err("expected a ']' token"));
            }
        }
        Ok(FieldRef {
            name: name.to_string(),
            arg,
            span: Span::new(start, self.lx.pos),
        })
    }

    /// The rest of `t( … )` after the `(`.
    pub(super) fn transformer_rest(&mut self, func: Transformer, start: usize) -> PResult<Operand> {
        self.enter()?;
        let r = self.transformer_inner(func, start);
        self.depth -= 1;
        r
    }

    pub(super) fn transformer_inner(
        &mut self,
        func: Transformer,
        start: usize,
    ) -> PResult<Operand> {
        self.lx.blank();
        let astart = self.lx.pos;
        let arg = if let Some(t) = self.transformer_name() {
            self.transformer_rest(t, astart)?
        } else if let Some(name) = self.lx.field_name() {
            Operand::Field(self.field_rest(name, astart)?)
        } else {
            return Err(self.err(
                "expected a field or a nested valid transformer: 'val', 'tolower', 'toupper', 'b64', 'basename', 'len'",
            ));
        };
        self.lx.blank();
        if !self.lx.lit(")") {
            return Err(self.err("expected a ')' token closing the transformer"));
        }
        Ok(Operand::Transform {
            func,
            arg: Box::new(arg),
            span: Span::new(start, self.lx.pos),
        })
    }

    pub(super) fn operator(&mut self) -> Option<Op> {
        for op in Op::ALL {
            let ok = match op {
                Op::Glob
                | Op::IGlob
                | Op::Contains
                | Op::IContains
                | Op::BContains
                | Op::StartsWith
                | Op::BStartsWith
                | Op::EndsWith
                | Op::Regex => self.lx.word_blank(op.as_str()),
                _ => self.lx.lit(op.as_str()),
            };
            if ok {
                return Some(op);
            }
        }
        None
    }

    pub(super) fn condition(&mut self, lhs: Operand, start: usize) -> PResult<Ast> {
        self.lx.blank();
        let op = match self.operator() {
            Some(op) => op,
            None => {
                return Err(self.err(
                    "expected a valid check operator: one of 'exists', '<=', '<', '>=', '>', '==', '=', '!=', 'glob', 'iglob', 'contains', 'icontains', 'bcontains', 'startswith', 'bstartswith', 'endswith', 'regex', 'intersects', 'in', 'pmatch'",
                ))
            }
        };
        let rhs = match op {
            Op::Exists => Rhs::None,
            _ if op.is_numeric() => self.num_value_or_transformer()?,
            _ if op.is_list() => self.list_value_or_transformer()?,
            _ => match self.transformer_or_val()? {
                Some(o) => Rhs::Field(o),
                None => Rhs::Value(self.str_value(false)?),
            },
        };
        Ok(Ast::Check {
            lhs,
            op,
            rhs,
            span: Span::new(start, self.lx.pos),
        })
    }

    pub(super) fn num_value_or_transformer(&mut self) -> PResult<Rhs> {
        if let Some(o) = self.transformer_or_val()? {
            return Ok(Rhs::Field(o));
        }
        let start = self.lx.pos;
        match self.lx.number() {
            Some(n) => Ok(Rhs::Value(Literal {
                value: n.to_string(),
                quoted: false,
                span: Span::new(start, self.lx.pos),
            })),
            None => Err(self.err(
                "expected a number value or a field with a valid transformer: 'val', 'tolower', 'toupper', 'b64', 'basename', 'len'",
            )),
        }
    }

    /// A quoted or bare string value (after optional blanks).
    pub(super) fn str_value(&mut self, in_list: bool) -> PResult<Literal> {
        self.lx.blank();
        let start = self.lx.pos;
        let (value, quoted) = if let Some(q) = self.lx.quoted()? {
            (q, true)
        } else if let Some(b) = self.lx.bare_str() {
            (b.to_string(), false)
        } else if in_list {
            return Err(self.err("expected a string value"));
        } else {
            return Err(self.err(
                "expected a string value or a field with a valid transformer: 'val', 'tolower', 'toupper', 'b64', 'basename', 'len'",
            ));
        };
        Ok(Literal {
            value,
            quoted,
            span: Span::new(start, self.lx.pos),
        })
    }

    pub(super) fn list_value_or_transformer(&mut self) -> PResult<Rhs> {
        self.lx.blank();
        let start = self.lx.pos;
        if self.lx.lit("(") {
            let mut items = Vec::new();
            self.lx.blank();
            let at_value = matches!(self.lx.peek(), Some(b) if is_bare_value_byte(b) || b == b'"' || b == b'\'');
            if at_value {
                items.push(self.str_value(true)?);
                self.lx.blank();
                while self.lx.lit(",") {
                    items.push(self.str_value(true)?);
                    self.lx.blank();
                }
            }
            if !self.lx.lit(")") {
                return Err(self.err("expected a ')' token"));
            }
            return Ok(Rhs::List {
                items,
                span: Span::new(start, self.lx.pos),
            });
        }
        if let Some(o) = self.transformer_or_val()? {
            return Ok(Rhs::Field(o));
        }
        if let Some(name) = self.lx.identifier() {
            return Ok(Rhs::Value(Literal {
                value: name.to_string(),
                quoted: false,
                span: Span::new(start, self.lx.pos),
            }));
        }
        Err(self.err(
            "expected a list, an identifier, or a field with a valid transformer: 'val', 'tolower', 'toupper', 'b64', 'basename', 'len'",
        ))
    }

    pub(super) fn transformer_or_val(&mut self) -> PResult<Option<Operand>> {
        self.lx.blank();
        let start = self.lx.pos;
        if self.lx.lit("val(") {
            self.lx.blank();
            let fstart = self.lx.pos;
            let Some(name) = self.lx.field_name() else {
                return Err(self.err("expected a field within 'val' transformer"));
            };
            let field = self.field_rest(name, fstart)?;
            self.lx.blank();
            if !self.lx.lit(")") {
                return Err(self.err("expected a ')' token closing the transformer"));
            }
            let _ = start;
            return Ok(Some(Operand::Field(field)));
        }
        if let Some(t) = self.transformer_name() {
            return Ok(Some(self.transformer_rest(t, start)?));
        }
        Ok(None)
    }
}
