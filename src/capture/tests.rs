//! Round-trip, seek and corruption tests of the capture format.

use super::*;
use crate::event::meta::{
    ArgDesc, ArgKind, Machine, ProcInfo, RecorderConfig, Snapshot, Summary, SyscallDesc,
    SyscallTable,
};
use crate::event::wire::CODE_DROP;
use crate::event::{Record, RecordBuilder};

pub(super) fn meta() -> CaptureMeta {
    CaptureMeta {
        machine: Machine {
            hostname: "box".into(),
            arch: "x86_64".into(),
            num_cpus: 4,
            ..Default::default()
        },
        config: RecorderConfig {
            producer: "test".into(),
            snaplen: 80,
            zstd_level: 3,
            ..Default::default()
        },
        syscalls: SyscallTable {
            source: "test".into(),
            syscalls: vec![SyscallDesc {
                nr: 0,
                compat: false,
                name: "read".into(),
                args: vec![ArgDesc {
                    name: "fd".into(),
                    ctype: "unsigned int".into(),
                    kind: ArgKind::Fd,
                    aux: 0,
                }]
                .into(),
            }]
            .into(),
        },
        snapshot: Snapshot {
            ts: 5,
            procs: vec![ProcInfo {
                tid: 1,
                pid: 1,
                comm: "init".into(),
                ..Default::default()
            }],
            ..Default::default()
        },
        extra: vec![(99, b"raw bytes".to_vec())],
    }
}

pub(super) fn summary() -> Summary {
    Summary {
        events: 1,
        stop_reason: "signal".into(),
        ..Default::default()
    }
}

/// Records `0..n` (synthetic) one by one in a `Vec`.
pub(super) fn recs(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| synth::record(i, 1_000 + 1000 * i)).collect()
}

/// Writes `records` with `block_size`; `finish` writes the footer.
pub(super) fn write(
    records: &[Vec<u8>],
    block_size: usize,
    finish: bool,
) -> (Vec<u8>, Option<FinishInfo>) {
    let opts = WriterOptions {
        zstd_level: 1,
        block_size,
    };
    let mut w = CaptureWriter::new(Vec::new(), &meta(), opts).unwrap();
    let mut batch = Vec::new();
    for (i, r) in records.iter().enumerate() {
        if i % 3 == 0 {
            w.push_batch(&batch).unwrap();
            batch.clear();
            w.push(r).unwrap();
        } else {
            batch.extend_from_slice(r);
            if batch.len() > 700 {
                w.push_batch(&batch).unwrap();
                batch.clear();
            }
        }
    }
    w.push_batch(&batch).unwrap();
    if finish {
        let (info, bytes) = w.finish_into(&summary()).unwrap();
        (bytes, Some(info))
    } else {
        w.flush_block().unwrap();
        (w.into_inner(), None)
    }
}

/// All events of a reader as `(number, bytes)`.
pub(super) fn events<B: AsRef<[u8]>>(
    r: &CaptureReader<B>,
) -> Result<Vec<(u64, Vec<u8>)>, CaptureError> {
    let mut c = r.cursor();
    let mut out = Vec::new();
    while let Some(e) = c.next() {
        let (n, rec) = e?;
        out.push((n, rec.bytes().to_vec()));
    }
    Ok(out)
}

