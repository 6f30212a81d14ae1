//! The streamed import against the in-memory one: same records, same
//! metadata, for plain and gzip input, truncated gzip included; and the
//! reorder window's bound.

use super::tests::{read, EXPECTED};
use super::*;

fn gz(d: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(d).unwrap();
    e.finish().unwrap()
}

/// The records of a saker capture, concatenated, and its metadata.
fn records_of(cap: Vec<u8>) -> (Vec<u8>, CaptureMeta) {
    let r = crate::capture::CaptureReader::new(cap).unwrap();
    let mut out = Vec::new();
    let mut c = r.cursor();
    while let Some(x) = c.next() {
        out.extend_from_slice(x.unwrap().1.bytes());
    }
    (out, r.meta().clone())
}

/// Records as a sorted list (order ignored).
fn multiset(mut recs: &[u8]) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    while !recs.is_empty() {
        let (r, rest) = crate::event::Record::parse(recs).unwrap();
        v.push(r.bytes().to_vec());
        recs = rest;
    }
    v.sort();
    v
}

#[test]
fn streamed_import_matches_the_in_memory_one_plain_and_gzip() {
    for (name, _) in EXPECTED {
        let Some(b) = read(name) else { return };
        let mem = import(&b).unwrap();
        let wopts = WriterOptions::default();
        let st = import_into(&b, ImportOptions::default(), wopts, Vec::new()).unwrap();
        assert_eq!(st.stats, mem.stats, "{name}");
        assert_eq!(st.meta, mem.meta, "{name}");
        let (recs, meta) = records_of(st.out);
        assert_eq!(recs, mem.records, "{name}");
        assert_eq!(meta, mem.meta, "{name}");
        // The other encoding of the same file: gzip for a plain one and
        // plain for a gzip one give the same import.
        let other = match detect(&b) {
            FileKind::Gzip => gunzip(&b, 1 << 30).unwrap(),
            _ => gz(&b),
        };
        let o = import(&other).unwrap();
        assert_eq!((&o.records, &o.stats), (&mem.records, &mem.stats), "{name}");
    }
}

#[test]
fn truncated_gzip_streams_like_the_decompressed_prefix() {
    let Some(b) = read("sf_files_files.scap") else {
        return;
    };
    let raw = if detect(&b) == FileKind::Gzip {
        gunzip(&b, 1 << 30).unwrap()
    } else {
        b
    };
    let z = gz(&raw);
    for cut in [
        z.len() / 7,
        z.len() / 3,
        z.len() / 2,
        z.len() - 9,
        z.len() - 1,
    ] {
        let part = &z[..cut];
        // The whole-buffer semantics: what decodes, then its truncation or
        // else the decoder's error.
        let (prefix, gz_err) = gunzip_partial(part, 1 << 30).unwrap();
        let want = import(&prefix).unwrap();
        let got = import(part).unwrap();
        assert_eq!(got.records, want.records, "cut {cut}");
        let t = want.stats.truncation.clone().or(gz_err);
        assert_eq!(got.stats.truncation, t, "cut {cut}");
        assert!(got.stats.truncation.is_some(), "cut {cut}");
    }
    // The cap still applies to a stream.
    let small = ImportOptions {
        max_decompressed: (raw.len() / 2) as u64,
        ..ImportOptions::default()
    };
    assert!(matches!(
        import_with(&z, small),
        Err(ScapError::TooLarge { .. })
    ));
}

