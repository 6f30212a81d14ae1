//! The 64-byte file header: magic, version, flags, file id, creation time.
//! Encoding and decoding only.

use super::codec::{arr, u16_at, u32_at, u64_at};
use super::CaptureError;

/// File magic, the first 8 bytes of every capture.
pub const FILE_MAGIC: [u8; 8] = *b"SAKERCAP";
/// Major version written and read by this build.
pub const VERSION_MAJOR: u16 = 1;
/// Minor version written by this build.
pub const VERSION_MINOR: u16 = 1;
/// Length of the file header written by this build.
pub const FILE_HEADER_LEN: usize = 64;
/// Largest `header_len` a reader accepts (newer minors may grow the header).
pub const MAX_FILE_HEADER_LEN: u32 = 4096;

/// The decoded file header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHeader {
    /// Major format version.
    pub version_major: u16,
    /// Minor format version (newer minors stay readable).
    pub version_minor: u16,
    /// Header length in bytes (64 for 1.0).
    pub header_len: u32,
    /// Flag bits; none are defined in 1.0 and readers ignore unknown ones.
    pub flags: u64,
    /// Random id of this file.
    pub file_id: [u8; 16],
    /// When the file was created, ns since the Unix epoch.
    pub created_unix_ns: u64,
}

impl FileHeader {
    /// A 1.0 header for a new file.
    pub fn new(file_id: [u8; 16], created_unix_ns: u64) -> Self {
        FileHeader {
            version_major: VERSION_MAJOR,
            version_minor: VERSION_MINOR,
            header_len: FILE_HEADER_LEN as u32,
            flags: 0,
            file_id,
            created_unix_ns,
        }
    }

    /// The 64 header bytes.
    pub fn encode(&self) -> [u8; FILE_HEADER_LEN] {
        let mut b = [0u8; FILE_HEADER_LEN];
        b[0..8].copy_from_slice(&FILE_MAGIC);
        b[8..10].copy_from_slice(&self.version_major.to_le_bytes());
        b[10..12].copy_from_slice(&self.version_minor.to_le_bytes());
        b[12..16].copy_from_slice(&(FILE_HEADER_LEN as u32).to_le_bytes());
        b[16..24].copy_from_slice(&self.flags.to_le_bytes());
        b[24..40].copy_from_slice(&self.file_id);
        b[40..48].copy_from_slice(&self.created_unix_ns.to_le_bytes());
        b
    }

    /// Decodes the header at the start of `file`.
    pub fn decode(file: &[u8]) -> Result<Self, CaptureError> {
        let short = || CaptureError::Truncated {
            what: "file header",
            offset: 0,
            need: FILE_HEADER_LEN as u64,
            have: file.len() as u64,
        };
        let magic: [u8; 8] = arr(file, 0).ok_or_else(short)?;
        if magic != FILE_MAGIC {
            return Err(CaptureError::NotACapture {
                offset: 0,
                found: magic.escape_ascii().to_string(),
            });
        }
        // Check the version before the length: a future major may lay out
        // everything differently, and deserves the precise error.
        let version_major = u16_at(file, 8).ok_or_else(short)?;
        if version_major != VERSION_MAJOR {
            return Err(CaptureError::UnsupportedVersion {
                found: version_major,
                supported: VERSION_MAJOR,
            });
        }
        if file.len() < FILE_HEADER_LEN {
            return Err(short());
        }
        let header_len = u32_at(file, 12).ok_or_else(short)?;
        let version_minor = u16_at(file, 10).ok_or_else(short)?;
        // Only a minor newer than this build's may grow the header.
        let max = if version_minor <= VERSION_MINOR {
            FILE_HEADER_LEN as u32
        } else {
            MAX_FILE_HEADER_LEN
        };
        if !(FILE_HEADER_LEN as u32..=max).contains(&header_len) {
            return Err(CaptureError::BadField {
                what: "file header",
                offset: 12,
                reason: format!(
                    "header_len {header_len} outside {FILE_HEADER_LEN}..={max} for version {version_major}.{version_minor}"
                ),
            });
        }
        if file.len() < header_len as usize {
            return Err(CaptureError::Truncated {
                what: "file header",
                offset: 0,
                need: u64::from(header_len),
                have: file.len() as u64,
            });
        }
        Ok(FileHeader {
            version_major,
            version_minor,
            header_len,
            flags: u64_at(file, 16).ok_or_else(short)?,
            file_id: arr(file, 24).ok_or_else(short)?,
            created_unix_ns: u64_at(file, 40).ok_or_else(short)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_versions() {
        let h = FileHeader::new([9; 16], 1234);
        let mut b = h.encode().to_vec();
        assert_eq!(FileHeader::decode(&b).unwrap(), h);
        // A newer minor is readable.
        b[10] = 7;
        assert_eq!(FileHeader::decode(&b).unwrap().version_minor, 7);
        // An unknown major is refused with both numbers.
        b[8] = 2;
        assert!(matches!(
            FileHeader::decode(&b),
            Err(CaptureError::UnsupportedVersion {
                found: 2,
                supported: 1
            })
        ));
        b[8] = 1;
        assert!(matches!(
            FileHeader::decode(&b[..40]),
            Err(CaptureError::Truncated { .. })
        ));
        b[0] = b'X';
        assert!(matches!(
            FileHeader::decode(&b),
            Err(CaptureError::NotACapture { .. })
        ));
    }
}
