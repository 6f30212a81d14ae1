//! [`BlockCache`]: an LRU of rendered blocks ([`LoadedBlock`]) keyed by
//! block index, with hit and miss counters (like tantivy's store reader).
//! Rendering peeks (no recency update); loading goes through `get`/`insert`.

use std::num::NonZeroUsize;

use lru::LruCache;

use super::source::LoadedBlock;

/// An LRU cache of rendered blocks.
pub struct BlockCache {
    lru: LruCache<usize, LoadedBlock>,
    hits: u64,
    misses: u64,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("len", &self.lru.len())
            .field("hits", &self.hits)
            .field("misses", &self.misses)
            .finish()
    }
}

impl BlockCache {
    /// A cache holding at most `cap` blocks (at least 1).
    pub fn new(cap: usize) -> Self {
        BlockCache {
            lru: LruCache::new(NonZeroUsize::new(cap.max(1)).unwrap_or(NonZeroUsize::MIN)),
            hits: 0,
            misses: 0,
        }
    }

    /// Looks up block `i`, counting a hit or a miss and refreshing recency.
    pub fn get(&mut self, i: usize) -> Option<&LoadedBlock> {
        match self.lru.get(&i) {
            Some(b) => {
                self.hits += 1;
                Some(b)
            }
            None => {
                self.misses += 1;
                None
            }
        }
    }

    /// Looks up block `i` without counting or touching recency.
    pub fn peek(&self, i: usize) -> Option<&LoadedBlock> {
        self.lru.peek(&i)
    }

    /// Inserts a block, evicting the least recently used one when full.
    pub fn insert(&mut self, b: LoadedBlock) {
        self.lru.put(b.index, b);
    }

    /// Keeps only the blocks for which `keep` holds.
    pub fn retain(&mut self, keep: impl Fn(&LoadedBlock) -> bool) {
        let drop: Vec<usize> = self
            .lru
            .iter()
            .filter(|(_, b)| !keep(b))
            .map(|(k, _)| *k)
            .collect();
        for k in drop {
            self.lru.pop(&k);
        }
    }

    /// Blocks held.
    pub fn len(&self) -> usize {
        self.lru.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.lru.is_empty()
    }

    /// Lookups that found their block.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Lookups that had to load.
    pub fn misses(&self) -> u64 {
        self.misses
    }
}
