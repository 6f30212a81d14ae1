//! Merges the records drained from per-CPU rings into one time-ordered
//! stream.
//!
//! Each CPU's ring is only roughly ordered (a thread can be preempted between
//! taking its timestamp and reserving ring space), and rings are drained one
//! after the other. Records are therefore staged, sorted by timestamp, and
//! released only once they are older than a watermark that trails the drain
//! time, so a late record can still be placed before newer ones.
//!
//! Gap markers are never held back by the event limit (`-n`), and a ring
//! slot that holds no valid record becomes a gap marker of its own: a
//! capture never hides a loss.

use crate::event::wire::{RecordBuilder, CODE_DROP, CPU_UNKNOWN};

/// Staging area for drained records.
#[derive(Debug, Default)]
pub struct Merger {
    staging: Vec<u8>,
    index: Vec<Entry>,
    malformed: u64,
    last_ts: u64,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    ts: u64,
    off: u32,
    len: u16,
}

impl Merger {
    /// Stages one record as it came out of a ring (the ring slot may be
    /// longer than the record; its `len` field says how much is real).
    pub fn push(&mut self, slot: &[u8]) {
        let len = slot
            .get(0..2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]));
        let n = len as usize;
        if n < crate::event::wire::HDR_LEN || n > slot.len() {
            // A lost event: reported in-stream like a ring overflow, at the
            // time of the last good record (CPU unknown).
            self.malformed += 1;
            let marker = RecordBuilder::new(CODE_DROP, CPU_UNKNOWN, self.last_ts, 0, 0, 1)
                .args(&[1, self.last_ts])
                .build();
            self.stage(self.last_ts, &marker);
            return;
        }
        let ts = u64::from_le_bytes(slot[8..16].try_into().unwrap_or([0; 8]));
        self.last_ts = self.last_ts.max(ts);
        self.stage(ts, &slot[..n]);
    }

    fn stage(&mut self, ts: u64, rec: &[u8]) {
        let off = self.staging.len() as u32;
        self.staging.extend_from_slice(rec);
        self.index.push(Entry {
            ts,
            off,
            len: rec.len() as u16,
        });
    }

    /// Records staged so far.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Ring slots that did not hold a valid record (never expected); each
    /// was staged as a one-event gap marker.
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    fn is_marker(&self, e: &Entry) -> bool {
        let s = e.off as usize;
        self.staging.get(s + 2..s + 4) == Some(&CODE_DROP.to_le_bytes()[..])
    }

    /// Moves staged records with `ts <= watermark` to `out`, in time order:
    /// at most `limit` events, plus every ready gap marker (markers are
    /// never held back by the limit). Returns how many events (not
    /// counting markers) were moved.
    pub fn release(&mut self, watermark: u64, limit: u64, out: &mut Vec<u8>) -> u64 {
        if self.index.is_empty() {
            return 0;
        }
        // Mostly sorted already: the stable sort is close to linear here.
        self.index.sort_by_key(|e| e.ts);
        let ready = self.index.partition_point(|e| e.ts <= watermark);
        let mut events = 0u64;
        let mut kept: Vec<Entry> = Vec::new();
        for i in 0..ready {
            let e = self.index[i];
            let marker = self.is_marker(&e);
            if !marker && events >= limit {
                kept.push(e);
                continue;
            }
            events += u64::from(!marker);
            let s = e.off as usize;
            out.extend_from_slice(&self.staging[s..s + e.len as usize]);
        }
        if kept.is_empty() && ready == self.index.len() {
            self.index.clear();
            self.staging.clear();
        } else {
            kept.extend_from_slice(&self.index[ready..]);
            let rest = kept;
            let mut staging = Vec::with_capacity(self.staging.len() / 2);
            self.index.clear();
            for e in rest {
                let s = e.off as usize;
                let off = staging.len() as u32;
                staging.extend_from_slice(&self.staging[s..s + e.len as usize]);
                self.index.push(Entry { off, ..e });
            }
            self.staging = staging;
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Record, RecordBuilder};

    fn rec(ts: u64, tid: u32) -> Vec<u8> {
        RecordBuilder::new(39, 0, ts, tid, tid, 0).build()
    }

    #[test]
    fn releases_in_time_order_up_to_the_watermark() {
        let mut m = Merger::default();
        for (ts, tid) in [(30, 1), (10, 2), (20, 3), (50, 4)] {
            let mut slot = rec(ts, tid);
            slot.extend_from_slice(&[0xAA; 16]); // ring padding
            m.push(&slot);
        }
        let mut out = Vec::new();
        assert_eq!(m.release(30, u64::MAX, &mut out), 3);
        let mut ts = Vec::new();
        let mut buf = &out[..];
        while !buf.is_empty() {
            let (r, rest) = Record::parse(buf).unwrap();
            ts.push(r.ts());
            buf = rest;
        }
        assert_eq!(ts, [10, 20, 30]);
        assert_eq!(m.len(), 1);
        out.clear();
        assert_eq!(m.release(u64::MAX, u64::MAX, &mut out), 1);
        assert_eq!(Record::parse(&out).unwrap().0.tid(), 4);
    }

    fn codes(out: &[u8]) -> Vec<(u16, u64)> {
        let mut v = Vec::new();
        let mut buf = out;
        while !buf.is_empty() {
            let (r, rest) = Record::parse(buf).unwrap();
            v.push((r.code(), r.ts()));
            buf = rest;
        }
        v
    }

    #[test]
    fn respects_the_limit_and_reports_garbage_as_drops() {
        let mut m = Merger::default();
        m.push(&rec(5, 1));
        m.push(&[1, 0]);
        m.push(&rec(1, 1)[..20]);
        assert_eq!(m.malformed(), 2);
        for ts in 10..20 {
            m.push(&rec(ts, 1));
        }
        let mut out = Vec::new();
        assert_eq!(m.release(u64::MAX, 4, &mut out), 4);
        // The two garbage slots are markers at the last good time (5).
        assert_eq!(
            codes(&out),
            [
                (39, 5),
                (CODE_DROP, 5),
                (CODE_DROP, 5),
                (39, 10),
                (39, 11),
                (39, 12)
            ]
        );
        assert_eq!(m.len(), 7);
    }

    #[test]
    fn markers_pass_the_limit() {
        let mut m = Merger::default();
        for ts in 0..6 {
            m.push(&rec(ts, 1));
        }
        let marker = RecordBuilder::new(CODE_DROP, 0, 4, 0, 0, 9)
            .args(&[9, 3])
            .build();
        m.push(&marker);
        let mut out = Vec::new();
        assert_eq!(m.release(u64::MAX, 2, &mut out), 2);
        assert_eq!(codes(&out), [(39, 0), (39, 1), (CODE_DROP, 4)]);
        assert_eq!(m.len(), 4);
        // A limit of zero still lets markers out, and keeps the rest staged.
        m.push(&marker);
        out.clear();
        assert_eq!(m.release(u64::MAX, 0, &mut out), 0);
        assert_eq!(codes(&out), [(CODE_DROP, 4)]);
        assert_eq!(m.len(), 4);
        out.clear();
        assert_eq!(m.release(u64::MAX, u64::MAX, &mut out), 4);
        assert_eq!(codes(&out), [(39, 2), (39, 3), (39, 4), (39, 5)]);
    }
}
