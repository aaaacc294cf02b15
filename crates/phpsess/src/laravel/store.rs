//! [`LaravelStore`]: Laravel sessions in Redis through the store's raw-key layer (standalone,
//! `redis://` URL, Sentinel, Cluster): find a session from its cookie or id, read it with its
//! remaining TTL, write a change back keeping that TTL, list all sessions of an app.

use std::time::Duration;

use super::cookie;
use super::encrypter::Encrypter;
use super::error::LaravelError;
use super::keys::{KeyLayout, Skeleton};
use super::payload::{Encoding, LaravelSession, UserId};
use crate::error::Result;
use crate::store::{RawKeys, Topology};
use std::collections::HashSet;

/// Keys per SCAN step by default ([`LaravelConfig::scan_batch`]).
pub const DEFAULT_SCAN_BATCH: usize = 500;

/// What a Laravel app's config says about its sessions. Made by [`LaravelConfig::new`] or
/// [`LaravelConfig::defaults`]; fields can be changed after, or set with the `with_*` methods.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LaravelConfig {
    /// `APP_KEY` (+ previous keys) and `app.cipher`.
    pub encrypter: Encrypter,
    /// `session.cookie` (`laravel_session`, `laravel-session`, ...).
    pub cookie_name: String,
    /// Where session ids live in Redis.
    pub keys: KeyLayout,
    /// How to store sessions created here (existing ones keep the encoding they were read with).
    pub new_session_encoding: Encoding,
    /// `session.lifetime`, for sessions created here (120 minutes in every skeleton).
    pub lifetime: Duration,
    /// Keys per SCAN step when looking for a user's sessions ([`LaravelStore::user_sessions`]):
    /// 500 by default, a few milliseconds of server time per step.
    pub scan_batch: usize,
}

impl LaravelConfig {
    /// A config with the skeleton's other defaults: plain php sessions, 120 minutes.
    pub fn new(encrypter: Encrypter, cookie_name: impl Into<String>, keys: KeyLayout) -> Self {
        LaravelConfig {
            encrypter,
            cookie_name: cookie_name.into(),
            keys,
            new_session_encoding: Encoding::default(),
            lifetime: Duration::from_secs(120 * 60),
            scan_batch: DEFAULT_SCAN_BATCH,
        }
    }

    /// Creating new sessions in `encoding` ([`new_session_encoding`](Self::new_session_encoding)).
    #[must_use]
    pub fn with_new_session_encoding(mut self, encoding: Encoding) -> Self {
        self.new_session_encoding = encoding;
        self
    }

    /// Creating new sessions with lifetime `lifetime` ([`lifetime`](Self::lifetime)).
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Looking for a user's sessions `batch` keys per SCAN step ([`scan_batch`](Self::scan_batch)).
    #[must_use]
    pub fn with_scan_batch(mut self, batch: usize) -> Self {
        self.scan_batch = batch.max(1);
        self
    }

    /// A config with the cookie name and key prefixes a new app of `skeleton` named `app_name`
    /// (`APP_NAME`) has by default (see [`Skeleton`]).
    pub fn defaults(encrypter: Encrypter, skeleton: Skeleton, app_name: &str) -> Result<Self> {
        Ok(LaravelConfig::new(
            encrypter,
            skeleton.default_cookie_name(app_name)?,
            skeleton.default_layout(app_name)?,
        ))
    }
}

/// A session as found in Redis.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSession {
    /// The 40-character session id.
    pub id: String,
    /// Its Redis key (prefixes + id).
    pub key: Vec<u8>,
    /// Seconds left before Redis expires it (`None`: no expiry set).
    pub ttl: Option<u64>,
    /// Size of the stored value in bytes.
    pub size: usize,
    /// The decoded session.
    pub session: LaravelSession,
}

impl StoredSession {
    /// Decode the Redis value read for session `id` under `key`, with the TTL Redis reported
    /// (negative: none), as every load of both stores does.
    pub(crate) fn decode(
        id: &str,
        key: Vec<u8>,
        value: &[u8],
        ttl: Option<i64>,
        encrypter: &Encrypter,
    ) -> Result<StoredSession> {
        Ok(StoredSession {
            id: id.to_owned(),
            key,
            ttl: ttl.and_then(|t| u64::try_from(t).ok()),
            size: value.len(),
            session: LaravelSession::from_cache_value(value, Some(encrypter))?,
        })
    }

