//! `saker test SPEC...`: replay each spec's capture with its rules and compare the alerts
//! with its expectations; `--bless` rewrites the expectations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::args::TestArgs;
use super::rules::read_files;
use saker::event::table::Syscalls;
use saker::filter::fields::Fields;
use saker::rules::replay::replay;
use saker::rules::spec::Spec;
use saker::rules::{self, CompileOptions};

fn rel(base: &Path, p: &str) -> PathBuf {
    let p = Path::new(p);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }
}

/// Runs one spec; returns (counts, text lines).
fn run_spec(path: &Path, spec: &Spec) -> Result<(BTreeMap<String, u64>, Vec<String>)> {
    let base = path.parent().unwrap_or(Path::new("."));
    let rule_paths: Vec<PathBuf> = spec.rules.iter().map(|r| rel(base, r)).collect();
    let texts = read_files(&rule_paths)?;
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let loaded = rules::load(
        &files,
        &Fields,
        Syscalls::default_x86_64(),
        &CompileOptions::default(),
    )?;
    let cap_path = rel(base, &spec.capture);
    let opened = saker::source::open(&cap_path)
        .with_context(|| format!("opening {}", cap_path.display()))?;
    let mut lines = Vec::new();
    let (_, stats) = replay(
        &opened.reader,
        loaded.ruleset,
        spec.engine_options(),
        &mut |a| {
            lines.push(a.text());
            true
        },
    )?;
    Ok((stats.by_rule, lines))
}

/// Runs `saker test`.
pub fn run(a: &TestArgs) -> Result<i32> {
    let mut failed = 0;
    for path in &a.specs {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let name = path.display().to_string();
        let spec = match Spec::parse(&name, &text) {
            Ok(s) => s,
            Err(e) => {
                println!("FAIL {name}\n  {e}");
                failed += 1;
                continue;
            }
        };
        let (counts, lines) = match run_spec(path, &spec) {
            Ok(r) => r,
            Err(e) => {
                println!("FAIL {name}\n  {e:#}");
                failed += 1;
                continue;
            }
        };
        if a.bless {
            let blessed = spec.bless(&counts, spec.outputs.as_ref().map(|_| lines.as_slice()));
            std::fs::write(path, blessed).with_context(|| format!("writing {}", path.display()))?;
            println!("BLESSED {name}");
            continue;
        }
        let diff = spec.diff(&counts, &lines);
        if diff.is_empty() {
            println!("PASS {name}");
        } else {
            failed += 1;
            println!("FAIL {name}");
            for d in diff {
                println!("  {d}");
            }
        }
    }
    let total = a.specs.len();
    println!("{} passed, {} failed", total - failed, failed);
    Ok(if failed > 0 { 1 } else { 0 })
}
