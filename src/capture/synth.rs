//! Synthetic wire records for tests and benchmarks: a deterministic mix of
//! syscalls with params, forks, execs, exits and drop markers.

use crate::event::wire::{CODE_DROP, CODE_EXEC, CODE_EXIT, CODE_FORK};
use crate::event::{ParamKind, RecordBuilder};

/// Appends `n` records to `out`, numbered from `first` (which also seeds
/// their contents); timestamps are `ts0 + 1000 * i`, non-decreasing.
pub fn records(first: u64, n: u64, ts0: u64, out: &mut Vec<u8>) {
    for i in first..first + n {
        out.extend_from_slice(&record(i, ts0 + 1000 * i));
    }
}

/// The `i`-th synthetic record at time `ts`.
pub fn record(i: u64, ts: u64) -> Vec<u8> {
    let tid = 1000 + (i % 7) as u32;
    let cpu = (i % 4) as u16;
    match i % 50 {
        10 => RecordBuilder::new(CODE_FORK, cpu, ts, tid, tid, 0)
            .args(&[i, i, 0x11, i, i])
            .build(),
        20 => RecordBuilder::new(CODE_EXEC, cpu, ts, tid, tid, 0)
            .args(&[u64::from(tid); 14])
            .param(0, ParamKind::Str, b"/usr/bin/true")
            .param(1, ParamKind::Argv, b"true\0--version")
            .build(),
        30 => RecordBuilder::new(CODE_EXIT, cpu, ts, tid, tid, 0)
            .args(&[0, 1])
            .build(),
        40 => RecordBuilder::new(CODE_DROP, cpu, ts, 0, 0, 0)
            .args(&[i % 5 + 1, ts])
            .build(),
        k if k % 3 == 0 => RecordBuilder::new(257, cpu, ts, tid, tid, 3)
            .args(&[u64::MAX - 99, 0x7ffd_0000 + i, 0, 0o644])
            .param(1, ParamKind::PathComp, format!("f{i}\0tmp").as_bytes())
            .build(),
        k if k % 3 == 1 => RecordBuilder::new(0, cpu, ts, tid, tid, 12)
            .args(&[3, 0x7ffd_1000, 4096])
            .enter_ts(ts.saturating_sub(10))
            .param(1, ParamKind::Buf, b"hello, world")
            .build(),
        _ => RecordBuilder::new(39, cpu, ts, tid, tid, i64::from(tid)).build(),
    }
}
