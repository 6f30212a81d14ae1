//! Phase 2 (Falco's `rule_loader_collector`): applies [`Item`]s in order into the final set
//! of list, macro and rule definitions.
//!
//! Owns definition semantics: a redefinition replaces the previous one but keeps its
//! position (position is evaluation order and macro visibility); `append: true` and
//! `override: {key: append|replace}` change an existing definition; an item with only
//! `rule` and `enabled` toggles a rule; `required_engine_version` is checked;
//! `required_plugin_versions` for `container` is satisfied natively (its fields are ours).

use super::error::{escape, ItemKind, Loc, RulesError, Warning, WarningKind};
use super::items::*;
use std::collections::{BTreeSet, HashMap};

/// The rule-language version this engine implements (Falco's engine versioning).
pub const ENGINE_VERSION: (u64, u64, u64) = (0, 57, 0);

/// Plugins whose fields saker provides itself.
pub const NATIVE_PLUGINS: &[&str] = &["container"];

/// A condition assembled from one or more texts (a definition plus its appends), joined
/// with one space as Falco does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cond {
    /// The pieces, in order.
    pub parts: Vec<Text>,
}

impl Cond {
    /// The full text.
    pub fn text(&self) -> String {
        let v: Vec<&str> = self.parts.iter().map(|t| t.value.as_str()).collect();
        v.join(" ")
    }
    /// Where the piece holding byte `pos` of [`Cond::text`] starts.
    pub fn loc_at(&self, pos: usize) -> &Loc {
        let mut start = 0;
        for p in &self.parts {
            let end = start + p.value.len();
            if pos <= end {
                return &p.loc;
            }
            start = end + 1;
        }
        &self.parts.last().expect("a condition has at least one part").loc
    }
}

/// A list definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListDef {
    /// Name.
    pub name: String,
    /// Items (as written).
    pub items: Vec<Text>,
    /// Where it was first defined.
    pub loc: Loc,
}

/// A macro definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroDef {
    /// Name.
    pub name: String,
    /// Condition text.
    pub condition: Cond,
    /// Where it was first defined.
    pub loc: Loc,
}

/// A rule definition with every default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleDef {
    /// Name.
    pub name: String,
    /// Condition text.
    pub condition: Cond,
    /// Output template.
    pub output: String,
    /// Description.
    pub desc: String,
    /// Priority.
    pub priority: Priority,
    /// Event source (`syscall` unless given).
    pub source: String,
    /// Whether the rule is enabled.
    pub enabled: bool,
    /// Tags (a set, as in Falco).
    pub tags: BTreeSet<String>,
    /// Exceptions.
    pub exceptions: Vec<Exception>,
    /// Skip (with a warning) instead of failing on unknown fields.
    pub skip_if_unknown_filter: bool,
    /// Warn when the rule matches too many event types.
    pub warn_evttypes: bool,
    /// `capture:` (accepted; not used by replay).
    pub capture: bool,
    /// `capture_duration:` in ms.
    pub capture_duration: Option<u64>,
    /// Where it was first defined.
    pub loc: Loc,
}

/// Every definition after all files were applied, in definition order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Collected {
    /// Lists.
    pub lists: Vec<ListDef>,
    /// Macros.
    pub macros: Vec<MacroDef>,
    /// Rules.
    pub rules: Vec<RuleDef>,
    /// Plugins required but not provided (their rules are skipped).
    pub missing_plugins: Vec<String>,
}

/// Applies items in order.
#[derive(Debug, Default)]
pub struct Collector {
    out: Collected,
    lists: HashMap<String, usize>,
    macros: HashMap<String, usize>,
    rules: HashMap<String, usize>,
    warnings: Vec<Warning>,
}

/// Parses `x.y.z` (or an integer N, meaning `0.N.0`).
fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let s = s.trim();
    if let Ok(n) = s.parse::<u64>() {
        return Some((0, n, 0));
    }
    let mut it = s.split('.').map(|p| p.parse::<u64>().ok());
    let v = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(v)
}

fn def_err(loc: &Loc, kind: ItemKind, name: &str, msg: impl Into<String>) -> RulesError {
    RulesError::Definition {
        loc: loc.clone(),
        kind,
        name: name.to_string(),
        message: msg.into(),
    }
}

fn valid_macro_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphabetic()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn valid_list_name(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| matches!(c, '(' | ')' | '"' | '\'' | '=' | ',') || c.is_whitespace())
}

