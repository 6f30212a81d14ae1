//! `saker read -c CHISEL`, `saker chisels`, `saker query` and
//! `saker export`: argument handling, filter compilation, time parsing and
//! the progress bar around the library's chisel, query and export code.

use std::io::{IsTerminal, Write};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use polars::prelude::{DataFrame, PolarsError};
use polars_io::prelude::{CsvWriter, JsonFormat, JsonWriter, SerWriter};

use super::args::{ChiselsArgs, ExportArgs, QueryArgs, ReadArgs};
use saker::capture::CaptureReader;
use saker::chisel::{self, export, frame, query, ChiselError, Init, Out, RunOpts};
use saker::filter::{self, fields::Fields, Ast, Filter};
use saker::source::CaptureBytes;

/// The filter of `words` and its AST (for the event-type prefilter).
fn compile_filter(words: &[String]) -> Result<Option<(Ast, Filter)>> {
    if words.is_empty() {
        return Ok(None);
    }
    let text = words.join(" ");
    let ast = match filter::parser::parse(&text) {
        Ok(a) => a,
        Err(e) => bail!("filter: {e}"),
    };
    match filter::compile(&ast, &Fields) {
        Ok(f) => Ok(Some((ast, f))),
        Err(e) => bail!("filter: {}", e.locate(&text)),
    }
}

/// Parses `TIME`: `YYYY-MM-DD HH:MM:SS[.f]` / RFC 3339 (UTC), epoch
/// seconds with `@`, or seconds since the capture's first event (`+1.5`,
/// `3`). Returns a CLOCK_BOOTTIME timestamp.
pub fn parse_time<B: AsRef<[u8]>>(s: &str, r: &CaptureReader<B>) -> Result<u64> {
    let off = r.meta().machine.boottime_to_epoch_ns;
    let to_boot = |epoch_ns: i64| -> u64 { epoch_ns.saturating_sub(off).max(0) as u64 };
    let first = r.totals().first_ts.unwrap_or(0);
    if let Some(rest) = s.strip_prefix('@') {
        let secs: f64 = rest
            .parse()
            .with_context(|| format!("time '{s}': not epoch seconds"))?;
        return Ok(to_boot((secs * 1e9) as i64));
    }
    if let Ok(secs) = s.trim_start_matches('+').parse::<f64>() {
        if secs.is_finite() && secs >= 0.0 {
            return Ok(first.saturating_add((secs * 1e9) as u64));
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(to_boot(t.timestamp_nanos_opt().unwrap_or(0)));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, f) {
            return Ok(to_boot(t.and_utc().timestamp_nanos_opt().unwrap_or(0)));
        }
    }
    bail!("time '{}': expected 'YYYY-MM-DD HH:MM:SS[.f]' (UTC), RFC 3339, '@EPOCH_SECS' or seconds since the capture start", s.escape_debug())
}

