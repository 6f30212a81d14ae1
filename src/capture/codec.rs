//! Shared low-level helpers: bounds-checked little-endian reads, capped zstd
//! decompression and the blake3 hash chain step. Pure functions, no I/O.

use super::CaptureError;

/// A 32-byte blake3 chain value.
pub type Hash = [u8; 32];

/// Reads `N` bytes at `off`, or `None` past the end.
#[inline]
pub(crate) fn arr<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    let end = off.checked_add(N)?;
    b.get(off..end)?.try_into().ok()
}

/// Little-endian `u16` at `off`.
#[inline]
pub(crate) fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    arr(b, off).map(u16::from_le_bytes)
}

/// Little-endian `u32` at `off`.
#[inline]
pub(crate) fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    arr(b, off).map(u32::from_le_bytes)
}

/// Little-endian `u64` at `off`.
#[inline]
pub(crate) fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    arr(b, off).map(u64::from_le_bytes)
}

/// `base + rel` as a file offset (saturating; only used in messages).
#[inline]
pub(crate) fn at(base: usize, rel: usize) -> u64 {
    base.saturating_add(rel) as u64
}

/// One step of the hash chain: `blake3(prev || header-with-zeroed-chain || payload)`.
///
/// `header` is the structure's whole header; the 32 bytes at `chain_off` are
/// hashed as zeros whatever they hold.
pub(crate) fn chain_step(prev: &Hash, header: &[u8], chain_off: usize, payload: &[u8]) -> Hash {
    let mut h = blake3::Hasher::new();
    h.update(prev);
    let split = chain_off.min(header.len());
    h.update(&header[..split]);
    h.update(&[0u8; 32]);
    if let Some(rest) = header.get(chain_off + 32..) {
        h.update(rest);
    }
    h.update(payload);
    *h.finalize().as_bytes()
}

/// Lower-case hex of a hash.
pub fn hex(h: &Hash) -> String {
    let mut s = String::with_capacity(64);
    for b in h {
        s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
        s.push(char::from_digit(u32::from(b & 15), 16).unwrap_or('0'));
    }
    s
}

/// Parses 64 hex digits (either case, surrounding whitespace ignored).
pub fn parse_hex(s: &str) -> Option<Hash> {
    let s = s.trim().as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        let hi = char::from(pair[0]).to_digit(16)?;
        let lo = char::from(pair[1]).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// The most a zstd frame can expand: every block holds at most 128 KiB and
/// takes at least 4 bytes (a 3-byte block header and one RLE byte).
pub(crate) const ZSTD_MAX_RATIO: usize = 128 * 1024 / 4;

/// Decompresses `src` into `out` (cleared first), which must end up exactly
/// `expected` bytes long. `expected` must already be checked against its cap:
/// it bounds the allocation and zstd never writes past it. A size that `src`
/// could not possibly expand to is refused before anything is reserved, so a
/// small crafted file cannot make the reader allocate its cap.
pub(crate) fn decompress_exact(
    dec: &mut zstd::bulk::Decompressor<'static>,
    src: &[u8],
    expected: usize,
    out: &mut Vec<u8>,
    what: &'static str,
    offset: u64,
) -> Result<(), CaptureError> {
    out.clear();
    let bad = |reason: String| CaptureError::Decompress {
        what,
        offset,
        reason,
    };
    if expected > src.len().saturating_mul(ZSTD_MAX_RATIO) {
        return Err(bad(format!(
            "{} compressed bytes cannot hold {expected} bytes (zstd expands at most {ZSTD_MAX_RATIO}x)",
            src.len()
        )));
    }
    out.reserve_exact(expected);
    if expected == 0 {
        return if src.is_empty() {
            Ok(())
        } else {
            Err(bad("data for an empty payload".into()))
        };
    }
    // A frame that declares its content size lets us refuse early with a
    // precise message; zstd itself stops at the Vec's capacity regardless.
    if let Ok(Some(n)) = zstd::zstd_safe::get_frame_content_size(src) {
        if n != expected as u64 {
            return Err(bad(format!(
                "frame holds {n} bytes, header says {expected}"
            )));
        }
    }
    let n = dec
        .decompress_to_buffer(src, out)
        .map_err(|e| bad(e.to_string()))?;
    if n != expected || out.len() != expected {
        return Err(bad(format!(
            "decompressed to {n} bytes, header says {expected}"
        )));
    }
    Ok(())
}

/// A new decompression context.
pub(crate) fn decompressor() -> Result<zstd::bulk::Decompressor<'static>, CaptureError> {
    zstd::bulk::Decompressor::new().map_err(|e| CaptureError::io("creating a zstd context", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let h: Hash = core::array::from_fn(|i| (i * 37) as u8);
        let s = hex(&h);
        assert_eq!(s.len(), 64);
        assert_eq!(parse_hex(&s), Some(h));
        assert_eq!(parse_hex(&s.to_uppercase()), Some(h));
        assert_eq!(parse_hex(&s[1..]), None);
        assert_eq!(parse_hex(&format!("{}zz", &s[..62])), None);
    }

    #[test]
    fn reads_are_bounds_checked() {
        let b = [1u8, 2, 3];
        assert_eq!(u16_at(&b, 1), Some(0x0302));
        assert_eq!(u16_at(&b, 2), None);
        assert_eq!(u64_at(&b, usize::MAX), None);
    }

    #[test]
    fn decompress_checks_size() {
        let data = vec![7u8; 1000];
        let z = zstd::bulk::compress(&data, 3).unwrap();
        let mut d = decompressor().unwrap();
        let mut out = Vec::new();
        decompress_exact(&mut d, &z, 1000, &mut out, "t", 0).unwrap();
        assert_eq!(out, data);
        assert!(decompress_exact(&mut d, &z, 999, &mut out, "t", 0).is_err());
        assert!(decompress_exact(&mut d, &z, 1001, &mut out, "t", 0).is_err());
        assert!(decompress_exact(&mut d, &z[..z.len() - 3], 1000, &mut out, "t", 0).is_err());
    }

    #[test]
    fn decompress_refuses_impossible_sizes_before_reserving() {
        let mut d = decompressor().unwrap();
        let mut out = Vec::new();
        // 16 bytes claiming 256 MiB: refused, nothing reserved.
        let e = decompress_exact(&mut d, &[0u8; 16], 256 << 20, &mut out, "t", 9).unwrap_err();
        assert!(e.to_string().contains("cannot hold"), "{e}");
        assert_eq!(out.capacity(), 0);
        // The bound holds for the most compressible data zstd can make.
        let zeros = vec![0u8; 8 << 20];
        let z = zstd::bulk::compress(&zeros, 19).unwrap();
        assert!(z.len() * ZSTD_MAX_RATIO >= zeros.len(), "{}", z.len());
        decompress_exact(&mut d, &z, zeros.len(), &mut out, "t", 0).unwrap();
    }
}
