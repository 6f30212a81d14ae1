//! Printing events: sysdig `-p` format templates ([`Template`]), time specs
//! for `--from`/`--to` ([`time`]), and the read pipeline ([`run`]):
//! capture cursor → state → filter → template → writer.
//!
//! Used by `saker read` and meant for rules and chisels too; nothing here
//! depends on the CLI.

pub mod format;
pub mod pipeline;
pub mod time;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_plain;

pub use format::{Template, DEFAULT_FORMAT};
pub use pipeline::{needs_frame, run, run_scap, scap_bare, table_of, ReadOptions, ReadStats};

use crate::capture::CaptureError;

/// Errors of the output module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// A format string does not parse or names an unknown field.
    #[error("bad format at offset {pos}: {message}")]
    Format {
        /// Byte offset in the format string.
        pos: usize,
        /// What is wrong.
        message: String,
    },
    /// A `--from`/`--to` spec does not parse.
    #[error("bad time '{text}': {message}")]
    Time {
        /// The spec, escaped.
        text: String,
        /// What is wrong.
        message: String,
    },
    /// Reading the capture failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Writing the output failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl OutputError {
    /// For format errors: the message, the format line and a caret under the
    /// offending position (control characters escaped).
    pub fn render(&self, src: &str) -> String {
        match self {
            OutputError::Format { pos, message } => {
                let e = crate::filter::FilterError::at(
                    crate::filter::ErrorKind::Syntax,
                    src,
                    crate::filter::Span::new(*pos, *pos + 1),
                    message.clone(),
                );
                e.render(src)
            }
            e => e.to_string(),
        }
    }
}
