//! [`AsyncSessionStore`]: the session store for tokio services (feature `tokio`). The same keys,
//! host choice, lock protocol (with the fair queue), fenced writes, codecs and errors as the
//! blocking [`super::SessionStore`], all decided in [`super::protocol`] (the per-user index's
//! bookkeeping in [`super::user_index`], Sentinel's in [`super::sentinel`]); this file only does
//! the I/O, over redis-rs's async connections: one [`redis::aio::ConnectionManager`] per host (a
//! multiplexed connection shared by every task, reconnecting by itself), one async cluster
//! connection (MOVED/ASK, failover), or a master found through Sentinel
//! ([`super::async_sentinel`]). Cloning the store is cheap and shares the connections.
//!
//! The blocking store's session operations, with the lock held as a value
//! ([`HeldSessionLock`]) instead of in the store: [`read`](AsyncSessionStore::read) (no lock),
//! [`read_locked`](AsyncSessionStore::read_locked), then with the lock
//! [`write`](AsyncSessionStore::write), [`touch`](AsyncSessionStore::touch),
//! [`release`](AsyncSessionStore::release) or [`destroy`](AsyncSessionStore::destroy) (PHP's
//! `session_destroy()`); [`exists`](AsyncSessionStore::exists) and
//! [`create_id`](AsyncSessionStore::create_id), which returns the new id with its lock.
//!
//! ```no_run
//! # async fn run() -> phpsess::Result<()> {
//! use phpsess::store::{AsyncSessionStore, StoreOptions};
//! let store = AsyncSessionStore::from_save_path("tcp://127.0.0.1:6379", StoreOptions::default())?;
//! // A read-only look: one GET, no lock.
//! let data = store.read("k3vq5ctk0nb0gq3s6bqvkbmc4m").await?;
//! // A change: lock + read in one round trip, then a write that lands only while we hold it.
//! let locked = store.read_locked("k3vq5ctk0nb0gq3s6bqvkbmc4m").await?;
//! store.write(locked.lock, b"user|i:42;").await?;
//! # let _ = data; Ok(()) }
//! ```
//!
//! Two differences from the blocking store, both because one connection carries every task's
//! commands: a waiter in the lock queue polls its queue script every `retry_interval` instead of
//! blocking in `BLPOP` (a blocking pop would stall every other task on the shared connection; the
//! queue keeps arrival order either way, because a release hands the lock to the first waiter's
//! token), and a lock whose `SET NX` may have landed without a reply is released by token from a
//! spawned task rather than in front of the next pipeline.
//!
//! With the per-user index on ([`StoreOptions::user_index`]), the lock carries what the blocking
//! store keeps per request: the binding read with the session, and the one
//! [`HeldSessionLock::bind`] chose; the write or touch that ends the lock keeps binding and index
//! as the blocking store's does. On a cluster the index update after it goes command by command:
//! redis-rs's async cluster refuses a pipeline across slots.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Pipeline, Value};
use tokio::sync::OnceCell;

use super::async_sentinel::{AsyncSentinel, Failure};
use super::cluster::ClusterSpec;
use super::endpoint::Endpoint;
use super::keys::SessionKey;
use super::lock::{
    LockToken, QUEUE_ALIVE, QUEUE_LEAVE, TOUCH_AND_UNLOCK, UNLOCK, WRITE_AND_UNLOCK,
};
use super::protocol::stored_id;
use super::protocol::{
    attempt_holder, decode_stored, destroy_plan, encode_for_store, evalsha_reply, exists_reply,
    ids_collided, lock_acquired, pipeline, push_create_id_attempt, push_exists, push_lock_attempt,
    push_read, push_script, push_unlock, queue_reply, queue_try, redis_error, reply_text,
    script_reply, server_error_text, unindex_pipeline, with_eval_replies, Decoded, EvalshaReply,
    NewIdReply, QueueReply, ScriptPipeline, ScriptReply, CREATE_ID_ATTEMPTS, NO_HOLDER,
};
use super::redact::{printable, redact_key, short_id};
use super::sentinel::SentinelSpec;
use super::session_store::StoreOptions;
use super::shards::pick_host;
use super::topology::{empty_list, HostSpec};
use super::user_index::{
    bind_change, binding_key, cluster_index_updates, read_binding, session_script, BindChange,
    Binding, TOUCH_AND_UNLOCK_BOUND, WRITE_AND_UNLOCK_BOUND,
};
use crate::error::{Error, Result};
use crate::save_path::{ClusterSavePath, SavePath, SentinelSavePath};

/// Where sessions live, for the async store: weighted hosts, a Redis Cluster, or a master found
/// through Sentinel.
pub struct AsyncTopology {
    inner: Places,
}

enum Places {
    Hosts {
        hosts: Vec<AsyncHost>,
        weights: Vec<u32>,
    },
    Cluster(Box<AsyncCluster>),
    Sentinel(Box<AsyncSentinel>),
}

/// One server: its login, its key prefix, its shared connection.
pub(crate) struct AsyncHost {
    endpoint: Endpoint,
    prefix: Vec<u8>,
    /// Opened on first use, inside the runtime (a manager needs one to exist).
    conn: OnceCell<ConnectionManager>,
}

struct AsyncCluster {
    spec: ClusterSpec,
    client: redis::cluster::ClusterClient,
    /// Opened on first use; a failed first connect leaves it empty, so the next request tries again.
    conn: OnceCell<ClusterConnection>,
}

impl AsyncTopology {
    /// phpredis's weighted host list, in save_path order (host choice as [`super::pick_host`]).
    pub fn hosts(hosts: Vec<HostSpec>) -> Result<Self> {
        if hosts.is_empty() {
            return Err(empty_list("hosts"));
        }
        let weights = hosts.iter().map(|h| h.weight).collect();
        let hosts = hosts
            .into_iter()
            .map(|h| AsyncHost::new(h.endpoint, h.prefix))
            .collect();
        Ok(AsyncTopology {
            inner: Places::Hosts { hosts, weights },
        })
    }

