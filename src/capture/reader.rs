//! [`CaptureReader`]: opens a capture from bytes (a `Vec<u8>` or an mmap),
//! decodes its header, sections and block index (from the footer, or by
//! walking block headers when the file was cut short), and decompresses
//! blocks on request. Parsing only: the one I/O is mapping the file in
//! [`open`] / [`CaptureReader::open_mmap`].
//!
//! A valid 1.1 footer is trusted: opening reads the footer and the last
//! block's header only, never the other blocks (`verify` checks them all).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::block::{
    counts, decode_header, BlockInfo, BLOCK_CHAIN_OFF, BLOCK_FIXED_LEN, COUNT_ENTRY_LEN,
    MAX_BLOCK_LEN, MAX_CODES,
};
use super::codec::{chain_step, decompress_exact, decompressor, u32_at, Hash};
use super::footer::{self, Footer, FOOTER_MAGIC};
use super::header::FileHeader;
use super::section::{parse_sections, SectionInfo};
use super::{CaptureError, CaptureMeta};
use crate::event::meta::Summary;

/// Where and why a file without a valid footer stops being readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// File offset of the first byte that is not part of a complete block.
    pub offset: u64,
    /// What was found there.
    pub reason: String,
}

/// Whole-file counters, from the block headers (no decompression).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Readable events.
    pub events: u64,
    /// Readable blocks.
    pub blocks: u64,
    /// Per-code event counts (non-zero only, sorted by code).
    pub counts: Vec<(u16, u64)>,
    /// Events lost according to the drop markers (sum of their arg 0).
    pub drops: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// Uncompressed record bytes.
    pub uncompressed_bytes: u64,
    /// Smallest event timestamp, if any event.
    pub first_ts: Option<u64>,
    /// Largest event timestamp, if any event.
    pub last_ts: Option<u64>,
}

/// A capture file opened for reading, over any byte container.
pub struct CaptureReader<B: AsRef<[u8]>> {
    pub(crate) bytes: B,
    pub(crate) header: FileHeader,
    pub(crate) meta: CaptureMeta,
    pub(crate) meta_problems: Vec<CaptureError>,
    pub(crate) sections: Vec<SectionInfo>,
    pub(crate) blocks_start: usize,
    pub(crate) blocks: Vec<BlockInfo>,
    /// `max_last_ts[i]` = max of `last_ts` over blocks `0..=i`.
    max_last_ts: Vec<u64>,
    pub(crate) footer: Option<Footer>,
    /// Where each block's counts start in the footer's table (1.1 footers).
    footer_counts_at: Option<Vec<usize>>,
    truncation: Option<Truncation>,
    totals: Totals,
    decompressed: AtomicU64,
}

impl<B: AsRef<[u8]>> std::fmt::Debug for CaptureReader<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureReader")
            .field("header", &self.header)
            .field("blocks", &self.blocks.len())
            .field("complete", &self.footer.is_some())
            .field("truncation", &self.truncation)
            .finish_non_exhaustive()
    }
}

/// Opens `path` through a read-only memory map.
///
/// This is a safe wrapper over [`CaptureReader::open_mmap`] for the CLI and
/// TUI, which accept its contract: capture files are written once (0600,
/// owned by the recorder's user) and only ever appended to. If another
/// process truncates the file while it is mapped, reading the lost pages
/// raises SIGBUS and the process dies; it never reads wrong data silently.
/// Library users who cannot accept that should read the file into a
/// `Vec<u8>` and call [`CaptureReader::new`].
pub fn open(path: &Path) -> Result<CaptureReader<memmap2::Mmap>, CaptureError> {
    // SAFETY: the documented contract above: the caller opens capture files
    // that are not truncated concurrently; appends do not affect the mapping.
    unsafe { CaptureReader::open_mmap(path) }
}

impl CaptureReader<memmap2::Mmap> {
    /// Maps `path` read-only and opens it.
    ///
    /// # Safety
    ///
    /// Like ripgrep's `MmapChoice::auto`: there is no way to make a file
    /// mapping safe when another process may change the file. The caller
    /// promises the file is not truncated or rewritten in place while the
    /// reader lives (truncation raises SIGBUS on access; an in-place rewrite
    /// makes already-validated bytes change under the reader). Appending is
    /// harmless: the mapping keeps its length.
    pub unsafe fn open_mmap(path: &Path) -> Result<Self, CaptureError> {
        let f = std::fs::File::open(path)
            .map_err(|e| CaptureError::io(format!("opening {}", path.display()), e))?;
        // SAFETY: forwarded to our caller (see `# Safety`).
        let map = unsafe { memmap2::Mmap::map(&f) }
            .map_err(|e| CaptureError::io(format!("mapping {}", path.display()), e))?;
        Self::new(map)
    }
}

