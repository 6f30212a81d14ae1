//! The filter syntax tree produced by the parser and consumed by macro/list expansion,
//! printing, event-type extraction and compilation.
//!
//! Owns only data shapes: no parsing, no field knowledge. Every node carries a byte [`Span`]
//! into the text it was parsed from (macro bodies keep the spans of their own text).

use std::fmt;

/// A byte range `[start, end)` in the source text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Span {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
}

impl Span {
    /// A span from `start` to `end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Op {
    /// `exists` (unary).
    Exists,
    /// `=`
    Eq,
    /// `==` (same meaning as `=`, kept for printing).
    EqEq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `contains`
    Contains,
    /// `icontains` (ASCII case-insensitive).
    IContains,
    /// `bcontains` (hex byte string).
    BContains,
    /// `startswith`
    StartsWith,
    /// `bstartswith` (hex byte string).
    BStartsWith,
    /// `endswith`
    EndsWith,
    /// `glob` (fnmatch-style).
    Glob,
    /// `iglob` (case-insensitive glob).
    IGlob,
    /// `regex` (anchored at both ends).
    Regex,
    /// `in (…)`
    In,
    /// `intersects (…)`
    Intersects,
    /// `pmatch (…)` (path prefix match).
    Pmatch,
}

impl Op {
    /// The operator as written in filter text.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Exists => "exists",
            Op::Eq => "=",
            Op::EqEq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Contains => "contains",
            Op::IContains => "icontains",
            Op::BContains => "bcontains",
            Op::StartsWith => "startswith",
            Op::BStartsWith => "bstartswith",
            Op::EndsWith => "endswith",
            Op::Glob => "glob",
            Op::IGlob => "iglob",
            Op::Regex => "regex",
            Op::In => "in",
            Op::Intersects => "intersects",
            Op::Pmatch => "pmatch",
        }
    }
    /// `<`, `<=`, `>`, `>=`: the right side must be a number (or a field).
    pub fn is_numeric(self) -> bool {
        matches!(self, Op::Lt | Op::Le | Op::Gt | Op::Ge)
    }
    /// `in`, `intersects`, `pmatch`: the right side is a list.
    pub fn is_list(self) -> bool {
        matches!(self, Op::In | Op::Intersects | Op::Pmatch)
    }
    /// Every operator, in the parser's lookup order.
    pub const ALL: [Op; 20] = [
        Op::Exists,
        Op::Le,
        Op::Lt,
        Op::Ge,
        Op::Gt,
        Op::EqEq,
        Op::Eq,
        Op::Ne,
        Op::Glob,
        Op::IGlob,
        Op::Contains,
        Op::IContains,
        Op::BContains,
        Op::StartsWith,
        Op::BStartsWith,
        Op::EndsWith,
        Op::Regex,
        Op::Intersects,
        Op::In,
        Op::Pmatch,
    ];
}

/// A field transformer applied to a field value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transformer {
    /// `tolower(…)`: ASCII lower case.
    ToLower,
    /// `toupper(…)`: ASCII upper case.
    ToUpper,
    /// `b64(…)`: base64 decode.
    B64,
    /// `basename(…)`: text after the last `/`.
    Basename,
    /// `len(…)`: length in bytes (or number of items of a list field).
    Len,
}

impl Transformer {
    /// The name as written, without `(`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transformer::ToLower => "tolower",
            Transformer::ToUpper => "toupper",
            Transformer::B64 => "b64",
            Transformer::Basename => "basename",
            Transformer::Len => "len",
        }
    }
    /// Every transformer.
    pub const ALL: [Transformer; 5] = [
        Transformer::ToLower,
        Transformer::ToUpper,
        Transformer::B64,
        Transformer::Basename,
        Transformer::Len,
    ];
}

/// A scalar value as written: a quoted or bare string (or a number, which is bare).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Literal {
    /// The text after unescaping.
    pub value: String,
    /// Whether it was written in quotes (a quoted value is never a list name).
    pub quoted: bool,
    /// Where it was written.
    pub span: Span,
}

/// A field argument: `proc.aname[2]`, `evt.arg[1]`, `container.mount.dest["/x"]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldArg {
    /// The argument text after unescaping.
    pub value: String,
    /// Whether it was quoted.
    pub quoted: bool,
    /// Where it was written.
    pub span: Span,
}

/// A field reference such as `fd.name` or `proc.aname[2]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRef {
    /// The dotted name (`evt.arg.flags` stays whole; the registry splits it).
    pub name: String,
    /// The bracketed argument, if any.
    pub arg: Option<FieldArg>,
    /// Where it was written.
    pub span: Span,
}

/// A field, possibly wrapped in transformers.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Operand {
    /// A plain field.
    Field(FieldRef),
    /// `transformer(operand)`.
    Transform {
        /// The transformer.
        func: Transformer,
        /// What it applies to.
        arg: Box<Operand>,
        /// The whole `f(…)` text.
        span: Span,
    },
}

