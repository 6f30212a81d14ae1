//! Fuzz the rules loader (YAML reader, collector, compiler): any input must load or fail
//! with a positioned error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use saker::event::table::Syscalls;
use saker::filter::fields::Fields;
use saker::rules::{self, CompileOptions};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = rules::load(&[("fuzz.yaml", &text)], &Fields, Syscalls::default_x86_64(), &CompileOptions::default()) {
        let _ = e.to_string();
    }
});
