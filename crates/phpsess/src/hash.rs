//! The hash [`crate::key_set::KeySet`] uses to find repeated keys: fast on the short keys sessions
//! hold, and good enough that keys like `item_1234` do not pile up. Equal hashes are always
//! confirmed by comparing the keys, so collisions cost time, never correctness.
//!
//! Seeded once per process with random values: with public seeds, input could be crafted whose
//! keys all land in one run of the probe table, making a decode quadratic (PHP's own
//! `unserialize()` has that weakness; DJB hash without a seed).

use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;

/// The secret words mixed into every hash.
#[derive(Debug)]
pub(crate) struct Seeds {
    a: u64,
    b: u64,
    c: u64,
}

impl Seeds {
    /// The fixed seeds this hash had before it was seeded per process (digits of pi): tests
    /// craft colliding keys against them.
    #[cfg(test)]
    pub(crate) const PUBLIC: Seeds = Seeds {
        a: 0x243f_6a88_85a3_08d3,
        b: 0x1319_8a2e_0370_7344,
        c: 0xa409_3822_299f_31d0,
    };
}

/// This process's seeds, drawn on first use from std's `RandomState` (keys from the operating
/// system's random source, then SipHash: unpredictable from outside the process).
#[inline]
pub(crate) fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let state = std::collections::hash_map::RandomState::new();
        let word = |i: u64| {
            let mut h = state.build_hasher();
            h.write_u64(i);
            // An odd word: never zero, so no multiply collapses whatever the input.
            h.finish() | 1
        };
        Seeds {
            a: word(1),
            b: word(2),
            c: word(3),
        }
    })
}

/// Multiply into 128 bits and fold the halves: one step mixes every input bit into every output bit.
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

#[inline]
fn word(s: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[..8]);
    u64::from_le_bytes(w)
}

#[inline]
fn half(s: &[u8]) -> u64 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[..4]);
    u64::from(u32::from_le_bytes(w))
}

/// Hash a key's bytes. Up to 16 bytes: two overlapping loads and one multiply; longer keys are
/// consumed 16 bytes at a time, so every byte counts (a hash that skipped the middle of long keys
/// would let crafted input collide at will).
#[inline]
pub(crate) fn bytes_hash(seeds: &Seeds, s: &[u8]) -> u64 {
    let n = s.len();
    let (a, b) = if n >= 8 {
        if n > 16 {
            return long_hash(seeds, s);
        }
        (word(s), word(&s[n - 8..]))
    } else if n >= 4 {
        (half(s), half(&s[n - 4..]))
    } else if n > 0 {
        (
            u64::from(s[0]) | u64::from(s[n / 2]) << 8 | u64::from(s[n - 1]) << 16,
            0,
        )
    } else {
        (0, 0)
    };
    fold_mul(a ^ seeds.a, b ^ seeds.b ^ (n as u64).wrapping_mul(seeds.c))
}

#[cold]
fn long_hash(seeds: &Seeds, s: &[u8]) -> u64 {
    let mut h = (s.len() as u64).wrapping_mul(seeds.c);
    let mut chunks = s.chunks_exact(16);
    for c in &mut chunks {
        h = fold_mul(word(c) ^ seeds.a ^ h, word(&c[8..]) ^ seeds.b);
    }
    let tail = &s[s.len() - 16..];
    fold_mul(word(tail) ^ seeds.a ^ h, word(&tail[8..]) ^ seeds.c)
}

/// Hash an int key (kept apart from string keys by the callers' comparisons).
#[inline]
pub(crate) fn int_hash(seeds: &Seeds, i: i64) -> u64 {
    fold_mul(i as u64 ^ seeds.b, seeds.a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn similar_keys_spread() {
        let seeds = seeds();
        let bytes_hash = |k: &[u8]| bytes_hash(seeds, k);
        let int_hash = |i: i64| int_hash(seeds, i);
        // Keys sessions hold, short and long, differing in one byte anywhere.
        let mut keys: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("item_{i}").into_bytes())
            .collect();
        keys.extend((0..5000).map(|i| format!("q_{i:012}").into_bytes()));
        keys.extend((0..5000).map(|i| format!("prefix_long_{i:06}_suffix_long").into_bytes()));
        keys.extend((0..256u32).map(|b| vec![b as u8]));
        let hashes: HashSet<u64> = keys.iter().map(|k| bytes_hash(k)).collect();
        assert_eq!(hashes.len(), keys.len(), "no full collisions");
        // The low 6 bits feed a Bloom mask: every one of the 64 must be used.
        let bits: HashSet<u64> = keys.iter().map(|k| bytes_hash(k) & 63).collect();
        assert_eq!(bits.len(), 64);
        let ints: HashSet<u64> = (-5000..5000).map(|i| int_hash(i) & 0xfff).collect();
        assert!(ints.len() > 3000, "int hashes spread over the low bits");
    }

    #[test]
    fn seeds_are_drawn_once_per_process() {
        assert!(std::ptr::eq(seeds(), seeds()));
        assert_ne!(seeds().a, Seeds::PUBLIC.a);
        assert_ne!(bytes_hash(seeds(), b"k"), bytes_hash(&Seeds::PUBLIC, b"k"));
    }
}
