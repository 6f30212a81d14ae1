//! The `table_generator` family: top-N tables of bytes, time, calls or
//! errors per key (`topprocs_*`, `topfiles_*`, `topscalls*`, `topconns`,
//! `topports_server`, `fd*_by`) and the per-second `iobytes*` counters,
//! all aggregated with [`GroupAgg`] on polars.

use polars::prelude::*;
use serde_json::json;

use super::agg::{cell, cell_u64, extend, format_bytes, format_time, GroupAgg, Key, KeyType};
use super::event::{fd_name, fd_type, is_ip, Event, IoDir};
use super::key::{key_name, KeyField};
use super::{ArgDef, Chisel, ChiselDef, ChiselError, End, Init, Out};
use crate::state::FdEntry;

/// What a table sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Value {
    /// I/O bytes.
    Bytes,
    /// Syscall latency.
    Time,
    /// Syscall latency as a share of the capture's duration.
    TimePct,
    /// Events.
    Count,
}

/// Which events a table counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cond {
    FileIo,
    NetIo,
    AnyIo,
    Failed,
    FileFailed,
    Syscall,
}

impl Cond {
    /// The event's own part of the condition (checked first).
    fn event(self, ev: &Event<'_>) -> bool {
        match self {
            Cond::FileIo | Cond::NetIo | Cond::AnyIo => ev.io().is_some(),
            Cond::Failed | Cond::FileFailed => ev.errno().is_some(),
            Cond::Syscall => ev.rec.is_syscall(),
        }
    }

    /// Whether [`fd`](Self::fd) looks at the event's fd.
    fn uses_fd(self) -> bool {
        matches!(self, Cond::FileIo | Cond::NetIo | Cond::FileFailed)
    }

    /// The fd's part of the condition.
    fn fd(self, fd: Option<&FdEntry>) -> bool {
        match self {
            Cond::FileIo | Cond::FileFailed => fd.is_some_and(|f| fd_type(f) == "file"),
            Cond::NetIo => fd.is_some_and(is_ip),
            Cond::AnyIo | Cond::Failed | Cond::Syscall => true,
        }
    }
}

/// A `table_generator` chisel.
struct Table {
    def: &'static ChiselDef,
    keys: Vec<(KeyField, String)>,
    value: (Value, &'static str),
    cond: Cond,
    top: usize,
    agg: GroupAgg,
    bufs: Vec<String>,
    /// Whether the condition or a key reads the event's fd.
    uses_fd: bool,
    /// Whether the keys are known from the event's code, pid and tid and the
    /// state's [epoch](crate::state::State::epoch) (no key reads an fd).
    by_process: bool,
    /// Whether a key is the event type (else the code is left out of the
    /// signature: consecutive events of one thread mostly differ in it).
    by_code: bool,
    /// That signature of the latest pushed row.
    last: Option<Signature>,
}

/// What the keys of a [`Table::by_process`] table are a function of
/// (`code` 0 unless [`Table::by_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Signature {
    code: u16,
    pid: u32,
    tid: u32,
    epoch: u64,
}

impl Table {
    #[allow(clippy::new_ret_no_self)] // a boxed chisel, for ChiselDef::make
    fn new(
        def: &'static ChiselDef,
        init: &Init<'_>,
        keys: Vec<(KeyField, String)>,
        value: (Value, &'static str),
        cond: Cond,
        top: usize,
    ) -> Result<Box<dyn Chisel>, ChiselError> {
        if matches!(value.0, Value::Time | Value::TimePct) && !init.has_latency {
            return Err(ChiselError::Unsupported {
                chisel: def.name,
                reason: "this capture has no syscall entry times, so no latency: record with `saker record --latency` \
                         (sysdig's scheduler-based times are not available either)"
                    .into(),
            });
        }
        let names: Vec<String> = (0..keys.len()).map(|i| format!("k{i}")).collect();
        let kspec: Vec<(&str, KeyType)> = keys
            .iter()
            .zip(&names)
            .map(|((k, _), n)| (n.as_str(), k.ty()))
            .collect();
        let agg = GroupAgg::new(&kspec, &["v"]);
        let bufs = vec![String::new(); keys.len()];
        let uses_fd = cond.uses_fd() || keys.iter().any(|(k, _)| k.uses_fd());
        let by_process = keys.iter().all(|(k, _)| !k.needs_fds());
        Ok(Box::new(Table {
            uses_fd,
            by_process,
            by_code: keys.iter().any(|(k, _)| *k == KeyField::EvtType),
            last: None,
            def,
            keys,
            value,
            cond,
            top,
            agg,
            bufs,
        }))
    }
}

impl Chisel for Table {
    /// Syscall counts and times by event type come from the records alone.
    fn needs_state(&self) -> bool {
        !(self.cond == Cond::Syscall && self.keys.iter().all(|(k, _)| *k == KeyField::EvtType))
    }

