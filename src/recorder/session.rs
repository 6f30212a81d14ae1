//! One recording session: load the probes, start the optional command,
//! drain the rings into a time-ordered stream, hand it to the writer thread,
//! stop on a signal / duration / count / command exit, and account for every
//! event that could not be recorded.

use std::cell::RefCell;
use std::mem::MaybeUninit;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use libbpf_rs::RingBufferBuilder;

use super::merge::Merger;
use super::probes::{ProbeConfig, ProbeError, Probes};
use super::writer::{spawn_writer, FirstFile, WriterConfig, WriterMsg, WriterShared};
use super::{inflight_records, RecordError};
use crate::capture::CaptureMeta;
use crate::event::meta::{RecorderConfig, Summary};
use crate::event::wire::{RecordBuilder, CODE_DROP};

/// How long a drained record is held back so that late records from other
/// CPUs can still be ordered before it.
const HOLDBACK_NS: u64 = 20_000_000;
/// Drain period.
const POLL: Duration = Duration::from_millis(10);

/// Everything `saker record` can be asked to do.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Output file (a base name when rotating).
    pub output: PathBuf,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Stop after this many events.
    pub max_events: Option<u64>,
    /// Bytes of I/O buffers per syscall.
    pub snaplen: u32,
    /// Rotate when a file reaches this many MB.
    pub rotate_mb: Option<u64>,
    /// Rotate every this many seconds.
    pub rotate_secs: Option<u64>,
    /// Keep at most this many rotated files (reuse names round-robin).
    pub rotate_files: Option<u32>,
    /// zstd level.
    pub zstd_level: i32,
    /// In-kernel pid filter.
    pub pids: Vec<u32>,
    /// In-kernel comm filter.
    pub comms: Vec<String>,
    /// Only the command's process tree.
    pub only_cmd: bool,
    /// Record entry timestamps (latency).
    pub latency: bool,
    /// Bytes per per-CPU ring.
    pub ring_bytes: u32,
    /// Uncompressed bytes per capture block.
    pub block_size: usize,
    /// Command to launch once the probes are attached.
    pub command: Vec<String>,
    /// The command line, stored in the capture.
    pub command_line: Vec<String>,
    /// Where the command's output goes: `None` inherits saker's stdio; a
    /// path gives the command /dev/null as stdin and that file (created or
    /// truncated, mode 0600) as stdout and stderr.
    pub command_log: Option<PathBuf>,
}

/// Live figures for a status line.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Seconds since the probes were attached.
    pub elapsed: f64,
    /// Events written so far.
    pub events: u64,
    /// Events lost so far.
    pub drops: u64,
    /// Bytes written to disk so far.
    pub bytes: u64,
    /// Uncompressed bytes so far.
    pub raw_bytes: u64,
}

/// What a session did.
#[derive(Debug, Clone, Default)]
pub struct RecordReport {
    /// Files written, in order.
    pub files: Vec<PathBuf>,
    /// Events written.
    pub events: u64,
    /// Events lost.
    pub drops: u64,
    /// Syscalls still in flight at stop, written as unfinished.
    pub unfinished: u64,
    /// Ring slots that held no valid record (each written as a one-event
    /// gap marker and counted in `drops`).
    pub malformed: u64,
    /// Bytes on disk.
    pub bytes: u64,
    /// Uncompressed event bytes.
    pub raw_bytes: u64,
    /// Final chain hash of each file.
    pub chain_hashes: Vec<String>,
    /// Why recording stopped.
    pub stop_reason: String,
    /// Exit status of the command, if one was launched and it exited.
    pub command_status: Option<i32>,
    /// Recording time.
    pub elapsed: Duration,
}

/// Observes a session while it runs (live rules, the TUI, a status line).
pub trait RecordHooks {
    /// The first file is written: its metadata (machine, recorder config,
    /// syscall table, start snapshot). Called once, before any records and
    /// before the command starts.
    fn on_start(&mut self, _meta: &CaptureMeta) {}
    /// A time-ordered batch of wire records about to be written.
    fn on_records(&mut self, _batch: &[u8]) {}
    /// About once a second.
    fn on_status(&mut self, _status: &Status) {}
}

/// Hooks that do nothing.
pub struct NoHooks;
impl RecordHooks for NoHooks {}

