//! Vocabulary of the mixed-fleet tests: the two save handlers side by side, fresh session ids,
//! and phpredis's host choice for weighted save_paths (to check where a session landed).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A save handler of the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Handler {
    /// Debian's phpredis 5.3.7: `redis` / `rediscluster`.
    Phpredis,
    /// Ours: `phpsess` / `phpsess_cluster`.
    Phpsess,
}

impl Handler {
    /// Both, phpredis first.
    pub const BOTH: [Handler; 2] = [Handler::Phpredis, Handler::Phpsess];

    /// `session.save_handler` for standalone and weighted hosts.
    pub fn name(self) -> &'static str {
        match self {
            Handler::Phpredis => "redis",
            Handler::Phpsess => "phpsess",
        }
    }

    /// `session.save_handler` for Redis Cluster.
    pub fn cluster_name(self) -> &'static str {
        match self {
            Handler::Phpredis => "rediscluster",
            Handler::Phpsess => "phpsess_cluster",
        }
    }

    /// The other one.
    pub fn other(self) -> Handler {
        match self {
            Handler::Phpredis => Handler::Phpsess,
            Handler::Phpsess => Handler::Phpredis,
        }
    }

    /// INI setting switching this handler's session locking on or off.
    pub fn locking_ini(self, on: bool) -> (&'static str, &'static str) {
        let value = if on { "1" } else { "0" };
        match self {
            Handler::Phpredis => ("redis.session.locking_enabled", value),
            Handler::Phpsess => ("phpsess.locking_enabled", value),
        }
    }
}

impl std::fmt::Display for Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handler::Phpredis => "phpredis",
            Handler::Phpsess => "phpsess",
        })
    }
}

/// The session serializers every mixed-fleet test covers (`session.serialize_handler`).
pub const SERIALIZERS: [&str; 4] = ["php", "php_serialize", "php_binary", "igbinary"];

/// A new session id, 32 characters of `[a-z0-9-]` (like PHP's default ids), ending with `tag`
/// (at most 8 characters) so a failing test's keys are recognisable; unique within this process
/// and across runs. The leading characters are well mixed: they decide the host in a weighted
/// save_path.
pub fn new_session_id(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or_default();
    let hi = splitmix64(nanos ^ u64::from(std::process::id()).rotate_left(32));
    let lo = splitmix64(hi ^ n);
    let tag: String = tag
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(8)
        .collect();
    let mut id = format!("{hi:016x}{lo:016x}");
    id.truncate(32 - tag.len());
    id.push_str(&tag);
    id
}

/// The splitmix64 output function: a bijective mix of 64 bits.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Index (in save_path order) of the host phpredis picks for `id` among hosts with these
/// weights: the first four bytes of the id as a little-endian u32, modulo the total weight,
/// walked over the hosts in *reverse* save_path order (phpredis prepends each host to its list).
/// This is phpredis's `redis_pool_get_sock` (and `redis_pool_add`) in `redis_session.c`.
pub fn weighted_host(id: &str, weights: &[u32]) -> usize {
    let bytes = id.as_bytes();
    let mut first = [0u8; 4];
    for (slot, b) in first.iter_mut().zip(bytes) {
        *slot = *b;
    }
    let total: u32 = weights.iter().sum();
    assert!(total > 0, "weights must not all be zero");
    let pos = u32::from_le_bytes(first) % total;
    let mut start = 0;
    for (i, w) in weights.iter().enumerate().rev() {
        if pos < start + w {
            return i;
        }
        start += w;
    }
    unreachable!("pos < total weight")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_choice_matches_the_spec_example() {
        // Hosts A (weight 1), B (2), C (2): "abcd" as a little-endian u32 is 1684234849, % 5 = 4;
        // walked in reverse (C C B B A), position 4 is A.
        assert_eq!(weighted_host("abcdefgh", &[1, 2, 2]), 0);
        // pos 0 and 1 fall in C's range, the last host of the save_path.
        let id_with_pos =
            |pos: u32| String::from_utf8(pos.to_le_bytes().to_vec()).unwrap() + "rest";
        assert_eq!(weighted_host(&id_with_pos(0), &[1, 2, 2]), 2);
        assert_eq!(weighted_host(&id_with_pos(1), &[1, 2, 2]), 2);
        assert_eq!(weighted_host(&id_with_pos(2), &[1, 2, 2]), 1);
        assert_eq!(weighted_host(&id_with_pos(3), &[1, 2, 2]), 1);
        assert_eq!(weighted_host(&id_with_pos(4), &[1, 2, 2]), 0);
    }

    #[test]
    fn ids_are_32_safe_characters_and_unique() {
        let a = new_session_id("mix-1");
        let b = new_session_id("mix-1");
        assert_eq!(a.len(), 32);
        assert!(a.ends_with("mix-1"));
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'));
        assert_ne!(a, b);
    }
}
