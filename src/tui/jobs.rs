//! The one app event channel and the background jobs that feed it.
//!
//! Input (keys, mouse, resize), the indexer, filter scans and a live
//! recorder all send [`AppEvent`]s on one `mpsc` channel; the main loop
//! receives and dispatches them (bottom's shape). Jobs read the capture
//! through a shared `Arc` and stop early when their generation is stale.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;

use ratatui::crossterm::event::{KeyEvent, MouseEvent};

use super::source::Capture;
use super::timeline::{Category, HistBuilder, Histogram};
use crate::capture::CaptureMeta;
use crate::event::display::escape_bytes;
use crate::event::table::Syscalls;
use crate::event::wire::Record;
use crate::event::wire::{exec, CODE_DROP, CODE_EXEC};
use crate::filter::fields::{EventCtx, FieldEnv, Fields};
use crate::filter::Scratch;
use crate::rules::{Alert, Engine};
use crate::state::{Checkpoints, Effect, State, DEFAULT_INTERVAL};

/// Everything the main loop reacts to.
#[derive(Debug)]
pub enum AppEvent {
    /// A key press.
    Key(KeyEvent),
    /// A mouse event.
    Mouse(MouseEvent),
    /// The terminal was resized.
    Resize(u16, u16),
    /// The indexer finished.
    Indexed(Box<Indexed>),
    /// A filter scan found matches (`done`: the scan is complete).
    Matches {
        /// Scan generation (stale ones are ignored).
        generation: u64,
        /// Matching event numbers, ascending.
        nums: Vec<u64>,
        /// Events scanned so far.
        scanned: u64,
        /// The scan finished.
        done: bool,
    },
    /// A job failed.
    JobError(String),
    /// A batch of concatenated wire records from a live recorder
    /// (`saker record --tui`).
    Live(Vec<u8>),
    /// The live recorder stopped (why, or its error).
    LiveEnded(String),
    /// SIGTERM/SIGINT: leave now.
    Terminate,
}

/// One exec seen by the indexer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRecord {
    /// Process id.
    pub pid: u32,
    /// Event number.
    pub num: u64,
    /// Time.
    pub ts: u64,
    /// argv, escaped.
    pub cmdline: String,
}

/// An alert tied to the event that raised it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRow {
    /// Rule name.
    pub rule: String,
    /// Priority name.
    pub priority: String,
    /// Priority rank (0 = most severe).
    pub rank: u8,
    /// Event number.
    pub num: u64,
    /// Event time.
    pub ts: u64,
    /// Output line, escaped.
    pub output: String,
}

/// What the indexer learned from a full pass.
#[derive(Debug)]
pub struct Indexed {
    /// State checkpoints.
    pub checkpoints: Arc<Checkpoints>,
    /// Exact event-rate histogram.
    pub hist: Histogram,
    /// Every exec, in order.
    pub execs: Vec<ExecRecord>,
    /// Alerts raised by the rules (empty without rules).
    pub alerts: Vec<AlertRow>,
}

/// What [`Observer::observe`] reads besides the event.
pub struct ObserveCtx<'a> {
    /// Syscall table.
    pub table: &'a Syscalls,
    /// Capture metadata.
    pub meta: &'a CaptureMeta,
    /// Field environment.
    pub env: &'a FieldEnv,
    /// Rules to run, if any.
    pub rules: Option<&'a Engine>,
}

/// Per-event part of the indexer (rules and exec history), shared by the
/// full pass and a live recording (which feeds it event by event).
#[derive(Default)]
pub struct Observer {
    scratch: String,
    sc: Scratch,
    raised: Vec<Alert>,
}

impl Observer {
    /// Looks at event `num` (already applied: `st` is the state after it,
    /// `eff` its effect): runs the rules, appending alerts, and records an
    /// exec.
    #[allow(clippy::too_many_arguments)]
    pub fn observe(
        &mut self,
        num: u64,
        rec: Record<'_>,
        st: &State,
        eff: &Effect,
        cx: &ObserveCtx<'_>,
        alerts: &mut Vec<AlertRow>,
        execs: &mut Vec<ExecRecord>,
    ) {
        let code = rec.code();
        if let Some(engine) = cx.rules.filter(|_| code != CODE_DROP) {
            let time = cx.env.epoch(rec.ts());
            let mut ecx = EventCtx::new(
                rec,
                num,
                st,
                cx.table,
                cx.meta,
                eff,
                cx.env,
                &mut self.scratch,
            );
            self.raised.clear();
            engine.process(code, time, &mut ecx, &mut self.sc, &mut self.raised);
            for a in &self.raised {
                let mut output = String::new();
                escape_bytes(a.output.as_bytes(), &mut output);
                alerts.push(AlertRow {
                    rule: a.rule.to_string(),
                    priority: a.priority.as_str().to_string(),
                    rank: a.priority as u8,
                    num,
                    ts: rec.ts(),
                    output,
                });
            }
        }
        if code == CODE_EXEC {
            let mut cmdline = String::new();
            if let Some(p) = rec.param(exec::P_ARGV) {
                let d = p.data.strip_suffix(&[0]).unwrap_or(p.data);
                escape_bytes(
                    &d.iter()
                        .map(|&b| if b == 0 { b' ' } else { b })
                        .collect::<Vec<_>>(),
                    &mut cmdline,
                );
            } else if let Some(p) = rec.param(exec::P_FILENAME) {
                escape_bytes(p.data, &mut cmdline);
            }
            execs.push(ExecRecord {
                pid: rec.pid(),
                num,
                ts: rec.ts(),
                cmdline,
            });
        }
    }
}