/// Which `override:` mode (if any) is given for `key`.
fn mode_of(ov: &[Override], key: &str) -> Option<OverrideMode> {
    ov.iter().find(|o| o.key == key).map(|o| o.mode)
}

impl Collector {
    /// An empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies the items of one file, in order.
    pub fn add(&mut self, items: Vec<Item>) -> Result<(), RulesError> {
        for item in items {
            match item {
                Item::EngineVersion(v) => self.engine_version(&v)?,
                Item::PluginVersions(reqs, loc) => self.plugins(&reqs, &loc),
                Item::List(l) => self.list(l)?,
                Item::Macro(m) => self.macro_item(m)?,
                Item::Rule(r) => self.rule(*r)?,
            }
        }
        Ok(())
    }

    /// The definitions and the warnings collected so far.
    pub fn finish(self) -> (Collected, Vec<Warning>) {
        (self.out, self.warnings)
    }

    fn warn(&mut self, kind: WarningKind, loc: &Loc, item: Option<(ItemKind, &str)>, msg: String) {
        self.warnings.push(Warning {
            kind,
            loc: loc.clone(),
            item: item.map(|(k, n)| (k, n.to_string())),
            message: msg,
        });
    }

    fn engine_version(&mut self, v: &EngineVersionReq) -> Result<(), RulesError> {
        let have = format!(
            "{}.{}.{}",
            ENGINE_VERSION.0, ENGINE_VERSION.1, ENGINE_VERSION.2
        );
        let Some(req) = parse_version(&v.version.value) else {
            return Err(RulesError::Schema {
                loc: v.version.loc.clone(),
                item: None,
                message: format!(
                    "invalid required_engine_version '{}'",
                    escape(&v.version.value)
                ),
            });
        };
        if req > ENGINE_VERSION {
            return Err(RulesError::EngineVersion {
                loc: v.version.loc.clone(),
                required: format!("{}.{}.{}", req.0, req.1, req.2),
                have,
            });
        }
        Ok(())
    }

    fn plugins(&mut self, reqs: &[PluginReq], loc: &Loc) {
        for r in reqs {
            let native = std::iter::once(&r.name)
                .chain(r.alternatives.iter().map(|a| &a.0))
                .any(|n| NATIVE_PLUGINS.contains(&n.value.as_str()));
            if !native {
                let name = r.name.value.clone();
                self.warn(
                    WarningKind::PluginRequirement,
                    loc,
                    None,
                    format!(
                        "plugin '{}' (version {}) is required but not available; rules that need it are skipped",
                        name, r.version.value
                    ),
                );
                if !self.out.missing_plugins.contains(&name) {
                    self.out.missing_plugins.push(name);
                }
            }
        }
    }

    fn list(&mut self, l: ListItem) -> Result<(), RulesError> {
        let name = l.name.value.clone();
        let k = ItemKind::List;
        if !valid_list_name(&name) {
            self.warn(WarningKind::InvalidName, &l.loc, Some((k, &name)), "list name contains characters that cannot appear in a condition".into());
        }
        let items = l.items.unwrap_or_default();
        if l.append && !l.overrides.is_empty() {
            return Err(def_err(&l.loc, k, &name, "'append' and 'override' cannot be used together"));
        }
        if let Some(o) = l.overrides.iter().find(|o| o.key != "items") {
            return Err(def_err(&o.loc, k, &name, format!("key '{}' cannot be overridden in a list (only 'items')", o.key)));
        }
        if l.append {
            self.warn(WarningKind::Deprecated, &l.loc, Some((k, &name)), "'append' is deprecated; use 'override: {items: append}'".into());
        }
        let mode = if l.append { Some(OverrideMode::Append) } else { mode_of(&l.overrides, "items") };
        match (mode, self.lists.get(&name)) {
            (Some(_), None) => Err(def_err(&l.loc, k, &name, "list has 'append' key or an override, but no list by that name already exists")),
            (Some(OverrideMode::Append), Some(&i)) => {
                self.out.lists[i].items.extend(items);
                Ok(())
            }
            (Some(OverrideMode::Replace), Some(&i)) => {
                self.out.lists[i].items = items;
                Ok(())
            }
            (None, Some(&i)) => {
                self.out.lists[i].items = items;
                Ok(())
            }
            (None, None) => {
                self.lists.insert(name.clone(), self.out.lists.len());
                self.out.lists.push(ListDef { name, items, loc: l.loc });
                Ok(())
            }
        }
    }

