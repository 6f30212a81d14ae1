//! `saker info`: a capture's summary, from its index and block headers only
//! (nothing is decompressed).

use std::collections::BTreeMap;

use std::fmt::Write as _;
use std::io::Write as _;

use anyhow::{Context, Result};

use super::args::InfoArgs;
use super::fmt_epoch;
use saker::event::table::Syscalls;
use saker::source::{self, Origin};

/// Runs `saker info`.
pub fn run(a: &InfoArgs) -> Result<i32> {
    let opened = source::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let r = &opened.reader;
    let meta = r.meta();
    let table =
        Syscalls::new(meta.syscalls.clone()).unwrap_or_else(|_| Syscalls::default_x86_64().clone());
    let t = r.totals();
    let off = meta.machine.boottime_to_epoch_ns;
    let epoch = |ts: Option<u64>| ts.map(|v| (v as i64).saturating_add(off));
    let (start, end) = (epoch(t.first_ts), epoch(t.last_ts));
    let mut syscalls: BTreeMap<String, u64> = BTreeMap::new();
    for (code, n) in &t.counts {
        *syscalls.entry(table.name(*code).into_owned()).or_default() += n;
    }
    let incomplete = opened.incomplete();
    let complete = r.is_complete() && incomplete.is_none();
    let packed: u64 = r.blocks().iter().map(|b| u64::from(b.compressed_len)).sum();
    if a.json {
        let v = serde_json::json!({
            "file": a.file,
            "hostname": meta.machine.hostname,
            "kernel": meta.machine.kernel_release,
            "producer": meta.config.producer,
            "events": t.events,
            "drops": t.drops,
            "start_ns": start,
            "end_ns": end,
            "blocks": t.blocks,
            "bytes": t.bytes,
            "uncompressed_bytes": t.uncompressed_bytes,
            "compressed_event_bytes": packed,
            "compression_ratio": if packed > 0 { t.uncompressed_bytes as f64 / packed as f64 } else { 0.0 },
            "complete": complete,
            "truncated_at": incomplete.as_ref().and_then(|x| x.offset),
            "format": match &opened.origin { Origin::Saker => "saker", Origin::Scap { .. } => "scap" },
            "raw_scap_events": match &opened.origin { Origin::Scap { stats, .. } => Some(stats.raw_events), Origin::Saker => None },
            "processes_at_start": meta.snapshot.procs.iter().filter(|p| p.pid == p.tid).count(),
            "syscalls": syscalls,
        });
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::to_string_pretty(&v)?
        )?;
        return Ok(0);
    }
    let mut out = String::new();
    let m = &meta.machine;
    writeln!(out, "file:        {}", a.file.display())?;
    writeln!(
        out,
        "host:        {} (kernel {}, {} CPUs)",
        m.hostname, m.kernel_release, m.num_cpus
    )?;
    writeln!(out, "recorded by: {}", meta.config.producer)?;
    if let Origin::Scap {
        gzip,
        file_bytes,
        stats,
    } = &opened.origin
    {
        let z = if *gzip { "gzipped " } else { "" };
        writeln!(
            out,
            "format:      {z}sysdig/Falco .scap ({file_bytes} bytes): {} raw events -> {} events ({} enter/exit pairs, {} unfinished)",
            stats.raw_events, stats.records, stats.paired, stats.unfinished
        )?;
    }
    match (start, end) {
        (Some(s), Some(e)) => writeln!(
            out,
            "time span:   {} .. {} ({:.3}s)",
            fmt_epoch(s),
            fmt_epoch(e),
            (e - s) as f64 / 1e9
        )?,
        _ => writeln!(out, "time span:   (no events)")?,
    }
    writeln!(out, "events:      {}", t.events)?;
    let lost = if t.drops > 0 {
        "  (events were lost: see the gap markers)"
    } else {
        ""
    };
    writeln!(out, "drops:       {}{lost}", t.drops)?;
    let ratio = if packed > 0 {
        t.uncompressed_bytes as f64 / packed as f64
    } else {
        0.0
    };
    writeln!(
        out,
        "blocks:      {}  (events: {} bytes raw, {packed} compressed, {ratio:.1}x; file {} bytes)",
        t.blocks, t.uncompressed_bytes, t.bytes
    )?;
    match &incomplete {
        None => writeln!(out, "complete:    yes")?,
        Some(tr) => writeln!(
            out,
            "complete:    NO: truncated at offset {} ({})",
            tr.offset.map_or_else(|| "?".to_string(), |o| o.to_string()),
            tr.reason
        )?,
    }
    let nproc = meta
        .snapshot
        .procs
        .iter()
        .filter(|p| p.pid == p.tid)
        .count();
    writeln!(out, "processes:   {nproc} at start")?;
    let mut by_count: Vec<_> = syscalls.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    writeln!(out, "event types:")?;
    for (name, n) in by_count {
        writeln!(out, "  {n:>12}  {name}")?;
    }
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(0)
}
