//! The read pipeline: every event of a capture goes through
//! [`State::apply`] (so filtered-out events still update the state), then
//! the event-type prefilter, the filter and the template, into a writer.
//!
//! Works on any [`CaptureReader`] (files, or in-memory captures from the
//! `.scap` importer). When neither the filter nor the template reads the
//! state, the state is not built at all, and a block is not even decompressed
//! when its header shows it cannot print anything: all its events are before
//! `--from`, or its per-code counts hold no code the filter can match (and no
//! gap marker). When the state is needed every block is decoded: the capture
//! keeps no state snapshots past its start, and even a block of syscalls that
//! change no table creates the threads it names (`proc.nthreads`, tid reuse),
//! so skipping one could change later output.

use std::borrow::Cow;
use std::io::Write;

use super::format::Template;
use super::time::{self, Frame};
use super::OutputError;
use crate::capture::{CaptureMeta, CaptureReader, Cursor};
use crate::event::display::ArgOpts;
use crate::event::table::Syscalls;
use crate::event::wire::{drop as wdrop, CODE_DROP, CODE_SPECIAL, CPU_UNKNOWN};
use crate::event::Record;
use crate::filter::ast::Operand;
use crate::filter::fields::{code_has_fd, Class, EventCtx, Fid, FieldEnv, Fields, OutTime, Shown};
use crate::filter::{Ast, FieldInfo, Filter, Scratch, ValueBuf};
use crate::scap::Bare;
use crate::state::{Effect, Op, Ops, State};

/// What to print and how.
#[derive(Debug)]
pub struct ReadOptions {
    /// The filter and its AST (for the event-type prefilter).
    pub filter: Option<(Ast, Filter)>,
    /// The output template.
    pub template: Template,
    /// JSON lines instead of text.
    pub json: bool,
    /// Stop after this many printed events.
    pub limit: Option<u64>,
    /// Print only events at or after this time spec.
    pub from: Option<String>,
    /// Print only events at or before this time spec.
    pub to: Option<String>,
    /// `evt.outputtime` mode (`-t`).
    pub out_time: OutTime,
    /// Buffer rendering.
    pub arg_opts: ArgOpts,
}

/// Counters of one run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Events read (and applied to the state).
    pub events: u64,
    /// Events printed.
    pub printed: u64,
    /// Gap markers printed.
    pub gaps: u64,
    /// Whether the state was maintained.
    pub stateful: bool,
    /// Blocks decompressed and decoded.
    pub blocks_decoded: u64,
    /// Blocks passed over on their header alone.
    pub blocks_skipped: u64,
}

/// Whether block `i` of `cap` can print nothing (so, without state, need not be read):
/// all its events are before `from`, or its counts (when consistent with its event
/// count) show no code of `mask` and no gap marker.
fn block_prints_nothing<B: AsRef<[u8]>>(
    cap: &CaptureReader<B>,
    i: usize,
    from: Option<u64>,
    mask: Option<&[bool]>,
) -> bool {
    let Some(b) = cap.blocks().get(i) else {
        return false;
    };
    if from.is_some_and(|f| b.last_ts < f) {
        return true;
    }
    let Some(mask) = mask else { return false };
    let (mut total, mut wanted) = (0u64, false);
    for (code, n) in cap.block_counts(i) {
        total += u64::from(n);
        wanted |=
            n > 0 && (code == CODE_DROP || mask.get(usize::from(code)).copied().unwrap_or(true));
    }
    // A count table that does not add up is not trusted.
    total == u64::from(b.event_count) && !wanted
}

/// The line printed for a gap marker: `lost` events lost on `cpu`
/// ([`CPU_UNKNOWN`]: a CPU nobody knows, `null` in JSON).
fn gap_line(line: &mut String, lost: u64, cpu: u16, json: bool) {
    use std::fmt::Write as _;
    let _ = match (json, cpu) {
        (true, CPU_UNKNOWN) => writeln!(line, "{{\"gap\":{{\"lost\":{lost},\"cpu\":null}}}}"),
        (true, c) => writeln!(line, "{{\"gap\":{{\"lost\":{lost},\"cpu\":{c}}}}}"),
        (false, CPU_UNKNOWN) => writeln!(line, "--- {lost} events lost on an unknown CPU ---"),
        (false, c) => writeln!(line, "--- {lost} events lost on CPU {c} ---"),
    };
}

