//! The writer thread: compresses and writes record batches, rotates files
//! (`-C`, `-G`, `-W`), and gives every file its own metadata and snapshot so
//! that each one stands alone.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::session::Status;
use super::RecordError;
use crate::capture::{CaptureMeta, CaptureWriter, WriterOptions};
use crate::event::meta::{RecorderConfig, Summary, SyscallTable};
use crate::event::wire::CODE_DROP;

/// Batches in flight between the drain loop and the writer (one per 10 ms
/// drain cycle).
const QUEUE: usize = 512;
/// Backlog (batches) above which blocks are compressed at zstd level 1, so
/// that compression never makes the rings overflow; below `QUEUE_CALM` the
/// requested level is used again.
const QUEUE_BEHIND: usize = 32;
const QUEUE_CALM: usize = 4;

/// What the writer needs to know.
#[derive(Debug, Clone)]
pub struct WriterConfig {
    /// Output path (base name when rotating).
    pub output: PathBuf,
    /// Rotate after this many bytes.
    pub rotate_bytes: Option<u64>,
    /// Rotate after this long. Periods are counted from `started`, not from
    /// when a file was ready, so a slow snapshot does not make them drift.
    pub rotate_every: Option<Duration>,
    /// When recording started (probes attached): the first period's origin.
    pub started: Instant,
    /// Reuse file names after this many files.
    pub rotate_files: Option<u32>,
    /// zstd level.
    pub zstd_level: i32,
    /// Uncompressed bytes per block.
    pub block_size: usize,
    /// Recorder configuration stored in each file.
    pub config: RecorderConfig,
    /// Syscall table stored in each file.
    pub table: SyscallTable,
}

/// Counters the writer publishes for the status line.
#[derive(Debug, Default)]
pub struct WriterShared {
    /// Batches sent but not yet written.
    pub backlog: AtomicU64,
    bytes: AtomicU64,
    raw: AtomicU64,
    drops: AtomicU64,
}

impl WriterShared {
    /// A status snapshot.
    pub fn status(&self, elapsed: Duration, events: u64) -> Status {
        Status {
            elapsed: elapsed.as_secs_f64(),
            events,
            drops: self.drops.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            raw_bytes: self.raw.load(Ordering::Relaxed),
        }
    }
}

/// Messages to the writer thread.
#[derive(Debug)]
pub enum WriterMsg {
    /// Time-ordered wire records.
    Records(Vec<u8>),
    /// Close the last file with this summary.
    Finish(Summary),
}

/// One file written.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// Its path.
    pub path: PathBuf,
    /// Events in it.
    pub events: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Uncompressed event bytes.
    pub raw_bytes: u64,
    /// Final chain hash.
    pub chain_hash: String,
}

/// The running writer thread.
pub struct WriterHandle {
    join: JoinHandle<Result<Vec<FileReport>, RecordError>>,
    opened: mpsc::Receiver<Box<CaptureMeta>>,
}

/// Where the first file is.
#[derive(Debug)]
pub enum FirstFile {
    /// Its snapshot is still being taken.
    Pending,
    /// Written, with this metadata (reported once).
    Ready(Box<CaptureMeta>),
    /// The writer failed before (see [`WriterHandle::join_error`]).
    Failed,
}

impl WriterHandle {
    /// Whether the first file (with its snapshot) is written.
    pub fn first_file(&self) -> FirstFile {
        match self.opened.try_recv() {
            Ok(meta) => FirstFile::Ready(meta),
            Err(mpsc::TryRecvError::Empty) => FirstFile::Pending,
            Err(mpsc::TryRecvError::Disconnected) => FirstFile::Failed,
        }
    }

    /// Waits until the first file is written (or the writer failed).
    pub fn wait_first_file(&self) -> FirstFile {
        match self.opened.recv() {
            Ok(meta) => FirstFile::Ready(meta),
            Err(_) => FirstFile::Failed,
        }
    }

    /// Waits for the writer and returns the files it wrote.
    pub fn join(self) -> Result<Vec<FileReport>, RecordError> {
        self.join
            .join()
            .unwrap_or_else(|_| Err(RecordError::Writer("the writer thread panicked".into())))
    }

    /// The writer's error after it hung up early.
    pub fn join_error(self) -> RecordError {
        match self.join() {
            Err(e) => e,
            Ok(_) => RecordError::Writer("the writer stopped early".into()),
        }
    }
}

