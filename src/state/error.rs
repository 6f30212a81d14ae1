//! The state module's error type.
//!
//! Applying records never fails (odd input is skipped and counted in
//! [`super::Stats`]); errors only come from replaying records for a
//! checkpoint query.

use crate::event::EventError;

/// Errors of [`super::Checkpoints`] queries.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// A replayed record could not be decoded.
    #[error("event {index}: bad record: {source}")]
    BadRecord {
        /// Event number of the record.
        index: u64,
        /// The decoding error.
        source: EventError,
    },
    /// The caller's record source failed.
    #[error("event {index}: reading records failed: {source}")]
    Source {
        /// Event number that was being read.
        index: u64,
        /// The source's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The caller's record source ended before the requested event.
    #[error("record source ended at event {got}, before event {wanted}")]
    ShortReplay {
        /// Event number the query asked for.
        wanted: u64,
        /// Event number the source ended at.
        got: u64,
    },
    /// The query asks for a point before the first checkpoint.
    #[error("event {wanted} is before the first checkpoint (event {first})")]
    BeforeStart {
        /// Event number the query asked for.
        wanted: u64,
        /// Event number of the first checkpoint.
        first: u64,
    },
    /// A checkpoint interval of 0 was requested.
    #[error("checkpoint interval must be at least 1")]
    ZeroInterval {
        /// Always 0; kept for a uniform named-field shape.
        interval: u64,
    },
}
