//! The import's plumbing: where records go ([`Out`]: memory or a capture
//! writer), the two passes over the blocks, and the metadata the first
//! pass builds (see the module's `# Memory`).

use std::io::Write;

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
/// told which input bytes a pass is done with (see `walk::walk`).
pub(super) fn run(
    bytes: &[u8],
    opts: ImportOptions,
    out: &mut dyn Out,
    release: &mut dyn FnMut(u64),
) -> Result<(CaptureMeta, ImportStats), ScapError> {
    match detect(bytes) {
        FileKind::Scap => run_passes(
            &mut || Box::new(block::Blocks::new(bytes)),
            opts.window,
            out,
            release,
        ),
        FileKind::Gzip => {
            gz_head(bytes, opts.max_decompressed)?;
            let limit = opts.max_decompressed;
            run_passes(
                &mut || Box::new(stream::GzBlocks::new(bytes, limit)),
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

/// The converter as the second pass's consumer: records the window
/// releases go to the output at once.
struct Streaming<'o> {
    conv: Converter,
    out: &'o mut dyn Out,
}

impl Consumer for Streaming<'_> {
    fn start(&mut self, procs: &[ProcInfo]) {
        self.conv.threads = special::Threads::from_snapshot(procs);
    }
    fn seed(&mut self, procs: &[ProcInfo]) {
        self.conv.threads.seed(procs);
    }
    fn event(&mut self, b: &block::Block<'_>, e: RawEvent<'_>) -> Result<(), ScapError> {
        self.conv.push(b, e);
        while let Some(r) = self.conv.out.pop_over() {
            self.out.record(&r)?;
        }
        Ok(())
    }
}

/// Imports a scap file in two passes over the blocks `open` yields: the
/// first builds the metadata (which the capture writer needs before any
/// block), the second converts the events and streams the records.
fn run_passes<'b>(
    open: &mut dyn FnMut() -> Box<dyn BlockSource + 'b>,
    window: usize,
    out: &mut dyn Out,
    release: &mut dyn FnMut(u64),
) -> Result<(CaptureMeta, ImportStats), ScapError> {
    let mut scan = walk::Prescan::default();
    let first = walk::walk(&mut *open(), &mut scan, release)?;
    let meta = meta_of(first, scan)?;
    out.begin(&meta)?;
    let mut s = Streaming {
        conv: Converter::new(&[], window),
        out,
    };
    let second = walk::walk(&mut *open(), &mut s, release)?;
    let Streaming { conv, out } = s;
    let (mut rest, mut stats, _, _) = conv.finish();
    while let Some(r) = rest.pop() {
        out.record(&r)?;
    }
    let w = second.stats;
    stats.raw_events = w.raw_events;
    stats.v1_events = w.v1_events;
    stats.state_only = w.state_only;
    stats.sections = w.sections;
    stats.skipped_blocks = w.skipped_blocks;
    stats.unknown_types = w.unknown_types;
    stats.truncation = w.truncation;
    Ok((meta, stats))
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
