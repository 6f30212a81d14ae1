//! Property tests: random and mutated inputs never panic the importer.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;

fn sample() -> Option<&'static Vec<u8>> {
    static F: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    F.get_or_init(|| {
        super::tests::read("test_ipv6_client.scap").map(|b| gunzip(&b, 1 << 30).unwrap())
    })
    .as_ref()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..2048), scap in any::<bool>()) {
        if scap && bytes.len() >= 12 {
            bytes[..4].copy_from_slice(&detect::SHB_TYPE.to_le_bytes());
            bytes[8..12].copy_from_slice(&detect::SHB_MAGIC.to_le_bytes());
        }
        let _ = import(&bytes);
        let _ = import_into(&bytes, ImportOptions::default(), crate::capture::WriterOptions::default(), Vec::new());
    }

    #[test]
    fn mutated_file_never_panics(muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16)) {
        let Some(base) = sample() else { return Ok(()) };
        let mut b = base.clone();
        for (i, v) in muts {
            let at = i.index(b.len());
            b[at] = v;
        }
        if let Ok(imp) = import(&b) {
            let mut rest = &imp.records[..];
            while !rest.is_empty() {
                let (_, tail) = crate::event::Record::parse(rest).expect("records we build are valid");
                rest = tail;
            }
        }
        // The streamed path, with a reorder window small enough to overflow,
        // writes a capture that opens.
        let tiny = ImportOptions { window: 64, ..ImportOptions::default() };
        let one = import_into(&b, tiny, crate::capture::WriterOptions::default(), Vec::new());
        if let Ok(st) = &one {
            crate::capture::CaptureReader::new(st.out.clone()).expect("a streamed import opens");
        }
        // Two passes on two threads: the same outcome.
        let two_passes = ImportOptions { single_pass: 0, ..tiny };
        let two = import_into(&b, two_passes, crate::capture::WriterOptions::default(), Vec::new());
        match (one, two) {
            (Ok(a), Ok(b)) => prop_assert_eq!((a.stats, a.meta), (b.stats, b.meta)),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => prop_assert!(false, "{:?} vs {:?}", a.map(|i| i.stats), b.map(|i| i.stats)),
        }
    }
}
