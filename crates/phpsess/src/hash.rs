//! The hash the decoders use to find repeated keys: fast on the short keys sessions hold, and
//! good enough that keys like `item_1234` do not pile up. Equal hashes are always confirmed by
//! comparing the keys, so collisions cost time, never correctness.

const SEED_A: u64 = 0x243f_6a88_85a3_08d3;
const SEED_B: u64 = 0x1319_8a2e_0370_7344;
const SEED_C: u64 = 0xa409_3822_299f_31d0;

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
pub(crate) fn bytes_hash(s: &[u8]) -> u64 {
    let n = s.len();
    let (a, b) = if n >= 8 {
        if n > 16 {
            return long_hash(s);
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
    fold_mul(a ^ SEED_A, b ^ SEED_B ^ (n as u64).wrapping_mul(SEED_C))
}

#[cold]
fn long_hash(s: &[u8]) -> u64 {
    let mut h = (s.len() as u64).wrapping_mul(SEED_C);
    let mut chunks = s.chunks_exact(16);
    for c in &mut chunks {
        h = fold_mul(word(c) ^ SEED_A ^ h, word(&c[8..]) ^ SEED_B);
    }
    let tail = &s[s.len() - 16..];
    fold_mul(word(tail) ^ SEED_A ^ h, word(&tail[8..]) ^ SEED_C)
}

/// Hash an int key (kept apart from string keys by the callers' comparisons).
#[inline]
pub(crate) fn int_hash(i: i64) -> u64 {
    fold_mul(i as u64 ^ SEED_B, SEED_A)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn similar_keys_spread() {
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
}