#[test]
fn round_trip_multi_block() {
    let rs = recs(3000);
    let (file, info) = write(&rs, 4096, true);
    let info = info.unwrap();
    let r = CaptureReader::new(file.as_slice()).unwrap();
    assert!(r.is_complete());
    assert!(r.truncation().is_none());
    assert_eq!(r.meta(), &meta());
    assert!(r.meta_problems().is_empty());
    assert_eq!(r.summary(), Some(&summary()));
    assert!(r.blocks().len() > 10, "{} blocks", r.blocks().len());
    assert_eq!(info.blocks, r.blocks().len() as u64);
    assert_eq!(info.bytes, file.len() as u64);
    let evs = events(&r).unwrap();
    assert_eq!(evs.len(), rs.len());
    for (i, (n, bytes)) in evs.iter().enumerate() {
        assert_eq!(*n, i as u64);
        assert_eq!(bytes, &rs[i]);
    }
    // Totals and per-block info agree with the records.
    let t = r.totals();
    assert_eq!(t.events, 3000);
    assert_eq!(t.bytes, file.len() as u64);
    assert_eq!(
        t.uncompressed_bytes,
        rs.iter().map(|r| r.len() as u64).sum::<u64>()
    );
    assert_eq!(
        (t.first_ts, t.last_ts),
        (Some(1000), Some(1000 + 1000 * 2999))
    );
    let mut want = std::collections::BTreeMap::new();
    let mut drops = 0;
    for b in &rs {
        let (rec, _) = Record::parse(b).unwrap();
        *want.entry(rec.code()).or_insert(0u64) += 1;
        if rec.code() == CODE_DROP {
            drops += rec.arg(0).unwrap();
        }
    }
    assert_eq!(t.counts, want.into_iter().collect::<Vec<_>>());
    assert!(drops > 0);
    assert_eq!(t.drops, drops);
    let mut next = 0;
    for (i, b) in r.blocks().iter().enumerate() {
        assert_eq!(b.first_event, next);
        next += u64::from(b.event_count);
        let sum: u64 = r.block_counts(i).map(|(_, n)| u64::from(n)).sum();
        assert_eq!(sum, u64::from(b.event_count));
        assert_eq!(
            b.first_ts,
            rs[b.first_event as usize][8..16]
                .iter()
                .rev()
                .fold(0, |a, &x| a << 8 | u64::from(x))
        );
    }
    assert_eq!(r.block_counts(r.blocks().len()).count(), 0);
    // read_block gives the verbatim concatenation.
    let mut buf = Vec::new();
    r.read_block(1, &mut buf).unwrap();
    let b = r.blocks()[1];
    let want: Vec<u8> = rs[b.first_event as usize..b.end_event() as usize].concat();
    assert_eq!(buf, want);
    assert!(matches!(
        r.read_block(99_999, &mut buf),
        Err(CaptureError::NoSuchBlock { .. })
    ));
    // Integrity.
    let rep = r.verify();
    assert!(rep.is_ok(), "{:?}", rep.problems);
    assert_eq!(rep.events, 3000);
    assert_eq!(rep.file_hash.as_deref(), Some(info.chain_hash.as_str()));
    assert_eq!(r.file_hash(), Some(info.chain_hash.clone()));
    assert!(r.verify_expect(&info.chain_hash.to_uppercase()).is_ok());
    let bad = r.verify_expect(&"0".repeat(64));
    assert_eq!(bad.problems.len(), 1);
    assert_eq!(bad.problems[0].kind, ProblemKind::HashMismatch);
    assert!(!r.verify_expect("nope").is_ok());
}

#[test]
fn empty_capture_and_big_blocks() {
    let (file, info) = write(&[], 1 << 20, true);
    let r = CaptureReader::new(file).unwrap();
    assert!(r.is_complete());
    assert_eq!(r.blocks().len(), 0);
    assert_eq!(info.unwrap().events, 0);
    assert!(r.cursor().next().is_none());
    assert_eq!(r.block_for_time(0), 0);
    assert!(r.verify().is_ok());
    // One block when everything fits.
    let rs = recs(100);
    let (file, _) = write(&rs, 1 << 20, true);
    let r = CaptureReader::new(file).unwrap();
    assert_eq!(r.blocks().len(), 1);
    assert_eq!(events(&r).unwrap().len(), 100);
}

#[test]
fn seek_event_and_time() {
    let rs = recs(2000);
    let (file, _) = write(&rs, 2000, true);
    let r = CaptureReader::new(file).unwrap();
    let mut c = r.cursor();
    let mut targets = vec![0, 1, 999, 1999];
    targets.extend(
        r.blocks()
            .iter()
            .flat_map(|b| [b.first_event, b.end_event() - 1]),
    );
    for n in targets {
        c.seek_event(n).unwrap();
        let (got, rec) = c.next().unwrap().unwrap();
        assert_eq!(got, n);
        assert_eq!(rec.bytes(), &rs[n as usize][..]);
    }
    c.seek_event(2000).unwrap();
    assert!(c.next().is_none());
    // Timestamps are 1000 + 1000 * i.
    for (ts, want) in [
        (0u64, 0u64),
        (1000, 0),
        (1001, 1),
        (5000, 4),
        (5_500, 5),
        (2_000_000, 1999),
    ] {
        c.seek_time(ts).unwrap();
        let (got, rec) = c.next().unwrap().unwrap();
        assert_eq!((got, rec.ts() >= ts), (want, true), "seek_time({ts})");
        assert_eq!(r.block_for_time(ts), r.block_for_event(want));
    }
    c.seek_time(2_000_001).unwrap();
    assert!(c.next().is_none());
    // Iteration continues across blocks after a seek.
    c.seek_event(10).unwrap();
    let mut n = 10;
    while let Some(e) = c.next() {
        assert_eq!(e.unwrap().0, n);
        n += 1;
    }
    assert_eq!(n, 2000);
}

