//! Mapping scap events onto our event model: enter/exit pairs of a thread
//! become ONE syscall record (code found by name in our x86_64 table, args
//! from the params, pointer data as params of the matching wire kind), and
//! lone enters become `F_UNFINISHED` records. Special records (EXEC, FORK,
//! EXIT, DROP) and internal events are handled in [`super::special`].

use std::collections::BTreeMap;

use super::events_table::{ec, ef, pt, EVENTS, EVENT_MAX, PPM_SC_NAMES};
use super::flags::{clone_flags_from_ppm, fcntl_cmd_from_ppm, open_flags_from_ppm};
use super::parse::{strip_nul, Detached, RawEvent};
use super::pending::Pending;
use super::plan::{Flags, Plan, Step};
use super::reorder::Reorder;
use super::sock::{from_sockaddr, from_tuple, is_ip_tuple, known_end, Side};
use super::special::{facts, Threads};
use super::walk::TypeCounts;
use super::{Bare, ImportStats};
use crate::event::meta::ProcInfo;
use crate::event::table::Syscalls;
use crate::event::wire::{CODE_COMPAT_BASE, F_UNFINISHED};
use crate::event::{ParamKind, RecordBuilder};

/// EVF flag: feed the event to state tracking, do not show it.
pub const SCAP_DF_STATE_ONLY: u32 = 1;

/// The streaming converter: feed raw events in file order with
/// [`Converter::push`], take the records the window releases from
/// [`Converter::out`], then call [`Converter::finish`].
///
/// Memory: one pending enter per thread (a copy of its block) and the
/// window's budget of records; nothing grows with the number of events.
#[derive(Debug)]
pub struct Converter {
    sys: &'static Syscalls,
    pub(super) threads: Threads,
    pending: Pending<Stored>,
    /// Buffers of finished enters, for reuse.
    spare: Vec<Vec<u8>>,
    /// Records waiting for their turn (see [`Reorder`]).
    pub out: Reorder,
    pub(super) stats: ImportStats,
    pub(super) containers: Vec<String>,
    /// Non-syscall events by type (`stats.internal` once finished).
    pub(super) internal: TypeCounts,
    /// CPUs inside a dropping period (`drop>` seen, `drop<` not yet).
    pub(super) drop_open: std::collections::HashSet<u16>,
    /// Record code of each event type, by type, once looked up (not
    /// generic `syscall` events).
    codes: Vec<Option<Option<u16>>>,
    /// Conversion plan of each event type (first event given), by type.
    plans: Vec<Option<Plan>>,
    /// Scratch for a record's args.
    args: Vec<u64>,
    /// The buffer records are built in (reused: the window copies them).
    rec_buf: Vec<u8>,
    /// Codes whose records keep only their header.
    pub(super) bare: Bare,
}

/// A pending enter, kept as a copy of its bytes (the input may be a
/// stream whose buffer is reused) with what decoding it found.
#[derive(Debug)]
struct Stored {
    event: Detached,
    body: Vec<u8>,
}

impl Stored {
    fn event(&self) -> Option<RawEvent<'_>> {
        self.event.attach(&self.body)
    }
}

/// Whether an enter event waits for its exit: its exit type is in use
/// (the first pass pairs exactly as the converter does).
pub(super) fn waits_for_exit(enter: &RawEvent<'_>) -> bool {
    EVENTS
        .get(enter.etype as usize + 1)
        .is_some_and(|x| x.flags & ef::UNUSED == 0)
}

/// libs event names that differ from the x86_64 syscall names.
fn syscall_name(libs: &str) -> &str {
    match libs {
        "pread" => "pread64",
        "pwrite" => "pwrite64",
        "prlimit" => "prlimit64",
        "umount" => "umount2",
        "recv" => "recvfrom",
        "send" => "sendto",
        "llseek" => "_llseek",
        "signalfd" => "signalfd4",
        "eventfd" => "eventfd2",
        n => n,
    }
}

impl Converter {
    /// A converter seeded with the snapshot's threads, its reorder window
    /// holding at most `window` bytes.
    pub fn new(procs: &[ProcInfo], window: usize) -> Self {
        Converter {
            sys: Syscalls::default_x86_64(),
            threads: Threads::from_snapshot(procs),
            pending: Pending::default(),
            spare: Vec::new(),
            out: Reorder::new(window),
            stats: ImportStats::default(),
            containers: Vec::new(),
            internal: TypeCounts::default(),
            drop_open: Default::default(),
            codes: vec![None; EVENT_MAX],
            plans: std::iter::repeat_with(|| None).take(EVENT_MAX).collect(),
            args: Vec::new(),
            rec_buf: Vec::new(),
            bare: Bare::default(),
        }
    }

