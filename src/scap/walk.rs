//! The block loop both passes of an import run: section headers, metadata
//! blocks (machine, process list, fds, users, interfaces) into a snapshot,
//! event blocks decoded and handed to a [`Consumer`] in file order. The
//! first pass ([`Prescan`]) learns what the capture's metadata needs from
//! the events; the second ([`super::convert::Converter`]) converts them.

use std::collections::{HashMap, HashSet};

use super::block::{bt, is_event_block, parse_shb, pl_version, Block};
use super::convert::{waits_for_exit, Counts, SCAP_DF_STATE_ONLY};
use super::events_table::{ec, ef, EVENTS, EVENT_MAX};
use super::parse::{decode_event, Decoded, RawEvent};
use super::pending::Pending;
use super::special::container_json;
use super::stream::BlockSource;
use super::{state, ImportStats, ScapError};
use crate::event::meta::{FdInfo, Machine, ProcInfo, Snapshot};

/// What receives the events of a walk.
pub(super) trait Consumer {
    /// Before the first event: the snapshot's threads.
    fn start(&mut self, procs: &[ProcInfo]);
    /// Before the first event of a later section: the threads it adds.
    fn seed(&mut self, procs: &[ProcInfo]);
    /// One event, decoded from block `b`. An error here ends the import
    /// (it is not a truncation).
    fn event(&mut self, b: &Block<'_>, e: &RawEvent<'_>) -> Result<(), ScapError>;
}

/// What a walk learned besides the events.
#[derive(Debug, Default)]
pub(super) struct Walk {
    /// scap format version of the first section header, `major.minor`.
    pub version: String,
    /// The first section's machine.
    pub machine: Machine,
    /// Threads (fds attached), users and groups; `ts` is the first event's.
    pub snap: Snapshot,
    /// Network interfaces of every section.
    pub interfaces: Vec<state::Interface>,
    /// Block-level counters and the truncation (other fields 0).
    pub stats: ImportStats,
}

/// Input bytes between two calls of the walk's `release`.
const RELEASE_STEP: u64 = 4 << 20;

/// Walks the blocks of a scap file. Only a file that does not start with
/// a valid section header, a decompression cap exceeded or a consumer error
/// is an `Err`; a bad block later ends the walk with `stats.truncation` set.
/// `release(n)` is called every few MiB: this pass will not read the
/// input's first `n` bytes again (a caller may drop their pages).
pub(super) fn walk<S: BlockSource, C: Consumer>(
    src: &mut S,
    c: &mut C,
    release: &mut dyn FnMut(u64),
) -> Result<Walk, ScapError> {
    let first = src.next_block().ok_or_else(|| ScapError::NotScap {
        reason: "empty file".into(),
    })??;
    if first.btype != bt::SHB {
        return Err(ScapError::NoSectionHeader {
            offset: 0,
            block_type: first.btype,
        });
    }
    let shb = parse_shb(&first)?;
    let mut w = Walk {
        version: format!("{}.{}", shb.major, shb.minor),
        ..Walk::default()
    };
    w.stats.sections = 1;
    let mut fds: HashMap<u32, Vec<FdInfo>> = HashMap::new();
    let mut started = false;
    let mut first_ts = None;
    let mut fatal = None;
    // Whether an event block came after the last section header: from then
    // on only events or a new section header may follow (libscap).
    let mut in_events = false;
    // Process-list entries of a later section, merged at its first event.
    let mut later: Vec<ProcInfo> = Vec::new();
    let mut released = 0u64;
    loop {
        // Nothing before `done` is borrowed any more (pending enters are copies).
        let done = src.consumed();
        if done >= released.saturating_add(RELEASE_STEP) {
            release(done);
            released = done;
        }
        let Some(b) = src.next_block() else {
            break;
        };
        let res = (|| -> Result<(), ScapError> {
            let b = b?;
            let (snap, st) = (&mut w.snap, &mut w.stats);
            if is_event_block(b.btype) {
                st.raw_events += 1;
                in_events = true;
                if !started {
                    started = true;
                    finish_snapshot(snap, 0, &mut fds);
                    c.start(&snap.procs);
                } else if !later.is_empty() {
                    let start = snap.procs.len();
                    let known: HashSet<u32> = snap.procs.iter().map(|p| p.tid).collect();
                    snap.procs
                        .extend(later.drain(..).filter(|p| !known.contains(&p.tid)));
                    finish_snapshot(snap, start, &mut fds);
                    c.seed(&snap.procs[start..]);
                }
                match decode_event(&b)? {
                    Decoded::Event(e) => {
                        st.v1_events += u64::from(e.v1);
                        st.state_only += u64::from(e.flags & SCAP_DF_STATE_ONLY != 0);
                        if e.ts != 0 && first_ts.is_none() {
                            first_ts = Some(e.ts);
                        }
                        if let Err(e) = c.event(&b, &e) {
                            fatal = Some(e);
                        }
                    }
                    Decoded::UnknownType(_) => st.unknown_types += 1,
                }
                return Ok(());
            }
            if in_events && b.btype != bt::SHB {
                // libscap returns SCAP_UNEXPECTED_BLOCK and sinsp restarts
                // the capture, which fails on anything but a section header:
                // the stream ends. Metadata blocks (PL, FDL...) are no
                // exception; only after a new section header are they read.
                return Err(ScapError::UnexpectedBlock {
                    offset: b.offset,
                    block_type: b.btype,
                });
            }
            match b.btype {
                bt::SHB => {
                    parse_shb(&b)?;
                    st.sections += 1;
                    in_events = false;
                }
                // The first section's machine describes the capture.
                bt::MI | bt::MI_INT if !started => w.machine = state::parse_mi(&b)?,
                bt::MI | bt::MI_INT => {
                    state::parse_mi(&b)?;
                }
                bt::FDL | bt::FDL_INT | bt::FDL_V2 => {
                    let (tid, list) = state::parse_fdl(&b, b.btype == bt::FDL_V2)?;
                    fds.entry(tid).or_default().extend(list);
                }
                bt::UL | bt::UL_INT | bt::UL_V2 => {
                    let (u, g) = state::parse_ul(&b, b.btype == bt::UL_V2)?;
                    for x in u {
                        if !snap.users.iter().any(|k| k.uid == x.uid) {
                            snap.users.push(x);
                        }
                    }
                    for x in g {
                        if !snap.groups.iter().any(|k| k.gid == x.gid) {
                            snap.groups.push(x);
                        }
                    }
                }
                bt::IL | bt::IL_INT | bt::IL_V2 => {
                    for i in state::parse_il(&b, b.btype == bt::IL_V2)? {
                        if !w.interfaces.contains(&i) {
                            w.interfaces.push(i);
                        }
                    }
                }
                t => match pl_version(t) {
                    Some(v) if !started => snap.procs.extend(state::parse_pl(&b, v)?),
                    // A later section (concatenated captures) adds the
                    // threads it describes that we do not track yet.
                    Some(v) => later.extend(state::parse_pl(&b, v)?),
                    // Unknown metadata: skipped by its length, as libscap does.
                    None => st.skipped_blocks += 1,
                },
            }
            Ok(())
        })();
        if let Some(e) = fatal {
            return Err(e);
        }
        if let Err(e @ ScapError::TooLarge { .. }) = res {
            return Err(e);
        }
        if let Err(e) = res {
            w.stats.truncation = Some(e);
            break;
        }
    }
    if !started {
        finish_snapshot(&mut w.snap, 0, &mut fds);
        c.start(&w.snap.procs);
    }
    w.snap.ts = first_ts.unwrap_or(0);
    Ok(w)
}

