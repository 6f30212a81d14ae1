//! Metadata sections: [`CaptureMeta`] and the section header that frames
//! each zstd-compressed JSON payload. Encoding and decoding only.

use super::codec::{arr, at, decompress_exact, u32_at, Hash};
use super::CaptureError;
use crate::event::meta::{Machine, RecorderConfig, Snapshot, SyscallTable};

/// Section magic (`b"SKSC"` read as a little-endian `u32`).
pub const SECTION_MAGIC: u32 = u32::from_le_bytes(*b"SKSC");
/// Length of a section header.
pub const SECTION_HEADER_LEN: usize = 48;
/// Offset of the chain field inside a section header.
pub const SECTION_CHAIN_OFF: usize = 16;
/// Cap on a section's (compressed or uncompressed) payload: 256 MiB.
pub const MAX_SECTION_LEN: u32 = 256 << 20;

/// Section kind: [`Machine`].
pub const KIND_MACHINE: u32 = 1;
/// Section kind: [`RecorderConfig`].
pub const KIND_CONFIG: u32 = 2;
/// Section kind: [`SyscallTable`].
pub const KIND_SYSCALLS: u32 = 3;
/// Section kind: [`Snapshot`].
pub const KIND_SNAPSHOT: u32 = 4;

/// All the metadata of a capture, stored as sections before the first block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureMeta {
    /// The machine recorded on.
    pub machine: Machine,
    /// How the recording was made.
    pub config: RecorderConfig,
    /// The syscall table used.
    pub syscalls: SyscallTable,
    /// Processes, fds, users and groups at the start.
    pub snapshot: Snapshot,
    /// Sections of other kinds, `(kind, uncompressed payload)`, kept verbatim.
    /// Kinds 1..=4 are not allowed here.
    pub extra: Vec<(u32, Vec<u8>)>,
}

/// One decoded section header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionHeader {
    /// Section kind (`KIND_*` or unknown).
    pub kind: u32,
    /// Bytes of zstd payload after the header.
    pub compressed_len: u32,
    /// Bytes of JSON after decompression.
    pub uncompressed_len: u32,
    /// Hash chain value stored in the header.
    pub chain: Hash,
}

impl SectionHeader {
    /// The 48 header bytes.
    pub fn encode(&self) -> [u8; SECTION_HEADER_LEN] {
        let mut b = [0u8; SECTION_HEADER_LEN];
        b[0..4].copy_from_slice(&SECTION_MAGIC.to_le_bytes());
        b[4..8].copy_from_slice(&self.kind.to_le_bytes());
        b[8..12].copy_from_slice(&self.compressed_len.to_le_bytes());
        b[12..16].copy_from_slice(&self.uncompressed_len.to_le_bytes());
        b[16..48].copy_from_slice(&self.chain);
        b
    }

    /// Decodes the section at file offset `off`, checking its magic, caps,
    /// and that its payload lies inside `file`.
    pub fn decode(file: &[u8], off: usize) -> Result<Self, CaptureError> {
        let have = file.len().saturating_sub(off) as u64;
        let b = file
            .get(off..off.saturating_add(SECTION_HEADER_LEN))
            .ok_or(CaptureError::Truncated {
                what: "section header",
                offset: off as u64,
                need: SECTION_HEADER_LEN as u64,
                have,
            })?;
        let get = |o| u32_at(b, o).unwrap_or(0);
        if get(0) != SECTION_MAGIC {
            return Err(CaptureError::BadMagic {
                what: "section",
                offset: off as u64,
                expected: SECTION_MAGIC,
                found: get(0),
            });
        }
        let h = SectionHeader {
            kind: get(4),
            compressed_len: get(8),
            uncompressed_len: get(12),
            chain: arr(b, SECTION_CHAIN_OFF).unwrap_or([0; 32]),
        };
        for (what, len) in [
            ("section compressed_len", h.compressed_len),
            ("section uncompressed_len", h.uncompressed_len),
        ] {
            if len > MAX_SECTION_LEN {
                return Err(CaptureError::TooLarge {
                    what,
                    offset: off as u64,
                    len: u64::from(len),
                    max: u64::from(MAX_SECTION_LEN),
                });
            }
        }
        let need = SECTION_HEADER_LEN as u64 + u64::from(h.compressed_len);
        if need > have {
            return Err(CaptureError::Truncated {
                what: "section",
                offset: off as u64,
                need,
                have,
            });
        }
        Ok(h)
    }

    /// Total length of header and payload.
    pub fn total_len(&self) -> usize {
        SECTION_HEADER_LEN + self.compressed_len as usize
    }
}

/// Where a section was found; kept by the reader for `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SectionInfo {
    /// File offset of the header.
    pub offset: u64,
    /// The decoded header.
    pub header: SectionHeader,
}

fn name(kind: u32) -> &'static str {
    match kind {
        KIND_MACHINE => "machine",
        KIND_CONFIG => "recorder config",
        KIND_SYSCALLS => "syscall table",
        KIND_SNAPSHOT => "snapshot",
        _ => "extra",
    }
}