/// Whether extracting `f` needs the reconstructed state.
fn needs_state(f: &FieldInfo) -> bool {
    match Fields::def_of(f) {
        Some(d) if d.class() == Class::Evt => {
            matches!(
                d.id,
                Fid::EvtArgs | Fid::EvtInfo | Fid::EvtArg | Fid::EvtCategory
            )
        }
        Some(_) => true,
        None => false,
    }
}

/// The syscall table of a capture (the embedded default when it has none,
/// an inconsistent one, or the default's own, as imported `.scap` files
/// have: then it is borrowed, not indexed again).
pub fn table_of(meta: &crate::capture::CaptureMeta) -> Cow<'static, Syscalls> {
    let default = Syscalls::default_x86_64();
    let borrowed = std::ptr::eq(&*meta.syscalls.syscalls, &*default.table().syscalls);
    if borrowed || meta.syscalls.syscalls.is_empty() || meta.syscalls == *default.table() {
        return Cow::Borrowed(default);
    }
    Syscalls::new(meta.syscalls.clone()).map_or(Cow::Borrowed(default), Cow::Owned)
}

/// Event codes a filter can match, indexed by code (`None`: all); shared by
/// `read` and the chisels' `query`/`export` scan.
pub fn code_mask(ast: &Ast, env: &FieldEnv) -> Option<Vec<bool>> {
    let types = crate::filter::evttypes::resolve_types(ast);
    let mask: Vec<bool> = (0..=CODE_DROP)
        .map(|c| types.contains(&env.code(c).name))
        .collect();
    (!mask.iter().all(|&m| m)).then_some(mask)
}

/// The codes a streamed `.scap` read takes bare ([`Bare`]): those its
/// filter cannot match (by event type, or as it needs an fd they do not
/// have), if the state ignores them or the read keeps no state. Bare
/// records still count and still make their thread known; [`run_scap`]
/// applies them and drops them before its filter (which would be false on
/// them). The names are the built-in x86_64 table's, an import's table
/// ([`table_of`] of its metadata).
pub fn scap_bare(opts: &ReadOptions) -> Bare {
    let mut bare = Bare::default();
    let Some((ast, _)) = &opts.filter else {
        return bare;
    };
    let types = crate::filter::evttypes::resolve_types(ast);
    let fd = needs_fd(ast);
    let sys = Syscalls::default_x86_64();
    let ops = stateful(opts).then(|| Ops::of(sys.table()));
    for code in 0..CODE_SPECIAL {
        let ignored = ops.as_ref().is_none_or(|o| o.get(code) == Op::Ignore);
        if ignored && (!types.contains(&sys.name(code)) || fd && !code_has_fd(sys, code)) {
            bare.insert(code);
        }
    }
    bare
}

/// Whether every event `ast` matches has an fd: one of its conjuncts
/// checks a plain `fd.*` field, which has no value on an event without an
/// fd, and a check of a field without a value is false (whatever the
/// operator: `!=` and `exists` too).
fn needs_fd(ast: &Ast) -> bool {
    match ast {
        Ast::And { children, .. } => children.iter().any(needs_fd),
        Ast::Or { children, .. } => !children.is_empty() && children.iter().all(needs_fd),
        Ast::Check {
            lhs: Operand::Field(f),
            ..
        } => Fields::def(&f.name).is_some_and(|d| d.class() == Class::Fd),
        _ => false,
    }
}

/// Whether `opts` need the capture's time frame (its first and last event
/// times) before the first event: `--from`/`--to`, relative or delta output
/// times (`-t r`, `-t D`), `evt.reltime*`. A streamed `.scap` import knows
/// its frame only at the end, so such a read goes through a full import.
pub fn needs_frame(opts: &ReadOptions) -> bool {
    let reltime = |f: &FieldInfo| {
        Fields::def_of(f)
            .is_some_and(|d| matches!(d.id, Fid::EvtReltime | Fid::EvtReltimeS | Fid::EvtReltimeNs))
    };
    opts.from.is_some()
        || opts.to.is_some()
        || matches!(opts.out_time, OutTime::Relative | OutTime::Delta)
        || opts.template.fields().any(reltime)
        || opts
            .filter
            .as_ref()
            .is_some_and(|(_, f)| f.fields().into_iter().any(reltime))
}

/// Whether a read with `opts` needs the reconstructed state.
fn stateful(opts: &ReadOptions) -> bool {
    opts.template.fields().any(needs_state)
        || opts
            .filter
            .as_ref()
            .is_some_and(|(_, f)| f.fields().into_iter().any(needs_state))
}

