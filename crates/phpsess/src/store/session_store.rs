//! [`SessionStore`]: the operations PHP's session module needs (read, write, touch, destroy,
//! exists, create id, close), each in as few round trips as its semantics allow.
//!
//! | request | phpredis | here |
//! |---|---|---|
//! | locked read + write | SET NX, GET, (GET lock), SETEX, EVALSHA = 4-5 | `SET NX`+`GET` pipelined, then one script = 2 |
//! | unlocked read + write | GET, SETEX = 2 | same = 2 |
//! | unlocked, unchanged, early refresh | GETEX = 1 | GETEX = 1 |

use std::time::{Duration, Instant};

use redis::{Pipeline, Value};

use super::codec::{Compression, DEFAULT_MAX_SESSION_BYTES};
use super::keys::{invalid_stored_id_reason, is_hashed_id, SessionKey};
use super::lock::{
    hands_off, LockOptions, LockToken, QUEUE_ALIVE, QUEUE_LEAVE, QUEUE_SLICE, TOUCH_AND_UNLOCK,
    TOUCH_IF_UNLOCKED, UNLOCK, WRITE_AND_UNLOCK, WRITE_IF_UNLOCKED,
};
use super::node::Op;
use super::protocol::{
    attempt_holder, bulk, decode_stored, destroy_plan, encode_for_store, evalsha_reply,
    exists_reply, ids_collided, is_unknown_command, lock_acquired, push_create_id_attempt,
    push_exists, push_lock_attempt, push_read, push_script, push_unlock, queue_reply, queue_try,
    redis_error, script_reply, unindex_pipeline, waiter_wake_key, with_eval_replies, Decoded,
    EvalshaReply, NewIdReply, QueueReply, ScriptPipeline, ScriptReply, CREATE_ID_ATTEMPTS,
    NO_HOLDER,
};
pub(crate) use super::protocol::{pipeline, reply_text, server_error_text};
use super::published::{stats_key, Publisher};
use super::raw_keys::RawKeys;
use super::redact::{printable, redact_key, short_id};
use super::stats::StoreStats;
use super::topology::Place;
use super::topology::Topology;
use super::user_index::{
    bind_change, binding_key, cluster_index_updates, read_binding, session_script, BindChange,
    Binding, BIND_ONLY, DEFAULT_USER_INDEX_MAX, SET_BOUND, TOUCH_AND_UNLOCK_BOUND, TOUCH_BOUND,
    TOUCH_IF_UNLOCKED_BOUND, UNLOCK_BOUND, WRITE_AND_UNLOCK_BOUND, WRITE_IF_UNLOCKED_BOUND,
};
use crate::error::{Error, Result};

/// Behaviour of a store, independent of where Redis is. Built from [`StoreOptions::default`] and
/// the `with_*` methods, so that a new option is not a breaking change:
///
/// ```
/// use std::time::Duration;
/// use phpsess::store::{LockOptions, StoreOptions};
/// let options = StoreOptions::default()
///     .with_ttl(Duration::from_secs(3600))
///     .with_lock(LockOptions::disabled())
///     .with_early_refresh(true);
/// assert!(!options.lock.enabled);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct StoreOptions {
    /// Session lifetime (PHP's `session.gc_maxlifetime`), used for SETEX/EXPIRE/GETEX.
    pub ttl: Duration,
    /// Locking.
    pub lock: LockOptions,
    /// Refresh the TTL while reading (GETEX), so an unchanged session needs no second command.
    pub early_refresh: bool,
    /// phpredis-compatible compression of stored values (reads pass undecodable data through).
    pub compression: Compression,
    /// Largest session accepted on read, stored and decompressed (`phpsess.max_session_bytes`);
    /// a bigger one fails the read, so hostile stored bytes cannot exhaust memory.
    pub max_session_bytes: usize,
    /// Keep the per-user index (`phpsess.user_key` / `phpsess.user_index`): reads fetch the
    /// session's binding in the same pipeline, writes and TTL refreshes keep binding and index
    /// current (see [`SessionStore::bind`]).
    pub user_index: bool,
    /// The most sessions the index keeps per user ([`DEFAULT_USER_INDEX_MAX`]).
    pub user_index_max: usize,
    /// Encryption at rest (`phpsess.encryption`): `None` stores and reads plaintext, as phpredis.
    #[cfg(feature = "encryption")]
    pub encryption: Option<super::envelope::Encryption>,
    /// Hashed ids at rest (`phpsess.hash_ids`): every key is named by the session's stored id
    /// ([`super::IdHasher::stored_id`]), not the id itself. `None`: phpredis's key names.
    #[cfg(feature = "encryption")]
    pub hash_ids: Option<super::keys::IdHasher>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            ttl: Duration::from_secs(1440),
            lock: LockOptions::default(),
            early_refresh: false,
            compression: Compression::None,
            max_session_bytes: DEFAULT_MAX_SESSION_BYTES,
            user_index: false,
            user_index_max: DEFAULT_USER_INDEX_MAX,
            #[cfg(feature = "encryption")]
            encryption: None,
            #[cfg(feature = "encryption")]
            hash_ids: None,
        }
    }
}

impl StoreOptions {
    /// With session lifetime `ttl` ([`ttl`](Self::ttl)).
    #[must_use]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// With locking as `lock` says ([`lock`](Self::lock)).
    #[must_use]
    pub fn with_lock(mut self, lock: LockOptions) -> Self {
        self.lock = lock;
        self
    }

    /// With early refresh on or off ([`early_refresh`](Self::early_refresh)).
    #[must_use]
    pub fn with_early_refresh(mut self, early_refresh: bool) -> Self {
        self.early_refresh = early_refresh;
        self
    }

    /// With stored values compressed as `compression` says ([`compression`](Self::compression)).
    #[must_use]
    pub fn with_compression(mut self, compression: Compression) -> Self {
        self.compression = compression;
        self
    }

    /// With reads refused above `max_session_bytes` ([`max_session_bytes`](Self::max_session_bytes)).
    #[must_use]
    pub fn with_max_session_bytes(mut self, max_session_bytes: usize) -> Self {
        self.max_session_bytes = max_session_bytes;
        self
    }

    /// With the per-user index on or off ([`user_index`](Self::user_index)).
    #[must_use]
    pub fn with_user_index(mut self, user_index: bool) -> Self {
        self.user_index = user_index;
        self
    }

    /// Keeping at most `max` sessions per user in the index ([`user_index_max`](Self::user_index_max)).
    #[must_use]
    pub fn with_user_index_max(mut self, max: usize) -> Self {
        self.user_index_max = max.max(1);
        self
    }

    /// With values encrypted at rest ([`encryption`](Self::encryption)).
    #[cfg(feature = "encryption")]
    #[must_use]
    pub fn with_encryption(mut self, encryption: Option<super::envelope::Encryption>) -> Self {
        self.encryption = encryption;
        self
    }

