//! Repeated-key detection: the one implementation the tape builder, the tree decoder and
//! [`crate::Array`]'s `FromIterator` use. A [`KeySet`] keeps positions, never keys: the caller
//! stores its keys where it likes and says how to read one back ([`StoredKeys`]).
//!
//! It is as cheap as possible for what PHP writes: int keys above every earlier one (lists) need
//! nothing, distinct string keys in small containers are told apart by a 64-bit Bloom mask, a
//! key that needs a lookup in a small container is compared with each earlier one, and past
//! [`COMPARE_MAX`] entries a hash index (open addressing, linear probing, the per-process seeded
//! [`crate::hash`]) takes over, so every container is linear in its entries.

use crate::hash::{bytes_hash, int_hash, seeds, Seeds};

/// A key as the set compares it: canonical, so the caller decides what is an int (arrays store
/// `"5"` as 5; PHP treats property `"0"` and `0` as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyView<'k> {
    /// An int key.
    Int(i64),
    /// A string key that is not an int.
    Str(&'k [u8]),
}

/// Where the keys already in the set live.
pub(crate) trait StoredKeys {
    /// The key stored at `pos` (a position given to [`KeySet::insert`]).
    fn key_at(&self, pos: usize) -> KeyView<'_>;
    /// Every position stored so far.
    fn positions(&self) -> impl Iterator<Item = usize> + '_;
}

/// While a container holds up to this many entries (the key being checked counted), a key that
/// needs a lookup is compared with each earlier one; past it the set builds a hash index.
pub(crate) const COMPARE_MAX: u32 = 16;

/// Small containers use the Bloom mask for this many string keys, then look up.
const BLOOM_MAX: u32 = 12;

/// The keys of one container.
pub(crate) struct KeySet {
    seeds: &'static Seeds,
    /// Keys stored so far.
    seen: u32,
    max_int: Option<i64>,
    strings: u32,
    bloom: u64,
    /// How many keys the container says it holds: sizes the index.
    expected: usize,
    /// Open addressing over every key so far: `(hash >> 32) << 32 | (position + 1)`.
    index: Option<Vec<u64>>,
    /// Slots visited in the index and keys compared: what the tests bound.
    #[cfg(test)]
    pub(crate) probes: u64,
}

impl KeySet {
    /// An empty set for a container of about `expected` keys, hashing with this process's seeds.
    #[inline]
    pub(crate) fn new(expected: usize) -> Self {
        Self::with_seeds(seeds(), expected)
    }

    /// [`KeySet::new`] with seeds the caller fetched (once for many containers).
    #[inline]
    pub(crate) fn with_seeds(seeds: &'static Seeds, expected: usize) -> Self {
        KeySet {
            seeds,
            expected,
            seen: 0,
            max_int: None,
            strings: 0,
            bloom: 0,
            index: None,
            #[cfg(test)]
            probes: 0,
        }
    }

    /// `key` is about to be stored at `pos`. Returns the position of an equal key already stored (and
    /// records nothing), or `None` when `key` is new (and records it at `pos`).
    ///
    /// Positions must fit in 32 bits: the decoders' are cell and entry numbers of inputs under
    /// 4 GiB, and an [`crate::Array`] of 2^32 entries would not fit in memory.
    #[inline]
    pub(crate) fn insert<S: StoredKeys + ?Sized>(
        &mut self,
        key: KeyView<'_>,
        pos: usize,
        stored: &S,
    ) -> Option<usize> {
        self.seen += 1;
        if self.index.is_some() {
            return self.lookup(key, None, pos, stored);
        }
        let hash = match key {
            KeyView::Int(i) => {
                if self.max_int.is_none_or(|m| i > m) {
                    self.max_int = Some(i);
                    return None;
                }
                None
            }
            KeyView::Str(s) => {
                let h = bytes_hash(self.seeds, s);
                let bit = 1u64 << (h & 63);
                if self.strings < BLOOM_MAX && self.bloom & bit == 0 {
                    self.strings += 1;
                    self.bloom |= bit;
                    return None;
                }
                self.strings += 1;
                self.bloom |= bit;
                Some(h)
            }
        };
        self.lookup(key, hash, pos, stored)
    }

    /// The key needs a lookup: compare in a small container, else use (or build) the index.
    #[inline(never)]
    fn lookup<S: StoredKeys + ?Sized>(
        &mut self,
        key: KeyView<'_>,
        hash: Option<u64>,
        pos: usize,
        stored: &S,
    ) -> Option<usize> {
        if self.index.is_none() && self.seen <= COMPARE_MAX {
            let found = stored.positions().find(|&p| {
                #[cfg(test)]
                {
                    self.probes += 1;
                }
                stored.key_at(p) == key
            });
            return found;
        }
        if self.index.is_none() {
            self.build_index(stored);
        }
        let h = hash.unwrap_or_else(|| self.hash(key));
        self.index_insert(h, pos, key, stored)
    }

