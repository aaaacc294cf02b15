//! [`SessionConfig`]: which stores, cookies and formats the extractors use, and [`SessionLayer`],
//! the tower layer that hands the configuration to them and performs the write-back of a
//! session changed through a write-back extractor once the handler has returned.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum_core::response::{IntoResponse, Response};
use http::{Request, StatusCode};

use super::rejection::{RejectionKind, SessionRejection};
use crate::laravel::{AsyncLaravelStore, StoredSession};
use crate::session::Format;
use crate::store::{AsyncSessionStore, HeldSessionLock};
use crate::Array;

/// PHP's default session cookie name (`session.name`).
pub const DEFAULT_PHP_COOKIE: &str = "PHPSESSID";

/// What the extractors need: the stores, the cookie of native PHP sessions, its serialize
/// handler and user key, and the status of a rejection. Clone is cheap (the stores share their
/// connections).
///
/// ```no_run
/// # async fn build() -> phpsess::Result<()> {
/// use phpsess::axum::SessionConfig;
/// use phpsess::store::{AsyncSessionStore, StoreOptions};
/// let store = AsyncSessionStore::from_save_path("tcp://127.0.0.1:6379", StoreOptions::default())?;
/// let config = SessionConfig::php(store)
///     .with_cookie_name("PHPSESSID")
///     .with_user_key("user_id")
///     .with_rejection_status(http::StatusCode::FORBIDDEN);
/// let layer = config.layer();
/// # let _ = layer; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SessionConfig {
    pub(crate) php: Option<AsyncSessionStore>,
    pub(crate) cookie_name: String,
    pub(crate) format: Format,
    pub(crate) user_key: Option<String>,
    pub(crate) laravel: Option<AsyncLaravelStore>,
    pub(crate) rejection_status: StatusCode,
}

impl SessionConfig {
    /// For native PHP sessions in `store`: cookie `PHPSESSID`, serialize handler `php`, no user key.
    pub fn php(store: AsyncSessionStore) -> Self {
        SessionConfig {
            php: Some(store),
            ..SessionConfig::empty()
        }
    }

    /// For Laravel sessions in `store` (its config names the cookie, keys and APP_KEY).
    pub fn laravel(store: AsyncLaravelStore) -> Self {
        SessionConfig {
            laravel: Some(store),
            ..SessionConfig::empty()
        }
    }

    fn empty() -> Self {
        SessionConfig {
            php: None,
            cookie_name: DEFAULT_PHP_COOKIE.into(),
            format: Format::Php,
            user_key: None,
            laravel: None,
            rejection_status: StatusCode::UNAUTHORIZED,
        }
    }

    /// Also serving native PHP sessions from `store` (a service beside both kinds of app).
    #[must_use]
    pub fn with_php(mut self, store: AsyncSessionStore) -> Self {
        self.php = Some(store);
        self
    }

    /// Also serving Laravel sessions from `store`.
    #[must_use]
    pub fn with_laravel(mut self, store: AsyncLaravelStore) -> Self {
        self.laravel = Some(store);
        self
    }

    /// The native session cookie (`session.name`), `PHPSESSID` by default.
    #[must_use]
    pub fn with_cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }

    /// The native sessions' serialize handler (`session.serialize_handler`), `php` by default.
    #[must_use]
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }

    /// The `$_SESSION` entry holding the logged-in user's id ([`super::PhpSession::user_id`]).
    #[must_use]
    pub fn with_user_key(mut self, key: impl Into<String>) -> Self {
        self.user_key = Some(key.into());
        self
    }

    /// The status of a rejection for a missing, invalid or unknown session (401 by default).
    #[must_use]
    pub fn with_rejection_status(mut self, status: StatusCode) -> Self {
        self.rejection_status = status;
        self
    }

    /// The layer that carries this configuration to the extractors (`Router::layer`).
    pub fn layer(self) -> SessionLayer {
        SessionLayer {
            config: Arc::new(self),
        }
    }

    pub(crate) fn reject(
        &self,
        kind: RejectionKind,
        reason: impl Into<String>,
    ) -> SessionRejection {
        let status = match kind {
            RejectionKind::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            RejectionKind::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
            _ => self.rejection_status,
        };
        SessionRejection::new(kind, status, reason)
    }
}