/// Runs the indexer: one pass building checkpoints, the exact histogram,
/// the exec history and, with `rules`, the alerts (tied to their events).
pub fn index(
    cap: &Capture,
    table: &Syscalls,
    env: &FieldEnv,
    rules: Option<&Engine>,
) -> Result<Indexed, String> {
    let t = cap.totals();
    let (first, last) = (t.first_ts.unwrap_or(0), t.last_ts.unwrap_or(0));
    let start = State::from_capture(table.table(), &cap.meta().snapshot);
    let mut cp = Checkpoints::new(start, DEFAULT_INTERVAL).map_err(|e| e.to_string())?;
    let mut hist = HistBuilder::new(first, last);
    let mut cats = vec![Category::Other; 2048];
    for (c, slot) in cats.iter_mut().enumerate() {
        *slot = Category::of(c as u16, table);
    }
    let (mut execs, mut alerts) = (Vec::new(), Vec::new());
    let mut obs = Observer::default();
    let meta = cap.meta();
    let mut c = cap.cursor();
    while let Some(r) = c.next() {
        let (num, rec) = r.map_err(|e| e.to_string())?;
        let eff = cp.push(&rec);
        let ctx = ObserveCtx {
            table,
            meta,
            env,
            rules,
        };
        obs.observe(num, rec, cp.current(), &eff, &ctx, &mut alerts, &mut execs);
        hist.add(
            rec.ts(),
            cats.get(usize::from(rec.code()))
                .copied()
                .unwrap_or(Category::Other),
        );
    }
    Ok(Indexed {
        checkpoints: Arc::new(cp),
        hist: hist.finish(),
        execs,
        alerts,
    })
}

/// What a filter scan selects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanRequest {
    /// Generation; results of older scans are dropped.
    pub generation: u64,
    /// Filter expression (already validated).
    pub filter: Option<String>,
    /// Time range (inclusive).
    pub range: Option<(u64, u64)>,
    /// Only this process and its descendants.
    pub subtree: Option<u32>,
}

impl ScanRequest {
    /// Whether the request selects every event (no scan needed).
    pub fn is_all(&self) -> bool {
        self.filter.is_none() && self.range.is_none() && self.subtree.is_none()
    }
}

/// Events between two match batches.
const BATCH_EVENTS: u64 = 65_536;

/// Runs a scan, sending [`AppEvent::Matches`] batches until done or until
/// `current` moves past `req.generation`.
pub fn scan(
    cap: &Capture,
    table: &Syscalls,
    env: &FieldEnv,
    req: &ScanRequest,
    current: &AtomicU64,
    tx: &Sender<AppEvent>,
) -> Result<(), String> {
    let filter = match &req.filter {
        Some(f) => Some(crate::filter::compile_str(f, &Fields).map_err(|e| e.render(f))?),
        None => None,
    };
    let meta = cap.meta();
    let mut st = State::from_capture(table.table(), &meta.snapshot);
    let (mut scratch, mut sc) = (String::new(), Scratch::default());
    let mut nums = Vec::new();
    let mut c = cap.cursor();
    let mut scanned = 0u64;
    while let Some(r) = c.next() {
        let (num, rec) = r.map_err(|e| e.to_string())?;
        let eff = st.apply(&rec);
        scanned += 1;
        if scanned % BATCH_EVENTS == 0 {
            if current.load(Ordering::Relaxed) != req.generation {
                return Ok(());
            }
            let batch = std::mem::take(&mut nums);
            let m = AppEvent::Matches {
                generation: req.generation,
                nums: batch,
                scanned,
                done: false,
            };
            if tx.send(m).is_err() {
                return Ok(());
            }
        }
        if let Some((a, b)) = req.range {
            if rec.ts() < a || rec.ts() > b {
                continue;
            }
        }
        if let Some(root) = req.subtree {
            let pid = rec.pid();
            if pid != root && !st.ancestors(rec.tid()).any(|p| p.pid == root) {
                continue;
            }
        }
        if let Some(f) = &filter {
            let mut cx = EventCtx::new(rec, num, &st, table, meta, &eff, env, &mut scratch);
            if !f.matches(&mut cx, &mut sc) {
                continue;
            }
        }
        nums.push(num);
    }
    let _ = tx.send(AppEvent::Matches {
        generation: req.generation,
        nums,
        scanned,
        done: true,
    });
    Ok(())
}
