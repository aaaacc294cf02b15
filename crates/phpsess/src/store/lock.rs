//! Session locks that interoperate with phpredis (`SET <key>_LOCK <secret> NX PX <ms>`) but are
//! safer: a token unique to each request, a bounded expiry always, and writes that happen only
//! while the token still holds the lock (one atomic script).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How locks are taken. Built from [`LockOptions::default`] (or [`LockOptions::disabled`]) and
/// the `with_*` methods, so that a new option is not a breaking change:
///
/// ```
/// use std::time::Duration;
/// use phpsess::store::LockOptions;
/// let lock = LockOptions::default()
///     .with_wait(Duration::from_millis(500))
///     .with_expire(Duration::from_secs(30));
/// assert!(lock.enabled);
/// assert_eq!(lock.wait, Duration::from_millis(500));
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LockOptions {
    /// Take a lock for each session read (phpredis: `redis.session.locking_enabled`, default off).
    pub enabled: bool,
    /// Lock TTL; a crashed request frees the session after this. Default 60 s; the PHP extension
    /// passes `phpsess.lock_expire`, else `max_execution_time` but at least 60 s (phpredis:
    /// `lock_expire`, else `max_execution_time`, which is 0 = no TTL under the CLI). Never zero
    /// here, at most [`MAX_LOCK_EXPIRE`].
    pub expire: Duration,
    /// Total time to wait for a lock held by someone else (phpredis 6: 100 x 20 ms = 2 s).
    pub wait: Duration,
    /// Pause between attempts while waiting.
    pub retry_interval: Duration,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            enabled: true,
            expire: Duration::from_secs(60),
            wait: Duration::from_secs(5),
            retry_interval: Duration::from_millis(20),
        }
    }
}

impl LockOptions {
    /// Locking switched off (phpredis's default behaviour).
    pub fn disabled() -> Self {
        LockOptions {
            enabled: false,
            ..LockOptions::default()
        }
    }

    /// With locking on or off ([`enabled`](Self::enabled)).
    #[must_use]
    pub fn with_enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// With lock TTL `expire` ([`expire`](Self::expire)).
    #[must_use]
    pub fn with_expire(mut self, expire: Duration) -> Self {
        self.expire = expire;
        self
    }

    /// Waiting at most `wait` for a lock held by someone else ([`wait`](Self::wait)).
    #[must_use]
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Pausing `retry_interval` between attempts ([`retry_interval`](Self::retry_interval)).
    #[must_use]
    pub fn with_retry_interval(mut self, retry_interval: Duration) -> Self {
        self.retry_interval = retry_interval;
        self
    }

    /// The expiry in milliseconds for `PX`: at least 1, at most [`MAX_LOCK_EXPIRE`] (a huge
    /// `lock_expire` must not wrap around to a short lock, nor overflow Redis's expiry).
    pub(crate) fn expire_ms(&self) -> u64 {
        let ms = self.expire.min(MAX_LOCK_EXPIRE).as_millis();
        u64::try_from(ms).unwrap_or(u64::MAX).max(1)
    }
}

/// The longest lock lifetime we set: a day. A lock outliving its request only ever blocks users;
/// no PHP request legitimately holds a session longer.
pub const MAX_LOCK_EXPIRE: Duration = Duration::from_secs(24 * 3600);

/// The value stored in a lock key: `<hostname>|<pid>|<unique>`. The first two fields read like
/// phpredis's `host|pid` secret, so `redis-cli GET` shows who holds a lock; the third makes the
/// token unique per request, so one worker never mistakes an older request's lock for its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockToken(String);

impl LockToken {
    /// A fresh token for this process.
    pub fn new() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        LockToken(format!(
            "{}|{}|{:x}{:04x}",
            host_name(),
            std::process::id(),
            nanos as u64 ^ random_seed(),
            n & 0xffff
        ))
    }

    /// The token text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LockToken {
    fn default() -> Self {
        LockToken::new()
    }
}

/// This machine's host name (what lock tokens and published counters are named after).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_owned())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Per-process randomness without a dependency: the std hasher's random keys.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

// The scripts' bodies are macros so that each exists once as text: the plain scripts below end
// them with `return 1`, the user-index variants (`user_index.rs`) with the index's bookkeeping.

/// Check the lock is ours, then SETEX and unlock. KEYS[1] data, KEYS[2] lock; ARGV[1] token,
/// ARGV[2] ttl seconds, ARGV[3] data.
macro_rules! write_and_unlock_body {
    () => {
        r#"
local holder = redis.call('GET', KEYS[2])
if holder ~= ARGV[1] then return holder end
redis.call('SETEX', KEYS[1], ARGV[2], ARGV[3])
redis.call('DEL', KEYS[2])
"#
    };
}

