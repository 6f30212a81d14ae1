//! The command-line front end: argument parsing and one module per command.
//! Only this module and `main.rs` use `anyhow`.

pub mod args;
#[cfg(feature = "bpf")]
pub mod record;

pub use args::{Cli, Cmd};