impl CaptureMeta {
    /// The uncompressed payload of every section, in file order.
    pub(crate) fn payloads(&self) -> Result<Vec<(u32, Vec<u8>)>, CaptureError> {
        let json = |kind: u32, r: serde_json::Result<Vec<u8>>| {
            r.map(|v| (kind, v)).map_err(|e| CaptureError::Json {
                what: name(kind),
                offset: 0,
                reason: e.to_string(),
            })
        };
        let mut out = vec![
            json(KIND_MACHINE, serde_json::to_vec(&self.machine))?,
            json(KIND_CONFIG, serde_json::to_vec(&self.config))?,
            json(KIND_SYSCALLS, serde_json::to_vec(&self.syscalls))?,
            json(KIND_SNAPSHOT, serde_json::to_vec(&self.snapshot))?,
        ];
        for (kind, data) in &self.extra {
            if (KIND_MACHINE..=KIND_SNAPSHOT).contains(kind) {
                return Err(CaptureError::BadOption {
                    what: "CaptureMeta::extra",
                    reason: format!("kind {kind} is reserved for {}", name(*kind)),
                });
            }
            out.push((*kind, data.clone()));
        }
        for (kind, data) in &out {
            if data.len() > MAX_SECTION_LEN as usize {
                return Err(CaptureError::TooLarge {
                    what: name(*kind),
                    offset: 0,
                    len: data.len() as u64,
                    max: u64::from(MAX_SECTION_LEN),
                });
            }
        }
        Ok(out)
    }
}

/// A section's JSON that did not parse.
fn json_problem(what: &'static str, off: usize, e: &serde_json::Error) -> CaptureError {
    CaptureError::Json {
        what,
        offset: off as u64,
        reason: e.to_string(),
    }
}

/// What [`parse_sections`] found.
pub(crate) struct Sections {
    /// The metadata; parts whose section was bad or missing stay default.
    pub meta: CaptureMeta,
    /// Every section header, in file order.
    pub infos: Vec<SectionInfo>,
    /// Offset just past the last section.
    pub end: usize,
    /// Sections that could not be decoded, or are missing or duplicated.
    pub problems: Vec<CaptureError>,
}

/// Parses the sections starting at `start` up to the first non-section
/// magic. A section whose header is broken ends the file (error); one whose
/// payload is bad is reported in `problems` so the events stay readable.
/// The two large JSON sections (syscall table, snapshot) are parsed at once
/// on two threads; problems still come in file order.
pub(crate) fn parse_sections(file: &[u8], start: usize) -> Result<Sections, CaptureError> {
    let mut s = Sections {
        meta: CaptureMeta::default(),
        infos: Vec::new(),
        end: start,
        problems: Vec::new(),
    };
    let mut seen = [false; 5];
    let mut dec = super::codec::decompressor()?;
    let mut buf = Vec::new();
    // Problems by section offset, and the payloads parsed after the walk.
    let mut problems: Vec<(u64, CaptureError)> = Vec::new();
    let (mut syscalls, mut snapshot) = (None, None);
    while u32_at(file, s.end) == Some(SECTION_MAGIC) {
        let off = s.end;
        let h = SectionHeader::decode(file, off)?;
        s.infos.push(SectionInfo {
            offset: off as u64,
            header: h,
        });
        s.end += h.total_len();
        if let Some(seen) = seen.get_mut(h.kind as usize).filter(|_| h.kind != 0) {
            if *seen {
                let e = CaptureError::DuplicateSection {
                    offset: off as u64,
                    kind: h.kind,
                };
                problems.push((off as u64, e));
                continue;
            }
            *seen = true;
        }
        let body = at(off, SECTION_HEADER_LEN) as usize;
        let payload = file
            .get(body..body + h.compressed_len as usize)
            .unwrap_or(&[]);
        let what = name(h.kind);
        if let Err(e) = decompress_exact(
            &mut dec,
            payload,
            h.uncompressed_len as usize,
            &mut buf,
            what,
            off as u64,
        ) {
            problems.push((off as u64, e));
            continue;
        }
        let m = &mut s.meta;
        let r = match h.kind {
            KIND_MACHINE => serde_json::from_slice(&buf).map(|v| m.machine = v),
            KIND_CONFIG => serde_json::from_slice(&buf).map(|v| m.config = v),
            KIND_SYSCALLS => {
                syscalls = Some((off, std::mem::take(&mut buf)));
                Ok(())
            }
            KIND_SNAPSHOT => {
                snapshot = Some((off, std::mem::take(&mut buf)));
                Ok(())
            }
            other => {
                m.extra.push((other, buf.clone()));
                Ok(())
            }
        };
        if let Err(e) = r {
            problems.push((off as u64, json_problem(what, off, &e)));
        }
    }
    let (sys, snap) = std::thread::scope(|sc| {
        let sys = syscalls.map(|(off, b)| (off, sc.spawn(move || serde_json::from_slice(&b))));
        let snap = snapshot.map(|(off, b)| (off, serde_json::from_slice(&b)));
        let sys = sys.map(|(off, h)| {
            (
                off,
                h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            )
        });
        (sys, snap)
    });
    match sys {
        Some((_, Ok(v))) => s.meta.syscalls = v,
        Some((off, Err(e))) => {
            problems.push((off as u64, json_problem(name(KIND_SYSCALLS), off, &e)))
        }
        None => {}
    }
    match snap {
        Some((_, Ok(v))) => s.meta.snapshot = v,
        Some((off, Err(e))) => {
            problems.push((off as u64, json_problem(name(KIND_SNAPSHOT), off, &e)))
        }
        None => {}
    }
    problems.sort_by_key(|(off, _)| *off);
    s.problems.extend(problems.into_iter().map(|(_, e)| e));
    for kind in KIND_MACHINE..=KIND_SNAPSHOT {
        if !seen[kind as usize] {
            s.problems.push(CaptureError::MissingSection {
                what: name(kind),
                kind,
            });
        }
    }
    Ok(s)
}
