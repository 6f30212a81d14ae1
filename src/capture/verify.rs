//! `verify`: recomputes every hash-chain link, re-derives each block
//! header's summary (counts, ts range, drops) from its records, and checks
//! the footer against the blocks. Reports every problem with its offset.

use super::block::{counts, decode_header, BLOCK_CHAIN_OFF, MAX_CODES};
use super::codec::{chain_step, decompress_exact, decompressor, hex, parse_hex, u32_at, Hash};
use super::footer::{self, FOOTER_MAGIC};
use super::reader::index_matches;
use super::section::{SECTION_CHAIN_OFF, SECTION_HEADER_LEN};
use super::CaptureReader;
use crate::event::wire::CODE_DROP;
use crate::event::Record;

/// What kind of damage a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProblemKind {
    /// Bytes differ from what was written (hash mismatch).
    Changed,
    /// Blocks are out of order, duplicated or missing.
    Reordered,
    /// The file ends early (no or incomplete footer, cut block).
    Truncated,
    /// A structure is malformed or disagrees with its contents.
    Invalid,
    /// The file hash is not the one expected.
    HashMismatch,
}

/// One problem found by `verify`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// File offset of the structure at fault.
    pub offset: u64,
    /// Kind of damage.
    pub kind: ProblemKind,
    /// Human-readable explanation.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "offset {}: {:?}: {}",
            self.offset, self.kind, self.message
        )
    }
}

/// The result of [`CaptureReader::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Problems in file order (the first is the first mismatch).
    pub problems: Vec<Problem>,
    /// Sections checked.
    pub sections: usize,
    /// Blocks checked.
    pub blocks: usize,
    /// Events decoded.
    pub events: u64,
    /// The footer hash (hex) when the footer is valid: the file hash.
    pub file_hash: Option<String>,
    /// Chain value (hex) of the last block or section that was checked.
    pub last_chain: String,
}

impl VerifyReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
    fn add(&mut self, offset: u64, kind: ProblemKind, message: String) {
        self.problems.push(Problem {
            offset,
            kind,
            message,
        });
    }
}

impl<B: AsRef<[u8]>> CaptureReader<B> {
    /// Checks the whole file; never fails, lists what is wrong.
    pub fn verify(&self) -> VerifyReport {
        let file = self.bytes.as_ref();
        let mut rep = VerifyReport::default();
        let hlen = self.header.header_len as usize;
        let mut prev: Hash = *blake3::hash(&file[..hlen]).as_bytes();
        for p in &self.meta_problems {
            let offset = match p {
                super::CaptureError::Json { offset, .. }
                | super::CaptureError::Decompress { offset, .. }
                | super::CaptureError::DuplicateSection { offset, .. } => *offset,
                _ => self.blocks_start as u64,
            };
            rep.add(offset, ProblemKind::Invalid, p.to_string());
        }
        for s in &self.sections {
            let off = s.offset as usize;
            let hdr = &file[off..off + SECTION_HEADER_LEN];
            let payload = &file[off + SECTION_HEADER_LEN..off + s.header.total_len()];
            if chain_step(&prev, hdr, SECTION_CHAIN_OFF, payload) != s.header.chain {
                rep.add(s.offset, ProblemKind::Changed, format!("section kind {}: hash chain mismatch (this section or the one before changed)", s.header.kind));
            }
            prev = s.header.chain;
            rep.sections += 1;
        }
        let fstart = match footer::decode(file, self.blocks_start) {
            Ok(Some(f)) => Some(f.offset as usize),
            _ => None,
        };
        let end = fstart.unwrap_or(file.len());
        let mut off = self.blocks_start;
        let mut next_event = 0u64;
        let mut walked = Vec::new();
        let mut dec = match decompressor() {
            Ok(d) => d,
            Err(e) => {
                rep.add(0, ProblemKind::Invalid, e.to_string());
                return rep;
            }
        };
        let mut buf = Vec::new();
        while off < end {
            if u32_at(file, off) == Some(FOOTER_MAGIC) {
                break;
            }
            let info = match decode_header(&file[..end], off) {
                Ok(i) => i,
                Err(e) => {
                    let kind = if matches!(e, super::CaptureError::Truncated { .. }) {
                        ProblemKind::Truncated
                    } else {
                        ProblemKind::Invalid
                    };
                    rep.add(
                        off as u64,
                        kind,
                        format!("{e}; {} bytes after it not checked", end - off),
                    );
                    break;
                }
            };
            let hdr = &file[off..off + usize::from(info.header_len)];
            let payload = &file[info.payload_offset() as usize..info.end() as usize];
            let chain_ok = chain_step(&prev, hdr, BLOCK_CHAIN_OFF, payload) == info.chain;
            if info.seq as usize != walked.len() || info.first_event != next_event {
                rep.add(info.offset, ProblemKind::Reordered, format!(
                    "block has seq {} and first event {}; expected seq {} and first event {} (blocks reordered, duplicated or removed)",
                    info.seq, info.first_event, walked.len(), next_event));
            } else if !chain_ok {
                rep.add(
                    info.offset,
                    ProblemKind::Changed,
                    format!(
                        "block {}: hash chain mismatch (this block or the one before changed)",
                        info.seq
                    ),
                );
            }
            check_content(&mut rep, &mut dec, &mut buf, file, &info);
            prev = info.chain;
            // After a reordered block, expect the block that follows the
            // furthest one seen, so only the misplaced blocks are reported.
            next_event = next_event.max(info.end_event());
            off = info.end() as usize;
            walked.push(info);
        }
        rep.blocks = walked.len();
        rep.last_chain = hex(&prev);
        match footer::decode(file, self.blocks_start) {
            Ok(None) => rep.add(
                off as u64,
                ProblemKind::Truncated,
                "no footer: the recording did not finish (or the file was cut)".into(),
            ),
            Err(e) => {
                let at = match e {
                    super::CaptureError::BadField { offset, .. }
                    | super::CaptureError::BadMagic { offset, .. } => offset,
                    _ => off as u64,
                };
                rep.add(at, ProblemKind::Changed, format!("footer: {e}"));
            }
            Ok(Some(f)) => {
                if f.last_chain != prev {
                    rep.add(f.offset, ProblemKind::Changed, "footer does not chain to the last block (blocks added, removed or changed)".into());
                }
                if !index_matches(&walked, &f.index) {
                    rep.add(
                        f.offset,
                        ProblemKind::Invalid,
                        format!(
                            "footer block index ({} entries) does not match the {} blocks",
                            f.index.len(),
                            walked.len()
                        ),
                    );
                }
                if !f.block_counts.is_empty() {
                    let walked_counts: Vec<(u16, u32)> = walked
                        .iter()
                        .flat_map(|b| counts(&file[b.offset as usize..], b))
                        .collect();
                    if walked_counts != f.block_counts {
                        rep.add(
                            f.offset,
                            ProblemKind::Invalid,
                            "footer block counts do not match the block headers".into(),
                        );
                    }
                }
                let mut per_code = vec![0u64; MAX_CODES];
                let (mut events, mut drops, mut ubytes) = (0u64, 0u64, 0u64);
                for b in &walked {
                    for (c, n) in counts(&file[b.offset as usize..], b) {
                        per_code[usize::from(c)] += u64::from(n);
                    }
                    events += u64::from(b.event_count);
                    drops = drops.saturating_add(b.drops);
                    ubytes += u64::from(b.uncompressed_len);
                }
                let codes: Vec<(u16, u64)> = (0..MAX_CODES)
                    .filter(|&c| per_code[c] != 0)
                    .map(|c| (c as u16, per_code[c]))
                    .collect();
                if (f.events, f.drops, f.uncompressed_bytes, &f.totals)
                    != (events, drops, ubytes, &codes)
                {
                    rep.add(
                        f.offset,
                        ProblemKind::Invalid,
                        "footer totals do not match the blocks".into(),
                    );
                }
                rep.file_hash = Some(hex(&f.hash));
            }
        }
        rep.problems.sort_by_key(|p| p.offset);
        rep
    }