impl Operand {
    /// The source span.
    pub fn span(&self) -> Span {
        match self {
            Operand::Field(f) => f.span,
            Operand::Transform { span, .. } => *span,
        }
    }
    /// The innermost field.
    pub fn field(&self) -> &FieldRef {
        match self {
            Operand::Field(f) => f,
            Operand::Transform { arg, .. } => arg.field(),
        }
    }
}

/// The right-hand side of a check.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Rhs {
    /// Nothing (`exists`).
    None,
    /// One value; with a list operator a bare value is a list name to substitute.
    Value(Literal),
    /// A parenthesised list of values.
    List {
        /// The items.
        items: Vec<Literal>,
        /// The `( … )` text.
        span: Span,
    },
    /// Another field: `val(f)` or a transformer such as `tolower(f)`.
    Field(Operand),
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ast {
    /// All children must match (two or more).
    And {
        /// The operands.
        children: Vec<Ast>,
        /// Source span.
        span: Span,
    },
    /// Any child must match (two or more).
    Or {
        /// The operands.
        children: Vec<Ast>,
        /// Source span.
        span: Span,
    },
    /// Negation.
    Not {
        /// The negated expression.
        child: Box<Ast>,
        /// Source span.
        span: Span,
    },
    /// A bare word in condition position: a macro reference.
    Identifier {
        /// The macro name.
        name: String,
        /// Source span.
        span: Span,
    },
    /// `lhs op rhs`.
    Check {
        /// The field side.
        lhs: Operand,
        /// The operator.
        op: Op,
        /// The value side.
        rhs: Rhs,
        /// Source span.
        span: Span,
    },
}

impl Ast {
    /// The source span of this node.
    pub fn span(&self) -> Span {
        match self {
            Ast::And { span, .. }
            | Ast::Or { span, .. }
            | Ast::Not { span, .. }
            | Ast::Identifier { span, .. }
            | Ast::Check { span, .. } => *span,
        }
    }

    /// A copy with every span zeroed, for structural comparison.
    pub fn without_spans(&self) -> Ast {
        let mut a = self.clone();
        a.map_spans(&mut |_| Span::default());
        a
    }

    /// Rewrites every span in place (e.g. to point macro nodes at the referencing identifier).
    pub fn map_spans(&mut self, f: &mut dyn FnMut(Span) -> Span) {
        fn lit(l: &mut Literal, f: &mut dyn FnMut(Span) -> Span) {
            l.span = f(l.span);
        }
        fn operand(o: &mut Operand, f: &mut dyn FnMut(Span) -> Span) {
            match o {
                Operand::Field(fr) => {
                    fr.span = f(fr.span);
                    if let Some(a) = &mut fr.arg {
                        a.span = f(a.span);
                    }
                }
                Operand::Transform { arg, span, .. } => {
                    *span = f(*span);
                    operand(arg, f);
                }
            }
        }
        match self {
            Ast::And { children, span } | Ast::Or { children, span } => {
                *span = f(*span);
                children.iter_mut().for_each(|c| c.map_spans(f));
            }
            Ast::Not { child, span } => {
                *span = f(*span);
                child.map_spans(f);
            }
            Ast::Identifier { span, .. } => *span = f(*span),
            Ast::Check { lhs, rhs, span, .. } => {
                *span = f(*span);
                operand(lhs, f);
                match rhs {
                    Rhs::None => {}
                    Rhs::Value(l) => lit(l, f),
                    Rhs::List { items, span } => {
                        *span = f(*span);
                        items.iter_mut().for_each(|l| lit(l, f));
                    }
                    Rhs::Field(o) => operand(o, f),
                }
            }
        }
    }

    /// Nesting depth (a leaf is 1).
    pub fn depth(&self) -> usize {
        match self {
            Ast::And { children, .. } | Ast::Or { children, .. } => {
                1 + children.iter().map(Ast::depth).max().unwrap_or(0)
            }
            Ast::Not { child, .. } => 1 + child.depth(),
            _ => 1,
        }
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        match self {
            Ast::And { children, .. } | Ast::Or { children, .. } => {
                1 + children.iter().map(Ast::node_count).sum::<usize>()
            }
            Ast::Not { child, .. } => 1 + child.node_count(),
            _ => 1,
        }
    }

    /// Calls `f` on every identifier (macro reference), in order.
    pub fn for_each_identifier(&self, f: &mut dyn FnMut(&str, Span)) {
        match self {
            Ast::And { children, .. } | Ast::Or { children, .. } => {
                children.iter().for_each(|c| c.for_each_identifier(f))
            }
            Ast::Not { child, .. } => child.for_each_identifier(f),
            Ast::Identifier { name, span } => f(name, *span),
            Ast::Check { .. } => {}
        }
    }

    /// Calls `f` on every field reference (both sides of checks), in order.
    pub fn for_each_field(&self, f: &mut dyn FnMut(&FieldRef)) {
        match self {
            Ast::And { children, .. } | Ast::Or { children, .. } => {
                children.iter().for_each(|c| c.for_each_field(f))
            }
            Ast::Not { child, .. } => child.for_each_field(f),
            Ast::Identifier { .. } => {}
            Ast::Check { lhs, rhs, .. } => {
                f(lhs.field());
                if let Rhs::Field(o) = rhs {
                    f(o.field());
                }
            }
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