/// Outcome of walking block headers.
struct Walk {
    blocks: Vec<BlockInfo>,
    stop: Option<Truncation>,
}

/// Walks block headers from `start` until `end`. With `check_chain`, each
/// block's chain is recomputed (used when there is no trusted footer).
fn walk(file: &[u8], start: usize, end: usize, mut prev: Hash, check_chain: bool) -> Walk {
    let file = file.get(..end).unwrap_or(file);
    let mut w = Walk {
        blocks: Vec::new(),
        stop: None,
    };
    let mut off = start;
    let mut next_event = 0u64;
    let stop = |offset: usize, reason: String| {
        Some(Truncation {
            offset: offset as u64,
            reason,
        })
    };
    while off < end {
        if u32_at(file, off) == Some(FOOTER_MAGIC) {
            w.stop = stop(off, "footer is incomplete or invalid".into());
            return w;
        }
        let info = match decode_header(file, off) {
            Ok(i) => i,
            Err(e) => {
                w.stop = stop(off, e.to_string());
                return w;
            }
        };
        if info.seq as usize != w.blocks.len() || info.first_event != next_event {
            w.stop = stop(
                off,
                format!(
                    "block has seq {} / first event {}, expected {} / {} (blocks reordered or lost)",
                    info.seq,
                    info.first_event,
                    w.blocks.len(),
                    next_event
                ),
            );
            return w;
        }
        if check_chain {
            let hdr = &file[off..off + usize::from(info.header_len)];
            let payload = &file[info.payload_offset() as usize..info.end() as usize];
            if chain_step(&prev, hdr, BLOCK_CHAIN_OFF, payload) != info.chain {
                w.stop = stop(
                    off,
                    "block hash chain mismatch (block changed or torn)".into(),
                );
                return w;
            }
        }
        prev = info.chain;
        next_event = info.end_event();
        off = info.end() as usize;
        w.blocks.push(info);
    }
    w
}

/// Checks a 1.1 footer's index without reading the blocks it describes:
/// the blocks tile the file from `start` to the footer in sequence, and each
/// entry is a plausible header (the same bounds `decode_header` checks).
/// Then decodes the last block's header, which must equal its entry and
/// chain to the footer. Returns the blocks (chain known for the last only)
/// and where each block's counts start in `f.block_counts`.
fn trust_footer(
    file: &[u8],
    start: usize,
    prev: Hash,
    f: &Footer,
) -> Result<(Vec<BlockInfo>, Vec<usize>), String> {
    let mut at = Vec::with_capacity(f.index.len());
    let (mut off, mut next_event, mut c) = (start as u64, 0u64, 0usize);
    for (i, b) in f.index.iter().enumerate() {
        let n = usize::from(b.n_counts);
        let table = f
            .block_counts
            .get(c..c + n)
            .ok_or("block-count table too short")?;
        let sum: u64 = table.iter().map(|e| u64::from(e.1)).sum();
        let sorted = table.windows(2).all(|w| w[0].0 < w[1].0);
        let ok = b.offset == off
            && b.seq as usize == i
            && b.first_event == next_event
            && b.event_count > 0
            && sum == u64::from(b.event_count)
            && sorted
            && table
                .iter()
                .all(|e| usize::from(e.0) < MAX_CODES && e.1 > 0)
            && usize::from(b.header_len) >= BLOCK_FIXED_LEN + n * COUNT_ENTRY_LEN
            && b.uncompressed_len <= MAX_BLOCK_LEN
            && u64::from(b.event_count) * 32 <= u64::from(b.uncompressed_len)
            && b.first_ts <= b.last_ts;
        if !ok {
            return Err(format!("index entry {i} is inconsistent"));
        }
        at.push(c);
        c += n;
        next_event = b.end_event();
        off = b.end();
    }
    if off != f.offset {
        return Err("its block index does not end at the footer".into());
    }
    let mut blocks = f.index.clone();
    let last_chain = match blocks.last_mut() {
        None => prev,
        Some(last) => {
            let h = decode_header(file, last.offset as usize).map_err(|e| e.to_string())?;
            if !index_matches(std::slice::from_ref(&h), std::slice::from_ref(last)) {
                return Err("its block index does not match the last block".into());
            }
            last.chain = h.chain;
            h.chain
        }
    };
    if last_chain != f.last_chain {
        return Err("it does not chain to the last block".into());
    }
    Ok((blocks, at))
}

/// Whether a footer index describes exactly the walked blocks.
pub(crate) fn index_matches(walked: &[BlockInfo], index: &[BlockInfo]) -> bool {
    walked.len() == index.len()
        && walked.iter().zip(index).all(|(a, b)| {
            BlockInfo {
                chain: [0; 32],
                ..*a
            } == *b
        })
}