    /// The id of the user logged in with the `web` guard, if any.
    pub fn web_user_id(&self) -> Option<UserId> {
        self.session.user_id("web")
    }
}

/// One key seen while listing sessions: the session, or why it could not be read (cache entries
/// share the prefix, so not every key is a session).
#[derive(Debug)]
pub struct ScanEntry {
    /// The Redis key.
    pub key: Vec<u8>,
    /// The session id part of the key (after the prefix), lossy UTF-8.
    pub id: String,
    /// TTL in seconds (`None`: no expiry).
    pub ttl: Option<u64>,
    /// Stored size in bytes.
    pub size: usize,
    /// The session, or the error that kept it from being one.
    pub session: Result<LaravelSession>,
}

/// What [`LaravelStore::scan`] reports as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScanEvent {
    /// A session key and what it holds.
    Session(ScanEntry),
    /// One SCAN step is done: the totals so far (for a progress display).
    Progress(ScanSummary),
}

/// Totals of a [`LaravelStore::scan`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Keys SCAN returned under the prefix.
    pub keys_seen: u64,
    /// Keys whose suffix is a Laravel session id (40 `[A-Za-z0-9]`) and that still existed.
    pub sessions: u64,
    /// Of those, the ones that did not decode.
    pub errors: u64,
}

/// One session of a user, from [`LaravelStore::user_sessions`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserSession {
    /// The 40-character session id.
    pub id: String,
    /// Its Redis key (prefixes + id).
    pub key: Vec<u8>,
    /// The user id as the session stores it (an int, or a string that reads as the same user).
    pub user: UserId,
    /// Seconds left before Redis expires it (`None`: no expiry set).
    pub ttl: Option<u64>,
    /// Size of the stored value in bytes (named as in [`crate::store::UserSession`]).
    pub bytes: usize,
    /// The Redis server holding it, for messages (`tcp://10.0.0.5:6379`).
    pub host: String,
}

/// Laravel sessions in one Redis (a `redis` save_path with one host, a `redis://` URL, a Sentinel
/// save_path, or a Redis Cluster for everything but listing).
pub struct LaravelStore {
    redis: RawKeys,
    config: LaravelConfig,
}

/// A Laravel Redis connection is one server: a save_path listing several hosts is refused.
pub(super) fn one_server(save_path: &str) -> Result<()> {
    let parsed = crate::save_path::SavePath::parse(save_path)?;
    if parsed.hosts.len() != 1 {
        return Err(LaravelError::Unsupported {
            what: format!(
                "the save_path names {} hosts; a Laravel Redis connection is one server",
                parsed.hosts.len()
            ),
        }
        .into());
    }
    Ok(())
}

impl LaravelStore {
    /// Connect lazily to the Redis named by a phpsess/phpredis save_path: `tcp://host:6379?database=0&auth=...`,
    /// `redis://...`, `unix:///path`, or `sentinel://h:p,h:p/master?...`. A Laravel connection is
    /// one server, so a list of several hosts is refused. The save_path's `prefix` is not used: keys
    /// come from [`LaravelConfig::keys`]; its `database`, `auth`, timeouts and TLS settings are.
    pub fn open(save_path: &str, config: LaravelConfig) -> Result<LaravelStore> {
        if !crate::save_path::SentinelSavePath::matches(save_path) {
            one_server(save_path)?;
        }
        Ok(LaravelStore::new(
            Topology::from_save_path(save_path)?,
            config,
        ))
    }

    /// Connect lazily to a Redis Cluster named by a `rediscluster` save_path (`seed[]=h:7000&...`).
    pub fn open_cluster(save_path: &str, config: LaravelConfig) -> Result<LaravelStore> {
        Ok(LaravelStore::new(
            Topology::from_cluster_save_path(save_path)?,
            config,
        ))
    }

    /// Over a topology built some other way (it should have a single host).
    pub fn new(topology: Topology, config: LaravelConfig) -> LaravelStore {
        LaravelStore {
            redis: RawKeys::new(topology),
            config,
        }
    }

