//! Phase 3 (Falco's `rule_loader_compiler`): collected definitions → compiled rules.
//!
//! Owns: list items read as Falco's textual substitution would see them; macros parsed once
//! and checked for visibility (a macro may use only macros defined before it, a rule any
//! macro); rule conditions expanded on the AST, lists substituted (they nest), exceptions
//! added as `and not (…)`; fields resolved through the caller's registry; output templates
//! compiled; each rule's event types resolved. Rules for other event sources, and rules
//! that use fields of plugins we do not have, are skipped with a warning.
//!
//! Positions: every text (rule condition, macro, exception) is parsed into its own range of
//! a shared offset space, so an error found after expansion still names the text, the
//! definition and the caret position where it was written.

use super::collector::{Collected, Cond, RuleDef};
use super::error::{ItemKind, Loc, RulesError, Warning, WarningKind};
use super::exceptions;
use super::items::{Priority, Text};
use super::output::OutputTemplate;
use crate::filter::{self, Ast, ErrorKind, FieldRegistry, Filter, FilterError, Literal, Span};
use std::collections::{BTreeSet, HashMap};

/// Field classes saker provides; an unknown field of any other class belongs to a plugin we
/// do not have, and its rule is skipped with a warning instead of failing the load.
pub const NATIVE_CLASSES: &[&str] = &[
    "evt", "proc", "thread", "user", "group", "fd", "fdlist", "fs", "container", "k8s",
];

/// Load-time options.
#[derive(Debug, Clone, Default)]
pub struct CompileOptions {
    /// Text appended (after a space) to every rule output, e.g. Falco's suggested
    /// `container_id=%container.id …` fields.
    pub extra_output: Option<String>,
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    /// Name.
    pub name: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Event source (always `syscall` for rules that compile).
    pub source: String,
    /// Tags (sorted).
    pub tags: BTreeSet<String>,
    /// Enabled by its definition.
    pub enabled: bool,
    /// The compiled condition (with exceptions).
    pub filter: Filter,
    /// The expanded condition, for display.
    pub ast: Ast,
    /// The output template.
    pub output: OutputTemplate,
    /// Event types the condition can match (`None`: every event).
    pub evttypes: Option<BTreeSet<String>>,
    /// Where the rule was defined.
    pub loc: Loc,
}

/// Every rule that compiled, in definition order.
#[derive(Debug, Clone, Default)]
pub struct Ruleset {
    /// The rules.
    pub rules: Vec<CompiledRule>,
}

/// One parsed text in the shared offset space.
struct Seg {
    base: usize,
    len: usize,
    kind: ItemKind,
    name: String,
    cond: Cond,
}

struct Ctx<'a> {
    reg: &'a dyn FieldRegistry,
    segs: Vec<Seg>,
    next: usize,
    lists: HashMap<String, Vec<Literal>>,
    macros: HashMap<String, (usize, Ast)>,
    warnings: Vec<Warning>,
}

impl Ctx<'_> {
    /// Parses `cond` into a fresh offset range; returns the AST and the segment index.
    fn parse(&mut self, kind: ItemKind, name: &str, cond: &Cond) -> Result<Ast, RulesError> {
        let text = cond.text();
        let base = self.next;
        self.next = base + text.len() + 1;
        self.segs.push(Seg { base, len: text.len(), kind, name: name.to_string(), cond: cond.clone() });
        let mut ast = filter::parse(&text).map_err(|e| self.error(shift(e, base), None))?;
        ast.map_spans(&mut |s| Span::new(s.start + base, s.end + base));
        Ok(ast)
    }

    /// Turns an error with a shared-space span into a positioned [`RulesError`].
    fn error(&self, e: FilterError, in_rule: Option<&str>) -> RulesError {
        let seg = self
            .segs
            .iter()
            .rev()
            .find(|s| e.pos >= s.base && e.pos <= s.base + s.len)
            .or(self.segs.last())
            .expect("errors come from parsed segments");
        let text = seg.cond.text();
        let local = FilterError::new(e.kind, Span::new(e.pos - seg.base.min(e.pos), e.end.saturating_sub(seg.base)), e.message.clone()).locate(&text);
        let rendered = local.render(&text);
        RulesError::Condition {
            loc: seg.cond.loc_at(local.pos).clone(),
            kind: seg.kind,
            name: seg.name.clone(),
            in_rule: in_rule.filter(|r| *r != seg.name || seg.kind != ItemKind::Rule).map(str::to_string),
            error: local,
            condition: text,
            rendered,
        }
    }

    /// The field text an error points at (for unknown-field classification).
    fn span_text(&self, e: &FilterError) -> String {
        for s in &self.segs {
            if e.pos >= s.base && e.pos <= s.base + s.len {
                let t = s.cond.text();
                let (a, b) = (e.pos - s.base, (e.end - s.base).min(t.len()));
                return t.get(a..b).unwrap_or("").to_string();
            }
        }
        String::new()
    }
}