/// A progress bar over the capture's blocks on a terminal; hidden otherwise.
fn progress_bar(blocks: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() || blocks < 2 {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(blocks as u64);
    pb.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} blocks ({eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb
}

/// Opens our format or a sysdig/Falco `.scap` file (told by magic bytes),
/// warning when it stops early.
fn open(path: &std::path::Path) -> Result<CaptureReader<CaptureBytes>> {
    Ok(super::open_capture(path, false, "using")?.reader)
}

/// `saker read -r FILE [FILTER] -c CHISEL [ARGS...]`.
pub fn run_read(a: &ReadArgs) -> Result<i32> {
    let (name, args) = a.chisel.split_first().context("-c needs a chisel name")?;
    let def = chisel::find(name)?;
    let r = open(&a.read)?;
    let (table, env) = chisel::env_of(&r)?;
    let filt = compile_filter(&a.filter)?;
    let init = Init {
        args,
        has_latency: env.has_latency,
    };
    let mut ch = def.create(&init)?;
    let at = a.at.as_deref().map(|s| parse_time(s, &r)).transpose()?;
    let filter_stateless = filt
        .as_ref()
        .is_none_or(|(_, f)| !f.fields().into_iter().any(frame::needs_state));
    let meta = r.meta();
    // Field names per code: built only for a filter.
    let fenv = filt
        .as_ref()
        .map(|_| saker::filter::fields::FieldEnv::new(&table, meta, env.first_ts));
    let mut scratch = filter::Scratch::default();
    let mut text = String::new();
    let mut keep = |ev: &chisel::Event<'_>| match (&filt, &fenv) {
        (Some((_, f)), Some(fenv)) => {
            let mut ctx = saker::filter::fields::EventCtx::new(
                ev.rec, ev.num, ev.state, &table, meta, ev.effect, fenv, &mut text,
            );
            f.matches(&mut ctx, &mut scratch)
        }
        _ => true,
    };
    let stdout = std::io::stdout();
    let mut lock = std::io::BufWriter::new(stdout.lock());
    let mut out = Out {
        w: &mut lock,
        json: a.json,
    };
    let pb = progress_bar(r.blocks().len());
    let res = chisel::run(
        &r,
        &env,
        ch.as_mut(),
        RunOpts {
            at,
            filter_stateless,
        },
        &mut keep,
        &mut out,
        &mut |b| pb.set_position(b as u64),
    );
    pb.finish_and_clear();
    res?;
    lock.flush()?;
    Ok(0)
}

/// `saker chisels [NAME]`.
pub fn run_list(a: &ChiselsArgs) -> Result<i32> {
    let mut o = std::io::stdout().lock();
    if let Some(name) = &a.name {
        let d = chisel::find(name)?;
        if a.json {
            let args: Vec<_> = d.args.iter().map(|x| serde_json::json!({"name": x.name, "type": x.ty, "desc": x.desc, "optional": x.optional})).collect();
            writeln!(
                o,
                "{}",
                serde_json::json!({"name": d.name, "category": d.category, "description": d.desc, "args": args})
            )?;
            return Ok(0);
        }
        writeln!(o, "Category: {}", d.category)?;
        writeln!(o, "{}", "-".repeat(10 + d.category.len()))?;
        writeln!(o, "{:<20} {}", d.name, d.desc)?;
        if d.args.is_empty() {
            writeln!(o, "Args:\n(None)")?;
        } else {
            writeln!(o, "Args:")?;
            for x in d.args {
                let opt = if x.optional { " (optional)" } else { "" };
                writeln!(o, "[{}] {} - {}{opt}", x.ty, x.name, x.desc)?;
            }
        }
        return Ok(0);
    }
    let all = chisel::catalogue();
    if a.json {
        let v: Vec<_> = all
            .iter()
            .map(|d| serde_json::json!({"name": d.name, "category": d.category, "short": d.short}))
            .collect();
        writeln!(o, "{}", serde_json::Value::Array(v))?;
        return Ok(0);
    }
    let mut cat = "";
    for d in all {
        if d.category != cat {
            cat = d.category;
            writeln!(o, "\nCategory: {cat}\n{}", "-".repeat(10 + cat.len()))?;
        }
        writeln!(o, "{:<20} {}", d.name, d.short)?;
    }
    writeln!(
        o,
        "\nUse `saker chisels NAME` for a chisel's description and arguments."
    )?;
    Ok(0)
}

fn field_list(fields: &Option<String>) -> Vec<String> {
    match fields {
        Some(s) => s
            .split(',')
            .map(|f| f.trim().to_string())
            .filter(|f| !f.is_empty())
            .collect(),
        None => frame::DEFAULT_FIELDS
            .iter()
            .map(|s| s.to_string())
            .collect(),
    }
}

/// `saker query FILE SQL`.
pub fn run_query(a: &QueryArgs) -> Result<i32> {
    let fields = field_list(&a.fields);
    let mut fr = frame::Frame::new(&fields, query::BATCH_ROWS)?;
    let r = open(&a.file)?;
    let filt = compile_filter(a.filter.as_slice())?;
    let sel = query::Select {
        filter: filt.as_ref().map(|(_, f)| f),
        ast: filt.as_ref().map(|(a, _)| a),
        from: a.from.as_deref().map(|s| parse_time(s, &r)).transpose()?,
        to: a.to.as_deref().map(|s| parse_time(s, &r)).transpose()?,
    };
    let mut batches = Vec::new();
    let pb = progress_bar(r.blocks().len());
    let res = query::scan(
        &r,
        sel,
        &mut fr,
        &mut |_| false,
        &mut |df, _| {
            batches.push(df);
            Ok(())
        },
        &mut |b| pb.set_position(b as u64),
    );
    pb.finish_and_clear();
    res?;
    let mut df = query::query(batches, &fields, &a.sql)?;
    let stdout = std::io::stdout();
    let mut o = std::io::BufWriter::new(stdout.lock());
    let pe = |e: PolarsError| ChiselError::Polars {
        reason: e.to_string(),
    };
    if a.csv {
        CsvWriter::new(&mut o).finish(&mut df).map_err(pe)?;
    } else if a.json {
        JsonWriter::new(&mut o)
            .with_json_format(JsonFormat::JsonLines)
            .finish(&mut df)
            .map_err(pe)?;
    } else {
        print_table(&df, &mut o)?;
    }
    o.flush()?;
    Ok(0)
}

/// A plain aligned table, every cell escaped.
fn print_table(df: &DataFrame, o: &mut dyn Write) -> Result<()> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(df.height());
    for r in 0..df.height() {
        rows.push(
            names
                .iter()
                .map(|n| {
                    let mut s = String::new();
                    let c = chisel::agg::cell(df, n, r);
                    saker::event::text::escape_bytes(c.as_bytes(), &mut s);
                    s
                })
                .collect(),
        );
    }
    let widths: Vec<usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([n.len()])
                .max()
                .unwrap_or(0)
                .min(60)
        })
        .collect();
    let line = |cells: &[String]| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    writeln!(o, "{}", line(&names))?;
    writeln!(
        o,
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  ")
    )?;
    for r in &rows {
        writeln!(o, "{}", line(r))?;
    }
    writeln!(o, "({} rows)", df.height())?;
    Ok(())
}

