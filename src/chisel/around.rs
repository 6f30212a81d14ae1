//! Events around matches, as sysdig's `around` and `spy_logs` give them: a
//! [`Window`] keeps, per thread, the events of the last `dump_range_ms`
//! before a match and passes on the match and the thread's events up to
//! `dump_range_ms` after it. `around` prints them or, with sysdig's
//! `dump_file_name`, writes them to a new capture ([`Dump`]); `spy_logs`
//! prints log writes and can dump the events around each one.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;

use serde_json::json;

use super::event::Event;
use super::{fmt_time, ArgDef, Chisel, ChiselDef, ChiselError, End, Init, Out};
use crate::capture::{CaptureMeta, CaptureWriter, Replacing, WriterOptions};
use crate::event::meta::{Snapshot, Summary};
use crate::event::text::escape_bytes;
use crate::event::wire::{CODE_EXEC, CODE_FORK};

/// Most events kept per thread before a match.
const CAP: usize = 4096;

/// Per-thread windows of events around matches.
pub(super) struct Window<T> {
    range_ns: u64,
    before: HashMap<u32, VecDeque<(u64, T)>>,
    /// Per thread: pass events on until this timestamp.
    until: HashMap<u32, u64>,
}

impl<T> Window<T> {
    /// A window of `range_ms` milliseconds on each side of a match.
    pub(super) fn new(range_ms: u64) -> Self {
        Window {
            range_ns: range_ms.saturating_mul(1_000_000),
            before: HashMap::new(),
            until: HashMap::new(),
        }
    }

    /// Feeds one event of thread `tid` at `ts`. A match passes on the
    /// thread's waiting events of the last range, then itself; an event
    /// within a range after a match passes on; others wait (at most [`CAP`]
    /// per thread). `item` makes what is kept or passed on.
    pub(super) fn push(
        &mut self,
        tid: u32,
        ts: u64,
        matched: bool,
        item: impl FnOnce() -> T,
        mut emit: impl FnMut(T) -> Result<(), ChiselError>,
    ) -> Result<(), ChiselError> {
        if matched {
            if let Some(q) = self.before.get_mut(&tid) {
                for (t, it) in q.drain(..) {
                    if ts.saturating_sub(t) <= self.range_ns {
                        emit(it)?;
                    }
                }
            }
            emit(item())?;
            self.until.insert(tid, ts.saturating_add(self.range_ns));
            return Ok(());
        }
        if self.until.get(&tid).is_some_and(|u| ts <= *u) {
            return emit(item());
        }
        let q = self.before.entry(tid).or_default();
        while q
            .front()
            .is_some_and(|(t, _)| ts.saturating_sub(*t) > self.range_ns)
            || q.len() >= CAP
        {
            q.pop_front();
        }
        q.push_back((ts, item()));
        Ok(())
    }
}

/// Events written to a new capture when the run ends, in capture order
/// (they are held in memory until then). The file's start snapshot is the
/// state when the first event was taken: like sysdig, whose dump file
/// opens at the first match with the process table of that moment.
pub(super) struct Dump {
    path: PathBuf,
    snapshot: Option<Snapshot>,
    records: Vec<(u64, Vec<u8>)>,
}

impl Dump {
    /// A dump to `path` (written, mode 0600, at the end).
    pub(super) fn new(path: &str) -> Dump {
        Dump {
            path: PathBuf::from(path),
            snapshot: None,
            records: Vec::new(),
        }
    }

    /// Takes event number `num` (its record bytes); `ev` is the event being
    /// processed, whose state starts the file if nothing was taken yet.
    fn take(&mut self, ev: &Event<'_>, num: u64, rec: Vec<u8>) {
        if self.snapshot.is_none() {
            self.snapshot = Some(ev.state.to_snapshot(ev.rec.ts()));
        }
        self.records.push((num, rec));
    }

