//! The import's plumbing: where records go ([`Out`]: memory or a capture
//! writer), the two passes over the blocks, and the metadata the first
//! pass builds (see the module's `# Memory`).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::convert::Converter;
use super::parse::RawEvent;
use super::reorder::Reorder;
use super::stream::{self, gz_head, BlockSource};
use super::walk::{self, Consumer};
use super::{
    block, detect, events_table, special, FileKind, ImportOptions, ImportStats, ScapError,
    ScapExtra, KIND_SCAP, PRODUCER,
};
use crate::capture::{CaptureMeta, CaptureWriter, WriterOptions};
use crate::event::meta::{ProcInfo, RecorderConfig};
use crate::event::table::Syscalls;

pub(super) fn werr(e: crate::capture::CaptureError) -> ScapError {
    ScapError::Write {
        reason: e.to_string(),
    }
}

/// Where converted records go: told the metadata first, then each record.
pub(super) trait Out {
    fn begin(&mut self, meta: &CaptureMeta) -> Result<(), ScapError>;
    fn record(&mut self, rec: &[u8]) -> Result<(), ScapError>;
}

/// Records concatenated in memory.
impl Out for Vec<u8> {
    fn begin(&mut self, _: &CaptureMeta) -> Result<(), ScapError> {
        Ok(())
    }
    fn record(&mut self, rec: &[u8]) -> Result<(), ScapError> {
        self.extend_from_slice(rec);
        Ok(())
    }
}

/// A capture writer, created once the metadata is known.
pub(super) enum WriterOut<W: Write> {
    Pending(Option<(W, WriterOptions)>),
    Writing(Box<CaptureWriter<W>>),
}

impl<W: Write> Out for WriterOut<W> {
    fn begin(&mut self, meta: &CaptureMeta) -> Result<(), ScapError> {
        if let WriterOut::Pending(p) = self {
            if let Some((w, o)) = p.take() {
                *self = WriterOut::Writing(Box::new(CaptureWriter::new(w, meta, o).map_err(werr)?));
            }
        }
        Ok(())
    }
    fn record(&mut self, rec: &[u8]) -> Result<(), ScapError> {
        match self {
            WriterOut::Writing(w) => w.push(rec).map_err(werr),
            WriterOut::Pending(_) => Err(ScapError::Write {
                reason: "a record before the capture's metadata".into(),
            }),
        }
    }
}

/// Detects and imports `bytes` into `out`; gzip is decoded as a stream,
/// once per pass, at most `opts.max_decompressed` bytes. `release` is
/// told which input bytes both passes are done with (see `walk::walk`).
pub(super) fn run(
    bytes: &[u8],
    opts: ImportOptions,
    out: &mut dyn Out,
    release: &mut dyn FnMut(u64),
) -> Result<(CaptureMeta, ImportStats), ScapError> {
    let (meta, stats, r) = run_with(bytes, opts, release, |meta, recs| {
        out.begin(meta)?;
        while let Some(r) = recs.next() {
            out.record(r)?;
        }
        Ok(())
    })?;
    r?;
    Ok((meta, stats))
}