/// Sums the counts of the gap markers in a batch of records.
fn drops_in(batch: &[u8]) -> u64 {
    let mut n = 0u64;
    let mut off = 0usize;
    while let Some(h) = batch.get(off..off + 32) {
        let len = u16::from_le_bytes([h[0], h[1]]) as usize;
        if len < 32 {
            break;
        }
        if u16::from_le_bytes([h[2], h[3]]) == CODE_DROP {
            n += u64::from_le_bytes(h[24..32].try_into().unwrap_or([0; 8]));
        }
        off += len;
    }
    n
}

/// Splits a batch at record boundaries into pieces of about `max` bytes (a
/// record is never split; a malformed tail goes whole into the last piece,
/// where the capture writer reports it).
fn pieces(batch: &[u8], max: usize) -> impl Iterator<Item = &[u8]> {
    let mut rest = batch;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut off = 0usize;
        while off < max {
            let Some(h) = rest.get(off..off + 2) else {
                off = rest.len();
                break;
            };
            let len = usize::from(u16::from_le_bytes([h[0], h[1]]));
            if len < 32 || off + len > rest.len() {
                off = rest.len();
                break;
            }
            off += len;
        }
        let (piece, tail) = rest.split_at(off);
        rest = tail;
        Some(piece)
    })
}

struct Rotation {
    cfg: WriterConfig,
    index: u32,
    opened: Instant,
    writer: CaptureWriter<std::fs::File>,
    path: PathBuf,
    drops: u64,
}

impl Rotation {
    fn path_for(cfg: &WriterConfig, index: u32) -> PathBuf {
        if cfg.rotate_bytes.is_none() && cfg.rotate_every.is_none() {
            return cfg.output.clone();
        }
        let slot = cfg.rotate_files.map_or(index, |w| index % w.max(1));
        let mut p = cfg.output.clone().into_os_string();
        p.push(slot.to_string());
        PathBuf::from(p)
    }

    fn open(
        cfg: &WriterConfig,
        index: u32,
    ) -> Result<(CaptureWriter<std::fs::File>, PathBuf, CaptureMeta), RecordError> {
        let machine = super::procfs::machine_info()?;
        let snapshot = super::procfs::snapshot(&super::procfs::SnapshotOptions::default())?;
        let mut config = cfg.config.clone();
        config.rotation_index = index;
        let meta = CaptureMeta {
            machine,
            config,
            syscalls: cfg.table.clone(),
            snapshot,
            extra: Vec::new(),
        };
        let path = Self::path_for(cfg, index);
        if cfg.rotate_files.is_some() && path.exists() {
            // Round-robin reuse: the old file of this slot is replaced.
            std::fs::remove_file(&path).map_err(|e| RecordError::Io {
                what: format!("replacing {}", path.display()),
                source: e,
            })?;
        }
        let opts = WriterOptions {
            zstd_level: cfg.zstd_level,
            block_size: cfg.block_size,
        };
        let w = CaptureWriter::create(&path, &meta, opts)?;
        Ok((w, path, meta))
    }

    fn due(&self) -> bool {
        let st = self.writer.stats();
        self.cfg.rotate_bytes.is_some_and(|b| st.bytes_written >= b)
            || self
                .cfg
                .rotate_every
                .is_some_and(|d| self.opened.elapsed() >= d)
    }

    /// Closes this file and opens the next one (with its own snapshot).
    fn rotate(&mut self) -> Result<FileReport, RecordError> {
        let next = self.index + 1;
        let (writer, path, _) = Rotation::open(&self.cfg, next)?;
        let fresh = Rotation {
            cfg: self.cfg.clone(),
            index: next,
            opened: self.next_period(),
            writer,
            path,
            drops: 0,
        };
        let old = std::mem::replace(self, fresh);
        old.close(Summary {
            stop_reason: "rotation".into(),
            ..Summary::default()
        })
    }

    /// Start of the next file's period: one period after this file's, or now
    /// when more than a whole period was missed (no burst of empty files).
    fn next_period(&self) -> Instant {
        let now = Instant::now();
        match self.cfg.rotate_every {
            Some(d) if self.opened + d + d > now => self.opened + d,
            _ => now,
        }
    }

    fn close(self, mut summary: Summary) -> Result<FileReport, RecordError> {
        let st = self.writer.stats();
        summary.events = st.events;
        summary.drops = self.drops;
        let info = self.writer.finish(&summary)?;
        Ok(FileReport {
            path: self.path,
            events: info.events,
            bytes: info.bytes,
            raw_bytes: info.uncompressed_bytes,
            chain_hash: info.chain_hash,
        })
    }
}

