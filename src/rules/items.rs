//! The items of a rules file as read from YAML, before any definition is applied.
//!
//! Owns data shapes only (the reader fills them, the collector consumes them). Every
//! scalar keeps its original text, as yaml-cpp's `Scalar()` does for Falco, and its
//! position in the file.

use super::error::Loc;
use std::fmt;

/// A scalar as written, with where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The scalar's text (after YAML unquoting/folding).
    pub value: String,
    /// Where the scalar starts.
    pub loc: Loc,
}

/// A rule priority (Falco's eight syslog-like levels, most severe first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// `Emergency`
    Emergency,
    /// `Alert`
    Alert,
    /// `Critical`
    Critical,
    /// `Error`
    Error,
    /// `Warning`
    Warning,
    /// `Notice`
    Notice,
    /// `Informational` (also read as `Info`).
    Informational,
    /// `Debug`
    Debug,
}

impl Priority {
    /// Every priority, most severe first.
    pub const ALL: [Priority; 8] = [
        Priority::Emergency,
        Priority::Alert,
        Priority::Critical,
        Priority::Error,
        Priority::Warning,
        Priority::Notice,
        Priority::Informational,
        Priority::Debug,
    ];

    /// Parses a priority name, case-insensitively; `info` is accepted for `Informational`.
    pub fn parse(s: &str) -> Option<Priority> {
        let l = s.trim().to_ascii_lowercase();
        if l == "info" {
            return Some(Priority::Informational);
        }
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(&l))
    }

    /// The capitalised name Falco prints (`Informational`, not `Info`).
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Emergency => "Emergency",
            Priority::Alert => "Alert",
            Priority::Critical => "Critical",
            Priority::Error => "Error",
            Priority::Warning => "Warning",
            Priority::Notice => "Notice",
            Priority::Informational => "Informational",
            Priority::Debug => "Debug",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an `override:` entry changes a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverrideMode {
    /// Add to the previous value.
    Append,
    /// Replace the previous value.
    Replace,
}

/// One `override:` entry: `key: append|replace`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    /// The overridden key (`condition`, `items`, `tags`, …).
    pub key: String,
    /// Append or replace.
    pub mode: OverrideMode,
    /// Where the entry is written.
    pub loc: Loc,
}

/// `- required_engine_version: …` (an integer N means `0.N.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineVersionReq {
    /// The version as written.
    pub version: Text,
}

/// One entry of `required_plugin_versions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginReq {
    /// Plugin name.
    pub name: Text,
    /// Minimum version.
    pub version: Text,
    /// Plugins that satisfy the requirement as well.
    pub alternatives: Vec<(Text, Text)>,
}

/// `- list: name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListItem {
    /// The list name.
    pub name: Text,
    /// `items:` (absent only for a malformed append).
    pub items: Option<Vec<Text>>,
    /// Legacy `append: true`.
    pub append: bool,
    /// `override:` entries.
    pub overrides: Vec<Override>,
    /// Where the item starts.
    pub loc: Loc,
}

/// `- macro: name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroItem {
    /// The macro name.
    pub name: Text,
    /// `condition:`.
    pub condition: Option<Text>,
    /// Legacy `append: true`.
    pub append: bool,
    /// `override:` entries.
    pub overrides: Vec<Override>,
    /// Where the item starts.
    pub loc: Loc,
}

/// One value of an exception: a scalar (possibly a list name) or an inline list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExcValue {
    /// A scalar.
    Scalar(Text),
    /// A YAML list, written as `(a, b)`.
    List(Vec<Text>),
}

/// One entry of `values:`: a tuple (for the list form of `fields`) or a single value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExcEntry {
    /// `[v1, v2, …]`, one per field.
    Tuple(Vec<ExcValue>, Loc),
    /// A bare value (single-field form).
    Single(ExcValue, Loc),
}

/// `fields:` or `comps:` of an exception: one name or a list of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOrMany {
    /// A single scalar.
    One(Text),
    /// A list.
    Many(Vec<Text>),
}

/// One `exceptions:` entry of a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// The exception name (unique per rule).
    pub name: Text,
    /// The fields compared.
    pub fields: Option<OneOrMany>,
    /// The operators (defaults: `=` per field, or `in` for the single-field form).
    pub comps: Option<OneOrMany>,
    /// The values.
    pub values: Vec<ExcEntry>,
    /// Where the entry starts.
    pub loc: Loc,
}

/// `- rule: name`, with every key as written (absent keys are `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleItem {
    /// The rule name.
    pub name: Text,
    /// `condition:`.
    pub condition: Option<Text>,
    /// `output:`.
    pub output: Option<Text>,
    /// `desc:`.
    pub desc: Option<Text>,
    /// `priority:`.
    pub priority: Option<(Priority, Loc)>,
    /// `source:` (default `syscall`).
    pub source: Option<Text>,
    /// `enabled:`.
    pub enabled: Option<bool>,
    /// `tags:`.
    pub tags: Option<Vec<String>>,
    /// `exceptions:`.
    pub exceptions: Option<Vec<Exception>>,
    /// `skip-if-unknown-filter:`.
    pub skip_if_unknown_filter: Option<bool>,
    /// `warn_evttypes:`.
    pub warn_evttypes: Option<bool>,
    /// `capture:`.
    pub capture: Option<bool>,
    /// `capture_duration:` (ms).
    pub capture_duration: Option<u64>,
    /// Legacy `append: true`.
    pub append: bool,
    /// `override:` entries.
    pub overrides: Vec<Override>,
    /// Every known key present besides `rule`, `append` and `override`, in file order.
    pub keys: Vec<(String, Loc)>,
    /// Where the item starts.
    pub loc: Loc,
}

/// One top-level element of a rules file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// `required_engine_version`.
    EngineVersion(EngineVersionReq),
    /// `required_plugin_versions`.
    PluginVersions(Vec<PluginReq>, Loc),
    /// `list`.
    List(ListItem),
    /// `macro`.
    Macro(MacroItem),
    /// `rule`.
    Rule(Box<RuleItem>),
}