    /// Writes the file and reports it (`dump_file_name`, `events`).
    fn finish(&mut self, end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        self.records.sort_by_key(|r| r.0);
        let meta = CaptureMeta {
            snapshot: self
                .snapshot
                .take()
                .unwrap_or_else(|| end.meta.snapshot.clone()),
            ..end.meta.clone()
        };
        // Written beside, then renamed over the name: a dump over the very
        // capture being read (mapped) replaces it without cutting the map.
        let (file, f) = Replacing::create(&self.path)?;
        let mut w = CaptureWriter::new(f, &meta, WriterOptions::default())?;
        for (_, r) in &self.records {
            w.push(r)?;
        }
        let n = self.records.len() as u64;
        w.finish(&Summary {
            events: n,
            stop_reason: "chisel".into(),
            ..Summary::default()
        })?;
        file.commit()?;
        let path = self.path.to_string_lossy();
        if out.json {
            writeln!(out.w, "{}", json!({"dump_file_name": path, "events": n}))?;
        } else {
            let mut p = String::new();
            escape_bytes(path.as_bytes(), &mut p);
            writeln!(out.w, "wrote {n} events to {p}")?;
        }
        Ok(())
    }
}

/// Where `around` sends its events.
enum Sink {
    Print(Window<String>),
    Dump(Window<(u64, Vec<u8>)>, Dump),
}

/// `around`: the events of the same thread around filter matches.
struct Around {
    sink: Sink,
}

/// `evt.type` as `saker read` names it (chisels call the lifecycle
/// records by their syscalls: `clone`, `execve`).
fn evt_type<'a>(ev: &Event<'a>) -> &'a str {
    match ev.rec.code() {
        CODE_FORK => "procfork",
        CODE_EXEC => "procexec",
        _ => ev.name(),
    }
}

/// One event as a text line (`<== match` marks matches) or a JSON object.
fn line(ev: &Event<'_>, json: bool, matched: bool) -> String {
    let time = fmt_time(ev.env.epoch(ev.rec.ts()));
    if json {
        return json!({"evt.num": ev.num + 1, "evt.time": time, "proc.name": ev.proc_name(),
            "thread.tid": ev.rec.tid(), "evt.type": evt_type(ev), "evt.res": ev.rec.ret(), "match": matched})
        .to_string();
    }
    let mut s = String::new();
    escape_bytes(ev.proc_name().as_bytes(), &mut s);
    format!(
        "{} {} {}({}) {} ret={}{}",
        ev.num + 1,
        time,
        s,
        ev.rec.tid(),
        evt_type(ev),
        ev.rec.ret(),
        if matched { " <== match" } else { "" }
    )
}

/// Feeds `ev` to a dumping window: `matched` decides, the record is kept.
fn dump_event(
    win: &mut Window<(u64, Vec<u8>)>,
    dump: &mut Dump,
    ev: &Event<'_>,
    matched: bool,
) -> Result<(), ChiselError> {
    win.push(
        ev.rec.tid(),
        ev.rec.ts(),
        matched,
        || (ev.num, ev.rec.bytes().to_vec()),
        |(num, rec)| {
            dump.take(ev, num, rec);
            Ok(())
        },
    )
}

impl Chisel for Around {
    fn filtered(&self) -> bool {
        false
    }

    fn on_event(&mut self, ev: &Event<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        match &mut self.sink {
            Sink::Print(win) => win.push(
                ev.rec.tid(),
                ev.rec.ts(),
                ev.matched,
                || line(ev, out.json, ev.matched),
                |l| Ok(writeln!(out.w, "{l}")?),
            ),
            Sink::Dump(win, dump) => dump_event(win, dump, ev, ev.matched),
        }
    }

    fn finish(&mut self, end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        match &mut self.sink {
            Sink::Print(_) => Ok(()),
            Sink::Dump(_, dump) => dump.finish(end, out),
        }
    }
}

/// The dump half of `spy_logs`: the events around each log write.
pub(super) struct LogDump {
    win: Window<(u64, Vec<u8>)>,
    dump: Dump,
}

impl LogDump {
    /// Feeds every event; `log_write`: it is a log write the filter kept.
    pub(super) fn on_event(&mut self, ev: &Event<'_>, log_write: bool) -> Result<(), ChiselError> {
        dump_event(&mut self.win, &mut self.dump, ev, log_write)
    }

    /// Writes the file.
    pub(super) fn finish(&mut self, end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        self.dump.finish(end, out)
    }
}

/// sysdig's `dump_file_name` and `dump_range_ms` arguments (both optional
/// here; `-` or no name: print instead of writing a file).
pub(super) const DUMP_ARGS: &[ArgDef] = &[
    ArgDef {
        name: "dump_file_name",
        ty: "string",
        desc: "The capture file to write the events to ('-' or none: print them)",
        optional: true,
    },
    ArgDef {
        name: "dump_range_ms",
        ty: "int",
        desc: "The time before and after each match to keep, in milliseconds (default 1000)",
        optional: true,
    },
];