    fn macro_item(&mut self, m: MacroItem) -> Result<(), RulesError> {
        let name = m.name.value.clone();
        let k = ItemKind::Macro;
        if !valid_macro_name(&name) {
            self.warn(WarningKind::InvalidName, &m.loc, Some((k, &name)), "macro name does not match [a-zA-Z]+[a-zA-Z0-9_]*".into());
        }
        let cond = m.condition.expect("the reader requires a condition");
        if m.append && !m.overrides.is_empty() {
            return Err(def_err(&m.loc, k, &name, "'append' and 'override' cannot be used together"));
        }
        if let Some(o) = m.overrides.iter().find(|o| o.key != "condition") {
            return Err(def_err(&o.loc, k, &name, format!("key '{}' cannot be overridden in a macro (only 'condition')", o.key)));
        }
        if m.append {
            self.warn(WarningKind::Deprecated, &m.loc, Some((k, &name)), "'append' is deprecated; use 'override: {condition: append}'".into());
        }
        let mode = if m.append { Some(OverrideMode::Append) } else { mode_of(&m.overrides, "condition") };
        match (mode, self.macros.get(&name)) {
            (Some(_), None) => Err(def_err(&m.loc, k, &name, "macro has 'append' key or an override, but no macro by that name already exists")),
            (Some(OverrideMode::Append), Some(&i)) => {
                self.out.macros[i].condition.parts.push(cond);
                Ok(())
            }
            (Some(OverrideMode::Replace) | None, Some(&i)) => {
                self.out.macros[i].condition = Cond { parts: vec![cond] };
                Ok(())
            }
            (None, None) => {
                self.macros.insert(name.clone(), self.out.macros.len());
                self.out.macros.push(MacroDef { name, condition: Cond { parts: vec![cond] }, loc: m.loc });
                Ok(())
            }
        }
    }

    fn rule(&mut self, r: RuleItem) -> Result<(), RulesError> {
        let name = r.name.value.clone();
        let k = ItemKind::Rule;
        let existing = self.rules.get(&name).copied();
        // `- rule: x` + `enabled: …` alone toggles an existing rule.
        if !r.append && r.overrides.is_empty() && r.keys.len() == 1 && r.keys[0].0 == "enabled" {
            let Some(i) = existing else {
                return Err(def_err(&r.loc, k, &name, "rule has only an 'enabled' key but no rule by that name already exists"));
            };
            self.out.rules[i].enabled = r.enabled.unwrap_or(true);
            return Ok(());
        }
        if r.append && !r.overrides.is_empty() {
            return Err(def_err(&r.loc, k, &name, "'append' and 'override' cannot be used together"));
        }
        if r.append {
            return self.append_rule(r, existing);
        }
        if !r.overrides.is_empty() {
            return self.override_rule(r, existing);
        }
        for key in ["condition", "output", "desc", "priority"] {
            if !r.keys.iter().any(|(k2, _)| k2 == key) {
                return Err(RulesError::Schema { loc: r.loc.clone(), item: Some((k, name)), message: format!("item has no mapping for key '{key}'") });
            }
        }
        let def = RuleDef {
            name: name.clone(),
            condition: Cond { parts: vec![r.condition.expect("checked")] },
            output: r.output.expect("checked").value,
            desc: r.desc.expect("checked").value,
            priority: r.priority.expect("checked").0,
            source: r.source.map_or_else(|| "syscall".to_string(), |s| s.value),
            enabled: r.enabled.unwrap_or(true),
            tags: r.tags.unwrap_or_default().into_iter().collect(),
            exceptions: r.exceptions.unwrap_or_default(),
            skip_if_unknown_filter: r.skip_if_unknown_filter.unwrap_or(false),
            warn_evttypes: r.warn_evttypes.unwrap_or(true),
            capture: r.capture.unwrap_or(false),
            capture_duration: r.capture_duration,
            loc: r.loc,
        };
        match existing {
            Some(i) => {
                let loc = self.out.rules[i].loc.clone();
                self.out.rules[i] = RuleDef { loc, ..def };
            }
            None => {
                self.rules.insert(name, self.out.rules.len());
                self.out.rules.push(def);
            }
        }
        Ok(())
    }

