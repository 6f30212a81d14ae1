//! Import of sysdig/Falco `.scap` captures (falcosecurity/libs savefile
//! format 1.0–1.2, plain or gzip) into our event model: a [`CaptureMeta`]
//! (machine, config, syscall table, snapshot) plus time-ordered wire records.
//!
//! Phases: [`detect`] the file by magic, gunzip (bounded), walk the blocks
//! ([`block`]), decode metadata ([`state`]) and events ([`parse`], with the
//! generated libs table in [`events_table`]), then map events onto records
//! ([`convert`], [`special`]). Everything is pure: no I/O; callers mmap or
//! read the file. The layout is described in `/work/shared/docs/scap-format.md`.
//!
//! # Timestamps
//! scap events carry ns since the epoch. Records keep that value unchanged
//! as their `ts`, and [`Machine::boottime_to_epoch_ns`] is 0, so `evt.time`
//! is exact; `Machine::boot_time_ns` holds MI's boot time (0 in old files).
//!
//! # Blocks after the events start
//! As libscap: before the first event block, metadata blocks of unknown
//! type are skipped by their length (`skipped_blocks`). Once events have
//! started, only event blocks or a new section header (a concatenated
//! capture) may follow; any other block, metadata ones (PL, FDL...)
//! included, ends the event stream with [`ScapError::UnexpectedBlock`] in
//! `stats.truncation` (libscap's restart finds no section header and
//! fails). A later section's metadata is read: its process list adds the
//! threads we do not track yet (to the snapshot too), fds, users and
//! interfaces are merged, its machine info is ignored.
//!
//! # Drops and state-only events
//! `drop>`/`drop<` mark a CPU's dropping period; each period becomes one
//! DROP gap of count 1, a lower bound, since the markers carry only the
//! sampling ratio (`stats.drop_periods`). EVF events flagged
//! `SCAP_DF_STATE_ONLY` produce no syscall record (libs hides them); their
//! thread effects (EXEC, FORK, EXIT records) are kept. Their fd effects are
//! lost: our wire format has no "state only" record flag.
//!
//! # What is lossy
//! See [`ImportStats`] and the `convert`/`special` docs: libs-encoded flags
//! without a translation table become 0 (`flags_dropped`), internal events
//! (procinfo, switch, ...) are counted, not kept; container metadata goes to
//! the extra section [`KIND_SCAP`]. Socket tuples of accept/connect keep
//! both ends: the peer as the address param, the local end as a second
//! Sockaddr param on the same argument (an IPv4-mapped pair as IPv4).
//!
//! # Memory
//! The import is not streamed yet: the `.scap` bytes (decompressed for
//! gzip) and the converted records are both held until the records are
//! written as our (compressed) format; the file's bytes are freed then.

pub mod block;
pub mod convert;
pub mod detect;
mod error;
#[rustfmt::skip]
pub mod events_table;
mod flags;
pub mod parse;
mod sock;
pub mod special;
pub mod state;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_golden;
#[cfg(test)]
mod tests_synth;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::capture::{CaptureMeta, CaptureWriter, WriterOptions};
use crate::event::meta::{RecorderConfig, Snapshot, Summary};
use crate::event::table::Syscalls;
use block::{bt, is_event_block, parse_shb, pl_version, Blocks};
use convert::{Converter, Counts};
pub use detect::{detect, gunzip, gunzip_partial, FileKind, DEFAULT_MAX_DECOMPRESSED};
pub use error::ScapError;
use parse::{decode_event, Decoded, RawEvent};

/// Section kind of the import's extra metadata ([`ScapExtra`] as JSON).
pub const KIND_SCAP: u32 = 0x5343_4150;
/// `RecorderConfig::producer` of imported captures.
pub const PRODUCER: &str = "scap import (sysdig/falco)";

