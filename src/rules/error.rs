//! The one error type of the rules module ([`RulesError`]), the structured [`Warning`]
//! list, and file positions ([`Loc`]).
//!
//! Owns presentation: every error names `file:line:col`; condition errors also name the
//! rule or macro and show the condition with a caret ([`FilterError::render`]). Nothing
//! here prints raw control characters.

use crate::filter::FilterError;
use std::fmt;
use std::sync::Arc;

/// A position in a rules file (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Loc {
    /// The file name as given to the reader.
    pub file: Arc<str>,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", escape(&self.file), self.line, self.col)
    }
}

/// Escapes control characters so text is safe on a terminal.
pub(crate) fn escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// What kind of definition an error or warning is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    /// A `rule`.
    Rule,
    /// A `macro`.
    Macro,
    /// A `list`.
    List,
    /// An exception of a rule.
    Exception,
}

impl ItemKind {
    /// `rule`, `macro`, `list` or `exception`.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Rule => "rule",
            ItemKind::Macro => "macro",
            ItemKind::List => "list",
            ItemKind::Exception => "exception",
        }
    }
}

/// Loading a ruleset failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// The file is not valid YAML.
    #[error("{loc}: invalid YAML: {message}")]
    Yaml {
        /// Where the YAML parser stopped.
        loc: Loc,
        /// The parser's message.
        message: String,
    },
    /// An element does not have the shape the rules schema requires.
    #[error("{loc}: {}{message}", context(.item))]
    Schema {
        /// Where the offending element is.
        loc: Loc,
        /// The definition it belongs to, if known (`rule 'x'`).
        item: Option<(ItemKind, String)>,
        /// What is wrong.
        message: String,
    },
    /// `append`/`override` or an enable-only item names a definition that does not exist,
    /// or the override keys do not match the item.
    #[error("{loc}: {} '{}': {message}", .kind.as_str(), escape(.name))]
    Definition {
        /// Where the item is.
        loc: Loc,
        /// What it defines.
        kind: ItemKind,
        /// Its name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A condition (of a rule, macro or exception) does not parse or compile.
    #[error("{loc}: {} '{}': {}\n{}", .kind.as_str(), escape(.name), escape(&.error.message), .rendered.trim_end())]
    Condition {
        /// Where the condition text starts in the file.
        loc: Loc,
        /// The rule or macro whose text holds the problem.
        kind: ItemKind,
        /// Its name.
        name: String,
        /// The rule being compiled when the error was found in a macro it uses.
        in_rule: Option<String>,
        /// The filter error (span relative to `condition`).
        error: FilterError,
        /// The text the span refers to.
        condition: String,
        /// [`FilterError::render`] of the error on `condition`.
        rendered: String,
    },
    /// An exception is malformed (fields/comps/values mismatch, unsupported operator).
    #[error("{loc}: rule '{}': exception '{}': {message}", escape(.rule), escape(.exception))]
    Exception {
        /// Where the exception is.
        loc: Loc,
        /// The rule.
        rule: String,
        /// The exception name.
        exception: String,
        /// What is wrong.
        message: String,
    },
    /// Reading the capture being replayed failed.
    #[error("replay: {message}")]
    Replay {
        /// What went wrong.
        message: String,
    },
    /// The file requires a newer engine.
    #[error("{loc}: rules require engine version {required}, but this engine is {have}")]
    EngineVersion {
        /// Where the requirement is.
        loc: Loc,
        /// The version required.
        required: String,
        /// Our engine version.
        have: String,
    },
}

fn context(item: &Option<(ItemKind, String)>) -> String {
    match item {
        Some((k, n)) => format!("{} '{}': ", k.as_str(), escape(n)),
        None => String::new(),
    }
}

impl RulesError {
    /// The file position the error refers to (none for replay errors).
    pub fn loc(&self) -> Option<&Loc> {
        Some(match self {
            RulesError::Yaml { loc, .. }
            | RulesError::Schema { loc, .. }
            | RulesError::Definition { loc, .. }
            | RulesError::Condition { loc, .. }
            | RulesError::Exception { loc, .. }
            | RulesError::EngineVersion { loc, .. } => loc,
            RulesError::Replay { .. } => return None,
        })
    }
}

/// What a [`Warning`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// An unknown key or top-level item (ignored).
    UnknownKey,
    /// A rule for an event source we do not have (`k8s_audit`, `aws_cloudtrail`, …): skipped.
    UnknownSource,
    /// A rule uses a field of a plugin we do not have, or `skip-if-unknown-filter` hid an
    /// unknown field: skipped.
    UnknownField,
    /// A plugin requirement we do not satisfy (its rules will be skipped).
    PluginRequirement,
    /// A rule without an `evt.type` restriction (runs on every event).
    NoEventType,
    /// A rule whose condition can match no event type we know.
    NoMatchingEventType,
    /// A deprecated construct (`append: true`, `%container.info`, …).
    Deprecated,
    /// A name that does not follow Falco's naming pattern.
    InvalidName,
    /// A list, macro or rule defined but never used (not reported for rules).
    Unused,
}

/// A non-fatal finding while loading rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// What kind.
    pub kind: WarningKind,
    /// Where.
    pub loc: Loc,
    /// The definition it concerns, if any.
    pub item: Option<(ItemKind, String)>,
    /// Human-readable text.
    pub message: String,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: warning: {}{}",
            self.loc,
            context(&self.item),
            escape(&self.message)
        )
    }
}
