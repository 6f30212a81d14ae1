//! Path helpers: lexical resolution against a base directory, PathComp
//! reversal, and the caps that keep hostile paths bounded.

use std::borrow::Cow;
use std::sync::Arc;

/// Longest path kept, in bytes (`PATH_MAX`); longer input is cut.
pub const PATH_CAP: usize = 4096;
/// Most components kept from one PathComp param.
const COMP_CAP: usize = 1024;

/// Cuts `s` to at most `cap` bytes on a char boundary.
pub fn cap_str(mut s: String, cap: usize) -> String {
    let end = cap_ref(&s, cap).len();
    s.truncate(end);
    s
}

/// The first at most `cap` bytes of `s` that end on a char boundary.
pub fn cap_ref(s: &str, cap: usize) -> &str {
    let mut end = s.len().min(cap);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Text of a Str param: cut at the first NUL and at [`PATH_CAP`] bytes
/// (borrowed when the bytes are valid UTF-8).
pub fn param_str(data: &[u8]) -> Cow<'_, str> {
    // A plain scan: paths are short, and the `memchr` crate's first call
    // probes CPU features (slow `cpuid` in a VM) before a read's first event.
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let data = &data[..end.min(PATH_CAP)];
    // `from_utf8` checks ASCII a word at a time; the lossy walk is for the rest.
    match std::str::from_utf8(data) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(data),
    }
}

/// Whether `path` is absolute, at most [`PATH_CAP`] bytes and already in the
/// form [`resolve`] gives (no empty, `.` or `..` component, no trailing `/`).
fn is_clean_abs(path: &str) -> bool {
    let b = path.as_bytes();
    if b.first() != Some(&b'/') || b.len() > PATH_CAP {
        return false;
    }
    if b.len() == 1 {
        return true;
    }
    // Each component (after the leading '/') must be non-empty and not `.`/`..`
    // (a plain byte loop: paths are short, memchr's setup would dominate).
    b[1..]
        .split(|&c| c == b'/')
        .all(|c| !matches!(c, b"" | b"." | b".."))
}

/// Joins `path` onto `base` (unless absolute) and normalises `.`, `..` and
/// repeated slashes lexically. A relative path with an unknown (empty) base
/// stays relative.
pub fn resolve(base: &str, path: &str) -> Arc<str> {
    if is_clean_abs(path) {
        return path.into();
    }
    let absolute = path.starts_with('/') || base.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    let joined = if path.starts_with('/') {
        [path, ""]
    } else {
        [base, path]
    };
    for piece in joined {
        for c in piece.split('/') {
            match c {
                "" | "." => {}
                ".." => {
                    if parts.pop().is_none() && !absolute {
                        parts.push("..");
                    }
                }
                c => parts.push(c),
            }
        }
    }
    let mut out = String::with_capacity(path.len() + base.len() + 1);
    if absolute {
        out.push('/');
    }
    out.push_str(&parts.join("/"));
    if !absolute && out.is_empty() {
        out.push('.');
    }
    cap_str(out, PATH_CAP).into()
}

/// Turns a PathComp param (components leaf first, NUL separated) into an
/// absolute path.
pub fn from_pathcomp(data: &[u8]) -> Arc<str> {
    let comps: Vec<&[u8]> = data
        .split(|&c| c == 0)
        .filter(|c| !c.is_empty())
        .take(COMP_CAP)
        .collect();
    let mut out = String::new();
    for c in comps.iter().rev() {
        out.push('/');
        out.push_str(&String::from_utf8_lossy(c));
        if out.len() > PATH_CAP {
            break;
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    cap_str(out, PATH_CAP).into()
}

/// The last component of a path (`/usr/bin/ls` -> `ls`).
pub fn basename(path: &str) -> &str {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves() {
        assert_eq!(&*resolve("/home/u", "a/../b/./c"), "/home/u/b/c");
        assert_eq!(&*resolve("/home/u", "/etc//passwd"), "/etc/passwd");
        assert_eq!(&*resolve("/", "../../x"), "/x");
        assert_eq!(&*resolve("", "a/b"), "a/b");
        assert_eq!(&*resolve("", "../a"), "../a");
        assert_eq!(&*resolve("/tmp", ""), "/tmp");
        assert_eq!(&*resolve("", "."), ".");
        // Already clean absolute paths come back as they are.
        for p in ["/", "/etc/passwd", "/a/.b/..c/b."] {
            assert!(is_clean_abs(p), "{p}");
            assert_eq!(&*resolve("/x", p), p);
        }
        for p in ["/a/", "/a//b", "/a/./b", "/a/..", "//", "a/b", ""] {
            assert!(!is_clean_abs(p), "{p}");
        }
        assert_eq!(&*resolve("", "/a/b/"), "/a/b");
    }

    #[test]
    fn pathcomp() {
        assert_eq!(&*from_pathcomp(b"ls\0bin\0usr\0"), "/usr/bin/ls");
        assert_eq!(&*from_pathcomp(b""), "/");
        let long = b"abcdefgh\0".repeat(2000);
        assert!(from_pathcomp(&long).len() <= PATH_CAP);
    }

    #[test]
    fn caps_and_names() {
        assert_eq!(cap_str("héllo".into(), 2), "h");
        assert_eq!(cap_ref("héllo", 3), "hé");
        assert_eq!(cap_ref("héllo", 9), "héllo");
        assert_eq!(param_str(b"abc\0def"), "abc");
        assert_eq!(param_str(&[b'a'; 5000]).len(), PATH_CAP);
        assert_eq!(basename("/usr/bin/ls"), "ls");
        assert_eq!(basename("ls"), "ls");
    }
}
