//! Chisels: sysdig's analysis scripts, natively. A [`Chisel`] is created
//! from its arguments ([`ChiselDef::make`]), sees every matching event
//! ([`Chisel::on_event`]) and writes its result at the end
//! ([`Chisel::finish`]). [`run`] drives one over a capture with the
//! reconstructed state. Aggregating chisels sum on polars DataFrames built
//! in batches ([`agg`]); `query` and `export` expose events as DataFrames.
//!
//! Owns: the chisel catalogue ([`CHISELS`]), the event view chisels use
//! ([`event`]), the table renderers and units of sysdig's `common.lua`.
//! Never imports the recorder, TUI or CLI.

pub mod agg;
mod around;
pub mod event;
pub mod export;
pub mod frame;
mod key;
pub mod query;
mod snap;
mod spy;
mod top;

use std::io::Write;
use std::sync::Arc;

use crate::capture::{CaptureError, CaptureMeta, CaptureReader};
use crate::event::table::Syscalls;
use crate::state::{Effect, Ops, State};
pub use event::{Env, Event, IoDir};

/// Errors of chisels, queries and exports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChiselError {
    /// No chisel of that name.
    #[error("unknown chisel '{name}'{hint}")]
    Unknown {
        /// The name given.
        name: String,
        /// `; did you mean 'x'?` or empty.
        hint: String,
    },
    /// Bad or missing chisel argument.
    #[error("chisel {chisel}: argument '{arg}': {reason}")]
    BadArg {
        /// The chisel.
        chisel: &'static str,
        /// The argument's name.
        arg: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// Too many arguments.
    #[error("chisel {chisel} takes at most {max} argument(s), got {got}")]
    TooManyArgs {
        /// The chisel.
        chisel: &'static str,
        /// Its argument count.
        max: usize,
        /// Arguments given.
        got: usize,
    },
    /// The capture cannot answer what the chisel asks.
    #[error("{chisel}: {reason}")]
    Unsupported {
        /// The chisel.
        chisel: &'static str,
        /// Why.
        reason: String,
    },
    /// A field name that does not resolve.
    #[error("field '{field}': {reason}{hint}")]
    BadField {
        /// The field as given.
        field: String,
        /// Why it does not resolve.
        reason: String,
        /// `; did you mean 'x'?` or empty.
        hint: String,
    },
    /// An SQL query polars rejected.
    #[error("SQL: {reason}{hint}")]
    Sql {
        /// polars' message.
        reason: String,
        /// A hint about column names, or empty.
        hint: String,
    },
    /// Reading the capture failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// The capture's syscall table is unusable.
    #[error("syscall table: {reason}")]
    Table {
        /// Why.
        reason: String,
    },
    /// A polars operation failed.
    #[error("polars: {reason}")]
    Polars {
        /// polars' message.
        reason: String,
    },
    /// Writing the output failed.
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
}

/// Where chisel output goes.
pub struct Out<'w> {
    /// The writer.
    pub w: &'w mut dyn Write,
    /// Machine-readable JSON instead of text.
    pub json: bool,
}

/// What a chisel sees at the end: the state where the run stopped.
pub struct End<'a> {
    /// The state after the last processed event.
    pub state: &'a State,
    /// Per-capture facts.
    pub env: &'a Env,
    /// Capture metadata.
    pub meta: &'a CaptureMeta,
    /// Timestamp of the last processed event (0 if none).
    pub last_ts: u64,
    /// Events processed (matching the filter).
    pub matched: u64,
}