/// Detects `bytes` and imports them, handing the metadata and the records,
/// as they are converted, to `consume`, whose result is returned.
pub(super) fn run_with<T>(
    bytes: &[u8],
    opts: ImportOptions,
    release: &mut dyn FnMut(u64),
    consume: impl FnOnce(&CaptureMeta, &mut Records<'_>) -> T,
) -> Result<(CaptureMeta, ImportStats, T), ScapError> {
    let len = bytes.len() as u64;
    match detect(bytes) {
        FileKind::Scap => run_any(
            &mut || block::Blocks::new(bytes),
            len <= opts.single_pass,
            opts,
            release,
            consume,
        ),
        FileKind::Gzip => {
            gz_head(bytes, opts.max_decompressed)?;
            let limit = opts.max_decompressed;
            run_any(
                &mut || stream::GzBlocks::new(bytes, limit),
                len.saturating_mul(super::GZ_WEIGHT) <= opts.single_pass,
                opts,
                release,
                consume,
            )
        }
        FileKind::Saker => Err(ScapError::NotScap {
            reason: "this is a saker capture".into(),
        }),
        FileKind::Unknown => Err(ScapError::NotScap {
            reason: format!("unknown magic {:02x?}", &bytes[..bytes.len().min(8)]),
        }),
    }
}

/// Imports the blocks `open` yields in one pass on this thread
/// ([`run_single`]) or in two on two threads ([`run_passes`]).
fn run_any<S: BlockSource + Send, T>(
    open: &mut dyn FnMut() -> S,
    single: bool,
    opts: ImportOptions,
    release: &mut dyn FnMut(u64),
    consume: impl FnOnce(&CaptureMeta, &mut Records<'_>) -> T,
) -> Result<(CaptureMeta, ImportStats, T), ScapError> {
    if single {
        run_single(open(), opts, release, consume)
    } else {
        run_passes(open, opts, release, consume)
    }
}

/// The converter `opts` ask for: its window's budget and bare codes.
fn new_converter(opts: &ImportOptions) -> Converter {
    let mut c = Converter::new(&[], opts.window);
    c.bare = opts.bare;
    c
}

/// The records of an import, in the order it writes them, as the
/// converting thread sends them (see [`super::stream_records`]).
pub struct Records<'a> {
    rx: std::sync::mpsc::Receiver<Batch>,
    /// Where read batches go back to the converter.
    spent: std::sync::mpsc::Sender<Batch>,
    batch: Batch,
    /// Index of the next record's span in `batch.spans`.
    at: usize,
    /// Called before each wait for a batch (releases input pages).
    on_batch: &'a mut dyn FnMut(),
    /// Whether every record was taken (the converter finished).
    drained: bool,
}

impl Records<'_> {
    /// The next record's bytes (one wire record); `None` at the end.
    #[allow(clippy::should_implement_trait)] // lending: the record borrows the batch
    pub fn next(&mut self) -> Option<&[u8]> {
        while self.at >= self.batch.spans.len() {
            if self.drained {
                return None;
            }
            (self.on_batch)();
            match self.rx.recv() {
                Ok(b) => {
                    // The converter may be gone: then the batch is dropped.
                    let _ = self.spent.send(std::mem::replace(&mut self.batch, b));
                    self.at = 0;
                }
                Err(_) => {
                    self.drained = true;
                    return None;
                }
            }
        }
        let (from, end) = self.batch.spans[self.at];
        self.at += 1;
        self.batch.data.get(from..end)
    }
}

/// Converted records, concatenated, sent from the converting thread.
#[derive(Default)]
struct Batch {
    data: Vec<u8>,
    /// Where each record is in `data`, in order.
    spans: Vec<(usize, usize)>,
}

impl Batch {
    /// Appends the oldest record of `window` if it is over its budget;
    /// whether it did.
    fn add_over(&mut self, window: &mut Reorder) -> bool {
        self.add(|data| window.pop_over_into(data))
    }

    /// Appends every record `window` still holds (at the end); into an
    /// empty batch they move without a copy ([`Reorder::take_all`]).
    fn drain(&mut self, window: &mut Reorder) {
        if self.data.is_empty() {
            (self.data, self.spans) = window.take_all();
            return;
        }
        while self.add(|data| window.pop_into(data)) {}
    }

    /// Appends the record `pop` appends to `data`, if it does; whether it did.
    fn add(&mut self, pop: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        let start = self.data.len();
        let added = pop(&mut self.data);
        if added {
            self.spans.push((start, self.data.len()));
        }
        added
    }
}

/// The converter's error once the writing side is gone (which reports why).
fn abandoned() -> ScapError {
    ScapError::Write {
        reason: "the import was abandoned".into(),
    }
}

/// A batch is sent once it holds this many bytes.
const BATCH_BYTES: usize = 256 << 10;
/// Batches in flight: at most 32 MiB of records wait for the metadata.
const BATCHES: usize = 128;

/// The converter as the second pass's consumer: the records the window
/// releases go out in batches.
struct Streaming {
    conv: Converter,
    batch: Batch,
    tx: std::sync::mpsc::SyncSender<Batch>,
    /// Batches the consumer is done with, for reuse (no fresh pages).
    spent: std::sync::mpsc::Receiver<Batch>,
}