/// Starts the writer thread, which takes the start snapshot and creates the
/// first file, then writes the batches it is sent. The probes are attached
/// before, so nothing forked during the snapshot is missed; records that
/// arrive meanwhile wait in the channel and follow the snapshot.
/// [`WriterHandle::first_file`] says when the file exists.
pub fn spawn_writer(
    cfg: WriterConfig,
    shared: Arc<WriterShared>,
) -> Result<(mpsc::SyncSender<WriterMsg>, WriterHandle), RecordError> {
    let (tx, rx) = mpsc::sync_channel::<WriterMsg>(QUEUE);
    let (opened_tx, opened) = mpsc::sync_channel::<Box<CaptureMeta>>(1);
    let join = std::thread::Builder::new()
        .name("saker-writer".into())
        .spawn(move || {
            let (writer, path, meta) = Rotation::open(&cfg, 0)?;
            let opened = cfg.started;
            let mut rot = Rotation {
                cfg,
                index: 0,
                opened,
                writer,
                path,
                drops: 0,
            };
            let _ = opened_tx.send(Box::new(meta));
            let mut files = Vec::new();
            let mut base_bytes = 0u64;
            let mut base_raw = 0u64;
            let mut fast = false;
            for msg in rx {
                let backlog = shared
                    .backlog
                    .fetch_sub(1, Ordering::Relaxed)
                    .saturating_sub(1) as usize;
                if !fast && backlog > QUEUE_BEHIND && rot.cfg.zstd_level > 1 {
                    fast = true;
                    rot.writer.set_zstd_level(1)?;
                } else if fast && backlog < QUEUE_CALM {
                    fast = false;
                    rot.writer.set_zstd_level(rot.cfg.zstd_level)?;
                }
                match msg {
                    WriterMsg::Records(batch) => {
                        // Rotation is checked between block-sized pieces, so
                        // a large batch (writer behind) cannot overshoot -C.
                        for piece in pieces(&batch, rot.cfg.block_size) {
                            if rot.due() {
                                let rep = rot.rotate()?;
                                fast = false;
                                base_bytes += rep.bytes;
                                base_raw += rep.raw_bytes;
                                files.push(rep);
                            }
                            let d = drops_in(piece);
                            rot.drops += d;
                            shared.drops.fetch_add(d, Ordering::Relaxed);
                            rot.writer.push_batch(piece)?;
                        }
                        let st = rot.writer.stats();
                        shared
                            .bytes
                            .store(base_bytes + st.bytes_written, Ordering::Relaxed);
                        shared
                            .raw
                            .store(base_raw + st.uncompressed_bytes, Ordering::Relaxed);
                    }
                    WriterMsg::Finish(summary) => {
                        files.push(rot.close(summary)?);
                        return Ok(files);
                    }
                }
            }
            Err(RecordError::Writer(
                "the recorder hung up without finishing".into(),
            ))
        })
        .map_err(|e| RecordError::Io {
            what: "starting the writer thread".into(),
            source: e,
        })?;
    Ok((tx, WriterHandle { join, opened }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::RecordBuilder;

    #[test]
    fn counts_gap_markers() {
        let mut b = RecordBuilder::new(0, 0, 1, 1, 1, 0).build();
        b.extend(
            RecordBuilder::new(CODE_DROP, 1, 2, 0, 0, 7)
                .args(&[7, 1])
                .build(),
        );
        b.extend(
            RecordBuilder::new(CODE_DROP, 0, 3, 0, 0, 5)
                .args(&[5, 2])
                .build(),
        );
        assert_eq!(drops_in(&b), 12);
        assert_eq!(drops_in(&b[..40]), 0);
    }

    #[test]
    fn pieces_cut_at_record_boundaries() {
        let one = RecordBuilder::new(0, 0, 1, 1, 1, 0).args(&[1, 2]).build();
        let mut b = Vec::new();
        for _ in 0..10 {
            b.extend_from_slice(&one);
        }
        let n = one.len();
        let ps: Vec<&[u8]> = pieces(&b, 3 * n).collect();
        assert_eq!(ps.len(), 4, "3 + 3 + 3 + 1 records");
        assert!(ps[..3].iter().all(|p| p.len() == 3 * n));
        assert_eq!(ps[3].len(), n);
        assert_eq!(ps.concat(), b);
        // One record larger than the size still makes a piece; a malformed
        // tail goes whole into the last piece.
        assert_eq!(pieces(&b, 1).count(), 10);
        let mut bad = b.clone();
        bad.extend_from_slice(&[5, 0, 0]);
        let ps: Vec<&[u8]> = pieces(&bad, 100 * n).collect();
        assert_eq!(ps, vec![&bad[..]]);
        assert_eq!(pieces(&[], 10).count(), 0);
    }
}
