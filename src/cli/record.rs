//! `saker record`: options → a recording session, with a status line on a
//! TTY and a summary at the end.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use indicatif::{HumanBytes, ProgressBar, ProgressStyle};

use super::args::{Matching, RecordArgs};
use saker::recorder::{self, RecordHooks, RecordOptions, RecordReport, Status};
use saker::rules::live::{LiveConfig, LiveReport, LiveRules, DEFAULT_QUEUE};

struct StatusLine {
    bar: Option<ProgressBar>,
    last_events: u64,
    /// `--rules`: the live rules thread.
    rules: Option<LiveRules>,
    /// Whether the rules thread falling behind was already reported.
    warned_skip: bool,
}

impl RecordHooks for StatusLine {
    fn on_records(&mut self, batch: &[u8]) {
        let Some(live) = &mut self.rules else { return };
        if !live.offer(batch) && !self.warned_skip {
            self.warned_skip = true;
            let why = if live.stopped() {
                "the rules thread stopped"
            } else {
                "the rules thread is behind"
            };
            eprintln!("saker: warning: {why}: events are recorded but not evaluated (counted in the summary)");
        }
    }

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
        command_log: (a.tui && !a.command.is_empty()).then(|| command_log(&a.write)),
    })
}

/// `--tui -- CMD`: the command's output goes to `FILE.log`, not over the screen.
fn command_log(capture: &std::path::Path) -> std::path::PathBuf {
    let mut p = capture.as_os_str().to_owned();
    p.push(".log");
    p.into()
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

/// `--rules`: loads the rules and starts the rules thread (alerts on stdout).
fn live_rules(a: &RecordArgs, opts: &RecordOptions) -> Result<Option<LiveRules>> {
    if a.rules.is_empty() {
        return Ok(None);
    }
    let eopts = super::replay::engine_options(
        a.rule_matching.unwrap_or(Matching::First),
        a.min_priority.as_deref().unwrap_or("debug"),
        &a.enable_tags,
        &a.disable_tags,
    )?;
    let loaded = match super::rules::load(&a.rules, &Default::default())? {
        Ok(l) => l,
        Err(e) => bail!("{e}"),
    };
    if !a.quiet {
        super::rules::print_warnings(&loaded);
    }
    // The writer names the first file like this when rotating (see recorder::writer).
    let capture = if opts.rotate_mb.is_some() || opts.rotate_secs.is_some() {
        let mut p = opts.output.clone().into_os_string();
        p.push("0");
        p.into()
    } else {
        opts.output.clone()
    };
    let cfg = LiveConfig {
        capture,
        rules: loaded.ruleset,
        opts: eopts,
        json: a.json,
        queue: DEFAULT_QUEUE,
    };
    let out = Box::new(std::io::LineWriter::new(std::io::stdout()));
    Ok(Some(LiveRules::spawn(cfg, out)?))
}

/// Prints what the live rules did (skipped batches even with -q: never silent).
fn rules_summary(r: &LiveReport, quiet: bool) {
    if r.skipped_batches > 0 {
        eprintln!(
            "saker: warning: rules: {} batches ({} events) recorded but not evaluated: the rules thread was behind",
            r.skipped_batches, r.skipped_events
        );
    }
    if quiet {
        return;
    }
    eprintln!(
        "rules: {} events evaluated, {} alerts",
        r.stats.evaluated, r.stats.alerts
    );
    for (rule, n) in &r.stats.by_rule {
        eprintln!(
            "  {}: {n}",
            saker::rules::output::safe_text(rule.as_bytes())
        );
    }
}

/// Runs `saker record`; returns the exit code (the command's, if one ran).
pub fn run(a: &RecordArgs) -> Result<i32> {
    let opts = options(a)?;
    if a.tui {
        let log = opts.command_log.clone();
        let report = super::tui::run_live(opts, &a.rules)?;
        if !a.quiet {
            print_summary(&report);
            if let Some(l) = log {
                eprintln!("  command output: {}", l.display());
            }
        }
        return Ok(report.command_status.unwrap_or(0));
    }
    let rules = live_rules(a, &opts)?;
    let bar = (!a.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::new_spinner();
        b.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("static template"));
        b.set_message("starting");
        b
    });
    let mut hooks = StatusLine {
        bar,
        last_events: 0,
        rules,
        warned_skip: false,
    };
    let report = recorder::record(&opts, &mut hooks).context("recording failed")?;
    if let Some(b) = &hooks.bar {
        b.finish_and_clear();
    }
    let live = match hooks.rules.take().map(LiveRules::finish) {
        Some(Ok(r)) => Some(r),
        Some(Err(e)) => {
            eprintln!("saker: error: {e}");
            return Ok(2);
        }
        None => None,
    };
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
                "rules": live.as_ref().map(|r| serde_json::json!({
                    "evaluated": r.stats.evaluated, "alerts": r.stats.alerts,
                    "by_rule": r.stats.by_rule, "skipped_batches": r.skipped_batches,
                    "skipped_events": r.skipped_events,
                })),
            })
        )?;
    } else if !a.quiet {
        print_summary(&report);
    }
    if let Some(r) = &live {
        rules_summary(r, a.quiet || a.json);
    }
    Ok(report.command_status.unwrap_or(0))
}
