//! Opening any capture saker can read: its own format (memory-mapped) or a
//! sysdig/Falco `.scap` file, plain or gzipped (imported into our format in
//! memory). The kind is told by magic bytes, never by the file name.

use std::path::Path;

use crate::capture::{self, CaptureError, CaptureReader, WriterOptions};
use crate::scap::{self, FileKind, ImportStats, ScapError};

/// Bytes of an opened capture: a mapping of our file, or an imported copy.
pub enum CaptureBytes {
    /// Our format, memory-mapped.
    Mapped(memmap2::Mmap),
    /// Converted from `.scap` in memory.
    Owned(Vec<u8>),
}

impl AsRef<[u8]> for CaptureBytes {
    fn as_ref(&self) -> &[u8] {
        match self {
            CaptureBytes::Mapped(m) => m,
            CaptureBytes::Owned(v) => v,
        }
    }
}

/// Where an opened capture came from.
#[derive(Debug)]
pub enum Origin {
    /// A saker capture.
    Saker,
    /// An imported sysdig/Falco capture.
    Scap {
        /// Whether it was gzipped.
        gzip: bool,
        /// Size of the `.scap` file on disk.
        file_bytes: u64,
        /// What the import found.
        stats: Box<ImportStats>,
    },
}

/// Errors opening a capture of any kind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Reading the file failed.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is neither a saker capture nor a `.scap` file.
    #[error("{path}: not a saker capture or a sysdig/Falco .scap file (unknown magic bytes)")]
    Unknown {
        /// The file.
        path: String,
    },
    /// Our format is damaged.
    #[error("{path}: {source}")]
    Capture {
        /// The file.
        path: String,
        /// What is wrong.
        source: CaptureError,
    },
    /// The `.scap` file could not be imported.
    #[error("{path}: {source}")]
    Scap {
        /// The file.
        path: String,
        /// What is wrong.
        source: ScapError,
    },
}

/// An opened capture.
pub struct Opened {
    /// The reader over our format.
    pub reader: CaptureReader<CaptureBytes>,
    /// Where it came from.
    pub origin: Origin,
}

/// Why a capture stops early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// Offset of the first byte not read: into our file, or into the
    /// decompressed `.scap` stream (the compressed file for gzip errors).
    pub offset: Option<u64>,
    /// What was found there.
    pub reason: String,
}

impl Opened {
    /// `None` when the whole capture was read. An imported `.scap` file
    /// that ends early (truncated, corrupt, an unexpected block) is
    /// incomplete although its converted copy is a complete saker file.
    pub fn incomplete(&self) -> Option<Incomplete> {
        if let Origin::Scap { stats, .. } = &self.origin {
            if let Some(e) = &stats.truncation {
                return Some(Incomplete {
                    offset: e.offset(),
                    reason: e.to_string(),
                });
            }
        }
        self.reader.truncation().map(|t| Incomplete {
            offset: Some(t.offset),
            reason: t.reason.clone(),
        })
    }
}

/// Opens `path`, whatever its kind.
pub fn open(path: &Path) -> Result<Opened, SourceError> {
    let p = path.display().to_string();
    let io = |source| SourceError::Io {
        path: p.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut head = [0u8; 16];
    let n = {
        use std::io::Read;
        let mut f = &file;
        f.read(&mut head).map_err(io)?
    };
    match scap::detect(&head[..n]) {
        FileKind::Saker => {
            // SAFETY: see capture::open; the mapping is read-only and a file
            // changed underneath can at worst fault (SIGBUS), as documented.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
            let reader = CaptureReader::new(CaptureBytes::Mapped(map)).map_err(|source| {
                SourceError::Capture {
                    path: p.clone(),
                    source,
                }
            })?;
            Ok(Opened {
                reader,
                origin: Origin::Saker,
            })
        }
        FileKind::Scap | FileKind::Gzip => {
            let gzip = matches!(scap::detect(&head[..n]), FileKind::Gzip);
            // SAFETY: as above; the mapping is read-only, only read while
            // importing and unmapped right after.
            let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io)?;
            let file_bytes = map.len() as u64;
            let opts = WriterOptions {
                zstd_level: 1,
                ..WriterOptions::default()
            };
            let imp =
                import_mapped(&map, opts, Vec::new()).map_err(|source| SourceError::Scap {
                    path: p.clone(),
                    source,
                })?;
            drop(map);
            let ours = imp.out;
            let stats = imp.stats;
            let reader = CaptureReader::new(CaptureBytes::Owned(ours)).map_err(|source| {
                SourceError::Capture {
                    path: p.clone(),
                    source,
                }
            })?;
            let origin = Origin::Scap {
                gzip,
                file_bytes,
                stats: Box::new(stats),
            };
            Ok(Opened { reader, origin })
        }
        FileKind::Unknown => Err(SourceError::Unknown { path: p }),
    }
}

/// Imports a mapped `.scap` file (plain or gzip) into a saker capture
/// written to `out`, dropping the mapping's pages once both passes are
/// behind them (a page the slower pass still needs is read back from the
/// page cache): the mapped file never stays resident as a whole, so memory
/// does not grow with its size.
pub fn import_mapped<W: std::io::Write>(
    map: &memmap2::Mmap,
    wopts: WriterOptions,
    out: W,
) -> Result<scap::Imported<W>, ScapError> {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .unwrap_or(4096)
        .max(1);
    let mut release = |n: u64| {
        let len = usize::try_from(n).unwrap_or(usize::MAX).min(map.len()) / page * page;
        if len > 0 {
            // SAFETY: a read-only private file mapping, never written: the
            // dropped pages hold no changes and read back as the same file
            // bytes when touched again (the importer reads them twice).
            let _ =
                unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, len) };
        }
    };
    scap::import_into_releasing(
        map,
        scap::ImportOptions::default(),
        wopts,
        out,
        &mut release,
    )
}

/// Keeps `capture::open` reachable for callers that only want our format.
pub fn open_saker(path: &Path) -> Result<CaptureReader<memmap2::Mmap>, CaptureError> {
    capture::open(path)
}