#[test]
fn seek_time_with_unordered_timestamps() {
    // Timestamps jump back and forth (per-CPU buffers merged coarsely).
    let ts = |i: u64| 10_000 + (i * 7919 % 1000) * 10 + i * 3;
    let rs: Vec<Vec<u8>> = (0..1500).map(|i| synth::record(i, ts(i))).collect();
    let (file, _) = write(&rs, 1500, true);
    let r = CaptureReader::new(file).unwrap();
    let mut c = r.cursor();
    for target in (9_000..25_000).step_by(377) {
        let want = (0..1500u64).find(|&i| ts(i) >= target);
        c.seek_time(target).unwrap();
        assert_eq!(c.next().map(|e| e.unwrap().0), want, "target {target}");
    }
}

#[test]
fn push_validation() {
    let mut w = CaptureWriter::new(Vec::new(), &meta(), WriterOptions::default()).unwrap();
    let a = synth::record(1, 5);
    let two = [a.clone(), a.clone()].concat();
    assert!(matches!(w.push(&two), Err(CaptureError::NotOneRecord { extra }) if extra == a.len()));
    assert!(matches!(
        w.push(&a[..20]),
        Err(CaptureError::BadRecord { .. })
    ));
    let big = RecordBuilder::new(3000, 0, 1, 1, 1, 0).build();
    assert!(matches!(
        w.push(&big),
        Err(CaptureError::BadCode { code: 3000, .. })
    ));
    let batch = [a.clone(), a.clone(), a[..40].to_vec()].concat();
    match w.push_batch(&batch) {
        Err(CaptureError::BadRecord { offset, .. }) => assert_eq!(offset, 2 * a.len() as u64),
        other => panic!("{other:?}"),
    }
    let s = w.stats();
    assert_eq!((s.events, s.blocks, s.buffered_bytes), (2, 0, 2 * a.len()));
    assert!(CaptureWriter::new(
        Vec::new(),
        &meta(),
        WriterOptions {
            zstd_level: 99,
            block_size: 1
        }
    )
    .is_err());
    let mut m = meta();
    m.extra.push((KIND_MACHINE, vec![]));
    assert!(CaptureWriter::new(Vec::new(), &m, WriterOptions::default()).is_err());
}

#[test]
fn file_create_and_mmap_open() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(format!("saker-capture-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.sakr");
    let mut w = CaptureWriter::create(&path, &meta(), WriterOptions::default()).unwrap();
    for r in recs(300) {
        w.push(&r).unwrap();
    }
    let info = w.finish(&summary()).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let r = open(&path).unwrap();
    assert_eq!(r.totals().events, 300);
    assert!(r.verify_expect(&info.chain_hash).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(matches!(open(&path), Err(CaptureError::Io { .. })));
}

#[test]
fn versions() {
    let (mut file, _) = write(&recs(10), 4096, true);
    file[10] = 5; // newer minor: readable, but the header hash changed
    let r = CaptureReader::new(file.clone()).unwrap();
    assert_eq!(r.header().version_minor, 5);
    assert_eq!(events(&r).unwrap().len(), 10);
    assert!(!r.verify().is_ok());
    file[8] = 2;
    assert!(matches!(
        CaptureReader::new(file),
        Err(CaptureError::UnsupportedVersion {
            found: 2,
            supported: VERSION_MAJOR
        })
    ));
}

/// An io writer that fails once `room` bytes are used (a full disk).
struct FullDisk {
    room: usize,
}

impl std::io::Write for FullDisk {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() > self.room {
            return Err(std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full",
            ));
        }
        self.room -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_failure_poisons_the_writer() {
    let opts = WriterOptions {
        zstd_level: 1,
        block_size: 512,
    };
    let mut w = CaptureWriter::new(FullDisk { room: 2000 }, &meta(), opts).unwrap();
    let rs = recs(200);
    let err = rs
        .iter()
        .find_map(|r| w.push(r).err())
        .expect("the disk fills up");
    assert!(matches!(err, CaptureError::Io { .. }), "{err}");
    assert!(matches!(w.push(&rs[0]), Err(CaptureError::Poisoned)));
    assert!(matches!(w.finish(&summary()), Err(CaptureError::Poisoned)));
}