    /// Converts one raw event (file order).
    pub fn push(&mut self, ev: &RawEvent<'_>) {
        let info = ev.info();
        if info.flags & ef::UNUSED != 0 {
            self.stats.unused_types += 1;
            return;
        }
        if info.category & ec::SYSCALL == 0 {
            self.special(ev);
            return;
        }
        if ev.is_enter() && waits_for_exit(ev) {
            let mut body = self.spare.pop().unwrap_or_default();
            body.clear();
            body.extend_from_slice(ev.bytes());
            let stored = Stored {
                event: ev.detach(),
                body,
            };
            if let Some(old) = self.pending.insert(ev.tid, stored) {
                self.stats.enter_without_exit += 1;
                self.unfinished(old);
            }
        } else if ev.is_enter() {
            self.syscall(Some(ev), None);
        } else {
            let stored = self.pending.remove(ev.tid);
            let enter = stored.as_ref().and_then(Stored::event);
            let enter = match enter {
                Some(e) if e.etype.checked_add(1) == Some(ev.etype) => Some(e),
                Some(e) => {
                    self.stats.enter_without_exit += 1;
                    self.syscall(Some(&e), None);
                    None
                }
                None => None,
            };
            if enter.is_some() {
                self.stats.paired += 1;
            } else {
                self.stats.exit_without_enter += 1;
            }
            // EXEC/FORK first: they precede the syscall's return (as the
            // kernel's sched_process_* tracepoints do) and register the thread.
            self.after_exit(enter.as_ref(), ev);
            self.syscall(enter.as_ref(), Some(ev));
            self.recycle(stored);
        }
    }

    /// A pending enter that will have no exit: an unfinished record.
    fn unfinished(&mut self, s: Stored) {
        if let Some(e) = s.event() {
            self.syscall(Some(&e), None);
        }
        self.recycle(Some(s));
    }

    /// Keeps a few event buffers for reuse (no allocation per enter).
    fn recycle(&mut self, s: Option<Stored>) {
        if let Some(s) = s {
            if self.spare.len() < 64 && s.body.capacity() <= 1 << 16 {
                self.spare.push(s.body);
            }
        }
    }

    /// Flushes lone enters as unfinished records (into [`Converter::out`],
    /// still to be drained) and returns the outputs.
    pub fn finish(mut self) -> (Reorder, ImportStats, Vec<String>, Threads) {
        let pending = std::mem::take(&mut self.pending);
        let mut left: Vec<Stored> = pending.into_values().collect();
        left.sort_by_key(|e| (e.event.ts(), e.event.offset()));
        for s in left {
            self.unfinished(s);
        }
        self.stats.late = self.out.late;
        self.stats.internal = self.internal.named();
        (self.out, self.stats, self.containers, self.threads)
    }

    /// The record code of an event whose first given event is `evs[0]`:
    /// found by name once per event type, except for generic `syscall`
    /// events, which carry their syscall in params.
    fn code_of(&mut self, evs: &[&RawEvent<'_>]) -> Option<u16> {
        let info = evs[0].info();
        let name = info.name;
        let code = if facts(evs[0].etype).generic {
            // Current files carry the native nr; old ones only the ppm_sc id.
            let native = evs.iter().find_map(|e| e.int("nativeID"));
            match native {
                Some(id) => u16::try_from(id).ok().filter(|c| *c < CODE_COMPAT_BASE),
                None => evs
                    .iter()
                    .find_map(|e| e.int("ID"))
                    .and_then(|id| PPM_SC_NAMES.get(id as usize))
                    .and_then(|n| self.sys.codes(syscall_name(n)).first().copied()),
            }
        } else {
            let sys = self.sys;
            match self.codes.get_mut(usize::from(evs[0].etype)) {
                Some(Some(c)) => *c,
                Some(slot) => *slot.insert(sys.codes(syscall_name(name)).first().copied()),
                None => sys.codes(syscall_name(name)).first().copied(),
            }
        };
        if code.is_none() {
            *self.stats.unmapped.entry(name.to_string()).or_default() += 1;
        }
        code
    }

    /// Emits one syscall record from an enter and/or exit event.
    fn syscall<'e>(&mut self, enter: Option<&RawEvent<'e>>, exit: Option<&RawEvent<'e>>) {
        let both;
        let one;
        let evs: &[&RawEvent<'e>] = match (enter, exit) {
            (Some(a), Some(b)) => {
                both = [a, b];
                &both
            }
            (Some(a), None) | (None, Some(a)) => {
                one = [a];
                &one
            }
            (None, None) => return,
        };
        let Some(code) = self.code_of(evs) else {
            return;
        };
        let base = evs[evs.len() - 1];
        if base.flags & SCAP_DF_STATE_ONLY != 0 {
            // libs applies state-only events to its tables but never shows
            // them: their state effects on threads (EXEC/FORK/EXIT records)
            // are already emitted; the syscall itself stays hidden.
            self.stats.state_only_hidden += 1;
            return;
        }
        let tid = base.tid as u32;
        let pid = self.threads.pid_of(tid, &mut self.stats);
        let ret = exit.map_or(0, exit_ret);
        let buf = std::mem::take(&mut self.rec_buf);
        let mut b = RecordBuilder::new_in(buf, code, base.cpu, base.ts, tid, pid, ret);
        if exit.is_none() {
            b = b.flags(F_UNFINISHED);
            self.stats.unfinished += 1;
        }
        if !self.bare.contains(code) {
            b = self.args_and_params(b, code, evs, enter.zip(exit).map(|(e, _)| e.ts));
        }
        let rec = b.build();
        self.out.push(base.ts, &rec);
        self.rec_buf = rec;
        self.stats.records += 1;
    }