    fn append_rule(&mut self, r: RuleItem, existing: Option<usize>) -> Result<(), RulesError> {
        let name = r.name.value.clone();
        let k = ItemKind::Rule;
        self.warn(WarningKind::Deprecated, &r.loc, Some((k, &name)), "'append' is deprecated; use 'override'".into());
        let Some(i) = existing else {
            return Err(def_err(&r.loc, k, &name, "rule has 'append' key but no rule by that name already exists"));
        };
        if r.condition.is_none() && r.exceptions.is_none() {
            return Err(def_err(&r.loc, k, &name, "appended rule must have exceptions or condition property"));
        }
        if let Some((key, loc)) = r.keys.iter().find(|(key, _)| !matches!(key.as_str(), "condition" | "exceptions")) {
            return Err(def_err(loc, k, &name, format!("key '{key}' cannot be appended (only 'condition' and 'exceptions'); use 'override'")));
        }
        if let Some(c) = r.condition {
            self.out.rules[i].condition.parts.push(c);
        }
        if let Some(excs) = r.exceptions {
            self.append_exceptions(i, excs)?;
        }
        Ok(())
    }

    fn append_exceptions(&mut self, i: usize, excs: Vec<Exception>) -> Result<(), RulesError> {
        let rule = &mut self.out.rules[i];
        for e in excs {
            if let Some(prev) = rule.exceptions.iter_mut().find(|p| p.name.value == e.name.value) {
                if e.fields.is_some() || e.comps.is_some() {
                    return Err(RulesError::Exception {
                        loc: e.loc.clone(),
                        rule: rule.name.clone(),
                        exception: e.name.value.clone(),
                        message: "can not append exception fields or comps to an existing exception, only values".into(),
                    });
                }
                prev.values.extend(e.values);
            } else {
                rule.exceptions.push(e);
            }
        }
        Ok(())
    }

    fn override_rule(&mut self, r: RuleItem, existing: Option<usize>) -> Result<(), RulesError> {
        let name = r.name.value.clone();
        let k = ItemKind::Rule;
        let Some(i) = existing else {
            return Err(def_err(&r.loc, k, &name, "rule has an override, but no rule by that name already exists"));
        };
        const APPEND: &[&str] = &["condition", "output", "desc", "tags", "exceptions"];
        const REPLACE: &[&str] = &[
            "condition", "output", "desc", "priority", "tags", "exceptions", "enabled",
            "warn_evttypes", "capture", "capture_duration", "skip-if-unknown-filter",
        ];
        for o in &r.overrides {
            let allowed = match o.mode {
                OverrideMode::Append => APPEND,
                OverrideMode::Replace => REPLACE,
            };
            if !allowed.contains(&o.key.as_str()) {
                let mode = if o.mode == OverrideMode::Append { "append" } else { "replace" };
                return Err(def_err(&o.loc, k, &name, format!("key '{}' cannot be overridden with '{mode}'", o.key)));
            }
            if !r.keys.iter().any(|(key, _)| *key == o.key) {
                return Err(def_err(&o.loc, k, &name, format!("an override is given for key '{}', but the item has no '{}'", o.key, o.key)));
            }
        }
        if let Some((key, loc)) = r.keys.iter().find(|(key, _)| mode_of(&r.overrides, key).is_none()) {
            return Err(def_err(loc, k, &name, format!("key '{key}' must be listed under 'override' (append or replace)")));
        }
        let ov = &r.overrides;
        let append = |key: &str| mode_of(ov, key) == Some(OverrideMode::Append);
        let excs = r.exceptions;
        let def = &mut self.out.rules[i];
        if let Some(c) = r.condition {
            if append("condition") {
                def.condition.parts.push(c);
            } else {
                def.condition = Cond { parts: vec![c] };
            }
        }
        if let Some(o) = r.output {
            if append("output") {
                def.output = format!("{} {}", def.output, o.value);
            } else {
                def.output = o.value;
            }
        }
        if let Some(d) = r.desc {
            if append("desc") {
                def.desc = format!("{} {}", def.desc, d.value);
            } else {
                def.desc = d.value;
            }
        }
        if let Some(t) = r.tags {
            if !append("tags") {
                def.tags.clear();
            }
            def.tags.extend(t);
        }
        if let Some((p, _)) = r.priority {
            def.priority = p;
        }
        if let Some(e) = r.enabled {
            def.enabled = e;
        }
        if let Some(v) = r.warn_evttypes {
            def.warn_evttypes = v;
        }
        if let Some(v) = r.capture {
            def.capture = v;
        }
        if let Some(v) = r.capture_duration {
            def.capture_duration = Some(v);
        }
        if let Some(v) = r.skip_if_unknown_filter {
            def.skip_if_unknown_filter = v;
        }
        if let Some(excs) = excs {
            if append("exceptions") {
                self.append_exceptions(i, excs)?;
            } else {
                self.out.rules[i].exceptions = excs;
            }
        }
        Ok(())
    }
}