/// A running chisel.
pub trait Chisel {
    /// Called for every event that passed the filter.
    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out<'_>) -> Result<(), ChiselError>;
    /// Writes the result.
    fn finish(&mut self, end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError>;
    /// Whether the chisel needs per-event calls at all (state chisels
    /// only read the final state).
    fn wants_events(&self) -> bool {
        true
    }
    /// Whether the chisel reads the reconstructed state (processes, fds);
    /// when neither it nor the filter does, [`run`] does not rebuild it.
    fn needs_state(&self) -> bool {
        true
    }
    /// Whether the chisel reads fds (names, types, [`Event::effect`]) when
    /// it reads the state; when neither it nor the filter does, [`run`]
    /// skips fd tables ([`State::without_fds`]).
    fn needs_fds(&self) -> bool {
        true
    }
    /// Whether [`run`] applies the filter; when false the chisel sees every
    /// event with [`Event::matched`] telling the filter's verdict (`around`).
    fn filtered(&self) -> bool {
        true
    }
}

/// One argument of a chisel.
#[derive(Debug, Clone, Copy)]
pub struct ArgDef {
    /// Name.
    pub name: &'static str,
    /// Type, as `sysdig -i` shows it.
    pub ty: &'static str,
    /// Description.
    pub desc: &'static str,
    /// Whether it may be left out.
    pub optional: bool,
}

/// What a chisel is created from.
pub struct Init<'a> {
    /// The arguments given after the chisel name.
    pub args: &'a [String],
    /// Whether the capture has syscall entry times.
    pub has_latency: bool,
}

/// Creates a chisel from its catalogue entry and arguments.
pub type MakeFn = fn(&'static ChiselDef, &Init<'_>) -> Result<Box<dyn Chisel>, ChiselError>;

/// A catalogue entry.
pub struct ChiselDef {
    /// Name (as sysdig's).
    pub name: &'static str,
    /// Category (as sysdig's `-cl`).
    pub category: &'static str,
    /// One-line description.
    pub short: &'static str,
    /// Full description.
    pub desc: &'static str,
    /// Arguments in order.
    pub args: &'static [ArgDef],
    /// Creates the chisel.
    pub make: MakeFn,
}

impl std::fmt::Debug for ChiselDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChiselDef")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl ChiselDef {
    /// Argument `i`, checking required ones are there.
    pub fn arg<'a>(
        &'static self,
        init: &'a Init<'_>,
        i: usize,
    ) -> Result<Option<&'a str>, ChiselError> {
        match (init.args.get(i), self.args.get(i)) {
            (Some(v), _) => Ok(Some(v.as_str())),
            (None, Some(a)) if !a.optional => Err(ChiselError::BadArg {
                chisel: self.name,
                arg: a.name,
                reason: "missing (see `saker chisels ".to_string() + self.name + "`)",
            }),
            _ => Ok(None),
        }
    }

    /// Fails when more arguments were given than the chisel takes.
    pub fn check_count(&'static self, init: &Init<'_>) -> Result<(), ChiselError> {
        if init.args.len() > self.args.len() {
            return Err(ChiselError::TooManyArgs {
                chisel: self.name,
                max: self.args.len(),
                got: init.args.len(),
            });
        }
        Ok(())
    }

    /// Creates the chisel from `init`.
    pub fn create(&'static self, init: &Init<'_>) -> Result<Box<dyn Chisel>, ChiselError> {
        self.check_count(init)?;
        (self.make)(self, init)
    }
}

/// Every chisel, by category then name.
pub fn catalogue() -> Vec<&'static ChiselDef> {
    let mut v: Vec<&'static ChiselDef> = top::DEFS
        .iter()
        .chain(spy::DEFS.iter())
        .chain(around::DEFS.iter())
        .chain(snap::DEFS.iter())
        .collect();
    v.sort_by_key(|d| (d.category, d.name));
    v
}

/// The chisel named `name`, or an error suggesting the closest name.
pub fn find(name: &str) -> Result<&'static ChiselDef, ChiselError> {
    let all = catalogue();
    if let Some(d) = all.iter().find(|d| d.name == name) {
        return Ok(d);
    }
    let best = all
        .iter()
        .map(|d| (strsim::levenshtein(d.name, name), d.name))
        .min()
        .filter(|(dist, _)| *dist <= 3);
    Err(ChiselError::Unknown {
        name: crate::filter::error::escape_str(name),
        hint: best.map_or_else(
            || "; `saker chisels` lists them".to_string(),
            |(_, n)| format!("; did you mean '{n}'?"),
        ),
    })
}

