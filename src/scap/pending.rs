//! The enter events waiting for their exits, at most one per thread.
//!
//! Most exits come right after their enter: 92–97% of them in the sysflow
//! captures of `../shared/captures/external`. So the newest enter waits
//! aside, outside the map, and pairing it costs no hashing. The map holds
//! the others (threads blocked in a syscall). A count of its entries per
//! tid bucket tells when a tid cannot be in it, so a new enter seldom
//! looks into it.

use crate::state::idmap::IdMap;

/// Tid buckets counted (a power of two).
const BUCKETS: usize = 256;

/// Pending enters by thread id (see the module doc).
#[derive(Debug)]
pub(super) struct Pending<T> {
    /// The newest enter, with its tid; that tid is never in `map`.
    newest: Option<(u64, T)>,
    /// The older ones.
    map: IdMap<u64, T>,
    /// Entries of `map` by `tid % BUCKETS`.
    counts: Box<[u32; BUCKETS]>,
}

impl<T> Default for Pending<T> {
    fn default() -> Self {
        Pending {
            newest: None,
            map: IdMap::default(),
            counts: Box::new([0; BUCKETS]),
        }
    }
}

fn bucket(tid: u64) -> usize {
    (tid % BUCKETS as u64) as usize
}

impl<T> Pending<T> {
    /// Makes `v` the pending enter of `tid`; returns the one it replaces.
    pub fn insert(&mut self, tid: u64, v: T) -> Option<T> {
        let old = match self.newest.take() {
            Some((t, o)) if t == tid => Some(o),
            Some((t, o)) => {
                self.map_insert(t, o);
                self.map_remove(tid)
            }
            None => self.map_remove(tid),
        };
        self.newest = Some((tid, v));
        old
    }

    /// Takes the pending enter of `tid`.
    pub fn remove(&mut self, tid: u64) -> Option<T> {
        match &self.newest {
            Some((t, _)) if *t == tid => self.newest.take().map(|(_, v)| v),
            _ => self.map_remove(tid),
        }
    }

    /// Every pending enter, in no particular order.
    pub fn into_values(self) -> impl Iterator<Item = T> {
        let newest = self.newest.map(|(_, v)| v);
        newest.into_iter().chain(self.map.into_values())
    }

    fn map_insert(&mut self, tid: u64, v: T) {
        // `tid` was the newest's, so it is not in the map: nothing is replaced.
        if self.map.insert(tid, v).is_none() {
            self.counts[bucket(tid)] += 1;
        }
    }

    fn map_remove(&mut self, tid: u64) -> Option<T> {
        let n = &mut self.counts[bucket(tid)];
        if *n == 0 {
            return None;
        }
        let v = self.map.remove(&tid);
        if v.is_some() {
            *n -= 1;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// The same answers as a plain map, whatever the order of enters
        /// and exits; tids chosen to share buckets and to repeat.
        #[test]
        fn acts_as_a_map(ops in prop::collection::vec((any::<bool>(), 0u64..6, 0u64..3), 0..200)) {
            let mut p = Pending::default();
            let mut model = HashMap::new();
            for (i, (enter, lo, hi)) in ops.into_iter().enumerate() {
                let tid = lo + hi * BUCKETS as u64;
                if enter {
                    prop_assert_eq!(p.insert(tid, i), model.insert(tid, i));
                } else {
                    prop_assert_eq!(p.remove(tid), model.remove(&tid));
                }
            }
            let mut left: Vec<usize> = p.into_values().collect();
            let mut want: Vec<usize> = model.into_values().collect();
            left.sort_unstable();
            want.sort_unstable();
            prop_assert_eq!(left, want);
        }
    }

    #[test]
    fn an_older_enter_is_found_behind_the_newest() {
        let mut p = Pending::default();
        assert_eq!(p.insert(7, "a"), None);
        assert_eq!(p.insert(7 + BUCKETS as u64, "b"), None);
        assert_eq!(p.insert(8, "c"), None);
        assert_eq!(p.remove(7), Some("a"));
        assert_eq!(p.remove(7), None);
        assert_eq!(p.insert(8, "d"), Some("c"));
        assert_eq!(p.remove(7 + BUCKETS as u64), Some("b"));
        assert_eq!(p.into_values().collect::<Vec<_>>(), vec!["d"]);
    }
}