impl Streaming {
    /// Sends the current batch.
    fn flush(&mut self) -> Result<(), ScapError> {
        let mut next = self.spent.try_recv().unwrap_or_else(|_| Batch {
            data: Vec::with_capacity(BATCH_BYTES + (4 << 10)),
            spans: Vec::new(),
        });
        next.data.clear();
        next.spans.clear();
        let full = std::mem::replace(&mut self.batch, next);
        self.tx.send(full).map_err(|_| abandoned())
    }
    /// Sends the batch once it is full.
    fn sent_if_full(&mut self) -> Result<(), ScapError> {
        if self.batch.data.len() >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }
}

impl Consumer for Streaming {
    fn start(&mut self, procs: &[ProcInfo]) {
        self.conv.threads = special::Threads::from_snapshot(procs);
    }
    fn seed(&mut self, procs: &[ProcInfo]) {
        self.conv.threads.seed(procs);
    }
    fn event(&mut self, _: &block::Block<'_>, e: &RawEvent<'_>) -> Result<(), ScapError> {
        self.conv.push(e);
        while self.batch.add_over(&mut self.conv.out) {
            self.sent_if_full()?;
        }
        Ok(())
    }
}

/// Both passes in one: the metadata scan and the converter see each event
/// in turn; released records are kept in one batch.
struct Single {
    scan: walk::Prescan,
    conv: Converter,
    batch: Batch,
}

impl Consumer for Single {
    fn start(&mut self, procs: &[ProcInfo]) {
        self.conv.threads = special::Threads::from_snapshot(procs);
    }
    fn seed(&mut self, procs: &[ProcInfo]) {
        self.conv.threads.seed(procs);
    }
    fn event(&mut self, b: &block::Block<'_>, e: &RawEvent<'_>) -> Result<(), ScapError> {
        self.scan.event(b, e)?;
        self.conv.push(e);
        while self.batch.add_over(&mut self.conv.out) {}
        Ok(())
    }
}

