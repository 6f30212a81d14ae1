//! saker: an offline syscall capture recorder and forensic analyzer.

pub mod event;
pub mod filter;