/// What a read keeps from one event to the next: the state, the field
/// environment, the time window and the output buffers. Fed records in
/// capture order by [`run`] (a capture file) or [`run_scap`] (records as a
/// `.scap` import makes them).
struct Printer<'a> {
    opts: &'a ReadOptions,
    meta: &'a CaptureMeta,
    table: &'a Syscalls,
    env: FieldEnv,
    state: State,
    stateful: bool,
    /// Codes the filter can match (`None`: any).
    mask: Option<Vec<bool>>,
    from: Option<u64>,
    to: Option<u64>,
    line: String,
    scratch: String,
    sc: Scratch,
    vals: ValueBuf,
    shown: Shown,
    stats: ReadStats,
}

impl<'a> Printer<'a> {
    /// A printer for a capture with `meta` and `table`, whose events span `frame`.
    fn new(
        meta: &'a CaptureMeta,
        table: &'a Syscalls,
        frame: &Frame,
        opts: &'a ReadOptions,
    ) -> Result<Self, OutputError> {
        let resolve =
            |s: &Option<String>| s.as_deref().map(|s| time::resolve(s, frame)).transpose();
        let (from, to) = (resolve(&opts.from)?, resolve(&opts.to)?);
        let mut env = FieldEnv::new(table, meta, frame.first_ts);
        env.out_time = opts.out_time;
        env.arg_opts = opts.arg_opts;
        let stateful = stateful(opts);
        let mask = opts
            .filter
            .as_ref()
            .and_then(|(ast, _)| code_mask(ast, &env));
        Ok(Printer {
            opts,
            meta,
            table,
            env,
            state: State::from_capture(table.table(), &meta.snapshot),
            stateful,
            mask,
            from,
            to,
            line: String::new(),
            scratch: String::new(),
            sc: Scratch::default(),
            vals: ValueBuf::default(),
            shown: Shown::default(),
            stats: ReadStats {
                stateful,
                ..ReadStats::default()
            },
        })
    }

    /// Applies event `num` and prints it if selected; `false` once the
    /// `-n` limit is reached (nothing more to print).
    fn event(
        &mut self,
        num: u64,
        rec: Record<'_>,
        out: &mut dyn Write,
    ) -> Result<bool, OutputError> {
        let opts = self.opts;
        self.stats.events += 1;
        let effect = if self.stateful {
            self.state.apply(&rec)
        } else {
            Effect::default()
        };
        let ts = rec.ts();
        if self.from.is_some_and(|f| ts < f) || self.to.is_some_and(|t| ts > t) {
            return Ok(true);
        }
        let code = rec.code();
        if code == CODE_DROP {
            self.line.clear();
            gap_line(
                &mut self.line,
                rec.arg(wdrop::COUNT).unwrap_or(0),
                rec.cpu(),
                opts.json,
            );
            out.write_all(self.line.as_bytes())?;
            self.stats.gaps += 1;
            return Ok(true);
        }
        if let Some(m) = &self.mask {
            if !m.get(usize::from(code)).copied().unwrap_or(false) {
                return Ok(true);
            }
        }
        let mut cx = EventCtx::new(
            rec,
            num,
            &self.state,
            self.table,
            self.meta,
            &effect,
            &self.env,
            &mut self.scratch,
        );
        cx.shown = self.shown;
        if let Some((_, f)) = &opts.filter {
            if !f.matches(&mut cx, &mut self.sc) {
                return Ok(true);
            }
        }
        // `cx` keeps the times before this event; it counts for the next one.
        self.shown.first.get_or_insert(ts);
        self.shown.prev = Some(ts);
        let line = &mut self.line;
        line.clear();
        let ok = if opts.json {
            opts.template
                .render_json(&mut cx, &mut self.vals, &opts.arg_opts, line)
        } else {
            opts.template
                .render_text(&mut cx, &mut self.vals, &opts.arg_opts, line)
        };
        if !ok {
            return Ok(true);
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        self.stats.printed += 1;
        Ok(opts.limit.is_none_or(|l| self.stats.printed < l))
    }
}

/// Prints the events of `cap` selected by `opts` into `out`.
pub fn run<B: AsRef<[u8]> + Sync>(
    cap: &CaptureReader<B>,
    opts: &ReadOptions,
    out: &mut dyn Write,
) -> Result<ReadStats, OutputError> {
    let meta = cap.meta();
    let table = table_of(meta);
    let totals = cap.totals();
    let first_ts = totals.first_ts.unwrap_or(0);
    let frame = Frame {
        first_ts,
        last_ts: totals.last_ts.unwrap_or(first_ts),
        epoch_off: meta.machine.boottime_to_epoch_ns,
    };
    let mut p = Printer::new(meta, &table, &frame, opts)?;
    // Blocks from `stop_block` on start after `to`: nothing more to print.
    let stop_block = match p.to {
        Some(t) => {
            let b = cap.blocks();
            let mut i = b.len();
            while i > 0 && b[i - 1].first_ts > t {
                i -= 1;
            }
            i
        }
        None => usize::MAX,
    };
    let blocks = cap.blocks();
    let stateful = p.stateful;
    // With state, every block is decoded in order: the next one is
    // decompressed on a second thread meanwhile. Without, blocks may be
    // skipped (a seek, which would end the read-ahead).
    let mut print = |cursor: &mut Cursor<'_, B>| -> Result<(), OutputError> {
        'blocks: for (bi, b) in blocks.iter().enumerate().take(stop_block) {
            if !stateful && block_prints_nothing(cap, bi, p.from, p.mask.as_deref()) {
                p.stats.blocks_skipped += 1;
                continue;
            }
            if cursor.position() != b.first_event {
                cursor.seek_event(b.first_event)?;
            }
            p.stats.blocks_decoded += 1;
            while cursor.position() < b.end_event() {
                let Some(r) = cursor.next() else {
                    break 'blocks;
                };
                let (num, rec) = r?;
                if !p.event(num, rec, out)? {
                    break 'blocks;
                }
            }
        }
        Ok(())
    };
    if stateful {
        cap.with_read_ahead(print)?;
    } else {
        print(&mut cap.cursor())?;
    }
    out.flush()?;
    Ok(p.stats)
}

