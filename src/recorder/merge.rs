//! Merges the records drained from per-CPU rings into one time-ordered
//! stream.
//!
//! Each CPU's ring is only roughly ordered (a thread can be preempted between
//! taking its timestamp and reserving ring space), and rings are drained one
//! after the other. Records are therefore staged, sorted by timestamp, and
//! released only once they are older than a watermark that trails the drain
//! time, so a late record can still be placed before newer ones.

/// Staging area for drained records.
#[derive(Debug, Default)]
pub struct Merger {
    staging: Vec<u8>,
    index: Vec<Entry>,
    malformed: u64,
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
        let Some(len) = slot.get(0..2).map(|b| u16::from_le_bytes([b[0], b[1]])) else {
            self.malformed += 1;
            return;
        };
        let n = len as usize;
        if n < crate::event::wire::HDR_LEN || n > slot.len() {
            self.malformed += 1;
            return;
        }
        let ts = u64::from_le_bytes(slot[8..16].try_into().unwrap_or([0; 8]));
        let off = self.staging.len() as u32;
        self.staging.extend_from_slice(&slot[..n]);
        self.index.push(Entry { ts, off, len });
    }

    /// Records staged so far.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Ring slots that did not hold a valid record (never expected).
    pub fn malformed(&self) -> u64 {
        self.malformed
    }

    /// Moves every staged record with `ts <= watermark` to `out`, in time
    /// order, at most `limit` of them. Returns how many were moved.
    pub fn release(&mut self, watermark: u64, limit: u64, out: &mut Vec<u8>) -> u64 {
        if self.index.is_empty() || limit == 0 {
            return 0;
        }
        // Mostly sorted already: the stable sort is close to linear here.
        self.index.sort_by_key(|e| e.ts);
        let ready = self.index.partition_point(|e| e.ts <= watermark);
        let n = ready.min(limit.min(usize::MAX as u64) as usize);
        for e in &self.index[..n] {
            let s = e.off as usize;
            out.extend_from_slice(&self.staging[s..s + e.len as usize]);
        }
        if n == self.index.len() {
            self.index.clear();
            self.staging.clear();
        } else {
            let rest: Vec<Entry> = self.index[n..].to_vec();
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
        n as u64
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

    #[test]
    fn respects_the_limit_and_rejects_garbage() {
        let mut m = Merger::default();
        m.push(&[1, 0]);
        m.push(&rec(1, 1)[..20]);
        assert_eq!(m.malformed(), 2);
        for ts in 0..10 {
            m.push(&rec(ts, 1));
        }
        let mut out = Vec::new();
        assert_eq!(m.release(u64::MAX, 4, &mut out), 4);
        assert_eq!(m.len(), 6);
    }
}
