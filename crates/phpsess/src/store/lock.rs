//! Session locks that interoperate with phpredis (`SET <key>_LOCK <secret> NX PX <ms>`) but are
//! safer: a token unique to each request, a bounded expiry always, and writes that happen only
//! while the token still holds the lock (one atomic script).
//!
//! Waiters queue in arrival order instead of polling ([`LockOptions::queue`]): a request that finds
//! the lock held appends its token to the session's queue `<lock>_Q` (atomically with one more
//! try of the lock, [`QUEUE_WAIT`]) and blocks on its own wake key `<lock>_W:<token>` (BLPOP). The
//! script that unlocks pops the next live waiter, sets the lock to that waiter's token (hand-off,
//! so no newcomer can slip in) and pushes the session data just written onto its wake key, so the
//! woken request needs no read. A waiter is live while its marker `<lock>_A:<token>` exists (it
//! renews it on every wake-up, [`QUEUE_SLICE`]); a crashed waiter is skipped once it lapses. All
//! of these names extend the lock key, so on a cluster they share its hash tag and slot; all
//! expire on their own. phpredis holders never hand off: waiters behind them poll (BLPOP with the
//! retry interval as timeout), and phpredis waiters get the lock whenever the queue is empty.

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
    /// Pause between attempts while waiting for a holder that will not hand the lock over
    /// (phpredis, or every attempt when [`queue`](Self::queue) is off).
    pub retry_interval: Duration,
    /// Wait in a FIFO queue and be handed the lock by the unlocking request, instead of polling
    /// every `retry_interval` (`phpsess.lock_queue`, default on). Unlocks hand over to queued
    /// waiters whatever this says, so stores with and without it share sessions safely.
    pub queue: bool,
}

