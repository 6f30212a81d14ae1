//! Event blocks: the block header (with its per-code count table) that frames
//! each zstd-compressed run of wire records. Encoding and decoding only.

use super::codec::{arr, u16_at, u32_at, u64_at, Hash};
use super::CaptureError;
use crate::event::wire::HDR_LEN;

/// Block magic (`b"SKBL"` read as a little-endian `u32`).
pub const BLOCK_MAGIC: u32 = u32::from_le_bytes(*b"SKBL");
/// Length of the fixed part of a block header (before the count table).
pub const BLOCK_FIXED_LEN: usize = 88;
/// Offset of the chain field inside a block header.
pub const BLOCK_CHAIN_OFF: usize = 56;
/// Bytes per count-table entry (`code u16, count u32`).
pub const COUNT_ENTRY_LEN: usize = 6;
/// Cap on a block's uncompressed payload: 64 MiB.
pub const MAX_BLOCK_LEN: u32 = 64 << 20;
/// Event codes are below this; counts are kept in fixed arrays of this size.
pub const MAX_CODES: usize = 2048;

/// A block's header as found in the file (or in the footer index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockInfo {
    /// File offset of the block header.
    pub offset: u64,
    /// Header length including the count table.
    pub header_len: u16,
    /// Entries in the count table.
    pub n_counts: u16,
    /// Block sequence number (0-based position in the file).
    pub seq: u32,
    /// Events in the block.
    pub event_count: u32,
    /// Bytes of zstd payload.
    pub compressed_len: u32,
    /// Bytes of wire records after decompression.
    pub uncompressed_len: u32,
    /// Smallest event timestamp in the block.
    pub first_ts: u64,
    /// Largest event timestamp in the block.
    pub last_ts: u64,
    /// Global 0-based number of the block's first event.
    pub first_event: u64,
    /// Sum of arg 0 of the block's drop markers (code 1027).
    pub drops: u64,
    /// Hash chain value stored in the header.
    pub chain: Hash,
}

impl BlockInfo {
    /// File offset of the compressed payload.
    pub fn payload_offset(&self) -> u64 {
        self.offset + u64::from(self.header_len)
    }
    /// File offset just past the block.
    pub fn end(&self) -> u64 {
        self.payload_offset() + u64::from(self.compressed_len)
    }
    /// Number one past the block's last event.
    pub fn end_event(&self) -> u64 {
        self.first_event.saturating_add(u64::from(self.event_count))
    }
}