/// Counters describing an import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportStats {
    /// Event blocks in the file (before pairing, internal events included).
    pub raw_events: u64,
    /// Events with the old header without nparams.
    pub v1_events: u64,
    /// Records produced.
    pub records: u64,
    /// Enter/exit pairs merged into one record.
    pub paired: u64,
    /// Records flagged `F_UNFINISHED` (an enter without its exit).
    pub unfinished: u64,
    /// Of those, enters followed by another event of the same thread.
    pub enter_without_exit: u64,
    /// Exits whose enter was not in the capture.
    pub exit_without_enter: u64,
    /// Events of a type beyond the libs table (skipped, as libscap does).
    pub unknown_types: u64,
    /// Events of a type the table marks unused (skipped).
    pub unused_types: u64,
    /// Blocks of unknown type (skipped).
    pub skipped_blocks: u64,
    /// Section headers (more than 1: concatenated captures).
    pub sections: u64,
    /// Threads seen in events with no process-list entry or fork.
    pub unknown_threads: u64,
    /// Events flagged state-only (`SCAP_DF_STATE_ONLY`).
    pub state_only: u64,
    /// Of those, syscall events hidden (no record; their thread effects kept).
    pub state_only_hidden: u64,
    /// Dropping periods (`drop` markers) recorded as gaps.
    pub drop_periods: u64,
    /// Flag args whose libs encoding we cannot translate (stored as 0).
    pub flags_dropped: u64,
    /// Syscall events whose name is not in our table, by name (dropped).
    pub unmapped: Counts,
    /// Non-syscall events by name (procinfo, switch, container...).
    pub internal: Counts,
    /// The error that ended the import early, when the file is truncated or corrupt.
    pub truncation: Option<ScapError>,
}

/// Extra metadata an import keeps beyond our model (section [`KIND_SCAP`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScapExtra {
    /// scap format version of the (first) section header, `major.minor`.
    pub scap_version: String,
    /// libs event table used to decode (commit).
    pub libs_table: String,
    /// Network interfaces (IL block).
    pub interfaces: Vec<state::Interface>,
    /// Container metadata events, as JSON text.
    pub containers: Vec<String>,
    /// Internal event counts by name.
    pub internal_events: Counts,
}

/// What a capture's container metadata events say about one container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerMeta {
    /// Short (12-character) id, as `container.id`.
    pub id: String,
    /// Name (`container.name`).
    pub name: String,
    /// Image (`container.image`).
    pub image: String,
    /// Image repository (`container.image.repository`).
    pub repo: String,
    /// Image tag (`container.image.tag`).
    pub tag: String,
    /// Image id (`container.image.id`).
    pub image_id: String,
    /// Whether it runs privileged, when the metadata says.
    pub privileged: Option<bool>,
}

/// The containers an imported capture describes (its [`KIND_SCAP`] extra
/// section), by id. Later events for an id replace earlier ones, except that
/// an `incomplete` placeholder (written before the runtime answered) never
/// replaces a complete description. Empty for our own captures.
pub fn containers(meta: &CaptureMeta) -> HashMap<String, ContainerMeta> {
    let mut out: HashMap<String, ContainerMeta> = HashMap::new();
    let Some(extra) = meta
        .extra
        .iter()
        .find(|(k, _)| *k == KIND_SCAP)
        .and_then(|(_, b)| serde_json::from_slice::<ScapExtra>(b).ok())
    else {
        return out;
    };
    for j in &extra.containers {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(j) else {
            continue;
        };
        let c = &v["container"];
        let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
        let m = ContainerMeta {
            id: s("id"),
            name: s("name"),
            image: s("image"),
            repo: s("imagerepo"),
            tag: s("imagetag"),
            image_id: s("imageid"),
            privileged: c["privileged"].as_bool(),
        };
        if m.id.is_empty() {
            continue;
        }
        let incomplete = m.name == "incomplete" || m.image == "incomplete";
        match out.get(&m.id) {
            Some(old) if incomplete && old.name != "incomplete" => {}
            _ => {
                out.insert(m.id.clone(), m);
            }
        }
    }
    out
}

/// The result of an import.
#[derive(Debug, Clone)]
pub struct ScapImport {
    /// Machine, config, syscall table (default x86_64) and snapshot.
    pub meta: CaptureMeta,
    /// Concatenated wire records in time order.
    pub records: Vec<u8>,
    /// Counters; `truncation` is set when the file ended early.
    pub stats: ImportStats,
}

/// Import limits.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// Cap on decompressed bytes of a gzip file.
    pub max_decompressed: u64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

