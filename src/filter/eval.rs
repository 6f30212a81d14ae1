//! Evaluation of a compiled filter against one event.
//!
//! Owns the compiled node shapes and the per-value predicates. No name lookup or literal
//! parsing happens here: [`compile()`](super::compile()) did all of that. Strings are compared
//! as exact bytes; a field with no value makes every check false except that `not` of it is
//! true (libsinsp semantics); `exists` is true exactly when the field has a value.

use super::ast::{Op, Transformer};
use super::compile::FieldInfo;
use super::glob::glob_match;
use super::value::{Value, ValueBuf};
use base64::Engine as _;
use ipnet::IpNet;
use memchr::memmem;
use std::collections::HashSet;

/// Supplies field values for the event being evaluated.
pub trait FieldSource {
    /// Pushes the value(s) of field `f` into `out` (which arrives empty) and returns true,
    /// or returns false if the field has no value for this event.
    fn value(&mut self, f: &FieldInfo, out: &mut ValueBuf) -> bool;

    /// Appends field `f` to `out` as display text when the source renders it
    /// as already escaped text anyway (`evt.args`), saving the copy through a
    /// [`ValueBuf`]. `None`: no such path, call [`value`](Self::value);
    /// `Some(has_value)` otherwise, with nothing appended when false.
    fn write_text(&mut self, _f: &FieldInfo, _out: &mut String) -> Option<bool> {
        None
    }

    /// Appends the value of field `f` to `out` exactly as a template prints
    /// a plain value (numbers in decimal, strings escaped), for the fields
    /// the source can write so without a [`ValueBuf`]. `None`: no such
    /// path, call [`value`](Self::value); `Some(has_value)` otherwise, with
    /// nothing appended when false.
    fn write_plain(&mut self, _f: &FieldInfo, _out: &mut String) -> Option<bool> {
        None
    }
}

/// Reusable buffers for evaluation; keep one per thread and pass it to every call.
#[derive(Debug, Default, Clone)]
pub struct Scratch {
    lhs: ValueBuf,
    rhs: ValueBuf,
    tmp: ValueBuf,
}

/// A field plus the transformers applied to it, innermost first.
#[derive(Debug, Clone)]
pub(crate) struct Extract {
    pub field: FieldInfo,
    pub transforms: Box<[Transformer]>,
}

/// Integer comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    #[inline(always)]
    fn test<T: Ord + ?Sized>(self, a: &T, b: &T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }
}

/// A set of byte strings: linear for a few items, hashed for many.
#[derive(Debug, Clone)]
pub(crate) enum StrSet {
    Small(Box<[Box<[u8]>]>),
    Large(HashSet<Box<[u8]>>),
}

impl StrSet {
    pub fn new(items: Vec<Box<[u8]>>) -> Self {
        if items.len() <= 8 {
            StrSet::Small(items.into_boxed_slice())
        } else {
            StrSet::Large(items.into_iter().collect())
        }
    }
    #[inline]
    fn contains(&self, v: &[u8]) -> bool {
        match self {
            StrSet::Small(items) => items.iter().any(|i| &**i == v),
            StrSet::Large(set) => set.contains(v),
        }
    }
}

/// A predicate on one string value.
#[derive(Debug, Clone)]
pub(crate) enum BytesPred {
    Cmp(CmpOp, Box<[u8]>),
    Contains(Box<memmem::Finder<'static>>),
    IContains(Box<[u8]>),
    StartsWith(Box<[u8]>),
    EndsWith(Box<[u8]>),
    Glob(Box<[u8]>, bool),
    Regex(regex::bytes::Regex),
    In(StrSet),
    Pmatch(Box<[Box<[u8]>]>),
}

/// The test a check applies to the extracted values.
#[derive(Debug, Clone)]
pub(crate) enum Pred {
    Exists,
    Bytes(BytesPred),
    Int(CmpOp, i128),
    IntIn(Box<[i128]>),
    /// Value in any of the networks (`negate`: in none of them).
    Ip {
        nets: Box<[IpNet]>,
        negate: bool,
    },
    /// Field-to-field comparison (`val(f)` or a transformer on the right).
    Field {
        op: Op,
        rhs: Extract,
    },
}

/// One comparison.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub lhs: Extract,
    pub pred: Pred,
    /// Every value must match (`in` on a list field); otherwise any value.
    pub all: bool,
}

/// A compiled expression node.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    And(Box<[Node]>),
    Or(Box<[Node]>),
    Not(Box<Node>),
    Check(Box<Check>),
}

impl Node {
    pub fn eval<S: FieldSource + ?Sized>(&self, src: &mut S, sc: &mut Scratch) -> bool {
        match self {
            Node::And(cs) => cs.iter().all(|c| c.eval_child(src, sc)),
            Node::Or(cs) => cs.iter().any(|c| c.eval_child(src, sc)),
            Node::Not(c) => !c.eval_child(src, sc),
            Node::Check(c) => c.eval(src, sc),
        }
    }

    /// Evaluates a child, inlining the common leaf case instead of recursing.
    #[inline(always)]
    fn eval_child<S: FieldSource + ?Sized>(&self, src: &mut S, sc: &mut Scratch) -> bool {
        match self {
            Node::Check(c) => c.eval(src, sc),
            n => n.eval(src, sc),
        }
    }
}

fn icontains(hay: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() {
        return true;
    }
    hay.windows(needle.len()).any(|w| {
        w.iter()
            .zip(needle)
            .all(|(a, b)| a.to_ascii_lowercase() == *b)
    })
}

/// Path-prefix match: `v` is `p` or lies under it.
fn path_prefix(v: &[u8], p: &[u8]) -> bool {
    if p.is_empty() {
        return false;
    }
    if p == b"/" {
        return v.first() == Some(&b'/');
    }
    v.starts_with(p) && (v.len() == p.len() || v[p.len()] == b'/')
}

