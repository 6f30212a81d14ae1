//! Events as a table: [`scan`] walks a capture once, applies the compiled
//! filter and the time range, and hands batches of rows ([`Frame`]) to a
//! sink. Both are pushed down to the capture index: the filter's event-type
//! set skips every other event before any field is extracted, and when no
//! column nor the filter reads the state, `from` seeks straight to its block
//! and the state is not built. With state, the walk replays from event 0
//! (state checkpoints are in memory only and are built by that same walk)
//! but extracts nothing before `from`; [`query`] runs SQL (polars `SQLContext`)
//! over an `events` table built from those batches.

use std::sync::Arc;

use polars::prelude::*;
use polars::sql::SQLContext;

use super::frame::{column_name, suggest, Frame};
use super::ChiselError;
use crate::capture::CaptureReader;
use crate::event::table::Syscalls;
use crate::filter::fields::{EventCtx, FieldEnv};
use crate::filter::{Ast, Filter, Scratch};
use crate::output::pipeline::code_mask;
use crate::state::{Effect, Ops, State};

/// What [`scan`] selects.
#[derive(Debug, Clone, Copy, Default)]
pub struct Select<'f> {
    /// Only events matching this filter.
    pub filter: Option<&'f Filter>,
    /// The filter's AST, for the event-type prefilter (`None`: no prefilter).
    pub ast: Option<&'f Ast>,
    /// Only events with a timestamp (CLOCK_BOOTTIME ns) at or after this.
    pub from: Option<u64>,
    /// Only events with a timestamp at or before this.
    pub to: Option<u64>,
}

/// Rows per batch handed to the sink.
pub const BATCH_ROWS: usize = 64 * 1024;

/// Walks `reader`, pushing the selected events into `frame` and handing
/// each full batch to `sink(batch, ts of its first row)`. When state is
/// needed it is rebuilt from the start (events before `from` are applied,
/// not extracted); otherwise the cursor seeks to `from`. Events whose type
/// the filter cannot match are skipped before extraction; the block index
/// stops the walk after `to`. `split(ts)`
/// returning true forces a batch boundary before the event (partitions).
/// Returns the number of selected events.
#[allow(clippy::too_many_arguments)]
pub fn scan<B: AsRef<[u8]>>(
    reader: &CaptureReader<B>,
    sel: Select<'_>,
    frame: &mut Frame,
    split: &mut dyn FnMut(u64) -> bool,
    sink: &mut dyn FnMut(DataFrame, u64) -> Result<(), ChiselError>,
    progress: &mut dyn FnMut(usize),
) -> Result<u64, ChiselError> {
    let meta = reader.meta();
    let table = Syscalls::new(meta.syscalls.clone()).map_err(|e| ChiselError::Table {
        reason: e.to_string(),
    })?;
    let env = FieldEnv::new(&table, meta, reader.totals().first_ts.unwrap_or(0));
    let mut state = State::new(Arc::new(Ops::compile(&meta.syscalls)), &meta.snapshot);
    let stateful = frame.needs_state()
        || sel
            .filter
            .is_some_and(|f| f.fields().into_iter().any(super::frame::needs_state));
    let mask = sel.ast.and_then(|a| code_mask(a, &env));
    let mut scratch = Scratch::default();
    let mut text = String::new();
    let mut cur = reader.cursor();
    if let (Some(t), false) = (sel.from, stateful) {
        cur.seek_time(t)?;
    }
    let mut n = 0u64;
    let mut batch_ts = 0u64;
    let mut block = usize::MAX;
    while let Some(r) = cur.next() {
        let (num, rec) = r?;
        let blocks = reader.blocks();
        if block == usize::MAX || blocks.get(block).is_some_and(|i| num >= i.end_event()) {
            block = reader.block_for_event(num);
            progress(block);
            if let (Some(to), Some(info)) = (sel.to, blocks.get(block)) {
                if info.first_ts > to {
                    break;
                }
            }
        }
        let effect = if stateful {
            state.apply(&rec)
        } else {
            Effect::default()
        };
        let ts = rec.ts();
        if sel.from.is_some_and(|f| ts < f) || sel.to.is_some_and(|t| ts > t) {
            continue;
        }
        if let Some(m) = &mask {
            if !m.get(usize::from(rec.code())).copied().unwrap_or(false) {
                continue;
            }
        }
        let mut ctx = EventCtx::new(rec, num, &state, &table, meta, &effect, &env, &mut text);
        if let Some(f) = sel.filter {
            if !f.matches(&mut ctx, &mut scratch) {
                continue;
            }
        }
        if frame.rows() > 0 && (frame.full() || split(ts)) {
            sink(frame.take()?, batch_ts)?;
        }
        if frame.rows() == 0 {
            batch_ts = ts;
        }
        frame.push(&mut ctx);
        n += 1;
    }
    if frame.rows() > 0 {
        sink(frame.take()?, batch_ts)?;
    }
    progress(reader.blocks().len());
    Ok(n)
}