    /// `topprocs_cpu`, `topprocs_errors` and keys on processes read no fds.
    fn needs_fds(&self) -> bool {
        self.cond.uses_fd() || self.keys.iter().any(|(k, _)| k.needs_fds())
    }

    fn on_event(&mut self, ev: &Event<'_>, _out: &mut Out<'_>) -> Result<(), ChiselError> {
        if !self.cond.event(ev) {
            return Ok(());
        }
        let fd = if self.uses_fd { ev.fd() } else { None };
        if !self.cond.fd(fd) {
            return Ok(());
        }
        let v = match self.value.0 {
            Value::Bytes => ev.io().map_or(0, |(_, b)| b),
            Value::Time | Value::TimePct => match ev.latency() {
                Some(l) => l,
                None => return Ok(()),
            },
            Value::Count => 1,
        };
        let sig = self.by_process.then(|| Signature {
            code: if self.by_code { ev.rec.code() } else { 0 },
            pid: ev.rec.pid(),
            tid: ev.rec.tid(),
            epoch: ev.state.epoch(),
        });
        if sig.is_some() && sig == self.last && self.agg.push_again(&[v]) {
            return Ok(());
        }
        self.last = None;
        let Table {
            keys, bufs, agg, ..
        } = self;
        let mut vals: [Key<'_>; 4] = [Key::U64(0); 4];
        let n = keys.len().min(4);
        for ((i, (k, _)), buf) in keys.iter().take(n).enumerate().zip(bufs.iter_mut()) {
            match k.value(ev, fd, buf) {
                Some(key) => vals[i] = key,
                None => return Ok(()),
            }
        }
        agg.push(&vals[..n], &[v])?;
        self.last = sig;
        Ok(())
    }

    fn finish(&mut self, end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        let df = self.agg.finish("v", self.top)?;
        let dur = end.env.last_ts.saturating_sub(end.env.first_ts);
        let fmt = |v: u64| match self.value.0 {
            Value::Bytes => format_bytes(v),
            Value::Time => format_time(v),
            Value::Count => v.to_string(),
            Value::TimePct if dur > 0 => format!("{:.2}%", v as f64 / dur as f64 * 100.0),
            Value::TimePct => "0.00%".to_string(),
        };
        let keyname = |i: usize| format!("k{i}");
        if out.json {
            let data: Vec<serde_json::Value> = (0..df.height())
                .map(|r| {
                    let mut row: Vec<serde_json::Value> = (0..self.keys.len())
                        .map(|i| match self.keys[i].0.ty() {
                            KeyType::U64 => json!(cell_u64(&df, &keyname(i), r)),
                            KeyType::Str => json!(cell(&df, &keyname(i), r)),
                        })
                        .collect();
                    row.push(json!(cell_u64(&df, "v", r)));
                    serde_json::Value::Array(row)
                })
                .collect();
            let mut info: Vec<serde_json::Value> = self
                .keys
                .iter()
                .map(|(k, d)| json!({"name": key_name(*k), "desc": d, "is_key": true}))
                .collect();
            info.push(
                json!({"name": value_field(self.value.0), "desc": self.value.1, "is_key": false}),
            );
            let v = json!({"chisel": self.def.name, "data": data, "info": info});
            writeln!(
                out.w,
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            )?;
            return Ok(());
        }
        let mut header = extend(self.value.1, 20);
        for (_, d) in &self.keys {
            header.push_str(&extend(d, 20));
        }
        writeln!(out.w, "{header}")?;
        writeln!(out.w, "{}", "-".repeat(80))?;
        let mut esc = String::new();
        for r in 0..df.height() {
            let mut line = extend(&fmt(cell_u64(&df, "v", r)), 20);
            for i in 0..self.keys.len() {
                esc.clear();
                crate::event::text::escape_bytes(cell(&df, &keyname(i), r).as_bytes(), &mut esc);
                if i + 1 < self.keys.len() {
                    let cut: String = esc.chars().take(20).collect();
                    line.push_str(&extend(&cut, 20));
                } else {
                    line.push_str(&esc);
                }
            }
            writeln!(out.w, "{line}")?;
        }
        Ok(())
    }
}

fn value_field(v: Value) -> &'static str {
    match v {
        Value::Bytes => "evt.rawarg.res",
        Value::Time | Value::TimePct => "evt.latency",
        Value::Count => "evt.count",
    }
}

/// Counts distinct fds per key (`fdcount_by`).
struct FdCount {
    key: KeyField,
    agg: GroupAgg,
    buf: String,
    name: String,
}

impl Chisel for FdCount {
    fn on_event(&mut self, ev: &Event<'_>, _out: &mut Out<'_>) -> Result<(), ChiselError> {
        let Some(fd) = ev.fd() else { return Ok(()) };
        let num = ev
            .effect
            .fd
            .as_ref()
            .map(|(n, _)| i64::from(*n))
            .or(ev.fd_num())
            .unwrap_or(-1);
        fd_name(fd, &mut self.name);
        if num <= 0 || self.name.is_empty() {
            return Ok(());
        }
        let Some(k) = self.key.value(ev, Some(fd), &mut self.buf) else {
            return Ok(());
        };
        self.agg
            .push(&[k, Key::U64(num as u64), Key::Str(&self.name)], &[1])
    }

