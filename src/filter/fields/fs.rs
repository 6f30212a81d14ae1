//! `fs.path.*` fields (path arguments of syscalls that work on paths without
//! an fd: mkdir, unlink, rename, link, symlink, chmod...) and path
//! resolution against the cwd or a dirfd, written straight into a
//! [`ValueBuf`] without temporaries.

use super::{EventCtx, Fid};
use crate::event::meta::ArgKind;
use crate::event::wire::ParamKind;
use crate::filter::ValueBuf;

const AT_FDCWD: i32 = -100;

/// Appends `piece`'s components to the absolute path in `b[start..]`,
/// applying `.` and `..`.
fn push_norm(b: &mut Vec<u8>, start: usize, piece: &[u8]) {
    for comp in piece.split(|c| *c == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if let Some(i) = b[start..].iter().rposition(|c| *c == b'/') {
                    b.truncate(start + i);
                }
            }
            c => {
                b.push(b'/');
                b.extend_from_slice(c);
            }
        }
    }
}

/// Pushes the path param of arg `arg`: raw as passed, or (`resolve`)
/// absolute against the dirfd arg `dirfd` (or the cwd). False when the
/// record has no such param.
pub(super) fn push_path(
    cx: &mut EventCtx<'_>,
    arg: u8,
    dirfd: Option<u8>,
    resolve: bool,
    out: &mut ValueBuf,
) -> bool {
    let Some(p) = cx.rec.param(arg) else {
        return false;
    };
    if p.kind() == Some(ParamKind::PathComp) {
        return out.push_with(|b| {
            let start = b.len();
            for c in p.data.split(|&c| c == 0).rev().filter(|c| !c.is_empty()) {
                b.push(b'/');
                b.extend_from_slice(c);
            }
            if b.len() == start {
                b.push(b'/');
            }
            true
        });
    }
    let raw = p.data.split(|&c| c == 0).next().unwrap_or(&[]);
    if !resolve || raw.first() == Some(&b'/') {
        if !resolve {
            out.push_bytes(raw);
            return true;
        }
        return out.push_with(|b| {
            let start = b.len();
            push_norm(b, start, raw);
            if b.len() == start {
                b.push(b'/');
            }
            true
        });
    }
    let (state, pid, effect) = (cx.state, cx.rec.pid(), cx.effect);
    let base: &str = match dirfd.and_then(|i| cx.rec.arg(usize::from(i))) {
        None => state.cwd(pid).unwrap_or(""),
        Some(v) if v as u32 as i32 == AT_FDCWD => state.cwd(pid).unwrap_or(""),
        Some(v) => {
            let n = i64::from(v as u32 as i32);
            match &effect.fd {
                Some((f, e)) if i64::from(*f) == n => &e.name,
                _ => state.fd(pid, n).map_or("", |e| &*e.name),
            }
        }
    };
    if !base.starts_with('/') {
        // Unknown base: the path as passed is all we know.
        out.push_bytes(raw);
        return true;
    }
    out.push_with(|b| {
        let start = b.len();
        push_norm(b, start, base.as_bytes());
        push_norm(b, start, raw);
        if b.len() == start {
            b.push(b'/');
        }
        true
    })
}

/// Path args (index, preceding dirfd) of a path syscall, at most two.
fn path_args(cx: &EventCtx<'_>) -> ([Option<(u8, Option<u8>)>; 2], usize) {
    let mut found = [None, None];
    let mut n = 0;
    let c = cx.code();
    let Some(desc) = cx.desc() else {
        return (found, 0);
    };
    if c.open || desc.name.starts_with("exec") {
        return (found, 0);
    }
    for (i, a) in desc.args.iter().enumerate() {
        let pathlike =
            a.name.contains("name") || a.name.contains("path") || a.name.contains("file");
        if a.kind == ArgKind::Str && pathlike && n < 2 {
            let dirfd = i
                .checked_sub(1)
                .filter(|j| desc.args[*j].kind == ArgKind::Dirfd)
                .map(|j| j as u8);
            found[n] = Some((i as u8, dirfd));
            n += 1;
        }
    }
    (found, n)
}

/// Extracts an `fs.path.*` field.
pub(super) fn value(cx: &mut EventCtx<'_>, id: Fid, out: &mut ValueBuf) -> bool {
    let (args, n) = path_args(cx);
    let pick = match (id, n) {
        (Fid::FsPathName | Fid::FsPathNameraw, 1) => args[0],
        (Fid::FsPathSource | Fid::FsPathSourceraw, 2) => args[0],
        (Fid::FsPathTarget | Fid::FsPathTargetraw, 2) => args[1],
        _ => None,
    };
    let Some((arg, dirfd)) = pick else {
        return false;
    };
    let resolve = matches!(id, Fid::FsPathName | Fid::FsPathSource | Fid::FsPathTarget);
    push_path(cx, arg, dirfd, resolve, out)
}
