//! File-type detection by magic bytes, and bounded gzip decompression.

use std::io::Read;

use super::ScapError;

/// What a file is, judged by its first bytes (never by its name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A saker capture (`SAKERCAP` magic).
    Saker,
    /// An uncompressed scap file (pcapng-style section header block).
    Scap,
    /// gzip data (scap files are usually gzip; the content is unknown until
    /// decompressed).
    Gzip,
    /// Anything else.
    Unknown,
}

/// The scap section header block type, `"\n\r\r\n"`.
pub const SHB_TYPE: u32 = 0x0A0D_0D0A;
/// The section header's byte-order magic.
pub const SHB_MAGIC: u32 = 0x1A2B_3C4D;
/// Default cap on decompressed bytes (4 GiB).
pub const DEFAULT_MAX_DECOMPRESSED: u64 = 4 << 30;

/// Classifies `bytes` by magic: saker, scap (SHB type plus byte-order magic),
/// gzip (`1f 8b`), or unknown.
pub fn detect(bytes: &[u8]) -> FileKind {
    if bytes.starts_with(b"SAKERCAP") {
        return FileKind::Saker;
    }
    if bytes.starts_with(&[0x1f, 0x8b]) {
        return FileKind::Gzip;
    }
    let le = |o: usize| {
        bytes
            .get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    if le(0) == Some(SHB_TYPE) && le(8) == Some(SHB_MAGIC) {
        return FileKind::Scap;
    }
    FileKind::Unknown
}

/// Decompresses (multi-member) gzip `bytes`, failing with
/// [`ScapError::TooLarge`] once more than `limit` bytes come out.
pub fn gunzip(bytes: &[u8], limit: u64) -> Result<Vec<u8>, ScapError> {
    match gunzip_partial(bytes, limit)? {
        (out, None) => Ok(out),
        (_, Some(e)) => Err(e),
    }
}

/// gunzip (every member) keeping what came out before a decoding error,
/// whose offset is the compressed bytes consumed by then.
pub fn gunzip_partial(bytes: &[u8], limit: u64) -> Result<(Vec<u8>, Option<ScapError>), ScapError> {
    let mut out = Vec::new();
    let mut rest = bytes;
    let err = {
        let mut dec = flate2::bufread::MultiGzDecoder::new(&mut rest).take(limit.saturating_add(1));
        dec.read_to_end(&mut out).err()
    };
    if out.len() as u64 > limit {
        return Err(ScapError::TooLarge { limit });
    }
    let err = err.map(|e| ScapError::Gzip {
        reason: e.to_string(),
        offset: (bytes.len() - rest.len()) as u64,
        decompressed: out.len() as u64,
    });
    Ok((out, err))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn detects_by_magic() {
        let mut shb = vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0];
        shb.extend_from_slice(&SHB_MAGIC.to_le_bytes());
        assert_eq!(detect(&shb), FileKind::Scap);
        assert_eq!(detect(&shb[..8]), FileKind::Unknown);
        assert_eq!(detect(b"SAKERCAP\x01"), FileKind::Saker);
        assert_eq!(detect(&gz(b"x")), FileKind::Gzip);
        assert_eq!(detect(b""), FileKind::Unknown);
        shb[8] = 0;
        assert_eq!(detect(&shb), FileKind::Unknown);
    }

    #[test]
    fn gunzip_multi_member_and_cap() {
        let mut two = gz(b"hello ");
        two.extend_from_slice(&gz(b"world"));
        assert_eq!(gunzip(&two, 100).unwrap(), b"hello world");
        assert_eq!(gunzip(&two, 11).unwrap(), b"hello world");
        assert_eq!(gunzip(&two, 10), Err(ScapError::TooLarge { limit: 10 }));
        let cut = &two[..two.len() / 2 + 3];
        assert!(matches!(gunzip(cut, 100), Err(ScapError::Gzip { .. })));
    }
}
