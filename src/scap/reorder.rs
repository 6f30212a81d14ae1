//! The bounded reorder window between the converter and the capture
//! writer. Records come out of the converter almost in time order: a
//! paired record takes its exit's time and is emitted at the exit, but an
//! unfinished one (an enter never answered) is emitted only when its thread
//! moves on or the file ends, with the older time of its enter.
//!
//! The window keeps records sorted by time (ties in arrival order) and
//! releases the oldest once it holds more than its byte budget. While
//! every record arrives no later than one budget's worth of younger
//! records, the output equals a global stable sort. A record older than
//! one already released is *late*: it is released next (as close to its
//! place as the window allows, its arrival order kept) and counted.
//!
//! Records are ordered by (time, arrival number). Those arriving in order
//! are appended to a queue, their bytes to one byte queue (no allocation
//! per record); the few that arrive older than the queue's newest go to a
//! heap, so neither an in-order nor an early record costs more than a heap
//! step, and the oldest is the smaller of the two fronts.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// A record that arrived early: its time, arrival number and bytes.
type Early = (u64, u64, Vec<u8>);

/// Default budget of the window, in bytes (records plus [`ENTRY_COST`] each).
pub const DEFAULT_WINDOW: usize = 8 << 20;
/// Bytes charged per record beyond its own: the queue entry and allocation.
pub const ENTRY_COST: usize = 48;

/// Time-sorted records waiting to be written.
#[derive(Debug)]
pub struct Reorder {
    /// Records that arrived in order, oldest first: time, arrival, length.
    queue: VecDeque<(u64, u64, usize)>,
    /// Their bytes, concatenated in the same order.
    queued: VecDeque<u8>,
    /// Records that arrived older than `queue`'s newest.
    early: BinaryHeap<Reverse<Early>>,
    /// Arrival number of the next record.
    seq: u64,
    bytes: usize,
    budget: usize,
    /// Time of the last record released.
    released: Option<u64>,
    /// Records that arrived older than one already released.
    pub late: u64,
}

impl Reorder {
    /// A window holding at most `budget` bytes (at least one record).
    pub fn new(budget: usize) -> Self {
        Reorder {
            queue: VecDeque::new(),
            queued: VecDeque::new(),
            early: BinaryHeap::new(),
            seq: 0,
            bytes: 0,
            budget,
            released: None,
            late: 0,
        }
    }

    /// Adds a record with time `ts` (a copy of `rec`).
    pub fn push(&mut self, ts: u64, rec: &[u8]) {
        if self.released.is_some_and(|r| ts < r) {
            self.late += 1;
        }
        self.bytes += rec.len() + ENTRY_COST;
        let seq = self.seq;
        self.seq += 1;
        // Usually the newest: placed at the back.
        if self.queue.back().is_none_or(|(t, _, _)| *t <= ts) {
            self.queue.push_back((ts, seq, rec.len()));
            self.queued.extend(rec);
        } else {
            self.early.push(Reverse((ts, seq, rec.to_vec())));
        }
    }

    /// Appends the oldest record to `out` if the window is over its budget;
    /// whether it did.
    pub fn pop_over_into(&mut self, out: &mut Vec<u8>) -> bool {
        self.bytes > self.budget && self.pop_into(out)
    }

    /// Appends the oldest record to `out` (draining at the end); whether
    /// there was one.
    pub fn pop_into(&mut self, out: &mut Vec<u8>) -> bool {
        let (ts, len) = if heap_first(self.queue.front(), self.early.peek()) {
            let Some(Reverse((ts, _, rec))) = self.early.pop() else {
                return false;
            };
            out.extend_from_slice(&rec);
            (ts, rec.len())
        } else {
            let Some((ts, _, len)) = self.queue.pop_front() else {
                return false;
            };
            let (a, b) = self.queued.as_slices();
            let head = a.len().min(len);
            out.extend_from_slice(&a[..head]);
            out.extend_from_slice(b.get(..len - head).unwrap_or_default());
            self.queued.drain(..len);
            (ts, len)
        };
        self.bytes -= len + ENTRY_COST;
        self.note_released(ts);
        true
    }

    /// Records that a record of time `ts` left the window.
    fn note_released(&mut self, ts: u64) {
        self.released = Some(self.released.map_or(ts, |r| r.max(ts)));
    }

