//! `saker read` speed on one core over a warm (in-memory) capture of a
//! realistic file-I/O mix: decode only, state only, the filter
//! `evt.type=openat and fd.name startswith /etc` (few lines printed), and
//! the formatting cost of printing every event (default line and JSON).
//!
//! `cargo bench --bench read` (env: READ_EVENTS, default 4,000,000;
//! READ_SAVE=PATH also writes the capture there, to profile `saker read` on it;
//! READ_CASE=TEXT runs only the cases whose label contains TEXT).

#[path = "common/read_options.rs"]
mod read_options;

use std::time::Instant;

use saker::capture::{CaptureMeta, CaptureReader, CaptureWriter, WriterOptions};
use saker::event::meta::{ProcInfo, Snapshot, Summary};
use saker::event::table::Syscalls;
use saker::event::{ParamKind, RecordBuilder};
use saker::output::{self, ReadOptions, DEFAULT_FORMAT};
use saker::state::State;

use read_options::opts;

fn code(t: &Syscalls, n: &str) -> u16 {
    t.codes(n)[0]
}

/// A capture of `n` events from 8 processes: per 10 events, an open under
/// /etc and one under /usr/lib, 3 reads, 2 writes, 2 closes, 1 getpid.
fn capture(n: u64) -> Vec<u8> {
    let t = Syscalls::default_x86_64();
    let procs = (0..8)
        .map(|i| ProcInfo {
            tid: 100 + i,
            pid: 100 + i,
            ppid: 1,
            comm: format!("proc{i}"),
            exe: format!("/usr/bin/proc{i}"),
            args: vec![format!("proc{i}"), "-x".into()],
            cwd: "/".into(),
            ..ProcInfo::default()
        })
        .collect();
    let meta = CaptureMeta {
        syscalls: t.table().clone(),
        snapshot: Snapshot {
            procs,
            ..Snapshot::default()
        },
        ..CaptureMeta::default()
    };
    let mut w = CaptureWriter::new(Vec::new(), &meta, WriterOptions::default()).unwrap();
    let (openat, read, write, close, getpid) = (
        code(t, "openat"),
        code(t, "read"),
        code(t, "write"),
        code(t, "close"),
        code(t, "getpid"),
    );
    for i in 0..n {
        let pid = 100 + (i / 10 % 8) as u32;
        let ts = 1_000_000 + i * 500;
        let rec = match i % 10 {
            0 => RecordBuilder::new(openat, 0, ts, pid, pid, 3)
                .args(&[(-100i64) as u64, 0x1000, 0, 0])
                .param(
                    1,
                    ParamKind::Str,
                    format!("/etc/conf{}.d/x", i % 100).as_bytes(),
                )
                .build(),
            1 => RecordBuilder::new(openat, 0, ts, pid, pid, 4)
                .args(&[(-100i64) as u64, 0x1000, 0o2000000, 0])
                .param(1, ParamKind::Str, b"/usr/lib/x86_64-linux-gnu/libc.so.6")
                .build(),
            2..=4 => RecordBuilder::new(read, 1, ts, pid, pid, 64)
                .args(&[3, 0x2000, 4096])
                .param(1, ParamKind::Buf, &[b'a'; 64])
                .build(),
            5 | 6 => RecordBuilder::new(write, 1, ts, pid, pid, 20)
                .args(&[1, 0x3000, 20])
                .param(1, ParamKind::Buf, b"some output line \x1b\n")
                .build(),
            7 => RecordBuilder::new(close, 0, ts, pid, pid, 0)
                .args(&[3])
                .build(),
            8 => RecordBuilder::new(close, 0, ts, pid, pid, 0)
                .args(&[4])
                .build(),
            _ => RecordBuilder::new(getpid, 0, ts, pid, pid, i64::from(pid)).build(),
        };
        w.push(&rec).unwrap();
    }
    w.finish_into(&Summary::default()).unwrap().1
}

/// Runs `f` three times; prints and returns the best rate in M events/s
/// (NaN when READ_CASE skips the case).
fn rate(label: &str, n: u64, f: impl Fn() -> u64) -> f64 {
    if std::env::var("READ_CASE").is_ok_and(|c| !label.contains(&c)) {
        return f64::NAN;
    }
    let mut best = f64::MAX;
    let mut printed = 0;
    for _ in 0..3 {
        let t = Instant::now();
        printed = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    let r = n as f64 / best / 1e6;
    println!("{label:<55} {r:>8.2} M events/s  ({printed} lines, best of 3: {best:.3}s)");
    r
}

/// Target of the issue: the simple filter at 5M events/s or more on one core.
const TARGET_M_EVENTS_S: f64 = 5.0;

fn main() {
    let n: u64 = std::env::var("READ_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000_000);
    let bytes = capture(n);
    if let Ok(p) = std::env::var("READ_SAVE") {
        std::fs::write(&p, &bytes).unwrap();
    }
    let cap = CaptureReader::new(bytes).unwrap();
    let meta = cap.meta().clone();
    println!("capture: {n} events, {} bytes", cap.bytes().len());
    rate("decode only", n, || {
        cap.for_each_event(|_, _| ()).unwrap();
        0
    });
    rate("decode + state", n, || {
        let mut st = State::from_capture(&meta.syscalls, &meta.snapshot);
        let mut c = cap.cursor();
        while let Some(r) = c.next() {
            st.apply(&r.unwrap().1);
        }
        0
    });
    let run = |o: &ReadOptions| output::run(&cap, o, &mut std::io::sink()).unwrap().printed;
    let f = opts(
        Some("evt.type=openat and fd.name startswith /etc"),
        DEFAULT_FORMAT,
        false,
    );
    let filtered = rate(
        "read 'evt.type=openat and fd.name startswith /etc'",
        n,
        || run(&f),
    );
    let frac = if filtered.is_nan() {
        f64::NAN
    } else {
        run(&f) as f64 / n as f64
    };
    let f = opts(
        Some("fd.name startswith /etc and evt.type=openat"),
        "%proc.name %fd.name",
        false,
    );
    rate("read same filter, -p '%proc.name %fd.name'", n, || run(&f));
    let f = opts(Some("proc.name=proc3 and fd.num=3"), "%evt.num", false);
    rate("read 'proc.name=proc3 and fd.num=3' (all types)", n, || {
        run(&f)
    });
    let f = opts(None, "%evt.num", false);
    let bare = rate("print every event, -p '%evt.num'", n, || run(&f));
    let f = opts(None, DEFAULT_FORMAT, false);
    let line = rate("print every event, default line", n, || run(&f));
    let f = opts(None, DEFAULT_FORMAT, true);
    let json = rate("print every event, -j", n, || run(&f));
    println!();
    let met = if filtered >= TARGET_M_EVENTS_S {
        "MET"
    } else {
        "NOT MET"
    };
    println!(
        "target: >= {TARGET_M_EVENTS_S} M events/s for the /etc openat filter: {filtered:.2} -> {met}"
    );
    // Formatting cost per printed event, over the cheapest template (same pipeline,
    // same events): what the default line and JSON add.
    let ns = |r: f64| 1e3 / r;
    println!(
        "formatting cost per event: default line {:.0} ns, -j {:.0} ns (over -p '%evt.num' at {:.0} ns/event)",
        ns(line) - ns(bare),
        ns(json) - ns(bare),
        ns(bare)
    );
    println!(
        "the filtered read prints {:.1}% of events: default-line formatting is {:.1}% of its time",
        100.0 * frac,
        100.0 * frac * (ns(line) - ns(bare)).max(0.0) / ns(filtered)
    );
}
