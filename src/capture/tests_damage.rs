//! Damage tests: flipped bytes, swapped blocks and truncated files must be
//! reported at the right offset, and the intact part must stay readable.

use super::tests::{events, recs, write};
use super::*;

/// Start offsets of every structure in a finished file, in order.
fn structures(r: &CaptureReader<Vec<u8>>) -> Vec<u64> {
    let mut v = vec![0];
    let mut off = u64::from(r.header().header_len);
    v.push(off);
    while off < r.blocks_start() {
        let len = u32::from_le_bytes(
            r.bytes()[off as usize + 8..off as usize + 12]
                .try_into()
                .unwrap(),
        );
        off += 48 + u64::from(len);
        v.push(off);
    }
    v.pop();
    v.extend(r.blocks().iter().map(|b| b.offset));
    v.push(r.blocks().last().unwrap().end()); // footer
    v.push(r.bytes().len() as u64 - 24); // trailer
    v
}

#[test]
fn every_flipped_byte_is_reported_at_its_structure() {
    let rs = recs(120);
    let (file, _) = write(&rs, 1500, true);
    let r = CaptureReader::new(file.clone()).unwrap();
    assert!(r.blocks().len() >= 3);
    let starts = structures(&r);
    let first_section = starts[1];
    let footer = starts[starts.len() - 2];
    for p in 0..file.len() {
        let mut bad = file.clone();
        bad[p] ^= 0x20;
        let owner = *starts.iter().rev().find(|&&s| s <= p as u64).unwrap();
        let r = match CaptureReader::new(bad) {
            Ok(r) => r,
            Err(e) => {
                // Only a broken file header or section header (which hides
                // where the blocks start) stops the open, naming its offset.
                let msg = e.to_string();
                assert!(
                    p < 64
                        || (p as u64) < r.blocks_start()
                            && msg.contains(&format!("offset {owner}")),
                    "byte {p}: open failed: {e}"
                );
                continue;
            }
        };
        let rep = r.verify();
        assert!(!rep.is_ok(), "flip at {p} not detected");
        let ok_offsets: Vec<u64> = match owner {
            0 => vec![first_section],
            o if o == footer || o == file.len() as u64 - 24 => vec![footer, file.len() as u64 - 24],
            o => vec![o],
        };
        assert!(
            ok_offsets.contains(&rep.problems[0].offset),
            "flip at {p} (in structure at {owner}) first reported at {}: {:?}",
            rep.problems[0].offset,
            rep.problems
        );
        // Only damaged blocks are lost: a complete reading never includes
        // different bytes than were written.
        if let Ok(evs) = events(&r) {
            for (n, b) in evs {
                assert_eq!(b, rs[n as usize], "flip at {p}: event {n} changed silently");
            }
        }
    }
}

#[test]
fn changed_block_payload_fails_reading_that_block() {
    let rs = recs(300);
    let (mut file, _) = write(&rs, 2000, true);
    let r = CaptureReader::new(file.clone()).unwrap();
    let b = r.blocks()[2];
    file[b.payload_offset() as usize + 5] ^= 1;
    let r = CaptureReader::new(file).unwrap();
    assert!(r.is_complete()); // headers and footer are intact
    let mut c = r.cursor();
    let mut n = 0;
    let err = loop {
        match c.next() {
            Some(Ok(_)) => n += 1,
            Some(Err(e)) => break e,
            None => panic!("corruption not noticed"),
        }
    };
    assert_eq!(n, b.first_event);
    assert!(
        err.to_string().contains(&format!("offset {}", b.offset)),
        "{err}"
    );
    assert!(c.next().is_none());
    let rep = r.verify();
    assert_eq!(rep.problems[0].offset, b.offset);
    assert_eq!(rep.problems[0].kind, ProblemKind::Changed);
}