    fn finish(&mut self, _end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        let df = self.agg.finish("v", usize::MAX)?;
        let pe = |e: PolarsError| ChiselError::Polars {
            reason: e.to_string(),
        };
        let opts = SortMultipleOptions::default().with_order_descending_multi([true, false]);
        let df = df
            .lazy()
            .group_by([col("key")])
            .agg([len().cast(DataType::UInt64).alias("c")])
            .sort(["c", "key"], opts)
            .limit(TOP_FD as IdxSize)
            .collect()
            .map_err(pe)?;
        let mut esc = String::new();
        for r in 0..df.height() {
            esc.clear();
            crate::event::text::escape_bytes(cell(&df, "key", r).as_bytes(), &mut esc);
            let c = cell_u64(&df, "c", r);
            if out.json {
                writeln!(out.w, "{}", json!({"key": cell(&df, "key", r), "count": c}))?;
            } else {
                writeln!(out.w, "{esc}\t{c}")?;
            }
        }
        Ok(())
    }
}

const TOP_FD: usize = 50;

/// Which FDs an `iobytes*` chisel counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IoFds {
    /// Any FD (`iobytes`).
    All,
    /// Files (`iobytes_file`).
    File,
    /// IPv4/IPv6 sockets (`iobytes_net`).
    Net,
}

/// Bytes in/out per wall-clock second (UTC, from the event time) of the
/// capture: `iobytes`, `iobytes_file`, `iobytes_net`. Seconds without I/O
/// are not printed (sysdig prints them as zeros).
struct IoBytes {
    fds: IoFds,
    agg: GroupAgg,
}

impl IoBytes {
    fn make(fds: IoFds) -> Box<dyn Chisel> {
        Box::new(IoBytes {
            fds,
            agg: GroupAgg::new(&[("sec", KeyType::U64)], &["in", "out"]),
        })
    }
}

