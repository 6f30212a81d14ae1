//! Before each frame: load the blocks the event list shows (through the
//! block cache) and derive what the side panes show for the selected event
//! (details, process tree at its time, fds, I/O stream). This is the only
//! step between state and rendering that touches the capture; rendering
//! itself only reads [`super::App`] and [`Source`].

use std::fmt::Write as _;

use super::app::{App, Command};
use super::jobs::ExecRecord;
use super::source::{Details, Source};
use super::TuiError;
use crate::event::display::escape_bytes;
use crate::filter::fields::IoDir;
use crate::state::State;

/// One row of the process tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcRow {
    /// Depth (0: a root).
    pub depth: usize,
    /// Process id.
    pub pid: u32,
    /// `comm`/exe and argv, escaped.
    pub cmd: String,
    /// Execs of this process up to the selected time.
    pub execs: usize,
    /// Contains the selected event's process.
    pub selected: bool,
}

/// One chunk of an I/O stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoChunk {
    /// Event number.
    pub num: u64,
    /// Process id.
    pub pid: u32,
    /// Read (`<`) or write (`>`).
    pub dir: IoDir,
    /// The data, escaped.
    pub text: String,
}

/// Data derived from the capture for the selected event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    /// Event these were derived for.
    pub num: Option<u64>,
    /// Its details.
    pub details: Option<Details>,
    /// Its process id.
    pub pid: Option<u32>,
    /// Its fd.
    pub fd: Option<i64>,
    /// When its fd is a connected socket: the tuple and its reverse.
    pub conn: Option<(String, String)>,
    /// Process tree at its time.
    pub procs: Vec<ProcRow>,
    /// Open fds of the selected process at its time (`lsof`).
    pub fds: Vec<String>,
    /// I/O stream of the listed events (when following an fd).
    pub io: Vec<IoChunk>,
    /// Width of the timeline bars (from the layout).
    pub timeline_width: u16,
    /// Restriction generation the I/O stream was made for.
    pub io_gen: u64,
}

/// Most processes shown in the tree.
const MAX_TREE: usize = 2000;

fn proc_cmd(st: &State, pid: u32) -> String {
    let mut s = String::new();
    if let Some(p) = st.process(pid) {
        let argv: Vec<&str> = p.argv.iter().map(|a| &**a).collect();
        let text = if argv.is_empty() {
            p.exepath.to_string()
        } else {
            argv.join(" ")
        };
        let text = if text.is_empty() {
            st.thread(pid)
                .map(|t| t.comm.to_string())
                .unwrap_or_default()
        } else {
            text
        };
        escape_bytes(text.as_bytes(), &mut s);
    }
    s
}