    /// A Redis Cluster.
    pub fn cluster(spec: ClusterSpec) -> Result<Self> {
        if spec.seeds.is_empty() {
            return Err(empty_list("seeds"));
        }
        let seeds: Vec<String> = spec
            .seeds
            .iter()
            .map(|s| {
                let scheme = if spec.tls { "rediss" } else { "redis" };
                format!("{scheme}://{s}")
            })
            .collect();
        let mut builder = redis::cluster::ClusterClientBuilder::new(seeds)
            .connection_timeout(spec.connect_timeout)
            .response_timeout(spec.read_timeout)
            .retries(3);
        if let Some(user) = &spec.username {
            builder = builder.username(user);
        }
        if let Some(password) = &spec.password {
            builder = builder.password(password);
        }
        // `failover=distribute` is not followed: a session read from a lagging replica could be
        // written back stale under the lock, so every command goes to the masters.
        let client = builder.build().map_err(|e| Error::Setting {
            name: "cluster save_path".into(),
            reason: e.to_string(),
        })?;
        Ok(AsyncTopology {
            inner: Places::Cluster(Box::new(AsyncCluster {
                spec,
                client,
                conn: OnceCell::new(),
            })),
        })
    }

    /// A master found through Sentinel, followed through failovers as the blocking store
    /// follows it (see [`super::SentinelSpec`]).
    pub fn sentinel(spec: SentinelSpec) -> Result<Self> {
        if spec.sentinels.is_empty() {
            return Err(empty_list("sentinels"));
        }
        Ok(AsyncTopology {
            inner: Places::Sentinel(Box::new(AsyncSentinel::new(spec))),
        })
    }

    /// From a phpredis `redis` save_path (hosts, weights, prefixes, auth, database, timeouts,
    /// TLS) or phpsess's `sentinel://` form, parsed as the blocking store parses them.
    pub fn from_save_path(save_path: &str) -> Result<Self> {
        if SentinelSavePath::matches(save_path) {
            let parsed = SentinelSavePath::parse(save_path)?;
            return AsyncTopology::sentinel(super::config::sentinel_spec(&parsed));
        }
        let parsed = SavePath::parse(save_path)?;
        AsyncTopology::hosts(parsed.hosts.iter().map(super::config::host_spec).collect())
    }

    /// From a phpredis `rediscluster` save_path (`seed[]=h:7000&seed[]=h:7001&...`).
    pub fn from_cluster_save_path(save_path: &str) -> Result<Self> {
        let parsed = ClusterSavePath::parse(save_path)?;
        AsyncTopology::cluster(super::config::cluster_spec(&parsed))
    }

    fn host_index(weights: &[u32], id: &[u8]) -> usize {
        // As `Topology::index`: weights are >= 1 when parsed, so a host always exists.
        pick_host(id, weights).unwrap_or(0)
    }

    fn key(&self, id: &[u8]) -> SessionKey {
        match &self.inner {
            Places::Hosts { hosts, weights } => {
                SessionKey::standalone(&hosts[Self::host_index(weights, id)].prefix, id)
            }
            Places::Cluster(c) => SessionKey::cluster(&c.spec.prefix, id),
            Places::Sentinel(s) => SessionKey::standalone(&s.spec.prefix, id),
        }
    }

    fn label(&self, id: &[u8]) -> String {
        match &self.inner {
            Places::Hosts { hosts, weights } => {
                hosts[Self::host_index(weights, id)].endpoint.label.clone()
            }
            Places::Cluster(c) => c.spec.label(),
            Places::Sentinel(s) => s.label(),
        }
    }

    /// Send `p` where session `id` lives (a raw key: `id` is `None`, the first host or the key's
    /// cluster node) and return every reply, error replies as values.
    async fn run(
        &self,
        id: Option<&[u8]>,
        p: &Pipeline,
    ) -> std::result::Result<Vec<Value>, Failure> {
        match &self.inner {
            Places::Hosts { hosts, weights } => {
                let host = &hosts[id.map_or(0, |id| Self::host_index(weights, id))];
                let mut conn = host.connection().await?;
                Ok(p.query_async(&mut conn).await?)
            }
            Places::Cluster(c) => {
                let mut conn = c
                    .conn
                    .get_or_try_init(|| c.client.get_async_connection())
                    .await?
                    .clone();
                Ok(p.query_async(&mut conn).await?)
            }
            Places::Sentinel(s) => s.run(p).await,
        }
    }

    fn is_cluster(&self) -> bool {
        matches!(self.inner, Places::Cluster(_))
    }

    /// The key prefix of the place holding stored id `id` (the user index lives beside it).
    fn prefix_of(&self, id: &[u8]) -> Vec<u8> {
        match &self.inner {
            Places::Hosts { hosts, weights } => hosts[Self::host_index(weights, id)].prefix.clone(),
            Places::Cluster(c) => c.spec.prefix.clone(),
            Places::Sentinel(s) => s.spec.prefix.clone(),
        }
    }

    fn connect_timeout(&self, id: Option<&[u8]>) -> Duration {
        match &self.inner {
            Places::Hosts { hosts, weights } => {
                hosts[id.map_or(0, |id| Self::host_index(weights, id))]
                    .endpoint
                    .connect_timeout
            }
            Places::Cluster(c) => c.spec.connect_timeout,
            Places::Sentinel(s) => s.spec.master.connect_timeout,
        }
    }

