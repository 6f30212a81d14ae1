//! The 1.1 footer: per-block counts in the index, opening without walking
//! the blocks, 1.0 footers still read, and seeks that decompress only the
//! blocks they need.

use super::footer::{self, FooterParts};
use super::tests::{events, recs, write};
use super::CaptureReader;

/// Rewrites the footer of a finished capture as 1.0 wrote it: no block-count
/// table (the `n_bcounts` field was reserved, 0).
fn as_v1_0(file: &[u8]) -> Vec<u8> {
    let r = CaptureReader::new(file.to_vec()).unwrap();
    let f = r.footer.clone().unwrap();
    let mut out = file[..f.offset as usize].to_vec();
    let body = &file[f.offset as usize..];
    // The compressed summary sits just before the 32-byte hash.
    let zlen = u32::from_le_bytes(body[20..24].try_into().unwrap()) as usize;
    let slen = u32::from_le_bytes(body[24..28].try_into().unwrap());
    let z = &body[f.len as usize - 32 - zlen..f.len as usize - 32];
    let (bytes, _) = footer::encode(
        &FooterParts {
            index: &f.index,
            block_counts: &[],
            totals: &f.totals,
            events: f.events,
            drops: f.drops,
            uncompressed_bytes: f.uncompressed_bytes,
            summary_z: z,
            summary_len: slen,
            last_chain: f.last_chain,
        },
        f.offset,
    );
    out.extend_from_slice(&bytes);
    out
}

#[test]
fn footer_holds_every_blocks_counts() {
    let (file, _) = write(&recs(3000), 2000, true);
    let r = CaptureReader::new(file).unwrap();
    let f = r.footer.as_ref().unwrap();
    assert!(r.blocks().len() > 5);
    assert_eq!(
        f.block_counts.len(),
        r.blocks()
            .iter()
            .map(|b| usize::from(b.n_counts))
            .sum::<usize>()
    );
    for (i, b) in r.blocks().iter().enumerate() {
        let from_footer: Vec<_> = r.block_counts(i).collect();
        let from_header: Vec<_> =
            super::block::counts(&r.bytes()[b.offset as usize..], b).collect();
        assert_eq!(from_footer, from_header, "block {i}");
    }
    assert!(r.verify().is_ok());
}

#[test]
fn a_valid_footer_is_trusted_without_walking_the_blocks() {
    let (mut file, _) = write(&recs(3000), 2000, true);
    let r = CaptureReader::new(file.clone()).unwrap();
    let mid = r.blocks()[r.blocks().len() / 2];
    // Break a middle block's magic: opening never looks at it...
    file[mid.offset as usize] ^= 0xff;
    let r = CaptureReader::new(file).unwrap();
    assert!(r.is_complete(), "the footer alone describes the blocks");
    assert_eq!(r.totals().events, 3000);
    // Reading that block is refused, naming it; the others read.
    let i = r.block_for_event(mid.first_event);
    let e = r.read_block(i, &mut Vec::new()).unwrap_err();
    assert!(
        e.to_string().contains(&format!("offset {}", mid.offset)),
        "{e}"
    );
    r.read_block(i - 1, &mut Vec::new()).unwrap();
    // ...but verify, which reads everything, finds it.
    let v = r.verify();
    assert!(!v.is_ok());
    assert!(
        v.problems.iter().any(|p| p.offset == mid.offset),
        "{:?}",
        v.problems
    );
}

#[test]
fn a_footer_index_that_does_not_tile_the_file_is_rejected() {
    let (file, _) = write(&recs(3000), 2000, true);
    let r = CaptureReader::new(file.clone()).unwrap();
    let last = *r.blocks().last().unwrap();
    // Changing the last block's header breaks the last link the reader checks.
    let mut bad = file.clone();
    bad[last.offset as usize + 8] ^= 1; // seq
    let r2 = CaptureReader::new(bad).unwrap();
    assert!(!r2.is_complete());
    assert!(r2.truncation().unwrap().reason.contains("footer rejected"));
    // Every event before the damaged block is still readable.
    assert_eq!(events(&r2).unwrap().len() as u64, last.first_event);
}

#[test]
fn version_1_0_footers_still_read() {
    let (file, _) = write(&recs(3000), 2000, true);
    let v10 = as_v1_0(&file);
    let r = CaptureReader::new(v10).unwrap();
    assert!(r.is_complete(), "{:?}", r.truncation());
    assert!(r.footer.as_ref().unwrap().block_counts.is_empty());
    let r11 = CaptureReader::new(file).unwrap();
    let (t, t11) = (r.totals(), r11.totals());
    assert_eq!(
        (t.events, &t.counts, t.drops),
        (t11.events, &t11.counts, t11.drops)
    );
    for i in 0..r.blocks().len() {
        assert_eq!(
            r.block_counts(i).collect::<Vec<_>>(),
            r11.block_counts(i).collect::<Vec<_>>()
        );
    }
    assert_eq!(events(&r).unwrap(), events(&r11).unwrap());
}

#[test]
fn seeks_decompress_only_the_blocks_they_need() {
    let (file, _) = write(&recs(5000), 2000, true);
    let r = CaptureReader::new(file).unwrap();
    let blocks = r.blocks().len();
    assert!(blocks > 20, "{blocks} blocks");
    // Opening, totals and per-block counts decompress nothing.
    let _ = r.totals();
    for i in 0..blocks {
        let _ = r.block_counts(i).count();
    }
    assert_eq!(r.blocks_decompressed(), 0);
    // A seek to a time decompresses the one block that holds it.
    let target = 1_000 + 1000 * 3210; // the ts of event 3210
    let mut c = r.cursor();
    c.seek_time(target).unwrap();
    let (n, rec) = c.next().unwrap().unwrap();
    assert_eq!((n, rec.ts()), (3210, target));
    assert_eq!(r.blocks_decompressed(), 1);
    // Reading on within the block costs nothing more; crossing into the
    // next block costs exactly one.
    let b = r.block_for_event(3210);
    let end = r.blocks()[b].end_event();
    for _ in 3211..end {
        c.next().unwrap().unwrap();
    }
    assert_eq!(r.blocks_decompressed(), 1);
    c.next().unwrap().unwrap();
    assert_eq!(r.blocks_decompressed(), 2);
}
