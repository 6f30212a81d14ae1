//! `saker tui --export-notes`: gathers the bookmarked events (their list
//! line and note), the alerts and the process tree of the processes
//! involved, and formats them with [`notes::export_markdown`].

use std::collections::{BTreeMap, BTreeSet};

use super::notes::{self, MarkedEvent, Notes, TreeProc};
use super::{Session, TuiError};

/// The markdown incident timeline of `s` with `notes` (the indexer must
/// have run so alerts and exec history are known).
pub fn markdown(s: &mut Session, title: &str, notes: &Notes) -> Result<String, TuiError> {
    let mut events = Vec::new();
    let mut involved = BTreeSet::new();
    for (&n, note) in &notes.bookmarks {
        if n >= s.src.total_events() {
            continue;
        }
        s.src.ensure_block(s.src.block_of(n))?;
        let Some(row) = s.src.row(n) else { continue };
        involved.insert(row.pid);
        let time = row.cols.get(1).map(|c| c.to_string()).unwrap_or_default();
        let line = row
            .cols
            .iter()
            .skip(2)
            .map(|c| &**c)
            .collect::<Vec<_>>()
            .join(" ");
        events.push(MarkedEvent {
            num: n,
            time,
            pid: row.pid,
            line,
            note: note.clone(),
        });
    }
    for a in &s.app.alerts {
        if let Some(row) = {
            s.src.ensure_block(s.src.block_of(a.num))?;
            s.src.row(a.num)
        } {
            involved.insert(row.pid);
        }
    }
    let last = notes
        .bookmarks
        .keys()
        .chain(s.app.alerts.iter().map(|a| &a.num))
        .max()
        .copied();
    let mut tree = Vec::new();
    if let Some(last) = last {
        let st = s.src.state_at((last + 1).min(s.src.total_events()))?;
        // Involved processes and their ancestors; parent → children.
        let mut keep = BTreeSet::new();
        for &pid in &involved {
            keep.insert(pid);
            keep.extend(st.ancestors(pid).map(|p| p.pid));
        }
        let parent = |pid: u32| {
            st.process(pid)
                .map(|p| p.ppid)
                .filter(|pp| keep.contains(pp) && *pp != pid)
        };
        let mut kids: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        let mut roots = Vec::new();
        for &pid in &keep {
            match parent(pid) {
                Some(pp) => kids.entry(pp).or_default().push(pid),
                None => roots.push(pid),
            }
        }
        let mut stack: Vec<(u32, usize)> = roots.into_iter().rev().map(|p| (p, 0)).collect();
        let mut seen = BTreeSet::new();
        while let Some((pid, depth)) = stack.pop() {
            if !seen.insert(pid) {
                continue;
            }
            let rows = super::prepare::tree_rows(&st, None, &[], 0);
            let cmd = rows
                .iter()
                .find(|r| r.pid == pid)
                .map(|r| r.cmd.clone())
                .unwrap_or_default();
            tree.push(TreeProc { depth, pid, cmd });
            for &k in kids.get(&pid).into_iter().flatten().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    Ok(notes::export_markdown(
        title,
        &events,
        &s.app.alerts,
        &tree,
        &s.app.execs,
    ))
}