/// Appends a block header to `out`: the fixed part (chain zeroed) followed by
/// `counts` (sorted by code). The caller fills the chain afterwards.
pub(crate) fn encode_header(b: &BlockInfo, counts: &[(u16, u32)], out: &mut Vec<u8>) {
    out.extend_from_slice(&BLOCK_MAGIC.to_le_bytes());
    out.extend_from_slice(&b.header_len.to_le_bytes());
    out.extend_from_slice(&b.n_counts.to_le_bytes());
    out.extend_from_slice(&b.seq.to_le_bytes());
    out.extend_from_slice(&b.event_count.to_le_bytes());
    out.extend_from_slice(&b.compressed_len.to_le_bytes());
    out.extend_from_slice(&b.uncompressed_len.to_le_bytes());
    out.extend_from_slice(&b.first_ts.to_le_bytes());
    out.extend_from_slice(&b.last_ts.to_le_bytes());
    out.extend_from_slice(&b.first_event.to_le_bytes());
    out.extend_from_slice(&b.drops.to_le_bytes());
    out.extend_from_slice(&[0u8; 32]);
    for (code, n) in counts {
        out.extend_from_slice(&code.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
    }
}

/// Decodes and checks the block header at file offset `off`: magic, lengths
/// (caps, inside the file), count table (sorted, codes < 2048, non-zero,
/// summing to `event_count`) and `first_ts <= last_ts`. Position-dependent
/// checks (seq, first_event, chain) are the caller's.
pub(crate) fn decode_header(file: &[u8], off: usize) -> Result<BlockInfo, CaptureError> {
    let offset = off as u64;
    let have = file.len().saturating_sub(off) as u64;
    let b = file.get(off..).unwrap_or(&[]);
    let trunc = |need: u64| CaptureError::Truncated {
        what: "block",
        offset,
        need,
        have,
    };
    if b.len() < BLOCK_FIXED_LEN {
        return Err(trunc(BLOCK_FIXED_LEN as u64));
    }
    let bad = |reason: String| CaptureError::BadField {
        what: "block",
        offset,
        reason,
    };
    let magic = u32_at(b, 0).unwrap_or(0);
    if magic != BLOCK_MAGIC {
        return Err(CaptureError::BadMagic {
            what: "block",
            offset,
            expected: BLOCK_MAGIC,
            found: magic,
        });
    }
    let r32 = |o| u32_at(b, o).unwrap_or(0);
    let r64 = |o| u64_at(b, o).unwrap_or(0);
    let info = BlockInfo {
        offset,
        header_len: u16_at(b, 4).unwrap_or(0),
        n_counts: u16_at(b, 6).unwrap_or(0),
        seq: r32(8),
        event_count: r32(12),
        compressed_len: r32(16),
        uncompressed_len: r32(20),
        first_ts: r64(24),
        last_ts: r64(32),
        first_event: r64(40),
        drops: r64(48),
        chain: arr(b, BLOCK_CHAIN_OFF).unwrap_or([0; 32]),
    };
    if usize::from(info.n_counts) > MAX_CODES {
        return Err(bad(format!("n_counts {} > {MAX_CODES}", info.n_counts)));
    }
    let table = usize::from(info.n_counts) * COUNT_ENTRY_LEN;
    if usize::from(info.header_len) < BLOCK_FIXED_LEN + table {
        return Err(bad(format!(
            "header_len {} too small for {} count entries",
            info.header_len, info.n_counts
        )));
    }
    if info.uncompressed_len > MAX_BLOCK_LEN {
        return Err(CaptureError::TooLarge {
            what: "block uncompressed_len",
            offset,
            len: u64::from(info.uncompressed_len),
            max: u64::from(MAX_BLOCK_LEN),
        });
    }
    let need = u64::from(info.header_len) + u64::from(info.compressed_len);
    if need > have {
        return Err(trunc(need));
    }
    if info.event_count == 0 {
        return Err(bad("empty block".into()));
    }
    if u64::from(info.event_count) * HDR_LEN as u64 > u64::from(info.uncompressed_len) {
        return Err(bad(format!(
            "{} events cannot fit in {} bytes",
            info.event_count, info.uncompressed_len
        )));
    }
    if info.first_ts > info.last_ts {
        return Err(bad(format!(
            "first_ts {} > last_ts {}",
            info.first_ts, info.last_ts
        )));
    }
    let mut sum = 0u64;
    let mut prev: Option<u16> = None;
    for (code, n) in counts(b, &info) {
        if usize::from(code) >= MAX_CODES || prev.is_some_and(|p| code <= p) || n == 0 {
            return Err(bad(format!(
                "bad count-table entry (code {code}, count {n})"
            )));
        }
        prev = Some(code);
        sum += u64::from(n);
    }
    if sum != u64::from(info.event_count) {
        return Err(bad(format!(
            "count table sums to {sum}, event_count is {}",
            info.event_count
        )));
    }
    Ok(info)
}

/// Iterates the count table of a block whose header starts at `b[0]`.
pub(crate) fn counts<'a>(b: &'a [u8], info: &BlockInfo) -> impl Iterator<Item = (u16, u32)> + 'a {
    let n = usize::from(info.n_counts);
    let start = usize::from(info.header_len).saturating_sub(n * COUNT_ENTRY_LEN);
    let table = b.get(start..start + n * COUNT_ENTRY_LEN).unwrap_or(&[]);
    table.chunks_exact(COUNT_ENTRY_LEN).map(|e| {
        (
            u16::from_le_bytes([e[0], e[1]]),
            u32::from_le_bytes([e[2], e[3], e[4], e[5]]),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (BlockInfo, Vec<u8>) {
        let counts = [(3u16, 2u32), (1027, 1)];
        let info = BlockInfo {
            offset: 0,
            header_len: (BLOCK_FIXED_LEN + 2 * COUNT_ENTRY_LEN) as u16,
            n_counts: 2,
            seq: 0,
            event_count: 3,
            compressed_len: 4,
            uncompressed_len: 200,
            first_ts: 5,
            last_ts: 9,
            first_event: 0,
            drops: 7,
            chain: [0; 32],
        };
        let mut b = Vec::new();
        encode_header(&info, &counts, &mut b);
        b.extend_from_slice(&[0; 4]);
        (info, b)
    }

    #[test]
    fn round_trip() {
        let (info, b) = sample();
        assert_eq!(decode_header(&b, 0).unwrap(), info);
        assert_eq!(
            counts(&b, &info).collect::<Vec<_>>(),
            vec![(3, 2), (1027, 1)]
        );
    }

    #[test]
    fn rejects_bad_headers() {
        let (_, b) = sample();
        assert!(decode_header(&b[..b.len() - 1], 0).is_err()); // payload cut
        let mut c = b.clone();
        c[12] = 4; // event_count no longer matches the count table
        assert!(decode_header(&c, 0).is_err());
        let mut c = b.clone();
        c[BLOCK_FIXED_LEN] = 0xff; // first code becomes 0x7fff: out of range
        c[BLOCK_FIXED_LEN + 1] = 0x7f;
        assert!(decode_header(&c, 0).is_err());
        let mut c = b.clone();
        c[24] = 10; // first_ts > last_ts
        assert!(decode_header(&c, 0).is_err());
        let mut c = b;
        c[0] = 0;
        assert!(matches!(
            decode_header(&c, 0),
            Err(CaptureError::BadMagic { .. })
        ));
    }
}