/// Check the lock is ours, then EXPIRE and unlock. KEYS[1] data, KEYS[2] lock; ARGV[1] token,
/// ARGV[2] ttl seconds.
macro_rules! touch_and_unlock_body {
    () => {
        r#"
local holder = redis.call('GET', KEYS[2])
if holder ~= ARGV[1] then return holder end
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('DEL', KEYS[2])
"#
    };
}

/// SETEX only if nobody holds the lock. KEYS[1] data, KEYS[2] lock; ARGV[1] ttl, ARGV[2] data.
macro_rules! write_if_unlocked_body {
    () => {
        r#"
local holder = redis.call('GET', KEYS[2])
if holder then return holder end
redis.call('SETEX', KEYS[1], ARGV[1], ARGV[2])
"#
    };
}

/// EXPIRE only if nobody holds the lock. KEYS[1] data, KEYS[2] lock; ARGV[1] ttl seconds.
macro_rules! touch_if_unlocked_body {
    () => {
        r#"
local holder = redis.call('GET', KEYS[2])
if holder then return holder end
redis.call('EXPIRE', KEYS[1], ARGV[1])
"#
    };
}

pub(crate) use {
    touch_and_unlock_body, touch_if_unlocked_body, write_and_unlock_body, write_if_unlocked_body,
};

/// KEYS[1] data, KEYS[2] lock; ARGV[1] token, ARGV[2] ttl seconds, ARGV[3] data.
/// Writes and unlocks only if the lock still holds our token. Returns 1 on success; otherwise the
/// lock's current value (who holds it now), or nil when nobody does (it expired, or something
/// deleted it: a `DEL`, a flush, a failover to a replica that never saw it).
pub(crate) const WRITE_AND_UNLOCK: &str = concat!(write_and_unlock_body!(), "return 1\n");

/// KEYS[1] data, KEYS[2] lock; ARGV[1] token, ARGV[2] ttl seconds.
/// Refreshes the TTL and unlocks only while we hold the lock. 1 = done; else as WRITE_AND_UNLOCK.
pub(crate) const TOUCH_AND_UNLOCK: &str = concat!(touch_and_unlock_body!(), "return 1\n");

/// KEYS[1] data, KEYS[2] lock; ARGV[1] ttl seconds, ARGV[2] data.
/// A write of a session this request never locked (a `SessionHandler` whose `read()` read another
/// id): written only if nobody holds its lock, atomically. 1 = done; else the holder.
pub(crate) const WRITE_IF_UNLOCKED: &str = concat!(write_if_unlocked_body!(), "return 1\n");

/// KEYS[1] data, KEYS[2] lock; ARGV[1] ttl seconds. As WRITE_IF_UNLOCKED, for a TTL refresh.
pub(crate) const TOUCH_IF_UNLOCKED: &str = concat!(touch_if_unlocked_body!(), "return 1\n");

/// KEYS[1] lock; ARGV[1] token. Deletes the lock only if it is ours (same contract as phpredis's
/// release script, so either side can release what it took).
pub(crate) const UNLOCK: &str = r#"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"#;

/// Every script the store sends, for the cluster pipeline (which sends EVAL, not EVALSHA).
pub(crate) const SCRIPTS: [&str; 5] = [
    WRITE_AND_UNLOCK,
    TOUCH_AND_UNLOCK,
    WRITE_IF_UNLOCKED,
    TOUCH_IF_UNLOCKED,
    UNLOCK,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_unique_and_read_like_phpredis_secrets() {
        let a = LockToken::new();
        let b = LockToken::new();
        assert_ne!(a, b);
        let fields: Vec<&str> = a.as_str().split('|').collect();
        assert_eq!(fields.len(), 3, "{a:?}");
        assert_eq!(fields[1], std::process::id().to_string());
    }

    #[test]
    fn expiry_is_never_zero() {
        let o = LockOptions {
            expire: Duration::ZERO,
            ..LockOptions::default()
        };
        assert_eq!(o.expire_ms(), 1);
    }

    #[test]
    fn a_huge_expiry_is_capped_not_wrapped() {
        for expire in [
            Duration::from_secs(u64::MAX),
            Duration::from_millis(u64::MAX),
        ] {
            let o = LockOptions {
                expire,
                ..LockOptions::default()
            };
            assert_eq!(o.expire_ms(), 24 * 3600 * 1000, "{expire:?}");
        }
    }
}
