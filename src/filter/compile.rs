//! Compilation of an [`Ast`] into an executable [`Filter`].
//!
//! Owns name resolution (once, through the caller's [`FieldRegistry`]), type checking of
//! operators and transformers, conversion of literals to the field type (numbers, booleans,
//! IP networks, hex byte strings), regex construction and cheapest-first ordering of
//! `and`/`or` operands. Errors point at the offending token.

use super::ast::{Ast, FieldArg, Literal, Op, Operand, Rhs, Span, Transformer};
use super::error::{ErrorKind, FilterError};
use super::eval::{BytesPred, Check, CmpOp, Extract, FieldSource, Node, Pred, Scratch, StrSet};
use super::value::FieldType;
use ipnet::IpNet;
use std::net::IpAddr;

/// Maximum nesting of a compiled expression (Falco's compiler allows 1000).
pub const MAX_COMPILE_DEPTH: usize = 1000;

/// Resolves field names to the caller's accessors, once per filter.
pub trait FieldRegistry {
    /// Looks up `name` with its optional `[arg]`; an unknown field or a bad argument is an
    /// error at `span` (see [`unknown_field`]).
    fn resolve(
        &self,
        name: &str,
        arg: Option<&FieldArg>,
        span: Span,
    ) -> Result<FieldInfo, FilterError>;

    /// Whether the values of `f` are display text that is already escaped for a
    /// terminal (printers must not escape it again). Default: no.
    fn is_escaped_text(&self, _f: &FieldInfo) -> bool {
        false
    }
}

/// What the registry knows about a field, handed back to the [`FieldSource`] per event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldInfo {
    /// The caller's accessor id.
    pub id: u32,
    /// The (possibly normalised) argument, e.g. `flags` for `evt.arg.flags`.
    pub arg: Option<FieldArg>,
    /// A caller-defined number parsed from the argument once (e.g. an ancestor index).
    pub aux: u64,
    /// The value type.
    pub ty: FieldType,
    /// A list field (`fd.types`): `in` requires every value to be in the set and
    /// `intersects` any. Other multi-valued fields (`proc.aname`) match if any value does.
    pub list: bool,
}

impl FieldInfo {
    /// A scalar field with no argument.
    pub fn new(id: u32, ty: FieldType) -> Self {
        FieldInfo {
            id,
            arg: None,
            aux: 0,
            ty,
            list: false,
        }
    }
}

/// The standard "unknown field" error for registries.
pub fn unknown_field(name: &str, span: Span) -> FilterError {
    FilterError::new(
        ErrorKind::UnknownField,
        span,
        format!("unknown field '{name}'"),
    )
}

/// A compiled filter, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Filter {
    root: Node,
}

impl Filter {
    /// Evaluates the filter against the event behind `src`.
    #[inline]
    pub fn matches<S: FieldSource + ?Sized>(&self, src: &mut S, scratch: &mut Scratch) -> bool {
        self.root.eval(src, scratch)
    }

