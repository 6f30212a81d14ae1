//! saker: an offline syscall capture recorder and forensic analyzer.

pub mod capture;
pub mod event;
#[cfg(feature = "bpf")]
pub mod recorder;
pub mod state;
pub mod filter;
