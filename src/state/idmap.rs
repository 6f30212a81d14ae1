//! Hash maps keyed by ids (tids, pids, slot ids) with a fast hasher.
//!
//! The standard SipHash costs more than the rest of applying a typical
//! event. foldhash's per-process seeded hasher is several times cheaper and
//! still spreads ids that share their low bits (a hostile `n << 20` pattern).

use std::collections::HashMap;

/// A hash map keyed by integer ids.
pub(crate) type IdMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn low_bits_depend_on_high_bits() {
        let b = foldhash::fast::RandomState::default();
        let buckets: std::collections::HashSet<u64> =
            (0..64u32).map(|i| b.hash_one(i << 20) & 63).collect();
        assert!(buckets.len() > 32, "{buckets:?}");
        let mut m: IdMap<u32, u32> = IdMap::default();
        for i in 0..1000 {
            m.insert(i << 16, i);
        }
        assert_eq!(m.get(&(7 << 16)), Some(&7));
        assert_eq!(m.len(), 1000);
    }
}
