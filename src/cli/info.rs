//! `saker info`: a capture's summary, from its index and block headers only
//! (nothing is decompressed).

use std::collections::BTreeMap;

use anyhow::{Context, Result};

use super::args::InfoArgs;
use super::fmt_epoch;
use saker::capture;
use saker::event::table::Syscalls;

/// Runs `saker info`.
pub fn run(a: &InfoArgs) -> Result<i32> {
    let r = capture::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let meta = r.meta();
    let table = Syscalls::new(meta.syscalls.clone()).unwrap_or_else(|_| Syscalls::default_x86_64().clone());
    let t = r.totals();
    let off = meta.machine.boottime_to_epoch_ns;
    let epoch = |ts: Option<u64>| ts.map(|v| (v as i64).saturating_add(off));
    let (start, end) = (epoch(t.first_ts), epoch(t.last_ts));
    let mut syscalls: BTreeMap<String, u64> = BTreeMap::new();
    for (code, n) in &t.counts {
        *syscalls.entry(table.name(*code).into_owned()).or_default() += n;
    }
    let complete = r.is_complete();
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
            "compression_ratio": if t.bytes > 0 { t.uncompressed_bytes as f64 / t.bytes as f64 } else { 0.0 },
            "complete": complete,
            "truncated_at": r.truncation().map(|x| x.offset),
            "processes_at_start": meta.snapshot.procs.iter().filter(|p| p.pid == p.tid).count(),
            "syscalls": syscalls,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    println!("file:        {}", a.file.display());
    println!("host:        {} (kernel {}, {} CPUs)", meta.machine.hostname, meta.machine.kernel_release, meta.machine.num_cpus);
    println!("recorded by: {}", meta.config.producer);
    match (start, end) {
        (Some(s), Some(e)) => println!(
            "time span:   {} .. {} ({:.3}s)",
            fmt_epoch(s),
            fmt_epoch(e),
            (e - s) as f64 / 1e9
        ),
        _ => println!("time span:   (no events)"),
    }
    println!("events:      {}", t.events);
    println!("drops:       {}{}", t.drops, if t.drops > 0 { "  (events were lost: see gap markers)" } else { "" });
    println!(
        "blocks:      {}  ({} bytes on disk, {} uncompressed, {:.1}x)",
        t.blocks,
        t.bytes,
        t.uncompressed_bytes,
        if t.bytes > 0 { t.uncompressed_bytes as f64 / t.bytes as f64 } else { 0.0 }
    );
    match r.truncation() {
        None => println!("complete:    yes"),
        Some(tr) => println!("complete:    NO: truncated at offset {} ({})", tr.offset, tr.reason),
    }
    println!("processes:   {} at start", meta.snapshot.procs.iter().filter(|p| p.pid == p.tid).count());
    let mut by_count: Vec<_> = syscalls.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    println!("event types:");
    for (name, n) in by_count {
        println!("  {n:>12}  {name}");
    }
    Ok(0)
}
