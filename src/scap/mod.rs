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
//! [`import_into`] streams: nothing it holds grows with the number of
//! events. It walks the blocks twice, both passes at once on two threads
//! (a file within [`ImportOptions::single_pass`], 8 MiB by default, is
//! walked once on the calling thread instead: its records, which fit the
//! window anyway, are all kept until the end).
//! The first pass (`walk`) reads the metadata blocks and what the capture's
//! metadata needs from the events (later sections' threads, whether any
//! enter/exit pair exists, container and internal events), because the
//! capture writer puts the metadata before the first block. The second
//! converts each event as it is read and sends the records in batches to
//! the first thread, which, once its pass is done, hands them to the
//! writer (which compresses them block by block). Held at any time: the
//! snapshot (threads, fds, users), one pending enter per thread (a copy of
//! its block: the input may be a stream), the thread table, the
//! [`reorder`] window (at most [`ImportOptions::window`] bytes, 8 MiB by
//! default), the batches waiting for the metadata (at most 32 MiB: a full
//! queue holds the converter back) and the writer's current block. Records
//! can come out of time order only as unfinished records (an enter that
//! never got its exit, written with the enter's time when its thread
//! moves on or the file ends); the window sorts them back unless a younger
//! window's worth of records was released since, and then it writes them
//! next and counts them (`stats.late`).
//!
//! A plain file is read in place from the caller's bytes (a memory map:
//! its pages are the page cache's, not copies); [`import_into_releasing`]
//! tells the caller which bytes both passes are done with, so that
//! `source::import_mapped` drops those pages and the mapping never stays
//! resident as a whole. A gzip file is decoded as a stream once per pass,
//! one block at a time into a reused buffer; only a block claiming to be
//! longer than the rest of the file makes that buffer grow to the rest of
//! the file (bounded by `max_decompressed`), to report its truncation
//! exactly. What may grow is the output: commands that need an indexed
//! capture keep the converted one (compressed, about 7% of a plain
//! `.scap`) in memory, `saker convert` writes it to its file.
//! [`stream_records`] builds none: its caller takes each record as it is
//! converted (`saker read` prints them so, on its main thread, while the
//! converter runs on the other). [`import_with`] still gathers every
//! record in memory (tests, small files).

pub mod block;
pub mod convert;
pub mod detect;
mod error;
#[rustfmt::skip]
pub mod events_table;
mod flags;
pub mod parse;
mod pending;
mod pipeline;
mod plan;
pub mod reorder;
mod sock;
pub mod special;
pub mod state;
mod stream;
mod walk;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_golden;
#[cfg(test)]
mod tests_stream;
#[cfg(test)]
mod tests_synth;

use std::collections::HashMap;
use std::io::Write;

use serde::{Deserialize, Serialize};

use crate::capture::{CaptureMeta, CaptureWriter, FinishInfo, WriterOptions};
use crate::event::meta::Summary;
#[cfg(test)]
use crate::event::table::Syscalls;
use crate::event::wire::CODE_SPECIAL;
use block::{bt, is_event_block, Blocks};
use convert::Counts;
pub use detect::{detect, gunzip, gunzip_partial, FileKind, DEFAULT_MAX_DECOMPRESSED};
pub use error::ScapError;
use parse::{decode_event, Decoded, RawEvent};
pub use pipeline::Records;
use pipeline::{run, run_with, werr, WriterOut};

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
    /// Records written after a younger one: the reorder window was full
    /// when they came (see [`reorder`]); 0 means the records are in time order.
    pub late: u64,
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
    /// Budget of the reorder window in bytes (see [`reorder`]).
    pub window: usize,
    /// Size up to which a file is walked once, on the calling thread
    /// (gzip bytes count [`GZ_WEIGHT`] times): a file whose records fit the
    /// window has nothing to stream before its end, and one walk costs
    /// less than two threads walking it each. Larger files take the two
    /// passes on two threads (see `# Memory`).
    pub single_pass: u64,
    /// Syscall codes whose records keep only their header (code, time,
    /// thread, return value): no args, no enter time, no params, and `stats.flags_dropped`
    /// does not count them. For a reader that neither shows nor applies
    /// them (see [`Bare`]); empty by default.
    pub bare: Bare,
}

/// A set of syscall record codes (below [`CODE_SPECIAL`]), as bits.
///
/// `saker read` streams a `.scap` file to its printer and marks *bare* the
/// codes its filter cannot match and its state ignores: their records
/// still count (event numbers, `-n`) and still name their thread, but the
/// converter builds no args for them (as Falco's interesting-syscalls set
/// keeps such events from being decoded).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bare([u64; CODE_SPECIAL as usize / 64]);

