//! Replaying a capture through an [`Engine`]: cursor → state → candidate rules → alerts.
//!
//! Owns the offline driver only; the engine itself takes one event at a time, so a live
//! caller can feed batches the same way (apply the record to its state, build an
//! [`EventCtx`], call [`Engine::process`]).

use super::engine::{Alert, Engine, EngineOptions};
use super::error::RulesError;
use super::{type_of, Ruleset, NCODES};
use crate::capture::CaptureReader;
use crate::event::wire::CODE_DROP;
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

/// Builds the engine for `cap`'s syscall table and runs every event of `cap` through it,
/// calling `sink` for each alert (it returns false to stop early).
pub fn replay<B: AsRef<[u8]>>(
    cap: &CaptureReader<B>,
    rules: Ruleset,
    opts: EngineOptions,
    sink: &mut dyn FnMut(&Alert) -> bool,
) -> Result<(Engine, ReplayStats), RulesError> {
    let meta = cap.meta();
    let table = table_of(meta);
    let mut opts = opts;
    if opts.hostname.is_empty() {
        opts.hostname = meta.machine.hostname.clone();
    }
    let engine = Engine::new(rules, opts, NCODES, &type_of(&table));
    let first_ts = cap.totals().first_ts.unwrap_or(0);
    let env = FieldEnv::new(&table, meta, first_ts);
    let mut state = State::from_capture(table.table(), &meta.snapshot);
    let mut stats = ReplayStats::default();
    let (mut scratch, mut sc, mut alerts) = (String::new(), Scratch::default(), Vec::new());
    let has_catch_all = !engine.index().catch_all().is_empty();
    let mut cursor = cap.cursor();
    while let Some(r) = cursor.next() {
        let (num, rec) = r.map_err(|e| RulesError::Replay {
            message: e.to_string(),
        })?;
        stats.events += 1;
        let effect = state.apply(&rec);
        let code = rec.code();
        if code == CODE_DROP {
            stats.gaps += 1;
            continue;
        }
        if engine.index().typed(code).is_empty() && !has_catch_all {
            continue;
        }
        stats.evaluated += 1;
        let time = env.epoch(rec.ts());
        let mut cx = EventCtx::new(rec, num, &state, &table, meta, &effect, &env, &mut scratch);
        alerts.clear();
        engine.process(code, time, &mut cx, &mut sc, &mut alerts);
        for a in &alerts {
            stats.alerts += 1;
            *stats.by_rule.entry(a.rule.to_string()).or_default() += 1;
            if !sink(a) {
                return Ok((engine, stats));
            }
        }
    }
    Ok((engine, stats))
}

/// Opens capture bytes for replay: a saker capture as is, a sysdig/Falco `.scap` (plain or
/// gzip) imported in memory first.
pub fn open_bytes(bytes: Vec<u8>) -> Result<CaptureReader<Vec<u8>>, RulesError> {
    use crate::scap::{detect, FileKind};
    let err = |message: String| RulesError::Replay { message };
    let bytes = match detect(&bytes) {
        FileKind::Scap | FileKind::Gzip => {
            let imp = crate::scap::import(&bytes).map_err(|e| err(e.to_string()))?;
            crate::scap::to_capture(&imp, crate::capture::WriterOptions::default())
                .map_err(|e| err(e.to_string()))?
        }
        _ => bytes,
    };
    CaptureReader::new(bytes).map_err(|e| err(e.to_string()))
}