/// The process tree of `st`, depth first, marking `sel`'s ancestry.
pub fn tree_rows(st: &State, sel: Option<u32>, execs: &[ExecRecord], upto: u64) -> Vec<ProcRow> {
    let tree = st.tree();
    let known = |pid: u32| st.process(pid).is_some();
    let mut roots: Vec<u32> = st
        .processes()
        .filter(|p| p.ppid == 0 || !known(p.ppid) || p.ppid == p.pid)
        .map(|p| p.pid)
        .collect();
    roots.sort_unstable();
    let path: Vec<u32> = sel
        .map(|s| {
            std::iter::once(s)
                .chain(st.ancestors(s).map(|p| p.pid))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut stack: Vec<(u32, usize)> = roots.into_iter().rev().map(|p| (p, 0)).collect();
    let mut seen = std::collections::HashSet::new();
    while let Some((pid, depth)) = stack.pop() {
        if out.len() >= MAX_TREE || !seen.insert(pid) {
            continue;
        }
        out.push(ProcRow {
            depth,
            pid,
            cmd: proc_cmd(st, pid),
            execs: execs
                .iter()
                .filter(|e| e.pid == pid && e.num < upto)
                .count(),
            selected: path.contains(&pid),
        });
        if let Some(kids) = tree.get(&pid) {
            for &k in kids.iter().rev() {
                stack.push((k, depth + 1));
            }
        }
    }
    out
}

/// Loads the visible blocks and recomputes [`Derived`] when the selection
/// changed. Errors are shown in the status line; the app stays usable.
pub fn prepare(app: &mut App, src: &mut Source) {
    if let Err(e) = try_prepare(app, src) {
        app.status = e.to_string();
    }
}

fn try_prepare(app: &mut App, src: &mut Source) -> Result<(), TuiError> {
    let page = u64::from(app.page.max(1));
    let mut last_block = usize::MAX;
    for r in app.top..(app.top + page).min(app.list.len()) {
        let Some(n) = app.list.get(r) else { break };
        let b = src.block_of(n);
        if b != last_block {
            src.ensure_block(b)?;
            last_block = b;
        }
    }
    let sel = app.selected();
    let io_stale = app.side == super::action::Side::Io
        && app.derived.io_gen != app.restrict.generation + app.list.len();
    if sel == app.derived.num && !io_stale {
        return Ok(());
    }
    let width = app.derived.timeline_width;
    app.derived = super::prepare::Derived {
        timeline_width: width,
        ..Default::default()
    };
    let Some(n) = sel else { return Ok(()) };
    app.derived.num = Some(n);
    src.ensure_block(src.block_of(n))?;
    if let Some(row) = src.row(n) {
        app.derived.pid = Some(row.pid);
        app.derived.fd = row.fd;
    }
    app.derived.details = src.details(n)?;
    let st = src.state_at(n + 1)?;
    app.derived.procs = tree_rows(&st, app.derived.pid, &app.execs, n + 1);
    if let (Some(pid), Some(fd)) = (app.derived.pid, app.derived.fd) {
        app.derived.conn = st
            .fd_table(pid)
            .and_then(|t| t.get(i32::try_from(fd).ok()?))
            .and_then(super::source::conn_tuple);
    }
    if let Some(pid) = app.derived.pid {
        if let Some(t) = st.fd_table(pid) {
            let mut v: Vec<_> = t.iter().collect();
            v.sort_by_key(|(fd, _)| *fd);
            for (fd, e) in v {
                let mut s = format!("{fd:>4} {:<9} ", format!("{:?}", e.kind).to_lowercase());
                escape_bytes(e.name.as_bytes(), &mut s);
                app.derived.fds.push(s);
            }
        }
    }
    if app.side == super::action::Side::Io {
        app.derived.io_gen = app.restrict.generation + app.list.len();
        let start = app.list.row_of(n);
        for r in start..(start + 200).min(app.list.len()) {
            let Some(m) = app.list.get(r) else { break };
            src.ensure_block(src.block_of(m))?;
            if let Some((dir, data)) = src.row(m).and_then(|row| row.io.as_ref()) {
                let mut text = String::new();
                escape_bytes(data, &mut text);
                let pid = src.row(m).map_or(0, |row| row.pid);
                app.derived.io.push(IoChunk {
                    num: m,
                    pid,
                    dir: *dir,
                    text,
                });
            }
        }
    }
    Ok(())
}

/// Carries out a [`Command`] that needs the capture (the runner starts
/// scans and writes notes itself).
pub fn seek_time(app: &mut App, src: &Source, t: u64) -> Result<(), TuiError> {
    let mut c = src.cursor();
    c.seek_time(t)?;
    let n = c.position();
    app.select_event(n);
    let _ = write!(
        app.status,
        "jumped to event #{}",
        app.selected().map_or(0, |n| n + 1)
    );
    Ok(())
}

/// Runs the app-local part of a command; returns the command when the
/// runner still has work to do (scans, saving notes).
pub fn run_local(app: &mut App, src: &Source, cmd: Command) -> Option<Command> {
    match cmd {
        Command::SeekTime(t) => {
            if let Err(e) = seek_time(app, src, t) {
                app.status = e.to_string();
            }
            None
        }
        c => Some(c),
    }
}
