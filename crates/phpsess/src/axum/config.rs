//! [`SessionConfig`]: which stores, cookies and formats the extractors use, carried to them as
//! the router's state, and [`SessionLayer`], the tower layer that performs the write-back of a
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
/// handler and user key, and the status of a rejection. The extractors take it from the router's
/// state, as axum-extra's `PrivateCookieJar` takes its key: `Router::with_state(config)`, or a
/// state of your own with `impl FromRef<AppState> for SessionConfig`. Clone is one reference
/// count (the stores share their connections).
///
/// ```no_run
/// # async fn build() -> phpsess::Result<()> {
/// use axum::{extract::FromRef, routing::get, Router};
/// use phpsess::axum::{PhpSession, SessionConfig};
/// use phpsess::store::{AsyncSessionStore, StoreOptions};
///
/// #[derive(Clone)]
/// struct AppState {
///     sessions: SessionConfig,
///     // ... the service's own things
/// }
///
/// impl FromRef<AppState> for SessionConfig {
///     fn from_ref(state: &AppState) -> SessionConfig {
///         state.sessions.clone()
///     }
/// }
///
/// async fn me(session: PhpSession) -> String {
///     format!("{:?}", session.user_id())
/// }
///
/// let store = AsyncSessionStore::from_save_path("tcp://127.0.0.1:6379", StoreOptions::default())?;
/// let sessions = SessionConfig::php(store)
///     .with_cookie_name("PHPSESSID")
///     .with_user_key("user_id")
///     .with_rejection_status(http::StatusCode::FORBIDDEN);
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .with_state(AppState { sessions });
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SessionConfig {
    // Behind one Arc: the extractors take the configuration out of the state on every request.
    settings: Arc<Settings>,
}

/// The configuration's contents.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
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
        SessionConfig::empty().with_php(store)
    }

    /// For Laravel sessions in `store` (its config names the cookie, keys and APP_KEY).
    pub fn laravel(store: AsyncLaravelStore) -> Self {
        SessionConfig::empty().with_laravel(store)
    }

    fn empty() -> Self {
        SessionConfig {
            settings: Arc::new(Settings {
                php: None,
                cookie_name: DEFAULT_PHP_COOKIE.into(),
                format: Format::Php,
                user_key: None,
                laravel: None,
                rejection_status: StatusCode::UNAUTHORIZED,
            }),
        }
    }

    fn set(mut self, change: impl FnOnce(&mut Settings)) -> Self {
        change(Arc::make_mut(&mut self.settings));
        self
    }

    pub(crate) fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Also serving native PHP sessions from `store` (a service beside both kinds of app).
    #[must_use]
    pub fn with_php(self, store: AsyncSessionStore) -> Self {
        self.set(|s| s.php = Some(store))
    }

    /// Also serving Laravel sessions from `store`.
    #[must_use]
    pub fn with_laravel(self, store: AsyncLaravelStore) -> Self {
        self.set(|s| s.laravel = Some(store))
    }

    /// The native session cookie (`session.name`), `PHPSESSID` by default.
    #[must_use]
    pub fn with_cookie_name(self, name: impl Into<String>) -> Self {
        self.set(|s| s.cookie_name = name.into())
    }

    /// The native sessions' serialize handler (`session.serialize_handler`), `php` by default.
    #[must_use]
    pub fn with_format(self, format: Format) -> Self {
        self.set(|s| s.format = format)
    }

    /// The `$_SESSION` entry holding the logged-in user's id ([`super::PhpSession::user_id`]).
    #[must_use]
    pub fn with_user_key(self, key: impl Into<String>) -> Self {
        self.set(|s| s.user_key = Some(key.into()))
    }

    /// The status of a rejection for a missing, invalid or unknown session (401 by default).
    #[must_use]
    pub fn with_rejection_status(self, status: StatusCode) -> Self {
        self.set(|s| s.rejection_status = status)
    }

    pub(crate) fn reject(
        &self,
        kind: RejectionKind,
        reason: impl Into<String>,
    ) -> SessionRejection {
        let status = match kind {
            RejectionKind::StoreUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            RejectionKind::Misconfigured => StatusCode::INTERNAL_SERVER_ERROR,
            _ => self.settings.rejection_status,
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

/// Where a write-back extractor leaves its session for the layer; one per request.
#[derive(Clone, Default)]
pub(crate) struct WriteBackSlot(pub(crate) Arc<Mutex<Option<Pending>>>);

/// The tower layer that stores what the write-back extractors ([`super::PhpSessionMut`],
/// [`super::LaravelSessionMut`]) changed: after the handler returns and before the response
/// leaves (a failed write turns it into a 503). Routes using those extractors must be inside it;
/// the read-only ones do not need it, and a route outside it pays nothing for it.
///
/// ```no_run
/// use axum::{routing::{get, post}, Router};
/// use phpsess::axum::{PhpSession, PhpSessionMut, SessionConfig, SessionLayer};
///
/// async fn me(session: PhpSession) -> String { format!("{:?}", session.user_id()) }
/// async fn visit(session: PhpSessionMut) -> &'static str {
///     let _ = session.insert("visited", &true);
///     "noted"
/// }
///
/// # fn build(config: SessionConfig) -> Router {
/// Router::new()
///     .route("/visit", post(visit))
///     .layer(SessionLayer::new()) // the routes above: the write-backs
///     .route("/me", get(me))      // read-only: outside the layer
///     .with_state(config)
/// # }
/// ```
#[derive(Clone, Debug, Default)]
pub struct SessionLayer {
    _private: (),
}

impl SessionLayer {
    /// The layer (it needs no configuration: a pending write-back carries its store).
    pub fn new() -> Self {
        SessionLayer::default()
    }
}

impl<S> tower_layer::Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService { inner }
    }
}

