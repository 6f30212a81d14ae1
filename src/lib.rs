//! saker: an offline syscall capture recorder and forensic analyzer.

pub mod capture;
pub mod event;
#[cfg(feature = "bpf")]
pub mod recorder;
pub mod scap;
pub mod state;
