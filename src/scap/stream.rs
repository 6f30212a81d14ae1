//! Blocks of a scap file read from a stream (a gzip decoder), one at a
//! time into a reused buffer: the same framing checks and errors as
//! [`super::block::Blocks`] on the whole decompressed file, without holding
//! it. A decoder failure between blocks is a [`ScapError::Gzip`]; inside a
//! block, the block is truncated there, as the bytes decoded so far show.

use std::io::Read;

use super::detect::{detect, FileKind};

use super::block::{Block, Blocks};
use super::ScapError;

/// Where the walker takes its blocks from.
pub(super) trait BlockSource {
    /// The next block, `None` at the end; nothing after an error.
    fn next_block(&mut self) -> Option<Result<Block<'_>, ScapError>>;
    /// Input bytes (of the file as given) already read for good.
    fn consumed(&self) -> u64;
}

impl BlockSource for Blocks<'_> {
    #[inline(always)]
    fn next_block(&mut self) -> Option<Result<Block<'_>, ScapError>> {
        self.next()
    }
    fn consumed(&self) -> u64 {
        self.pos()
    }
}

/// A gzip stream over the (mapped) compressed file.
pub(super) type Gz<'a> = flate2::bufread::MultiGzDecoder<&'a [u8]>;

/// Decoded bytes are read in pieces this large (blocks are often tiny).
const READ_AHEAD: usize = 64 << 10;

/// Blocks decoded from gzip `input`, at most `limit` decompressed bytes.
pub(super) struct GzBlocks<'a> {
    dec: std::io::BufReader<Gz<'a>>,
    input_len: usize,
    limit: u64,
    /// Decompressed bytes read so far (the next block's offset).
    pos: u64,
    buf: Vec<u8>,
    done: bool,
}

impl<'a> GzBlocks<'a> {
    /// Starts decoding `input`.
    pub fn new(input: &'a [u8], limit: u64) -> Self {
        GzBlocks {
            dec: std::io::BufReader::with_capacity(READ_AHEAD, Gz::new(input)),
            input_len: input.len(),
            limit,
            pos: 0,
            buf: Vec::new(),
            done: false,
        }
    }

    /// Reads into `buf[have..want]` until full, the end, or an error;
    /// returns how many bytes `buf` then holds.
    fn fill(&mut self, want: usize) -> Result<usize, ScapError> {
        let mut have = self.buf.len();
        // Grow as bytes arrive, never by a length read from the file.
        while have < want {
            let step = (want - have).min(1 << 20);
            self.buf.resize(have + step, 0);
            match self.dec.read(&mut self.buf[have..have + step]) {
                Ok(0) => break,
                Ok(n) => have += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(have);
                    return Err(ScapError::Gzip {
                        reason: e.to_string(),
                        offset: (self.input_len - self.dec.get_ref().get_ref().len()) as u64,
                        decompressed: self.pos + have as u64,
                    });
                }
            }
            self.buf.truncate(have);
            if self.pos + have as u64 > self.limit {
                return Err(ScapError::TooLarge { limit: self.limit });
            }
        }
        self.buf.truncate(have);
        Ok(have)
    }

    /// The block at `pos` from the bytes read, or why it is not whole.
    fn block(&mut self) -> Result<Option<usize>, ScapError> {
        self.buf.clear();
        let mut got = self.fill(8);
        if let Ok(0) = got {
            return Ok(None);
        }
        if let Ok(8) = got {
            let total = u32::from_le_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]);
            got = self.fill(total as usize);
        }
        match got {
            Ok(n) => Ok(Some(n)),
            // An error between blocks is the decoder's; inside one, the
            // block is truncated (the framing check below says how).
            Err(e @ ScapError::Gzip { .. }) if self.buf.is_empty() => Err(e),
            Err(e @ ScapError::TooLarge { .. }) => Err(e),
            Err(_) => Ok(Some(self.buf.len())),
        }
    }
}

impl BlockSource for GzBlocks<'_> {
    fn consumed(&self) -> u64 {
        (self.input_len - self.dec.get_ref().get_ref().len()) as u64
    }
    fn next_block(&mut self) -> Option<Result<Block<'_>, ScapError>> {
        if self.done {
            return None;
        }
        match self.block() {
            Ok(Some(_)) => {}
            Ok(None) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        }
        // Frame what was read as the walker over the whole file would:
        // the same checks, errors and offsets.
        let pos = self.pos;
        let mut one = Blocks::at(&self.buf, pos);
        let r = one.next()?;
        match &r {
            Ok(b) => self.pos += (b.body.len() + 12) as u64,
            Err(_) => self.done = true,
        }
        Some(r)
    }
}

/// Checks that gzip `bytes` hold a scap file: its first 12 decoded bytes.
/// If not, the error is the decoder's (or the cap's) when the rest does not
/// decode, as when the whole file was decompressed first.
pub(super) fn gz_head(bytes: &[u8], limit: u64) -> Result<(), ScapError> {
    let mut dec = Gz::new(bytes);
    let mut head = [0u8; 12];
    let mut n = 0;
    let mut err = None;
    while n < head.len() {
        match dec.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    if err.is_none() && detect(&head[..n]) == FileKind::Scap {
        return Ok(());
    }
    let mut total = n as u64;
    if err.is_none() {
        let mut sink = std::io::sink();
        let mut rest = (&mut dec).take(limit.saturating_add(1).saturating_sub(total));
        match std::io::copy(&mut rest, &mut sink) {
            Ok(k) => total += k,
            Err(e) => err = Some(e),
        }
    }
    if total > limit {
        return Err(ScapError::TooLarge { limit });
    }
    Err(match err {
        Some(e) => ScapError::Gzip {
            reason: e.to_string(),
            offset: (bytes.len() - dec.get_ref().len()) as u64,
            decompressed: total,
        },
        None => ScapError::NotScap {
            reason: "gzip content does not start with a scap section header".into(),
        },
    })
}
