//! `saker record`: options → a recording session, with a status line on a
//! TTY and a summary at the end.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

use super::args::RecordArgs;
use saker::recorder::{self, RecordHooks, RecordOptions, RecordReport, Status};

struct StatusLine {
    bar: Option<ProgressBar>,
    last_events: u64,
}

impl RecordHooks for StatusLine {
    fn on_status(&mut self, s: &Status) {
        let Some(bar) = &self.bar else { return };
        let rate = s.events.saturating_sub(self.last_events);
        self.last_events = s.events;
        let ratio = if s.bytes > 0 {
            s.raw_bytes as f64 / s.bytes as f64
        } else {
            0.0
        };
        bar.set_message(format!(
            "{:.0}s  {} events ({}/s)  drops {}  written {}  ratio {:.1}x",
            s.elapsed,
            s.events,
            rate,
            s.drops,
            HumanBytes(s.bytes),
            ratio
        ));
        bar.tick();
    }
}

fn options(a: &RecordArgs) -> Result<RecordOptions> {
    let ring_bytes = match a.ring_kb {
        Some(kb) => kb.checked_mul(1024),
        None => a.ring_mb.checked_mul(1024 * 1024),
    }
    .context("ring size overflows")?;
    if !ring_bytes.is_power_of_two() || ring_bytes < 4096 {
        bail!("the ring size must be a power of two of at least 4 KiB, got {ring_bytes} bytes");
    }
    if a.limit.is_some() && a.file_size.is_none() && a.seconds.is_none() {
        bail!("-W needs -C or -G");
    }
    if a.pids.len() > 16 || a.comms.len() > 8 {
        bail!("at most 16 --pid and 8 --comm filters");
    }
    if a.block_kb == 0 || a.block_kb > 16 * 1024 {
        bail!("--block-kb must be between 1 and 16384");
    }
    let duration = match a.duration {
        Some(s) if !(s.is_finite() && s > 0.0) => bail!("-M takes a positive number of seconds"),
        Some(s) => Some(Duration::from_secs_f64(s)),
        None => None,
    };
    Ok(RecordOptions {
        output: a.write.clone(),
        duration,
        max_events: a.numevents,
        snaplen: a.snaplen,
        rotate_mb: a.file_size,
        rotate_secs: a.seconds,
        rotate_files: a.limit,
        zstd_level: a.level,
        pids: a.pids.clone(),
        comms: a.comms.clone(),
        only_cmd: a.only_cmd,
        latency: a.latency,
        ring_bytes,
        block_size: a.block_kb * 1024,
        command: a.command.clone(),
        command_line: std::env::args().collect(),
    })
}

fn print_summary(r: &RecordReport) {
    let ratio = if r.bytes > 0 {
        r.raw_bytes as f64 / r.bytes as f64
    } else {
        0.0
    };
    eprintln!(
        "recorded {} events in {:.1}s ({}), {} dropped, {} unfinished; {} on disk, {:.1}x compression",
        r.events,
        r.elapsed.as_secs_f64(),
        r.stop_reason,
        r.drops,
        r.unfinished,
        HumanBytes(r.bytes),
        ratio
    );
    if r.malformed > 0 {
        eprintln!(
            "  {} ring slots held no valid record (counted as dropped)",
            r.malformed
        );
    }
    for (f, h) in r.files.iter().zip(&r.chain_hashes) {
        eprintln!("  {}  chain {}", f.display(), h);
    }
}

/// Runs `saker record`; returns the exit code (the command's, if one ran).
pub fn run(a: &RecordArgs) -> Result<i32> {
    let opts = options(a)?;
    let bar = (!a.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
        b.set_message("starting");
        b
    });
    let mut hooks = StatusLine {
        bar,
        last_events: 0,
    };
    let report = recorder::record(&opts, &mut hooks).context("recording failed")?;
    if let Some(b) = &hooks.bar {
        b.finish_and_clear();
    }
    if a.json {
        let files: Vec<_> = report
            .files
            .iter()
            .zip(&report.chain_hashes)
            .map(|(f, h)| serde_json::json!({"path": f, "chain": h}))
            .collect();
        use std::io::Write as _;
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::json!({
                "events": report.events, "drops": report.drops, "unfinished": report.unfinished,
                "malformed": report.malformed,
                "bytes": report.bytes, "raw_bytes": report.raw_bytes, "files": files,
                "stop_reason": report.stop_reason, "command_status": report.command_status,
                "seconds": report.elapsed.as_secs_f64(),
            })
        )?;
    } else if !a.quiet {
        print_summary(&report);
    }
    Ok(report.command_status.unwrap_or(0))
}