/// Runs `sql` over the `events` table made of `batches` (all with the same
/// columns, for `fields`). Errors name the closest column for unknown ones.
pub fn query(
    batches: Vec<DataFrame>,
    fields: &[String],
    sql: &str,
) -> Result<DataFrame, ChiselError> {
    let pe = |e: PolarsError| ChiselError::Polars {
        reason: e.to_string(),
    };
    let events = match batches.len() {
        0 => {
            let mut f = Frame::new(fields, 1)?;
            f.take()?.lazy()
        }
        _ => concat(
            batches.into_iter().map(|b| b.lazy()).collect::<Vec<_>>(),
            UnionArgs::default(),
        )
        .map_err(pe)?,
    };
    let mut ctx = SQLContext::new();
    ctx.register("events", events);
    let sql_err = |e: PolarsError| {
        let reason = e.to_string();
        ChiselError::Sql {
            hint: column_hint(&reason, fields),
            reason,
        }
    };
    ctx.execute(sql)
        .map_err(sql_err)?
        .collect()
        .map_err(sql_err)
}

/// For "column not found"-style messages: the closest available column, or
/// the catalogue field to add with `--fields`.
fn column_hint(msg: &str, fields: &[String]) -> String {
    let Some(name) = quoted_name(msg) else {
        return String::new();
    };
    let cols: Vec<String> = fields.iter().map(|f| column_name(f)).collect();
    if let Some((d, c)) = cols
        .iter()
        .map(|c| (strsim::levenshtein(c, &name), c))
        .min()
    {
        if d <= 3 {
            return format!("\nhint: did you mean column '{c}'?");
        }
    }
    let dotted = name.replace('_', ".");
    if let Some(f) = suggest(&dotted) {
        if cols.contains(&column_name(f)) {
            return format!("\nhint: did you mean column '{}'?", column_name(f));
        }
        return format!(
            "\nhint: '{}' is not among the exported fields ({}); add field '{f}' with --fields (column '{}')",
            crate::filter::error::escape_str(&name),
            cols.join(", "),
            column_name(f)
        );
    }
    format!("\nhint: the events table has columns {}", cols.join(", "))
}

/// The first quoted identifier of an error message (`"x"` or `'x'` or `` `x` ``).
fn quoted_name(msg: &str) -> Option<String> {
    for q in ['"', '\'', '`'] {
        let mut it = msg.split(q);
        it.next();
        if let Some(n) = it.next() {
            if !n.is_empty() && n.len() < 128 && n.chars().all(|c| c.is_alphanumeric() || c == '_')
            {
                return Some(n.to_string());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_on_batches_and_hints() {
        let fields: Vec<String> = vec!["evt.type".into(), "proc.pid".into()];
        let a = df!("evt_type" => ["read", "write"], "proc_pid" => [1u64, 2]).unwrap();
        let b = df!("evt_type" => ["read"], "proc_pid" => [3u64]).unwrap();
        let out = query(
            vec![a, b],
            &fields,
            "SELECT evt_type, COUNT(*) AS n FROM events GROUP BY evt_type ORDER BY n DESC",
        )
        .unwrap();
        assert_eq!(out.height(), 2);
        assert_eq!(super::super::agg::cell(&out, "evt_type", 0), "read");
        let e = query(vec![], &fields, "SELECT evt_typ FROM events")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean column 'evt_type'"), "{e}");
        let e = query(vec![], &fields, "SELECT fd_name FROM events")
            .unwrap_err()
            .to_string();
        assert!(e.contains("--fields") && e.contains("fd.name"), "{e}");
        let e = query(vec![], &fields, "SELEC x").unwrap_err().to_string();
        assert!(e.starts_with("SQL:"), "{e}");
    }
}
