//! The one error type of the `.scap` importer: what went wrong and at which
//! byte offset of the (decompressed) file.

/// Errors reading a `.scap` capture. Offsets are into the decompressed
/// bytes, except [`ScapError::Gzip`]'s, which is into the compressed file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScapError {
    /// The bytes are not a scap file (nor gzip of one).
    #[error("not a .scap file: {reason}")]
    NotScap {
        /// What the first bytes looked like.
        reason: String,
    },
    /// gzip decoding failed.
    #[error(
        "gzip: {reason} at compressed offset {offset} (after {decompressed} decompressed bytes)"
    )]
    Gzip {
        /// The decoder's message.
        reason: String,
        /// Compressed bytes the decoder had consumed when it failed (an
        /// upper bound of the bad spot: the decoder reads ahead).
        offset: u64,
        /// Bytes decoded before the failure.
        decompressed: u64,
    },
    /// The decompressed capture exceeds the size cap.
    #[error("decompressed capture exceeds the {limit}-byte limit")]
    TooLarge {
        /// The cap in bytes.
        limit: u64,
    },
    /// The file ends inside a block or a field.
    #[error("truncated at offset {offset}: {what} needs {need} bytes, {have} left")]
    Truncated {
        /// Offset of the incomplete item.
        offset: u64,
        /// What was being read.
        what: &'static str,
        /// Bytes it needs.
        need: u64,
        /// Bytes available.
        have: u64,
    },
    /// A block is malformed (bad length, trailer mismatch, bad magic...).
    #[error("bad block at offset {offset}: {reason}")]
    BadBlock {
        /// Offset of the block header.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// An event inside an event block is malformed.
    #[error("bad event at offset {offset}: {reason}")]
    BadEvent {
        /// Offset of the event header.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A block that is neither an event nor a section header after the
    /// events started: libscap ends the event stream there (its restart
    /// expects a section header).
    #[error("offset {offset}: block type {block_type:#x} after the events started (not a section header); the event stream ends here")]
    UnexpectedBlock {
        /// Offset of the block.
        offset: u64,
        /// Its type.
        block_type: u32,
    },
    /// The file has no section header block first.
    #[error("offset {offset}: expected a section header block, found block type {block_type:#x}")]
    NoSectionHeader {
        /// Offset of the first block.
        offset: u64,
        /// The type found.
        block_type: u32,
    },
    /// Converting the import into a saker capture failed.
    #[error("writing the saker capture: {reason}")]
    Write {
        /// The capture writer's message.
        reason: String,
    },
}

impl ScapError {
    /// The file offset the error refers to, when it has one.
    pub fn offset(&self) -> Option<u64> {
        match self {
            Self::Truncated { offset, .. }
            | Self::BadBlock { offset, .. }
            | Self::BadEvent { offset, .. }
            | Self::NoSectionHeader { offset, .. }
            | Self::UnexpectedBlock { offset, .. }
            | Self::Gzip { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}