pub(crate) fn boottime_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Starts the command to record, if there is one.
fn start_command(
    command: &[String],
    log: Option<&std::path::Path>,
) -> Result<Option<Child>, RecordError> {
    let Some((prog, args)) = command.split_first() else {
        return Ok(None);
    };
    let mut cmd = Command::new(prog);
    cmd.args(args);
    if let Some(log) = log {
        use std::os::unix::fs::OpenOptionsExt;
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(log)
            .map_err(|e| RecordError::Io {
                what: format!("creating the command log {}", log.display()),
                source: e,
            })?;
        let err = out.try_clone().map_err(|e| RecordError::Io {
            what: "duplicating the command log's fd".into(),
            source: e,
        })?;
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    }
    let c = cmd.spawn().map_err(|e| RecordError::Io {
        what: format!("starting {prog}"),
        source: e,
    })?;
    Ok(Some(c))
}

fn exit_code(status: std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0))
}

/// Runs a recording session until a stop condition.
pub fn record(
    opts: &RecordOptions,
    hooks: &mut dyn RecordHooks,
) -> Result<RecordReport, RecordError> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).map_err(|e| RecordError::Io {
            what: "installing signal handlers".into(),
            source: e,
        })?;
    }
    let table = super::table::live_table()?;
    let config = RecorderConfig {
        producer: format!("saker {}", env!("CARGO_PKG_VERSION")),
        command_line: opts.command_line.clone(),
        snaplen: opts.snaplen,
        latency: opts.latency,
        pids: opts.pids.clone(),
        comms: opts.comms.clone(),
        only_cmd: opts.only_cmd,
        zstd_level: opts.zstd_level,
        rotation_index: 0,
    };
    let probe_cfg = ProbeConfig {
        snaplen: opts.snaplen,
        latency: opts.latency,
        pids: opts.pids.clone(),
        comms: opts.comms.clone(),
        only_tracked: opts.only_cmd,
        ring_bytes: opts.ring_bytes,
        table: table.clone(),
    };
    let mut object = MaybeUninit::uninit();
    let mut probes = Probes::load(&probe_cfg, &mut object)?;

    let merger = Rc::new(RefCell::new(Merger::default()));
    let mut builder = RingBufferBuilder::new();
    for ring in probes.rings() {
        let m = Rc::clone(&merger);
        builder
            .add(ring, move |slot: &[u8]| {
                m.borrow_mut().push(slot);
                0
            })
            .map_err(|source| ProbeError::Bpf {
                what: "adding a ring consumer".into(),
                source,
            })?;
    }
    let rb = builder.build().map_err(|source| ProbeError::Bpf {
        what: "building the ring consumer".into(),
        source,
    })?;

    // Attach first, then let the writer thread take the start snapshot: a
    // process forked meanwhile is in the snapshot or in the stream (or
    // both), never in neither. The rings are drained while it works.
    probes.attach()?;
    let started = Instant::now();
    let shared = Arc::new(WriterShared::default());
    let (tx, writer) = spawn_writer(
        WriterConfig {
            output: opts.output.clone(),
            rotate_bytes: opts.rotate_mb.map(|m| m * 1_000_000),
            rotate_every: opts.rotate_secs.map(Duration::from_secs),
            started,
            rotate_files: opts.rotate_files,
            zstd_level: opts.zstd_level,
            block_size: opts.block_size,
            config,
            table,
        },
        Arc::clone(&shared),
    )?;
    let mut child: Option<Child> = None;
    let mut file_ready = false;

    let limit = opts.max_events.unwrap_or(u64::MAX);
    let mut written = 0u64;
    let mut command_status = None;
    let mut stop_reason = String::from("signal");
    let mut last_status = Instant::now();
    let mut out = Vec::with_capacity(1 << 20);
    // Records drained while the first file is being written: the hooks get
    // them after `on_start`.
    let mut early = Vec::new();
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if !file_ready {
            match writer.first_file() {
                FirstFile::Ready(meta) => {
                    file_ready = true;
                    hooks.on_start(&meta);
                    if !early.is_empty() {
                        hooks.on_records(&std::mem::take(&mut early));
                    }
                    // The command starts once its capture file exists.
                    child = start_command(&opts.command, opts.command_log.as_deref())?;
                }
                FirstFile::Pending => {}
                FirstFile::Failed => return Err(writer.join_error()),
            }
        }
        std::thread::sleep(POLL);
        let _ = rb.consume();
        let watermark = boottime_ns().saturating_sub(HOLDBACK_NS);
        let n = merger
            .borrow_mut()
            .release(watermark, limit - written, &mut out);
        if !out.is_empty() {
            written += n;
            if file_ready {
                hooks.on_records(&out);
            } else {
                early.extend_from_slice(&out);
            }
            let batch = std::mem::replace(&mut out, Vec::with_capacity(1 << 20));
            shared.backlog.fetch_add(1, Ordering::Relaxed);
            if tx.send(WriterMsg::Records(batch)).is_err() {
                return Err(writer.join_error());
            }
        }
        if written >= limit {
            stop_reason = "count".into();
            break;
        }
        if opts.duration.is_some_and(|d| started.elapsed() >= d) {
            stop_reason = "duration".into();
            break;
        }
        if let Some(c) = child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                command_status = Some(exit_code(st));
                stop_reason = "command".into();
                // Let the last events of the command reach the rings.
                std::thread::sleep(POLL);
                break;
            }
        }
        if last_status.elapsed() >= Duration::from_secs(1) {
            last_status = Instant::now();
            hooks.on_status(&shared.status(started.elapsed(), written));
        }
    }

    // Stop: detach, drain what is left, then account for what never made it.
    probes.detach();
    if !file_ready {
        match writer.wait_first_file() {
            FirstFile::Ready(meta) => {
                hooks.on_start(&meta);
                if !early.is_empty() {
                    hooks.on_records(&early);
                }
            }
            _ => return Err(writer.join_error()),
        }
    }
    let _ = rb.consume();
    let mut tail = Vec::new();
    let room = limit - written;
    merger.borrow_mut().release(u64::MAX, room, &mut tail);
    let now = boottime_ns();
    let malformed = merger.borrow().malformed();
    let mut drops_per_cpu = Vec::new();
    let mut drops = malformed;
    for (cpu, d) in probes.drops()?.iter().enumerate() {
        drops_per_cpu.push(d.total);
        drops += d.total;
        if d.pending > 0 {
            // Lost after the last in-stream marker: say so at the end.
            tail.extend(
                RecordBuilder::new(CODE_DROP, cpu as u16, now, 0, 0, d.pending as i64)
                    .args(&[d.pending, d.first_ts])
                    .build(),
            );
        }
    }
    let unfinished = if stop_reason == "count" {
        0
    } else {
        let keep = |pid: u32| {
            pid != std::process::id()
                && (opts.pids.is_empty() || opts.pids.contains(&pid))
                && (!opts.only_cmd || probes.is_tracked(pid))
        };
        let recs = inflight_records(now, &probe_cfg.table, &opts.comms, &keep);
        let k = recs.len() as u64;
        for r in recs {
            tail.extend_from_slice(&r);
        }
        k
    };
    if !tail.is_empty() {
        hooks.on_records(&tail);
        shared.backlog.fetch_add(1, Ordering::Relaxed);
        if tx.send(WriterMsg::Records(tail)).is_err() {
            return Err(writer.join_error());
        }
    }
    if command_status.is_none() {
        if let Some(c) = child.as_mut() {
            if let Ok(Some(st)) = c.try_wait() {
                command_status = Some(exit_code(st));
            }
        }
    }
    let summary = Summary {
        events: 0, // filled per file by the writer
        drops,
        drops_per_cpu,
        stop_reason: stop_reason.clone(),
        command_status,
    };
    shared.backlog.fetch_add(1, Ordering::Relaxed);
    let _ = tx.send(WriterMsg::Finish(summary));
    drop(tx);
    let files = writer.join()?;
    Ok(RecordReport {
        events: files.iter().map(|f| f.events).sum(),
        bytes: files.iter().map(|f| f.bytes).sum(),
        raw_bytes: files.iter().map(|f| f.raw_bytes).sum(),
        chain_hashes: files.iter().map(|f| f.chain_hash.clone()).collect(),
        files: files.into_iter().map(|f| f.path).collect(),
        drops,
        unfinished,
        malformed,
        stop_reason,
        command_status,
        elapsed: started.elapsed(),
    })
}