#[test]
fn a_full_reorder_window_keeps_every_record_and_counts_the_late_ones() {
    // Lone enters come out when the file ends, with their enter's time.
    let Some(b) = read("sf_nginx_nginx.scap") else {
        return;
    };
    let full = import(&b).unwrap();
    assert_eq!(full.stats.late, 0);
    assert!(full.stats.unfinished > 0);
    let tiny = ImportOptions {
        window: 0,
        ..ImportOptions::default()
    };
    let t = import_with(&b, tiny).unwrap();
    assert!(
        t.stats.late > 0,
        "a window of 0 releases records as they come"
    );
    assert_eq!(multiset(&t.records), multiset(&full.records));
    assert_ne!(t.records, full.records);
    let mut s = t.stats.clone();
    s.late = 0;
    assert_eq!(s, full.stats);
    // Late records are written next: each is older than a record before it.
    let mut recs = &t.records[..];
    let (mut max, mut inversions) = (0u64, 0u64);
    while !recs.is_empty() {
        let (r, rest) = crate::event::Record::parse(recs).unwrap();
        if r.ts() < max {
            inversions += 1;
        }
        max = max.max(r.ts());
        recs = rest;
    }
    assert_eq!(inversions, t.stats.late);
}

#[test]
fn input_is_released_once_both_passes_are_done_with_it() {
    // Two concatenated copies: a capture of two sections, over 4 MiB.
    let Some(b) = read("sf_mpm-event_full_capture.scap") else {
        return;
    };
    let two = [&b[..], &b[..]].concat();
    let wopts = WriterOptions::default();
    let want = import_into(&two, ImportOptions::default(), wopts, Vec::new()).unwrap();
    let want_recs = records_of(want.out).0;
    // Two passes on two threads, and the single pass of a small file.
    for single_pass in [0, u64::MAX] {
        let opts = ImportOptions {
            single_pass,
            ..ImportOptions::default()
        };
        let mut calls = Vec::new();
        let got =
            import_into_releasing(&two, opts, wopts, Vec::new(), &mut |n| calls.push(n)).unwrap();
        assert_eq!((&got.stats, &got.meta), (&want.stats, &want.meta));
        assert_eq!(records_of(got.out).0, want_recs);
        assert!(calls.iter().all(|&n| n <= two.len() as u64), "{calls:?}");
        // What the passes are done with only grows, up to the whole file
        // once both have ended.
        assert!(calls.windows(2).all(|w| w[1] > w[0]), "{calls:?}");
        assert_eq!(calls.last(), Some(&(two.len() as u64)), "{calls:?}");
    }
}

/// Options that walk `b` in two passes on two threads (`threaded`) or,
/// if not, in one pass on this thread.
fn passes(threaded: bool, opts: ImportOptions) -> ImportOptions {
    ImportOptions {
        single_pass: if threaded { 0 } else { u64::MAX },
        ..opts
    }
}

/// All of a stream's records, concatenated, with the metadata it began with.
fn streamed(b: &[u8], opts: ImportOptions) -> (CaptureMeta, ImportStats, (CaptureMeta, Vec<u8>)) {
    stream_records(b, opts, &mut |_| {}, |m, r| {
        let mut all = Vec::new();
        while let Some(x) = r.next() {
            all.extend_from_slice(x);
        }
        (m.clone(), all)
    })
    .unwrap()
}

#[test]
fn streamed_records_are_the_import_in_its_order() {
    for (name, _) in EXPECTED {
        let Some(b) = read(name) else { return };
        let mem = import(&b).unwrap();
        let small = ImportOptions {
            window: 4 << 10,
            ..ImportOptions::default()
        };
        let m = import_with(&b, small).unwrap();
        // One pass or two: the same records, metadata and stats.
        for threaded in [false, true] {
            let opts = passes(threaded, ImportOptions::default());
            let (meta, stats, (began, recs)) = streamed(&b, opts);
            assert_eq!(recs, mem.records, "{name} {threaded}");
            assert_eq!((&meta, &began), (&mem.meta, &mem.meta), "{name}");
            assert_eq!(stats, mem.stats, "{name} {threaded}");
            // A tiny window: late records, and in two passes many small
            // batches, reused as the consumer hands them back; the same
            // records as the in-memory import with that window.
            let (_, st, (_, recs)) = streamed(&b, passes(threaded, small));
            assert_eq!((&recs, &st), (&m.records, &m.stats), "{name} {threaded}");
        }
    }
}

