//! [`PhpSession`] (read-only) and [`PhpSessionMut`] (write-back): the native PHP session of the
//! request's session cookie, as phpredis or phpsess stored it.

use axum_core::extract::{FromRef, FromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::config::{cookie, write_back_slot, Pending, SessionConfig, WriteBackSlot};
use super::rejection::{RejectionKind, SessionRejection};
use crate::laravel::UserId;
use crate::store::AsyncSessionStore;
use crate::{Array, Error, Value};

/// The request's PHP session, read without a lock and never written: one `GET`.
///
/// Rejected (401 by default) when the cookie is missing, is no valid session id, or names no
/// session; 503 when Redis fails. See [`crate::axum`] for a whole service.
#[derive(Clone)]
pub struct PhpSession {
    id: String,
    vars: Array,
    // For the user key: kept rather than the key copied out (a reference count, not an allocation).
    config: SessionConfig,
}

impl PhpSession {
    /// The session id (the cookie's value).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The session's variables (`$_SESSION`), in order.
    pub fn vars(&self) -> &Array {
        &self.vars
    }

    /// The variable `key` as PHP stored it.
    pub fn value(&self, key: &str) -> Option<&Value> {
        self.vars.get(key)
    }

    /// The variable `key` as a `T` (through serde): `Ok(None)` when it is not set, an error when
    /// it is set but is no `T`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> crate::Result<Option<T>> {
        typed(self.vars.get(key))
    }

    /// The logged-in user's id: the variable named by [`SessionConfig::with_user_key`], when it
    /// holds an int or a string.
    pub fn user_id(&self) -> Option<UserId> {
        user_id(&self.vars, self.config.settings().user_key.as_deref())
    }
}

impl<S> FromRequestParts<S> for PhpSession
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = SessionConfig::from_ref(state);
        let (store, id) = store_and_id(&config, parts)?;
        let data = match store.read(&id).await {
            Ok(Some(data)) => data,
            Ok(None) => {
                return Err(config.reject(RejectionKind::UnknownSession, "no such session"));
            }
            Err(e) => return Err(config.reject(store_error_kind(&e), e.to_string())),
        };
        let vars = decode(&config, &data)?;
        Ok(PhpSession { id, vars, config })
    }
}

/// The request's PHP session, locked for the request and written back when the handler
/// returns: with the fenced write (only while the lock is still ours) if a variable changed,
/// else a TTL refresh; either releases the lock (handing it to the next queued request, PHP or
/// Rust). Needs the [`super::SessionLayer`] around the route, which performs the write; a failed
/// write makes the response a 503. Waits for a lock another request holds as PHP would (the
/// store's [`crate::store::LockOptions`]); still held after the wait: 503.
///
/// Written whatever the response's status (an error response after a change still stores it),
/// as PHP writes `$_SESSION` at the end of every request. A handler that panics, or a request
/// dropped before its handler returns (the client gone, a timeout layer outside this one),
/// writes nothing: the lock is given back by its token from a task on the runtime. The write
/// happens when the handler returns: a change made later (the extractor moved into a spawned
/// task or a websocket) is not stored.
///
/// Or, after [`destroy`](Self::destroy) (a logout), the session is destroyed instead, as PHP's
/// `session_destroy()` would: deleted, its lock released, its user's index entry removed.
#[derive(Clone)]
pub struct PhpSessionMut {
    id: String,
    slot: WriteBackSlot,
    config: SessionConfig,
}

// Debug shows the id shortened: a whole session id in a log is a session anyone can take.
impl std::fmt::Debug for PhpSessionMut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhpSessionMut")
            .field("id", &crate::store::short_session_id(&self.id))
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PhpSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhpSession")
            .field("id", &crate::store::short_session_id(&self.id))
            .field("vars", &self.vars.len())
            .finish_non_exhaustive()
    }
}

impl PhpSessionMut {
    /// The session id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn with_vars<R>(&self, f: impl FnOnce(&mut Array) -> R) -> Option<R> {
        let mut guard = self.slot.0.lock().ok()?;
        match guard.as_mut() {
            Some(Pending::Php { vars, .. }) => Some(f(vars)),
            _ => None,
        }
    }

    /// A copy of the variable `key`.
    pub fn value(&self, key: &str) -> Option<Value> {
        self.with_vars(|v| v.get(key).cloned()).flatten()
    }

    /// The variable `key` as a `T` (through serde).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> crate::Result<Option<T>> {
        typed(self.value(key).as_ref())
    }

    /// The logged-in user's id, as [`PhpSession::user_id`].
    pub fn user_id(&self) -> Option<UserId> {
        self.with_vars(|v| user_id(v, self.config.settings().user_key.as_deref()))
            .flatten()
    }

    /// Set variable `key` to `value`.
    pub fn set(&self, key: &str, value: Value) {
        self.with_vars(|v| v.insert(key, value));
    }

    /// Set variable `key` to `value` turned into a PHP value through serde.
    pub fn insert<T: Serialize + ?Sized>(&self, key: &str, value: &T) -> crate::Result<()> {
        let value = crate::php_serde::to_value(value)?;
        self.set(key, value);
        Ok(())
    }

    /// Remove variable `key`, returning it.
    pub fn remove(&self, key: &str) -> Option<Value> {
        self.with_vars(|v| v.remove(key)).flatten()
    }

    /// End the session when the handler returns (a logout), as PHP's `session_destroy()`
    /// through phpsess: the layer destroys it instead of writing it back
    /// ([`crate::store::AsyncSessionStore::destroy`]: data and binding deleted, the lock
    /// released, the entry in its user's index removed); a failure makes the response a 503.
    /// Changes made before or after are not stored.
    ///
    /// As in PHP, the browser keeps its cookie until told otherwise: send
    /// [`expired_cookie`](Self::expired_cookie) with the response, or build the header yourself
    /// when the cookie has a path other than `/` or a domain.
    ///
    /// ```
    /// use axum::http::header::SET_COOKIE;
    /// use axum::response::IntoResponse;
    /// use axum::{routing::post, Router};
    /// use phpsess::axum::{PhpSessionMut, SessionConfig, SessionLayer};
    /// use phpsess::store::AsyncSessionStore;
    ///
    /// async fn logout(session: PhpSessionMut) -> impl IntoResponse {
    ///     session.destroy();
    ///     ([(SET_COOKIE, session.expired_cookie())], "logged out")
    /// }
    ///
    /// # fn build(store: AsyncSessionStore) -> Router {
    /// Router::new()
    ///     .route("/logout", post(logout))
    ///     .layer(SessionLayer::new())
    ///     .with_state(SessionConfig::php(store))
    /// # }
    /// ```
    pub fn destroy(&self) {
        if let Ok(mut guard) = self.slot.0.lock() {
            if let Some(Pending::Php { destroy, .. }) = guard.as_mut() {
                *destroy = true;
            }
        }
    }

    /// A `Set-Cookie` value that makes the browser drop the session cookie (path `/`, as PHP's
    /// default `session.cookie_path`), the one PHP's `setcookie(session_name(), '', …)` sends.
    pub fn expired_cookie(&self) -> http::HeaderValue {
        let value = format!(
            "{}=deleted; expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0; path=/",
            self.config.settings().cookie_name
        );
        // The name is one the request's `Cookie` header carried (visible ASCII), so this is a
        // valid header value; were it not, an empty `Set-Cookie` changes nothing in a browser.
        http::HeaderValue::from_str(&value).unwrap_or(http::HeaderValue::from_static(""))
    }
}