/// The dump file name (`None`: print) and range of [`DUMP_ARGS`]. The file
/// is created (mode 0600) here, once the arguments are valid, so a path
/// that cannot be written fails before the capture is read, not after.
fn dump_args(d: &'static ChiselDef, i: &Init<'_>) -> Result<(Option<String>, u64), ChiselError> {
    let ms = match d.arg(i, 1)? {
        None => 1000,
        Some(s) => s.parse::<u64>().map_err(|_| ChiselError::BadArg {
            chisel: d.name,
            arg: "dump_range_ms",
            reason: format!(
                "'{}' is not a number of milliseconds",
                crate::filter::error::escape_str(s)
            ),
        })?,
    };
    let file = d.arg(i, 0)?.filter(|f| *f != "-").map(str::to_string);
    if let Some(f) = &file {
        use std::os::unix::fs::OpenOptionsExt;
        // Not truncated: it may be the capture being read (see `finish`).
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(f)
            .map_err(|e| ChiselError::BadArg {
                chisel: d.name,
                arg: "dump_file_name",
                reason: format!(
                    "cannot create '{}': {e}",
                    crate::filter::error::escape_str(f)
                ),
            })?;
    }
    Ok((file, ms))
}

/// `spy_logs`'s dump, when a file name was given.
pub(super) fn log_dump(
    d: &'static ChiselDef,
    i: &Init<'_>,
) -> Result<Option<LogDump>, ChiselError> {
    let (file, ms) = dump_args(d, i)?;
    Ok(file.map(|f| LogDump {
        win: Window::new(ms),
        dump: Dump::new(&f),
    }))
}

/// The chisel defined here.
pub(crate) static DEFS: &[ChiselDef] = &[ChiselDef {
    name: "around",
    category: "Misc",
    short: "Export to file the events around the time range where the given filter matches",
    desc: "Given a filter, keeps the events of the same thread within dump_range_ms milliseconds before and after each match and writes them to dump_file_name (a saker capture whose start snapshot is the state at the first match); with '-' or no file name they are printed, matches marked.",
    args: DUMP_ARGS,
    make: |d, i| {
        let (file, ms) = dump_args(d, i)?;
        let sink = match file {
            None => Sink::Print(Window::new(ms)),
            Some(f) => Sink::Dump(Window::new(ms), Dump::new(&f)),
        };
        Ok(Box::new(Around { sink }))
    },
}];

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds (tid, ms, matched) events; returns the indexes passed on.
    fn run(range_ms: u64, evs: &[(u32, u64, bool)]) -> Vec<usize> {
        let mut w = Window::new(range_ms);
        let mut got = Vec::new();
        for (i, &(tid, ms, m)) in evs.iter().enumerate() {
            w.push(
                tid,
                ms * 1_000_000,
                m,
                || i,
                |x| {
                    got.push(x);
                    Ok(())
                },
            )
            .unwrap();
        }
        got
    }

    #[test]
    fn window_keeps_the_same_thread_within_range() {
        let evs = [
            (1, 0, false),   // 0: too early for the match at 50
            (1, 45, false),  // 1: before, in range
            (2, 48, false),  // 2: other thread
            (1, 50, true),   // 3: match
            (1, 58, false),  // 4: after, in range
            (2, 59, false),  // 5: other thread
            (1, 61, false),  // 6: past the range
            (1, 100, true),  // 7: second match: 6 is 39 ms before, too far
            (1, 105, false), // 8
        ];
        assert_eq!(run(10, &evs), vec![1, 3, 4, 7, 8]);
        // A wide range takes everything of thread 1, each once.
        assert_eq!(run(1000, &evs), vec![0, 1, 3, 4, 6, 7, 8]);
    }

    #[test]
    fn window_caps_the_queue_per_thread() {
        let mut evs: Vec<(u32, u64, bool)> = (0..CAP as u64 + 10).map(|_| (1, 0, false)).collect();
        evs.push((1, 0, true));
        let got = run(1000, &evs);
        assert_eq!(got.len(), CAP + 1);
        assert_eq!(got[0], 10, "the oldest were dropped");
    }
}
