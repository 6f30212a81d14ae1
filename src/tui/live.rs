//! A live recording in the TUI (`saker record --tui`): the recorder's
//! batches ([`super::AppEvent::Live`]) are appended to an in-memory capture
//! with the recording's metadata, and the [`Source`] is re-read from it at
//! most every [`REFRESH`] so the timeline and the event list grow. Each
//! record is also applied to the source's checkpoints and run through the
//! rules and exec history as it arrives (the incremental form of the
//! indexer), so nothing is re-scanned. The capture file itself is written by
//! the recorder as usual.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use super::jobs::{ObserveCtx, Observer};
use super::{timeline, Session, Source, TuiError};
use crate::capture::{CaptureMeta, CaptureWriter, WriterOptions};
use crate::event::wire::Record;

/// Longest time between a batch and the list showing it.
pub const REFRESH: Duration = Duration::from_millis(250);

/// Bytes written by the in-memory capture writer, shared with the reader.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn snapshot(&self) -> Vec<u8> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The in-memory capture of a live recording and its incremental indexer.
pub struct LiveFeed {
    writer: CaptureWriter<SharedBuf>,
    buf: SharedBuf,
    pushed: u64,
    dirty: bool,
    last: Instant,
    obs: Observer,
    /// Why the recording stopped, once it has.
    pub ended: Option<String>,
}

impl std::fmt::Debug for LiveFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFeed")
            .field("pushed", &self.pushed)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// An empty session for a recording with metadata `meta` (read from the
    /// file the recorder has just created); batches come through
    /// [`Session::push_live`].
    pub fn live(meta: &CaptureMeta, cache_blocks: usize) -> Result<Session, TuiError> {
        let buf = SharedBuf::default();
        let opts = WriterOptions {
            zstd_level: 1,
            // Small blocks: each refresh closes one.
            block_size: 256 * 1024,
        };
        let writer = CaptureWriter::new(buf.clone(), meta, opts)?;
        let src = Source::from_vec(buf.snapshot(), cache_blocks)?;
        let mut s = Session::new(src);
        s.src.live_checkpoints()?;
        s.app.indexed = true;
        s.app.live = true;
        s.live = Some(LiveFeed {
            writer,
            buf,
            pushed: 0,
            dirty: false,
            last: Instant::now(),
            obs: Observer::default(),
            ended: None,
        });
        Ok(s)
    }

    /// Appends a batch of concatenated wire records: to the in-memory
    /// capture, the checkpoints, the alerts and the exec history. The list
    /// shows them after the next [`Session::refresh_live`]. A malformed
    /// record stops the batch (the records before it are kept).
    pub fn push_live(&mut self, batch: &[u8]) -> Result<(), TuiError> {
        let Some(feed) = self.live.as_mut() else {
            return Ok(());
        };
        let cap = Arc::clone(self.src.capture());
        let (table, env) = (Arc::clone(self.src.table()), Arc::clone(self.src.env()));
        let rules = self.rules.clone();
        let cp = self.src.live_checkpoints()?;
        let (mut alerts, mut execs) = (Vec::new(), Vec::new());
        let mut rest = batch;
        let mut result = Ok(());
        while !rest.is_empty() {
            let (rec, tail) = match Record::parse(rest) {
                Ok(v) => v,
                Err(e) => {
                    result = Err(TuiError::Job {
                        job: "live feed",
                        message: format!(
                            "bad record at byte {} of a batch: {e}",
                            batch.len() - rest.len()
                        ),
                    });
                    break;
                }
            };
            if let Err(e) = feed.writer.push(rec.bytes()) {
                result = Err(e.into());
                break;
            }
            let num = feed.pushed;
            feed.pushed += 1;
            feed.dirty = true;
            let eff = cp.push(&rec);
            let ctx = ObserveCtx {
                table: &table,
                meta: cap.meta(),
                env: &env,
                rules: rules.as_deref(),
            };
            feed.obs
                .observe(num, rec, cp.current(), &eff, &ctx, &mut alerts, &mut execs);
            rest = tail;
        }
        self.app.add_alerts(alerts);
        self.app.execs.extend(execs);
        result
    }

    /// Whether a refresh is due: records arrived and [`REFRESH`] passed.
    pub fn live_due(&self) -> bool {
        self.live
            .as_ref()
            .is_some_and(|f| f.dirty && f.last.elapsed() >= REFRESH)
    }

    /// Closes the current block and re-reads the in-memory capture, so the
    /// timeline and the list show everything pushed so far.
    pub fn refresh_live(&mut self) -> Result<(), TuiError> {
        let Some(feed) = self.live.as_mut() else {
            return Ok(());
        };
        feed.last = Instant::now();
        if !feed.dirty {
            return Ok(());
        }
        feed.dirty = false;
        feed.writer.flush_block()?;
        self.src.grow(feed.buf.snapshot())?;
        let cap = self.src.capture();
        let t = cap.totals();
        let hist = timeline::from_blocks(cap.blocks(), self.src.category_counts(), 1024);
        let gaps = timeline::drop_gaps(cap.blocks());
        self.app.grow(
            self.src.total_events(),
            t.first_ts.unwrap_or(0),
            t.last_ts.unwrap_or(0),
            hist,
            gaps,
        );
        Ok(())
    }

    /// Records that the recording stopped (the list keeps what it got).
    pub fn end_live(&mut self, why: String) {
        if let Some(f) = self.live.as_mut() {
            f.ended = Some(why.clone());
        }
        self.app.live = false;
        self.app.status = why;
    }
}
