//! Hash maps keyed by ids (tids, pids, slot ids) with a cheap hasher.
//!
//! The standard SipHash costs more than the rest of applying a typical
//! event. Ids need no DoS-resistant keyed hash here: the hasher mixes every
//! key bit into the low bits (which pick the bucket), so ids sharing their
//! low bits (a hostile `n << 20` pattern) still spread; the worst hostile
//! input only slows lookups down, it cannot change results.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A hash map keyed by integer ids.
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

/// Multiply-and-fold hasher for integer keys.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    #[inline]
    fn mix(&mut self, v: u64) {
        let h = (self.0 ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        self.0 = h ^ (h >> 29);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.mix(u64::from_le_bytes(b));
        }
    }
    #[inline]
    fn write_u32(&mut self, v: u32) {
        self.mix(u64::from(v));
    }
    #[inline]
    fn write_u64(&mut self, v: u64) {
        self.mix(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher;

    #[test]
    fn low_bits_depend_on_high_bits() {
        let b = BuildHasherDefault::<IdHasher>::default();
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