    fn raw_label(&self) -> String {
        match &self.inner {
            Places::Hosts { hosts, .. } => hosts[0].endpoint.label.clone(),
            Places::Cluster(c) => c.spec.label(),
            Places::Sentinel(s) => s.label(),
        }
    }
}

impl AsyncHost {
    /// A host whose connection opens on first use.
    pub(crate) fn new(endpoint: Endpoint, prefix: Vec<u8>) -> Self {
        AsyncHost {
            endpoint,
            prefix,
            conn: OnceCell::new(),
        }
    }

    /// The host's shared connection, opened on first use.
    pub(crate) async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                let e = &self.endpoint;
                // Few, quick reconnect attempts: a request waiting on a dead server should fail
                // within its timeouts and let the next one try again, not queue up behind retries.
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(e.connect_timeout))
                    .set_response_timeout(Some(e.read_timeout))
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(10))
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(client_for(e)?, config)
            })
            .await?;
        Ok(conn.clone())
    }
}

/// A client for one server: its address, login, database and TLS files.
pub(crate) fn client_for(e: &Endpoint) -> redis::RedisResult<redis::Client> {
    let mut settings = redis::RedisConnectionInfo::default()
        .set_skip_set_lib_name()
        .set_db(e.db);
    if let Some(user) = &e.username {
        settings = settings.set_username(user);
    }
    if let Some(password) = &e.password {
        settings = settings.set_password(password);
    }
    let info = e
        .connection_info()
        .map_err(|err| {
            redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "bad address",
                err.to_string(),
            ))
        })?
        .set_redis_settings(settings);
    match &e.tls {
        Some(files) => {
            let certs = files.certificates().map_err(redis::RedisError::from)?;
            redis::Client::build_with_tls(info, certs)
        }
        None => redis::Client::open(info),
    }
}

/// A session lock this task holds ([`AsyncSessionStore::read_locked`]): give it back to
/// [`AsyncSessionStore::write`], [`AsyncSessionStore::touch`] or [`AsyncSessionStore::release`].
/// Dropped without one of those, the lock is released from a spawned task, by token.
pub struct HeldSessionLock {
    id: String,
    key: SessionKey,
    token: Option<LockToken>,
    /// The session's binding (user index on), as read with the lock and as the write stores it.
    binding: Option<BindingState>,
    store: Option<AsyncSessionStore>,
}

/// A locked session's binding to its user ([`super::user_index`]), for the write that ends the
/// lock: what the blocking store keeps per request, kept here with the lock.
#[derive(Debug, Clone, Default)]
struct BindingState {
    /// Bound to this user when read (`None`: to nobody).
    read: Option<Binding>,
    /// Refreshed less than a slack ago: unchanged, it needs no bookkeeping.
    fresh: bool,
    /// What [`HeldSessionLock::bind`] asked the write to store.
    next: Option<Option<Binding>>,
}

// Debug shows the id shortened and no token: either is enough to act on the session.
impl std::fmt::Debug for HeldSessionLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldSessionLock")
            .field("id", &short_id(&self.id))
            .finish_non_exhaustive()
    }
}

impl HeldSessionLock {
    /// The session's id as named in Redis (its stored id when ids are hashed at rest).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The lock token (`host|pid|unique`), as `redis-cli GET <lock>` shows it.
    pub fn token(&self) -> &str {
        self.token.as_ref().map_or("", |t| t.as_str())
    }

    /// The user the session was bound to when read (user index on, see
    /// [`super::StoreOptions::user_index`]): `None` with the index off, `Some(None)` when bound to
    /// nobody. As [`super::SessionStore::binding`].
    pub fn binding(&self) -> Option<Option<&Binding>> {
        self.binding.as_ref().map(|b| b.read.as_ref())
    }

    /// What the [`write`](AsyncSessionStore::write) or [`touch`](AsyncSessionStore::touch) that
    /// ends this lock stores as the session's binding: bound to `binding`'s user (its index
    /// entry added), or unbound with `None` (removed from the old user's index). Without a call
    /// the binding read stays, refreshed with the session. As [`super::SessionStore::bind`];
    /// nothing happens with the user index off.
    pub fn bind(&mut self, binding: Option<Binding>) {
        if let Some(state) = &mut self.binding {
            state.next = Some(binding);
        }
    }

    fn take(mut self) -> (String, SessionKey, LockToken, Option<BindingState>) {
        self.store = None;
        let token = self.token.take().unwrap_or_default();
        (
            std::mem::take(&mut self.id),
            std::mem::take(&mut self.key),
            token,
            self.binding.take(),
        )
    }
}

impl Drop for HeldSessionLock {
    fn drop(&mut self) {
        if let (Some(store), Some(token)) = (self.store.take(), self.token.take()) {
            store.release_later(self.id.clone(), self.key.clone(), token);
        }
    }
}

/// A lock between the command that may take or end it and the reply that settles it. Dropped
/// unsettled (an error returned, or the request's future dropped mid-command: the client gone, a
/// timeout layer), it gives the lock back by its token from a task, so a lock never waits out
/// its expiry for want of an answer. Giving it back is harmless when the command did run: the
/// unlock script deletes the lock only while it still holds this token.
struct InFlight<'s> {
    store: &'s AsyncSessionStore,
    id: String,
    key: SessionKey,
    token: LockToken,
    settled: bool,
}

impl<'s> InFlight<'s> {
    fn new(store: &'s AsyncSessionStore, id: String, key: SessionKey, token: LockToken) -> Self {
        InFlight {
            store,
            id,
            key,
            token,
            settled: false,
        }
    }

    /// A held lock on its way to the script that ends it, and the binding read with it.
    fn ending(store: &'s AsyncSessionStore, lock: HeldSessionLock) -> (Self, Option<BindingState>) {
        let (id, key, token, binding) = lock.take();
        (InFlight::new(store, id, key, token), binding)
    }

