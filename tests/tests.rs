//! Integration tests: one binary, running the real `saker` and reading its
//! captures through the library.

mod util;

mod captures;
mod record;
mod tui;
