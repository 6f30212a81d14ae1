//! Property tests: arbitrary or mutated bytes never panic the reader, and
//! any change to a valid file is detected.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::tests::{recs, write};
use super::*;

fn valid() -> &'static Vec<u8> {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| write(&recs(200), 1200, true).0)
}

/// Opens, iterates, seeks and verifies; must never panic.
fn exercise(bytes: Vec<u8>, ts: u64) -> Option<VerifyReport> {
    let r = CaptureReader::new(bytes).ok()?;
    let _ = r.totals();
    for i in 0..r.blocks().len().min(64) {
        let _ = r.block_counts(i).count();
    }
    let mut c = r.cursor();
    let mut n = 0;
    while let Some(e) = c.next() {
        if e.is_err() {
            break;
        }
        n += 1;
        if n > 100_000 {
            break;
        }
    }
    let _ = c.seek_time(ts);
    let _ = c.next();
    let _ = c.seek_event(ts % 300);
    let _ = c.next();
    Some(r.verify())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..2048), header in any::<bool>(), ts in any::<u64>()) {
        if header && bytes.len() >= 64 {
            bytes[..64].copy_from_slice(&valid()[..64]);
        }
        exercise(bytes, ts);
    }

    #[test]
    fn mutated_files_never_panic_and_are_detected(
        muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
        ts in any::<u64>(),
    ) {
        let orig = valid();
        let mut bytes = orig.clone();
        for (i, v) in &muts {
            let i = i.index(bytes.len());
            bytes[i] = *v;
        }
        if let Some(c) = cut {
            bytes.truncate(c.index(bytes.len()));
        }
        let changed = &bytes != orig;
        if let Some(rep) = exercise(bytes, ts) {
            prop_assert_eq!(rep.is_ok(), !changed, "{:?}", rep.problems);
        }
    }
}
