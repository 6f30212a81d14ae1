//! Phase 5: running compiled rules on events and producing [`Alert`]s.
//!
//! Owns rule selection (enabled flag, `-t`/`-T` tags, minimum priority), the candidate
//! order (type-specific rules, then catch-all ones) and `rule_matching: first|all`. The
//! engine is immutable once built: a caller (replay, or later a live recorder feeding
//! batches) applies each event to its state first, then calls [`Engine::process`] with a
//! field source for that event and its own [`Scratch`].

use super::compiler::{CompiledRule, Ruleset};
use super::index::EventIndex;
use super::items::Priority;
use super::output::{rfc3339, text_line, OutputSource};
use crate::filter::Scratch;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which matches raise alerts (Falco's `rule_matching`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleMatching {
    /// Only the first matching rule (Falco's default).
    #[default]
    First,
    /// Every matching rule of the first candidate group with a match.
    All,
}

/// Rule selection and matching options.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// First or all matches.
    pub rule_matching: RuleMatching,
    /// Rules less severe than this are not loaded.
    pub min_priority: Priority,
    /// `-t`: if not empty, only rules with one of these tags run (whatever their `enabled`).
    pub enable_tags: Vec<String>,
    /// `-T`: rules with one of these tags do not run.
    pub disable_tags: Vec<String>,
    /// Host name put in alerts.
    pub hostname: String,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            rule_matching: RuleMatching::First,
            min_priority: Priority::Debug,
            enable_tags: Vec::new(),
            disable_tags: Vec::new(),
            hostname: String::new(),
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Rule name.
    pub rule: Arc<str>,
    /// Rule priority.
    pub priority: Priority,
    /// Event time, ns since the epoch.
    pub time_ns: i64,
    /// The rendered output message (without time and priority).
    pub output: String,
    /// Typed values of the output fields, plus `evt.time`.
    pub output_fields: BTreeMap<String, Json>,
    /// Rule tags, sorted.
    pub tags: Arc<[String]>,
    /// Event source (`syscall`).
    pub source: Arc<str>,
    /// Host name.
    pub hostname: Arc<str>,
}

impl Alert {
    /// Falco's text line `HH:MM:SS.nnnnnnnnn: Priority message`.
    pub fn text(&self) -> String {
        text_line(self.time_ns, self.priority, &self.output)
    }

    /// Falco's JSON object (keys sorted).
    pub fn json(&self) -> Json {
        serde_json::json!({
            "hostname": &*self.hostname,
            "output": self.text(),
            "output_fields": self.output_fields,
            "priority": self.priority.as_str(),
            "rule": &*self.rule,
            "source": &*self.source,
            "tags": &*self.tags,
            "time": rfc3339(self.time_ns),
        })
    }
}

/// Per-rule data shared by its alerts.
#[derive(Debug)]
struct Meta {
    name: Arc<str>,
    tags: Arc<[String]>,
    source: Arc<str>,
}

/// Compiled rules plus their event-type index, ready to run.
#[derive(Debug)]
pub struct Engine {
    rules: Vec<CompiledRule>,
    meta: Vec<Meta>,
    active: Vec<bool>,
    index: EventIndex,
    opts: EngineOptions,
    hostname: Arc<str>,
}

/// Whether a rule runs under `opts`.
pub fn selected(r: &CompiledRule, opts: &EngineOptions) -> bool {
    let tagged = |tags: &[String]| tags.iter().any(|t| r.tags.contains(t));
    let on = if opts.enable_tags.is_empty() {
        r.enabled
    } else {
        tagged(&opts.enable_tags)
    };
    on && !tagged(&opts.disable_tags) && r.priority <= opts.min_priority
}

impl Engine {
    /// Builds the engine. `type_of(code)` gives the `evt.type` of event codes `0..ncodes`.
    pub fn new(
        set: Ruleset,
        opts: EngineOptions,
        ncodes: u16,
        type_of: &dyn Fn(u16) -> Option<String>,
    ) -> Self {
        let active: Vec<bool> = set.rules.iter().map(|r| selected(r, &opts)).collect();
        let index = EventIndex::build(&set.rules, &active, ncodes, type_of);
        let meta = set
            .rules
            .iter()
            .map(|r| Meta {
                name: r.name.as_str().into(),
                tags: r.tags.iter().cloned().collect(),
                source: r.source.as_str().into(),
            })
            .collect();
        Engine {
            hostname: opts.hostname.as_str().into(),
            rules: set.rules,
            meta,
            active,
            index,
            opts,
        }
    }

    /// Every compiled rule (selected or not), in load order.
    pub fn rules(&self) -> &[CompiledRule] {
        &self.rules
    }

    /// The rules that run, in load order.
    pub fn active_rules(&self) -> impl Iterator<Item = &CompiledRule> + '_ {
        self.rules
            .iter()
            .zip(&self.active)
            .filter(|(_, a)| **a)
            .map(|(r, _)| r)
    }

    /// The candidate index.
    pub fn index(&self) -> &EventIndex {
        &self.index
    }

    /// Runs the candidate rules of an event with code `code` at `time_ns` (epoch ns);
    /// pushes alerts to `out` and returns how many were pushed.
    pub fn process<S: OutputSource>(
        &self,
        code: u16,
        time_ns: i64,
        src: &mut S,
        scratch: &mut Scratch,
        out: &mut Vec<Alert>,
    ) -> usize {
        let before = out.len();
        for group in [self.index.typed(code), self.index.catch_all()] {
            for &i in group {
                let rule = &self.rules[i as usize];
                if !rule.filter.matches(src, scratch) {
                    continue;
                }
                out.push(self.alert(i as usize, time_ns, src));
                if self.opts.rule_matching == RuleMatching::First {
                    return 1;
                }
            }
            if out.len() > before {
                break;
            }
        }
        out.len() - before
    }

    fn alert<S: OutputSource>(&self, i: usize, time_ns: i64, src: &mut S) -> Alert {
        let rule = &self.rules[i];
        let m = &self.meta[i];
        let mut output_fields = rule.output.fields(src);
        output_fields.insert("evt.time".into(), Json::from(time_ns));
        Alert {
            rule: m.name.clone(),
            priority: rule.priority,
            time_ns,
            output: rule.output.render(src),
            output_fields,
            tags: m.tags.clone(),
            source: m.source.clone(),
            hostname: self.hostname.clone(),
        }
    }
}
