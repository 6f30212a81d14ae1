//! [`PathCache`]: resolved paths of recent path params, so the opens of
//! a capture (which mostly repeat a few paths) neither re-validate,
//! re-normalise nor re-allocate a path they resolved before, and fd
//! entries of one path share one `Arc<str>`.
//!
//! Direct-mapped (a slot per hash, a new path evicts the old one), so its
//! size is fixed and colliding paths only cost a miss. A cache, not state:
//! a clone starts empty and two states are equal whatever theirs hold.

use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;

use super::path;

/// Slots (a power of two).
const SLOTS: usize = 1024;
/// Longest raw param cached; longer ones are resolved every time.
const MAX_RAW: usize = 256;

/// One cached resolution: `raw` against `base` gave `out`. Holding `base`
/// keeps its address from being reused by another string.
struct Slot {
    raw: Box<[u8]>,
    base: Option<Arc<str>>,
    out: Arc<str>,
}

/// Resolved path params by (raw bytes, base directory).
#[derive(Default)]
pub(crate) struct PathCache {
    slots: Vec<Option<Slot>>,
    hasher: foldhash::quality::RandomState,
}

impl Clone for PathCache {
    fn clone(&self) -> Self {
        PathCache::default()
    }
}

impl std::fmt::Debug for PathCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PathCache")
    }
}

impl PartialEq for PathCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for PathCache {}

fn same_base(a: Option<&Arc<str>>, b: Option<&Arc<str>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

impl PathCache {
    /// `raw` (a Str param's bytes) resolved against the directory `base`
    /// (`None` for an [absolute](is_absolute) `raw`, or an unknown base), as
    /// `path::resolve(base, param_str(raw))`.
    pub fn resolve(&mut self, raw: &[u8], base: Option<Arc<str>>) -> Arc<str> {
        let base = base.filter(|_| !is_absolute(raw));
        if raw.len() > MAX_RAW {
            return compute(raw, base.as_deref());
        }
        if self.slots.is_empty() {
            self.slots.resize_with(SLOTS, || None);
        }
        let mut h = self.hasher.build_hasher();
        h.write(raw);
        if let Some(b) = &base {
            h.write_usize(Arc::as_ptr(b).cast::<u8>() as usize);
        }
        let i = h.finish() as usize & (SLOTS - 1);
        if let Some(s) = &self.slots[i] {
            if *s.raw == *raw && same_base(s.base.as_ref(), base.as_ref()) {
                return s.out.clone();
            }
        }
        let out = compute(raw, base.as_deref());
        self.slots[i] = Some(Slot {
            raw: raw.into(),
            base,
            out: out.clone(),
        });
        out
    }
}

/// Whether a raw Str param is an absolute path (needs no base).
pub(crate) fn is_absolute(raw: &[u8]) -> bool {
    raw.first() == Some(&b'/')
}

fn compute(raw: &[u8], base: Option<&str>) -> Arc<str> {
    path::resolve(base.unwrap_or(""), &path::param_str(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_results_as_resolving() {
        let mut c = PathCache::default();
        let home: Arc<str> = "/home/u".into();
        let other: Arc<str> = "/srv".into();
        let cases: [(&[u8], &Arc<str>); 7] = [
            (b"/etc//passwd", &home),
            (b"a/../b", &home),
            (b"a/../b", &other),
            (b"x\0junk", &other),
            (b"\xff/bad", &home),
            (b"", &home),
            (b"/etc//passwd", &other),
        ];
        for _ in 0..2 {
            for (raw, base) in cases {
                let want = path::resolve(base, &path::param_str(raw));
                assert_eq!(c.resolve(raw, Some(base.clone())), want, "{raw:?}");
            }
        }
        // A hit shares the first result.
        let a = c.resolve(b"/etc/hosts", Some(home.clone()));
        let b = c.resolve(b"/etc/hosts", Some(other.clone()));
        assert!(Arc::ptr_eq(&a, &b));
        // Long params are resolved, not cached.
        let long = [b'a'; MAX_RAW + 1];
        assert_eq!(
            c.resolve(&long, Some(home.clone())),
            path::resolve(&home, &path::param_str(&long))
        );
        assert!(c.clone().slots.is_empty());
    }

    #[test]
    fn a_base_with_the_same_text_but_another_address_misses_but_agrees() {
        let mut c = PathCache::default();
        let a: Arc<str> = "/a".into();
        let b: Arc<str> = "/a".into();
        let x = c.resolve(b"f", Some(a.clone()));
        let y = c.resolve(b"f", Some(b.clone()));
        assert_eq!(x, y);
        assert_eq!(&*x, "/a/f");
    }
}