    /// The config.
    pub fn config(&self) -> &LaravelConfig {
        &self.config
    }

    /// The session id in a session cookie value (URL-encoded or not).
    pub fn session_id_from_cookie(&self, cookie_value: &str) -> Result<String> {
        cookie::session_id_from_cookie(
            &self.config.encrypter,
            &self.config.cookie_name,
            cookie_value,
        )
    }

    /// A session cookie value for `id` (decoded form; [`cookie::url_encode`] for `Set-Cookie`).
    pub fn cookie_for(&self, id: &str) -> Result<String> {
        cookie::session_cookie_value(&self.config.encrypter, &self.config.cookie_name, id)
    }

    /// The Redis key of session `id`.
    pub fn key(&self, id: &str) -> Vec<u8> {
        self.config.keys.key(id)
    }

    /// Read session `id` (one round trip: GET + TTL). `Ok(None)` when it does not exist (Laravel
    /// would start an empty session).
    pub fn load(&mut self, id: &str) -> Result<Option<StoredSession>> {
        cookie::check_session_id(id)?;
        let key = self.key(id);
        let Some((value, ttl)) = self.redis.get_with_ttl(&key)? else {
            return Ok(None);
        };
        let stored = StoredSession::decode(id, key, &value, Some(ttl), &self.config.encrypter)?;
        Ok(Some(stored))
    }

    /// Read the session a cookie points at.
    pub fn load_from_cookie(&mut self, cookie_value: &str) -> Result<Option<StoredSession>> {
        let id = self.session_id_from_cookie(cookie_value)?;
        self.load(&id)
    }

    /// Write `stored.session` back under its key, encoded as it was read, keeping the TTL Redis
    /// has left (`SET ... XX KEEPTTL`, Redis 6.0+). Fails with [`LaravelError::Gone`], writing
    /// nothing, if the session expired or was destroyed meanwhile.
    pub fn save(&mut self, stored: &StoredSession) -> Result<()> {
        let value = stored
            .session
            .to_cache_value(Some(&self.config.encrypter))?;
        if self.redis.set_keep_ttl(&stored.key, &value)? {
            Ok(())
        } else {
            Err(LaravelError::Gone {
                key: String::from_utf8_lossy(&stored.key).into_owned(),
            }
            .into())
        }
    }

    /// Store a new session under a fresh id with the configured lifetime (`SETEX`, as Laravel);
    /// returns the id ([`cookie_for`](Self::cookie_for) makes its cookie).
    pub fn create(&mut self, session: &LaravelSession) -> Result<String> {
        let id = cookie::new_session_id()?;
        let value = session.to_cache_value(Some(&self.config.encrypter))?;
        let ttl = self.config.lifetime.as_secs().max(1);
        self.redis.set_with_ttl(&self.key(&id), &value, ttl)?;
        Ok(id)
    }

    /// List every session under the app's prefix: SCAN (`batch` keys per step), then GET + TTL for
    /// each step's keys in one round trip. Keys whose suffix is not a 40-character Laravel id
    /// (cache entries, locks) are counted but not reported. `on_event` gets each session (or its
    /// decode error), and the running totals after every SCAN step. SCAN's own guarantees apply:
    /// every session that exists for the whole scan is reported, one created or deleted meanwhile
    /// may or may not be, and a key may come twice if Redis resizes its table during the scan
    /// (nothing is kept in memory to filter that out). Not on Redis Cluster.
    pub fn scan(
        &mut self,
        batch: usize,
        mut on_event: impl FnMut(ScanEvent),
    ) -> Result<ScanSummary> {
        let pattern = self.config.keys.scan_pattern();
        let mut summary = ScanSummary::default();
        let mut cursor = 0u64;
        loop {
            let (next, keys) = self.redis.scan_step(cursor, &pattern, batch)?;
            summary.keys_seen += keys.len() as u64;
            let sessions: Vec<Vec<u8>> = keys
                .into_iter()
                .filter(|k| self.config.keys.id_of(k).is_some_and(is_session_id))
                .collect();
            if !sessions.is_empty() {
                let values = self.redis.get_many_with_ttl(&sessions)?;
                for (key, found) in sessions.into_iter().zip(values) {
                    let Some((value, ttl)) = found else { continue };
                    let session =
                        LaravelSession::from_cache_value(&value, Some(&self.config.encrypter));
                    summary.sessions += 1;
                    if session.is_err() {
                        summary.errors += 1;
                    }
                    let id = self
                        .config
                        .keys
                        .id_of(&key)
                        .map(|id| String::from_utf8_lossy(id).into_owned())
                        .unwrap_or_default();
                    let entry = ScanEntry {
                        key,
                        id,
                        ttl: u64::try_from(ttl).ok(),
                        size: value.len(),
                        session,
                    };
                    on_event(ScanEvent::Session(entry));
                }
            }
            on_event(ScanEvent::Progress(summary));
            if next == 0 {
                return Ok(summary);
            }
            cursor = next;
        }
    }

