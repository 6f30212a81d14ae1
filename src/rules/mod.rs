//! The Falco-compatible rule engine: rules files → compiled, indexed rules → alerts.
//!
//! Phases, each its own module, as Falco's loader is split:
//! 1. [`reader`]: YAML → [`items::Item`]s with `file:line:col` positions (no I/O);
//! 2. [`collector`]: definitions applied in order (`append`, `override`, `enabled`,
//!    redefinitions keep their position);
//! 3. [`compiler`]: lists and macros resolved on the AST, exceptions added, fields
//!    resolved through a [`FieldRegistry`], outputs compiled;
//! 4. [`index`]: candidate rules per event code;
//! 5. [`engine`]: evaluation, rule selection and [`engine::Alert`]s;
//! 6. [`output`]: Falco's text and JSON alert formats.
//!
//! [`replay::Runner`] drives phase 5 one record at a time, for `saker replay` and for the
//! live rules thread of `saker record --rules` ([`live`]).
//!
//! Errors are one [`RulesError`] (positions, caret diagnostics); warnings are a separate
//! structured list. [`load`] runs phases 1–3 over several files.

pub mod collector;
pub mod compiler;
pub mod engine;
pub mod error;
pub mod exceptions;
pub mod index;
pub mod items;
pub mod live;
pub mod output;
mod overrides;
pub mod reader;
pub mod replay;
mod source;
pub mod spec;
pub mod yaml;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_overrides;
#[cfg(test)]
mod tests_props;

pub use collector::{Collected, Collector, ENGINE_VERSION};
pub use compiler::{CompileOptions, CompiledRule, Ruleset};
pub use engine::{Alert, Engine, EngineOptions, RuleMatching};
pub use error::{ConditionError, ItemKind, Loc, RulesError, Warning, WarningKind};
pub use items::Priority;
pub use output::OutputSource;

use crate::event::table::Syscalls;
use crate::event::wire::CODE_DROP;
use crate::filter::FieldRegistry;
use std::collections::BTreeSet;

/// Number of event codes the index covers (every syscall code and the special events).
pub const NCODES: u16 = CODE_DROP + 1;

/// The `evt.type` name of each event code under `table`.
pub fn type_of(table: &Syscalls) -> impl Fn(u16) -> Option<String> + '_ {
    move |code| (code < NCODES).then(|| table.name(code).into_owned())
}

/// Every `evt.type` name under `table`.
pub fn universe(table: &Syscalls) -> BTreeSet<String> {
    let f = type_of(table);
    (0..NCODES).filter_map(f).collect()
}

/// The result of loading rules files.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The compiled rules.
    pub ruleset: Ruleset,
    /// Final definitions (for counts and listings).
    pub collected: Collected,
    /// Every warning, reader's first.
    pub warnings: Vec<Warning>,
}

/// Reads, collects and compiles `files` (`(name, text)` pairs, in load order).
pub fn load(
    files: &[(&str, &str)],
    reg: &dyn FieldRegistry,
    table: &Syscalls,
    opts: &CompileOptions,
) -> Result<Loaded, RulesError> {
    let mut warnings = Vec::new();
    let mut col = Collector::new();
    for (name, text) in files {
        let (items, w) = reader::read(name, text)?;
        warnings.extend(w);
        col.add(items)?;
    }
    let (collected, w) = col.finish();
    warnings.extend(w);
    let (ruleset, w) = compiler::compile(&collected, reg, &universe(table), opts)?;
    warnings.extend(w);
    Ok(Loaded {
        ruleset,
        collected,
        warnings,
    })
}

/// saker's own default ruleset (Falco's format), used when no rules file is
/// given: see `src/rules/saker_rules.yaml`.
pub const DEFAULT_RULES: &str = include_str!("saker_rules.yaml");
/// The name the default ruleset goes by in messages.
pub const DEFAULT_RULES_NAME: &str = "<saker default rules>";
