//! The event model: wire records, syscall tables and capture metadata.
//!
//! Everything here is pure data and decoding; no I/O.

pub mod argnames;
pub mod classify;
pub mod display;
pub mod flags;
pub mod meta;
pub mod plan;
pub mod table;
pub mod text;
pub mod tracefs;
pub mod wire;

pub use wire::{Param, ParamKind, Record, RecordBuilder};

/// Errors decoding a wire record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The buffer ends before the record does.
    #[error("record truncated: need {need} bytes, have {have}")]
    Truncated {
        /// Bytes the record needs.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The record's length field is impossible.
    #[error("bad record length {len}")]
    BadLength {
        /// The length found.
        len: usize,
    },
    /// A param header or its data overruns the record.
    #[error("bad param at record offset {offset}")]
    BadParam {
        /// Offset of the param inside the record.
        offset: usize,
    },
}