    /// The sessions in which `user` is logged in with `guard` (`web` for Laravel's default): those
    /// whose `login_<guard>_<sha1("Illuminate\Auth\SessionGuard")>` entry holds the user's id, as
    /// an int or as a string ([`UserId::same_user`]). Laravel keeps no index of a user's sessions,
    /// so this is a [`scan`](Self::scan) of the app's prefix ([`LaravelConfig::scan_batch`] keys a
    /// step); `on_progress` gets the running totals after each step, and the last call's totals are
    /// the whole scan's. Sessions that do not decode (a wrong or missing APP_KEY for encrypted
    /// sessions, a cache entry shaped like an id) are counted in those totals' `errors` and
    /// skipped. A session reported twice by SCAN is listed once. Not on Redis Cluster (see
    /// [`scan`](Self::scan)).
    pub fn user_sessions(
        &mut self,
        user: &UserId,
        guard: &str,
        mut on_progress: impl FnMut(ScanSummary),
    ) -> Result<Vec<UserSession>> {
        let batch = self.config.scan_batch.max(1);
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        self.scan(batch, |event| match event {
            ScanEvent::Session(entry) => {
                let Ok(session) = &entry.session else { return };
                // `user_id` is the one place that knows the guard's key (`login_key`).
                let Some(stored) = session.user_id(guard) else {
                    return;
                };
                if stored.same_user(user) && seen.insert(entry.key.clone()) {
                    found.push((entry.id, entry.key, stored, entry.ttl, entry.size));
                }
            }
            ScanEvent::Progress(summary) => on_progress(summary),
        })?;
        Ok(found
            .into_iter()
            .map(|(id, key, user, ttl, bytes)| UserSession {
                host: self.redis.host_of(&key),
                id,
                key,
                user,
                ttl,
                bytes,
            })
            .collect())
    }

    /// End every session of `user` with `guard` except the one with id `except` (the caller's own,
    /// for "log out my other devices"), and return the ids destroyed. Found as by
    /// [`user_sessions`](Self::user_sessions); each key is then deleted (`DEL`, pipelined per
    /// [`LaravelConfig::scan_batch`] keys), which is what Laravel's own logout does
    /// (`$request->session()->invalidate()` destroys the session in the handler). An id that was
    /// already gone when its turn came (expired, or logged out meanwhile) is not in the result.
    ///
    /// What this cannot stop, because Laravel has nothing to stop it with:
    /// - **Requests in flight.** Laravel's Redis sessions have no lock by default, and its session
    ///   write is an unconditional `SETEX` at the end of the request: a request that read a
    ///   session before it was deleted writes it back, still logged in, when it ends. There is no
    ///   key to remove that would refuse that write. A route using `->block()` takes a cache lock
    ///   (`session:<id>` in the block store), but the write does not check it; deleting that lock
    ///   would only let a queued request in early, so it is left to expire. Where it matters, run
    ///   this again once the app's longest request has had time to finish, or pair it with
    ///   Laravel's `Auth::logoutOtherDevices()` and the `AuthenticateSession` middleware, which
    ///   reject a session whose password hash is stale on its next request.
    /// - **"Remember me".** A device with a remember cookie logs itself back in on its next
    ///   request, through the user's `remember_token`; change that token in the database to end
    ///   those too (Laravel's `logout()` cycles it).
    pub fn destroy_user_sessions(
        &mut self,
        user: &UserId,
        guard: &str,
        except: Option<&str>,
        on_progress: impl FnMut(ScanSummary),
    ) -> Result<Vec<String>> {
        let targets: Vec<UserSession> = self
            .user_sessions(user, guard, on_progress)?
            .into_iter()
            .filter(|s| Some(s.id.as_str()) != except)
            .collect();
        let mut destroyed = Vec::with_capacity(targets.len());
        for chunk in targets.chunks(self.config.scan_batch.max(1)) {
            let keys: Vec<Vec<u8>> = chunk.iter().map(|s| s.key.clone()).collect();
            let gone = self.redis.delete_many(&keys)?;
            for (session, deleted) in chunk.iter().zip(gone) {
                if deleted {
                    destroyed.push(session.id.clone());
                }
            }
        }
        Ok(destroyed)
    }