impl Bare {
    /// Adds `code` (codes from [`CODE_SPECIAL`] up are never bare).
    pub fn insert(&mut self, code: u16) {
        if let Some(w) = self.0.get_mut(usize::from(code) / 64) {
            *w |= 1 << (code % 64);
        }
    }
    /// Whether `code` is in the set.
    #[inline]
    pub fn contains(&self, code: u16) -> bool {
        self.0
            .get(usize::from(code) / 64)
            .is_some_and(|w| w & (1 << (code % 64)) != 0)
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// How much one compressed byte counts against [`ImportOptions::single_pass`]
/// (about the ratio of gzip on a scap file).
pub const GZ_WEIGHT: u64 = 8;

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            window: reorder::DEFAULT_WINDOW,
            single_pass: reorder::DEFAULT_WINDOW as u64,
            bare: Bare::default(),
        }
    }
}

/// Imports a scap capture (plain or gzip) with default limits.
pub fn import(bytes: &[u8]) -> Result<ScapImport, ScapError> {
    import_with(bytes, ImportOptions::default())
}

/// Imports a scap capture (plain or gzip), keeping every record in memory
/// (tests, small files; [`import_into`] streams). A truncated or corrupt
/// file yields `Ok` with every event before the bad spot and
/// `stats.truncation` set; only a file that is not scap at all is an `Err`.
pub fn import_with(bytes: &[u8], opts: ImportOptions) -> Result<ScapImport, ScapError> {
    let mut records = Vec::new();
    let (meta, stats) = run(bytes, opts, &mut records, &mut |_| {})?;
    Ok(ScapImport {
        meta,
        records,
        stats,
    })
}

/// What [`import_into`] wrote.
#[derive(Debug)]
pub struct Imported<W> {
    /// The capture's metadata.
    pub meta: CaptureMeta,
    /// Counters; `truncation` is set when the file ended early.
    pub stats: ImportStats,
    /// What the capture writer wrote.
    pub info: FinishInfo,
    /// The io writer, handed back.
    pub out: W,
}

/// Imports a scap capture (plain or gzip) straight into a saker capture
/// written to `out`, block by block (see the module's `# Memory`). Same
/// results as [`import_with`] followed by [`to_capture`].
pub fn import_into<W: Write>(
    bytes: &[u8],
    opts: ImportOptions,
    wopts: WriterOptions,
    out: W,
) -> Result<Imported<W>, ScapError> {
    import_into_releasing(bytes, opts, wopts, out, &mut |_| {})
}

/// [`import_into`], calling `release(n)` every few MiB of input once both
/// passes are done with the first `n` bytes of `bytes` (`n` only grows). A
/// caller that mapped the file can drop those pages, so
/// that the mapping does not stay resident as a whole.
pub fn import_into_releasing<W: Write>(
    bytes: &[u8],
    opts: ImportOptions,
    wopts: WriterOptions,
    out: W,
    release: &mut dyn FnMut(u64),
) -> Result<Imported<W>, ScapError> {
    let mut w = WriterOut::Pending(Some((out, wopts)));
    let (meta, stats) = run(bytes, opts, &mut w, release)?;
    let summary = Summary {
        events: stats.records,
        stop_reason: "scap import".into(),
        ..Summary::default()
    };
    let WriterOut::Writing(w) = w else {
        // `run` begins the output before its first record or returns an error.
        return Err(ScapError::Write {
            reason: "the import ended without beginning its output".into(),
        });
    };
    let w = *w;
    let (info, out) = w.finish_into(&summary).map_err(werr)?;
    Ok(Imported {
        meta,
        stats,
        info,
        out,
    })
}

/// Imports a scap capture (plain or gzip) without writing a capture:
/// `consume` gets the metadata, then takes the records from [`Records`]
/// as the converting thread makes them, in the order [`import_into`]
/// writes them; its result is returned with the metadata and the stats.
/// Converting and consuming run at once (a file within
/// [`ImportOptions::single_pass`] is converted first, on this thread). A
/// `consume` that returns early stops the import; the stats then count
/// the blocks as the first pass walked them, and records only for a file
/// converted first. `release` is as for [`import_into_releasing`].
pub fn stream_records<T>(
    bytes: &[u8],
    opts: ImportOptions,
    release: &mut dyn FnMut(u64),
    consume: impl FnOnce(&CaptureMeta, &mut Records<'_>) -> T,
) -> Result<(CaptureMeta, ImportStats, T), ScapError> {
    run_with(bytes, opts, release, consume)
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

/// Writes an import as a saker capture (in memory).
pub fn to_capture(imp: &ScapImport, opts: WriterOptions) -> Result<Vec<u8>, ScapError> {
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
