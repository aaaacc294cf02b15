//! `phpsess-axum-example`: a small axum service that shares a PHP or Laravel app's sessions
//! through phpsess's extractors. `GET /me` answers `{"user_id": …}` for a logged-in session and
//! 401 otherwise; `GET /baseline?key=K` does one plain `GET K` over the same Redis connection (the
//! benchmark's anchor); `POST /touch` (native sessions) writes `$_SESSION['rust_count']` back
//! under the lock; `POST /logout` (native sessions) destroys the session and clears the cookie.
//! Thin on purpose: everything it does is in `phpsess::axum`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use axum::extract::{FromRef, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use clap::Parser;
use phpsess::axum::{
    LaravelSession, LaravelSessionMut, PhpSession, PhpSessionMut, SessionConfig, SessionLayer,
};
use phpsess::laravel::{
    AppKey, AsyncLaravelStore, Cipher, Encrypter, KeyLayout, LaravelConfig, Skeleton,
};
use phpsess::store::{AsyncSessionStore, AsyncTopology, StoreOptions};
use serde_json::json;

/// An axum service reading a PHP or Laravel app's sessions from Redis.
#[derive(Debug, Parser)]
#[command(name = "phpsess-axum-example", version)]
struct Args {
    /// Address to listen on (`127.0.0.1:8080`).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// The Redis holding the sessions, as a phpredis save_path (`tcp://127.0.0.1:6379`), or with
    /// --cluster a `seed[]=h:7000&…` one.
    #[arg(long, value_name = "SAVE_PATH")]
    save_path: String,
    /// The Redis is a cluster.
    #[arg(long)]
    cluster: bool,
    /// Laravel: `APP_KEY` (`base64:…`); also read from the APP_KEY environment variable unless
    /// --php-user-key is given.
    #[arg(long, value_name = "KEY")]
    app_key: Option<String>,
    /// Laravel: the version whose default prefixes and cookie name apply (8, 9, 10, 11, 12, 12.1, 13).
    #[arg(long, value_name = "N", requires = "app_name")]
    laravel_version: Option<String>,
    /// Laravel: `APP_NAME`, from which those defaults are derived.
    #[arg(long, value_name = "NAME", requires = "laravel_version")]
    app_name: Option<String>,
    /// Laravel: the whole key prefix before the session id (overrides the version's default).
    #[arg(long, value_name = "FULL_KEY_PREFIX")]
    prefix: Option<String>,
    /// Native PHP sessions: the `$_SESSION` entry holding the user id.
    #[arg(long, value_name = "KEY", conflicts_with = "app_key")]
    php_user_key: Option<String>,
    /// The session cookie's name (native: `PHPSESSID` by default; Laravel: the version's default).
    #[arg(long, value_name = "NAME")]
    cookie_name: Option<String>,
    /// Native PHP sessions: the TTL a write-back gives the session, the PHP fleet's
    /// `session.gc_maxlifetime`.
    #[arg(long, value_name = "SECONDS", default_value_t = 1440)]
    ttl: u64,
    /// Native PHP sessions: keep phpsess's per-user index on write-backs, as a fleet with
    /// `phpsess.user_key` set does (the binding and the user's index refreshed with the session).
    #[arg(long)]
    user_index: bool,
}

/// The router's state: the extractors' configuration, and the raw store the baseline reads with.
#[derive(Clone)]
struct AppState {
    sessions: SessionConfig,
    redis: AsyncSessionStore,
}

impl FromRef<AppState> for SessionConfig {
    fn from_ref(state: &AppState) -> SessionConfig {
        state.sessions.clone()
    }
}

impl FromRef<AppState> for AsyncSessionStore {
    fn from_ref(state: &AppState) -> AsyncSessionStore {
        state.redis.clone()
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("phpsess-axum-example: {e:#}");
            ExitCode::from(2)
        }
    }
}

