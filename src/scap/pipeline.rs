//! The import's plumbing: where records go ([`Out`]: memory or a capture
//! writer), the two passes over the blocks, and the metadata the first
//! pass builds (see the module's `# Memory`).

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use super::convert::Converter;
use super::parse::RawEvent;
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
    match detect(bytes) {
        FileKind::Scap => run_passes(&mut || block::Blocks::new(bytes), opts.window, out, release),
        FileKind::Gzip => {
            gz_head(bytes, opts.max_decompressed)?;
            let limit = opts.max_decompressed;
            run_passes(
                &mut || stream::GzBlocks::new(bytes, limit),
                opts.window,
                out,
                release,
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

/// Converted records, concatenated, sent from the converting thread.
struct Batch {
    data: Vec<u8>,
    /// End offset of each record in `data`.
    ends: Vec<usize>,
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
}

impl Streaming {
    /// Sends the current batch.
    fn flush(&mut self) -> Result<(), ScapError> {
        let full = std::mem::replace(
            &mut self.batch,
            Batch {
                data: Vec::with_capacity(BATCH_BYTES + (4 << 10)),
                ends: Vec::new(),
            },
        );
        self.tx.send(full).map_err(|_| abandoned())
    }
    fn add(&mut self, r: &[u8]) -> Result<(), ScapError> {
        self.batch.data.extend_from_slice(r);
        self.batch.ends.push(self.batch.data.len());
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
    fn event(&mut self, b: &block::Block<'_>, e: RawEvent<'_>) -> Result<(), ScapError> {
        self.conv.push(b, e);
        while let Some(r) = self.conv.out.pop_over() {
            self.add(&r)?;
        }
        Ok(())
    }
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
/// at once on two threads: the first builds the metadata (which the
/// capture writer needs before any block), then writes the records the
/// second converts. Converted records wait for the metadata in a bounded
/// queue ([`BATCHES`] of [`BATCH_BYTES`]); a full queue holds the
/// converter back. `release` is told what both passes are done with.
fn run_passes<S: BlockSource + Send>(
    open: &mut dyn FnMut() -> S,
    window: usize,
    out: &mut dyn Out,
    release: &mut dyn FnMut(u64),
) -> Result<(CaptureMeta, ImportStats), ScapError> {
    let (mut src1, mut src2) = (open(), open());
    let progress = Progress {
        first: AtomicU64::new(0),
        second: AtomicU64::new(0),
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES);
    std::thread::scope(|scope| {
        let p = &progress;
        let converter = std::thread::Builder::new().name("scap-convert".into());
        let second = converter.spawn_scoped(scope, move || {
            let mut s = Streaming {
                conv: Converter::new(&[], window),
                batch: Batch {
                    data: Vec::new(),
                    ends: Vec::new(),
                },
                tx,
            };
            let w = walk::walk(&mut src2, &mut s, &mut |n| {
                p.second.store(n, Ordering::Relaxed)
            })?;
            p.second.store(src2.consumed(), Ordering::Relaxed);
            let Streaming {
                conv,
                mut batch,
                tx,
            } = s;
            let (mut rest, stats, _, _) = conv.finish();
            while let Some(r) = rest.pop() {
                batch.data.extend_from_slice(&r);
                batch.ends.push(batch.data.len());
            }
            tx.send(batch).map_err(|_| abandoned())?;
            Ok::<_, ScapError>((w, stats))
        });
        let second = second.map_err(|e| ScapError::Write {
            reason: format!("starting the converting thread: {e}"),
        })?;
        // What was released last; only more is released.
        let mut released = 0;
        let mut release_more = |released: &mut u64| {
            let done = p.both();
            if done > *released {
                release(done);
                *released = done;
            }
        };
        let mut scan = walk::Prescan::default();
        let first = walk::walk(&mut src1, &mut scan, &mut |n| {
            p.first.store(n, Ordering::Relaxed);
            release_more(&mut released);
        });
        p.first.store(src1.consumed(), Ordering::Relaxed);
        // On an error here, dropping the queue's end stops the converter.
        let meta = meta_of(first?, scan)?;
        out.begin(&meta)?;
        for batch in rx {
            let mut from = 0;
            for &end in &batch.ends {
                out.record(&batch.data[from..end])?;
                from = end;
            }
            release_more(&mut released);
        }
        let (second, mut stats) = second.join().map_err(|_| ScapError::Write {
            reason: "the converting thread panicked".into(),
        })??;
        let w = second.stats;
        stats.raw_events = w.raw_events;
        stats.v1_events = w.v1_events;
        stats.state_only = w.state_only;
        stats.sections = w.sections;
        stats.skipped_blocks = w.skipped_blocks;
        stats.unknown_types = w.unknown_types;
        stats.truncation = w.truncation;
        Ok((meta, stats))
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
        internal_events: scan.internal,
    };
    let extra_json = serde_json::to_vec(&extra).map_err(|e| ScapError::Write {
        reason: e.to_string(),
    })?;
    meta.extra = vec![(KIND_SCAP, extra_json)];
    Ok(meta)
}
