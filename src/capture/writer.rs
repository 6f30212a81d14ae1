//! [`CaptureWriter`]: appends wire records to blocks, compresses and chains
//! them, and closes the file with the footer. The only I/O is `write_all` on
//! the caller's writer, once per block.

use std::io::Write;
use std::path::Path;

use super::block::{
    encode_header, BlockInfo, BLOCK_CHAIN_OFF, BLOCK_FIXED_LEN, COUNT_ENTRY_LEN, MAX_BLOCK_LEN,
    MAX_CODES,
};
use super::codec::{chain_step, hex, Hash};
use super::footer::{self, FooterParts, MAX_SUMMARY_LEN};
use super::header::FileHeader;
use super::section::{SectionHeader, SECTION_CHAIN_OFF};
use super::{CaptureError, CaptureMeta};
use crate::event::meta::Summary;
use crate::event::wire::CODE_DROP;
use crate::event::Record;

/// Tuning knobs of a [`CaptureWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterOptions {
    /// zstd level of blocks and sections (-7..=22; 3 is a good default).
    pub zstd_level: i32,
    /// A block is cut once its uncompressed records reach this many bytes
    /// (clamped to 1..=64 MiB - 64 KiB).
    pub block_size: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            zstd_level: 3,
            block_size: 1 << 20,
        }
    }
}

/// Progress counters of a writer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Events pushed (including those still buffered).
    pub events: u64,
    /// Blocks written.
    pub blocks: u64,
    /// Bytes written to the file so far.
    pub bytes_written: u64,
    /// Record bytes pushed (uncompressed, including buffered ones).
    pub uncompressed_bytes: u64,
    /// Record bytes buffered in the current block.
    pub buffered_bytes: usize,
    /// Events lost according to the drop markers pushed.
    pub drops: u64,
    /// Per-code event counts (non-zero only, sorted by code).
    pub counts: Vec<(u16, u64)>,
}

/// What [`CaptureWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishInfo {
    /// The file hash in hex: write it down, then `verify --expect` it.
    pub chain_hash: String,
    /// Events in the file.
    pub events: u64,
    /// Blocks in the file.
    pub blocks: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Uncompressed record bytes.
    pub uncompressed_bytes: u64,
}

/// Writes a capture file: header and sections at creation, then blocks as
/// records are pushed, then the footer on [`finish`](Self::finish).
///
/// Offsets are counted from the first byte given to `W`. If the process dies
/// before `finish`, every block already written stays readable.
pub struct CaptureWriter<W: Write> {
    w: W,
    block_size: usize,
    comp: zstd::bulk::Compressor<'static>,
    chain: Hash,
    offset: u64,
    buf: Vec<u8>,
    out: Vec<u8>,
    z: Vec<u8>,
    blk_counts: Box<[u32; MAX_CODES]>,
    blk_list: Vec<(u16, u32)>,
    blk_events: u32,
    blk_min_ts: u64,
    blk_max_ts: u64,
    blk_drops: u64,
    tot_counts: Box<[u64; MAX_CODES]>,
    events: u64,
    drops: u64,
    uncompressed: u64,
    index: Vec<BlockInfo>,
    /// Every block's count table, in order (for the footer).
    block_counts: Vec<(u16, u32)>,
    poisoned: bool,
}

impl CaptureWriter<std::fs::File> {
    /// Creates (or truncates) `path` with mode 0600 and writes the header
    /// and metadata sections.
    pub fn create(
        path: &Path,
        meta: &CaptureMeta,
        opts: WriterOptions,
    ) -> Result<Self, CaptureError> {
        use std::os::unix::fs::OpenOptionsExt;
        let f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| CaptureError::io(format!("creating {}", path.display()), e))?;
        Self::new(f, meta, opts)
    }
}

/// 16 bytes that differ between files: std's per-process random hash keys,
/// mixed with the time and pid.
fn new_file_id(now_ns: u64) -> [u8; 16] {
    use std::hash::{BuildHasher, Hasher};
    let mut h = blake3::Hasher::new();
    for _ in 0..2 {
        let mut s = std::collections::hash_map::RandomState::new().build_hasher();
        s.write_u64(now_ns);
        h.update(&s.finish().to_le_bytes());
    }
    h.update(&now_ns.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.finalize().as_bytes()[..16]);
    id
}

