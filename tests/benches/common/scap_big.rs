//! Enlarging a real sysdig `.scap` file for the benches: the header blocks
//! (SHB, MI, PL, FDL, UL, IL, everything before the first event block) are
//! kept once, then the event blocks are written `k` times, each copy's
//! timestamps shifted past the previous copy's last one, so sysdig and
//! saker see one long, time-ordered capture made of real events.
//!
//! Block layout (pcapng-like, see ../shared/docs/scap-format.md §2, §10):
//! `u32 type | u32 total_len | body | u32 total_len`; an event block body
//! starts with `u16 cpu_id` (plus `u32 flags` for EVF*), then the event
//! header whose first field is the `u64` timestamp.

use std::path::Path;

/// Event block types: EV, EVF, EV_V2, EVF_V2, EV_V2_LARGE, EVF_V2_LARGE.
const EV_TYPES: [u32; 6] = [0x204, 0x208, 0x216, 0x217, 0x221, 0x222];
/// EVF* blocks carry a flags word before the event.
const EVF_TYPES: [u32; 3] = [0x208, 0x217, 0x222];

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The offset of the event timestamp inside a block of type `ty`.
fn ts_off(ty: u32) -> usize {
    8 + 2 + if EVF_TYPES.contains(&ty) { 4 } else { 0 }
}

/// An event block of a scap file: `(offset, len, type)`.
pub type EventBlock = (usize, usize, u32);

/// Splits an uncompressed scap file into (header bytes, event blocks).
/// `None` if it is not a plain little-endian scap.
pub fn split(b: &[u8]) -> Option<(Vec<u8>, Vec<EventBlock>)> {
    if u32_at(b, 0)? != 0x0A0D_0D0A || u32_at(b, 8)? != 0x1A2B_3C4D {
        return None;
    }
    let (mut at, mut head_end, mut evs) = (0usize, None, Vec::new());
    while at + 12 <= b.len() {
        let ty = u32_at(b, at)?;
        let len = u32_at(b, at + 4)? as usize;
        if len < 12 || at + len > b.len() {
            break;
        }
        if EV_TYPES.contains(&ty) {
            head_end.get_or_insert(at);
            if len >= ts_off(ty) + 8 {
                evs.push((at, len, ty));
            }
        }
        at += len;
    }
    Some((b[..head_end?].to_vec(), evs))
}

/// Writes `src`'s header once and its event blocks `k` times to `dst`.
/// Returns the number of event blocks written.
pub fn enlarge(src: &Path, dst: &Path, k: usize) -> std::io::Result<u64> {
    let b = std::fs::read(src)?;
    let bad = || std::io::Error::other(format!("{}: not a plain .scap file", src.display()));
    let (head, evs) = split(&b).ok_or_else(bad)?;
    let ts = |&(at, _, ty): &(usize, usize, u32)| {
        let o = at + ts_off(ty);
        u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]))
    };
    let lo = evs.iter().map(ts).filter(|&t| t != 0).min().unwrap_or(0);
    let hi = evs.iter().map(ts).max().unwrap_or(0);
    let span = hi.saturating_sub(lo) + 1_000;
    let mut out = Vec::with_capacity(head.len() + (b.len() - head.len()) * k);
    out.extend_from_slice(&head);
    for copy in 0..k as u64 {
        for e in &evs {
            let blk = &b[e.0..e.0 + e.1];
            let start = out.len();
            out.extend_from_slice(blk);
            let t = ts(e);
            if t != 0 {
                let o = start + ts_off(e.2);
                out[o..o + 8].copy_from_slice(&(t + copy * span).to_le_bytes());
            }
        }
    }
    std::fs::write(dst, out)?;
    Ok(evs.len() as u64 * k as u64)
}
