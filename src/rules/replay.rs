//! Running a capture's event stream through an [`Engine`]: record → state → candidate
//! rules → alerts.
//!
//! [`Runner`] takes one record at a time, so the offline driver ([`replay`]) and the live
//! recorder path ([`super::live`]) share it: the same state, the same engine, the same
//! alerts for the same records.

use super::engine::{Alert, Engine, EngineOptions};
use super::error::RulesError;
use super::{type_of, Ruleset, NCODES};
use crate::capture::{CaptureMeta, CaptureReader};
use crate::event::table::Syscalls;
use crate::event::wire::CODE_DROP;
use crate::event::Record;
use crate::filter::fields::{EventCtx, FieldEnv};
use crate::filter::Scratch;
use crate::output::table_of;
use crate::state::State;
use std::collections::BTreeMap;

/// What a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records read.
    pub events: u64,
    /// Records that had at least one candidate rule.
    pub evaluated: u64,
    /// Alerts raised.
    pub alerts: u64,
    /// Alerts per rule.
    pub by_rule: BTreeMap<String, u64>,
    /// Gap markers (events lost while recording).
    pub gaps: u64,
}

/// One capture's state plus an engine built for its syscall table.
pub struct Runner {
    meta: CaptureMeta,
    table: Syscalls,
    env: FieldEnv,
    state: State,
    engine: Engine,
    has_catch_all: bool,
    text: String,
    scratch: Scratch,
    alerts: Vec<Alert>,
    stats: ReplayStats,
}

impl Runner {
    /// A runner for a capture with `meta` whose first event has timestamp `first_ts`.
    /// An empty `opts.hostname` takes the capture's.
    pub fn new(meta: CaptureMeta, first_ts: u64, rules: Ruleset, opts: EngineOptions) -> Self {
        let table = table_of(&meta).into_owned();
        let mut opts = opts;
        if opts.hostname.is_empty() {
            opts.hostname = meta.machine.hostname.clone();
        }
        let engine = Engine::new(rules, opts, NCODES, &type_of(&table));
        let env = FieldEnv::new(&table, &meta, first_ts);
        let state = State::from_capture(table.table(), &meta.snapshot);
        Runner {
            has_catch_all: !engine.index().catch_all().is_empty(),
            meta,
            table,
            env,
            state,
            engine,
            text: String::new(),
            scratch: Scratch::default(),
            alerts: Vec::new(),
            stats: ReplayStats::default(),
        }
    }

    /// Applies record `num` (0-based event number) to the state, runs its candidate rules
    /// and calls `sink` for each alert; false when `sink` asked to stop.
    pub fn feed(
        &mut self,
        num: u64,
        rec: Record<'_>,
        sink: &mut dyn FnMut(&Alert) -> bool,
    ) -> bool {
        self.stats.events += 1;
        let effect = self.state.apply(&rec);
        let code = rec.code();
        if code == CODE_DROP {
            self.stats.gaps += 1;
            return true;
        }
        if self.engine.index().typed(code).is_empty() && !self.has_catch_all {
            return true;
        }
        self.stats.evaluated += 1;
        let time = self.env.epoch(rec.ts());
        let mut cx = EventCtx::new(
            rec,
            num,
            &self.state,
            &self.table,
            &self.meta,
            &effect,
            &self.env,
            &mut self.text,
        );
        self.alerts.clear();
        self.engine
            .process(code, time, &mut cx, &mut self.scratch, &mut self.alerts);
        for a in &self.alerts {
            self.stats.alerts += 1;
            if let Some(n) = self.stats.by_rule.get_mut(&*a.rule) {
                *n += 1;
            } else {
                self.stats.by_rule.insert(a.rule.to_string(), 1);
            }
            if !sink(a) {
                return false;
            }
        }
        true
    }

    /// What was done so far.
    pub fn stats(&self) -> &ReplayStats {
        &self.stats
    }

    /// The engine and the final counts.
    pub fn finish(self) -> (Engine, ReplayStats) {
        (self.engine, self.stats)
    }
}

/// Builds the engine for `cap`'s syscall table and runs every event of `cap` through it,
/// calling `sink` for each alert (it returns false to stop early).
pub fn replay<B: AsRef<[u8]>>(
    cap: &CaptureReader<B>,
    rules: Ruleset,
    opts: EngineOptions,
    sink: &mut dyn FnMut(&Alert) -> bool,
) -> Result<(Engine, ReplayStats), RulesError> {
    let first_ts = cap.totals().first_ts.unwrap_or(0);
    let mut runner = Runner::new(cap.meta().clone(), first_ts, rules, opts);
    let mut cursor = cap.cursor();
    while let Some(r) = cursor.next() {
        let (num, rec) = r.map_err(|e| RulesError::Replay {
            message: e.to_string(),
        })?;
        if !runner.feed(num, rec, sink) {
            break;
        }
    }
    Ok(runner.finish())
}