/// Prints the events selected by `opts` from the records of a `.scap`
/// import as it makes them ([`crate::scap::stream_records`]): no capture
/// is built; converting and printing run at once on two threads, except
/// for a small file, converted first. `opts` must not
/// [need the time frame](needs_frame): the first record's time stands for
/// the capture's first time. The printer (state, filter) is built before
/// the first record is awaited. `bare` are the codes the import took bare
/// ([`scap_bare`] of `opts`): their records are applied, never filtered.
pub fn run_scap(
    meta: &CaptureMeta,
    records: &mut crate::scap::Records<'_>,
    opts: &ReadOptions,
    bare: Bare,
    out: &mut dyn Write,
) -> Result<ReadStats, OutputError> {
    let table = table_of(meta);
    let frame = Frame {
        first_ts: 0,
        last_ts: 0,
        epoch_off: meta.machine.boottime_to_epoch_ns,
    };
    let mut p = Printer::new(meta, &table, &frame, opts)?;
    if !bare.is_empty() {
        let mask = p
            .mask
            .get_or_insert_with(|| vec![true; usize::from(CODE_DROP) + 1]);
        for (code, m) in (0..CODE_SPECIAL).zip(mask.iter_mut()) {
            *m &= !bare.contains(code);
        }
    }
    let mut any = false;
    let mut num = 0;
    while let Some(bytes) = records.next() {
        // Records the importer built itself; a bad one is a bug, not input.
        let (rec, _) = Record::parse(bytes).map_err(|e| {
            OutputError::Capture(crate::capture::CaptureError::BadRecord {
                location: format!("imported record {num}"),
                offset: 0,
                source: e,
            })
        })?;
        if !any {
            any = true;
            p.env.first_ts = rec.ts();
        }
        if !p.event(num, rec, out)? {
            break;
        }
        num += 1;
    }
    out.flush()?;
    Ok(if any { p.stats } else { ReadStats::default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gap(lost: u64, cpu: u16, json: bool) -> String {
        let mut s = String::new();
        gap_line(&mut s, lost, cpu, json);
        s
    }

    #[test]
    fn gap_lines_name_the_cpu_or_say_it_is_unknown() {
        assert_eq!(gap(3, 1, false), "--- 3 events lost on CPU 1 ---\n");
        assert_eq!(
            gap(1, CPU_UNKNOWN, false),
            "--- 1 events lost on an unknown CPU ---\n"
        );
        let v: serde_json::Value = serde_json::from_str(&gap(7, 0, true)).unwrap();
        assert_eq!(v["gap"]["lost"], 7);
        assert_eq!(v["gap"]["cpu"], 0);
        let v: serde_json::Value = serde_json::from_str(&gap(2, CPU_UNKNOWN, true)).unwrap();
        assert_eq!(v["gap"]["lost"], 2);
        assert!(v["gap"]["cpu"].is_null(), "{v}");
    }
}