impl<S> FromRequestParts<S> for PhpSessionMut
where
    S: Send + Sync,
    SessionConfig: FromRef<S>,
{
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let config = SessionConfig::from_ref(state);
        let slot = write_back_slot(&config, parts)?;
        let (store, id) = store_and_id(&config, parts)?;
        let read = match store.read_locked(&id).await {
            Ok(read) => read,
            Err(e) => return Err(config.reject(store_error_kind(&e), e.to_string())),
        };
        let Some(original) = read.data else {
            // No session to change (this service does not create sessions): give the lock back.
            let _ = store.release(read.lock).await;
            return Err(config.reject(RejectionKind::UnknownSession, "no such session"));
        };
        let vars = match decode(&config, &original) {
            Ok(vars) => vars,
            Err(rejection) => {
                let _ = store.release(read.lock).await;
                return Err(rejection);
            }
        };
        if let Ok(mut pending) = slot.0.lock() {
            *pending = Some(Pending::Php {
                store: store.clone(),
                lock: read.lock,
                format: config.settings().format,
                original,
                vars,
                destroy: false,
            });
        }
        Ok(PhpSessionMut { id, slot, config })
    }
}

/// The native store and the id in the request's cookie, checked before any Redis command.
fn store_and_id<'c>(
    config: &'c SessionConfig,
    parts: &Parts,
) -> Result<(&'c AsyncSessionStore, String), SessionRejection> {
    let Some(store) = config.settings().php.as_ref() else {
        return Err(config.reject(
            RejectionKind::Misconfigured,
            "no native PHP session store in the SessionConfig",
        ));
    };
    let Some(raw) = cookie(parts, &config.settings().cookie_name) else {
        return Err(config.reject(RejectionKind::MissingCookie, "no session cookie"));
    };
    let invalid = |reason: &str| {
        config.reject(
            RejectionKind::InvalidCookie,
            format!("the session cookie is no session id: {reason}"),
        )
    };
    let raw = std::str::from_utf8(raw).map_err(|_| invalid("it is not text"))?;
    // PHP sends the id url-encoded (with session.sid_bits_per_character = 6 an id holds `,`,
    // which goes out as %2C) and decodes the cookie it gets back: so does this.
    let id = crate::laravel::cookie::url_decode(raw);
    if let Some(reason) = crate::store::invalid_id_reason(&id) {
        return Err(invalid(reason));
    }
    // Checked above to be ASCII: this does not fail.
    let id = String::from_utf8(id.into_owned()).map_err(|_| invalid("it is not text"))?;
    Ok((store, id))
}

fn decode(config: &SessionConfig, data: &[u8]) -> Result<Array, SessionRejection> {
    let format = config.settings().format;
    crate::session::decode(data, format).map_err(|e| {
        config.reject(
            RejectionKind::UnreadableSession,
            format!("the stored session does not decode as {format}: {e}"),
        )
    })
}

/// Errors of the store as rejections: a refused id is the client's (401), the rest Redis's (503).
pub(crate) fn store_error_kind(e: &Error) -> RejectionKind {
    match e {
        Error::InvalidId { .. } => RejectionKind::InvalidCookie,
        Error::SessionTooLarge { .. } => RejectionKind::UnreadableSession,
        _ => RejectionKind::StoreUnavailable,
    }
}

pub(crate) fn typed<T: DeserializeOwned>(value: Option<&Value>) -> crate::Result<Option<T>> {
    value.map(crate::php_serde::from_value).transpose()
}

fn user_id(vars: &Array, key: Option<&str>) -> Option<UserId> {
    match vars.get(key?)? {
        Value::Int(i) => Some(UserId::Int(*i)),
        Value::String(s) => std::str::from_utf8(s)
            .ok()
            .filter(|s| !s.is_empty())
            .map(|s| UserId::Str(s.to_owned())),
        _ => None,
    }
}
