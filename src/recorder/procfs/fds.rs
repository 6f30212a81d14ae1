//! Open file descriptors: classification of `/proc/PID/fd/N` link text,
//! `/proc/PID/fdinfo/N` flags, and the per-process reader that fills
//! [`FdInfo`] (sockets resolved through [`SocketTables`]).

use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use super::net::{SocketMap, SocketTables};
use super::proc::numeric_entries;
use super::{read_link, read_text, ProcfsError, SnapshotStats};
use crate::event::meta::{FdInfo, FdKind};

/// Cap on one fdinfo file (epoll/inotify fdinfo lists every watch).
const FDINFO_CAP: u64 = 64 * 1024;

/// Parses the inode of `prefix[INO]` link text (`socket:[123]`).
fn bracket_ino(link: &str, prefix: &str) -> Option<u64> {
    link.strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Classifies the `readlink` text of an fd. Paths come back as
/// [`FdKind::File`]; the caller refines them with `stat` (directory, FIFO,
/// device). The `u64` is the inode for pipes and sockets, else 0.
pub fn classify(link: &str) -> (FdKind, u64) {
    if let Some(ino) = bracket_ino(link, "socket:") {
        return (FdKind::Socket, ino);
    }
    if let Some(ino) = bracket_ino(link, "pipe:") {
        return (FdKind::Pipe, ino);
    }
    if let Some(anon) = link.strip_prefix("anon_inode:") {
        let kind = match anon {
            "[eventfd]" => FdKind::Event,
            "[signalfd]" => FdKind::Signal,
            "[timerfd]" => FdKind::Timer,
            "inotify" => FdKind::Inotify,
            "[eventpoll]" => FdKind::Epoll,
            _ => FdKind::Other,
        };
        return (kind, 0);
    }
    if link.starts_with("/memfd:") {
        return (FdKind::Memfd, 0);
    }
    if link.starts_with('/') {
        return (FdKind::File, 0);
    }
    (FdKind::Other, 0)
}

/// Parses the octal `flags:` line of `/proc/PID/fdinfo/N`.
pub fn parse_fdinfo_flags(text: &str) -> Result<u32, ProcfsError> {
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("flags:") {
            let v = rest.trim();
            let col = "flags:".len() + (rest.len() - rest.trim_start().len()) + 1;
            return u32::from_str_radix(v, 8)
                .map_err(|_| ProcfsError::parse(i + 1, col, format!("bad octal flags {v:?}")));
        }
    }
    Err(ProcfsError::parse(
        text.lines().count().max(1),
        1,
        "no flags line",
    ))
}

/// Refines a path fd with `stat` of the open file (follows the magic link,
/// so it works for deleted files too).
fn refine_path(fd_path: &Path, kind: FdKind, ino: u64) -> (FdKind, u64) {
    if kind != FdKind::File {
        return (kind, ino);
    }
    match std::fs::metadata(fd_path) {
        Ok(m) if m.is_dir() => (FdKind::Directory, 0),
        Ok(m) if m.file_type().is_fifo() => (FdKind::Pipe, m.ino()),
        Ok(m) if m.file_type().is_char_device() || m.file_type().is_block_device() => {
            (FdKind::Other, 0)
        }
        _ => (kind, ino),
    }
}

/// Reads the open fds of the process at `proc_dir` (`/proc/PID`). Fds closed
/// while reading are skipped; unreadable fd directories become warnings.
pub(crate) fn read_fds(
    proc_dir: &Path,
    sockets: &mut SocketTables,
    stats: &mut SnapshotStats,
) -> Vec<FdInfo> {
    let fd_dir = proc_dir.join("fd");
    let fdinfo_dir = proc_dir.join("fdinfo");
    let nums = match numeric_entries(&fd_dir) {
        Ok(n) => n,
        Err(e) => {
            stats.warn(e);
            return Vec::new();
        }
    };
    let mut socket_map: Option<Arc<SocketMap>> = None;
    let mut out = Vec::with_capacity(nums.len());
    for n in nums {
        let Ok(fd) = i32::try_from(n) else { continue };
        let link_path = fd_dir.join(n.to_string());
        let name = match read_link(&link_path) {
            Ok(l) => l,
            Err(e) => {
                stats.warn(e);
                continue;
            }
        };
        let (kind, ino) = classify(&name);
        let (kind, ino) = refine_path(&link_path, kind, ino);
        let info_path = fdinfo_dir.join(n.to_string());
        let flags = read_text(&info_path, FDINFO_CAP)
            .and_then(|t| parse_fdinfo_flags(&t).map_err(|e| e.in_file(&info_path)))
            .unwrap_or_else(|e| {
                stats.warn(e);
                0
            });
        let socket = if kind == FdKind::Socket {
            let map = socket_map.get_or_insert_with(|| sockets.for_process(proc_dir, stats));
            map.get(&ino).cloned()
        } else {
            None
        };
        out.push(FdInfo {
            fd,
            kind,
            name,
            flags,
            ino,
            socket,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_links() {
        let cases: [(&str, FdKind, u64); 16] = [
            ("/home/u/notes.txt", FdKind::File, 0),
            ("/tmp/gone (deleted)", FdKind::File, 0),
            ("socket:[51234]", FdKind::Socket, 51234),
            ("pipe:[9876]", FdKind::Pipe, 9876),
            ("anon_inode:[eventfd]", FdKind::Event, 0),
            ("anon_inode:[signalfd]", FdKind::Signal, 0),
            ("anon_inode:[timerfd]", FdKind::Timer, 0),
            ("anon_inode:inotify", FdKind::Inotify, 0),
            ("anon_inode:[eventpoll]", FdKind::Epoll, 0),
            ("/memfd:wayland-shm (deleted)", FdKind::Memfd, 0),
            ("anon_inode:[pidfd]", FdKind::Other, 0),
            ("anon_inode:bpf-map", FdKind::Other, 0),
            ("net:[4026531840]", FdKind::Other, 0),
            ("socket:[12x]", FdKind::Other, 0),
            ("pipe:", FdKind::Other, 0),
            ("", FdKind::Other, 0),
        ];
        for (link, kind, ino) in cases {
            assert_eq!(classify(link), (kind, ino), "{link}");
        }
    }

    #[test]
    fn fdinfo_flags() {
        let t = "pos:\t0\nflags:\t0102002\nmnt_id:\t24\nino:\t3\n";
        assert_eq!(parse_fdinfo_flags(t).unwrap(), 0o102002);
        let epoll = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1057\n\
                     tfd:        5 events:       19 data:                5  pos:0 ino:3c0d sdev:9\n";
        assert_eq!(parse_fdinfo_flags(epoll).unwrap(), 0o2000002);
        let e = parse_fdinfo_flags("pos:\t0\nflags:\t0109\n").unwrap_err();
        assert!(
            e.to_string().contains(":2:8: bad octal flags \"0109\""),
            "{e}"
        );
        assert!(parse_fdinfo_flags("pos:\t0\n").is_err());
        assert!(parse_fdinfo_flags("").is_err());
    }
}
