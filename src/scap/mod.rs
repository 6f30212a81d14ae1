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
//! # What is lossy
//! See [`ImportStats`] and the `convert`/`special` docs: libs-encoded flags
//! without a translation table become 0 (`flags_dropped`), socket tuples keep
//! only the peer end, internal events (procinfo, switch, ...) are counted,
//! not kept; container metadata goes to the extra section [`KIND_SCAP`].

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

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::capture::{CaptureMeta, CaptureWriter, WriterOptions};
use crate::event::meta::{RecorderConfig, Snapshot, Summary};
use crate::event::table::Syscalls;
use block::{bt, is_event_block, parse_shb, pl_version, Blocks};
use convert::{Converter, Counts};
pub use detect::{detect, gunzip, FileKind, DEFAULT_MAX_DECOMPRESSED};
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

/// gunzip keeping what came out before a decoding error.
fn gunzip_partial(bytes: &[u8], limit: u64) -> Result<(Vec<u8>, Option<ScapError>), ScapError> {
    use std::io::Read;
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(bytes).take(limit.saturating_add(1));
    let err = dec.read_to_end(&mut out).err();
    if out.len() as u64 > limit {
        return Err(ScapError::TooLarge { limit });
    }
    let err = err.map(|e| ScapError::Gzip {
        reason: e.to_string(),
        decompressed: out.len() as u64,
    });
    Ok((out, err))
}

/// Iterates the raw events of an uncompressed scap file, in file order,
/// skipping metadata blocks and unknown event types; stops after the first error.
pub fn events(raw: &[u8]) -> impl Iterator<Item = Result<RawEvent<'_>, ScapError>> {
    let mut failed = false;
    Blocks::new(raw).filter_map(move |b| {
        if failed {
            return None;
        }
        let r = b.and_then(|b| {
            if !is_event_block(b.btype) {
                return Ok(None);
            }
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
    for b in blocks {
        let res = (|| -> Result<(), ScapError> {
            let b = b?;
            if is_event_block(b.btype) {
                raw_events += 1;
                let c = conv.get_or_insert_with(|| {
                    finish_snapshot(&mut snap, &mut fds);
                    Converter::new(&snap.procs)
                });
                match decode_event(&b)? {
                    Decoded::Event(e) => {
                        v1 += u64::from(e.v1);
                        state_only += u64::from(e.flags & 1 != 0);
                        if e.ts != 0 && first_ts.is_none() {
                            first_ts = Some(e.ts);
                        }
                        c.push(e);
                    }
                    Decoded::UnknownType(_) => unknown_types += 1,
                }
                return Ok(());
            }
            match b.btype {
                bt::SHB => {
                    parse_shb(&b)?;
                    sections += 1;
                }
                bt::MI | bt::MI_INT => meta.machine = state::parse_mi(&b)?,
                bt::FDL | bt::FDL_INT | bt::FDL_V2 => {
                    let (tid, list) = state::parse_fdl(&b, b.btype == bt::FDL_V2)?;
                    fds.entry(tid).or_default().extend(list);
                }
                bt::UL | bt::UL_INT | bt::UL_V2 => {
                    let (u, g) = state::parse_ul(&b, b.btype == bt::UL_V2)?;
                    snap.users.extend(u);
                    snap.groups.extend(g);
                }
                bt::IL | bt::IL_INT | bt::IL_V2 => extra
                    .interfaces
                    .extend(state::parse_il(&b, b.btype == bt::IL_V2)?),
                t => match pl_version(t) {
                    // Process lists after events started (concatenated
                    // captures) only describe threads we already track.
                    Some(v) if conv.is_none() => snap.procs.extend(state::parse_pl(&b, v)?),
                    Some(_) => skipped += 1,
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
        finish_snapshot(&mut snap, &mut fds);
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

/// Attaches fd lists to their threads, resolves parent thread ids to
/// thread group ids and fills container ids.
fn finish_snapshot(snap: &mut Snapshot, fds: &mut HashMap<u32, Vec<crate::event::meta::FdInfo>>) {
    let pid_of: HashMap<u32, u32> = snap.procs.iter().map(|p| (p.tid, p.pid)).collect();
    for p in &mut snap.procs {
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