    /// Takes every record held, in the order [`Reorder::pop_into`] would
    /// give them: their bytes, and each record's span in them. The records
    /// that arrived in order stay where they are (no copy); the few early
    /// ones are appended.
    pub fn take_all(&mut self) -> (Vec<u8>, Vec<(usize, usize)>) {
        let queue = std::mem::take(&mut self.queue);
        let mut data = Vec::from(std::mem::take(&mut self.queued));
        // Ascending (time, arrival): the heap's sorted vector reversed.
        let mut early = std::mem::take(&mut self.early).into_sorted_vec();
        early.reverse();
        let mut spans = Vec::with_capacity(queue.len() + early.len());
        let (mut q, mut e) = (queue.into_iter().peekable(), early.into_iter().peekable());
        let mut at = 0;
        loop {
            let ts = if heap_first(q.peek(), e.peek()) {
                let Some(Reverse((ts, _, rec))) = e.next() else {
                    break;
                };
                let start = data.len();
                data.extend_from_slice(&rec);
                spans.push((start, data.len()));
                ts
            } else {
                let Some((ts, _, len)) = q.next() else {
                    break;
                };
                spans.push((at, at + len));
                at += len;
                ts
            };
            self.note_released(ts);
        }
        self.bytes = 0;
        (data, spans)
    }

    /// Bytes held (records plus their entry cost).
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// Whether the oldest record is the early heap's, given the fronts of the
/// in-order queue and of the heap: the smaller (time, arrival) goes first.
fn heap_first(queue: Option<&(u64, u64, usize)>, early: Option<&Reverse<Early>>) -> bool {
    match (queue, early) {
        (Some(q), Some(Reverse(h))) => (h.0, h.1) < (q.0, q.1),
        (None, Some(_)) => true,
        (_, None) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(w: &mut Reorder, out: &mut Vec<u8>) {
        while w.pop_into(out) {}
    }

    #[test]
    fn sorts_within_the_window_stably() {
        let mut w = Reorder::new(100 * ENTRY_COST);
        let mut out = Vec::new();
        for (ts, id) in [(5, 1u8), (3, 2), (5, 3), (1, 4), (3, 5)] {
            w.push(ts, &[id]);
            while w.pop_over_into(&mut out) {}
        }
        drain(&mut w, &mut out);
        assert_eq!(out, [4, 2, 5, 1, 3]);
        assert_eq!(w.late, 0);
        assert_eq!(w.bytes(), 0);
    }

    #[test]
    fn past_the_budget_a_late_record_is_released_next_and_counted() {
        // Budget of 2 one-byte records: the third push releases the oldest.
        let mut w = Reorder::new(2 * (1 + ENTRY_COST));
        let mut out = Vec::new();
        let push = |w: &mut Reorder, ts: u64, id: u8, out: &mut Vec<u8>| {
            w.push(ts, &[id]);
            while w.pop_over_into(out) {}
        };
        push(&mut w, 10, 1, &mut out);
        push(&mut w, 20, 2, &mut out);
        push(&mut w, 30, 3, &mut out); // releases 1 (ts 10)
        assert_eq!(out, [1]);
        push(&mut w, 5, 4, &mut out); // older than 10: late, released first
        assert_eq!(w.late, 1);
        assert_eq!(out, [1, 4]);
        push(&mut w, 15, 5, &mut out); // younger than 10: in order, not late
        assert_eq!(w.late, 1);
        drain(&mut w, &mut out);
        assert_eq!(out, [1, 4, 5, 2, 3]);
        assert_eq!(w.bytes(), 0);
    }

    #[test]
    fn taking_all_gives_what_popping_gives() {
        let pushes: [(u64, &[u8]); 6] = [
            (5, b"a"),
            (3, b"bb"),
            (7, b"c"),
            (1, b"ddd"),
            (7, b"e"),
            (6, b"f"),
        ];
        let (mut popped, mut taken) = (Reorder::new(3 * ENTRY_COST), Reorder::new(3 * ENTRY_COST));
        let (mut by_pop, mut released) = (Vec::new(), Vec::new());
        for (ts, rec) in pushes {
            for w in [&mut popped, &mut taken] {
                w.push(ts, rec);
            }
            while popped.pop_over_into(&mut by_pop) {}
            while taken.pop_over_into(&mut released) {}
        }
        drain(&mut popped, &mut by_pop);
        let (data, spans) = taken.take_all();
        for (a, b) in spans {
            released.extend_from_slice(&data[a..b]);
        }
        assert_eq!(released, by_pop);
        assert_eq!(taken.bytes(), 0);
        assert!(!taken.pop_into(&mut released));
    }
}