    #[inline]
    fn hash(&self, key: KeyView<'_>) -> u64 {
        match key {
            KeyView::Int(i) => int_hash(self.seeds, i),
            KeyView::Str(s) => bytes_hash(self.seeds, s),
        }
    }

    /// A container that needs lookups from now on: index every key so far.
    #[cold]
    fn build_index<S: StoredKeys + ?Sized>(&mut self, stored: &S) {
        let size = (self.expected.max(self.seen as usize) * 2)
            .next_power_of_two()
            .max(16);
        let mut index = vec![0u64; size];
        let mask = size - 1;
        for p in stored.positions() {
            let h = self.hash(stored.key_at(p));
            let mut slot = h as usize & mask;
            while index[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            index[slot] = (h >> 32) << 32 | (p as u64 + 1);
        }
        self.index = Some(index);
    }

    /// Add `key` (at `pos`) to the index unless an equal key is there, whose position is returned.
    fn index_insert<S: StoredKeys + ?Sized>(
        &mut self,
        h: u64,
        pos: usize,
        key: KeyView<'_>,
        stored: &S,
    ) -> Option<usize> {
        let Some(index) = &mut self.index else {
            return None;
        };
        let mask = index.len() - 1;
        let tag = h >> 32;
        let mut slot = h as usize & mask;
        loop {
            #[cfg(test)]
            {
                self.probes += 1;
            }
            let v = index[slot];
            if v == 0 {
                index[slot] = tag << 32 | (pos as u64 + 1);
                break;
            }
            if v >> 32 == tag {
                let other = (v as u32 - 1) as usize;
                if stored.key_at(other) == key {
                    return Some(other);
                }
            }
            slot = (slot + 1) & mask;
        }
        // Keep the table at most half full (only a container that said less than it holds,
        // like an iterator without a size hint, ever grows it).
        if self.seen as usize * 2 > mask + 1 {
            self.grow(stored, h, pos);
        }
        None
    }

    /// Double the index: every stored key plus the one just added at `pos` with hash `h` (the
    /// caller stores it after this returns, so it cannot be read back yet).
    #[cold]
    fn grow<S: StoredKeys + ?Sized>(&mut self, stored: &S, h: u64, pos: usize) {
        let Some(old) = self.index.take() else {
            return;
        };
        let size = old.len() * 2;
        let mut index = vec![0u64; size];
        let mask = size - 1;
        for v in old.into_iter().filter(|&v| v != 0) {
            let p = (v as u32 - 1) as usize;
            let h = if p == pos {
                h
            } else {
                self.hash(stored.key_at(p))
            };
            let mut slot = h as usize & mask;
            while index[slot] != 0 {
                slot = (slot + 1) & mask;
            }
            index[slot] = v;
        }
        self.index = Some(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl StoredKeys for Vec<Vec<u8>> {
        fn key_at(&self, pos: usize) -> KeyView<'_> {
            KeyView::Str(&self[pos])
        }
        fn positions(&self) -> impl Iterator<Item = usize> + '_ {
            0..self.len()
        }
    }

    /// Insert `keys` one by one into a set with `seeds`; the probes it took.
    fn probes(keys: &[Vec<u8>], seeds: &'static Seeds) -> u64 {
        let mut set = KeySet::with_seeds(seeds, keys.len());
        let mut stored = Vec::new();
        for k in keys {
            assert_eq!(set.insert(KeyView::Str(k), stored.len(), &stored), None);
            stored.push(k.clone());
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(set.insert(KeyView::Str(k), stored.len(), &stored), Some(i));
        }
        set.probes
    }

    /// Keys crafted to share their first slot under the public seeds the hash once had: a run
    /// of linear probing as long as the input, quadratic. Under this process's seeds, the
    /// same keys spread.
    #[test]
    fn keys_crafted_for_the_public_seeds_do_not_collide() {
        let n = 600;
        // The index has (2n).next_power_of_two() slots.
        let mask = (2 * n as u64).next_power_of_two() - 1;
        let crafted: Vec<Vec<u8>> = (0u64..)
            .map(|i| format!("k{i}").into_bytes())
            .filter(|k| bytes_hash(&Seeds::PUBLIC, k) & mask == 0)
            .take(n)
            .collect();
        let public = probes(&crafted, &Seeds::PUBLIC);
        assert!(public > (n * n / 4) as u64, "crafted: {public} probes");
        let ours = probes(&crafted, seeds());
        assert!(ours < 8 * n as u64, "{ours} probes for {} inserts", 2 * n);
    }

    #[test]
    fn repeats_are_found_in_every_regime() {
        let mut set = KeySet::new(4);
        let mut stored: Vec<Vec<u8>> = Vec::new();
        // Small (Bloom, then comparisons), then indexed, then grown past the size given.
        for i in 0..200 {
            let k = format!("k{}", i % 150).into_bytes();
            let found = set.insert(KeyView::Str(&k), stored.len(), &stored);
            assert_eq!(found, (i >= 150).then_some(i % 150), "{i}");
            if found.is_none() {
                stored.push(k);
            }
        }
    }
}