#[test]
fn a_consumer_that_stops_early_ends_the_import_cleanly() {
    for (name, threaded) in EXPECTED.iter().flat_map(|(n, _)| [(n, false), (n, true)]) {
        let Some(b) = read(name) else { return };
        let mem = import(&b).unwrap();
        let small = ImportOptions {
            window: 4 << 10,
            ..ImportOptions::default()
        };
        let small = passes(threaded, small);
        let (_, stats, taken) = stream_records(&b, small, &mut |_| {}, |_, r| {
            let mut n = 0u64;
            while n < 3 && r.next().is_some() {
                n += 1;
            }
            n
        })
        .unwrap();
        assert_eq!(taken, mem.stats.records.min(3), "{name}");
        // The block counts are the first pass's when the converter was
        // stopped, its own otherwise (or the single pass's): the same.
        assert_eq!(stats.raw_events, mem.stats.raw_events, "{name}");
        assert_eq!(stats.truncation, mem.stats.truncation, "{name}");
    }
}

#[test]
fn a_detached_enter_comes_back_as_it_was_decoded() {
    let Some(b) = read("sf_nginx_nginx.scap") else {
        return;
    };
    let mut seen = 0;
    for e in events(&b).take(500) {
        let e = e.unwrap();
        let d = e.detach();
        let copy = e.bytes().to_vec();
        let back = d.attach(&copy).unwrap();
        assert_eq!(format!("{back:?}"), format!("{e:?}"));
        assert_eq!(back.params, e.params);
        assert!(d.attach(&copy[1..]).is_none(), "other bytes are refused");
        seen += 1;
    }
    assert_eq!(seen, 500);
}

#[test]
fn bare_codes_keep_only_the_header_of_their_records() {
    use super::tests::split_records;
    use crate::event::wire::{CODE_SPECIAL, F_ENTER_TS};
    // Every syscall bare, then every other code: mixed with full records.
    let mut all = Bare::default();
    let mut even = Bare::default();
    for c in 0..CODE_SPECIAL {
        all.insert(c);
        if c % 2 == 0 {
            even.insert(c);
        }
    }
    assert!(Bare::default().is_empty() && !even.is_empty());
    assert!(even.contains(2) && !even.contains(3) && !all.contains(CODE_SPECIAL));
    let mut seen_bare = 0;
    for (name, _) in EXPECTED {
        let Some(b) = read(name) else { return };
        for threaded in [false, true] {
            let (meta, stats, (_, full)) = streamed(&b, passes(threaded, ImportOptions::default()));
            for bare in [all, even] {
                let opts = passes(
                    threaded,
                    ImportOptions {
                        bare,
                        ..ImportOptions::default()
                    },
                );
                let (m, s, (_, got)) = streamed(&b, opts);
                assert_eq!(m, meta, "{name}");
                assert_eq!(
                    ImportStats {
                        flags_dropped: 0,
                        ..s
                    },
                    ImportStats {
                        flags_dropped: 0,
                        ..stats.clone()
                    },
                    "{name}"
                );
                let (got, full) = (split_records(&got), split_records(&full));
                assert_eq!(got.len(), full.len(), "{name}");
                for (g, f) in got.iter().zip(&full) {
                    if !bare.contains(f.code()) {
                        assert_eq!(g.bytes(), f.bytes(), "{name}");
                        continue;
                    }
                    seen_bare += 1;
                    let head = |r: &crate::event::Record<'_>| {
                        (
                            r.code(),
                            r.ts(),
                            r.tid(),
                            r.pid(),
                            r.ret(),
                            r.flags() & !F_ENTER_TS,
                        )
                    };
                    assert_eq!(head(g), head(f), "{name}");
                    assert_eq!((g.nargs(), g.params().count()), (0, 0), "{name}");
                }
            }
        }
    }
    assert!(seen_bare > 10_000, "{seen_bare}");
}
