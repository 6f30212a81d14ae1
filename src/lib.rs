//! saker: an offline syscall capture recorder and forensic analyzer.
//!
//! Pipeline: a source (capture reader, `.scap` importer, live recorder)
//! feeds wire records through `state` and a matcher (`filter`, rules) into a
//! sink (printer, chisel, exporter, TUI).

pub mod capture;
pub mod event;
pub mod filter;
pub mod output;
#[cfg(feature = "bpf")]
pub mod recorder;
pub mod rules;
pub mod scap;
pub mod state;
pub mod tui;