    /// With keys named by hashed ids ([`hash_ids`](Self::hash_ids)).
    #[cfg(feature = "encryption")]
    #[must_use]
    pub fn with_hash_ids(mut self, hash_ids: Option<super::keys::IdHasher>) -> Self {
        self.hash_ids = hash_ids;
        self
    }

    pub(crate) fn ttl_secs(&self) -> u64 {
        self.ttl.as_secs().max(1)
    }
}

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOutcome {
    /// The stored bytes, or `None` when the session does not exist (PHP sees an empty string).
    pub data: Option<Vec<u8>>,
    /// True when the read already refreshed the TTL (early refresh).
    pub refreshed: bool,
    /// Why a stored value was treated as absent (`data` is then `None`): encryption at rest
    /// refused it. Names the key id and the shortened session id, never key material; the caller
    /// warns with it. The stored value stays until the session is written with data.
    pub unreadable: Option<String>,
}

/// What [`SessionStore::inspect`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The host the session lives on, as written in the save_path.
    pub host: String,
    /// The data key.
    pub key: String,
    /// Size of the stored value (compressed, if compression is on).
    pub stored_bytes: usize,
    /// The session bytes (decrypted, decompressed).
    pub data: Vec<u8>,
    /// The id of the key the value is encrypted under, as hex (`None`: stored unencrypted).
    pub key_id: Option<String>,
    /// Seconds to live; -1 without expiry.
    pub ttl: i64,
    /// The lock's value (`host|pid|…`) when someone holds it.
    pub lock_holder: Option<String>,
}

struct HeldLock {
    id: String,
    key: SessionKey,
    token: LockToken,
}

/// A lock that may be ours although no request uses it any more: its `SET NX` was sent but the
/// reply never came (a timeout, a broken connection), or the script that should have released it
/// failed. Released by token (compare-and-delete) in front of the next pipeline that goes over
/// the same connection, so a fault costs no extra round trip and never leaves a lock behind for
/// its whole lifetime.
struct Orphan {
    route: u32,
    id: String,
    lock: Vec<u8>,
    token: LockToken,
    /// After this the lock has expired by itself.
    until: Instant,
}

/// At most this many orphaned locks are remembered (the oldest are dropped; they expire anyway).
/// Generous: in a long outage every request of a worker adds one (an attempt refused at connect
/// cannot always be told from one that was sent), and the few real ones from the moment of the
/// fault must not be pushed out by the many that never reached Redis (`make soak`, kill -9).
const MAX_ORPHANS: usize = 4096;

/// At most this many orphaned locks ride in front of one pipeline (oldest first); the rest wait
/// for the next ones, so a request after a long outage stays small.
const MAX_RIDERS: usize = 128;

/// A phpredis-compatible session store over one topology (hosts, cluster or sentinel).
///
/// Not `Sync`: one store per thread or per PHP worker, holding its connections between requests.
/// Multi-threaded Rust programs use [`super::StorePool`].
pub struct SessionStore {
    /// The topology and the counters; session commands run on the connection of their id.
    pub(super) raw: RawKeys,
    options: StoreOptions,
    /// The binding read with the session (user index on): `(id, binding)`.
    read_binding: Option<(String, Option<Binding>)>,
    /// The id whose binding was refreshed less than a slack ago ([`super::user_index::SLACK_DIVISOR`]):
    /// unchanged, it needs no bookkeeping this time.
    fresh_binding: Option<String>,
    /// The binding the next write or refresh of this id stores ([`SessionStore::bind`]).
    next_binding: Option<(String, Option<Binding>)>,
    held: Option<HeldLock>,
    orphans: Vec<Orphan>,
    failed_read: Option<String>,
    /// The id whose stored value the last read refused (encryption at rest): an empty write for
    /// it only refreshes the TTL, so an unreadable value (a key left out of
    /// `phpsess.previous_keys` by mistake) survives until the application stores data anew.
    unreadable_read: Option<String>,
    refreshed: Option<String>,
    /// Counters published to Redis ([`SessionStore::publish_stats`]).
    publisher: Option<Publisher>,
}

impl SessionStore {
    /// A store over `topology`. Opens no connection yet.
    pub fn new(topology: Topology, options: StoreOptions) -> Self {
        SessionStore {
            raw: RawKeys::new(topology),
            options,
            read_binding: None,
            fresh_binding: None,
            next_binding: None,
            held: None,
            orphans: Vec::new(),
            failed_read: None,
            unreadable_read: None,
            refreshed: None,
            publisher: None,
        }
    }

    /// The options in force.
    pub fn options(&self) -> &StoreOptions {
        &self.options
    }

    /// Change options between requests (PHP INI changes per script).
    pub fn set_options(&mut self, options: StoreOptions) {
        self.options = options;
    }

    /// Counters since the store was created.
    pub fn stats(&self) -> StoreStats {
        self.raw.stats
    }

    /// The layer under this store: plain commands on keys as given, over the same connections
    /// and counters (no lock protocol, no compression; see [`RawKeys`]).
    pub fn raw_keys(&mut self) -> &mut RawKeys {
        &mut self.raw
    }

    /// The keys stored id `id` lives under (the session id itself unless ids are hashed; see
    /// [`stored_id`](Self::stored_id)).
    pub fn key(&self, id: &str) -> SessionKey {
        self.raw.topology.key(id.as_bytes())
    }

    /// Where stored id `id` lives, for messages and the CLI (`tcp://10.0.0.5:6379`).
    pub fn host_of(&self, id: &str) -> String {
        self.raw.topology.label(id.as_bytes())
    }

    /// Publish this store's counters to Redis every `every` (None: stop), as `source`'s (a web
    /// server's name): see [`super::stats_key`]. The PHP extension does this per worker
    /// (`phpsess.stats_interval`) for `phpsess exporter`.
    /// Calling it again with the same settings keeps the counts of what is not published yet.
    pub fn publish_stats(&mut self, every: Option<Duration>, source: &str) {
        let same = match (&self.publisher, every) {
            (Some(p), Some(e)) => p.every == e && p.source == source,
            (None, None) => true,
            _ => false,
        };
        if !same {
            self.publisher = every.map(|e| Publisher::new(source, e));
        }
    }

    /// The binding read with session `id` in this request: `None` when `id` was not read with
    /// the user index on, `Some(None)` when it is bound to nobody.
    pub fn binding(&self, id: &str) -> Option<Option<&Binding>> {
        let id = self.stored_id(id).ok()?;
        self.binding_stored(&id)
    }

    fn binding_stored(&self, id: &str) -> Option<Option<&Binding>> {
        match &self.read_binding {
            Some((read, b)) if read == id => Some(b.as_ref()),
            _ => None,
        }
    }

