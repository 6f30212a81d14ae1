//! saker: an offline syscall capture recorder and forensic analyzer.
//!
//! Pipeline: a source (capture reader, `.scap` importer, live recorder)
//! feeds wire records through `state` and a matcher (`filter`, rules) into a
//! sink (printer, chisel, exporter, TUI).

pub mod capture;
#[cfg(feature = "analytics")]
pub mod chisel;
pub mod event;
pub mod filter;
pub mod output;
#[cfg(feature = "bpf")]
pub mod recorder;
pub mod rules;
pub mod scap;
pub mod source;
pub mod state;
pub mod tui;
