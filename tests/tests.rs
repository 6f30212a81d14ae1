//! Integration tests: one binary, running the real `saker` and reading its
//! captures through the library.

mod util;

mod captures;
mod chisel;
mod read;
mod record;
mod scap;
mod specs_run;
mod rules_engine;