/// A change to write back when the handler returns.
pub(crate) enum Pending {
    Php {
        store: AsyncSessionStore,
        lock: HeldSessionLock,
        format: Format,
        /// The bytes read: unchanged variables only refresh the TTL.
        original: Vec<u8>,
        vars: Array,
        /// [`super::PhpSessionMut::destroy`] was called: the session is destroyed, not written.
        destroy: bool,
    },
    Laravel {
        store: AsyncLaravelStore,
        stored: StoredSession,
        changed: bool,
    },
}

/// What the layer puts in each request for the extractors.
#[derive(Clone)]
struct InRequest {
    config: Arc<SessionConfig>,
    slot: WriteBackSlot,
}

/// Where a write-back extractor leaves its session for the layer; one per request.
#[derive(Clone, Default)]
pub(crate) struct WriteBackSlot(pub(crate) Arc<Mutex<Option<Pending>>>);

/// The tower layer of [`SessionConfig::layer`]. Routes whose handlers use an extractor of
/// [`crate::axum`] must be inside it; a write-back extractor's session is written after the
/// handler returns and before the response leaves (a failed write turns it into a 503).
#[derive(Clone, Debug)]
pub struct SessionLayer {
    config: Arc<SessionConfig>,
}

impl<S> tower_layer::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps routes in.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
    config: Arc<SessionConfig>,
}

impl<S, B> tower_service::Service<Request<B>> for SessionService<S>
where
    S: tower_service::Service<Request<B>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let slot = WriteBackSlot::default();
        // One extension for both (each insert is an allocation on every request).
        request.extensions_mut().insert(InRequest {
            config: self.config.clone(),
            slot: slot.clone(),
        });
        // Called here, on the service that was polled ready; the future it returns owns what it
        // needs, so no clone of the inner service is made per request.
        let response = self.inner.call(request);
        let config = self.config.clone();
        Box::pin(async move {
            let response = response.await?;
            let pending = slot.0.lock().ok().and_then(|mut p| p.take());
            let Some(pending) = pending else {
                return Ok(response);
            };
            match write_back(pending).await {
                Ok(()) => Ok(response),
                Err(e) => Ok(config
                    .reject(RejectionKind::StoreUnavailable, e.to_string())
                    .into_response()),
            }
        })
    }
}

/// Store what a write-back extractor changed: PHP sessions with the fenced write (or a TTL
/// refresh when nothing changed, or destroyed when the handler asked so), Laravel sessions
/// keeping their TTL.
async fn write_back(pending: Pending) -> crate::Result<()> {
    match pending {
        Pending::Php {
            store,
            lock,
            format,
            original,
            vars,
            destroy,
        } => {
            if destroy {
                return store.destroy(lock).await;
            }
            let data = crate::session::encode(&vars, format)?;
            if data == original {
                store.touch(lock).await
            } else {
                store.write(lock, &data).await
            }
        }
        Pending::Laravel {
            store,
            stored,
            changed,
        } => {
            if changed {
                store.save(&stored).await
            } else {
                Ok(())
            }
        }
    }
}

/// The configuration and write-back slot the layer put in the request, or a rejection.
pub(crate) fn from_parts(
    parts: &http::request::Parts,
) -> Result<(Arc<SessionConfig>, Option<WriteBackSlot>), SessionRejection> {
    match parts.extensions.get::<InRequest>() {
        Some(r) => Ok((r.config.clone(), Some(r.slot.clone()))),
        None => Err(SessionRejection::new(
            RejectionKind::Misconfigured,
            StatusCode::INTERNAL_SERVER_ERROR,
            "no phpsess::axum::SessionLayer around this route",
        )),
    }
}

/// The configuration and the request's write-back slot, for a write-back extractor: refused
/// when the slot is missing or a write-back extractor of this request already holds it.
pub(crate) fn write_back_slot(
    parts: &http::request::Parts,
) -> Result<(Arc<SessionConfig>, WriteBackSlot), SessionRejection> {
    let (config, slot) = from_parts(parts)?;
    let Some(slot) = slot else {
        return Err(config.reject(RejectionKind::Misconfigured, "no write-back slot"));
    };
    if slot.0.lock().map(|p| p.is_some()).unwrap_or(true) {
        return Err(config.reject(
            RejectionKind::Misconfigured,
            "a second write-back extractor in one request",
        ));
    }
    Ok((config, slot))
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one, as PHP does).
pub(crate) fn cookie<'a>(parts: &'a http::request::Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}
