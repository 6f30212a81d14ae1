//! `saker verify`: every checksum and the hash chain; exit 0 only when the
//! file is intact (and, with `--expect`, is the file that was recorded).

use std::io::Write as _;

use anyhow::{Context, Result};

use super::args::VerifyArgs;
use saker::source::{self, Origin};

/// Runs `saker verify`.
pub fn run(a: &VerifyArgs) -> Result<i32> {
    let opened = source::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    if let Origin::Scap { stats, .. } = &opened.origin {
        // No checksums exist to check: say so, and never call it intact.
        let parse = match &stats.truncation {
            None => format!("it parses cleanly ({} raw events)", stats.raw_events),
            Some(e) => format!("it is damaged: {e}"),
        };
        let msg = format!(
            "{}: a sysdig/Falco .scap file has no checksums or hash chain, so its integrity cannot be verified; {parse}",
            a.file.display()
        );
        if a.json {
            let v = serde_json::json!({"ok": false, "format": "scap", "integrity_chain": false,
                "raw_events": stats.raw_events, "damage": stats.truncation.as_ref().map(|e| e.to_string())});
            writeln!(std::io::stdout().lock(), "{v}")?;
        } else {
            eprintln!("{msg}");
        }
        return Ok(1);
    }
    let r = &opened.reader;
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