impl BytesPred {
    #[inline(always)]
    fn test(&self, v: &[u8]) -> bool {
        match self {
            BytesPred::Cmp(op, lit) => op.test(v, &**lit),
            BytesPred::Contains(f) => f.find(v).is_some(),
            BytesPred::IContains(n) => icontains(v, n),
            BytesPred::StartsWith(p) => v.starts_with(p),
            BytesPred::EndsWith(p) => v.ends_with(p),
            BytesPred::Glob(p, icase) => glob_match(p, v, *icase),
            BytesPred::Regex(r) => r.is_match(v),
            BytesPred::In(set) => set.contains(v),
            BytesPred::Pmatch(paths) => paths.iter().any(|p| path_prefix(v, p)),
        }
    }
}

impl Pred {
    #[inline(always)]
    fn test(&self, v: Value<'_>) -> bool {
        match (self, v) {
            (Pred::Bytes(p), Value::Str(s)) => p.test(s),
            (Pred::Int(op, lit), v) => v.as_int().is_some_and(|x| op.test(&x, lit)),
            (Pred::IntIn(set), v) => v.as_int().is_some_and(|x| set.binary_search(&x).is_ok()),
            (Pred::Ip { nets, negate }, Value::Ip(ip)) => {
                nets.iter().any(|n| n.contains(&ip)) != *negate
            }
            _ => false,
        }
    }
}

/// Compares two values of compatible types with `op` (for `val()`).
fn dyn_test(op: Op, l: Value<'_>, r: Value<'_>) -> bool {
    let cmp = match op {
        Op::Eq | Op::EqEq | Op::In | Op::Intersects => CmpOp::Eq,
        Op::Ne => CmpOp::Ne,
        Op::Lt => CmpOp::Lt,
        Op::Le => CmpOp::Le,
        Op::Gt => CmpOp::Gt,
        Op::Ge => CmpOp::Ge,
        _ => {
            let (Value::Str(l), Value::Str(r)) = (l, r) else {
                return false;
            };
            return match op {
                Op::Contains => memmem::find(l, r).is_some(),
                Op::IContains => icontains(l, &r.to_ascii_lowercase()),
                Op::StartsWith => l.starts_with(r),
                Op::EndsWith => l.ends_with(r),
                Op::Glob => glob_match(r, l, false),
                Op::IGlob => glob_match(r, l, true),
                _ => false,
            };
        }
    };
    match (l, r) {
        (Value::Str(a), Value::Str(b)) => cmp.test(a, b),
        (Value::Ip(a), Value::Ip(b)) => cmp.test(&a, &b),
        (a, b) => match (a.as_int(), b.as_int()) {
            (Some(a), Some(b)) => cmp.test(&a, &b),
            _ => false,
        },
    }
}

fn apply(t: Transformer, list: bool, input: &ValueBuf, out: &mut ValueBuf) {
    if t == Transformer::Len && list {
        out.push_u64(input.len() as u64);
        return;
    }
    for v in input.iter() {
        let Value::Str(s) = v else {
            continue;
        };
        match t {
            Transformer::ToLower => {
                out.push_with(|b| {
                    b.extend(s.iter().map(u8::to_ascii_lowercase));
                    true
                });
            }
            Transformer::ToUpper => {
                out.push_with(|b| {
                    b.extend(s.iter().map(u8::to_ascii_uppercase));
                    true
                });
            }
            Transformer::B64 => {
                out.push_with(|b| {
                    base64::engine::general_purpose::STANDARD
                        .decode_vec(s, b)
                        .is_ok()
                });
            }
            Transformer::Basename => {
                let base = memchr::memrchr(b'/', s).map_or(s, |i| &s[i + 1..]);
                out.push_bytes(base);
            }
            Transformer::Len => out.push_u64(s.len() as u64),
        }
    }
}

impl Extract {
    /// Fills `out` with the (transformed) values; false if the field has no value.
    #[inline]
    fn run<S: FieldSource + ?Sized>(
        &self,
        src: &mut S,
        out: &mut ValueBuf,
        tmp: &mut ValueBuf,
    ) -> bool {
        out.clear();
        if !src.value(&self.field, out) {
            return false;
        }
        let mut list = self.field.list;
        for &t in self.transforms.iter() {
            tmp.clear();
            apply(t, list, out, tmp);
            std::mem::swap(out, tmp);
            list = list && t != Transformer::Len;
        }
        !out.is_empty() || list
    }
}

impl Check {
    #[inline]
    fn eval<S: FieldSource + ?Sized>(&self, src: &mut S, sc: &mut Scratch) -> bool {
        let Scratch { lhs, rhs, tmp } = sc;
        if !self.lhs.run(src, lhs, tmp) {
            return false;
        }
        match &self.pred {
            Pred::Exists => true,
            Pred::Field { op, rhs: rx } => {
                if !rx.run(src, rhs, tmp) || rhs.is_empty() {
                    return false;
                }
                let one = |l: Value<'_>| match op {
                    Op::Ne => rhs.iter().all(|r| dyn_test(Op::Ne, l, r)),
                    _ => rhs.iter().any(|r| dyn_test(*op, l, r)),
                };
                if self.all {
                    lhs.iter().all(one)
                } else {
                    lhs.iter().any(one)
                }
            }
            // Fast path: one value (most fields).
            p if lhs.len() == 1 => lhs.get(0).is_some_and(|v| p.test(v)),
            p if self.all => lhs.iter().all(|v| p.test(v)),
            p => lhs.iter().any(|v| p.test(v)),
        }
    }
}