/// Options of [`run`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOpts {
    /// Stop after the last event with `ts <= at` (state chisels).
    pub at: Option<u64>,
    /// The filter reads no state (or there is none): with a chisel that
    /// reads none either, the state is not rebuilt.
    pub filter_stateless: bool,
}

/// Per-capture facts from a reader: syscall table and [`Env`].
pub fn env_of<B: AsRef<[u8]>>(reader: &CaptureReader<B>) -> Result<(Syscalls, Env), ChiselError> {
    let table = Syscalls::new(reader.meta().syscalls.clone()).map_err(|e| ChiselError::Table {
        reason: e.to_string(),
    })?;
    let t = reader.totals();
    let has_latency = reader.meta().config.latency;
    let env = Env::new(
        &table,
        reader.meta().machine.boottime_to_epoch_ns,
        t.first_ts.unwrap_or(0),
        t.last_ts.unwrap_or(0),
        has_latency,
    );
    Ok((table, env))
}

/// Runs `chisel` over every event of `reader` in file order, the next
/// blocks decompressed on a second thread. `keep` is the filter (called
/// after the state saw the event); `progress` gets the number of blocks
/// done. Returns the number of matching events.
pub fn run<B: AsRef<[u8]> + Sync>(
    reader: &CaptureReader<B>,
    env: &Env,
    chisel: &mut dyn Chisel,
    opts: RunOpts,
    keep: &mut dyn FnMut(&Event<'_>) -> bool,
    out: &mut Out<'_>,
    progress: &mut dyn FnMut(usize),
) -> Result<u64, ChiselError> {
    let meta = reader.meta();
    let ops = Arc::new(Ops::compile(&meta.syscalls));
    let fds = chisel.needs_fds()
        || !opts.filter_stateless
        || reader
            .totals()
            .counts
            .iter()
            .any(|(c, _)| ops.procs_read_fds(*c));
    let mut state = State::new(ops, &meta.snapshot);
    if !fds {
        state = state.without_fds();
    }
    let mut matched = 0u64;
    let mut last_ts = 0u64;
    let mut block = usize::MAX;
    let stateful = chisel.needs_state() || !opts.filter_stateless;
    reader.with_read_ahead(|cur| -> Result<(), ChiselError> {
        while let Some(r) = cur.next() {
            let (num, rec) = r?;
            if opts.at.is_some_and(|at| rec.ts() > at) {
                break;
            }
            let effect = if stateful {
                state.apply(&rec)
            } else {
                Effect::default()
            };
            last_ts = rec.ts();
            if !chisel.wants_events() {
                continue;
            }
            let mut ev = Event {
                num,
                rec,
                state: &state,
                effect: &effect,
                env,
                matched: true,
            };
            ev.matched = keep(&ev);
            if ev.matched {
                matched += 1;
            }
            if ev.matched || !chisel.filtered() {
                chisel.on_event(&ev, out)?;
            }
            let b = cur.block();
            if b != block {
                block = b;
                progress(b);
            }
        }
        Ok(())
    })?;
    progress(reader.blocks().len());
    let end = End {
        state: &state,
        env,
        meta,
        last_ts,
        matched,
    };
    chisel.finish(&end, out)?;
    Ok(matched)
}

/// Formats ns since the epoch as `YYYY-MM-DD HH:MM:SS.nnnnnnnnn` (UTC).
pub fn fmt_time(ns: i64) -> String {
    let secs = ns.div_euclid(1_000_000_000);
    let nanos = ns.rem_euclid(1_000_000_000) as u32;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(t) => t.format("%Y-%m-%d %H:%M:%S%.9f").to_string(),
        None => format!("@{ns}"),
    }
}
