//! Read-ahead: a [`Cursor`] whose blocks are decompressed on a second
//! thread while the current block's records are processed. The worker runs
//! at most [`AHEAD`] blocks ahead (a bounded channel), reuses the buffers
//! the cursor is done with, and stops at the first error, which the cursor
//! reports where it would have met it reading alone. While the cursor is
//! the slower side, the worker also walks each block's records, so the
//! cursor reads them without checking them again.

use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, TrySendError};

use super::codec::decompressor;
use super::{CaptureError, CaptureReader, Cursor};
use crate::event::Record;

/// Blocks decompressed and waiting, besides the one being decompressed
/// and the one being read: at most `AHEAD + 2` block buffers are alive.
pub const AHEAD: usize = 1;

/// A block from the worker: its index and its records (or why not), and
/// whether they all parse and are as many as its header says.
type Loaded = (usize, Result<(Vec<u8>, bool), CaptureError>);

/// Whether `buf` is exactly `count` records that [`Record::parse`] accepts.
fn walk(buf: &[u8], count: u32) -> bool {
    let (mut rest, mut n) = (buf, 0u32);
    while !rest.is_empty() {
        match Record::parse(rest) {
            Ok((_, r)) => rest = r,
            Err(_) => return false,
        }
        n += 1;
    }
    n == count
}

/// The cursor's end of the read-ahead.
pub(crate) struct Ahead {
    rx: Receiver<Loaded>,
    /// Spent buffers back to the worker.
    back: Sender<Vec<u8>>,
    /// Index of the block the next message holds.
    next: usize,
}

impl Ahead {
    /// Block `i` into `buf` (the old buffer goes back to the worker) and
    /// whether the worker [walked](walk) it; `None` when the worker is not
    /// where the cursor is (after a seek) or has stopped, so the caller
    /// reads the block itself.
    pub(crate) fn take(
        &mut self,
        i: usize,
        buf: &mut Vec<u8>,
    ) -> Option<Result<bool, CaptureError>> {
        if i != self.next {
            return None;
        }
        let (j, r) = self.rx.recv().ok()?;
        if j != i {
            return None;
        }
        self.next += 1;
        Some(r.map(|(b, walked)| {
            let old = std::mem::replace(buf, b);
            let _ = self.back.send(old);
            walked
        }))
    }
}

impl<B: AsRef<[u8]> + Sync> CaptureReader<B> {
    /// Calls `f` with a cursor at the first event whose blocks are read
    /// ahead on a second thread (a plain [`cursor`](Self::cursor) with one
    /// CPU or one block). Seeking works but ends the read-ahead.
    pub fn with_read_ahead<R>(&self, f: impl FnOnce(&mut Cursor<'_, B>) -> R) -> R {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < 2 || self.blocks.len() < 2 {
            return f(&mut self.cursor());
        }
        std::thread::scope(|s| {
            let (tx, rx) = sync_channel::<Loaded>(AHEAD);
            let (back, spent) = channel::<Vec<u8>>();
            s.spawn(move || {
                let mut dec = match decompressor() {
                    Ok(d) => d,
                    Err(e) => {
                        let _ = tx.send((0, Err(e)));
                        return;
                    }
                };
                for i in 0..self.blocks.len() {
                    let mut buf = spent.try_recv().unwrap_or_default();
                    let r = self.read_block_with(i, &mut dec, &mut buf);
                    let failed = r.is_err();
                    // Walked only while the cursor is behind (the queue is
                    // full), so walking never keeps it waiting.
                    let sent = match tx.try_send((i, r.map(|()| (buf, false)))) {
                        Err(TrySendError::Full((i, Ok((buf, _))))) => {
                            let walked = walk(&buf, self.blocks[i].event_count);
                            tx.send((i, Ok((buf, walked)))).is_ok()
                        }
                        Err(TrySendError::Full(m)) => tx.send(m).is_ok(),
                        Err(TrySendError::Disconnected(_)) => false,
                        Ok(()) => true,
                    };
                    // A closed channel: the cursor is gone.
                    if !sent || failed {
                        return;
                    }
                }
            });
            let mut cur = self.cursor();
            cur.ahead = Some(Ahead { rx, back, next: 0 });
            // `cur` (the receiver) drops before the scope joins the worker.
            f(&mut cur)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{events, recs, write};
    use super::*;

    /// Every result of a cursor, errors as text, until it ends.
    fn drain<B: AsRef<[u8]>>(c: &mut Cursor<'_, B>) -> Vec<Result<(u64, Vec<u8>), String>> {
        let mut out = Vec::new();
        while let Some(r) = c.next() {
            out.push(
                r.map(|(n, rec)| (n, rec.bytes().to_vec()))
                    .map_err(|e| e.to_string()),
            );
        }
        out
    }

    #[test]
    fn same_events_as_a_plain_cursor() {
        let (file, _) = write(&recs(400), 1500, true);
        let r = CaptureReader::new(file).unwrap();
        assert!(r.blocks().len() > 4);
        let plain: Vec<_> = events(&r).unwrap().into_iter().map(Ok).collect();
        assert_eq!(r.with_read_ahead(drain), plain);
        // Stopping early and seeking back both work.
        let again = r.with_read_ahead(|c| {
            for _ in 0..10 {
                c.next();
            }
            c.seek_event(3).unwrap();
            drain(c)
        });
        assert_eq!(again, plain[3..]);
    }

    #[test]
    fn walk_accepts_only_whole_counted_records() {
        let recs = recs(5);
        let buf: Vec<u8> = recs.concat();
        assert!(walk(&buf, 5));
        assert!(!walk(&buf, 4) && !walk(&buf, 6));
        assert!(!walk(&buf[..buf.len() - 1], 5), "a cut record");
        // A param whose length runs past its record.
        let mut bad = recs[0].clone();
        bad.extend_from_slice(&[200, 0, 0, 1]);
        let len = bad.len() as u16;
        bad[..2].copy_from_slice(&len.to_le_bytes());
        assert!(Record::parse(&bad).is_err());
        assert!(!walk(&bad, 1));
        assert!(walk(&[], 0));
    }

    #[test]
    fn a_damaged_block_fails_where_a_plain_cursor_fails() {
        let (mut file, _) = write(&recs(300), 2000, true);
        let b = CaptureReader::new(file.clone()).unwrap().blocks()[2];
        file[b.payload_offset() as usize + 5] ^= 1;
        let r = CaptureReader::new(file).unwrap();
        let plain = drain(&mut r.cursor());
        assert!(plain.last().unwrap().is_err());
        assert_eq!(plain.len() as u64, b.first_event + 1);
        assert_eq!(r.with_read_ahead(drain), plain);
    }
}
