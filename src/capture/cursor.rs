//! [`Cursor`]: iterates the events of a capture in file order, one block
//! decompressed at a time into a reused buffer. Records borrow that buffer
//! (zero-copy), so the cursor is a lending iterator with its own `next`.
//! [`CaptureReader::with_read_ahead`] gives one whose blocks are
//! decompressed on a second thread.

use super::ahead::Ahead;
use super::block::BlockInfo;
use super::codec::decompressor;
use super::{CaptureError, CaptureReader};
use crate::event::Record;

/// A position in a capture's event stream.
pub struct Cursor<'r, B: AsRef<[u8]>> {
    reader: &'r CaptureReader<B>,
    dec: Option<zstd::bulk::Decompressor<'static>>,
    buf: Vec<u8>,
    /// Block loaded in `buf` (when `loaded`) or to load next.
    block: usize,
    loaded: bool,
    /// Offset of the next record in `buf`.
    pos: usize,
    /// Records of the loaded block already passed.
    in_block: u32,
    /// Number of the next event.
    event: u64,
    failed: bool,
    /// The loaded block's records were all parsed and counted already (by
    /// the read-ahead worker): they are read without walking their params
    /// or checking the count again.
    walked: bool,
    /// Blocks decompressed on another thread ([`CaptureReader::with_read_ahead`]).
    pub(crate) ahead: Option<Ahead>,
}

impl<B: AsRef<[u8]>> CaptureReader<B> {
    /// A cursor at the first event.
    pub fn cursor(&self) -> Cursor<'_, B> {
        Cursor {
            reader: self,
            dec: None,
            buf: Vec::new(),
            block: 0,
            loaded: false,
            pos: 0,
            in_block: 0,
            event: 0,
            failed: false,
            walked: false,
            ahead: None,
        }
    }

    /// Calls `f` on every event in order; returns the number of events.
    /// A hook for benchmarks and whole-file scans.
    pub fn for_each_event(&self, mut f: impl FnMut(u64, Record<'_>)) -> Result<u64, CaptureError> {
        let mut c = self.cursor();
        let mut n = 0;
        while let Some(r) = c.next() {
            let (i, rec) = r?;
            f(i, rec);
            n += 1;
        }
        Ok(n)
    }
}

impl<'r, B: AsRef<[u8]>> Cursor<'r, B> {
    /// Number of the event `next` returns (total events at the end).
    pub fn position(&self) -> u64 {
        self.event
    }

    /// Index of the current block (`blocks().len()` at the end).
    pub fn block(&self) -> usize {
        self.block
    }

    fn info(&self) -> Option<&'r BlockInfo> {
        self.reader.blocks.get(self.block)
    }

    fn load(&mut self, i: usize) -> Result<(), CaptureError> {
        self.block = i;
        self.pos = 0;
        self.in_block = 0;
        self.loaded = false;
        self.walked = false;
        let Some(info) = self.info() else {
            self.event = self.reader.blocks.last().map_or(0, BlockInfo::end_event);
            return Ok(());
        };
        self.event = info.first_event;
        if let Some(a) = self.ahead.as_mut() {
            match a.take(i, &mut self.buf) {
                Some(r) => {
                    self.walked = r.inspect_err(|_| self.ahead = None)?;
                    self.loaded = true;
                    return Ok(());
                }
                None => self.ahead = None,
            }
        }
        if self.dec.is_none() {
            self.dec = Some(decompressor()?);
        }
        if let Some(dec) = self.dec.as_mut() {
            self.reader.read_block_with(i, dec, &mut self.buf)?;
        }
        self.loaded = true;
        Ok(())
    }

    fn bad_record(&self, source: crate::event::EventError) -> CaptureError {
        CaptureError::BadRecord {
            location: format!("block {}", self.block),
            offset: self.pos as u64,
            source,
        }
    }

    fn mismatch(&self, reason: String) -> CaptureError {
        let offset = self.info().map_or(0, |b| b.offset);
        CaptureError::BlockMismatch {
            index: self.block,
            offset,
            reason,
        }
    }

    /// Makes `buf[pos..]` start with the next record; `Ok(false)` at the end.
    fn ready(&mut self) -> Result<bool, CaptureError> {
        loop {
            if !self.loaded {
                if self.block >= self.reader.blocks.len() {
                    return Ok(false);
                }
                self.load(self.block)?;
            }
            let count = self.info().map_or(0, |b| b.event_count);
            if self.pos < self.buf.len() {
                if self.in_block >= count {
                    return Err(self.mismatch(format!("more records than its event_count {count}")));
                }
                return Ok(true);
            }
            if self.in_block != count {
                return Err(
                    self.mismatch(format!("{} records, header says {count}", self.in_block))
                );
            }
            self.block += 1;
            self.loaded = false;
        }
    }

    /// The next event and its number; `None` at the end. After an error the
    /// cursor stays at the end.
    #[allow(clippy::should_implement_trait)] // lending: the record borrows the cursor
    pub fn next(&mut self) -> Option<Result<(u64, Record<'_>), CaptureError>> {
        if self.failed {
            return None;
        }
        // In a walked block the next record is known to be there and whole.
        let walked = self.walked && self.pos < self.buf.len();
        if !walked {
            match self.ready() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let rest = self.buf.get(self.pos..).unwrap_or(&[]);
        let parsed = if walked {
            Record::parse_walked(rest)
        } else {
            Record::parse(rest)
        };
        match parsed {
            Ok((rec, _)) => {
                self.pos += rec.bytes().len();
                self.in_block += 1;
                let n = self.event;
                self.event += 1;
                Some(Ok((n, rec)))
            }
            Err(e) => {
                let err = self.bad_record(e);
                self.failed = true;
                Some(Err(err))
            }
        }
    }

    /// Skips records of the loaded block while `skip(number, record)` holds.
    fn skip_while(
        &mut self,
        mut skip: impl FnMut(u64, &Record<'_>) -> bool,
    ) -> Result<(), CaptureError> {
        while self.ready()? {
            let (rec, _) = Record::parse(&self.buf[self.pos..]).map_err(|e| self.bad_record(e))?;
            if !skip(self.event, &rec) {
                break;
            }
            self.pos += rec.bytes().len();
            self.in_block += 1;
            self.event += 1;
        }
        Ok(())
    }

    fn seek_block(&mut self, i: usize) -> Result<(), CaptureError> {
        self.failed = false;
        if self.loaded && self.block == i {
            self.pos = 0;
            self.in_block = 0;
            self.event = self.info().map_or(0, |b| b.first_event);
            return Ok(());
        }
        self.load(i).inspect_err(|_| self.failed = true)
    }

    /// Moves to event number `n` (to the end if there is no such event),
    /// decompressing only its block.
    pub fn seek_event(&mut self, n: u64) -> Result<(), CaptureError> {
        self.seek_block(self.reader.block_for_event(n))?;
        self.skip_while(|i, _| i < n)
            .inspect_err(|_| self.failed = true)
    }

    /// Moves to the first event (in file order) with `ts >= target`,
    /// decompressing only the block found by [`CaptureReader::block_for_time`].
    pub fn seek_time(&mut self, target: u64) -> Result<(), CaptureError> {
        self.seek_block(self.reader.block_for_time(target))?;
        self.skip_while(|_, r| r.ts() < target)
            .inspect_err(|_| self.failed = true)
    }
}