impl Chisel for IoBytes {
    fn on_event(&mut self, ev: &Event<'_>, _out: &mut Out<'_>) -> Result<(), ChiselError> {
        let Some((dir, n)) = ev.io() else {
            return Ok(());
        };
        let keep = match self.fds {
            IoFds::All => true,
            IoFds::File => ev.fd().is_some_and(|f| fd_type(f) == "file"),
            IoFds::Net => ev.fd().is_some_and(is_ip),
        };
        if !keep {
            return Ok(());
        }
        let sec = ev.env.epoch(ev.rec.ts()).max(0) as u64 / 1_000_000_000;
        let (i, o) = if dir == IoDir::In { (n, 0) } else { (0, n) };
        self.agg.push(&[Key::U64(sec)], &[i, o])
    }

    fn finish(&mut self, _end: &End<'_>, out: &mut Out<'_>) -> Result<(), ChiselError> {
        let df = self.agg.finish("sec", usize::MAX)?;
        for r in (0..df.height()).rev() {
            let sec = cell_u64(&df, "sec", r);
            let (i, o) = (cell_u64(&df, "in", r), cell_u64(&df, "out", r));
            let t = sec.saturating_mul(1_000_000_000) as i64;
            if out.json {
                writeln!(
                    out.w,
                    "{}",
                    json!({"time": t, "in": i, "out": o, "tot": i + o})
                )?;
            } else {
                writeln!(out.w, "{} in:{i} out:{o} tot:{}", super::fmt_time(t), i + o)?;
            }
        }
        Ok(())
    }
}

const KEY_ARG: ArgDef = ArgDef {
    name: "key",
    ty: "string",
    desc: "The filter field used for grouping (e.g. proc.name, fd.sport)",
    optional: false,
};

fn k(f: KeyField, d: &str) -> (KeyField, String) {
    (f, d.to_string())
}

macro_rules! table {
    ($name:literal, $cat:literal, $short:literal, $desc:literal, $keys:expr, $val:expr, $cond:expr, $top:expr) => {
        ChiselDef {
            name: $name,
            category: $cat,
            short: $short,
            desc: $desc,
            args: &[],
            make: |d, i| Table::new(d, i, $keys, $val, $cond, $top),
        }
    };
}

