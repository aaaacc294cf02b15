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

/// Laravel sessions in one Redis (a `redis` save_path with one host, a `redis://` URL, a Sentinel
/// save_path, or a Redis Cluster for everything but listing).
pub struct LaravelStore {
    redis: RawKeys,
    config: LaravelConfig,
}

impl LaravelStore {
    /// Connect lazily to the Redis named by a phpsess/phpredis save_path: `tcp://host:6379?database=0&auth=...`,
    /// `redis://...`, `unix:///path`, or `sentinel://h:p,h:p/master?...`. A Laravel connection is
    /// one server, so a list of several hosts is refused. The save_path's `prefix` is not used: keys
    /// come from [`LaravelConfig::keys`]; its `database`, `auth`, timeouts and TLS settings are.
    pub fn open(save_path: &str, config: LaravelConfig) -> Result<LaravelStore> {
        if !crate::save_path::SentinelSavePath::matches(save_path) {
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
        let session = LaravelSession::from_cache_value(&value, Some(&self.config.encrypter))?;
        Ok(Some(StoredSession {
            id: id.to_owned(),
            key,
            ttl: u64::try_from(ttl).ok(),
            size: value.len(),
            session,
        }))
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
                .filter(|k| {
                    self.config.keys.id_of(k).is_some_and(|id| {
                        id.len() == cookie::SESSION_ID_LEN
                            && id.iter().all(u8::is_ascii_alphanumeric)
                    })
                })
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

    /// The raw-key layer underneath (its [`stats`](RawKeys::stats), say).
    pub fn raw_keys(&self) -> &RawKeys {
        &self.redis
    }
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