/// Attaches fd lists to the threads `snap.procs[start..]`, resolves their
/// parent thread ids to thread group ids and fills container ids.
fn finish_snapshot(snap: &mut Snapshot, start: usize, fds: &mut HashMap<u32, Vec<FdInfo>>) {
    let pid_of: HashMap<u32, u32> = snap.procs.iter().map(|p| (p.tid, p.pid)).collect();
    for p in snap.procs.iter_mut().skip(start) {
        if let Some(list) = fds.remove(&p.tid) {
            p.fds.extend(list);
        }
        if let Some(pp) = pid_of.get(&p.ppid) {
            p.ppid = *pp;
        }
        p.container_id = crate::state::container_id(&p.cgroup).to_string();
    }
}

/// The first pass: what the capture's metadata takes from the events, found
/// exactly as the converter would (same classification, same pairing).
#[derive(Debug, Default)]
pub(super) struct Prescan {
    /// Event type of each thread's pending enter.
    pending: Pending<u16>,
    /// Whether an enter/exit pair was seen (the capture then has latency).
    pub paired: bool,
    /// Non-syscall events by type.
    pub internal: TypeCounts,
    /// Container metadata, as JSON text.
    pub containers: Vec<String>,
}

impl Consumer for Prescan {
    fn start(&mut self, _: &[ProcInfo]) {}
    fn seed(&mut self, _: &[ProcInfo]) {}
    fn event(&mut self, _: &Block<'_>, ev: &RawEvent<'_>) -> Result<(), ScapError> {
        let info = ev.info();
        if info.flags & ef::UNUSED != 0 {
            return Ok(());
        }
        if info.category & ec::SYSCALL == 0 {
            self.internal.add(ev.etype);
            if info.name == "container" {
                self.containers.push(container_json(ev));
            }
            return Ok(());
        }
        if self.paired {
            return Ok(());
        }
        if ev.is_enter() && waits_for_exit(ev) {
            self.pending.insert(ev.tid, ev.etype);
        } else if !ev.is_enter() {
            self.paired =
                self.pending.remove(ev.tid).and_then(|t| t.checked_add(1)) == Some(ev.etype);
        }
        Ok(())
    }
}

/// Events counted by type (by index, no lookup per event), named at the
/// end: types that share a name (enter and exit) add up.
#[derive(Debug, Clone)]
pub(super) struct TypeCounts(Vec<u64>);

impl Default for TypeCounts {
    fn default() -> Self {
        TypeCounts(vec![0; EVENT_MAX])
    }
}

impl TypeCounts {
    /// Counts one event of type `etype` (a type the decoder yields).
    pub fn add(&mut self, etype: u16) {
        if let Some(n) = self.0.get_mut(usize::from(etype)) {
            *n += 1;
        }
    }
    /// The counts by event name.
    pub fn named(&self) -> Counts {
        let mut c = Counts::new();
        for (info, &n) in EVENTS.iter().zip(&self.0) {
            if n > 0 {
                *c.entry(info.name.to_string()).or_default() += n;
            }
        }
        c
    }
}