fn shift(e: FilterError, base: usize) -> FilterError {
    FilterError::new(e.kind, Span::new(e.pos + base, e.end + base), e.message)
}

/// The values one list item contributes, read as Falco's textual substitution would: an
/// item with a space that is not already quoted is wrapped in `"…"`, then the text is read
/// as the inside of a `( … )` list (so `'"(systemd)"'` is the quoted value `(systemd)`).
fn list_item(item: &str) -> Result<Vec<Literal>, FilterError> {
    const PRE: &str = "x.x in (";
    let quoted = item.starts_with('"') || item.starts_with('\'');
    let body = if item.contains(' ') && !quoted {
        let mut q = String::new();
        let _ = filter::print::write_quoted(&mut q, item);
        q
    } else {
        item.to_string()
    };
    let text = format!("{PRE}{body})");
    let back = |e: FilterError| {
        let s = e.pos.saturating_sub(PRE.len()).min(item.len());
        FilterError::new(e.kind, Span::new(s, e.end.saturating_sub(PRE.len()).clamp(s, item.len())), e.message)
    };
    match filter::parse(&text).map_err(back)? {
        Ast::Check { rhs: filter::Rhs::List { items, .. }, .. } => Ok(items),
        _ => Err(FilterError::new(ErrorKind::List, Span::new(0, item.len()), "list item is not a value")),
    }
}

fn field_class(field: &str) -> &str {
    field.split('.').next().unwrap_or("")
}

/// Compiles every rule of `c`. `universe` is the set of event type names `evt.type` can
/// take (for the event-type index).
pub fn compile(
    c: &Collected,
    reg: &dyn FieldRegistry,
    universe: &BTreeSet<String>,
    opts: &CompileOptions,
) -> Result<(Ruleset, Vec<Warning>), RulesError> {
    let mut cx = Ctx { reg, segs: Vec::new(), next: 0, lists: HashMap::new(), macros: HashMap::new(), warnings: Vec::new() };
    for l in &c.lists {
        let mut items = Vec::new();
        for t in &l.items {
            let lits = list_item(&t.value).map_err(|e| {
                let e = e.locate(&t.value);
                RulesError::Condition {
                    loc: t.loc.clone(),
                    kind: ItemKind::List,
                    name: l.name.clone(),
                    in_rule: None,
                    rendered: e.render(&t.value),
                    error: e,
                    condition: t.value.clone(),
                }
            })?;
            items.extend(lits);
        }
        cx.lists.insert(l.name.clone(), items);
    }
    // Macros: parse, then check each against the macros visible to it.
    for (i, m) in c.macros.iter().enumerate() {
        let ast = cx.parse(ItemKind::Macro, &m.name, &m.condition)?;
        cx.macros.insert(m.name.clone(), (i, ast));
    }
    for (i, m) in c.macros.iter().enumerate() {
        let body = &cx.macros[&m.name].1;
        let visible = |n: &str| cx.macros.get(n).filter(|(j, _)| *j < i).map(|(_, a)| a.clone());
        if let Err(e) = filter::expand(body, &visible) {
            return Err(cx.error(e, None));
        }
    }
    let mut rules = Vec::new();
    for r in &c.rules {
        if r.source != "syscall" {
            cx.warnings.push(Warning {
                kind: WarningKind::UnknownSource,
                loc: r.loc.clone(),
                item: Some((ItemKind::Rule, r.name.clone())),
                message: format!("rule for unknown event source '{}' skipped", super::error::escape(&r.source)),
            });
            continue;
        }
        let mark = (cx.segs.len(), cx.next);
        let out = compile_rule(&mut cx, r, universe, opts);
        cx.segs.truncate(mark.0);
        cx.next = mark.1;
        if let Some(rule) = out? {
            rules.push(rule);
        }
    }
    Ok((Ruleset { rules }, cx.warnings))
}

fn skip(cx: &mut Ctx<'_>, r: &RuleDef, msg: String) -> Result<Option<CompiledRule>, RulesError> {
    cx.warnings.push(Warning { kind: WarningKind::UnknownField, loc: r.loc.clone(), item: Some((ItemKind::Rule, r.name.clone())), message: msg });
    Ok(None)
}

/// Unknown fields: skipped if the rule allows it or the field is a plugin's; else an error.
fn unknown(cx: &mut Ctx<'_>, r: &RuleDef, e: FilterError) -> Result<Option<CompiledRule>, RulesError> {
    let field = cx.span_text(&e);
    let field = if field.is_empty() { e.message.clone() } else { field };
    if r.skip_if_unknown_filter {
        return skip(cx, r, format!("rule skipped (skip-if-unknown-filter): unknown field '{field}'"));
    }
    if !NATIVE_CLASSES.contains(&field_class(&field)) {
        return skip(cx, r, format!("rule skipped: field '{field}' comes from a plugin saker does not have"));
    }
    Err(cx.error(e, Some(&r.name)))
}

