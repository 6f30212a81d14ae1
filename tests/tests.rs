//! Integration tests: one binary, running the real `saker` and reading its
//! captures through the library.

mod util;

#[path = "benches/common/scap_big.rs"]
mod scap_big;

mod captures;
mod chisel;
mod read;
mod record;
mod rules_engine;
mod scap;
mod specs_run;
mod tui;
