//! `saker replay`: run Falco rules over a capture and print alerts (Falco's text or JSON
//! lines) plus a per-rule summary on stderr.

use std::io::{BufWriter, Write};

use anyhow::{Context, Result};

use super::args::{Matching, ReplayArgs};
use super::rules::{load, print_warnings};
use saker::rules::output::safe_text;
use saker::rules::replay::replay;
use saker::rules::{CompileOptions, EngineOptions, Priority, RuleMatching};

/// Falco's suggested output fields (with the container plugin loaded).
pub const SUGGESTED_OUTPUT: &str = "container_id=%container.id container_name=%container.name container_image_repository=%container.image.repository container_image_tag=%container.image.tag k8s_pod_name=%k8s.pod.name k8s_ns_name=%k8s.ns.name";

/// The host name Falco would print: `FALCO_HOSTNAME`, else the capture's (filled later).
pub fn hostname() -> String {
    std::env::var("FALCO_HOSTNAME").unwrap_or_default()
}

/// Engine options from the command line (shared by `replay` and `record --rules`).
pub fn engine_options(
    matching: Matching,
    min_priority: &str,
    enable_tags: &[String],
    disable_tags: &[String],
) -> Result<EngineOptions> {
    let Some(min_priority) = Priority::parse(min_priority) else {
        anyhow::bail!("invalid --min-priority '{}'", min_priority.escape_default());
    };
    Ok(EngineOptions {
        rule_matching: match matching {
            Matching::First => RuleMatching::First,
            Matching::All => RuleMatching::All,
        },
        min_priority,
        enable_tags: enable_tags.to_vec(),
        disable_tags: disable_tags.to_vec(),
        hostname: hostname(),
    })
}

/// Runs `saker replay`.
pub fn run(a: &ReplayArgs) -> Result<i32> {
    let opts = engine_options(
        a.rule_matching,
        &a.min_priority,
        &a.enable_tags,
        &a.disable_tags,
    )?;
    let copts = CompileOptions {
        extra_output: a.suggested_output.then(|| SUGGESTED_OUTPUT.to_string()),
    };
    let loaded = match load(&a.rules, &copts)? {
        Ok(l) => l,
        Err(e) => {
            eprintln!("saker: error: {e}");
            return Ok(2);
        }
    };
    if !a.quiet {
        print_warnings(&loaded);
    }
    // Mapped, or a .scap imported as a stream (not read whole into memory).
    let opened = super::open_capture(&a.read, a.quiet, "replaying")?;
    let cap = &opened.reader;
    let mut out: Box<dyn Write> = match &a.output {
        Some(p) => Box::new(BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut io_err = None;
    let mut sink = |al: &saker::rules::Alert| {
        let line = if a.json {
            al.json().to_string()
        } else {
            al.text()
        };
        match writeln!(out, "{line}") {
            Ok(()) => true,
            Err(e) => {
                io_err = Some(e);
                false
            }
        }
    };
    let started = std::time::Instant::now();
    let (_, stats) = replay(cap, loaded.ruleset, opts, &mut sink)?;
    if let Some(e) = io_err {
        return Err(e.into());
    }
    out.flush()?;
    if !a.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "Events: {}, evaluated: {}, alerts: {}, {:.2} s ({:.0} events/s)",
            stats.events,
            stats.evaluated,
            stats.alerts,
            secs,
            stats.events as f64 / secs.max(1e-9)
        );
        if stats.gaps > 0 {
            eprintln!("Gaps (events lost while recording): {}", stats.gaps);
        }
        for (rule, n) in &stats.by_rule {
            eprintln!("  {}: {n}", safe_text(rule.as_bytes()));
        }
    }
    Ok(0)
}
