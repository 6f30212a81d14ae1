//! The capture file format: writing ([`CaptureWriter`]), reading
//! ([`CaptureReader`], [`Cursor`]) and checking ([`VerifyReport`]) saker
//! capture files. The byte layout is specified in `format-spec.md`.
//!
//! A file is a header, metadata sections (zstd JSON of [`crate::event::meta`]
//! types), blocks of zstd-compressed wire records, and a footer with the block
//! index, totals and summary. A blake3 hash chain runs through every part so
//! any change, reordering or truncation is detected; a file without footer
//! (recorder killed) stays readable up to its last complete block.
//!
//! This module owns the on-disk layout only: it decodes records with
//! [`crate::event::Record`] and never depends on the recorder, TUI or CLI.

mod ahead;
mod block;
mod codec;
mod cursor;
mod error;
mod footer;
mod header;
mod reader;
mod replace;
mod section;
pub mod synth;
mod verify;
mod writer;

pub use ahead::AHEAD;
pub use block::{BlockInfo, MAX_BLOCK_LEN, MAX_CODES};
pub use codec::{hex, parse_hex, Hash};
pub use cursor::Cursor;
pub use error::CaptureError;
pub use footer::MAX_SUMMARY_LEN;
pub use header::{FileHeader, VERSION_MAJOR, VERSION_MINOR};
pub use reader::{open, CaptureReader, Totals, Truncation};
pub use replace::Replacing;
pub use section::{
    CaptureMeta, KIND_CONFIG, KIND_MACHINE, KIND_SNAPSHOT, KIND_SYSCALLS, MAX_SECTION_LEN,
};
pub use verify::{Problem, ProblemKind, VerifyReport};
pub use writer::{CaptureWriter, FinishInfo, WriterOptions, WriterStats};

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_damage;
#[cfg(test)]
mod tests_footer;