/// `saker export`.
pub fn run_export(a: &ExportArgs) -> Result<i32> {
    let fields = field_list(&a.fields);
    frame::Frame::new(&fields, 1)?;
    let r = open(&a.read)?;
    let filt = compile_filter(&a.filter)?;
    let fmt = match a.format.as_str() {
        "parquet" => export::Format::Parquet,
        "csv" => export::Format::Csv,
        "jsonl" | "json" => export::Format::Jsonl,
        o => bail!(
            "--format '{}': expected parquet, csv or jsonl",
            o.escape_debug()
        ),
    };
    let by_hour = match a.partition_by.as_deref() {
        None => false,
        Some("hour") => true,
        Some(o) => bail!(
            "--partition-by '{}': only 'hour' is supported",
            o.escape_debug()
        ),
    };
    let sel = query::Select {
        filter: filt.as_ref().map(|(_, f)| f),
        ast: filt.as_ref().map(|(a, _)| a),
        from: a.from.as_deref().map(|s| parse_time(s, &r)).transpose()?,
        to: a.to.as_deref().map(|s| parse_time(s, &r)).transpose()?,
    };
    let pb = progress_bar(r.blocks().len());
    let res = export::export(&r, sel, &fields, fmt, &a.out, by_hour, &mut |b| {
        pb.set_position(b as u64)
    });
    pb.finish_and_clear();
    let w = res?;
    eprintln!("saker: wrote {} rows to {} file(s)", w.rows, w.files.len());
    Ok(0)
}
