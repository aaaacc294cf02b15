//! [`LaravelSession`] (read-only) and [`LaravelSessionMut`] (write-back): the Laravel session of
//! the request's encrypted session cookie (decrypted with APP_KEY, prefix checked, then one
//! `GET` + `TTL`).

use axum_core::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::{cookie, write_back_slot, Pending, SessionConfig, WriteBackSlot};
use super::php::{store_error_kind, typed};
use super::rejection::{RejectionKind, SessionRejection};
use crate::laravel::{AsyncLaravelStore, LazySession, StoredSession, UserId};
use crate::{Error, Value};

/// The request's Laravel session, read-only: the cookie decrypted, the session read with one
/// `GET` (no lock: Laravel takes none) and decoded. Rejected (401 by default) for a missing, tampered,
/// wrongly-keyed or unknown cookie; 503 when Redis fails.
#[derive(Clone)]
pub struct LaravelSession {
    id: String,
    // Checked when extracted; the tree is built only if the handler asks for more than the
    // `web` user (a service asking "who is this?" on every request skips it).
    lazy: LazySession,
}

impl std::fmt::Debug for LaravelSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaravelSession")
            .field("id", &crate::store::short_session_id(&self.id))
            .finish_non_exhaustive()
    }
}

impl LaravelSession {
    /// The session id (40 characters).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The decoded session (attributes, flash data, CSRF token...), decoded on first use.
    pub fn session(&self) -> &crate::laravel::LaravelSession {
        self.lazy.session()
    }

    /// Attribute `key` as a `T` (through serde).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> crate::Result<Option<T>> {
        typed(self.session().get(key))
    }

    /// The id of the user logged in with `guard`.
    pub fn user_id(&self, guard: &str) -> Option<UserId> {
        self.session().user_id(guard)
    }

    /// The id of the user logged in with Laravel's default `web` guard (found when the
    /// session was read, without decoding the rest).
    pub fn web_user_id(&self) -> Option<UserId> {
        self.lazy.web_user_id()
    }
}

impl<S> FromRequestParts<S> for LaravelSession
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = SessionConfig::from_ref(state);
        let (store, id) = session_id(&config, parts)?;
        match store.load_lazy(&id).await {
            Ok(Some(lazy)) => Ok(LaravelSession { id, lazy }),
            Ok(None) => Err(config.reject(RejectionKind::UnknownSession, "no such session")),
            Err(e) => Err(load_error(&config, e)),
        }
    }
}

/// The request's Laravel session for changing: written back when the handler returns if an
/// attribute changed, keeping the TTL Redis has left (`SET … XX KEEPTTL`, as
/// [`crate::laravel::LaravelStore::save`]). Laravel itself takes no session lock, so there is
/// none to take here: a Laravel request running at the same time may overwrite the change, as
/// two Laravel requests would. Needs the [`super::SessionLayer`] around the route; a session that expired
/// meanwhile, or a failed write, makes the response a 503.
#[derive(Clone)]
pub struct LaravelSessionMut {
    id: String,
    slot: WriteBackSlot,
}

impl std::fmt::Debug for LaravelSessionMut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LaravelSessionMut")
            .field("id", &crate::store::short_session_id(&self.id))
            .finish_non_exhaustive()
    }
}

impl LaravelSessionMut {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn with<R>(&self, f: impl FnOnce(&mut StoredSession, &mut bool) -> R) -> Option<R> {
        let mut guard = self.slot.0.lock().ok()?;
        match guard.as_mut() {
            Some(Pending::Laravel {
                stored, changed, ..
            }) => Some(f(stored, changed)),
            _ => None,
        }
    }

    /// A copy of attribute `key`.
    pub fn value(&self, key: &str) -> Option<Value> {
        self.with(|s, _| s.session.get(key).cloned()).flatten()
    }

    /// Attribute `key` as a `T` (through serde).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> crate::Result<Option<T>> {
        typed(self.value(key).as_ref())
    }

    /// The id of the user logged in with the `web` guard.
    pub fn web_user_id(&self) -> Option<UserId> {
        self.with(|s, _| s.web_user_id()).flatten()
    }

    /// Set attribute `key` (dotted keys as Laravel's `put`).
    pub fn put(&self, key: &str, value: Value) {
        self.with(|s, changed| {
            s.session.put(key, value);
            *changed = true;
        });
    }

    /// Set attribute `key` to `value` turned into a PHP value through serde.
    pub fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> crate::Result<()> {
        self.put(key, crate::php_serde::to_value(value)?);
        Ok(())
    }

    /// Remove attribute `key`, returning it.
    pub fn forget(&self, key: &str) -> Option<Value> {
        self.with(|s, changed| {
            let old = s.session.forget(key);
            *changed |= old.is_some();
            old
        })
        .flatten()
    }
}

impl<S> FromRequestParts<S> for LaravelSessionMut
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = SessionConfig::from_ref(state);
        let slot = write_back_slot(&config, parts)?;
        let (store, id) = session_id(&config, parts)?;
        let stored = match store.load(&id).await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Err(config.reject(RejectionKind::UnknownSession, "no such session")),
            Err(e) => return Err(load_error(&config, e)),
        };
        if let Ok(mut pending) = slot.0.lock() {
            *pending = Some(Pending::Laravel {
                store: store.clone(),
                stored,
                changed: false,
            });
        }
        Ok(LaravelSessionMut { id, slot })
    }
}

/// The store and the session id of the request's cookie, every failure a rejection.
fn session_id<'c>(
    config: &'c SessionConfig,
    parts: &Parts,
) -> Result<(&'c AsyncLaravelStore, String), SessionRejection> {
    let Some(store) = config.settings().laravel.as_ref() else {
        return Err(config.reject(
            RejectionKind::Misconfigured,
            "no Laravel session store in the SessionConfig",
        ));
    };
    let Some(value) = cookie(parts, &store.config().cookie_name) else {
        return Err(config.reject(RejectionKind::MissingCookie, "no session cookie"));
    };
    // Base64 and `%XX` escapes on the wire: a value that is not even text opens no session.
    let value = std::str::from_utf8(value).map_err(|_| {
        config.reject(
            RejectionKind::InvalidCookie,
            "the session cookie does not open: it is not text",
        )
    })?;
    let id = store.session_id_from_cookie(value).map_err(|e| {
        config.reject(
            RejectionKind::InvalidCookie,
            format!("the session cookie does not open: {e}"),
        )
    })?;
    Ok((store, id))
}

/// The rejection for a session that could not be read: undecodable, or Redis failing.
fn load_error(config: &SessionConfig, e: Error) -> SessionRejection {
    match e {
        e @ Error::Laravel(_) => config.reject(
            RejectionKind::UnreadableSession,
            format!("the stored session does not decode: {e}"),
        ),
        e => config.reject(store_error_kind(&e), e.to_string()),
    }
}
