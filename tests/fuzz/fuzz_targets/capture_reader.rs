//! Any bytes: open, iterate every event, seek and verify; must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use saker::capture::CaptureReader;

fuzz_target!(|data: &[u8]| {
    let Ok(r) = CaptureReader::new(data) else { return };
    let _ = r.totals();
    let mut c = r.cursor();
    while let Some(Ok(_)) = c.next() {}
    let ts = data.len() as u64 * 1000;
    if c.seek_time(ts).is_ok() {
        let _ = c.next();
    }
    let _ = r.verify();
});
