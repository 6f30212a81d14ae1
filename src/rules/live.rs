//! Live rules while recording: the recorder's time-ordered batches go, through a bounded
//! channel, to a rules thread that runs them through a [`Runner`] (the same state and
//! engine as `saker replay`) and writes Falco alert lines as they happen.
//!
//! The recorder's drain path only copies each batch into a recycled buffer and offers it
//! with a non-blocking send: rule evaluation never makes the rings overflow. A batch the
//! rules thread has no room for is skipped and counted (batches and events), and the next
//! batch that gets through carries the count, so event numbers stay those of the capture.
//!
//! The rules thread takes the capture's metadata (syscall table, `/proc` snapshot, clock)
//! from the header of the file being written, which the recorder writes before the first
//! batch: live alerts are those a replay of the capture raises.

use super::engine::{Alert, EngineOptions};
use super::error::RulesError;
use super::replay::{ReplayStats, Runner};
use super::Ruleset;
use crate::capture::CaptureReader;
use crate::event::wire::HDR_LEN;
use crate::event::Record;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::thread::JoinHandle;

/// Batches the rules thread may lag behind (the recorder drains every 10 ms).
pub const DEFAULT_QUEUE: usize = 64;
/// Most bytes read from the head of the capture for its metadata.
const MAX_HEAD: u64 = 256 << 20;

/// How the rules thread runs.
pub struct LiveConfig {
    /// The capture being written (its first file when rotating).
    pub capture: PathBuf,
    /// Compiled rules.
    pub rules: Ruleset,
    /// Selection and matching options.
    pub opts: EngineOptions,
    /// JSON lines (Falco's schema) instead of text lines.
    pub json: bool,
    /// Channel capacity, in batches.
    pub queue: usize,
}

/// What the live rules did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveReport {
    /// Events evaluated and alerts raised.
    pub stats: ReplayStats,
    /// Batches skipped because the rules thread was behind (or had stopped).
    pub skipped_batches: u64,
    /// Events in the skipped batches.
    pub skipped_events: u64,
}

struct Batch {
    /// Events skipped (not evaluated) just before this batch.
    skipped_before: u64,
    bytes: Vec<u8>,
}

/// The drain-side handle of the rules thread.
pub struct LiveRules {
    tx: Option<SyncSender<Batch>>,
    free: Receiver<Vec<u8>>,
    join: Option<JoinHandle<Result<ReplayStats, RulesError>>>,
    pending_skip: u64,
    skipped_batches: u64,
    skipped_events: u64,
}

/// Number of records in a batch of wire records (their `len` fields only).
pub fn count_records(batch: &[u8]) -> u64 {
    let (mut n, mut off) = (0u64, 0usize);
    while let Some(h) = batch.get(off..off + 2) {
        let len = usize::from(u16::from_le_bytes([h[0], h[1]]));
        if len < HDR_LEN {
            break;
        }
        off += len;
        n += 1;
    }
    n
}

fn read_head(path: &std::path::Path) -> Result<Vec<u8>, RulesError> {
    let err = |e: std::io::Error| RulesError::Replay {
        message: format!("live rules: reading {}: {e}", path.display()),
    };
    let f = std::fs::File::open(path).map_err(err)?;
    let mut bytes = Vec::new();
    f.take(MAX_HEAD).read_to_end(&mut bytes).map_err(err)?;
    Ok(bytes)
}

