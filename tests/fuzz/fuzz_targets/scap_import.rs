//! Any bytes (plain, or gzip): import a scap capture and re-decode every
//! record it produced; must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use saker::event::Record;
use saker::scap::{import_with, ImportOptions};

fuzz_target!(|data: &[u8]| {
    let opts = ImportOptions { max_decompressed: 64 << 20 };
    let Ok(imp) = import_with(data, opts) else { return };
    let mut rest = &imp.records[..];
    while !rest.is_empty() {
        let (_, tail) = Record::parse(rest).expect("imported records are valid");
        rest = tail;
    }
});
