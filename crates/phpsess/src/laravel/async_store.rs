//! [`AsyncLaravelStore`]: Laravel sessions in Redis for tokio services (features `tokio` and
//! `laravel`), over the async store's connections: find a session from its cookie, read it with
//! its TTL, write a change back keeping that TTL. The decisions (cookie, key layout, payload) are
//! the blocking [`super::LaravelStore`]'s own functions; only the I/O differs.

use super::cookie;
use super::error::LaravelError;
use super::store::{LaravelConfig, StoredSession};
use crate::error::Result;
use crate::store::{AsyncSessionStore, AsyncTopology, StoreOptions};

/// Laravel sessions in one Redis (or a Redis Cluster), for async code. `Clone` shares the
/// connection.
#[derive(Clone)]
pub struct AsyncLaravelStore {
    redis: AsyncSessionStore,
    config: std::sync::Arc<LaravelConfig>,
    /// The session cookie's value prefix under each key, computed once (not per cookie).
    prefixes: std::sync::Arc<Vec<String>>,
}

// Not derived: the prefixes are MACs under the APP_KEY, which nothing prints.
impl std::fmt::Debug for AsyncLaravelStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncLaravelStore")
            .field("redis", &self.redis)
            .field("cookie_name", &self.config.cookie_name)
            .finish_non_exhaustive()
    }
}

impl AsyncLaravelStore {
    /// Over the Redis named by a save_path (`tcp://h:6379?database=0&auth=…`, `redis://…`), as
    /// [`super::LaravelStore::open`]: one server; keys come from [`LaravelConfig::keys`].
    pub fn open(save_path: &str, config: LaravelConfig) -> Result<Self> {
        super::store::one_server(save_path)?;
        Ok(Self::new(
            AsyncSessionStore::new(
                AsyncTopology::from_save_path(save_path)?,
                StoreOptions::default(),
            )?,
            config,
        ))
    }

    /// Over a Redis Cluster named by a `rediscluster` save_path.
    pub fn open_cluster(save_path: &str, config: LaravelConfig) -> Result<Self> {
        Ok(Self::new(
            AsyncSessionStore::from_cluster_save_path(save_path, StoreOptions::default())?,
            config,
        ))
    }

    /// Over the connections of an existing async store (its raw-key layer: the first host, or
    /// the key's cluster node).
    pub fn new(redis: AsyncSessionStore, config: LaravelConfig) -> Self {
        let prefixes = config
            .encrypter
            .keys()
            .map(|key| cookie::cookie_prefix(&config.cookie_name, key))
            .collect();
        AsyncLaravelStore {
            redis,
            config: std::sync::Arc::new(config),
            prefixes: std::sync::Arc::new(prefixes),
        }
    }

    /// The config.
    pub fn config(&self) -> &LaravelConfig {
        &self.config
    }

    /// The async store underneath (for plain commands over the same connection).
    pub fn redis(&self) -> &AsyncSessionStore {
        &self.redis
    }

    /// The session id in a session cookie value (URL-encoded or not).
    pub fn session_id_from_cookie(&self, cookie_value: &str) -> Result<String> {
        cookie::session_id_from_cookie_with_prefixes(
            &self.config.encrypter,
            &self.config.cookie_name,
            &self.prefixes,
            cookie_value,
        )
    }

    /// Read session `id` (GET + TTL, one round trip). `Ok(None)` when it does not exist.
    pub async fn load(&self, id: &str) -> Result<Option<StoredSession>> {
        cookie::check_session_id(id)?;
        let key = self.config.keys.key(id);
        let Some((value, ttl)) = self.redis.get_raw_with_ttl(&key).await? else {
            return Ok(None);
        };
        let stored = StoredSession::decode(id, key, &value, Some(ttl), &self.config.encrypter)?;
        Ok(Some(stored))
    }

    /// Read session `id` with one `GET` and no `TTL` (`ttl` is `None`): what a read-only look
    /// needs, in the same single command as a plain `GET`.
    pub async fn load_without_ttl(&self, id: &str) -> Result<Option<StoredSession>> {
        cookie::check_session_id(id)?;
        let key = self.config.keys.key(id);
        let Some(value) = self.redis.get_raw(&key).await? else {
            return Ok(None);
        };
        let stored = StoredSession::decode(id, key, &value, None, &self.config.encrypter)?;
        Ok(Some(stored))
    }

    /// Read session `id` with one `GET`, checked as [`Self::load_without_ttl`] checks it but
    /// decoded only as far as the `web` guard's user (the read-only extractor).
    #[cfg(feature = "axum")]
    pub(crate) async fn load_lazy(&self, id: &str) -> Result<Option<super::LazySession>> {
        cookie::check_session_id(id)?;
        let key = self.config.keys.key(id);
        let Some(value) = self.redis.get_raw(&key).await? else {
            return Ok(None);
        };
        Ok(Some(super::LazySession::from_cache_value(
            value,
            Some(&self.config.encrypter),
        )?))
    }

    /// Read the session a cookie points at.
    pub async fn load_from_cookie(&self, cookie_value: &str) -> Result<Option<StoredSession>> {
        let id = self.session_id_from_cookie(cookie_value)?;
        self.load(&id).await
    }

    /// Write `stored.session` back, encoded as it was read, keeping the TTL Redis has left
    /// (`SET … XX KEEPTTL`); [`LaravelError::Gone`] when it expired or was destroyed meanwhile.
    pub async fn save(&self, stored: &StoredSession) -> Result<()> {
        let value = stored
            .session
            .to_cache_value(Some(&self.config.encrypter))?;
        if self.redis.set_raw_keep_ttl(&stored.key, &value).await? {
            Ok(())
        } else {
            Err(LaravelError::Gone {
                key: String::from_utf8_lossy(&stored.key).into_owned(),
            }
            .into())
        }
    }
}