    /// Redis answered: nothing to give back (or the token goes on to a [`HeldSessionLock`]).
    fn settle(&mut self) -> LockToken {
        self.settled = true;
        std::mem::take(&mut self.token)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let token = self.settle();
            let (id, key) = (std::mem::take(&mut self.id), std::mem::take(&mut self.key));
            self.store.release_later(id, key, token);
        }
    }
}

/// What [`AsyncSessionStore::read_locked`] found: the session (`None`: it does not exist) and
/// the lock to write it back with.
#[derive(Debug)]
pub struct LockedRead {
    /// The session bytes (decrypted, decompressed), or `None`.
    pub data: Option<Vec<u8>>,
    /// Why a stored value was treated as absent (encryption at rest refused it), as in
    /// [`super::ReadOutcome::unreadable`]; a write of an empty session then keeps the value.
    pub unreadable: Option<String>,
    /// The lock.
    pub lock: HeldSessionLock,
}

/// What [`AsyncSessionStore::create_id`] made: an id no session has, and its lock.
pub struct NewSession {
    /// The id for the cookie (the generated one; with hashed ids its stored form is
    /// [`HeldSessionLock::id`]).
    pub id: String,
    /// The new session's lock, to write its first data with.
    pub lock: HeldSessionLock,
}

// Debug shows the id shortened: a whole session id in a log is a session anyone can take.
impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("id", &short_id(&self.id))
            .finish_non_exhaustive()
    }
}

/// The phpredis-compatible session store for async code. `Clone` + `Send` + `Sync`: share one
/// per process (an axum `State`, a `OnceLock`).
#[derive(Clone)]
pub struct AsyncSessionStore {
    inner: Arc<Shared>,
}

impl std::fmt::Debug for AsyncSessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncSessionStore")
            .field("servers", &self.inner.topology.raw_label())
            .finish_non_exhaustive()
    }
}

struct Shared {
    topology: AsyncTopology,
    options: StoreOptions,
}

impl AsyncSessionStore {
    /// A store over `topology`. Opens no connection yet.
    pub fn new(topology: AsyncTopology, options: StoreOptions) -> Result<Self> {
        Ok(AsyncSessionStore {
            inner: Arc::new(Shared { topology, options }),
        })
    }

    /// A store over the servers of a phpredis `redis` save_path ([`AsyncTopology::from_save_path`]).
    pub fn from_save_path(save_path: &str, options: StoreOptions) -> Result<Self> {
        AsyncSessionStore::new(AsyncTopology::from_save_path(save_path)?, options)
    }

    /// A store over the Redis Cluster of a `rediscluster` save_path.
    pub fn from_cluster_save_path(save_path: &str, options: StoreOptions) -> Result<Self> {
        AsyncSessionStore::new(AsyncTopology::from_cluster_save_path(save_path)?, options)
    }

