//! axum extractors for the sessions of a PHP or Laravel app (feature `axum`): a Rust service
//! beside the app (an API, a websocket server, an upload service on the same domain) asks "who is
//! this request's user?" in one line, over the async store's shared connections.
//!
//! | extractor | reads | writes |
//! |---|---|---|
//! | [`PhpSession`] | one `GET`, no lock | never |
//! | [`PhpSessionMut`] | lock + `GET` (one round trip; waits in the lock queue like PHP) | when the handler returns: the fenced write (only while the lock is ours) or a TTL refresh, releasing the lock; after `destroy()` (a logout) the session destroyed instead |
//! | [`LaravelSession`] | cookie decrypted, one `GET`; checked in one pass that finds the `web` user, the tree built on first use | never |
//! | [`LaravelSessionMut`] | as [`LaravelSession`] | when the handler returns, if changed: `SET … XX KEEPTTL` |
//!
//! The extractors take their [`SessionConfig`] from the router's state (`with_state(config)`, or
//! `impl FromRef<AppState> for SessionConfig`). The write-back extractors also need a
//! [`SessionLayer`] around their routes: it performs the write-backs after the handler.
//! `Router::layer` wraps the routes added before it, so add the write-back routes, then the
//! layer, then the read-only routes, which are cheaper outside it. A missing, invalid, tampered
//! or unknown cookie is a [`SessionRejection`]: 401 with a fixed body (the status is
//! configurable); Redis failing is a 503; a write-back extractor outside the layer, or a kind of
//! session the configuration has no store for, is a 500; nothing internal is sent to the client.
//! To log why (host, Redis's words, the id shortened), take `Result<PhpSession,
//! SessionRejection>` and read [`SessionRejection::reason`].
//!
//! The store's options must be the PHP fleet's: [`crate::store::StoreOptions::with_ttl`] its
//! `session.gc_maxlifetime` (the TTL a write-back gives), `with_user_index(true)` when it sets
//! `phpsess.user_key` (so write-backs keep the user's index), and its compression, encryption
//! and hashed ids, as for the blocking store.
//!
//! A native PHP session (`PHPSESSID`, the user id in `$_SESSION['user_id']`):
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use phpsess::axum::{PhpSession, SessionConfig};
//! use phpsess::store::{AsyncSessionStore, StoreOptions};
//!
//! async fn me(session: PhpSession) -> String {
//!     match session.user_id() {
//!         Some(id) => format!("user {id}"),
//!         None => "not logged in".into(),
//!     }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = AsyncSessionStore::from_save_path("tcp://127.0.0.1:6379", StoreOptions::default())?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .with_state(SessionConfig::php(store).with_user_key("user_id"));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! Typed values through serde, and a change written back under PHP's lock (the PHP app sees it
//! on its next request; a PHP request holding the lock makes this one wait its turn):
//!
//! ```no_run
//! use axum::{routing::post, Router};
//! use phpsess::axum::{PhpSessionMut, SessionConfig, SessionLayer, SessionRejection};
//! use phpsess::store::{AsyncSessionStore, StoreOptions};
//!
//! #[derive(serde::Deserialize, serde::Serialize)]
//! struct Cart { items: Vec<String> }
//!
//! async fn add(session: PhpSessionMut) -> Result<&'static str, SessionRejection> {
//!     let mut cart: Cart = session.get("cart").ok().flatten().unwrap_or(Cart { items: vec![] });
//!     cart.items.push("book".into());
//!     let _ = session.insert("cart", &cart);
//!     Ok("added")
//! }
//!
//! # fn build(store: AsyncSessionStore) -> Router {
//! Router::new()
//!     .route("/cart", post(add))
//!     .layer(SessionLayer::new())
//!     .with_state(SessionConfig::php(store))
//! # }
//! ```
//!
//! A Laravel session (APP_KEY, cookie name and key prefix as `phpsess laravel show` takes them):
//!
//! ```no_run
//! use axum::{routing::get, Json, Router};
//! use phpsess::axum::{LaravelSession, SessionConfig};
//! use phpsess::laravel::{AppKey, AsyncLaravelStore, Cipher, Encrypter, LaravelConfig, Skeleton};
//!
//! async fn me(session: LaravelSession) -> Json<serde_json::Value> {
//!     let id = session.web_user_id().map(|id| id.to_string());
//!     let token: Option<String> = session.get("_token").ok().flatten();
//!     Json(serde_json::json!({ "user_id": id, "has_csrf": token.is_some() }))
//! }
//!
//! # fn build() -> phpsess::Result<Router> {
//! let key = AppKey::parse(&std::env::var("APP_KEY").unwrap_or_default())?;
//! let config = LaravelConfig::defaults(Encrypter::new(key, Cipher::Aes256Cbc)?, Skeleton::L8, "Laravel")?;
//! let store = AsyncLaravelStore::open("tcp://127.0.0.1:6379", config)?;
//! Ok(Router::new().route("/me", get(me)).with_state(SessionConfig::laravel(store)))
//! # }
//! ```
//!
//! The rejection's reason for the service's own logs, the client still getting the fixed answer:
//!
//! ```no_run
//! use axum::response::{IntoResponse, Response};
//! use phpsess::axum::{PhpSession, SessionRejection};
//!
//! async fn me(session: Result<PhpSession, SessionRejection>) -> Response {
//!     match session {
//!         Ok(session) => format!("{:?}", session.user_id()).into_response(),
//!         Err(rejection) => {
//!             eprintln!("no session: {}", rejection.reason());
//!             rejection.into_response()
//!         }
//!     }
//! }
//! ```
//!
//! And a Laravel session changed from Rust:
//!
//! ```no_run
//! use axum::{routing::post, Router};
//! use phpsess::axum::{LaravelSessionMut, SessionConfig, SessionLayer};
//! use phpsess::laravel::AsyncLaravelStore;
//!
//! async fn theme(session: LaravelSessionMut) -> &'static str {
//!     let _ = session.insert("theme", "dark");
//!     "saved"
//! }
//!
//! # fn build(store: AsyncLaravelStore) -> Router {
//! Router::new()
//!     .route("/theme", post(theme))
//!     .layer(SessionLayer::new())
//!     .with_state(SessionConfig::laravel(store))
//! # }
//! ```

mod config;
mod laravel;
mod php;
mod rejection;
#[cfg(test)]
mod tests;

pub use config::{SessionConfig, SessionLayer, SessionService, DEFAULT_PHP_COOKIE};
pub use laravel::{LaravelSession, LaravelSessionMut};
pub use php::{PhpSession, PhpSessionMut};
pub use rejection::{RejectionKind, SessionRejection};