impl<W: Write> CaptureWriter<W> {
    /// Starts a capture on `w`: writes the file header and one section per
    /// metadata part.
    pub fn new(w: W, meta: &CaptureMeta, opts: WriterOptions) -> Result<Self, CaptureError> {
        let levels = zstd::compression_level_range();
        if !levels.contains(&opts.zstd_level) {
            return Err(CaptureError::BadOption {
                what: "zstd_level",
                reason: format!("{} is outside {levels:?}", opts.zstd_level),
            });
        }
        let mut comp = zstd::bulk::Compressor::new(opts.zstd_level)
            .map_err(|e| CaptureError::io("creating a zstd context", e))?;
        comp.include_checksum(true)
            .map_err(|e| CaptureError::io("configuring zstd", e))?;
        let block_size = opts
            .block_size
            .clamp(1, (MAX_BLOCK_LEN as usize) - usize::from(u16::MAX));
        let now_ns = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let header = FileHeader::new(new_file_id(now_ns), now_ns).encode();
        let mut me = CaptureWriter {
            w,
            block_size,
            comp,
            chain: *blake3::hash(&header).as_bytes(),
            offset: 0,
            buf: Vec::with_capacity(block_size + usize::from(u16::MAX)),
            out: Vec::new(),
            z: Vec::new(),
            blk_counts: Box::new([0; MAX_CODES]),
            blk_list: Vec::new(),
            blk_events: 0,
            blk_min_ts: 0,
            blk_max_ts: 0,
            blk_drops: 0,
            tot_counts: Box::new([0; MAX_CODES]),
            events: 0,
            drops: 0,
            uncompressed: 0,
            index: Vec::new(),
            block_counts: Vec::new(),
            poisoned: false,
        };
        me.write_out(&header, "writing the file header")?;
        for (kind, data) in meta.payloads()? {
            me.compress(&data)?;
            let mut h = SectionHeader {
                kind,
                compressed_len: me.z.len() as u32,
                uncompressed_len: data.len() as u32,
                chain: [0; 32],
            };
            h.chain = chain_step(&me.chain, &h.encode(), SECTION_CHAIN_OFF, &me.z);
            me.chain = h.chain;
            let mut bytes = h.encode().to_vec();
            bytes.extend_from_slice(&me.z);
            me.write_out(&bytes, "writing a metadata section")?;
        }
        Ok(me)
    }

    fn compress(&mut self, data: &[u8]) -> Result<(), CaptureError> {
        self.z.clear();
        self.z.reserve(zstd::compress_bound(data.len()));
        self.comp
            .compress_to_buffer(data, &mut self.z)
            .map_err(|e| CaptureError::io("zstd compression", e))?;
        Ok(())
    }