fn compile_rule(cx: &mut Ctx<'_>, r: &RuleDef, universe: &BTreeSet<String>, opts: &CompileOptions) -> Result<Option<CompiledRule>, RulesError> {
    let cond = cx.parse(ItemKind::Rule, &r.name, &r.condition)?;
    let mut children = vec![cond];
    for e in &r.exceptions {
        let exc_err = |msg: String| RulesError::Exception { loc: e.loc.clone(), rule: r.name.clone(), exception: e.name.value.clone(), message: msg };
        for f in exceptions::fields(e) {
            let probe = format!("{} exists", f.value);
            let ast = filter::parse(&probe).map_err(|err| exc_err(format!("invalid field '{}': {}", f.value, err.message)))?;
            if let Err(err) = filter::compile(&ast, cx.reg) {
                if err.kind == ErrorKind::UnknownField && (r.skip_if_unknown_filter || !NATIVE_CLASSES.contains(&field_class(&f.value))) {
                    return skip(cx, r, format!("rule skipped: exception field '{}' is unknown", f.value));
                }
                return Err(exc_err(format!("invalid field '{}': {}", f.value, err.message)));
            }
        }
        let text = exceptions::build(e).map_err(|p| exc_err(p.0))?;
        if let Some(text) = text {
            let cond = Cond { parts: vec![Text { value: text, loc: e.loc.clone() }] };
            let ast = cx.parse(ItemKind::Exception, &format!("{}/{}", r.name, e.name.value), &cond)?;
            let span = ast.span();
            children.push(Ast::Not { child: Box::new(ast), span });
        }
    }
    let ast = if children.len() == 1 {
        children.pop().expect("one child")
    } else {
        let span = children[0].span();
        Ast::And { children, span }
    };
    let macros = &cx.macros;
    let expanded = filter::expand(&ast, &|n: &str| macros.get(n).map(|(_, a)| a.clone())).map_err(|e| cx.error(e, Some(&r.name)))?;
    let lists = &cx.lists;
    let expanded = filter::substitute_lists(&expanded, &|n: &str| lists.get(n).cloned()).map_err(|e| cx.error(e, Some(&r.name)))?;
    let compiled = match filter::compile(&expanded, cx.reg) {
        Ok(f) => f,
        Err(e) if e.kind == ErrorKind::UnknownField => return unknown(cx, r, e),
        Err(e) => return Err(cx.error(e, Some(&r.name))),
    };
    let out_text = match &opts.extra_output {
        Some(x) => format!("{} {}", r.output, x),
        None => r.output.clone(),
    };
    let output = match OutputTemplate::compile(&out_text, cx.reg) {
        Ok((t, dropped)) => {
            for d in dropped {
                cx.warnings.push(Warning { kind: WarningKind::Deprecated, loc: r.loc.clone(), item: Some((ItemKind::Rule, r.name.clone())), message: format!("'%{d}' is deprecated and is replaced by an empty string") });
            }
            t
        }
        Err(e) => {
            let field = out_text.get(e.pos..e.end.min(out_text.len())).unwrap_or("").to_string();
            if r.skip_if_unknown_filter || !NATIVE_CLASSES.contains(&field_class(&field)) {
                return skip(cx, r, format!("rule skipped: output field '{field}' is unknown"));
            }
            let e = e.locate(&out_text);
            return Err(RulesError::Condition { loc: r.loc.clone(), kind: ItemKind::Rule, name: r.name.clone(), in_rule: None, rendered: e.render(&out_text), error: e, condition: out_text });
        }
    };
    let evttypes = filter::event_types(&expanded, universe);
    match &evttypes {
        None if r.warn_evttypes => cx.warnings.push(Warning { kind: WarningKind::NoEventType, loc: r.loc.clone(), item: Some((ItemKind::Rule, r.name.clone())), message: "rule has no evt.type restriction and runs on every event".into() }),
        Some(s) if s.is_empty() => cx.warnings.push(Warning { kind: WarningKind::NoMatchingEventType, loc: r.loc.clone(), item: Some((ItemKind::Rule, r.name.clone())), message: "rule matches no known event type and can never fire".into() }),
        _ => {}
    }
    Ok(Some(CompiledRule {
        name: r.name.clone(),
        desc: r.desc.clone(),
        priority: r.priority,
        source: r.source.clone(),
        tags: r.tags.clone(),
        enabled: r.enabled,
        filter: compiled,
        ast: expanded,
        output,
        evttypes,
        loc: r.loc.clone(),
    }))
}
