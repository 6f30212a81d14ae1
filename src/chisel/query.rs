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
    // One DataFrame, not a union of lazy batches: polars plans `COUNT(*)`
    // over a union as a sum cast to UInt128, a type this build lacks.
    let mut it = batches.into_iter();
    let events = match it.next() {
        None => Frame::new(fields, 1)?.take()?,
        Some(mut df) => {
            for b in it {
                df.vstack_mut_owned(b).map_err(pe)?;
            }
            df
        }
    }
    .lazy();
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
    if msg.contains("relation") && msg.contains("not found") {
        return "\nhint: the table is called 'events'".into();
    }
    if msg.contains("duplicate output name") {
        return "\nhint: name each computed column with AS, e.g. `MIN(evt_rawtime) AS first, MAX(evt_rawtime) AS last`".into();
    }
    if !msg.contains("column") {
        return String::new();
    }
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

    /// Two batches with the column types [`Frame`] builds (u64, i64,
    /// string with nulls, bool), queried with the common SQL shapes:
    /// `(sql, expected cells of the first row, expected row count)`.
    #[test]
    fn common_sql_shapes_on_several_batches() {
        let fields: Vec<String> = [
            "evt.num",
            "evt.type",
            "proc.pid",
            "evt.rawres",
            "evt.rawtime",
            "fd.name",
            "evt.failed",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let a = df!(
            "evt_num" => [1u64, 2, 3],
            "evt_type" => ["read", "write", "read"],
            "proc_pid" => [10u64, 10, 20],
            "evt_rawres" => [5i64, -2, 7],
            "evt_rawtime" => [1_000_000_001i64, 1_500_000_000, 2_000_000_001],
            "fd_name" => [Some("/a"), None, Some("/b")],
            "evt_failed" => [false, true, false],
        )
        .unwrap();
        let b = df!(
            "evt_num" => [4u64],
            "evt_type" => ["openat"],
            "proc_pid" => [30u64],
            "evt_rawres" => [3i64],
            "evt_rawtime" => [3_000_000_000i64],
            "fd_name" => [Some("/a")],
            "evt_failed" => [false],
        )
        .unwrap();
        let cases: &[(&str, &[&str], usize)] = &[
            ("SELECT COUNT(*) FROM events", &["4"], 1),
            ("SELECT COUNT(*) AS n FROM events", &["4"], 1),
            ("SELECT COUNT(1) AS n FROM events", &["4"], 1),
            ("SELECT COUNT(fd_name) AS n FROM events", &["3"], 1),
            ("SELECT COUNT(DISTINCT proc_pid) AS n FROM events", &["3"], 1),
            ("SELECT COUNT(DISTINCT fd_name) AS n FROM events", &["2"], 1),
            ("SELECT COUNT(*) AS n, COUNT(DISTINCT evt_type) AS t FROM events", &["4", "3"], 1),
            ("SELECT SUM(evt_num) AS s, AVG(evt_num) AS a FROM events", &["10", "2.5"], 1),
            ("SELECT SUM(proc_pid) AS s, MIN(proc_pid) AS lo, MAX(proc_pid) AS hi FROM events", &["70", "10", "30"], 1),
            ("SELECT SUM(evt_rawres) AS s FROM events", &["13"], 1),
            ("SELECT evt_type, COUNT(*) AS n FROM events GROUP BY evt_type ORDER BY n DESC, evt_type LIMIT 2", &["read", "2"], 2),
            ("SELECT proc_pid, SUM(evt_rawres) AS s FROM events GROUP BY proc_pid ORDER BY s DESC LIMIT 1", &["20", "7"], 1),
            ("SELECT evt_type FROM events GROUP BY evt_type HAVING COUNT(*) > 1", &["read"], 1),
            ("SELECT COUNT(*) AS n FROM events WHERE evt_type = 'read'", &["2"], 1),
            ("SELECT COUNT(*) AS n FROM events WHERE evt_type LIKE 'wr%' OR fd_name = '/b'", &["2"], 1),
            ("SELECT COUNT(*) AS n FROM events WHERE fd_name IS NULL", &["1"], 1),
            ("SELECT COUNT(*) AS n FROM events WHERE proc_pid >= 20 AND evt_rawres > 0", &["2"], 1),
            ("SELECT COUNT(*) AS n FROM events WHERE evt_rawres < 0", &["1"], 1),
            ("SELECT COUNT(*) AS n FROM events WHERE evt_failed", &["1"], 1),
            ("SELECT COUNT(*) AS n FROM events WHERE proc_pid IN (10, 30)", &["3"], 1),
            ("SELECT evt_num FROM events ORDER BY evt_num DESC LIMIT 1", &["4"], 1),
            ("SELECT MIN(evt_rawtime) AS a, MAX(evt_rawtime) AS b FROM events", &["1000000001", "3000000000"], 1),
            ("SELECT MAX(evt_rawtime) - MIN(evt_rawtime) AS span FROM events", &["1999999999"], 1),
            ("SELECT evt_rawtime // 1000000000 AS s, COUNT(*) AS n FROM events GROUP BY s ORDER BY s", &["1", "2"], 3),
            ("SELECT COUNT(*) AS n FROM events WHERE evt_rawtime BETWEEN 1000000000 AND 2000000000", &["2"], 1),
            ("SELECT STRFTIME(CAST(evt_rawtime / 1000 AS TIMESTAMP), '%Y') AS y FROM events LIMIT 1", &["1970"], 1),
            ("SELECT COUNT(*) AS n FROM (SELECT DISTINCT proc_pid FROM events)", &["3"], 1),
            ("SELECT * FROM events WHERE evt_num = 4", &["4", "openat", "30"], 1),
        ];
        for (sql, want, rows) in cases {
            let out = query(vec![a.clone(), b.clone()], &fields, sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            assert_eq!(out.height(), *rows, "{sql}: {out}");
            let names = out.get_column_names();
            for (i, w) in want.iter().enumerate() {
                assert_eq!(
                    &super::super::agg::cell(&out, names[i], 0),
                    w,
                    "{sql}: {out}"
                );
            }
        }
        // No batch at all (an empty selection) still has the columns.
        let out = query(
            vec![],
            &fields,
            "SELECT COUNT(*) AS n, SUM(evt_num) AS s FROM events",
        )
        .unwrap();
        assert_eq!(super::super::agg::cell(&out, "n", 0), "0");
        // Hints name the table and ask for aliases; unsupported functions get none.
        let e = query(vec![a.clone()], &fields, "SELECT * FROM evnts")
            .unwrap_err()
            .to_string();
        assert!(e.contains("table is called 'events'"), "{e}");
        let e = query(
            vec![a.clone()],
            &fields,
            "SELECT MIN(evt_num), MAX(evt_num) FROM events",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("with AS"), "{e}");
        let e = query(vec![a], &fields, "SELECT NO_SUCH_FN(evt_num) FROM events")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hint"), "{e}");
    }
}
