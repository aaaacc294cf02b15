//! Which host of a weighted save_path owns a session id — phpredis's rule, byte for byte, so a
//! mixed fleet agrees on where every session lives.

/// Pick the host for `id` among hosts with `weights`, given in save_path order. Returns an index
/// into that order.
///
/// phpredis prepends each entry to a list (so it walks them in reverse save_path order), reads the
/// first four bytes of the raw id as a native (little-endian) `u32`, takes it modulo the total weight
/// and picks the entry whose cumulative range contains it. Ids shorter than four bytes are padded
/// with NUL, as C's terminator would supply the fourth byte. Returns `None` for no hosts or zero weight.
pub fn pick_host(id: &[u8], weights: &[u32]) -> Option<usize> {
    let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
    if total == 0 {
        return None;
    }
    let mut head = [0u8; 4];
    for (dst, src) in head.iter_mut().zip(id) {
        *dst = *src;
    }
    let pos = u64::from(u32::from_le_bytes(head)) % total;
    let mut start = 0u64;
    for (i, &w) in weights.iter().enumerate().rev() {
        let end = start + u64::from(w);
        if pos < end {
            return Some(i);
        }
        start = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example() {
        // save_path "A?weight=1, B?weight=2, C?weight=2": "abcd" -> 1684234849 % 5 = 4 -> A.
        assert_eq!(pick_host(b"abcd1234", &[1, 2, 2]), Some(0));
        // 0x64636261 is odd: pos 1 -> list B,A -> A=[1,2) -> index 0; "bbcd" is even -> B.
        assert_eq!(pick_host(b"abcd", &[1, 1]), Some(0));
        assert_eq!(pick_host(b"bbcd", &[1, 1]), Some(1));
    }

    #[test]
    fn single_host_and_degenerate_input() {
        assert_eq!(pick_host(b"anything", &[1]), Some(0));
        assert_eq!(pick_host(b"", &[3]), Some(0));
        assert_eq!(pick_host(b"x", &[]), None);
        assert_eq!(pick_host(b"x", &[0, 0]), None);
    }
}