impl Default for LockOptions {
    fn default() -> Self {
        LockOptions {
            enabled: true,
            expire: Duration::from_secs(60),
            wait: Duration::from_secs(5),
            retry_interval: Duration::from_millis(20),
            queue: true,
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

    /// Queueing for the lock on or off ([`queue`](Self::queue)).
    #[must_use]
    pub fn with_queue(mut self, queue: bool) -> Self {
        self.queue = queue;
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

/// The value stored in a lock key: `<hostname>|<pid>|<unique>~<lock expiry ms>`. The first two
/// fields read like phpredis's `host|pid` secret, so `redis-cli GET` shows who holds a lock; the
/// third makes the token unique per request, so one worker never mistakes an older request's lock
/// for its own, and ends with the lifetime the lock is set with, so that anyone reading the lock
/// knows its age exactly ([`lock_age_ms`]). Peers compare the value as a whole (phpredis compares
/// it with its own `host|pid` secret, phpsess with its token) and `hands_off` counts the `|`s,
/// so the suffix changes nothing for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockToken(String);

impl LockToken {
    /// A fresh token for this process, for a lock whose lifetime it does not record.
    pub fn new() -> Self {
        LockToken(Self::unique())
    }

    /// A fresh token for a lock set to live `expire_ms` (`SET … PX expire_ms`; a hand-off sets
    /// the waiter's lock with the same expiry). Nothing ever extends a lock, so its age is
    /// `expire_ms − PTTL` ([`lock_age_ms`]).
    pub fn for_lock(expire_ms: u64) -> Self {
        LockToken(format!("{}~{expire_ms}", Self::unique()))
    }

    fn unique() -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        format!(
            "{}|{}|{:x}{:04x}",
            host_name(),
            std::process::id(),
            nanos as u64 ^ random_seed(),
            n & 0xffff
        )
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

/// Release lock `$lock` (a Lua expression) held by us: hand it to the first live waiter of its
/// queue, or delete it when none waits. `$msg` is a Lua expression for what the waiter is woken
/// with: `'+' .. data` (the session as stored now), `'-'` (no session), `'?'` (read it yourself).
/// It is evaluated only on a hand-off, so an uncontended unlock costs one LPOP more than a DEL.
/// The waiter's live marker holds the lock expiry it asked for.
macro_rules! hand_off {
    ($lock:literal, $msg:expr) => {
        concat!(
            "do\nlocal lock_key = ",
            $lock,
            "\nlocal function wake_msg() return ",
            $msg,
            " end\n",
            r#"local handed = false
while true do
  local t = redis.call('LPOP', lock_key .. '_Q')
  if not t then break end
  local alive = lock_key .. '_A:' .. t
  local px = redis.call('GET', alive)
  if px then
    redis.call('DEL', alive)
    redis.call('SET', lock_key, t, 'PX', px)
    local wake = lock_key .. '_W:' .. t
    redis.call('RPUSH', wake, wake_msg())
    redis.call('PEXPIRE', wake, px)
    handed = true
    break
  end
end
if not handed then redis.call('DEL', lock_key) end
end
"#
        )
    };
}

/// The session as a wake message, read inside the script (for scripts that did not write it).
macro_rules! stored_msg {
    () => {
        "(function() local v = redis.call('GET', KEYS[1]) if v then return '+' .. v end return '-' end)()"
    };
}

/// Check the lock is ours, then SETEX and unlock. KEYS[1] data, KEYS[2] lock; ARGV[1] token,
/// ARGV[2] ttl seconds, ARGV[3] data.
macro_rules! write_and_unlock_body {
    () => {
        concat!(
            r#"
local holder = redis.call('GET', KEYS[2])
if holder ~= ARGV[1] then return holder end
redis.call('SETEX', KEYS[1], ARGV[2], ARGV[3])
"#,
            hand_off!("KEYS[2]", "'+' .. ARGV[3]")
        )
    };
}

/// Check the lock is ours, then EXPIRE and unlock. KEYS[1] data, KEYS[2] lock; ARGV[1] token,
/// ARGV[2] ttl seconds.
macro_rules! touch_and_unlock_body {
    () => {
        concat!(
            r#"
local holder = redis.call('GET', KEYS[2])
if holder ~= ARGV[1] then return holder end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"#,
            hand_off!("KEYS[2]", stored_msg!())
        )
    };
}

/// Check the lock is ours, then unlock. KEYS[1] data, KEYS[2] lock; ARGV[1] token.
macro_rules! unlock_body {
    () => {
        concat!(
            r#"
local holder = redis.call('GET', KEYS[2])
if holder ~= ARGV[1] then return holder end
"#,
            hand_off!("KEYS[2]", stored_msg!())
        )
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
    hand_off, stored_msg, touch_and_unlock_body, touch_if_unlocked_body, unlock_body,
    write_and_unlock_body, write_if_unlocked_body,
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

/// KEYS[1] lock; ARGV[1] token. Releases the lock only if it is ours (same contract as
/// phpredis's release script, so either side can release what it took), handing it to the next
/// queued waiter, who reads the session itself. 1 = released, 0 = not ours.
pub(crate) const UNLOCK: &str = concat!(
    r#"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
"#,
    hand_off!("KEYS[1]", "'?'"),
    "return 1\n"
);

/// KEYS[1] lock; ARGV[1] token, ARGV[2] lock expiry (ms), ARGV[3] how long our live marker lasts
/// (ms). A waiter's try: the lock is ours when it was handed to us, or is free and nobody live is
/// queued ahead of us (then taken, and we leave the queue); else we are queued (once: the live
/// marker says we are) and our marker renewed. 1 = ours; else who holds it. A free lock with
/// live waiters queued (its holder crashed and it expired, or a phpredis holder released it) is
/// handed to the first of them, woken to read the session itself: after a crash the queue still
/// moves in arrival order, not in the order the waiters happen to look. A waiter that was skipped
/// because its marker lapsed queues again at the tail.
pub(crate) const QUEUE_WAIT: &str = concat!(
    r#"
local lock_key, token = KEYS[1], ARGV[1]
local q = lock_key .. '_Q'
local alive = lock_key .. '_A:' .. token
local holder = redis.call('GET', lock_key)
if not holder then
"#,
    hand_off!("KEYS[1]", "'?'"),
    r#"
  holder = redis.call('GET', lock_key)
  if not holder then
    redis.call('SET', lock_key, token, 'PX', ARGV[2])
    holder = token
  end
end
if holder == token then
  redis.call('LREM', q, 0, token)
  redis.call('DEL', alive, lock_key .. '_W:' .. token)
  return 1
end
if redis.call('EXISTS', alive) == 0 then redis.call('RPUSH', q, token) end
redis.call('SET', alive, ARGV[2], 'PX', ARGV[3])
redis.call('PEXPIRE', q, ARGV[3])
return holder
"#
);

/// KEYS[1] lock; ARGV[1] token, ARGV[2] lock expiry (ms). A waiter out of time leaves the queue;
/// if the lock was handed to it meanwhile, or is free, it is ours after all (1), else the holder.
pub(crate) const QUEUE_LEAVE: &str = r#"
local lock_key, token = KEYS[1], ARGV[1]
local holder = redis.call('GET', lock_key)
redis.call('LREM', lock_key .. '_Q', 0, token)
redis.call('DEL', lock_key .. '_A:' .. token, lock_key .. '_W:' .. token)
if holder == token then return 1 end
if not holder then
  redis.call('SET', lock_key, token, 'PX', ARGV[2])
  return 1
end
return holder
"#;

/// How long a queued waiter blocks before it renews its live marker and looks again (for a
/// holder that crashed, whose lock only expires). Its marker lasts [`QUEUE_ALIVE`]: a waiter
/// killed while queued is skipped by hand-offs after at most that long.
pub const QUEUE_SLICE: Duration = Duration::from_millis(250);

/// How long a waiter's live marker lasts after each renewal: a slice plus room for a slow
/// round trip on a loaded machine.
pub const QUEUE_ALIVE: Duration = Duration::from_millis(1250);

/// The wake key of waiter `token` on lock `lock`.
pub(crate) fn wake_key(lock: &[u8], token: &LockToken) -> Vec<u8> {
    let mut k = lock.to_vec();
    k.extend_from_slice(b"_W:");
    k.extend_from_slice(token.as_str().as_bytes());
    k
}

/// The lifetime a lock was set with, when its value is a token that records it
/// ([`LockToken::for_lock`]: `host|pid|unique~<ms>`); `None` for phpredis's `host|pid`, older
/// phpsess tokens and anything else.
pub fn lock_expiry_ms(holder: &[u8]) -> Option<u64> {
    if !hands_off(holder) {
        return None;
    }
    let at = holder.iter().rposition(|&b| b == b'~')?;
    let digits = &holder[at + 1..];
    if digits.is_empty() || digits.len() > 12 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// How long a lock has been held, in milliseconds: its recorded lifetime
/// ([`lock_expiry_ms`]) less what it has left (`PTTL`). Exact to the millisecond, on any clock:
/// both figures come from the Redis that holds the lock. `None` when the value does not record
/// its lifetime, or the lock has no TTL.
pub fn lock_age_ms(holder: &[u8], pttl_ms: Option<u64>) -> Option<u64> {
    let expiry = lock_expiry_ms(holder)?;
    Some(expiry.saturating_sub(pttl_ms?))
}

/// Does a lock value read like one of ours (`host|pid|unique`), i.e. will its holder hand the
/// lock over on release? phpredis's secret is `host|pid`.
pub(crate) fn hands_off(holder: &[u8]) -> bool {
    holder.iter().filter(|&&b| b == b'|').count() == 2
}

/// The SHA1 that `EVALSHA` names script `source` by, hashed once per script and thread.
/// Hashing on every request cost a locked request about 17,000 instructions once the unlock
/// scripts carried the queue's hand-off (about 1.5 KB of Lua each), a fifth of all the PHP
/// process did per request (`scripts/uncontended-cost.sh`); a look-up by the text's address
/// costs a few dozen.
pub(crate) fn script_sha(source: &'static str) -> String {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        // Keyed by the text's address and length: the same &'static str is the same script.
        static SHAS: RefCell<HashMap<(usize, usize), String>> = RefCell::new(HashMap::new());
    }
    SHAS.with(|shas| {
        shas.borrow_mut()
            .entry((source.as_ptr() as usize, source.len()))
            .or_insert_with(|| redis::Script::new(source).get_hash().to_owned())
            .clone()
    })
}

/// Every script the store sends, for the cluster pipeline (which sends EVAL, not EVALSHA).
pub(crate) const SCRIPTS: [&str; 7] = [
    WRITE_AND_UNLOCK,
    TOUCH_AND_UNLOCK,
    WRITE_IF_UNLOCKED,
    TOUCH_IF_UNLOCKED,
    UNLOCK,
    QUEUE_WAIT,
    QUEUE_LEAVE,
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
    fn a_token_records_its_locks_lifetime_and_so_its_age() {
        let t = LockToken::for_lock(60_000);
        assert!(hands_off(t.as_str().as_bytes()), "{t:?}");
        assert_eq!(t.as_str().split('|').count(), 3);
        assert_eq!(lock_expiry_ms(t.as_str().as_bytes()), Some(60_000));
        assert_eq!(lock_age_ms(t.as_str().as_bytes(), Some(59_250)), Some(750));
        assert_eq!(lock_age_ms(t.as_str().as_bytes(), None), None);
        // phpredis's secret, a token from before the expiry was recorded, garbage after `~`.
        for other in [
            &b"web01|4242"[..],
            LockToken::new().as_str().as_bytes(),
            b"web01|4242|abc~",
            b"web01|4242|abc~12x",
            b"web01|4242|abc~99999999999999999999",
            b"web01~5|4242",
        ] {
            assert_eq!(
                lock_expiry_ms(other),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
    }

    #[test]
    fn only_our_three_field_tokens_promise_a_hand_off() {
        assert!(hands_off(LockToken::new().as_str().as_bytes()));
        assert!(!hands_off(b"web01|4242"), "phpredis's secret");
        assert!(!hands_off(b"anything"));
    }

    #[test]
    fn wake_keys_extend_the_lock_key_so_they_share_its_slot() {
        let lock = b"{PHPREDIS_CLUSTER_SESSION:abc}_LOCK";
        let token = LockToken::new();
        let wake = wake_key(lock, &token);
        assert!(wake.starts_with(lock));
        assert_eq!(crate::store::slot(&wake), crate::store::slot(lock));
    }

    #[test]
    fn script_shas_are_redis_s_and_cached() {
        for source in SCRIPTS {
            let want = redis::Script::new(source).get_hash().to_owned();
            assert_eq!(script_sha(source), want);
            assert_eq!(script_sha(source), want, "from the cache");
        }
        assert_ne!(script_sha(UNLOCK), script_sha(QUEUE_WAIT));
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
