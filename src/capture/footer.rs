//! The footer (block index, per-block counts, totals, summary, final hash)
//! and the fixed trailer at end of file that locates it. Encoding and
//! decoding only.
//!
//! Format 1.1 puts every block's per-code counts in the footer (the table
//! follows the 88 bytes of 1.0's fixed part, which grows by it), so `info`
//! and a timeline read nothing but the footer. 1.0 footers have no table.

use super::block::BlockInfo;
use super::codec::{arr, decompress_exact, u16_at, u32_at, u64_at, Hash};
use super::CaptureError;
use crate::event::meta::Summary;

/// Footer magic (`b"SKFT"` read as a little-endian `u32`).
pub const FOOTER_MAGIC: u32 = u32::from_le_bytes(*b"SKFT");
/// The last 8 bytes of a finished capture.
pub const TRAILER_MAGIC: [u8; 8] = *b"SAKEREND";
/// Trailer length: `footer_offset u64, footer_len u64, magic [u8; 8]`.
pub const TRAILER_LEN: usize = 24;
/// Length of the footer's fixed part (without the 1.1 block-count table).
pub const FOOTER_FIXED_LEN: usize = 88;
/// Length of one block-count entry (`code u16, count u32`).
pub const BLOCK_COUNT_LEN: usize = 6;
/// Length of one block-index entry.
pub const INDEX_ENTRY_LEN: usize = 64;
/// Length of one totals entry (`code u16, count u64`).
pub const TOTAL_ENTRY_LEN: usize = 10;
/// Cap on the summary payload: 16 MiB.
pub const MAX_SUMMARY_LEN: u32 = 16 << 20;

/// A decoded footer.
#[derive(Debug, Clone, PartialEq)]
pub struct Footer {
    /// File offset of the footer.
    pub offset: u64,
    /// Footer length including its final hash.
    pub len: u64,
    /// The block index (chain fields are zero: the index does not store them).
    pub index: Vec<BlockInfo>,
    /// Per-code event counts, sorted by code.
    pub totals: Vec<(u16, u64)>,
    /// Every block's count table, in index order (`index[i].n_counts`
    /// entries each); empty in a 1.0 footer.
    pub block_counts: Vec<(u16, u32)>,
    /// Total events.
    pub events: u64,
    /// Total dropped events (sum over drop markers).
    pub drops: u64,
    /// Total uncompressed record bytes.
    pub uncompressed_bytes: u64,
    /// The recorder's summary.
    pub summary: Summary,
    /// Chain value of the last section or block before the footer.
    pub last_chain: Hash,
    /// The file hash: `blake3(last_chain || footer bytes before this field)`.
    pub hash: Hash,
}

/// Everything the writer puts in a footer.
pub(crate) struct FooterParts<'a> {
    pub index: &'a [BlockInfo],
    pub block_counts: &'a [(u16, u32)],
    pub totals: &'a [(u16, u64)],
    pub events: u64,
    pub drops: u64,
    pub uncompressed_bytes: u64,
    pub summary_z: &'a [u8],
    pub summary_len: u32,
    pub last_chain: Hash,
}

/// Encodes footer + trailer for a footer starting at `offset`; returns the
/// bytes and the file hash.
pub(crate) fn encode(p: &FooterParts<'_>, offset: u64) -> (Vec<u8>, Hash) {
    let fixed = FOOTER_FIXED_LEN + p.block_counts.len() * BLOCK_COUNT_LEN;
    let mut b = Vec::with_capacity(
        fixed + p.index.len() * INDEX_ENTRY_LEN + p.totals.len() * TOTAL_ENTRY_LEN + 128,
    );
    b.extend_from_slice(&FOOTER_MAGIC.to_le_bytes());
    for v in [
        fixed as u32,
        p.index.len() as u32,
        INDEX_ENTRY_LEN as u32,
        p.totals.len() as u32,
        p.summary_z.len() as u32,
        p.summary_len,
        p.block_counts.len() as u32,
    ] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for v in [p.events, p.drops, p.uncompressed_bytes] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&p.last_chain);
    for (code, n) in p.block_counts {
        b.extend_from_slice(&code.to_le_bytes());
        b.extend_from_slice(&n.to_le_bytes());
    }
    for e in p.index {
        for v in [e.offset, e.first_ts, e.last_ts, e.first_event, e.drops] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        for v in [e.event_count, e.compressed_len, e.uncompressed_len, e.seq] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.extend_from_slice(&e.header_len.to_le_bytes());
        b.extend_from_slice(&e.n_counts.to_le_bytes());
        b.extend_from_slice(&[0; 4]);
    }
    for (code, n) in p.totals {
        b.extend_from_slice(&code.to_le_bytes());
        b.extend_from_slice(&n.to_le_bytes());
    }
    b.extend_from_slice(p.summary_z);
    let hash = footer_hash(&p.last_chain, &b);
    b.extend_from_slice(&hash);
    let len = b.len() as u64;
    b.extend_from_slice(&offset.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(&TRAILER_MAGIC);
    (b, hash)
}

/// `blake3(last_chain || footer bytes before the hash field)`.
pub(crate) fn footer_hash(last_chain: &Hash, body: &[u8]) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(last_chain);
    h.update(body);
    *h.finalize().as_bytes()
}

