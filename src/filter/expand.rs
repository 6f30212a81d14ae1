//! AST rewriting for the rules layer: macro expansion and list substitution.
//!
//! Owns only tree rewriting; where macros and lists are defined (and their visibility
//! rules) is the caller's business, expressed through the lookup closures. Both rewrites
//! detect cycles and cap the size of what they produce.

use super::ast::{Ast, Literal, Rhs, Span};
use super::error::{ErrorKind, FilterError};

/// Largest AST (in nodes) macro expansion may produce.
pub const MAX_EXPANDED_NODES: usize = 1_000_000;
/// Largest list (in items) list substitution may produce.
pub const MAX_LIST_ITEMS: usize = 1_000_000;

/// Replaces every macro reference ([`Ast::Identifier`]) by the macro's body, recursively.
///
/// `lookup` returns a macro's parsed (unexpanded) body. An unknown name is Falco's
/// "Undefined macro 'x' used in filter."; a macro that refers back to itself is an error
/// naming the cycle.
pub fn expand(ast: &Ast, lookup: &dyn Fn(&str) -> Option<Ast>) -> Result<Ast, FilterError> {
    let mut ctx = MacroCtx {
        lookup,
        stack: Vec::new(),
        nodes: 0,
    };
    ctx.expand(ast)
}

struct MacroCtx<'a> {
    lookup: &'a dyn Fn(&str) -> Option<Ast>,
    stack: Vec<String>,
    nodes: usize,
}

impl MacroCtx<'_> {
    fn count(&mut self, span: Span) -> Result<(), FilterError> {
        self.nodes += 1;
        if self.nodes > MAX_EXPANDED_NODES {
            return Err(FilterError::new(
                ErrorKind::Limit,
                span,
                format!("macro expansion exceeds {MAX_EXPANDED_NODES} nodes"),
            ));
        }
        Ok(())
    }

    fn expand(&mut self, ast: &Ast) -> Result<Ast, FilterError> {
        self.count(ast.span())?;
        Ok(match ast {
            Ast::And { children, span } => Ast::And {
                children: children
                    .iter()
                    .map(|c| self.expand(c))
                    .collect::<Result<_, _>>()?,
                span: *span,
            },
            Ast::Or { children, span } => Ast::Or {
                children: children
                    .iter()
                    .map(|c| self.expand(c))
                    .collect::<Result<_, _>>()?,
                span: *span,
            },
            Ast::Not { child, span } => Ast::Not {
                child: Box::new(self.expand(child)?),
                span: *span,
            },
            Ast::Check { .. } => ast.clone(),
            Ast::Identifier { name, span } => {
                if let Some(i) = self.stack.iter().position(|n| n == name) {
                    let mut cycle = self.stack[i..].join(" -> ");
                    cycle.push_str(" -> ");
                    cycle.push_str(name);
                    return Err(FilterError::new(
                        ErrorKind::Macro,
                        *span,
                        format!("macro '{name}' refers to itself: {cycle}"),
                    ));
                }
                let Some(body) = (self.lookup)(name) else {
                    return Err(FilterError::new(
                        ErrorKind::Macro,
                        *span,
                        format!("Undefined macro '{name}' used in filter."),
                    ));
                };
                self.stack.push(name.clone());
                let out = self.expand(&body);
                self.stack.pop();
                out?
            }
        })
    }
}

/// Splices list definitions into list operands (`in`, `intersects`, `pmatch`).
///
/// A bare right-hand side (`proc.name in shell_binaries`) and every unquoted list item
/// whose name `lookup` knows are replaced by that list's items, recursively (lists may
/// nest). Spliced items take the span of the name they replace. Quoted items are never
/// list names. Use [`parse_list_item`](super::parse_list_item) to turn YAML items into
/// [`Literal`]s the way Falco's textual substitution reads them.
pub fn substitute_lists(
    ast: &Ast,
    lookup: &dyn Fn(&str) -> Option<Vec<Literal>>,
) -> Result<Ast, FilterError> {
    let mut out = ast.clone();
    subst(&mut out, lookup)?;
    Ok(out)
}

fn subst(ast: &mut Ast, lookup: &dyn Fn(&str) -> Option<Vec<Literal>>) -> Result<(), FilterError> {
    match ast {
        Ast::And { children, .. } | Ast::Or { children, .. } => {
            children.iter_mut().try_for_each(|c| subst(c, lookup))
        }
        Ast::Not { child, .. } => subst(child, lookup),
        Ast::Identifier { .. } => Ok(()),
        Ast::Check { op, rhs, .. } if op.is_list() => {
            match rhs {
                Rhs::Value(l) if !l.quoted && lookup(&l.value).is_some() => {
                    let span = l.span;
                    let mut items = Vec::new();
                    splice(l, lookup, &mut Vec::new(), &mut items)?;
                    *rhs = Rhs::List { items, span };
                }
                Rhs::List { items, .. } => {
                    let mut out = Vec::with_capacity(items.len());
                    for l in items.iter() {
                        splice(l, lookup, &mut Vec::new(), &mut out)?;
                    }
                    *items = out;
                }
                _ => {}
            }
            Ok(())
        }
        Ast::Check { .. } => Ok(()),
    }
}

fn splice(
    l: &Literal,
    lookup: &dyn Fn(&str) -> Option<Vec<Literal>>,
    stack: &mut Vec<String>,
    out: &mut Vec<Literal>,
) -> Result<(), FilterError> {
    let def = if l.quoted { None } else { lookup(&l.value) };
    let Some(items) = def else {
        if out.len() >= MAX_LIST_ITEMS {
            return Err(FilterError::new(
                ErrorKind::Limit,
                l.span,
                format!("list expansion exceeds {MAX_LIST_ITEMS} items"),
            ));
        }
        out.push(l.clone());
        return Ok(());
    };
    if stack.contains(&l.value) {
        return Err(FilterError::new(
            ErrorKind::List,
            l.span,
            format!(
                "list '{}' contains itself: {} -> {}",
                l.value,
                stack.join(" -> "),
                l.value
            ),
        ));
    }
    stack.push(l.value.clone());
    for mut item in items {
        item.span = l.span;
        splice(&item, lookup, stack, out)?;
    }
    stack.pop();
    Ok(())
}
