//! `saker rules validate|list`: load rules files and report, or list the enabled rules.

use std::path::{Path, PathBuf};

use std::io::Write as _;

use anyhow::{Context, Result};

use super::args::RulesCmd;
use saker::event::table::Syscalls;
use saker::filter::fields::Fields;
use saker::rules::output::safe_text;
use saker::rules::{self, CompileOptions, Loaded, RulesError};

/// Largest rules file read.
pub const MAX_RULES_FILE: u64 = 64 << 20;

/// The path that names saker's own default ruleset (`-R default`; `./default` is a file).
pub const DEFAULT_RULES_ARG: &str = "default";

/// Reads rules files (capped in size); no paths, or `default`, is saker's default ruleset.
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<(String, String)>> {
    let builtin = || {
        (
            saker::rules::DEFAULT_RULES_NAME.to_string(),
            saker::rules::DEFAULT_RULES.to_string(),
        )
    };
    if paths.is_empty() {
        return Ok(vec![builtin()]);
    }
    paths
        .iter()
        .map(|p| {
            if p.as_os_str() == DEFAULT_RULES_ARG {
                return Ok(builtin());
            }
            let len = std::fs::metadata(p)
                .with_context(|| format!("reading {}", p.display()))?
                .len();
            anyhow::ensure!(
                len <= MAX_RULES_FILE,
                "{}: larger than {} MiB",
                p.display(),
                MAX_RULES_FILE >> 20
            );
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok((p.display().to_string(), text))
        })
        .collect()
}

/// Loads rules files with the field catalogue and the default syscall table.
pub fn load(
    paths: &[PathBuf],
    opts: &CompileOptions,
) -> Result<std::result::Result<Loaded, RulesError>> {
    let texts = read_files(paths)?;
    let files: Vec<(&str, &str)> = texts
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    Ok(rules::load(
        &files,
        &Fields,
        Syscalls::default_x86_64(),
        opts,
    ))
}

/// Prints warnings to stderr.
pub fn print_warnings(l: &Loaded) {
    for w in &l.warnings {
        eprintln!("{w}");
    }
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

/// Runs `saker rules …`.
pub fn run(c: &RulesCmd) -> Result<i32> {
    match c {
        RulesCmd::Validate(a) => {
            let names: Vec<String> = a.files.iter().map(|p| display(p)).collect();
            match load(&a.files, &CompileOptions::default())? {
                Ok(l) => {
                    print_warnings(&l);
                    println!(
                        "{}: ok ({} rules, {} macros, {} lists; {} compiled, {} warnings)",
                        names.join(", "),
                        l.collected.rules.len(),
                        l.collected.macros.len(),
                        l.collected.lists.len(),
                        l.ruleset.rules.len(),
                        l.warnings.len()
                    );
                    Ok(0)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(1)
                }
            }
        }
        RulesCmd::List(a) => match load(&a.rules, &CompileOptions::default())? {
            Ok(l) => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                for r in &l.ruleset.rules {
                    if !r.enabled && !a.all {
                        continue;
                    }
                    let types = match &r.evttypes {
                        None => "*".to_string(),
                        Some(s) => s.iter().cloned().collect::<Vec<_>>().join(","),
                    };
                    let tags: Vec<&str> = r.tags.iter().map(String::as_str).collect();
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{}{}",
                        safe_text(r.name.as_bytes()),
                        r.priority,
                        types,
                        safe_text(tags.join(",").as_bytes()),
                        if r.enabled { "" } else { "\tdisabled" }
                    )?;
                }
                out.flush()?;
                Ok(0)
            }
            Err(e) => {
                eprintln!("error: {e}");
                Ok(1)
            }
        },
    }
}
