//! The one error type of the capture module.
//!
//! Every variant that comes from file bytes carries the byte offset (from the
//! start of the file) of the structure that is wrong, so a message like
//! "block at offset 4096: ..." points a responder at the exact place.

use crate::event::EventError;

/// Everything that can go wrong writing or reading a capture file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// An I/O operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done (`writing block 3`, `opening /x.sakr`).
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file does not start with the capture magic.
    #[error("not a saker capture: bad magic at offset {offset} (found {found})")]
    NotACapture {
        /// Offset of the magic.
        offset: u64,
        /// The bytes found, escaped.
        found: String,
    },
    /// The file's major version is not one this build reads.
    #[error("unsupported capture format version {found}.x (this build reads {supported}.x)")]
    UnsupportedVersion {
        /// Major version in the file.
        found: u16,
        /// Major version this build supports.
        supported: u16,
    },
    /// A structure ends past the end of the file.
    #[error("{what} at offset {offset} is truncated: needs {need} bytes, {have} left")]
    Truncated {
        /// Which structure.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// Bytes it needs.
        need: u64,
        /// Bytes available from its offset.
        have: u64,
    },
    /// A magic number is wrong.
    #[error("{what} at offset {offset}: bad magic {found:#010x} (expected {expected:#010x})")]
    BadMagic {
        /// Which structure.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// Expected magic.
        expected: u32,
        /// Magic found.
        found: u32,
    },
    /// A header field has an impossible value.
    #[error("{what} at offset {offset}: {reason}")]
    BadField {
        /// Which structure.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A declared length is above the format's cap.
    #[error("{what} at offset {offset}: length {len} exceeds the limit of {max}")]
    TooLarge {
        /// Which length.
        what: &'static str,
        /// Offset of the structure.
        offset: u64,
        /// The declared length.
        len: u64,
        /// The cap.
        max: u64,
    },
    /// A zstd payload failed to decompress or had the wrong size.
    #[error("{what} at offset {offset}: bad compressed payload: {reason}")]
    Decompress {
        /// Which structure.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// What zstd (or the size check) said.
        reason: String,
    },
    /// A metadata payload is not the expected JSON.
    #[error("{what} at offset {offset}: bad JSON: {reason}")]
    Json {
        /// Which section or footer part.
        what: &'static str,
        /// Its offset.
        offset: u64,
        /// The serde_json message.
        reason: String,
    },
    /// A required metadata section is missing.
    #[error("missing {what} section (kind {kind})")]
    MissingSection {
        /// Section name.
        what: &'static str,
        /// Section kind number.
        kind: u32,
    },
    /// A metadata section kind appears twice.
    #[error("section at offset {offset}: duplicate section kind {kind}")]
    DuplicateSection {
        /// Offset of the second one.
        offset: u64,
        /// The kind.
        kind: u32,
    },
    /// A wire record failed to decode.
    #[error("bad record at {location} offset {offset}: {source}")]
    BadRecord {
        /// `batch` or `block N`.
        location: String,
        /// Offset inside the batch or the decompressed block.
        offset: u64,
        /// The decoder's error.
        source: EventError,
    },
    /// A record's event code is outside `0..2048`.
    #[error("record at batch offset {offset}: event code {code} out of range (max {max})")]
    BadCode {
        /// Offset inside the batch.
        offset: u64,
        /// The code.
        code: u16,
        /// Largest valid code.
        max: u16,
    },
    /// `push` got more or less than one record.
    #[error("push expects exactly one record; {extra} bytes follow it")]
    NotOneRecord {
        /// Bytes after the first record.
        extra: usize,
    },
    /// A block's contents disagree with its header.
    #[error("block {index} at offset {offset}: {reason}")]
    BlockMismatch {
        /// Block index.
        index: usize,
        /// Block offset.
        offset: u64,
        /// What disagrees.
        reason: String,
    },
    /// A block index is past the last block.
    #[error("block {index} does not exist (the file has {blocks})")]
    NoSuchBlock {
        /// Requested index.
        index: usize,
        /// Number of blocks.
        blocks: usize,
    },
    /// A writer option is invalid.
    #[error("invalid writer option {what}: {reason}")]
    BadOption {
        /// Option name.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The writer failed earlier and can no longer produce a valid file.
    #[error("the capture writer failed earlier and cannot continue")]
    Poisoned,
}

impl CaptureError {
    /// Wraps an I/O error with what was being done.
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        CaptureError::Io {
            what: what.into(),
            source,
        }
    }
}