fn keyed(
    d: &'static ChiselDef,
    i: &Init<'_>,
    val: (Value, &'static str),
    c: Cond,
) -> Result<Box<dyn Chisel>, ChiselError> {
    let key = d.arg(i, 0)?.unwrap_or_default();
    let f = KeyField::parse(d.name, key)?;
    Table::new(d, i, vec![(f, key.to_string())], val, c, 30)
}

/// The table chisels.
pub(crate) static DEFS: &[ChiselDef] = &[
    table!("topprocs_cpu", "CPU Usage", "Top processes by time in syscalls",
        "Processes sorted by the share of the capture's duration their threads spent inside syscalls. saker captures carry no scheduler events, so this is syscall time (from entry times, `record --latency`), not sysdig's on-CPU time.",
        vec![k(KeyField::ProcName, "Process"), k(KeyField::ProcPid, "PID")], (Value::TimePct, "SYS%"), Cond::Syscall, 10),
    table!("topprocs_file", "I/O", "Top processes by R+W disk bytes",
        "Processes sorted by the bytes they read from and wrote to files.",
        vec![k(KeyField::ProcName, "Process"), k(KeyField::ProcPid, "PID")], (Value::Bytes, "Bytes"), Cond::FileIo, 10),
    table!("topprocs_net", "Net", "Top processes by network I/O",
        "Processes sorted by the bytes they sent and received on IPv4/IPv6 sockets.",
        vec![k(KeyField::ProcName, "Process"), k(KeyField::ProcPid, "PID")], (Value::Bytes, "Bytes"), Cond::NetIo, 100),
    table!("topprocs_errors", "Errors", "Top processes by number of errors",
        "Processes sorted by the number of failed syscalls.",
        vec![k(KeyField::ProcName, "Process"), k(KeyField::ProcPid, "PID")], (Value::Count, "#Errors"), Cond::Failed, 100),
    table!("topfiles_bytes", "I/O", "Top files by R+W bytes",
        "Files sorted by the bytes read from and written to them.",
        vec![k(KeyField::FdName, "Filename")], (Value::Bytes, "Bytes"), Cond::FileIo, 10),
    table!("topfiles_time", "I/O", "Top files by time",
        "Files sorted by the time spent in reads and writes on them (needs `record --latency`).",
        vec![k(KeyField::FdName, "Filename")], (Value::Time, "Time"), Cond::FileIo, 10),
    table!("topfiles_errors", "Errors", "Top files by number of errors",
        "Files sorted by the number of failed syscalls on an fd of theirs.",
        vec![k(KeyField::FdName, "Filename")], (Value::Count, "#Errors"), Cond::FileFailed, 100),
    table!("topscalls", "Performance", "Top system calls by number of calls",
        "System calls sorted by the number of calls.",
        vec![k(KeyField::EvtType, "Syscall")], (Value::Count, "# Calls"), Cond::Syscall, 30),
    table!("topscalls_time", "Performance", "Top system calls by time",
        "System calls sorted by the total time spent in them (needs `record --latency`).",
        vec![k(KeyField::EvtType, "Syscall")], (Value::Time, "Time"), Cond::Syscall, 30),
    table!("topconns", "Net", "Top network connections by total bytes",
        "Network connections sorted by the bytes sent and received.",
        vec![k(KeyField::FdL4proto, "Proto"), k(KeyField::FdName, "Conn")], (Value::Bytes, "Bytes"), Cond::NetIo, 30),
    table!("topports_server", "Net", "Top TCP/UDP server ports by R+W bytes",
        "Server ports sorted by the bytes sent and received on them.",
        vec![k(KeyField::FdSport, "Srv Port")], (Value::Bytes, "Bytes"), Cond::NetIo, 100),
    ChiselDef {
        name: "fdbytes_by",
        category: "I/O",
        short: "I/O bytes, aggregated by an arbitrary filter field",
        desc: "Groups FD activity by the given field and lists the keys that moved the most bytes.",
        args: &[KEY_ARG],
        make: |d, i| keyed(d, i, (Value::Bytes, "Bytes"), Cond::AnyIo),
    },
    ChiselDef {
        name: "fdtime_by",
        category: "I/O",
        short: "FD time group by",
        desc: "Groups FD activity by the given field and lists the keys with the most time in I/O (needs `record --latency`).",
        args: &[KEY_ARG],
        make: |d, i| keyed(d, i, (Value::Time, "Time"), Cond::AnyIo),
    },
    ChiselDef {
        name: "fdcount_by",
        category: "I/O",
        short: "FD count, aggregated by an arbitrary filter field",
        desc: "Groups the FDs events worked on by the given field and counts the distinct FDs (number + name) per key.",
        args: &[KEY_ARG],
        make: |d, i| {
            let key = d.arg(i, 0)?.unwrap_or_default();
            let f = KeyField::parse(d.name, key)?;
            let agg = GroupAgg::new(&[("key", KeyType::Str), ("fd", KeyType::U64), ("name", KeyType::Str)], &["v"]);
            Ok(Box::new(FdCount { key: f, agg, buf: String::new(), name: String::new() }))
        },
    },
    ChiselDef {
        name: "iobytes",
        category: "I/O",
        short: "Sum of I/O bytes on any type of FD",
        desc: "Counts the bytes read from and written to any FD, per second of capture time.",
        args: &[],
        make: |_, _| Ok(IoBytes::make(IoFds::All)),
    },
    ChiselDef {
        name: "iobytes_file",
        category: "I/O",
        short: "Sum of file I/O bytes",
        desc: "Counts the bytes read from and written to files, per second of capture time.",
        args: &[],
        make: |_, _| Ok(IoBytes::make(IoFds::File)),
    },
    ChiselDef {
        name: "iobytes_net",
        category: "Net",
        short: "Sum of network I/O bytes",
        desc: "Counts the bytes read from and written to IPv4/IPv6 sockets, per second of capture time.",
        args: &[],
        make: |_, _| Ok(IoBytes::make(IoFds::Net)),
    },
];