    /// Adds the args and params of `code` from `evs` (enter first) to `b`,
    /// and the enter's time of a pair.
    fn args_and_params(
        &mut self,
        mut b: RecordBuilder,
        code: u16,
        evs: &[&RawEvent<'_>],
        enter_ts: Option<u64>,
    ) -> RecordBuilder {
        let t = evs[0].etype;
        // The decoder only yields types below EVENT_MAX: a slot exists.
        let Some(slot) = self.plans.get_mut(usize::from(t)) else {
            return b;
        };
        let plan = match slot {
            Some(p) if p.code == code => p,
            _ => slot.insert(Plan::new(t, code, self.sys.get(code))),
        };
        self.args.clear();
        self.args.extend(
            plan.steps
                .iter()
                .map(|s| arg_value(s, evs, &mut self.stats)),
        );
        b = b.args(&self.args);
        if let Some(ts) = enter_ts {
            b = b.enter_ts(ts);
        }
        for (i, s) in plan.steps.iter().enumerate() {
            params_of(s, i as u8, evs, &mut b);
        }
        b
    }
}

/// The scalar value of the argument filled by step `s` (0 if none).
fn arg_value(s: &Step, evs: &[&RawEvent<'_>], stats: &mut ImportStats) -> u64 {
    let (at, flags) = match s {
        Step::Scalar { at, flags } => (at, *flags),
        // arg2_int has no translation table (an integer in libs).
        Step::Prctl2 { int, .. } => (int, Flags::Drop),
        _ => return 0,
    };
    at.get(evs).map_or(0, |(v, ty)| scalar(flags, v, ty, stats))
}

/// Appends the params step `s` makes for argument `idx` to `b`.
fn params_of(s: &Step, idx: u8, evs: &[&RawEvent<'_>], b: &mut RecordBuilder) {
    match s {
        Step::Scalar { .. } | Step::Skip => {}
        Step::Prctl2 { text, .. } => {
            // State reads a Str param for the name and the scalar for the
            // rest (PR_SET_CHILD_SUBREAPER...).
            if let Some((v, _)) = text.get(evs) {
                b.push_param(idx, ParamKind::Str, strip_nul(v));
            }
        }
        Step::Str { at, single } => {
            let p = at
                .get(evs)
                .filter(|(_, ty)| is_str(*ty))
                // A single-path syscall whose scap param has another name.
                .or_else(|| single.then(|| first_path(evs)).flatten());
            if let Some((v, _)) = p {
                b.push_param(idx, ParamKind::Str, strip_nul(v));
            }
        }
        Step::Buf { data } => {
            if let Some((v, _)) = data.get(evs) {
                b.push_param(idx, ParamKind::Buf, v);
            }
        }
        Step::Msghdr { side, tuple, data } => {
            if let Some(sa) = tuple.get(evs).and_then(|(v, _)| from_tuple(v, *side)) {
                b.push_param(idx, ParamKind::Sockaddr, &sa);
            }
            if let Some((v, _)) = data.get(evs) {
                b.push_param(idx, ParamKind::Buf, v);
            }
        }
        Step::SockIn {
            tuple,
            addr,
            connect,
        } => {
            let tuple = tuple.get(evs).map(|(v, _)| v);
            // connect: the exit's tuple names both ends (an IPv4-mapped
            // pair as IPv4, as libsinsp); else the enter's address.
            let full = tuple.filter(|t| *connect && known_end(t, Side::Dst));
            let sa = full
                .and_then(|t| from_tuple(t, Side::Dst))
                .or_else(|| {
                    addr.get(evs)
                        .filter(|(_, ty)| *ty == pt::SOCKADDR)
                        .and_then(|(v, _)| from_sockaddr(v))
                })
                .or_else(|| tuple.and_then(|v| from_tuple(v, Side::Dst)));
            if let Some(sa) = sa {
                b.push_param(idx, ParamKind::Sockaddr, &sa);
                let local = full.filter(|t| is_ip_tuple(t) && known_end(t, Side::Src));
                if let Some(l) = local.and_then(|t| from_tuple(t, Side::Src)) {
                    b.push_param(idx, ParamKind::Sockaddr, &l);
                }
            }
        }
        Step::SockOut { tuple, accept } => {
            let tuple = tuple.get(evs).map(|(v, _)| v);
            if let Some(sa) = tuple.and_then(|v| from_tuple(v, Side::Src)) {
                b.push_param(idx, ParamKind::Sockaddr, &sa);
                // accept: the tuple's destination is our (server) end.
                let local = tuple.filter(|t| *accept && is_ip_tuple(t) && known_end(t, Side::Dst));
                if let Some(l) = local.and_then(|t| from_tuple(t, Side::Dst)) {
                    b.push_param(idx, ParamKind::Sockaddr, &l);
                }
            }
        }
        Step::Argv => {
            if let Some(argv) = exec_argv(evs) {
                b.push_param(idx, ParamKind::Argv, &argv);
            }
        }
    }
}

/// A scalar arg value; libs-encoded flags are translated back to kernel
/// values where we know the table, and dropped (0) otherwise.
fn scalar(flags: Flags, v: &[u8], ty: u8, stats: &mut ImportStats) -> u64 {
    let Some(x) = super::parse::int_value(v, ty) else {
        return 0;
    };
    match ty {
        pt::FLAGS8
        | pt::FLAGS16
        | pt::FLAGS32
        | pt::ENUMFLAGS8
        | pt::ENUMFLAGS16
        | pt::ENUMFLAGS32 => match flags {
            Flags::Open => open_flags_from_ppm(x as u32),
            Flags::Clone => clone_flags_from_ppm(x as u32),
            Flags::Fcntl => fcntl_cmd_from_ppm(x as u32),
            Flags::Same => x as u64,
            Flags::Drop => {
                stats.flags_dropped += 1;
                0
            }
        },
        _ => x as u64,
    }
}

fn is_str(ty: u8) -> bool {
    matches!(ty, pt::FSPATH | pt::FSRELPATH | pt::CHARBUF)
}

fn first_path<'a>(evs: &[&RawEvent<'a>]) -> Option<(&'a [u8], u8)> {
    evs.iter().find_map(|e| {
        e.info()
            .params
            .iter()
            .zip(e.params.iter())
            .find(|(p, v)| matches!(p.ty, pt::FSPATH | pt::FSRELPATH) && !v.is_empty())
            .map(|(p, v)| (v, p.ty))
    })
}

/// argv as NUL-separated strings: scap's `exe` (argv[0]) then `args`.
pub(super) fn exec_argv(evs: &[&RawEvent<'_>]) -> Option<Vec<u8>> {
    let exit = evs.iter().rev().find(|e| !e.is_enter())?;
    let mut out = exit.str("exe")?.to_vec();
    if let Some((args, _)) = exit.get("args") {
        let args = args.strip_suffix(&[0]).unwrap_or(args);
        if !args.is_empty() {
            out.push(0);
            out.extend_from_slice(args);
        }
    }
    Some(out)
}

/// The return value of an exit event: its `res` (or leading `fd`) param.
fn exit_ret(e: &RawEvent<'_>) -> i64 {
    if !facts(e.etype).ret_first {
        return 0;
    }
    e.at(0)
        .and_then(|(v, ty)| super::parse::int_value(v, ty))
        .unwrap_or(0)
}

/// Counter map type used in [`ImportStats`].
pub type Counts = BTreeMap<String, u64>;
