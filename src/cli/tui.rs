//! `saker tui`: opens a capture in the interactive timeline, or with
//! `--export-notes` writes its markdown incident timeline.

use std::path::Path;

use anyhow::{Context, Result};

use super::args::TuiArgs;
use saker::tui::{self, notes, Session, Source};

/// Runs `saker tui`.
pub fn run(a: &TuiArgs) -> Result<i32> {
    let src = Source::open(&a.file, tui::CACHE_BLOCKS)
        .with_context(|| format!("opening {}", a.file.display()))?;
    let mut s = Session::new(src);
    s.app.notes = notes::load(&a.file)?;
    if !a.rules.is_empty() {
        let texts = a
            .rules
            .iter()
            .map(|p| {
                std::fs::read_to_string(p)
                    .map(|t| (p.display().to_string(), t))
                    .with_context(|| format!("reading {}", p.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        let files: Vec<(&str, &str)> = texts
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect();
        for w in s.set_rules(&files).context("loading rules")? {
            eprintln!("{w}");
        }
    }
    if let Some(out) = &a.export_notes {
        s.index_now()?;
        let marks = s.app.notes.clone();
        let md = tui::export::markdown(&mut s, &a.file.display().to_string(), &marks)?;
        write_out(out, &md)?;
        return Ok(0);
    }
    use std::io::IsTerminal;
    anyhow::ensure!(
        std::io::stdout().is_terminal(),
        "saker tui needs a terminal (use --export-notes for a report)"
    );
    tui::term::run(s, Some(a.file.clone()))?;
    Ok(0)
}

fn write_out(out: &Path, md: &str) -> Result<()> {
    if out == Path::new("-") {
        use std::io::Write;
        std::io::stdout().lock().write_all(md.as_bytes())?;
        return Ok(());
    }
    std::fs::write(out, md).with_context(|| format!("writing {}", out.display()))
}