    /// The options in force.
    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The keys stored id `id` lives under (the same as the blocking store's and phpredis's; the
    /// session id itself unless ids are hashed at rest, see [`super::SessionStore::stored_id`]).
    pub fn key(&self, id: &str) -> SessionKey {
        self.inner.topology.key(id.as_bytes())
    }

    /// Where stored id `id` lives, for messages (`tcp://10.0.0.5:6379`).
    pub fn host_of(&self, id: &str) -> String {
        self.inner.topology.label(id.as_bytes())
    }

    /// Read session `id` without locking it and without refreshing its TTL: one `GET`.
    /// `Ok(None)` when it does not exist, or when encryption at rest refused the stored value.
    pub async fn read(&self, id: &str) -> Result<Option<Vec<u8>>> {
        let stored = stored_id(&self.inner.options, id)?;
        let id: &str = &stored;
        let key = self.key(id);
        let mut p = pipeline();
        push_read(&mut p, &key, self.ttl_secs(), false, None);
        let replies = self.run(id, &p, "read", &key.data).await?;
        self.open(id, &key, replies.first())
            .map(|(data, _unreadable)| data)
    }

    /// Take session `id`'s lock and read it: lock attempt and read in one round trip when the
    /// lock is free; else wait for it (in the fair queue when [`super::LockOptions::queue`] is
    /// on) up to [`super::LockOptions::wait`], then [`Error::LockTimeout`] naming the holder.
    /// With locking disabled in the options, the lock is taken all the same: a caller asking for
    /// a locked read means it.
    pub async fn read_locked(&self, id: &str) -> Result<LockedRead> {
        let stored = stored_id(&self.inner.options, id)?;
        let id: &str = &stored;
        let lock = self.inner.options.lock.clone();
        // From the first SET NX on, an error or a dropped future gives the lock back: the SET NX
        // may have landed after we gave up on the reply.
        let mut flight = InFlight::new(self, id.to_owned(), self.key(id), LockToken::new());
        let started = Instant::now();
        let mut p = pipeline();
        push_lock_attempt(&mut p, &flight.key, &flight.token, lock.expire_ms());
        let bind_key = self.binding_key(&flight.key);
        push_read(
            &mut p,
            &flight.key,
            self.ttl_secs(),
            false,
            bind_key.as_deref(),
        );
        let replies = self.run(id, &p, "lock", &flight.key.lock).await?;
        if let Some(Value::ServerError(e)) = replies.first() {
            // Refused, not taken: nothing to give back.
            flight.settle();
            return Err(self.redis_error(id, "lock", &flight.key.lock, server_error_text(e), true));
        }
        if lock_acquired(&replies, &flight.token) {
            // Held from here on: an error below (a value over the cap) releases it on drop.
            let held = self.held(flight, replies.get(2..).unwrap_or_default());
            let (data, unreadable) = self.open(id, &held.key, replies.get(2))?;
            return Ok(LockedRead {
                data,
                unreadable,
                lock: held,
            });
        }
        let mut holder = attempt_holder(&replies);
        loop {
            let waited = started.elapsed();
            if waited >= lock.wait {
                break;
            }
            tokio::time::sleep(lock.retry_interval.min(lock.wait - waited)).await;
            let ours = if lock.queue {
                let sp = queue_try(
                    &flight.key,
                    &flight.token,
                    lock.expire_ms(),
                    QUEUE_ALIVE.as_millis() as u64,
                );
                let replies = self.run_script(id, sp, "lock", &flight.key.lock).await?;
                match queue_reply(replies.last()) {
                    QueueReply::Ours => true,
                    QueueReply::HeldBy(h) => {
                        holder = printable(&h);
                        false
                    }
                    QueueReply::Unexpected(detail) => {
                        return Err(self.redis_error(id, "lock", &flight.key.lock, detail, false));
                    }
                }
            } else {
                let mut p = pipeline();
                push_lock_attempt(&mut p, &flight.key, &flight.token, lock.expire_ms());
                let replies = self.run(id, &p, "lock", &flight.key.lock).await?;
                holder = attempt_holder(&replies);
                lock_acquired(&replies, &flight.token)
            };
            if ours {
                return self.read_after_wait(flight).await;
            }
        }
        if lock.queue {
            // Out of time: leave the queue; the lock may have come to us at the last moment.
            let expire = lock.expire_ms().to_string();
            let sp = push_script(
                pipeline(),
                QUEUE_LEAVE,
                &[&flight.key.lock],
                &[flight.token.as_str().as_bytes(), expire.as_bytes()],
            );
            let replies = self.run_script(id, sp, "lock", &flight.key.lock).await?;
            match queue_reply(replies.first()) {
                QueueReply::Ours => return self.read_after_wait(flight).await,
                QueueReply::HeldBy(h) => holder = printable(&h),
                QueueReply::Unexpected(_) => {}
            }
        }
        // Never ours (and out of the queue): nothing to give back.
        flight.settle();
        Err(Error::LockTimeout {
            host: self.host_of(id),
            key: redact_key(&flight.key.lock, id),
            holder,
            waited_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// The lock is ours after a wait: read the session now (the hand-off's wake message is
    /// dropped by the queue script; one `GET` more than the blocking store, see the module doc).
    async fn read_after_wait(&self, flight: InFlight<'_>) -> Result<LockedRead> {
        let (id, key) = (&flight.id, &flight.key);
        let mut p = pipeline();
        let bind_key = self.binding_key(key);
        push_read(&mut p, key, self.ttl_secs(), false, bind_key.as_deref());
        let replies = self.run(id, &p, "read", &key.data).await?;
        let held = self.held(flight, &replies);
        let (id, key) = (&held.id, &held.key);
        let (data, unreadable) = self.open(id, key, replies.first())?;
        Ok(LockedRead {
            data,
            unreadable,
            lock: held,
        })
    }

    /// Does session `id` exist (PHP's strict-mode `validate_sid`)? One `EXISTS`, as
    /// [`super::SessionStore::exists`].
    pub async fn exists(&self, id: &str) -> Result<bool> {
        let stored = stored_id(&self.inner.options, id)?;
        let id: &str = &stored;
        let key = self.key(id);
        let mut p = pipeline();
        push_exists(&mut p, &key);
        let replies = self.run(id, &p, "exists", &key.data).await?;
        Ok(exists_reply(replies.first()))
    }

    /// A new session: the first id from `generate` (PHP's length and alphabet are the caller's
    /// choice, as PHP's own generator is for [`super::SessionStore::create_id`]) that no session
    /// has, with its lock taken in the same round trip as the check; three collisions in a row
    /// are an [`Error::InvalidId`]. Write the session's first data with the lock
    /// ([`write`](Self::write)), bind it to a user first with the user index on. Unlike the
    /// blocking store, the lock is taken even with locking disabled in the options: this store
    /// writes only under a lock (as [`read_locked`](Self::read_locked)).
    pub async fn create_id(&self, mut generate: impl FnMut() -> String) -> Result<NewSession> {
        let expire_ms = self.inner.options.lock.expire_ms();
        let mut last = String::new();
        for _ in 0..CREATE_ID_ATTEMPTS {
            let clear = generate();
            // Checked and locked under the stored id; the caller gets the id for the cookie.
            let stored = stored_id(&self.inner.options, &clear)?;
            let id: &str = &stored;
            let key = self.key(id);
            // The SET NX may land after we gave up on the reply: given back on error or drop.
            let mut flight =
                InFlight::new(self, id.to_owned(), key, LockToken::for_lock(expire_ms));
            let key = &flight.key;
            let mut p = pipeline();
            push_create_id_attempt(&mut p, key, &flight.token, Some(expire_ms));
            let reply = NewIdReply::read(&self.run(id, &p, "create_id", &key.data).await?);
            if reply.must_release() {
                let sp = push_unlock(pipeline(), key, &flight.token);
                self.run_script(id, sp, "unlock", &key.lock).await?;
            }
            if reply.is_fresh(true) {
                // A new session: bound to nobody, its binding never refreshed.
                let lock = self.held(flight, &[]);
                return Ok(NewSession { id: clear, lock });
            }
            // Not ours, or given back above.
            flight.settle();
            last = clear;
        }
        Err(ids_collided(&last))
    }

    /// Store `data` for the locked session and release the lock, in one script that writes only
    /// while the lock still holds our token (fenced): else [`Error::LockLost`] and nothing is
    /// written. The next queued waiter is handed the lock with the data.
    /// With the user index on, the same script keeps the session's binding and (on a host list)
    /// its user's index, as the blocking store's write does; on a cluster the index, in a slot of
    /// its own, is updated right after.
    pub async fn write(&self, lock: HeldSessionLock, data: &[u8]) -> Result<()> {
        let (flight, binding) = InFlight::ending(self, lock);
        // Not encodable (over the size cap): the lock is given back as the flight drops.
        let stored =
            encode_for_store(&self.inner.options, &flight.key.data, data).map_err(Error::Encode)?;
        let scripts = (WRITE_AND_UNLOCK, WRITE_AND_UNLOCK_BOUND);
        self.end_request(flight, binding, scripts, Some(&stored), "write")
            .await
    }

    /// Refresh the locked session's TTL and release the lock (the end of a request that changed
    /// nothing), fenced as [`write`](Self::write).
    pub async fn touch(&self, lock: HeldSessionLock) -> Result<()> {
        let (flight, binding) = InFlight::ending(self, lock);
        let scripts = (TOUCH_AND_UNLOCK, TOUCH_AND_UNLOCK_BOUND);
        self.end_request(flight, binding, scripts, None, "touch")
            .await
    }

    /// The fenced script that ends a locked request (`scripts`: without and with the user index;
    /// arguments token, TTL, then the `data` to store if any), keeping the binding and index as
    /// the blocking store does.
    async fn end_request(
        &self,
        mut flight: InFlight<'_>,
        binding: Option<BindingState>,
        scripts: (&'static str, &'static str),
        data: Option<&[u8]>,
        what: &'static str,
    ) -> Result<()> {
        let ttl = self.ttl_secs().to_string();
        let mut args: Vec<&[u8]> = vec![flight.token.as_str().as_bytes(), ttl.as_bytes()];
        args.extend(data);
        let change = self.bind_change(&flight.id, binding.as_ref());
        let sp = session_script(
            &self.inner.options,
            self.inner.topology.is_cluster(),
            &flight.id,
            &flight.key,
            scripts,
            &args,
            change.as_ref(),
        );
        self.fenced(&mut flight, sp, what).await?;
        self.index_after(&flight.id, change.as_ref()).await;
        Ok(())
    }

    /// End the locked session, as PHP's `session_destroy()` through phpsess does
    /// ([`super::SessionStore::destroy`]): its data deleted and our lock released in one round
    /// trip (the next queued waiter gets the lock and finds no session). With the user index on,
    /// the binding goes too, and the session's entry leaves its user's index (the binding read
    /// with the lock names the user; on a cluster the index, in a slot of its own, right after).
    /// Deleting a session whose lock is no longer ours deletes it all the same, as the blocking
    /// store does; only the release is skipped.
    pub async fn destroy(&self, lock: HeldSessionLock) -> Result<()> {
        let (mut flight, binding) = InFlight::ending(self, lock);
        let read = binding.as_ref().and_then(|b| b.read.as_ref());
        let prefix = self.inner.topology.prefix_of(flight.id.as_bytes());
        let cluster = self.inner.topology.is_cluster();
        let (id, key) = (&flight.id, &flight.key);
        let plan = destroy_plan(&self.inner.options, cluster, id, key, read, &prefix);
        let sp = push_unlock(plan.pipe, key, &flight.token);
        // On an error the script may not have run: the flight gives the lock back as it drops.
        self.run_script(id, sp, "destroy", &key.data).await?;
        flight.settle();
        let id = &flight.id;
        if let Some(ikey) = plan.unindex {
            // Best effort, as in the blocking store: listings skip entries whose session is gone.
            let _ = self
                .run(id, &unindex_pipeline(&ikey, id), "destroy", &ikey)
                .await;
        }
        Ok(())
    }

    /// What ending the lock changes in the binding and index (user index on), as the blocking
    /// store decides it ([`bind_change`]).
    fn bind_change(&self, id: &str, binding: Option<&BindingState>) -> Option<BindChange> {
        let state = binding?;
        let prefix = self.inner.topology.prefix_of(id.as_bytes());
        bind_change(
            state.read.as_ref(),
            state.next.as_ref().map(Option::as_ref),
            state.fresh,
            &prefix,
        )
        .map(|(change, _)| change)
    }

    /// On a cluster, the index update after a write or touch carrying `change`
    /// ([`cluster_index_updates`]). Best effort, as in the blocking store: the session itself
    /// was written, and the index forgives a missed update (listings skip ended sessions, the
    /// binding names the user).
    async fn index_after(&self, id: &str, change: Option<&BindChange>) {
        let Some(change) = change else { return };
        let cluster = self.inner.topology.is_cluster();
        for (shown, c) in cluster_index_updates(&self.inner.options, cluster, id, change) {
            let mut p = pipeline();
            p.add_command(c);
            let _ = self.run(id, &p, "user index", &shown).await;
        }
    }

    /// The session's binding key, when the user index is on.
    fn binding_key(&self, key: &SessionKey) -> Option<Vec<u8>> {
        self.inner.options.user_index.then(|| binding_key(key))
    }

    /// Release the lock without writing (compare-and-delete by token, handing it to the next
    /// waiter). Releasing a lock that expired meanwhile is not an error.
    pub async fn release(&self, lock: HeldSessionLock) -> Result<()> {
        let (mut flight, _) = InFlight::ending(self, lock);
        let sp = push_script(
            pipeline(),
            UNLOCK,
            &[&flight.key.lock],
            &[flight.token.as_str().as_bytes()],
        );
        // Failed or dropped before the reply: tried again from a task as the flight drops.
        let replies = self
            .run_script(&flight.id, sp, "unlock", &flight.key.lock)
            .await?;
        flight.settle();
        let (id, key) = (&flight.id, &flight.key);
        match replies.first() {
            Some(Value::Int(_)) => Ok(()),
            other => {
                let detail = reply_text(other);
                Err(self.redis_error(id, "unlock", &key.lock, detail, false))
            }
        }
    }

    /// Run the script that ends a lock. Settled once it answered that it ran or that the lock
    /// was no longer ours; on an error or an unexpected reply the script may not have run, and
    /// the flight gives the lock back.
    async fn fenced(
        &self,
        flight: &mut InFlight<'_>,
        sp: ScriptPipeline,
        op: &'static str,
    ) -> Result<()> {
        let (id, key) = (&flight.id, &flight.key);
        let replies = self.run_script(id, sp, op, &key.data).await?;
        let outcome = match script_reply(replies.first()) {
            ScriptReply::Done { .. } => Ok(()),
            ScriptReply::HeldBy(holder) => Err(Error::LockLost {
                host: self.host_of(id),
                key: redact_key(&key.lock, id),
                holder: printable(&holder),
            }),
            ScriptReply::NoHolder => Err(Error::LockLost {
                host: self.host_of(id),
                key: redact_key(&key.lock, id),
                holder: NO_HOLDER.into(),
            }),
            ScriptReply::Unexpected(detail) => {
                return Err(self.redis_error(id, op, &key.data, detail, false));
            }
        };
        flight.settle();
        outcome
    }

    /// A plain `GET` of a key as given, over the same connection as the sessions (the first host,
    /// or the key's cluster node): for values that are not phpredis sessions (Laravel's) and for
    /// comparison with the session path.
    pub async fn get_raw(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let mut p = pipeline();
        p.cmd("GET").arg(key);
        let replies = self.run_raw(&p, "get", key).await?;
        // Moved out, not cloned: a session is hundreds of bytes to kilobytes.
        match replies.into_iter().next() {
            Some(Value::Nil) => Ok(None),
            Some(Value::BulkString(b)) => Ok(Some(b)),
            other => Err(self.raw_error("get", key, reply_text(other.as_ref()))),
        }
    }

    /// `GET` and `TTL` of a key as given, in one round trip: `None` when it does not exist.
    pub async fn get_raw_with_ttl(&self, key: &[u8]) -> Result<Option<(Vec<u8>, i64)>> {
        let mut p = pipeline();
        p.cmd("GET").arg(key);
        p.cmd("TTL").arg(key);
        let replies = self.run_raw(&p, "get", key).await?;
        let mut replies = replies.into_iter();
        match (replies.next(), replies.next()) {
            (Some(Value::Nil), _) => Ok(None),
            (Some(Value::BulkString(b)), Some(Value::Int(ttl))) => Ok(Some((b, ttl))),
            (other, _) => Err(self.raw_error("get", key, reply_text(other.as_ref()))),
        }
    }

    /// `SET key value XX KEEPTTL`: overwrite an existing key keeping its TTL; false (nothing
    /// written) when the key no longer exists.
    pub async fn set_raw_keep_ttl(&self, key: &[u8], value: &[u8]) -> Result<bool> {
        let mut p = pipeline();
        p.cmd("SET").arg(key).arg(value).arg("XX").arg("KEEPTTL");
        let replies = self.run_raw(&p, "write", key).await?;
        match replies.first() {
            Some(Value::Okay) => Ok(true),
            Some(Value::Nil) => Ok(false),
            other => Err(self.raw_error("write", key, reply_text(other))),
        }
    }

    fn ttl_secs(&self) -> u64 {
        self.inner.options.ttl.as_secs().max(1)
    }

    /// The lock, with the binding read when the user index is on: `read` are the replies of
    /// [`push_read`] (data, binding, its PTTL).
    fn held(&self, mut flight: InFlight<'_>, read: &[Value]) -> HeldSessionLock {
        let binding = self.inner.options.user_index.then(|| {
            let (read, fresh) = read_binding(read.get(1), read.get(2), self.ttl_secs());
            BindingState {
                read,
                fresh,
                next: None,
            }
        });
        // The lock passes from the flight to the HeldSessionLock, which gives it back if dropped.
        let token = flight.settle();
        HeldSessionLock {
            id: std::mem::take(&mut flight.id),
            key: std::mem::take(&mut flight.key),
            token: Some(token),
            binding,
            store: Some(self.clone()),
        }
    }

    /// Decode one read reply: `(data, why it was unreadable)`.
    fn open(
        &self,
        id: &str,
        key: &SessionKey,
        reply: Option<&Value>,
    ) -> Result<(Option<Vec<u8>>, Option<String>)> {
        let stored = match reply {
            Some(Value::Nil) => return Ok((None, None)),
            Some(Value::BulkString(b)) => b,
            other => {
                let detail = reply_text(other);
                return Err(self.redis_error(id, "read", &key.data, detail, true));
            }
        };
        match decode_stored(&self.inner.options, &key.data, stored) {
            Ok(Decoded::Session { data, .. }) => Ok((Some(data), None)),
            Ok(Decoded::Unreadable(why)) => Ok((
                None,
                Some(format!(
                    "phpsess: session {} is treated as absent: {why}",
                    short_id(id)
                )),
            )),
            Err(reason) => Err(Error::SessionTooLarge {
                host: self.host_of(id),
                key: redact_key(&key.data, id),
                id: short_id(id),
                reason,
            }),
        }
    }

    /// Release a lock we may hold, by token, from a task of its own (best effort: the lock
    /// expires by itself if this fails too). Outside a runtime it is left to expire.
    fn release_later(&self, id: String, key: SessionKey, token: LockToken) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.clone();
        runtime.spawn(async move {
            let sp = push_script(
                pipeline(),
                UNLOCK,
                &[&key.lock],
                &[token.as_str().as_bytes()],
            );
            let _ = store.run_script(&id, sp, "unlock", &key.lock).await;
        });
    }

    async fn run(
        &self,
        id: &str,
        p: &Pipeline,
        op: &'static str,
        key: &[u8],
    ) -> Result<Vec<Value>> {
        self.inner
            .topology
            .run(Some(id.as_bytes()), p)
            .await
            .map_err(|f| match f {
                Failure::Io(e) => self.io_error(id, op, key, e),
                other => self.place_error(Some(id), op, key, other),
            })
    }

    async fn run_raw(&self, p: &Pipeline, op: &'static str, key: &[u8]) -> Result<Vec<Value>> {
        self.inner.topology.run(None, p).await.map_err(|f| match f {
            Failure::Io(e) => self.raw_io_error(op, key, e),
            other => self.place_error(None, op, key, other),
        })
    }

    /// Run a pipeline ending in EVALSHA; on NOSCRIPT (a restarted or flushed server) send the body
    /// once with EVAL. Not retried otherwise: a script changes state.
    async fn run_script(
        &self,
        id: &str,
        sp: ScriptPipeline,
        op: &'static str,
        key: &[u8],
    ) -> Result<Vec<Value>> {
        let replies = self.run(id, &sp.pipe, op, key).await?;
        match evalsha_reply(&replies) {
            EvalshaReply::Ran => Ok(replies),
            EvalshaReply::NotCached => {
                let again = self.run(id, &sp.eval(), op, key).await?;
                Ok(with_eval_replies(replies, again))
            }
            EvalshaReply::Failed(detail) => Err(self.redis_error(id, op, key, detail, false)),
        }
    }

    fn redis_error(
        &self,
        id: &str,
        op: &'static str,
        key: &[u8],
        detail: String,
        retry_safe: bool,
    ) -> Error {
        redis_error(self.host_of(id), id, op, key, detail, retry_safe)
    }

    /// A failed exchange: a connect that failed is [`Error::Connect`], anything else
    /// [`Error::Redis`] (retry-safe only for reads).
    fn io_error(&self, id: &str, op: &'static str, key: &[u8], e: redis::RedisError) -> Error {
        if e.is_connection_refusal() {
            return Error::Connect {
                host: self.host_of(id),
                timeout_secs: self
                    .inner
                    .topology
                    .connect_timeout(Some(id.as_bytes()))
                    .as_secs_f64(),
                id: short_id(id),
                detail: e.to_string(),
                source: Some(Box::new(e)),
            };
        }
        Error::Redis {
            host: self.host_of(id),
            key: redact_key(key, id),
            op,
            detail: if e.is_timeout() {
                "no reply within the read timeout".into()
            } else {
                e.to_string()
            },
            retry_safe: op == "read",
            source: Some(Box::new(e)),
        }
    }

    /// A failure of the Sentinel place: no master named ([`Error::Connect`]), or a write the
    /// master refused or could not secure ([`Error::Redis`], not retry-safe).
    fn place_error(&self, id: Option<&str>, op: &'static str, key: &[u8], f: Failure) -> Error {
        let shown = match id {
            Some(id) => redact_key(key, id),
            None => raw_key_text(key),
        };
        match f {
            Failure::Io(e) => Error::Redis {
                host: self.inner.topology.raw_label(),
                key: shown,
                op,
                detail: e.to_string(),
                retry_safe: false,
                source: Some(Box::new(e)),
            },
            Failure::NoMaster(detail) => Error::Connect {
                host: self.inner.topology.raw_label(),
                timeout_secs: self
                    .inner
                    .topology
                    .connect_timeout(id.map(str::as_bytes))
                    .as_secs_f64(),
                id: id.map(short_id).unwrap_or_default(),
                detail,
                source: None,
            },
            Failure::Refused { host, detail } => Error::Redis {
                host,
                key: shown,
                op,
                detail,
                retry_safe: false,
                source: None,
            },
        }
    }

    fn raw_io_error(&self, op: &'static str, key: &[u8], e: redis::RedisError) -> Error {
        Error::Redis {
            host: self.inner.topology.raw_label(),
            key: raw_key_text(key),
            op,
            detail: e.to_string(),
            retry_safe: op == "get",
            source: Some(Box::new(e)),
        }
    }

    fn raw_error(&self, op: &'static str, key: &[u8], detail: String) -> Error {
        Error::Redis {
            host: self.inner.topology.raw_label(),
            key: raw_key_text(key),
            op,
            detail,
            retry_safe: false,
            source: None,
        }
    }
}

/// A raw key for messages: its prefix and a short head of the rest, never a whole session id.
fn raw_key_text(key: &[u8]) -> String {
    let text = String::from_utf8_lossy(key);
    let start = text.rfind(':').map_or(0, |i| i + 1);
    let head: String = text[start..].chars().take(6).collect();
    if start + head.len() < text.len() {
        format!("{}{head}…", &text[..start])
    } else {
        text.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_messages_never_show_a_whole_id_or_token() {
        let id = "k3vq5ctk0nb0gq3s6bqvkbmc4m";
        let token = LockToken::new();
        let shown_token = token.as_str().to_owned();
        let lock = HeldSessionLock {
            id: id.into(),
            key: SessionKey::standalone(b"PHPREDIS_SESSION:", id.as_bytes()),
            token: Some(token),
            binding: None,
            store: None,
        };
        let debug = format!("{lock:?}");
        assert!(!debug.contains(id), "{debug}");
        assert!(!debug.contains(&shown_token), "{debug}");
        let key = format!("laravel_database_laravel_cache:{id}");
        let text = raw_key_text(key.as_bytes());
        assert_eq!(text, "laravel_database_laravel_cache:k3vq5c…");
        assert_eq!(raw_key_text(b"short"), "short");
    }
}