    /// [`verify`](Self::verify), then compares the file hash (or, for an
    /// unfinished file, the last chain value) with `expected` (hex).
    pub fn verify_expect(&self, expected: &str) -> VerifyReport {
        let mut rep = self.verify();
        let end = self.bytes.as_ref().len() as u64;
        let Some(want) = parse_hex(expected) else {
            rep.add(
                end,
                ProblemKind::HashMismatch,
                "expected hash is not 64 hex digits".into(),
            );
            return rep;
        };
        let have = rep
            .file_hash
            .clone()
            .unwrap_or_else(|| rep.last_chain.clone());
        if have != hex(&want) {
            rep.add(
                end,
                ProblemKind::HashMismatch,
                format!("file hash is {have}, expected {}", hex(&want)),
            );
        }
        rep
    }
}

/// Decompresses a block and checks its header against its records.
fn check_content(
    rep: &mut VerifyReport,
    dec: &mut zstd::bulk::Decompressor<'static>,
    buf: &mut Vec<u8>,
    file: &[u8],
    info: &super::BlockInfo,
) {
    let payload = &file[info.payload_offset() as usize..info.end() as usize];
    if let Err(e) = decompress_exact(
        dec,
        payload,
        info.uncompressed_len as usize,
        buf,
        "block",
        info.offset,
    ) {
        rep.add(info.offset, ProblemKind::Changed, e.to_string());
        return;
    }
    let mut seen = [0u32; MAX_CODES];
    let (mut n, mut min, mut max, mut drops) = (0u32, u64::MAX, 0u64, 0u64);
    let mut rest: &[u8] = buf;
    while !rest.is_empty() {
        let at = buf.len() - rest.len();
        match Record::parse(rest) {
            Ok((r, tail)) => {
                if let Some(c) = seen.get_mut(usize::from(r.code())) {
                    *c += 1;
                }
                n += 1;
                min = min.min(r.ts());
                max = max.max(r.ts());
                if r.code() == CODE_DROP {
                    drops = drops.saturating_add(r.arg(0).unwrap_or(0));
                }
                rest = tail;
            }
            Err(e) => {
                rep.add(
                    info.offset,
                    ProblemKind::Invalid,
                    format!("block {}: bad record at payload offset {at}: {e}", info.seq),
                );
                return;
            }
        }
    }
    rep.events += u64::from(n);
    let table: Vec<(u16, u32)> = counts(&file[info.offset as usize..], info).collect();
    let derived: Vec<(u16, u32)> = (0..MAX_CODES)
        .filter(|&c| seen[c] != 0)
        .map(|c| (c as u16, seen[c]))
        .collect();
    let mut wrong = Vec::new();
    if n != info.event_count {
        wrong.push(format!("{n} records, event_count {}", info.event_count));
    }
    if table != derived {
        wrong.push("per-code counts differ from the records".to_string());
    }
    if (min, max) != (info.first_ts, info.last_ts) {
        wrong.push(format!(
            "records span ts {min}..={max}, header says {}..={}",
            info.first_ts, info.last_ts
        ));
    }
    if drops != info.drops {
        wrong.push(format!(
            "drop markers sum to {drops}, header says {}",
            info.drops
        ));
    }
    if !wrong.is_empty() {
        rep.add(
            info.offset,
            ProblemKind::Invalid,
            format!(
                "block {}: header disagrees with its records: {}",
                info.seq,
                wrong.join("; ")
            ),
        );
    }
}
