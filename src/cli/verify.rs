//! `saker verify`: every checksum and the hash chain; exit 0 only when the
//! file is intact (and, with `--expect`, is the file that was recorded).

use std::io::Write as _;

use anyhow::{Context, Result};

use super::args::VerifyArgs;
use saker::capture;

/// Runs `saker verify`.
pub fn run(a: &VerifyArgs) -> Result<i32> {
    let r = capture::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let rep = match &a.expect {
        Some(h) => r.verify_expect(h),
        None => r.verify(),
    };
    if a.json {
        let problems: Vec<_> = rep
            .problems
            .iter()
            .map(|p| serde_json::json!({"offset": p.offset, "kind": format!("{:?}", p.kind), "message": p.message}))
            .collect();
        writeln!(
            std::io::stdout().lock(),
            "{}",
            serde_json::json!({
                "ok": rep.is_ok(), "sections": rep.sections, "blocks": rep.blocks, "events": rep.events,
                "file_hash": rep.file_hash, "last_chain": rep.last_chain, "problems": problems,
            })
        )?;
    } else if rep.is_ok() {
        writeln!(
            std::io::stdout().lock(),
            "{}: OK ({} sections, {} blocks, {} events; chain {})",
            a.file.display(),
            rep.sections,
            rep.blocks,
            rep.events,
            rep.file_hash.as_deref().unwrap_or(&rep.last_chain)
        )?;
    } else {
        eprintln!("{}: {} problem(s)", a.file.display(), rep.problems.len());
        for p in &rep.problems {
            eprintln!("  {p}");
        }
    }
    Ok(if rep.is_ok() { 0 } else { 1 })
}
