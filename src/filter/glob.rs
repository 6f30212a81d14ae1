//! fnmatch(3)-style glob matching on bytes for `glob`/`iglob` (libsinsp `glob_match`).
//!
//! `*` matches any run of bytes (including `/`), `?` one byte, `[...]` a set with ranges and
//! `!`/`^` negation, `\x` a literal `x`. Case folding is ASCII. No allocation.

#[inline]
fn fold(b: u8, icase: bool) -> u8 {
    if icase {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// Matches byte `c` against the set starting at `pat[p] == b'['`.
/// Returns `(matched, index after the set)`, or `None` if the set is unterminated
/// (then `[` is a literal).
fn class(pat: &[u8], p: usize, c: u8, icase: bool) -> Option<(bool, usize)> {
    let mut j = p + 1;
    let negate = matches!(pat.get(j), Some(b'!' | b'^'));
    if negate {
        j += 1;
    }
    let c = fold(c, icase);
    let mut matched = false;
    let mut first = true;
    loop {
        let mut lo = *pat.get(j)?;
        if lo == b']' && !first {
            return Some((matched != negate, j + 1));
        }
        first = false;
        if lo == b'\\' {
            j += 1;
            lo = *pat.get(j)?;
        }
        j += 1;
        let mut hi = lo;
        if pat.get(j) == Some(&b'-') && pat.get(j + 1).is_some_and(|&b| b != b']') {
            hi = pat[j + 1];
            j += 2;
            if hi == b'\\' {
                hi = *pat.get(j)?;
                j += 1;
            }
        }
        let (lo, hi) = (fold(lo, icase), fold(hi, icase));
        if lo <= c && c <= hi {
            matched = true;
        }
    }
}

/// Matches one pattern element at `pat[p]` against byte `c`; returns the next pattern
/// index on a match. `*` is handled by the caller.
#[inline]
fn step(pat: &[u8], p: usize, c: u8, icase: bool) -> Option<usize> {
    match pat[p] {
        b'?' => Some(p + 1),
        b'[' => match class(pat, p, c, icase) {
            Some((true, next)) => Some(next),
            Some((false, _)) => None,
            None => (fold(c, icase) == b'[').then_some(p + 1),
        },
        b'\\' if p + 1 < pat.len() => (fold(pat[p + 1], icase) == fold(c, icase)).then_some(p + 2),
        l => (fold(l, icase) == fold(c, icase)).then_some(p + 1),
    }
}

/// True if the whole of `s` matches `pat`.
pub(crate) fn glob_match(pat: &[u8], s: &[u8], icase: bool) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() {
            if pat[p] == b'*' {
                star = Some((p, i));
                p += 1;
                continue;
            }
            if let Some(next) = step(pat, p, s[i], icase) {
                p = next;
                i += 1;
                continue;
            }
        }
        match star {
            Some((sp, si)) => {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            }
            None => return false,
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        let m = |p: &str, s: &str| glob_match(p.as_bytes(), s.as_bytes(), false);
        assert!(m("*", ""));
        assert!(m("/etc/*", "/etc/a/b"));
        assert!(m("/proc/*/mem", "/proc/12/mem"));
        assert!(!m("/proc/*/mem", "/proc/12/maps"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("[a-c]x", "bx"));
        assert!(!m("[!a-c]x", "bx"));
        assert!(m("[^a-c]x", "dx"));
        assert!(m("[]]", "]"));
        assert!(m("[", "["));
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "ab"));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*a*b*c", "xxaxxbxxcxx"));
        assert!(!m("abc", "ABC"));
        assert!(glob_match(b"a*C", b"Abxc", true));
        assert!(glob_match(b"[A-C]", b"b", true));
    }
}