impl<B: AsRef<[u8]>> CaptureReader<B> {
    /// Opens a capture held in `bytes`.
    ///
    /// Fails only when the file header or a section header is unusable.
    /// A missing or invalid footer is not an error: the blocks are then
    /// recovered by walking their headers (see [`truncation`](Self::truncation)).
    pub fn new(bytes: B) -> Result<Self, CaptureError> {
        let file = bytes.as_ref();
        let header = FileHeader::decode(file)?;
        let hlen = header.header_len as usize;
        let h0 = *blake3::hash(&file[..hlen]).as_bytes();
        let s = parse_sections(file, hlen)?;
        let start = s.end;
        let prev = s.infos.last().map_or(h0, |i| i.header.chain);
        let mut footer_counts_at = None;
        let (w, footer) = match footer::decode(file, start) {
            // A 1.1 footer (with block counts) is trusted once its index is
            // consistent: the blocks are not walked.
            Ok(Some(f)) if !f.block_counts.is_empty() || f.index.is_empty() => {
                match trust_footer(file, start, prev, &f) {
                    Ok((blocks, at)) => {
                        footer_counts_at = Some(at);
                        (Walk { blocks, stop: None }, Some(f))
                    }
                    Err(why) => (
                        recover(file, start, prev, &format!("footer rejected: {why}")),
                        None,
                    ),
                }
            }
            // 1.0: the footer is checked against the walked block headers.
            Ok(Some(f)) => {
                let w = walk(file, start, f.offset as usize, prev, false);
                let last = w.blocks.last().map_or(prev, |b| b.chain);
                let why = if let Some(t) = &w.stop {
                    Some(format!("block at offset {}: {}", t.offset, t.reason))
                } else if !index_matches(&w.blocks, &f.index) {
                    Some("its block index does not match the blocks".into())
                } else if last != f.last_chain {
                    Some("it does not chain to the last block".into())
                } else {
                    None
                };
                match why {
                    None => (w, Some(f)),
                    Some(why) => (
                        recover(file, start, prev, &format!("footer rejected: {why}")),
                        None,
                    ),
                }
            }
            Ok(None) => (recover(file, start, prev, ""), None),
            Err(e) => (
                recover(file, start, prev, &format!("footer rejected: {e}")),
                None,
            ),
        };
        let mut r = CaptureReader {
            header,
            meta: s.meta,
            meta_problems: s.problems,
            sections: s.infos,
            blocks_start: start,
            max_last_ts: Vec::with_capacity(w.blocks.len()),
            blocks: w.blocks,
            footer,
            footer_counts_at,
            truncation: w.stop,
            totals: Totals::default(),
            decompressed: AtomicU64::new(0),
            bytes,
        };
        r.compute_totals();
        Ok(r)
    }

    fn compute_totals(&mut self) {
        let mut per_code = vec![0u64; MAX_CODES];
        for i in 0..self.blocks.len() {
            for (code, n) in self.block_counts(i) {
                if let Some(c) = per_code.get_mut(usize::from(code)) {
                    *c += u64::from(n);
                }
            }
        }
        let file = self.bytes.as_ref();
        let t = &mut self.totals;
        let mut max = 0u64;
        for b in &self.blocks {
            t.events += u64::from(b.event_count);
            t.drops = t.drops.saturating_add(b.drops);
            t.uncompressed_bytes += u64::from(b.uncompressed_len);
            t.first_ts = Some(t.first_ts.map_or(b.first_ts, |x| x.min(b.first_ts)));
            max = max.max(b.last_ts);
            self.max_last_ts.push(max);
        }
        t.last_ts = self.blocks.last().map(|_| max);
        t.blocks = self.blocks.len() as u64;
        t.bytes = file.len() as u64;
        t.counts = (0..MAX_CODES)
            .filter(|&c| per_code[c] != 0)
            .map(|c| (c as u16, per_code[c]))
            .collect();
    }