/// Imports a scap capture (plain or gzip) with default limits.
pub fn import(bytes: &[u8]) -> Result<ScapImport, ScapError> {
    import_with(bytes, ImportOptions::default())
}

/// Imports a scap capture (plain or gzip). A truncated or corrupt file
/// yields `Ok` with every event before the bad spot and
/// `stats.truncation` set; only a file that is not scap at all is an `Err`.
pub fn import_with(bytes: &[u8], opts: ImportOptions) -> Result<ScapImport, ScapError> {
    match detect(bytes) {
        FileKind::Scap => import_raw(bytes),
        FileKind::Gzip => {
            let (raw, gz_err) = gunzip_partial(bytes, opts.max_decompressed)?;
            if detect(&raw) != FileKind::Scap {
                return Err(gz_err.unwrap_or_else(|| ScapError::NotScap {
                    reason: "gzip content does not start with a scap section header".into(),
                }));
            }
            let mut imp = import_raw(&raw)?;
            if imp.stats.truncation.is_none() {
                imp.stats.truncation = gz_err;
            }
            Ok(imp)
        }
        FileKind::Saker => Err(ScapError::NotScap {
            reason: "this is a saker capture".into(),
        }),
        FileKind::Unknown => Err(ScapError::NotScap {
            reason: format!("unknown magic {:02x?}", &bytes[..bytes.len().min(8)]),
        }),
    }
}

/// Iterates the raw events of an uncompressed scap file, in file order,
/// skipping metadata blocks and unknown event types; stops after the first
/// error, and (as libscap) at a non-event block other than a section header
/// once events have started.
pub fn events(raw: &[u8]) -> impl Iterator<Item = Result<RawEvent<'_>, ScapError>> {
    let (mut failed, mut in_events) = (false, false);
    Blocks::new(raw).filter_map(move |b| {
        if failed {
            return None;
        }
        let r = b.and_then(|b| {
            if !is_event_block(b.btype) {
                if in_events && b.btype != bt::SHB {
                    return Err(ScapError::UnexpectedBlock {
                        offset: b.offset,
                        block_type: b.btype,
                    });
                }
                in_events = in_events && b.btype != bt::SHB;
                return Ok(None);
            }
            in_events = true;
            match decode_event(&b)? {
                Decoded::Event(e) => Ok(Some(e)),
                Decoded::UnknownType(_) => Ok(None),
            }
        });
        failed = r.is_err();
        r.transpose()
    })
}