    /// For a lookup that found nothing, where else the app's sessions might be: the index of the
    /// first of `layouts` under which Redis holds session `id` (one GET per layout), or with no
    /// id, any key whose suffix is a session id (a SCAN of the whole keyspace, stopping at the
    /// first such key; not on Redis Cluster). Lets a caller say "is this a Laravel 8 app?" rather
    /// than only "no session": the key layout changed between versions (see [`Skeleton`]).
    pub fn find_other_layout(
        &mut self,
        layouts: &[KeyLayout],
        id: Option<&str>,
    ) -> Result<Option<usize>> {
        if let Some(id) = id {
            for (i, layout) in layouts.iter().enumerate() {
                if self.redis.get_with_ttl(&layout.key(id))?.is_some() {
                    return Ok(Some(i));
                }
            }
            return Ok(None);
        }
        let mut cursor = 0u64;
        loop {
            let (next, keys) = self
                .redis
                .scan_step(cursor, b"*", self.config.scan_batch.max(1))?;
            for key in &keys {
                if let Some(i) = layouts
                    .iter()
                    .position(|l| l.id_of(key).is_some_and(is_session_id))
                {
                    return Ok(Some(i));
                }
            }
            if next == 0 {
                return Ok(None);
            }
            cursor = next;
        }
    }

    /// The raw-key layer underneath (its [`stats`](RawKeys::stats), say).
    pub fn raw_keys(&self) -> &RawKeys {
        &self.redis
    }
}

/// A key suffix that is a Laravel session id (40 `[A-Za-z0-9]`, `Str::random(40)`); other keys
/// under the prefix are the app's cache entries and locks.
fn is_session_id(suffix: &[u8]) -> bool {
    suffix.len() == cookie::SESSION_ID_LEN && suffix.iter().all(u8::is_ascii_alphanumeric)
}

impl std::fmt::Debug for LaravelStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaravelStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::laravel::{AppKey, Cipher};

    fn config() -> LaravelConfig {
        let key = AppKey::parse("base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=").unwrap();
        let enc = Encrypter::new(key, Cipher::Aes256Cbc).unwrap();
        LaravelConfig::defaults(enc, Skeleton::L11, "Laravel").unwrap()
    }

    #[test]
    fn opens_one_server_in_any_save_path_form() {
        for sp in [
            "tcp://127.0.0.1:6379",
            "tcp://127.0.0.1:6379?database=2&auth=pw",
            "redis://127.0.0.1:6379/3",
            "unix:///run/redis.sock",
            "sentinel://127.0.0.1:26379,127.0.0.1:26380/mymaster",
        ] {
            LaravelStore::open(sp, config()).unwrap_or_else(|e| panic!("{sp}: {e}"));
        }
        LaravelStore::open_cluster("seed[]=127.0.0.1:7000&seed[]=127.0.0.1:7001", config())
            .unwrap();
        let err =
            LaravelStore::open("tcp://10.0.0.1:6379, tcp://10.0.0.2:6379", config()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "laravel: unsupported: the save_path names 2 hosts; a Laravel Redis connection is one server"
        );
        let store = LaravelStore::open("tcp://127.0.0.1:6379", config()).unwrap();
        assert_eq!(
            store.key("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"),
            b"laravel_database_laravel_cache_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"
        );
        assert_eq!(store.config().cookie_name, "laravel_session");
    }
}