    /// The capture's metadata (parts whose section was bad stay default;
    /// see [`meta_problems`](Self::meta_problems)).
    pub fn meta(&self) -> &CaptureMeta {
        &self.meta
    }
    /// Sections that were missing, duplicated or could not be decoded.
    pub fn meta_problems(&self) -> &[CaptureError] {
        &self.meta_problems
    }
    /// The file header.
    pub fn header(&self) -> &FileHeader {
        &self.header
    }
    /// The recorder's summary, when the file has a valid footer.
    pub fn summary(&self) -> Option<&Summary> {
        self.footer.as_ref().map(|f| &f.summary)
    }
    /// Whether the file was finished (valid footer) rather than cut short.
    pub fn is_complete(&self) -> bool {
        self.footer.is_some()
    }
    /// Where and why an unfinished file stops, `None` when complete.
    pub fn truncation(&self) -> Option<&Truncation> {
        self.truncation.as_ref()
    }
    /// The readable blocks, in file order.
    pub fn blocks(&self) -> &[BlockInfo] {
        &self.blocks
    }
    /// Per-code counts of block `i` (empty if no such block): from the
    /// footer when it has them (1.1), else from the block's header. Never
    /// decompresses.
    pub fn block_counts(&self, i: usize) -> Box<dyn Iterator<Item = (u16, u32)> + '_> {
        let Some(b) = self.blocks.get(i) else {
            return Box::new(std::iter::empty());
        };
        if let (Some(at), Some(f)) = (&self.footer_counts_at, &self.footer) {
            let start = at.get(i).copied().unwrap_or(0);
            let n = usize::from(b.n_counts);
            return Box::new(
                f.block_counts
                    .get(start..start + n)
                    .unwrap_or(&[])
                    .iter()
                    .copied(),
            );
        }
        let file = self.bytes.as_ref();
        Box::new(counts(file.get(b.offset as usize..).unwrap_or(&[]), b))
    }

    /// How many block payloads this reader has decompressed so far.
    pub fn blocks_decompressed(&self) -> u64 {
        self.decompressed.load(Ordering::Relaxed)
    }
    /// Whole-file counters.
    pub fn totals(&self) -> Totals {
        self.totals.clone()
    }
    /// The file hash (footer hash) in hex, when the file is complete.
    pub fn file_hash(&self) -> Option<String> {
        self.footer.as_ref().map(|f| super::codec::hex(&f.hash))
    }

    /// Decompresses block `i` into `buf` (cleared and reused).
    pub fn read_block(&self, i: usize, buf: &mut Vec<u8>) -> Result<(), CaptureError> {
        self.read_block_with(i, &mut decompressor()?, buf)
    }

    /// [`read_block`](Self::read_block) with a caller-kept zstd context.
    pub(crate) fn read_block_with(
        &self,
        i: usize,
        dec: &mut zstd::bulk::Decompressor<'static>,
        buf: &mut Vec<u8>,
    ) -> Result<(), CaptureError> {
        let b = self.blocks.get(i).ok_or(CaptureError::NoSuchBlock {
            index: i,
            blocks: self.blocks.len(),
        })?;
        let payload = self
            .bytes
            .as_ref()
            .get(b.payload_offset() as usize..b.end() as usize)
            .ok_or(CaptureError::NoSuchBlock {
                index: i,
                blocks: self.blocks.len(),
            })?;
        if self.footer_counts_at.is_some() {
            // Blocks were not walked at open: the header on disk must be the
            // one the trusted index describes (a swapped or altered block is
            // refused, never read as another).
            let same = decode_header(self.bytes.as_ref(), b.offset as usize).is_ok_and(|h| {
                BlockInfo {
                    chain: b.chain,
                    ..h
                } == *b
            });
            if !same {
                return Err(CaptureError::BadField {
                    what: "block",
                    offset: b.offset,
                    reason: format!(
                        "header does not match the footer's index entry {i} (block changed, moved or reordered; run verify)"
                    ),
                });
            }
        }
        self.decompressed.fetch_add(1, Ordering::Relaxed);
        decompress_exact(
            dec,
            payload,
            b.uncompressed_len as usize,
            buf,
            "block",
            b.offset,
        )
    }

    /// Index of the first block holding an event with `ts >= target`
    /// (`blocks().len()` if none). O(log n) over the running maximum of
    /// `last_ts`, so it is right even when blocks overlap in time.
    pub fn block_for_time(&self, target: u64) -> usize {
        self.max_last_ts.partition_point(|&m| m < target)
    }

    /// Index of the block holding event number `n` (`blocks().len()` if none).
    pub fn block_for_event(&self, n: u64) -> usize {
        self.blocks.partition_point(|b| b.end_event() <= n)
    }

    /// Offset of the first block (just after the sections).
    pub fn blocks_start(&self) -> u64 {
        self.blocks_start as u64
    }

    /// The underlying bytes.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.as_ref()
    }
}

/// Walks all blocks with chain checks; `why` explains why the footer was
/// not used (empty: there is none).
fn recover(file: &[u8], start: usize, prev: Hash, why: &str) -> Walk {
    let mut w = walk(file, start, file.len(), prev, true);
    let end = w.blocks.last().map_or(start as u64, |b| b.end());
    let mut stop = w.stop.take().unwrap_or(Truncation {
        offset: end,
        reason: "no footer: the recording did not finish".into(),
    });
    if !why.is_empty() {
        stop.reason = format!("{why}; readable up to here ({})", stop.reason);
    }
    w.stop = Some(stop);
    w
}