    /// Every field the filter reads (both sides of checks), in evaluation order.
    pub fn fields(&self) -> Vec<&FieldInfo> {
        fn walk<'a>(n: &'a Node, out: &mut Vec<&'a FieldInfo>) {
            match n {
                Node::And(cs) | Node::Or(cs) => cs.iter().for_each(|c| walk(c, out)),
                Node::Not(c) => walk(c, out),
                Node::Check(c) => {
                    out.push(&c.lhs.field);
                    if let Pred::Field { rhs, .. } = &c.pred {
                        out.push(&rhs.field);
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

/// Compiles an AST (macros must already be expanded).
pub fn compile(ast: &Ast, reg: &dyn FieldRegistry) -> Result<Filter, FilterError> {
    Ok(Filter {
        root: node(ast, reg, 0)?.0,
    })
}

/// Parses and compiles `src`; errors carry line and column.
pub fn compile_str(src: &str, reg: &dyn FieldRegistry) -> Result<Filter, FilterError> {
    let ast = super::parser::parse(src)?;
    compile(&ast, reg).map_err(|e| e.locate(src))
}

fn err(kind: ErrorKind, span: Span, msg: impl Into<String>) -> FilterError {
    FilterError::new(kind, span, msg)
}

/// Compiles a node and estimates its evaluation cost.
fn node(ast: &Ast, reg: &dyn FieldRegistry, depth: usize) -> Result<(Node, u32), FilterError> {
    if depth >= MAX_COMPILE_DEPTH {
        return Err(err(
            ErrorKind::Depth,
            ast.span(),
            format!("exceeded max depth limit of {MAX_COMPILE_DEPTH}"),
        ));
    }
    let group = |children: &[Ast]| -> Result<(Vec<Node>, u32), FilterError> {
        let mut v = children
            .iter()
            .map(|c| node(c, reg, depth + 1))
            .collect::<Result<Vec<_>, _>>()?;
        // Cheapest first: evaluation has no side effects, so order is free.
        v.sort_by_key(|(_, cost)| *cost);
        let cost = v.iter().fold(0u32, |a, (_, c)| a.saturating_add(*c));
        Ok((v.into_iter().map(|(n, _)| n).collect(), cost))
    };
    match ast {
        Ast::And { children, .. } => {
            let (v, c) = group(children)?;
            Ok((Node::And(v.into()), c))
        }
        Ast::Or { children, .. } => {
            let (v, c) = group(children)?;
            Ok((Node::Or(v.into()), c))
        }
        Ast::Not { child, .. } => {
            let (n, c) = node(child, reg, depth + 1)?;
            Ok((Node::Not(Box::new(n)), c))
        }
        Ast::Identifier { name, span } => Err(err(
            ErrorKind::Macro,
            *span,
            format!("Undefined macro '{name}' used in filter."),
        )),
        Ast::Check { lhs, op, rhs, .. } => check(lhs, *op, rhs, reg),
    }
}

/// Resolves an operand; returns the extract and its resulting type.
fn extract(
    o: &Operand,
    reg: &dyn FieldRegistry,
) -> Result<(Extract, FieldType, bool), FilterError> {
    let mut chain = Vec::new();
    let mut cur = o;
    while let Operand::Transform { func, arg, span } = cur {
        chain.push((*func, *span));
        cur = arg;
    }
    let Operand::Field(f) = cur else {
        return Err(err(ErrorKind::Syntax, o.span(), "expected a field"));
    };
    let info = reg.resolve(&f.name, f.arg.as_ref(), f.span)?;
    let (mut ty, mut list) = (info.ty, info.list);
    let mut transforms = Vec::with_capacity(chain.len());
    for (t, span) in chain.into_iter().rev() {
        let ok = match t {
            Transformer::Len => ty.is_stringy() || list,
            _ => ty.is_stringy(),
        };
        if !ok {
            return Err(err(
                ErrorKind::Type,
                span,
                format!(
                    "transformer '{}' does not apply to {} values",
                    t.as_str(),
                    ty.name()
                ),
            ));
        }
        if t == Transformer::Len {
            ty = FieldType::U64;
            list = false;
        }
        transforms.push(t);
    }
    let x = Extract {
        field: info,
        transforms: transforms.into(),
    };
    Ok((x, ty, list))
}

fn check(
    lhs: &Operand,
    op: Op,
    rhs: &Rhs,
    reg: &dyn FieldRegistry,
) -> Result<(Node, u32), FilterError> {
    let (x, ty, list) = extract(lhs, reg)?;
    let mut cost = 2 + 3 * x.transforms.len() as u32 + if list { 2 } else { 0 };
    let all = list && op == Op::In;
    let bad_op = |span: Span| {
        err(
            ErrorKind::Type,
            span,
            format!(
                "operator '{}' is not supported on {} field '{}'",
                op.as_str(),
                ty.name(),
                lhs
            ),
        )
    };
    let pred = match rhs {
        Rhs::None if op == Op::Exists => Pred::Exists,
        Rhs::None => {
            return Err(err(
                ErrorKind::Syntax,
                lhs.span(),
                format!("operator '{op}' needs a value"),
            ))
        }
        _ if op == Op::Exists => {
            return Err(err(
                ErrorKind::Syntax,
                lhs.span(),
                "'exists' takes no value",
            ))
        }
        Rhs::Field(o) => {
            let (rx, rty, _) = extract(o, reg)?;
            let compatible = (ty.is_stringy() && rty.is_stringy())
                || (ty.is_numeric() && rty.is_numeric())
                || (ty.is_ip() && rty.is_ip())
                || (ty == FieldType::Bool && rty == FieldType::Bool);
            if !compatible {
                return Err(err(
                    ErrorKind::Type,
                    o.span(),
                    format!(
                        "cannot compare {} field with {} field '{o}'",
                        ty.name(),
                        rty.name()
                    ),
                ));
            }
            let ok = match op {
                Op::Eq | Op::EqEq | Op::Ne | Op::In | Op::Intersects => true,
                Op::Lt | Op::Le | Op::Gt | Op::Ge => !ty.is_ip() && ty != FieldType::Bool,
                Op::Contains
                | Op::IContains
                | Op::StartsWith
                | Op::EndsWith
                | Op::Glob
                | Op::IGlob => ty.is_stringy(),
                _ => false,
            };
            if !ok {
                return Err(bad_op(o.span()));
            }
            cost += 8 + 3 * rx.transforms.len() as u32;
            Pred::Field { op, rhs: rx }
        }
        Rhs::Value(l) => {
            single_or_list(op, ty, std::slice::from_ref(l), l.span, &mut cost, &bad_op)?
        }
        Rhs::List { items, span } => {
            if !op.is_list() {
                return Err(err(
                    ErrorKind::Syntax,
                    *span,
                    format!("operator '{op}' takes a single value, not a list"),
                ));
            }
            single_or_list(op, ty, items, *span, &mut cost, &bad_op)?
        }
    };
    Ok((Node::Check(Box::new(Check { lhs: x, pred, all })), cost))
}

fn single_or_list(
    op: Op,
    ty: FieldType,
    items: &[Literal],
    span: Span,
    cost: &mut u32,
    bad_op: &dyn Fn(Span) -> FilterError,
) -> Result<Pred, FilterError> {
    let one = || {
        items
            .first()
            .ok_or_else(|| err(ErrorKind::Syntax, span, "missing value"))
    };
    if ty.is_stringy() {
        let bytes = |l: &Literal| -> Box<[u8]> { l.value.as_bytes().into() };
        let p = match op {
            Op::Eq | Op::EqEq => BytesPred::Cmp(CmpOp::Eq, bytes(one()?)),
            Op::Ne => BytesPred::Cmp(CmpOp::Ne, bytes(one()?)),
            Op::Lt => BytesPred::Cmp(CmpOp::Lt, bytes(one()?)),
            Op::Le => BytesPred::Cmp(CmpOp::Le, bytes(one()?)),
            Op::Gt => BytesPred::Cmp(CmpOp::Gt, bytes(one()?)),
            Op::Ge => BytesPred::Cmp(CmpOp::Ge, bytes(one()?)),
            Op::Contains => BytesPred::Contains(Box::new(
                memchr::memmem::Finder::new(one()?.value.as_bytes()).into_owned(),
            )),
            Op::BContains => BytesPred::Contains(Box::new(
                memchr::memmem::Finder::new(&hex(one()?)?).into_owned(),
            )),
            Op::IContains => {
                BytesPred::IContains(one()?.value.to_ascii_lowercase().into_bytes().into())
            }
            Op::StartsWith => BytesPred::StartsWith(bytes(one()?)),
            Op::BStartsWith => BytesPred::StartsWith(hex(one()?)?.into()),
            Op::EndsWith => BytesPred::EndsWith(bytes(one()?)),
            Op::Glob => BytesPred::Glob(bytes(one()?), false),
            Op::IGlob => BytesPred::Glob(bytes(one()?), true),
            Op::Regex => {
                let l = one()?;
                let re = regex::bytes::RegexBuilder::new(&format!("^(?:{})$", l.value))
                    .size_limit(1 << 22)
                    .build()
                    .map_err(|e| {
                        let msg = e
                            .to_string()
                            .lines()
                            .last()
                            .unwrap_or("")
                            .trim()
                            .to_string();
                        err(ErrorKind::Regex, l.span, format!("invalid regex: {msg}"))
                    })?;
                *cost += 10;
                BytesPred::Regex(re)
            }
            Op::In | Op::Intersects => {
                BytesPred::In(StrSet::new(items.iter().map(bytes).collect()))
            }
            Op::Pmatch => BytesPred::Pmatch(
                items
                    .iter()
                    .map(|l| {
                        let v = l.value.as_bytes();
                        let trimmed = if v.len() > 1 && v.ends_with(b"/") {
                            &v[..v.len() - 1]
                        } else {
                            v
                        };
                        trimmed.into()
                    })
                    .collect(),
            ),
            Op::Exists => return Err(bad_op(span)),
        };
        *cost += match &p {
            BytesPred::Cmp(..) | BytesPred::StartsWith(_) | BytesPred::EndsWith(_) => 1,
            BytesPred::In(_) => 2,
            _ => 4,
        };
        return Ok(Pred::Bytes(p));
    }
    if ty.is_ip() {
        let negate = match op {
            Op::Eq | Op::EqEq | Op::In | Op::Intersects => false,
            Op::Ne => true,
            _ => return Err(bad_op(span)),
        };
        let nets = items.iter().map(parse_net).collect::<Result<Vec<_>, _>>()?;
        return Ok(Pred::Ip {
            nets: nets.into(),
            negate,
        });
    }
    // Integers and booleans.
    let parse = |l: &Literal| parse_int(l, ty);
    let cmp = match op {
        Op::Eq | Op::EqEq => CmpOp::Eq,
        Op::Ne => CmpOp::Ne,
        Op::Lt if ty != FieldType::Bool => CmpOp::Lt,
        Op::Le if ty != FieldType::Bool => CmpOp::Le,
        Op::Gt if ty != FieldType::Bool => CmpOp::Gt,
        Op::Ge if ty != FieldType::Bool => CmpOp::Ge,
        Op::In | Op::Intersects => {
            let mut v = items.iter().map(parse).collect::<Result<Vec<_>, _>>()?;
            v.sort_unstable();
            v.dedup();
            return Ok(Pred::IntIn(v.into()));
        }
        _ => return Err(bad_op(span)),
    };
    Ok(Pred::Int(cmp, parse(one()?)?))
}

/// Parses a literal as an integer (or boolean) of type `ty`.
fn parse_int(l: &Literal, ty: FieldType) -> Result<i128, FilterError> {
    let s = l.value.as_str();
    let bad = || {
        err(
            ErrorKind::Value,
            l.span,
            format!(
                "'{}' is not a valid {} value",
                super::error::escape_str(s),
                ty.name()
            ),
        )
    };
    if ty == FieldType::Bool {
        return match s {
            "true" => Ok(1),
            "false" => Ok(0),
            _ => Err(bad()),
        };
    }
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mag = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse::<u64>().ok()
    } else {
        None
    };
    let v = i128::from(mag.ok_or_else(bad)?);
    let v = if neg { -v } else { v };
    let (lo, hi) = match ty {
        FieldType::I64 => (i128::from(i64::MIN), i128::from(i64::MAX)),
        FieldType::Port => (0, 65535),
        _ => (0, i128::from(u64::MAX)),
    };
    if v < lo || v > hi {
        return Err(err(
            ErrorKind::Value,
            l.span,
            format!("'{s}' is out of range for a {} value", ty.name()),
        ));
    }
    Ok(v)
}

fn parse_net(l: &Literal) -> Result<IpNet, FilterError> {
    let s = l.value.as_str();
    if let Ok(n) = s.parse::<IpNet>() {
        return Ok(n);
    }
    s.parse::<IpAddr>().map(IpNet::from).map_err(|_| {
        err(
            ErrorKind::Value,
            l.span,
            format!(
                "'{}' is not an IP address or CIDR network",
                super::error::escape_str(s)
            ),
        )
    })
}

fn hex(l: &Literal) -> Result<Vec<u8>, FilterError> {
    let s = l.value.as_bytes();
    let bad = || {
        err(
            ErrorKind::Value,
            l.span,
            "expected an even number of hex digits",
        )
    };
    if s.len() % 2 != 0 {
        return Err(bad());
    }
    s.chunks(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16);
            match (d(p[0]), d(p[1])) {
                (Some(a), Some(b)) => Ok((a * 16 + b) as u8),
                _ => Err(bad()),
            }
        })
        .collect()
}