/// Imports a small file in one walk on the calling thread: the metadata
/// and every record are ready before `consume` starts (no thread to start
/// or wake, and each event decoded once). The same records, metadata and
/// stats as [`run_passes`].
fn run_single<S: BlockSource, T>(
    mut src: S,
    opts: ImportOptions,
    release: &mut dyn FnMut(u64),
    consume: impl FnOnce(&CaptureMeta, &mut Records<'_>) -> T,
) -> Result<(CaptureMeta, ImportStats, T), ScapError> {
    let mut one = Single {
        scan: walk::Prescan::default(),
        conv: new_converter(&opts),
        batch: Batch::default(),
    };
    // What was released last; only more is released.
    let mut last = 0;
    let mut release_more = |n: u64| {
        if n > last {
            release(n);
            last = n;
        }
    };
    let mut w = walk::walk(&mut src, &mut one, &mut release_more)?;
    // Records and pending enters are copies: no input byte is needed now.
    release_more(src.consumed());
    let Single {
        scan,
        conv,
        mut batch,
    } = one;
    let (mut rest, mut stats, _, _) = conv.finish();
    batch.drain(&mut rest);
    let walked = std::mem::take(&mut w.stats);
    let meta = meta_of(w, scan)?;
    // No converter: the batch is all there is (the channel is closed).
    let (spent, _) = std::sync::mpsc::channel();
    let (_, rx) = std::sync::mpsc::channel();
    let mut records = Records {
        rx,
        spent,
        batch,
        at: 0,
        on_batch: &mut || {},
        drained: false,
    };
    let result = consume(&meta, &mut records);
    add_walked(&mut stats, walked);
    Ok((meta, stats, result))
}

/// The walk's block-level counters, into the converter's stats.
fn add_walked(stats: &mut ImportStats, w: ImportStats) {
    stats.raw_events = w.raw_events;
    stats.v1_events = w.v1_events;
    stats.state_only = w.state_only;
    stats.sections = w.sections;
    stats.skipped_blocks = w.skipped_blocks;
    stats.unknown_types = w.unknown_types;
    stats.truncation = w.truncation;
}

/// Input position of each pass, for releasing only what both are done with.
struct Progress {
    first: AtomicU64,
    second: AtomicU64,
}

impl Progress {
    fn both(&self) -> u64 {
        self.first
            .load(Ordering::Relaxed)
            .min(self.second.load(Ordering::Relaxed))
    }
}

/// Imports a scap file in two passes over the blocks `open` yields, run
/// at once on two threads: the first builds the metadata (which must come
/// before any record), then hands it and the records the second converts
/// to `consume`. Converted records wait for the metadata in a bounded
/// queue ([`BATCHES`] of [`BATCH_BYTES`]); a full queue holds the
/// converter back. `release` is told what both passes are done with. A
/// `consume` that returns before the last record stops the converter.
fn run_passes<S: BlockSource + Send, T>(
    open: &mut dyn FnMut() -> S,
    opts: ImportOptions,
    release: &mut dyn FnMut(u64),
    consume: impl FnOnce(&CaptureMeta, &mut Records<'_>) -> T,
) -> Result<(CaptureMeta, ImportStats, T), ScapError> {
    let (mut src1, mut src2) = (open(), open());
    let progress = Progress {
        first: AtomicU64::new(0),
        second: AtomicU64::new(0),
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES);
    let (spent_tx, spent_rx) = std::sync::mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let p = &progress;
        let converter = std::thread::Builder::new().name("scap-convert".into());
        let second = converter.spawn_scoped(scope, move || {
            let mut s = Streaming {
                conv: new_converter(&opts),
                batch: Batch::default(),
                tx,
                spent: spent_rx,
            };
            let w = walk::walk(&mut src2, &mut s, &mut |n| {
                p.second.store(n, Ordering::Relaxed)
            })?;
            p.second.store(src2.consumed(), Ordering::Relaxed);
            let Streaming {
                conv,
                mut batch,
                tx,
                ..
            } = s;
            let (mut rest, stats, _, _) = conv.finish();
            batch.drain(&mut rest);
            tx.send(batch).map_err(|_| abandoned())?;
            Ok::<_, ScapError>((w, stats))
        });
        let second = second.map_err(|e| ScapError::Write {
            reason: format!("starting the converting thread: {e}"),
        })?;
        // What was released last; only more is released.
        let mut released = 0;
        let mut release_more = || {
            let done = p.both();
            if done > released {
                release(done);
                released = done;
            }
        };
        let mut scan = walk::Prescan::default();
        let first = walk::walk(&mut src1, &mut scan, &mut |n| {
            p.first.store(n, Ordering::Relaxed);
            release_more();
        });
        p.first.store(src1.consumed(), Ordering::Relaxed);
        // On an error here, dropping the queue's end stops the converter.
        let mut first = first?;
        // The block counts as this pass found them (the converter's, unless
        // it was stopped, are the same).
        let walked = std::mem::take(&mut first.stats);
        let meta = meta_of(first, scan)?;
        let mut records = Records {
            rx,
            spent: spent_tx,
            batch: Batch::default(),
            at: 0,
            on_batch: &mut release_more,
            drained: false,
        };
        let result = consume(&meta, &mut records);
        let drained = records.drained;
        // Stops a converter the consumer left behind (its sends fail).
        drop(records);
        let joined = second.join().map_err(|_| ScapError::Write {
            reason: "the converting thread panicked".into(),
        })?;
        let (w, mut stats) = match joined {
            Ok((w, stats)) => (w.stats, stats),
            // Abandoned: the first pass walked the same blocks.
            Err(_) if !drained => (walked, ImportStats::default()),
            Err(e) => return Err(e),
        };
        add_walked(&mut stats, w);
        Ok((meta, stats, result))
    })
}

/// The capture's metadata from the first pass.
fn meta_of(w: walk::Walk, scan: walk::Prescan) -> Result<CaptureMeta, ScapError> {
    let mut meta = CaptureMeta {
        machine: w.machine,
        snapshot: w.snap,
        ..CaptureMeta::default()
    };
    meta.machine.boottime_to_epoch_ns = 0;
    meta.config = RecorderConfig {
        producer: PRODUCER.into(),
        // Paired records carry the enter's time (F_ENTER_TS): latency
        // chisels work as on a `record --latency` capture.
        latency: scan.paired,
        ..RecorderConfig::default()
    };
    meta.syscalls = Syscalls::default_x86_64().table().clone();
    let extra = ScapExtra {
        scap_version: w.version,
        libs_table: events_table::LIBS_COMMIT.into(),
        interfaces: w.interfaces,
        containers: scan.containers,
        internal_events: scan.internal.named(),
    };
    let extra_json = serde_json::to_vec(&extra).map_err(|e| ScapError::Write {
        reason: e.to_string(),
    })?;
    meta.extra = vec![(KIND_SCAP, extra_json)];
    Ok(meta)
}
