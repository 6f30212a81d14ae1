//! Opening any capture saker can read: its own format (memory-mapped) or a
//! sysdig/Falco `.scap` file, plain or gzipped (imported into our format in
//! memory). The kind is told by magic bytes, never by the file name.

use std::path::Path;

use crate::capture::{self, CaptureError, CaptureMeta, CaptureReader, WriterOptions};
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

impl Origin {
    /// `None` unless an imported `.scap` file ends early (truncated,
    /// corrupt, an unexpected block); its converted copy is still complete.
    pub fn incomplete(&self) -> Option<Incomplete> {
        let Origin::Scap { stats, .. } = self else {
            return None;
        };
        stats.truncation.as_ref().map(|e| Incomplete {
            offset: e.offset(),
            reason: e.to_string(),
        })
    }
}

impl Opened {
    /// `None` when the whole capture was read (see [`Origin::incomplete`]).
    pub fn incomplete(&self) -> Option<Incomplete> {
        self.origin.incomplete().or_else(|| {
            self.reader.truncation().map(|t| Incomplete {
                offset: Some(t.offset),
                reason: t.reason.clone(),
            })
        })
    }
}

/// A file opened and told apart by its magic bytes.
struct Probed {
    file: std::fs::File,
    kind: FileKind,
    /// The path, for messages.
    path: String,
}

impl Probed {
    fn open(path: &Path) -> Result<Self, SourceError> {
        let p = path.display().to_string();
        let file = std::fs::File::open(path).map_err(|source| SourceError::Io {
            path: p.clone(),
            source,
        })?;
        let mut head = [0u8; 16];
        let n = {
            use std::io::Read;
            let mut f = &file;
            f.read(&mut head).map_err(|source| SourceError::Io {
                path: p.clone(),
                source,
            })?
        };
        Ok(Probed {
            file,
            kind: scap::detect(&head[..n]),
            path: p,
        })
    }

    fn map(&self) -> Result<memmap2::Mmap, SourceError> {
        // SAFETY: the mapping is read-only; a file changed underneath can at
        // worst fault (SIGBUS), as documented for capture::open.
        unsafe { memmap2::Mmap::map(&self.file) }.map_err(|source| SourceError::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn scap_err(&self, source: ScapError) -> SourceError {
        SourceError::Scap {
            path: self.path.clone(),
            source,
        }
    }
}

/// Whether `path` is a sysdig/Falco `.scap` file (plain or gzipped), by
/// its magic bytes.
pub fn is_scap(path: &Path) -> Result<bool, SourceError> {
    Ok(matches!(
        Probed::open(path)?.kind,
        FileKind::Scap | FileKind::Gzip
    ))
}

/// Reads the `.scap` file at `path` without building a capture: `consume`
/// gets its metadata and takes its records as the import converts them
/// ([`scap::stream_records`]). Returns what `consume` returned and the
/// import's origin (stats, truncation); `opts` are the import's. The
/// mapped file's pages are dropped as both passes get past them (see
/// [`import_mapped`]).
pub fn stream_scap<T>(
    path: &Path,
    opts: scap::ImportOptions,
    consume: impl FnOnce(&CaptureMeta, &mut scap::Records<'_>) -> T,
) -> Result<(T, Origin), SourceError> {
    let f = Probed::open(path)?;
    let gzip = match f.kind {
        FileKind::Scap => false,
        FileKind::Gzip => true,
        FileKind::Saker => {
            return Err(f.scap_err(ScapError::NotScap {
                reason: "this is a saker capture".into(),
            }))
        }
        FileKind::Unknown => return Err(SourceError::Unknown { path: f.path }),
    };
    let map = f.map()?;
    let (_, stats, out) = scap::stream_records(&map, opts, &mut releaser(&map), consume)
        .map_err(|e| f.scap_err(e))?;
    let origin = Origin::Scap {
        gzip,
        file_bytes: map.len() as u64,
        stats: Box::new(stats),
    };
    Ok((out, origin))
}

/// Opens `path`, whatever its kind.
pub fn open(path: &Path) -> Result<Opened, SourceError> {
    let f = Probed::open(path)?;
    let capture_err = |source| SourceError::Capture {
        path: f.path.clone(),
        source,
    };
    match f.kind {
        FileKind::Saker => {
            let reader = CaptureReader::new(CaptureBytes::Mapped(f.map()?)).map_err(capture_err)?;
            Ok(Opened {
                reader,
                origin: Origin::Saker,
            })
        }
        FileKind::Scap | FileKind::Gzip => {
            let map = f.map()?;
            let file_bytes = map.len() as u64;
            let opts = WriterOptions {
                zstd_level: 1,
                ..WriterOptions::default()
            };
            let imp = import_mapped(&map, opts, Vec::new()).map_err(|e| f.scap_err(e))?;
            drop(map);
            let reader = CaptureReader::new(CaptureBytes::Owned(imp.out)).map_err(capture_err)?;
            let origin = Origin::Scap {
                gzip: f.kind == FileKind::Gzip,
                file_bytes,
                stats: Box::new(imp.stats),
            };
            Ok(Opened { reader, origin })
        }
        FileKind::Unknown => Err(SourceError::Unknown { path: f.path }),
    }
}

/// A `release` for an import of `map`: drops the pages of its first `n`
/// bytes (whole pages only).
fn releaser(map: &memmap2::Mmap) -> impl FnMut(u64) + '_ {
    // SAFETY: sysconf has no preconditions.
    let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) })
        .unwrap_or(4096)
        .max(1);
    move |n: u64| {
        let len = usize::try_from(n).unwrap_or(usize::MAX).min(map.len()) / page * page;
        if len > 0 {
            // SAFETY: a read-only private file mapping, never written: the
            // dropped pages hold no changes and read back as the same file
            // bytes when touched again (the importer reads them twice).
            let _ =
                unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, len) };
        }
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
    scap::import_into_releasing(
        map,
        scap::ImportOptions::default(),
        wopts,
        out,
        &mut releaser(map),
    )
}

/// Keeps `capture::open` reachable for callers that only want our format.
pub fn open_saker(path: &Path) -> Result<CaptureReader<memmap2::Mmap>, CaptureError> {
    capture::open(path)
}