#[tokio::main]
async fn run() -> Result<()> {
    let mut args = Args::parse();
    // APP_KEY from the environment only where it can mean Laravel: a shell that exports it for
    // the app must not turn a native service into a refused command line.
    if args.app_key.is_none() && args.php_user_key.is_none() {
        args.app_key = std::env::var("APP_KEY").ok().filter(|k| !k.is_empty());
    }
    let (config, raw) = if let Some(key) = &args.app_key {
        let store = laravel_store(&args, key)?;
        let raw = store.redis().clone();
        (SessionConfig::laravel(store), raw)
    } else if let Some(user_key) = &args.php_user_key {
        let topology = if args.cluster {
            AsyncTopology::from_cluster_save_path(&args.save_path)
        } else {
            AsyncTopology::from_save_path(&args.save_path)
        }
        .context("--save-path")?;
        let options = StoreOptions::default()
            .with_ttl(std::time::Duration::from_secs(args.ttl))
            .with_user_index(args.user_index);
        let store = AsyncSessionStore::new(topology, options)?;
        let mut config = SessionConfig::php(store.clone()).with_user_key(user_key);
        if let Some(name) = &args.cookie_name {
            config = config.with_cookie_name(name);
        }
        (config, store)
    } else {
        bail!(
            "give --app-key (or APP_KEY) for Laravel sessions, or --php-user-key for native ones"
        );
    };
    let (me, touch) = if args.app_key.is_some() {
        (get(me_laravel), post(touch_laravel))
    } else {
        (get(me_php), post(touch_php))
    };
    // The write-back routes inside the layer that stores their changes; the read-only ones
    // outside it, where it would cost a few allocations per request for nothing.
    let mut writes = Router::new().route("/touch", touch);
    if args.app_key.is_none() {
        writes = writes.route("/logout", post(logout_php));
    }
    let app = writes
        .layer(SessionLayer::new())
        .route("/me", me)
        .route("/baseline", get(baseline))
        .with_state(AppState {
            sessions: config,
            redis: raw,
        });
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    eprintln!("phpsess-axum-example: listening on {}", args.listen);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The Laravel store the flags describe, as `phpsess laravel show` reads them.
fn laravel_store(args: &Args, app_key: &str) -> Result<AsyncLaravelStore> {
    let key = AppKey::parse(app_key).context("--app-key")?;
    let encrypter = Encrypter::new(key, Cipher::Aes256Cbc)?;
    // As `phpsess laravel show`: the version's defaults, or a bare prefix with Laravel's
    // historical cookie name; --prefix and --cookie-name override either.
    let mut config = match (&args.laravel_version, &args.app_name, &args.prefix) {
        (Some(version), Some(name), _) => {
            let skeleton: Skeleton = version.parse().context("--laravel-version")?;
            LaravelConfig::defaults(encrypter, skeleton, name)?
        }
        (_, _, Some(prefix)) => LaravelConfig::new(
            encrypter,
            "laravel_session",
            KeyLayout::from_full_prefix(prefix.as_bytes().to_vec()),
        ),
        _ => bail!(
            "give --laravel-version with --app-name, or --prefix, to say where the sessions are"
        ),
    };
    if let Some(prefix) = &args.prefix {
        config.keys = KeyLayout::from_full_prefix(prefix.as_bytes().to_vec());
    }
    if let Some(cookie) = &args.cookie_name {
        config.cookie_name = cookie.clone();
    }
    let store = if args.cluster {
        AsyncLaravelStore::open_cluster(&args.save_path, config)
    } else {
        AsyncLaravelStore::open(&args.save_path, config)
    };
    store.context("--save-path")
}

async fn me_laravel(session: LaravelSession) -> Response {
    user_response(session.web_user_id())
}

async fn me_php(session: PhpSession) -> Response {
    user_response(session.user_id())
}

fn user_response(user: Option<phpsess::laravel::UserId>) -> Response {
    match user {
        Some(phpsess::laravel::UserId::Int(id)) => Json(json!({ "user_id": id })).into_response(),
        Some(phpsess::laravel::UserId::Str(id)) => Json(json!({ "user_id": id })).into_response(),
        None => (StatusCode::UNAUTHORIZED, "not logged in\n").into_response(),
    }
}

/// Native sessions: count this service's visits in the session, written back under the lock.
async fn touch_php(session: PhpSessionMut) -> Response {
    let seen: i64 = session.get("rust_count").ok().flatten().unwrap_or(0);
    if session.insert("rust_count", &(seen + 1)).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Json(json!({ "rust_count": seen + 1 })).into_response()
}

/// Native sessions: log out, as PHP's `session_destroy()` plus the cookie's removal.
async fn logout_php(session: PhpSessionMut) -> Response {
    session.destroy();
    (
        [(axum::http::header::SET_COOKIE, session.expired_cookie())],
        Json(json!({ "logged_out": true })),
    )
        .into_response()
}

/// Laravel sessions: the same counter, written back keeping the session's TTL.
async fn touch_laravel(session: LaravelSessionMut) -> Response {
    let seen: i64 = session.get("rust_count").ok().flatten().unwrap_or(0);
    if session.insert("rust_count", &(seen + 1)).is_err() {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    Json(json!({ "rust_count": seen + 1 })).into_response()
}

#[derive(serde::Deserialize)]
struct BaselineQuery {
    key: String,
}

/// One plain `GET` of a key over the store's connection: the benchmark's anchor.
async fn baseline(
    State(store): State<AsyncSessionStore>,
    Query(q): Query<BaselineQuery>,
) -> Response {
    match store.get_raw(q.key.as_bytes()).await {
        Ok(Some(value)) => Json(json!({ "bytes": value.len() })).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