/// Imports an uncompressed scap file.
fn import_raw(raw: &[u8]) -> Result<ScapImport, ScapError> {
    let mut blocks = Blocks::new(raw);
    let first = blocks.next().ok_or_else(|| ScapError::NotScap {
        reason: "empty file".into(),
    })??;
    if first.btype != bt::SHB {
        return Err(ScapError::NoSectionHeader {
            offset: 0,
            block_type: first.btype,
        });
    }
    let shb = parse_shb(&first)?;
    let mut meta = CaptureMeta::default();
    let mut extra = ScapExtra {
        scap_version: format!("{}.{}", shb.major, shb.minor),
        libs_table: events_table::LIBS_COMMIT.into(),
        ..ScapExtra::default()
    };
    let mut snap = Snapshot::default();
    let mut fds: HashMap<u32, Vec<crate::event::meta::FdInfo>> = HashMap::new();
    let mut conv: Option<Converter<'_>> = None;
    let (mut sections, mut skipped, mut unknown_types, mut raw_events, mut v1, mut state_only) =
        (1u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut first_ts = None;
    let mut truncation = None;
    // Whether an event block came after the last section header: from then
    // on only events or a new section header may follow (libscap).
    let mut in_events = false;
    // Process-list entries of a later section, merged at its first event.
    let mut later: Vec<crate::event::meta::ProcInfo> = Vec::new();
    for b in blocks {
        let res = (|| -> Result<(), ScapError> {
            let b = b?;
            if is_event_block(b.btype) {
                raw_events += 1;
                in_events = true;
                let c = match conv.as_mut() {
                    Some(c) => {
                        if !later.is_empty() {
                            let start = snap.procs.len();
                            let known: std::collections::HashSet<u32> =
                                snap.procs.iter().map(|p| p.tid).collect();
                            snap.procs
                                .extend(later.drain(..).filter(|p| !known.contains(&p.tid)));
                            finish_snapshot(&mut snap, start, &mut fds);
                            c.threads.seed(&snap.procs[start..]);
                        }
                        c
                    }
                    None => {
                        finish_snapshot(&mut snap, 0, &mut fds);
                        conv.insert(Converter::new(&snap.procs))
                    }
                };
                match decode_event(&b)? {
                    Decoded::Event(e) => {
                        v1 += u64::from(e.v1);
                        state_only += u64::from(e.flags & convert::SCAP_DF_STATE_ONLY != 0);
                        if e.ts != 0 && first_ts.is_none() {
                            first_ts = Some(e.ts);
                        }
                        c.push(e);
                    }
                    Decoded::UnknownType(_) => unknown_types += 1,
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
                    sections += 1;
                    in_events = false;
                }
                // The first section's machine describes the capture.
                bt::MI | bt::MI_INT if conv.is_none() => meta.machine = state::parse_mi(&b)?,
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
                        if !extra.interfaces.contains(&i) {
                            extra.interfaces.push(i);
                        }
                    }
                }
                t => match pl_version(t) {
                    Some(v) if conv.is_none() => snap.procs.extend(state::parse_pl(&b, v)?),
                    // A later section (concatenated captures) adds the
                    // threads it describes that we do not track yet.
                    Some(v) => later.extend(state::parse_pl(&b, v)?),
                    // Unknown metadata: skipped by its length, as libscap does.
                    None => skipped += 1,
                },
            }
            Ok(())
        })();
        if let Err(e) = res {
            truncation = Some(e);
            break;
        }
    }
    let conv = conv.unwrap_or_else(|| {
        finish_snapshot(&mut snap, 0, &mut fds);
        Converter::new(&snap.procs)
    });
    let (sink, mut stats, containers, _threads) = conv.finish();
    stats.raw_events = raw_events;
    stats.v1_events = v1;
    stats.state_only = state_only;
    stats.sections = sections;
    stats.skipped_blocks = skipped;
    stats.unknown_types = unknown_types;
    stats.truncation = truncation;
    snap.ts = first_ts.unwrap_or(0);
    extra.containers = containers;
    extra.internal_events = stats.internal.clone();
    meta.machine.boottime_to_epoch_ns = 0;
    meta.config = RecorderConfig {
        producer: PRODUCER.into(),
        // Paired records carry the enter's time (F_ENTER_TS): latency
        // chisels work as on a `record --latency` capture.
        latency: stats.paired > 0,
        ..RecorderConfig::default()
    };
    meta.syscalls = Syscalls::default_x86_64().table().clone();
    meta.snapshot = snap;
    let extra_json = serde_json::to_vec(&extra).map_err(|e| ScapError::Write {
        reason: e.to_string(),
    })?;
    meta.extra = vec![(KIND_SCAP, extra_json)];
    Ok(ScapImport {
        meta,
        records: sink.into_sorted(),
        stats,
    })
}

/// Attaches fd lists to the threads `snap.procs[start..]`, resolves their
/// parent thread ids to thread group ids and fills container ids.
fn finish_snapshot(
    snap: &mut Snapshot,
    start: usize,
    fds: &mut HashMap<u32, Vec<crate::event::meta::FdInfo>>,
) {
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

/// Writes an import as a saker capture (in memory).
pub fn to_capture(imp: &ScapImport, opts: WriterOptions) -> Result<Vec<u8>, ScapError> {
    let werr = |e: crate::capture::CaptureError| ScapError::Write {
        reason: e.to_string(),
    };
    let mut w = CaptureWriter::new(Vec::new(), &imp.meta, opts).map_err(werr)?;
    w.push_batch(&imp.records).map_err(werr)?;
    let summary = Summary {
        events: imp.stats.records,
        stop_reason: "scap import".into(),
        ..Summary::default()
    };
    let (_, bytes) = w.finish_into(&summary).map_err(werr)?;
    Ok(bytes)
}