    fn write_out(&mut self, bytes: &[u8], what: &str) -> Result<(), CaptureError> {
        if let Err(e) = self.w.write_all(bytes) {
            self.poisoned = true;
            return Err(CaptureError::io(what, e));
        }
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Appends one record; `record` must hold exactly one valid wire record.
    pub fn push(&mut self, record: &[u8]) -> Result<(), CaptureError> {
        let (rec, rest) = Record::parse(record).map_err(|source| CaptureError::BadRecord {
            location: "push".into(),
            offset: 0,
            source,
        })?;
        if !rest.is_empty() {
            return Err(CaptureError::NotOneRecord { extra: rest.len() });
        }
        self.add(rec, 0)
    }

    /// Appends concatenated records (as read from a ring buffer). Each is
    /// validated; on error the records before the bad one have been pushed.
    pub fn push_batch(&mut self, records: &[u8]) -> Result<(), CaptureError> {
        let mut rest = records;
        while !rest.is_empty() {
            let off = (records.len() - rest.len()) as u64;
            let (rec, tail) = Record::parse(rest).map_err(|source| CaptureError::BadRecord {
                location: "batch".into(),
                offset: off,
                source,
            })?;
            self.add(rec, off)?;
            rest = tail;
        }
        Ok(())
    }

    #[inline]
    fn add(&mut self, rec: Record<'_>, off: u64) -> Result<(), CaptureError> {
        if self.poisoned {
            return Err(CaptureError::Poisoned);
        }
        let code = rec.code();
        let slot = self
            .blk_counts
            .get_mut(usize::from(code))
            .ok_or(CaptureError::BadCode {
                offset: off,
                code,
                max: (MAX_CODES - 1) as u16,
            })?;
        *slot += 1;
        let ts = rec.ts();
        if self.blk_events == 0 {
            (self.blk_min_ts, self.blk_max_ts) = (ts, ts);
        } else {
            self.blk_min_ts = self.blk_min_ts.min(ts);
            self.blk_max_ts = self.blk_max_ts.max(ts);
        }
        if code == CODE_DROP {
            let n = rec.arg(crate::event::wire::drop::COUNT).unwrap_or(0);
            self.blk_drops = self.blk_drops.saturating_add(n);
            self.drops = self.drops.saturating_add(n);
        }
        self.buf.extend_from_slice(rec.bytes());
        self.blk_events += 1;
        self.events += 1;
        self.uncompressed += rec.bytes().len() as u64;
        if self.buf.len() >= self.block_size {
            self.cut()?;
        }
        Ok(())
    }

    /// Compresses and writes the buffered records as one block (if any).
    fn cut(&mut self) -> Result<(), CaptureError> {
        if self.blk_events == 0 {
            return Ok(());
        }
        if self.poisoned {
            return Err(CaptureError::Poisoned);
        }
        self.blk_list.clear();
        for (code, n) in self.blk_counts.iter_mut().enumerate() {
            if *n != 0 {
                self.blk_list.push((code as u16, *n));
                self.tot_counts[code] += u64::from(*n);
                *n = 0;
            }
        }
        let buf = std::mem::take(&mut self.buf);
        let r = self.compress(&buf);
        self.buf = buf;
        r.inspect_err(|_| self.poisoned = true)?;
        let n_counts = self.blk_list.len();
        let first_event = self.events - u64::from(self.blk_events);
        let mut info = BlockInfo {
            offset: self.offset,
            header_len: (BLOCK_FIXED_LEN + n_counts * COUNT_ENTRY_LEN) as u16,
            n_counts: n_counts as u16,
            seq: self.index.len() as u32,
            event_count: self.blk_events,
            compressed_len: self.z.len() as u32,
            uncompressed_len: self.buf.len() as u32,
            first_ts: self.blk_min_ts,
            last_ts: self.blk_max_ts,
            first_event,
            drops: self.blk_drops,
            chain: [0; 32],
        };
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        encode_header(&info, &self.blk_list, &mut out);
        info.chain = chain_step(&self.chain, &out, BLOCK_CHAIN_OFF, &self.z);
        out[BLOCK_CHAIN_OFF..BLOCK_CHAIN_OFF + 32].copy_from_slice(&info.chain);
        out.extend_from_slice(&self.z);
        let r = self.write_out(&out, "writing a block");
        self.out = out;
        r?;
        self.chain = info.chain;
        self.index.push(info);
        self.block_counts.extend_from_slice(&self.blk_list);
        self.buf.clear();
        (self.blk_events, self.blk_drops) = (0, 0);
        Ok(())
    }

    /// Writes the buffered records as a block and flushes the io writer.
    pub fn flush_block(&mut self) -> Result<(), CaptureError> {
        self.cut()?;
        self.w
            .flush()
            .map_err(|e| CaptureError::io("flushing the capture", e))
    }

    /// Changes the zstd level of the blocks written from now on (each block
    /// is a self-contained zstd frame, so readers need not know). The
    /// recorder lowers it when compression falls behind the event rate.
    pub fn set_zstd_level(&mut self, level: i32) -> Result<(), CaptureError> {
        let levels = zstd::compression_level_range();
        if !levels.contains(&level) {
            return Err(CaptureError::BadOption {
                what: "zstd_level",
                reason: format!("{level} is outside {levels:?}"),
            });
        }
        self.comp
            .set_compression_level(level)
            .map_err(|e| CaptureError::Io {
                what: "setting the zstd level".into(),
                source: e,
            })
    }

    /// Progress counters.
    pub fn stats(&self) -> WriterStats {
        let counts = (0..MAX_CODES)
            .filter_map(|c| {
                let n = self.tot_counts[c] + u64::from(self.blk_counts[c]);
                (n != 0).then_some((c as u16, n))
            })
            .collect();
        WriterStats {
            events: self.events,
            blocks: self.index.len() as u64,
            bytes_written: self.offset,
            uncompressed_bytes: self.uncompressed,
            buffered_bytes: self.buf.len(),
            drops: self.drops,
            counts,
        }
    }

    /// Writes the last block and the footer, flushes, and returns what was
    /// written, including the file hash to write down.
    pub fn finish(self, summary: &Summary) -> Result<FinishInfo, CaptureError> {
        self.finish_into(summary).map(|(info, _)| info)
    }

    /// Like [`finish`](Self::finish), also handing back the io writer.
    pub fn finish_into(mut self, summary: &Summary) -> Result<(FinishInfo, W), CaptureError> {
        if self.poisoned {
            return Err(CaptureError::Poisoned);
        }
        self.cut()?;
        let json = serde_json::to_vec(summary).map_err(|e| CaptureError::Json {
            what: "footer summary",
            offset: self.offset,
            reason: e.to_string(),
        })?;
        if json.len() > MAX_SUMMARY_LEN as usize {
            return Err(CaptureError::TooLarge {
                what: "summary",
                offset: self.offset,
                len: json.len() as u64,
                max: u64::from(MAX_SUMMARY_LEN),
            });
        }
        self.compress(&json)?;
        let stats = self.stats();
        let (bytes, hash) = footer::encode(
            &FooterParts {
                index: &self.index,
                block_counts: &self.block_counts,
                totals: &stats.counts,
                events: self.events,
                drops: self.drops,
                uncompressed_bytes: self.uncompressed,
                summary_z: &self.z,
                summary_len: json.len() as u32,
                last_chain: self.chain,
            },
            self.offset,
        );
        self.write_out(&bytes, "writing the footer")?;
        self.w
            .flush()
            .map_err(|e| CaptureError::io("flushing the capture", e))?;
        let info = FinishInfo {
            chain_hash: hex(&hash),
            events: self.events,
            blocks: self.index.len() as u64,
            bytes: self.offset,
            uncompressed_bytes: self.uncompressed,
        };
        Ok((info, self.w))
    }

    /// Gives back the io writer without writing the pending block or a
    /// footer: the file then reads as truncated after its last block.
    pub fn into_inner(self) -> W {
        self.w
    }

    /// Chain value of the last section or block written (hex): the hash a
    /// truncated file's last complete block will carry.
    pub fn last_chain(&self) -> String {
        hex(&self.chain)
    }
}