fn run_thread(
    cfg: LiveConfig,
    rx: Receiver<Batch>,
    free: SyncSender<Vec<u8>>,
    mut out: Box<dyn Write + Send>,
) -> Result<ReplayStats, RulesError> {
    let io_err = |e: std::io::Error| RulesError::Replay {
        message: format!("live rules: writing alerts: {e}"),
    };
    let mut runner: Option<Runner> = None;
    let (mut rules, mut opts) = (Some(cfg.rules), Some(cfg.opts));
    let mut num = 0u64;
    let mut failed = None;
    for b in rx {
        num += b.skipped_before;
        let r = match &mut runner {
            Some(r) => r,
            None => {
                let Ok((first, _)) = Record::parse(&b.bytes) else {
                    num += count_records(&b.bytes);
                    continue;
                };
                let cap = CaptureReader::new(read_head(&cfg.capture)?).map_err(|e| {
                    RulesError::Replay {
                        message: format!("live rules: {}: {e}", cfg.capture.display()),
                    }
                })?;
                let (rules, opts) = (rules.take(), opts.take());
                runner.insert(Runner::new(
                    cap.meta().clone(),
                    first.ts(),
                    rules.unwrap_or_default(),
                    opts.unwrap_or_default(),
                ))
            }
        };
        let mut sink = |a: &Alert| {
            let res = if cfg.json {
                writeln!(out, "{}", a.json())
            } else {
                writeln!(out, "{}", a.text())
            };
            match res {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        };
        let mut rest: &[u8] = &b.bytes;
        while let Ok((rec, tail)) = Record::parse(rest) {
            rest = tail;
            if !r.feed(num, rec, &mut sink) {
                break;
            }
            num += 1;
        }
        if let Some(e) = failed.take() {
            return Err(io_err(e));
        }
        out.flush().map_err(io_err)?;
        let _ = free.try_send(b.bytes);
    }
    Ok(runner.map(|r| r.finish().1).unwrap_or_default())
}

impl LiveRules {
    /// Starts the rules thread; alerts go to `out`, flushed after each batch.
    pub fn spawn(cfg: LiveConfig, out: Box<dyn Write + Send>) -> Result<Self, RulesError> {
        let queue = cfg.queue.max(1);
        let (tx, rx) = mpsc::sync_channel(queue);
        let (free_tx, free) = mpsc::sync_channel(queue + 1);
        let join = std::thread::Builder::new()
            .name("saker-rules".into())
            .spawn(move || run_thread(cfg, rx, free_tx, out))
            .map_err(|e| RulesError::Replay {
                message: format!("starting the rules thread: {e}"),
            })?;
        Ok(LiveRules {
            tx: Some(tx),
            free,
            join: Some(join),
            pending_skip: 0,
            skipped_batches: 0,
            skipped_events: 0,
        })
    }

    /// Offers a batch without waiting: copies it into a recycled buffer and queues it, or
    /// counts it as skipped when the rules thread is behind. Returns false if skipped.
    pub fn offer(&mut self, batch: &[u8]) -> bool {
        if batch.is_empty() {
            return true;
        }
        let Some(tx) = &self.tx else {
            return self.skip(batch);
        };
        let mut bytes = self.free.try_recv().unwrap_or_default();
        bytes.clear();
        bytes.extend_from_slice(batch);
        let b = Batch {
            skipped_before: self.pending_skip,
            bytes,
        };
        match tx.try_send(b) {
            Ok(()) => {
                self.pending_skip = 0;
                true
            }
            Err(TrySendError::Full(_)) => self.skip(batch),
            Err(TrySendError::Disconnected(_)) => {
                self.tx = None;
                self.skip(batch)
            }
        }
    }

    fn skip(&mut self, batch: &[u8]) -> bool {
        let n = count_records(batch);
        self.pending_skip += n;
        self.skipped_batches += 1;
        self.skipped_events += n;
        false
    }

    /// Batches skipped so far.
    pub fn skipped_batches(&self) -> u64 {
        self.skipped_batches
    }

    /// Whether the rules thread has stopped (on an error, reported by [`finish`](Self::finish)).
    pub fn stopped(&self) -> bool {
        self.tx.is_none() || self.join.as_ref().is_some_and(|j| j.is_finished())
    }

    /// Lets the rules thread finish the queued batches and returns what it did.
    pub fn finish(mut self) -> Result<LiveReport, RulesError> {
        self.tx = None;
        let stats = match self.join.take().map(JoinHandle::join) {
            Some(Ok(r)) => r?,
            Some(Err(_)) => {
                return Err(RulesError::Replay {
                    message: "the rules thread panicked".into(),
                })
            }
            None => ReplayStats::default(),
        };
        Ok(LiveReport {
            stats,
            skipped_batches: self.skipped_batches,
            skipped_events: self.skipped_events,
        })
    }
}

impl Drop for LiveRules {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(j) = self.join.take() {
            let _ = j.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{CaptureWriter, WriterOptions};
    use crate::event::RecordBuilder;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::ErrorKind::Other)?
                .write(b)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    const RULE: &str = "
- rule: any_getppid
  desc: d
  condition: evt.type=getppid
  output: getppid by %proc.pid num %evt.num
  priority: NOTICE
";

    fn ruleset() -> Ruleset {
        super::super::load(
            &[("t.yaml", RULE)],
            &crate::filter::fields::Fields,
            crate::event::table::Syscalls::default_x86_64(),
            &Default::default(),
        )
        .expect("loads")
        .ruleset
    }

    fn getppid(ts: u64) -> Vec<u8> {
        let t = crate::event::table::Syscalls::default_x86_64();
        let code = (0..super::super::NCODES)
            .find(|&c| t.name(c) == "getppid")
            .expect("getppid");
        RecordBuilder::new(code, 0, ts, 7, 7, 1).build()
    }

    #[test]
    fn alerts_and_counts_skipped_batches() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("c.cap");
        let w = CaptureWriter::create(&path, &Default::default(), WriterOptions::default())
            .expect("header");
        let out = Shared::default();
        let mut live = LiveRules::spawn(
            LiveConfig {
                capture: path.clone(),
                rules: ruleset(),
                opts: EngineOptions::default(),
                json: false,
                queue: 1,
            },
            Box::new(out.clone()),
        )
        .expect("spawns");
        let mut sent = 0;
        let mut batch = Vec::new();
        for i in 0..200u64 {
            batch.clear();
            batch.extend(getppid(1000 + 2 * i));
            batch.extend(getppid(1001 + 2 * i));
            assert_eq!(count_records(&batch), 2);
            sent += u64::from(live.offer(&batch));
        }
        let rep = live.finish().expect("finishes");
        drop(w);
        assert_eq!(sent + rep.skipped_batches, 200);
        assert_eq!(rep.skipped_events, 2 * rep.skipped_batches);
        assert_eq!(rep.stats.events, 2 * sent);
        assert_eq!(rep.stats.alerts, 2 * sent);
        let text = String::from_utf8(out.0.lock().expect("lock").clone()).expect("utf8");
        assert_eq!(text.lines().count() as u64, 2 * sent);
        // Event numbers stay those of the stream, skipped batches included.
        let last = text.lines().last().expect("an alert");
        assert!(last.contains(": Notice getppid by 7 num "), "{last}");
        let n: u64 = last
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .expect("num");
        assert!(n <= 400 && n > 2 * sent - 2, "{n} {sent}");
    }

    #[test]
    fn a_missing_capture_is_an_error_not_a_hang() {
        let mut live = LiveRules::spawn(
            LiveConfig {
                capture: "/nonexistent/saker.cap".into(),
                rules: ruleset(),
                opts: EngineOptions::default(),
                json: true,
                queue: 4,
            },
            Box::new(std::io::sink()),
        )
        .expect("spawns");
        live.offer(&getppid(5));
        let e = live.finish().expect_err("no capture");
        assert!(e.to_string().contains("/nonexistent/saker.cap"), "{e}");
    }
}