#[test]
fn swapped_blocks_are_reported_as_reordered() {
    let rs = recs(400);
    let (file, _) = write(&rs, 1500, true);
    let r = CaptureReader::new(file.clone()).unwrap();
    let (a, b) = (r.blocks()[1], r.blocks()[2]);
    let mut bad = file[..a.offset as usize].to_vec();
    bad.extend_from_slice(&file[b.offset as usize..b.end() as usize]);
    bad.extend_from_slice(&file[a.offset as usize..a.end() as usize]);
    bad.extend_from_slice(&file[b.end() as usize..]);
    assert_eq!(bad.len(), file.len());
    let r = CaptureReader::new(bad).unwrap();
    // The trusted footer still describes the file, but reading stops at the
    // first block whose header is not the one the index describes: no
    // event is read out of place.
    assert!(r.is_complete());
    let mut c = r.cursor();
    let mut n = 0u64;
    let err = loop {
        match c.next() {
            Some(Ok(_)) => n += 1,
            Some(Err(e)) => break e.to_string(),
            None => panic!("the swapped blocks were read"),
        }
    };
    assert_eq!(n, a.first_event);
    assert!(
        err.contains(&format!("offset {}", a.offset)) && err.contains("reordered"),
        "{err}"
    );
    let rep = r.verify();
    let reordered: Vec<u64> = rep
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::Reordered)
        .map(|p| p.offset)
        .collect();
    let b_new_end = a.offset + (b.end() - b.offset);
    assert_eq!(reordered, vec![a.offset, b_new_end]);
}

#[test]
fn truncation_keeps_complete_blocks() {
    let rs = recs(500);
    let (file, _) = write(&rs, 3000, true);
    let full = CaptureReader::new(file.clone()).unwrap();
    let blocks = full.blocks().to_vec();
    let footer = blocks.last().unwrap().end();
    let mut cuts: Vec<u64> = (0..file.len() as u64).step_by(97).collect();
    cuts.extend(
        blocks
            .iter()
            .flat_map(|b| [b.offset, b.offset + 1, b.end() - 1, b.end()]),
    );
    cuts.extend([footer + 10, file.len() as u64 - 1]);
    for cut in cuts {
        let r = match CaptureReader::new(file[..cut as usize].to_vec()) {
            Ok(r) => r,
            Err(e) => {
                assert!(cut < full.blocks_start(), "cut at {cut}: {e}");
                continue;
            }
        };
        assert!(!r.is_complete(), "cut at {cut}");
        let t = r.truncation().expect("truncation reported");
        let whole: Vec<_> = blocks.iter().filter(|b| b.end() <= cut).collect();
        assert_eq!(r.blocks().len(), whole.len(), "cut at {cut}: {}", t.reason);
        let want_end = whole.last().map_or(full.blocks_start(), |b| b.end());
        assert_eq!(t.offset, want_end, "cut at {cut}: {}", t.reason);
        let evs = events(&r).unwrap();
        let n = whole.last().map_or(0, |b| b.end_event());
        assert_eq!(evs.len() as u64, n);
        for (i, b) in evs {
            assert_eq!(b, rs[i as usize]);
        }
        assert_eq!(r.totals().events, n);
        let rep = r.verify();
        assert!(
            rep.problems
                .iter()
                .any(|p| p.kind == ProblemKind::Truncated),
            "cut at {cut}"
        );
    }
}

#[test]
fn killed_writer_leaves_a_readable_file() {
    let rs = recs(700);
    let (file, info) = write(&rs, 2500, false);
    assert!(info.is_none());
    let r = CaptureReader::new(file).unwrap();
    assert!(!r.is_complete());
    assert!(r.summary().is_none());
    assert!(r.truncation().unwrap().reason.contains("did not finish"));
    let evs = events(&r).unwrap();
    assert_eq!(evs.len(), 700);
    let rep = r.verify();
    assert_eq!(rep.problems.len(), 1, "{:?}", rep.problems);
    assert_eq!(rep.problems[0].kind, ProblemKind::Truncated);
    // The last chain of a truncated file is what `--expect` compares.
    assert!(r.verify_expect(&rep.last_chain).problems.len() == 1);
}

#[test]
fn appended_garbage_after_the_footer_is_noticed() {
    let (mut file, _) = write(&recs(50), 1 << 20, true);
    file.extend_from_slice(b"garbage");
    let r = CaptureReader::new(file).unwrap();
    assert!(!r.is_complete());
    assert_eq!(events(&r).unwrap().len(), 50);
    assert!(!r.verify().is_ok());
}