/// The service [`SessionLayer`] wraps routes in.
#[derive(Clone, Debug)]
pub struct SessionService<S> {
    inner: S,
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
        request.extensions_mut().insert(slot.clone());
        // Called here, on the service that was polled ready; the future it returns owns what it
        // needs, so no clone of the inner service is made per request.
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            let pending = slot.0.lock().ok().and_then(|mut p| p.take());
            let Some(pending) = pending else {
                return Ok(response);
            };
            match write_back(pending).await {
                Ok(()) => Ok(response),
                Err(e) => Ok(SessionRejection::new(
                    RejectionKind::StoreUnavailable,
                    StatusCode::SERVICE_UNAVAILABLE,
                    e.to_string(),
                )
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

/// The request's write-back slot, for a write-back extractor: refused when no [`SessionLayer`]
/// put one in the request, or a write-back extractor of this request already holds it.
pub(crate) fn write_back_slot(
    config: &SessionConfig,
    parts: &http::request::Parts,
) -> Result<WriteBackSlot, SessionRejection> {
    let Some(slot) = parts.extensions.get::<WriteBackSlot>() else {
        return Err(config.reject(
            RejectionKind::Misconfigured,
            "no phpsess::axum::SessionLayer around this route (a write-back extractor needs it)",
        ));
    };
    if slot.0.lock().map(|p| p.is_some()).unwrap_or(true) {
        return Err(config.reject(
            RejectionKind::Misconfigured,
            "a second write-back extractor in one request",
        ));
    }
    Ok(slot.clone())
}

/// The value of cookie `name` in the request's `Cookie` headers (the first one, as PHP does), as
/// bytes: a header is read as bytes, not as text, because browsers send cookies that scripts set
/// (`document.cookie = "city=Zürich"`) as raw UTF-8, and such a cookie beside the session cookie
/// must not hide it (PHP finds it). The caller checks the value itself.
pub(crate) fn cookie<'a>(parts: &'a http::request::Parts, name: &str) -> Option<&'a [u8]> {
    parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .flat_map(|h| h.as_bytes().split(|&b| b == b';'))
        .filter_map(|pair| {
            let pair = pair.trim_ascii();
            let at = pair.iter().position(|&b| b == b'=')?;
            Some((&pair[..at], &pair[at + 1..]))
        })
        .find(|(n, _)| *n == name.as_bytes())
        .map(|(_, v)| v.trim_ascii())
}