    /// The name session `id` has in Redis: `id` itself, or with hashed ids
    /// (`StoreOptions::with_hash_ids`) its stored id. Refuses an id that is not a session id
    /// ([`super::invalid_id_reason`]), a stored id too: a cookie holding a name from a Redis dump must
    /// not open that session.
    pub fn stored_id<'a>(&self, id: &'a str) -> Result<std::borrow::Cow<'a, str>> {
        super::protocol::stored_id(&self.options, id)
    }

    /// For admin operations (inspect, kill, the user index's `except`): a stored id as listed by
    /// the index or a scan is taken as it is, a session id as [`stored_id`](Self::stored_id).
    pub(crate) fn admin_id<'a>(&self, id: &'a str) -> Result<std::borrow::Cow<'a, str>> {
        if is_hashed_id(id.as_bytes()) {
            return Ok(std::borrow::Cow::Borrowed(id));
        }
        self.stored_id(id)
    }

    /// What the next write or TTL refresh of `id` stores as its binding (user index on): bound to
    /// `binding`'s user, or unbound with `None`. Without a call the binding read stays as it is
    /// (and its TTL and index entry are refreshed with the session).
    pub fn bind(&mut self, id: &str, binding: Option<Binding>) {
        if let Ok(id) = self.stored_id(id) {
            self.next_binding = Some((id.into_owned(), binding));
        }
    }

    /// The id whose lock this store holds, if any.
    pub fn held_id(&self) -> Option<&str> {
        self.held.as_ref().map(|h| h.id.as_str())
    }

    /// Read a session, taking its lock first when locking is on (lock attempt and read in one
    /// round trip). A read that fails marks the id so that a later [`write`](Self::write) for it is refused.
    pub fn read(&mut self, id: &str) -> Result<ReadOutcome> {
        self.raw.stats.reads += 1;
        let stored = match self.stored_id(id) {
            Ok(stored) => stored,
            Err(e) => {
                self.raw.stats.errors += 1;
                self.failed_read = Some(id.to_owned());
                return Err(e);
            }
        };
        let id: &str = &stored;
        let result = self.read_inner(id);
        match &result {
            Ok(_) => {
                if self.failed_read.as_deref() == Some(id) {
                    self.failed_read = None;
                }
            }
            Err(_) => {
                self.raw.stats.errors += 1;
                self.failed_read = Some(id.to_owned());
            }
        }
        result
    }

    fn read_inner(&mut self, id: &str) -> Result<ReadOutcome> {
        check_id(id)?;
        let key = self.key(id);
        let ttl = self.options.ttl_secs();
        let early = self.options.early_refresh;
        let already_locked = self.held.as_ref().is_some_and(|h| h.id == id);
        if !already_locked {
            // Reading another id (session_id() + session_start() after a commit that failed, a
            // SessionHandler reading a different id): the lock on the first one is released by
            // token, never left behind nor silently replaced.
            self.release_held(id);
        }
        let bind_key = self.options.user_index.then(|| binding_key(&key));
        let bind_key = bind_key.as_deref();
        if !self.options.lock.enabled || already_locked {
            let mut p = pipeline();
            let getex = early && self.raw.topology.getex(id.as_bytes());
            push_read(&mut p, &key, ttl, getex, bind_key);
            let replies = self.run(id, &p, true, "read", &key.data)?;
            return self.finish_read(id, &key, replies, 0, getex);
        }

        let lock = self.options.lock.clone();
        let token = LockToken::for_lock(lock.expire_ms());
        let started = Instant::now();
        let mut first = true;
        loop {
            let mut p = pipeline();
            push_lock_attempt(&mut p, &key, &token, lock.expire_ms());
            // Only the first attempt carries the read: while we wait, a large session is not
            // transferred again and again.
            let getex = early && self.raw.topology.getex(id.as_bytes());
            if first {
                push_read(&mut p, &key, ttl, getex, bind_key);
            }
            let replies = match self.run(id, &p, true, "lock", &key.lock) {
                Ok(replies) => replies,
                Err(e) => {
                    // The SET NX may still have landed after we gave up on the reply.
                    self.orphan(id, &key.lock, token);
                    return Err(e);
                }
            };
            // A retried attempt may find the lock already ours: its first SET landed before the
            // connection broke.
            if lock_acquired(&replies, &token) {
                if !first {
                    self.raw
                        .stats
                        .lock_waited(started.elapsed().as_millis() as u64);
                    self.raw.stats.lock_fallbacks += 1;
                }
                self.held = Some(HeldLock {
                    id: id.to_owned(),
                    key: key.clone(),
                    token,
                });
                if first {
                    return self.finish_read(id, &key, replies, 2, getex);
                }
                return self.read_after_wait(id, &key, getex, None);
            }
            if let Some(Value::ServerError(e)) = replies.first() {
                return Err(self.redis_error(id, "lock", &key.lock, server_error_text(e), true));
            }
            if lock.queue {
                return self.wait_in_queue(id, &key, token, started, getex);
            }
            first = false;
            let waited = started.elapsed();
            if waited >= lock.wait {
                self.raw.stats.lock_waited(waited.as_millis() as u64);
                self.raw.stats.lock_timeouts += 1;
                return Err(Error::LockTimeout {
                    host: self.host_of(id),
                    key: redact_key(&key.lock, id),
                    holder: attempt_holder(&replies),
                    waited_ms: waited.as_millis() as u64,
                });
            }
            std::thread::sleep(lock.retry_interval.min(lock.wait - waited));
        }
    }

    /// The lock is ours after a wait: the session as the hand-off brought it (`+data`, `-` for
    /// none), or read now (`?`, no message, or when the read must also fetch the binding).
    fn read_after_wait(
        &mut self,
        id: &str,
        key: &SessionKey,
        getex: bool,
        message: Option<&[u8]>,
    ) -> Result<ReadOutcome> {
        if !self.options.user_index {
            // The hand-off was written with the full TTL a moment ago: as good as a refresh
            // for the data, but `refreshed` stays false so the request's end refreshes it as
            // a plain read would.
            match message {
                Some([b'+', stored @ ..]) => {
                    let (data, unreadable) = self.open_stored(id, &key.data, stored)?;
                    self.unreadable_read = unreadable.is_some().then(|| id.to_owned());
                    return Ok(ReadOutcome {
                        data,
                        refreshed: false,
                        unreadable,
                    });
                }
                Some(b"-") => {
                    self.unreadable_read = None;
                    return Ok(ReadOutcome {
                        data: None,
                        refreshed: false,
                        unreadable: None,
                    });
                }
                _ => {}
            }
        }
        let bind_key = self.options.user_index.then(|| binding_key(key));
        let mut p = pipeline();
        push_read(
            &mut p,
            key,
            self.options.ttl_secs(),
            getex,
            bind_key.as_deref(),
        );
        let replies = self.run(id, &p, true, "read", &key.data)?;
        self.finish_read(id, key, replies, 0, getex)
    }

    /// Wait for a lock held by someone else in the session's FIFO queue (see [`super::lock`]):
    /// queue (one script with another try of the lock), then block on our wake key until the
    /// holder hands the lock over, looking again every [`QUEUE_SLICE`] (a crashed holder's lock
    /// only expires), or every retry interval while the holder is one that never hands over.
    fn wait_in_queue(
        &mut self,
        id: &str,
        key: &SessionKey,
        token: LockToken,
        started: Instant,
        getex: bool,
    ) -> Result<ReadOutcome> {
        let lock = self.options.lock.clone();
        let wake = waiter_wake_key(key, &token);
        // A blocking pop must end before the connection's read timeout, or the reply would be
        // taken for a silent server.
        let read_timeout = self.raw.topology.read_timeout(id.as_bytes());
        let mut polled = false;
        loop {
            let waited = started.elapsed();
            if waited >= lock.wait {
                return self.leave_queue(id, key, token, started, getex, polled);
            }
            let sp = queue_try(
                key,
                &token,
                lock.expire_ms(),
                QUEUE_ALIVE.as_millis() as u64,
            );
            let replies = match self.run_script(id, sp, "lock", &key.lock) {
                Ok(r) => r,
                Err(e) => {
                    // The lock may have been handed to us, or taken, before the reply was lost.
                    self.orphan(id, &key.lock, token);
                    return Err(e);
                }
            };
            let holder = match queue_reply(replies.last()) {
                QueueReply::Ours => {
                    return self.queued_lock_taken(id, key, token, started, getex, polled, None);
                }
                QueueReply::HeldBy(h) => h,
                QueueReply::Unexpected(detail) => {
                    self.orphan(id, &key.lock, token);
                    return Err(self.redis_error(id, "lock", &key.lock, detail, false));
                }
            };
            let slice = if hands_off(&holder) {
                QUEUE_SLICE
            } else {
                polled = true;
                lock.retry_interval
            };
            let slice = slice
                .min(lock.wait.saturating_sub(started.elapsed()))
                .min(read_timeout / 2)
                .max(Duration::from_millis(1));
            let mut p = pipeline();
            p.cmd("BLPOP")
                .arg(&wake)
                .arg(format!("{:.3}", slice.as_secs_f64()));
            let replies = match self.run(id, &p, false, "lock", &key.lock) {
                Ok(r) => r,
                Err(e) => {
                    self.orphan(id, &key.lock, token);
                    return Err(e);
                }
            };
            match replies.first() {
                Some(Value::Array(popped)) => {
                    let message = bulk(popped.get(1));
                    self.raw.stats.lock_handoffs += 1;
                    return self.queued_lock_taken(
                        id,
                        key,
                        token,
                        started,
                        getex,
                        polled,
                        Some(message.unwrap_or_default()),
                    );
                }
                Some(Value::Nil) => {}
                other => {
                    let detail = reply_text(other);
                    self.orphan(id, &key.lock, token);
                    return Err(self.redis_error(id, "lock", &key.lock, detail, false));
                }
            }
        }
    }

    /// The lock came to us after a wait in the queue: count it, hold it, read (or take the
    /// session the hand-off brought).
    #[allow(clippy::too_many_arguments)]
    fn queued_lock_taken(
        &mut self,
        id: &str,
        key: &SessionKey,
        token: LockToken,
        started: Instant,
        getex: bool,
        polled: bool,
        message: Option<Vec<u8>>,
    ) -> Result<ReadOutcome> {
        self.raw
            .stats
            .lock_waited(started.elapsed().as_millis() as u64);
        if polled {
            self.raw.stats.lock_fallbacks += 1;
        }
        self.held = Some(HeldLock {
            id: id.to_owned(),
            key: key.clone(),
            token,
        });
        self.read_after_wait(id, key, getex, message.as_deref())
    }

    /// Out of time in the queue: leave it. The lock may have come to us at the last moment
    /// (then it is ours after all); else a [`Error::LockTimeout`] naming the holder.
    fn leave_queue(
        &mut self,
        id: &str,
        key: &SessionKey,
        token: LockToken,
        started: Instant,
        getex: bool,
        polled: bool,
    ) -> Result<ReadOutcome> {
        let expire_ms = self.options.lock.expire_ms().to_string();
        let sp = push_script(
            pipeline(),
            QUEUE_LEAVE,
            &[&key.lock],
            &[token.as_str().as_bytes(), expire_ms.as_bytes()],
        );
        let replies = match self.run_script(id, sp, "lock", &key.lock) {
            Ok(r) => r,
            Err(e) => {
                self.orphan(id, &key.lock, token);
                return Err(e);
            }
        };
        if matches!(replies.first(), Some(Value::Int(1))) {
            return self.queued_lock_taken(id, key, token, started, getex, polled, None);
        }
        let waited = started.elapsed().as_millis() as u64;
        self.raw.stats.lock_waited(waited);
        self.raw.stats.lock_timeouts += 1;
        if polled {
            self.raw.stats.lock_fallbacks += 1;
        }
        let holder = bulk(replies.first()).map(|h| printable(&h));
        Err(Error::LockTimeout {
            host: self.host_of(id),
            key: redact_key(&key.lock, id),
            holder: holder.unwrap_or_else(|| "unknown".into()),
            waited_ms: waited,
        })
    }

    fn finish_read(
        &mut self,
        id: &str,
        key: &SessionKey,
        replies: Vec<Value>,
        at: usize,
        getex: bool,
    ) -> Result<ReadOutcome> {
        let mut unreadable = None;
        let data = match replies.get(at) {
            Some(Value::Nil) => None,
            Some(Value::BulkString(b)) => {
                let (data, why) = self.open_stored(id, &key.data, b)?;
                unreadable = why;
                data
            }
            Some(Value::ServerError(e)) if getex && is_unknown_command(e) => {
                // Redis < 6.2: remember, and read again the old way.
                self.raw.topology.no_getex(id.as_bytes());
                let mut p = pipeline();
                let bind_key = self.options.user_index.then(|| binding_key(key));
                push_read(
                    &mut p,
                    key,
                    self.options.ttl_secs(),
                    false,
                    bind_key.as_deref(),
                );
                let replies = self.run(id, &p, true, "read", &key.data)?;
                return self.finish_read(id, key, replies, 0, false);
            }
            other => {
                let detail = reply_text(other);
                return Err(self.redis_error(id, "read", &key.data, detail, true));
            }
        };
        if getex {
            self.refreshed = Some(id.to_owned());
        }
        if self.options.user_index {
            let (binding, fresh) = read_binding(
                replies.get(at + 1),
                replies.get(at + 2),
                self.options.ttl_secs(),
            );
            self.fresh_binding = fresh.then(|| id.to_owned());
            self.read_binding = Some((id.to_owned(), binding));
        }
        self.unreadable_read = unreadable.is_some().then(|| id.to_owned());
        Ok(ReadOutcome {
            data,
            refreshed: getex,
            unreadable,
        })
    }

    /// Store `data` for `id` with the configured TTL. Under locking, the write and the unlock are
    /// one script that writes only while our lock token is still in place; otherwise `SETEX`.
    pub fn write(&mut self, id: &str, data: &[u8]) -> Result<()> {
        let r = self
            .stored_id(id)
            .and_then(|stored| self.write_inner(&stored, data));
        if r.is_err() {
            self.raw.stats.errors += 1;
        }
        r
    }

    fn write_inner(&mut self, id: &str, data: &[u8]) -> Result<()> {
        check_id(id)?;
        if self.failed_read.as_deref() == Some(id) {
            return Err(Error::WriteRefused {
                id: short_id(id),
                reason: "reading it failed in this request",
            });
        }
        if data.is_empty() && self.unreadable_read.as_deref() == Some(id) {
            // PHP writes the empty session it was handed for a value we could not read: keep the
            // value (its TTL refreshed, the lock released) rather than erase what a configuration
            // fix could make readable again.
            return self.touch_stored(id);
        }
        let ttl = self.options.ttl_secs();
        let data: &[u8] = &self.seal(id, data)?;
        let ttl_text = ttl.to_string();
        let change = self.bind_change(id);
        if let Some(held) = self.take_held(id) {
            let sp = self.script(
                id,
                &held.key,
                (WRITE_AND_UNLOCK, WRITE_AND_UNLOCK_BOUND),
                &[held.token.as_str().as_bytes(), ttl_text.as_bytes(), data],
                change.as_ref(),
            );
            let replies = self.run_held_script(id, &held, sp, "write")?;
            self.check_locked_reply(id, &held, replies)?;
            return self.bound(id, change);
        }
        let key = self.key(id);
        if self.options.lock.enabled {
            // Not locked by this request (a SessionHandler whose read() read another id, PHP's
            // bug70133): written only if nobody else holds the lock, in one atomic script.
            return self.unlocked_script(
                id,
                &key,
                (WRITE_IF_UNLOCKED, WRITE_IF_UNLOCKED_BOUND),
                &[ttl_text.as_bytes(), data],
                change,
                "write",
            );
        }
        if change.is_some() {
            return self.unlocked_script(
                id,
                &key,
                (SET_BOUND, SET_BOUND),
                &[ttl_text.as_bytes(), data],
                change,
                "write",
            );
        }
        let mut p = pipeline();
        p.cmd("SETEX").arg(&key.data).arg(ttl).arg(data);
        let replies = self.run(id, &p, true, "write", &key.data)?;
        expect_ok(self, id, "write", &key.data, replies.first())
    }

    /// A write or refresh of a session this request holds no lock on, as one script: run it,
    /// refuse it when someone holds the lock, then the index's follow-up.
    fn unlocked_script(
        &mut self,
        id: &str,
        key: &SessionKey,
        scripts: (&'static str, &'static str),
        args: &[&[u8]],
        change: Option<(BindChange, Option<Binding>)>,
        op: &'static str,
    ) -> Result<()> {
        let sp = self.script(id, key, scripts, args, change.as_ref());
        let replies = self.run_script(id, sp, op, &key.data)?;
        self.check_unlocked_reply(id, key, replies)?;
        self.bound(id, change)
    }

    /// What a write or TTL refresh of `id` changes in its binding and index (user index on):
    /// from the binding read to the one [`bind`](Self::bind) asked for, else the same again
    /// (re-scored with the new TTL). `None`: nothing to do.
    fn bind_change(&self, id: &str) -> Option<(BindChange, Option<Binding>)> {
        if !self.options.user_index {
            return None;
        }
        let old = self.binding_stored(id).flatten();
        let next = match &self.next_binding {
            Some((next, b)) if next == id => Some(b.as_ref()),
            _ => None,
        };
        let fresh = self.fresh_binding.as_deref() == Some(id);
        let prefix = self.raw.topology.prefix_of(id.as_bytes());
        bind_change(old, next, fresh, &prefix)
    }

    /// The script for an operation on `key` ([`session_script`]: with the index's bookkeeping
    /// when `change` says so).
    fn script(
        &self,
        id: &str,
        key: &SessionKey,
        scripts: (&'static str, &'static str),
        args: &[&[u8]],
        change: Option<&(BindChange, Option<Binding>)>,
    ) -> ScriptPipeline {
        session_script(
            &self.options,
            self.raw.topology.is_cluster(),
            id,
            key,
            scripts,
            args,
            change.map(|(c, _)| c),
        )
    }

    /// After a write or refresh that carried `change`: on a cluster, the index update in the
    /// index's own slot (one more pipelined round trip; a failure there is counted, not returned:
    /// the session itself was written). Then the binding stored is the one read from now on.
    fn bound(&mut self, id: &str, change: Option<(BindChange, Option<Binding>)>) -> Result<()> {
        let Some((change, new)) = change else {
            return Ok(());
        };
        let updates =
            cluster_index_updates(&self.options, self.raw.topology.is_cluster(), id, &change);
        if let Some((shown, _)) = updates.last() {
            let shown = shown.clone();
            let mut p = pipeline();
            for (_, c) in updates {
                p.add_command(c);
            }
            match self.run(id, &p, true, "user index", &shown) {
                Ok(replies) => {
                    if let Some(Value::Int(d)) = replies.last() {
                        self.raw.stats.index_dropped += (*d).max(0) as u64;
                    }
                }
                Err(_) => self.raw.stats.errors += 1,
            }
        }
        if self.next_binding.as_ref().is_some_and(|(n, _)| n == id) {
            self.next_binding = None;
        }
        self.read_binding = Some((id.to_owned(), new));
        self.fresh_binding = Some(id.to_owned());
        Ok(())
    }

    /// Keep an unchanged session alive (PHP's lazy write): EXPIRE, or nothing when the read already
    /// refreshed the TTL; under locking, in the same script as the unlock.
    pub fn touch(&mut self, id: &str) -> Result<()> {
        let stored = self.stored_id(id)?;
        self.touch_stored(&stored)
    }

    fn touch_stored(&mut self, id: &str) -> Result<()> {
        check_id(id)?;
        let ttl = self.options.ttl_secs().to_string();
        let refreshed = self.refreshed.as_deref() == Some(id);
        let change = self.bind_change(id);
        if let Some(held) = self.take_held(id) {
            if refreshed && change.is_none() {
                let sp = push_script(
                    pipeline(),
                    UNLOCK,
                    &[&held.key.lock],
                    &[held.token.as_str().as_bytes()],
                );
                self.run_held_script(id, &held, sp, "unlock")?;
                return Ok(());
            }
            let token = held.token.as_str().as_bytes();
            let sp = if refreshed {
                // The read refreshed the data's TTL; binding and index entry still need theirs.
                self.script(
                    id,
                    &held.key,
                    (UNLOCK, UNLOCK_BOUND),
                    &[token],
                    change.as_ref(),
                )
            } else {
                self.script(
                    id,
                    &held.key,
                    (TOUCH_AND_UNLOCK, TOUCH_AND_UNLOCK_BOUND),
                    &[token, ttl.as_bytes()],
                    change.as_ref(),
                )
            };
            let replies = self.run_held_script(id, &held, sp, "touch")?;
            self.check_locked_reply(id, &held, replies)?;
            return self.bound(id, change);
        }
        let key = self.key(id);
        if refreshed {
            if change.is_none() {
                return Ok(());
            }
            return self.unlocked_script(id, &key, (BIND_ONLY, BIND_ONLY), &[], change, "touch");
        }
        if self.options.lock.enabled {
            return self.unlocked_script(
                id,
                &key,
                (TOUCH_IF_UNLOCKED, TOUCH_IF_UNLOCKED_BOUND),
                &[ttl.as_bytes()],
                change,
                "touch",
            );
        }
        if change.is_some() {
            return self.unlocked_script(
                id,
                &key,
                (TOUCH_BOUND, TOUCH_BOUND),
                &[ttl.as_bytes()],
                change,
                "touch",
            );
        }
        let mut p = pipeline();
        p.cmd("EXPIRE").arg(&key.data).arg(ttl);
        self.run(id, &p, true, "touch", &key.data)?;
        Ok(())
    }

    /// Delete a session (and release our lock on it, if we hold it) in one round trip.
    pub fn destroy(&mut self, id: &str) -> Result<()> {
        let stored = self.stored_id(id)?;
        let id: &str = &stored;
        check_id(id)?;
        let key = self.key(id);
        let binding = self.binding_stored(id).flatten();
        let prefix = self.raw.topology.prefix_of(id.as_bytes());
        let cluster = self.raw.topology.is_cluster();
        let plan = destroy_plan(&self.options, cluster, id, &key, binding, &prefix);
        if self.options.user_index {
            self.read_binding = Some((id.to_owned(), None));
        }
        if let Some(held) = self.take_held(id) {
            let sp = push_unlock(plan.pipe, &held.key, &held.token);
            self.run_held_script(id, &held, sp, "destroy")?;
        } else {
            self.run(id, &plan.pipe, true, "destroy", &key.data)?;
        }
        if let Some(ikey) = plan.unindex {
            let p = unindex_pipeline(&ikey, id);
            if self.run(id, &p, true, "destroy", &ikey).is_err() {
                self.raw.stats.errors += 1;
            }
        }
        Ok(())
    }

    /// Release the lock we hold, if any (PHP's close). Releasing on the id's own host: phpredis
    /// hashes the prefixed key here and so misses the lock's host when there are several.
    pub fn close(&mut self) -> Result<()> {
        self.refreshed = None;
        self.failed_read = None;
        let Some(held) = self.held.take() else {
            return Ok(());
        };
        let sp = push_script(
            pipeline(),
            UNLOCK,
            &[&held.key.lock],
            &[held.token.as_str().as_bytes()],
        );
        let id = held.id.clone();
        self.run_held_script(&id, &held, sp, "unlock")?;
        Ok(())
    }

    /// Runs a script that releases `held`; if it fails, the lock may still be ours, so it is
    /// remembered and released by token with the next pipeline to its server.
    fn run_held_script(
        &mut self,
        id: &str,
        held: &HeldLock,
        sp: ScriptPipeline,
        op: &'static str,
    ) -> Result<Vec<Value>> {
        let key = if op == "unlock" {
            &held.key.lock
        } else {
            &held.key.data
        };
        let result = self.run_script(id, sp, op, key);
        if result.is_err() {
            self.orphan(&held.id, &held.key.lock, held.token.clone());
        }
        result
    }

    /// Gives up the lock held on an id other than `id`, if any: released by token in front of
    /// the next pipeline to its server, at once when that is not `id`'s server.
    fn release_held(&mut self, id: &str) {
        let Some(held) = self.held.take_if(|h| h.id != id) else {
            return;
        };
        let same_route =
            self.raw.topology.route(held.id.as_bytes()) == self.raw.topology.route(id.as_bytes());
        self.orphan(&held.id, &held.key.lock, held.token);
        if !same_route {
            // Best effort: on failure it stays an orphan (and expires by itself at worst).
            let _ = self.run(&held.id, &pipeline(), true, "unlock", &held.key.lock);
        }
    }

    /// Remembers a lock that may be ours with no request using it (see [`Orphan`]).
    fn orphan(&mut self, id: &str, lock: &[u8], token: LockToken) {
        if self.orphans.len() >= MAX_ORPHANS {
            self.orphans.remove(0);
        }
        self.orphans.push(Orphan {
            route: self.raw.topology.route(id.as_bytes()),
            id: id.to_owned(),
            lock: lock.to_vec(),
            token,
            until: Instant::now() + self.options.lock.expire,
        });
    }

    /// Locks this store may have left behind after faults and not yet released (for tests and
    /// diagnostics).
    pub fn orphaned_locks(&self) -> usize {
        self.orphans.len()
    }

    /// Does a session exist (PHP's strict mode validate_sid)? One EXISTS.
    pub fn exists(&mut self, id: &str) -> Result<bool> {
        let stored = self.stored_id(id)?;
        let id: &str = &stored;
        let key = self.key(id);
        let mut p = pipeline();
        push_exists(&mut p, &key);
        let replies = self.run(id, &p, true, "exists", &key.data)?;
        Ok(exists_reply(replies.first()))
    }

    /// Create a new session id with `generate`, checked against existing sessions. With locking on,
    /// the new id's lock is taken in the same round trip as the collision check.
    pub fn create_id(&mut self, mut generate: impl FnMut() -> String) -> Result<String> {
        let mut last = String::new();
        for _ in 0..CREATE_ID_ATTEMPTS {
            let clear = generate();
            // The collision check, lock and held lock are on the stored id; PHP gets the id.
            let id = self.stored_id(&clear)?.into_owned();
            let key = self.key(&id);
            let token = LockToken::for_lock(self.options.lock.expire_ms());
            // With a session already held (session_create_id() inside an active session, PHP's
            // manual example and bug79413.phpt) the new id gets no lock: the held one must stay
            // ours until the current session is written, and the new id is locked when it is read.
            let lock_new = self.options.lock.enabled && self.held.is_none();
            let mut p = pipeline();
            let expire_ms = lock_new.then(|| self.options.lock.expire_ms());
            push_create_id_attempt(&mut p, &key, &token, expire_ms);
            let reply = match self.run(&id, &p, false, "create_id", &key.data) {
                Ok(replies) => NewIdReply::read(&replies),
                Err(e) => {
                    if lock_new {
                        self.orphan(&id, &key.lock, token);
                    }
                    return Err(e);
                }
            };
            if reply.must_release() {
                let sp = push_unlock(pipeline(), &key, &token);
                self.run_script(&id, sp, "unlock", &key.lock)?;
            }
            if reply.is_fresh(lock_new) {
                if reply.locked {
                    self.held = Some(HeldLock {
                        id: id.clone(),
                        key,
                        token,
                    });
                }
                return Ok(clear);
            }
            last = clear;
        }
        Err(ids_collided(&last))
    }

    /// Look at a session without touching it (no lock, no TTL refresh): the stored bytes, their
    /// TTL and who holds the lock, in one round trip. `None` when the session does not exist.
    pub fn inspect(&mut self, id: &str) -> Result<Option<SessionInfo>> {
        let stored = self.admin_id(id)?;
        let id: &str = &stored;
        check_id(id)?;
        let key = self.key(id);
        let mut p = pipeline();
        p.cmd("GET").arg(&key.data);
        p.cmd("TTL").arg(&key.data);
        p.cmd("GET").arg(&key.lock);
        let replies = self.run(id, &p, true, "inspect", &key.data)?;
        let stored = match replies.first() {
            Some(Value::Nil) => return Ok(None),
            Some(Value::BulkString(b)) => b.clone(),
            other => {
                let detail = reply_text(other);
                return Err(self.redis_error(id, "inspect", &key.data, detail, true));
            }
        };
        let ttl = match replies.get(1) {
            Some(Value::Int(t)) => *t,
            _ => -1,
        };
        let lock_holder = bulk(replies.get(2)).map(|h| printable(&h));
        let (data, key_id) = match self.decode_stored(id, &key.data, &stored)? {
            Decoded::Session { data, key_id } => (data, key_id),
            Decoded::Unreadable(reason) => {
                return Err(Error::Unreadable {
                    host: self.host_of(id),
                    key: redact_key(&key.data, id),
                    reason,
                })
            }
        };
        Ok(Some(SessionInfo {
            host: self.host_of(id),
            key: key.display(),
            stored_bytes: stored.len(),
            data,
            key_id,
            ttl,
            lock_holder,
        }))
    }

    /// A stored value as a read returns it: the session bytes, or none and the warning saying why
    /// encryption at rest refused it.
    fn open_stored(
        &self,
        id: &str,
        key: &[u8],
        stored: &[u8],
    ) -> Result<(Option<Vec<u8>>, Option<String>)> {
        Ok(match self.decode_stored(id, key, stored)? {
            Decoded::Session { data, .. } => (Some(data), None),
            Decoded::Unreadable(why) => (
                None,
                Some(format!(
                    "phpsess: session {} is treated as absent (a new, empty session): {why}; \
                     the stored value is kept until the session is written",
                    short_id(id)
                )),
            ),
        })
    }

    /// The value to store for `id`: `data` compressed as configured, then sealed under the
    /// current key when encryption is on ([`encode_for_store`]).
    fn seal<'a>(&self, id: &str, data: &'a [u8]) -> Result<std::borrow::Cow<'a, [u8]>> {
        encode_for_store(&self.options, &self.key(id).data, data).map_err(Error::Encode)
    }

    /// The session bytes of a stored value: decrypted, decompressed, within `max_session_bytes`
    /// (checked on the stored bytes before decrypting and on the decompressed ones).
    fn decode_stored(&self, id: &str, key: &[u8], stored: &[u8]) -> Result<Decoded> {
        decode_stored(&self.options, key, stored).map_err(|reason| Error::SessionTooLarge {
            host: self.host_of(id),
            key: redact_key(key, id),
            id: short_id(id),
            reason,
        })
    }

    /// Forget connections (call in a child after fork).
    pub fn disconnect(&mut self) {
        self.raw.topology.disconnect();
    }

    fn take_held(&mut self, id: &str) -> Option<HeldLock> {
        match &self.held {
            Some(h) if h.id == id => self.held.take(),
            _ => None,
        }
    }

    fn check_locked_reply(&mut self, id: &str, held: &HeldLock, replies: Vec<Value>) -> Result<()> {
        match script_reply(replies.first()) {
            ScriptReply::Done { dropped } => {
                self.raw.stats.index_dropped += dropped;
                Ok(())
            }
            ScriptReply::HeldBy(holder) => {
                self.raw.stats.lock_losses += 1;
                Err(Error::LockLost {
                    host: self.host_of(id),
                    key: redact_key(&held.key.lock, id),
                    holder: printable(&holder),
                })
            }
            ScriptReply::NoHolder => {
                self.raw.stats.lock_losses += 1;
                Err(Error::LockLost {
                    host: self.host_of(id),
                    key: redact_key(&held.key.lock, id),
                    // The lock key is gone: expired, or deleted (DEL, flush, a failover that lost
                    // it); the reply cannot tell which.
                    holder: NO_HOLDER.into(),
                })
            }
            ScriptReply::Unexpected(detail) => {
                self.orphan(&held.id, &held.key.lock, held.token.clone());
                Err(self.redis_error(id, "write", &held.key.data, detail, false))
            }
        }
    }

    fn check_unlocked_reply(
        &mut self,
        id: &str,
        key: &SessionKey,
        replies: Vec<Value>,
    ) -> Result<()> {
        match script_reply(replies.first()) {
            ScriptReply::Done { dropped } => {
                self.raw.stats.index_dropped += dropped;
                Ok(())
            }
            ScriptReply::HeldBy(holder) => Err(Error::LockHeld {
                host: self.host_of(id),
                key: redact_key(&key.lock, id),
                holder: printable(&holder),
            }),
            ScriptReply::NoHolder | ScriptReply::Unexpected(_) => {
                let detail = reply_text(replies.first());
                Err(self.redis_error(id, "write", &key.data, detail, false))
            }
        }
    }

    pub(crate) fn run(
        &mut self,
        id: &str,
        p: &Pipeline,
        retry_safe: bool,
        op: &'static str,
        key: &[u8],
    ) -> Result<Vec<Value>> {
        let ctx = Op { op, key, id };
        let now = Instant::now();
        self.orphans.retain(|o| o.until > now);
        let route = self.raw.topology.route(id.as_bytes());
        let riders = self
            .orphans
            .iter()
            .filter(|o| o.route == route)
            .take(MAX_RIDERS)
            .count();
        // Counters due for publishing ride in front too (not on a cluster: see `published.rs`).
        let stats_due = match &self.publisher {
            Some(publisher) if !p.is_empty() => publisher.due(&self.raw.stats),
            _ => None,
        };
        if let Some(grown) = stats_due {
            let snapshot = self.raw.stats;
            if self.raw.topology.is_cluster() {
                let replies = self.run_plain(id, p, retry_safe, &ctx, riders)?;
                self.publish_now(id, &grown, snapshot);
                return Ok(replies);
            }
            let key = stats_key(
                &self.raw.topology.prefix_of(id.as_bytes()),
                &self.publisher_source(),
            );
            let mut full = pipeline();
            let publisher = self.publisher.clone().expect("checked above");
            let n = publisher.push(&mut full, &key, &grown);
            for c in p.cmd_iter() {
                full.add_command(c.clone());
            }
            let mut replies = self.run_plain(id, &full, retry_safe, &ctx, riders)?;
            replies.drain(..n.min(replies.len()));
            if let Some(publisher) = self.publisher.as_mut() {
                publisher.sent(snapshot);
            }
            return Ok(replies);
        }
        self.run_plain(id, p, retry_safe, &ctx, riders)
    }

    fn publisher_source(&self) -> String {
        self.publisher
            .as_ref()
            .map(|p| p.source.clone())
            .unwrap_or_default()
    }

    /// A cluster's publish, after the request's own pipeline (the counters' slot is elsewhere):
    /// best effort, a failure is counted and retried at the next interval.
    fn publish_now(&mut self, id: &str, grown: &[(&'static str, u64)], snapshot: StoreStats) {
        let Some(publisher) = self.publisher.clone() else {
            return;
        };
        let key = stats_key(
            &self.raw.topology.prefix_of(id.as_bytes()),
            &publisher.source,
        );
        let mut p = pipeline();
        publisher.push(&mut p, &key, grown);
        let ctx = Op {
            op: "publish stats",
            key: &key,
            id,
        };
        match self
            .raw
            .topology
            .run_at(Place::Routed, &p, true, &ctx, &mut self.raw.stats)
        {
            Ok(_) => {
                if let Some(p) = self.publisher.as_mut() {
                    p.sent(snapshot);
                }
            }
            Err(_) => self.raw.stats.errors += 1,
        }
    }

    /// [`run`](Self::run) with `riders` orphaned locks of this route in front.
    fn run_plain(
        &mut self,
        id: &str,
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        riders: usize,
    ) -> Result<Vec<Value>> {
        let route = self.raw.topology.route(id.as_bytes());
        if riders == 0 {
            if p.is_empty() {
                return Ok(Vec::new());
            }
            let replies =
                self.raw
                    .topology
                    .run(id.as_bytes(), p, retry_safe, ctx, &mut self.raw.stats)?;
            if !self.orphans.is_empty() {
                self.release_orphans_elsewhere();
            }
            return Ok(replies);
        }
        // Orphaned locks on this connection ride in front: EVAL (not EVALSHA), since a restarted
        // server has forgotten our scripts and a NOSCRIPT here would cost a second round trip.
        // Compare-and-delete is idempotent, so the pipeline stays as safe to retry as it was.
        let mut full = pipeline();
        for o in self
            .orphans
            .iter()
            .filter(|o| o.route == route)
            .take(riders)
        {
            full.cmd("EVAL")
                .arg(UNLOCK)
                .arg(1)
                .arg(&o.lock)
                .arg(o.token.as_str());
        }
        for c in p.cmd_iter() {
            full.add_command(c.clone());
        }
        let mut replies =
            self.raw
                .topology
                .run(id.as_bytes(), &full, retry_safe, ctx, &mut self.raw.stats)?;
        // Delivered: a lock whose compare-and-delete ran is released, or was no longer ours to
        // release. One whose EVAL was refused (LOADING while a restarted server reads its AOF,
        // BUSY, READONLY) may still be ours: it stays remembered for the next round trip.
        let refused: Vec<bool> = replies
            .iter()
            .take(riders)
            .map(|r| matches!(r, Value::ServerError(_)))
            .collect();
        let mut slot = 0;
        self.orphans.retain(|o| {
            if o.route != route || slot >= riders {
                return true;
            }
            let keep = refused.get(slot).copied().unwrap_or(true);
            slot += 1;
            keep
        });
        replies.drain(..riders.min(replies.len()));
        self.release_orphans_elsewhere();
        Ok(replies)
    }

    /// On Redis Cluster an orphan's slot may not come up again soon, and one cluster answers for
    /// all slots: after a successful round trip, release the rest each in its own (rare: only
    /// after a fault). Stops at the first failure; what is left waits for the next success.
    /// Orphans on a node that was silent last time are left for a request to their own slot: this
    /// request, served elsewhere, must not wait a read timeout for them.
    fn release_orphans_elsewhere(&mut self) {
        if !self.raw.topology.is_cluster() {
            return;
        }
        let (silent, rest): (Vec<_>, Vec<_>) = std::mem::take(&mut self.orphans)
            .into_iter()
            .partition(|o| self.raw.topology.was_silent(o.id.as_bytes()));
        self.orphans = rest;
        self.release_orphans_on_answering_nodes();
        self.orphans.extend(silent);
    }

    fn release_orphans_on_answering_nodes(&mut self) {
        for _ in 0..MAX_RIDERS {
            let Some(o) = self.orphans.pop() else {
                return;
            };
            let mut p = pipeline();
            p.cmd("EVAL")
                .arg(UNLOCK)
                .arg(1)
                .arg(&o.lock)
                .arg(o.token.as_str());
            let ctx = Op {
                op: "unlock",
                key: &o.lock,
                id: &o.id,
            };
            let released = self
                .raw
                .topology
                .run(o.id.as_bytes(), &p, true, &ctx, &mut self.raw.stats)
                .is_ok_and(|r| !matches!(r.first(), Some(Value::ServerError(_))));
            if !released {
                self.orphans.push(o);
                return;
            }
        }
    }

    /// Run a pipeline whose last command is an EVALSHA; on NOSCRIPT (a restarted or flushed server)
    /// send the script body once with EVAL. Scripts are not retried on a broken connection: they
    /// change state, and we cannot know whether the first attempt ran.
    fn run_script(
        &mut self,
        id: &str,
        p: ScriptPipeline,
        op: &'static str,
        key: &[u8],
    ) -> Result<Vec<Value>> {
        let replies = self.run(id, &p.pipe, false, op, key)?;
        match evalsha_reply(&replies) {
            EvalshaReply::Ran => Ok(replies),
            EvalshaReply::NotCached => {
                let again = self.run(id, &p.eval(), false, op, key)?;
                Ok(with_eval_replies(replies, again))
            }
            EvalshaReply::Failed(detail) => Err(self.redis_error(id, op, key, detail, false)),
        }
    }

    pub(crate) fn redis_error(
        &mut self,
        id: &str,
        op: &'static str,
        key: &[u8],
        detail: String,
        retry_safe: bool,
    ) -> Error {
        redis_error(self.host_of(id), id, op, key, detail, retry_safe)
    }
}

fn expect_ok(
    store: &mut SessionStore,
    id: &str,
    op: &'static str,
    key: &[u8],
    reply: Option<&Value>,
) -> Result<()> {
    match reply {
        Some(Value::Okay) => Ok(()),
        other => {
            let detail = reply_text(other);
            Err(store.redis_error(id, op, key, detail, false))
        }
    }
}

/// Session ids are checked before any Redis command (see [`invalid_id_reason`]): an id from a
/// cookie must not name a key outside the session's own, nor reach phpredis's bare-prefix bug
/// (issues #531, #1625) with an empty id.
///
/// Past the public entry points ids are stored ids ([`SessionStore::stored_id`]), so this accepts
/// hashed ones too; the entry points check a cookie's id with the strict rule first.
pub(crate) fn check_id(id: &str) -> Result<()> {
    match invalid_stored_id_reason(id.as_bytes()) {
        None => Ok(()),
        Some(reason) => Err(Error::InvalidId {
            id: printable_head(id),
            reason,
        }),
    }
}

/// The first few characters of a refused id, for a message: enough to recognise it, not enough
/// to use it, and never splitting a character.
pub(crate) fn printable_head(id: &str) -> String {
    let mut head: String = id.chars().take(6).collect();
    if head.len() < id.len() {
        head.push('…');
    }
    head
}