/// Locates the footer through the trailer. `Ok(None)`: no trailer magic at
/// EOF (the recording did not finish). `Err`: a trailer exists but the
/// footer it points to is invalid. `min_offset` is where blocks start.
pub(crate) fn decode(file: &[u8], min_offset: usize) -> Result<Option<Footer>, CaptureError> {
    let Some(t) = file.len().checked_sub(TRAILER_LEN) else {
        return Ok(None);
    };
    if arr::<8>(file, t + 16) != Some(TRAILER_MAGIC) {
        return Ok(None);
    }
    let off = u64_at(file, t).unwrap_or(u64::MAX);
    let len = u64_at(file, t + 8).unwrap_or(u64::MAX);
    let bad = |offset: u64, reason: String| CaptureError::BadField {
        what: "footer",
        offset,
        reason,
    };
    if off.checked_add(len) != Some(t as u64)
        || off < min_offset as u64
        || len < (FOOTER_FIXED_LEN + 32) as u64
    {
        return Err(bad(t as u64, format!("trailer points to a footer at {off} of {len} bytes, which does not end at the trailer ({t})")));
    }
    let (o, n) = (off as usize, len as usize);
    let f = &file[o..o + n];
    let magic = u32_at(f, 0).unwrap_or(0);
    if magic != FOOTER_MAGIC {
        return Err(CaptureError::BadMagic {
            what: "footer",
            offset: off,
            expected: FOOTER_MAGIC,
            found: magic,
        });
    }
    let r32 = |i| u32_at(f, i).unwrap_or(0) as usize;
    let (fixed, nblocks, entry, ntotals, zlen, slen, nbc) =
        (r32(4), r32(8), r32(12), r32(16), r32(20), r32(24), r32(28));
    let bc_end = (nbc as u64)
        .saturating_mul(BLOCK_COUNT_LEN as u64)
        .saturating_add(FOOTER_FIXED_LEN as u64);
    if fixed < FOOTER_FIXED_LEN || entry < INDEX_ENTRY_LEN || (fixed as u64) < bc_end {
        return Err(bad(
            off,
            format!("fixed_len {fixed} / index_entry_len {entry} too small (block counts: {nbc})"),
        ));
    }
    if slen > MAX_SUMMARY_LEN as usize {
        return Err(CaptureError::TooLarge {
            what: "summary",
            offset: off,
            len: slen as u64,
            max: u64::from(MAX_SUMMARY_LEN),
        });
    }
    let want = [
        nblocks as u64 * entry as u64,
        ntotals as u64 * TOTAL_ENTRY_LEN as u64,
        zlen as u64,
        32,
    ]
    .iter()
    .fold(fixed as u64, |a, b| a.saturating_add(*b));
    if want != len {
        return Err(bad(
            off,
            format!("parts add up to {want} bytes, footer_len is {len}"),
        ));
    }
    let last_chain: Hash = arr(f, 56).unwrap_or([0; 32]);
    let hash: Hash = arr(f, n - 32).unwrap_or([0; 32]);
    let computed = footer_hash(&last_chain, &f[..n - 32]);
    if computed != hash {
        return Err(bad(off, "footer hash mismatch (footer changed)".into()));
    }
    let block_counts: Vec<(u16, u32)> = f[FOOTER_FIXED_LEN..bc_end as usize]
        .chunks_exact(BLOCK_COUNT_LEN)
        .map(|e| {
            (
                u16::from_le_bytes([e[0], e[1]]),
                u32::from_le_bytes([e[2], e[3], e[4], e[5]]),
            )
        })
        .collect();
    let mut p = fixed;
    let mut index = Vec::with_capacity(nblocks);
    for _ in 0..nblocks {
        let r64 = |i| u64_at(f, p + i).unwrap_or(0);
        let r32 = |i| u32_at(f, p + i).unwrap_or(0);
        index.push(BlockInfo {
            offset: r64(0),
            first_ts: r64(8),
            last_ts: r64(16),
            first_event: r64(24),
            drops: r64(32),
            event_count: r32(40),
            compressed_len: r32(44),
            uncompressed_len: r32(48),
            seq: r32(52),
            header_len: u16_at(f, p + 56).unwrap_or(0),
            n_counts: u16_at(f, p + 58).unwrap_or(0),
            chain: [0; 32],
        });
        p += entry;
    }
    let table_len: u64 = index.iter().map(|b| u64::from(b.n_counts)).sum();
    if nbc != 0 && table_len != nbc as u64 {
        return Err(bad(
            off,
            format!("{nbc} block-count entries, the index says {table_len}"),
        ));
    }
    let mut totals = Vec::with_capacity(ntotals);
    for _ in 0..ntotals {
        totals.push((u16_at(f, p).unwrap_or(0), u64_at(f, p + 2).unwrap_or(0)));
        p += TOTAL_ENTRY_LEN;
    }
    let mut dec = super::codec::decompressor()?;
    let mut buf = Vec::new();
    decompress_exact(
        &mut dec,
        &f[p..p + zlen],
        slen,
        &mut buf,
        "footer summary",
        off,
    )?;
    let summary = serde_json::from_slice(&buf).map_err(|e| CaptureError::Json {
        what: "footer summary",
        offset: off,
        reason: e.to_string(),
    })?;
    Ok(Some(Footer {
        offset: off,
        len,
        index,
        totals,
        block_counts,
        events: u64_at(f, 32).unwrap_or(0),
        drops: u64_at(f, 40).unwrap_or(0),
        uncompressed_bytes: u64_at(f, 48).unwrap_or(0),
        summary,
        last_chain,
        hash,
    }))
}
