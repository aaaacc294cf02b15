//! The axum write-back extractor in process, against a real redis-server, where a request ends
//! other than by a handler returning: a handler that panics, a request dropped mid-way (client
//! gone), a second write-back extractor, a lock refused or lost, a session that does not decode,
//! an error response; and routes nested, merged and layered twice. Each checks what Redis holds
//! afterwards: the session as it was (or as changed, once) and no lock left behind.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::post;
use axum::Router;
use phpsess::axum::{PhpSessionMut, SessionConfig, SessionLayer};
use phpsess::store::{AsyncSessionStore, LockOptions, StoreOptions};
use phpsess_compat::servers::RedisServer;

use crate::async_store::runtime;
use redis::Commands;
use tower::ServiceExt;

const ID: &str = "axumextractorsession0123456789ab";
const DATA_KEY: &str = "PHPREDIS_SESSION:axumextractorsession0123456789ab";
const LOCK_KEY: &str = "PHPREDIS_SESSION:axumextractorsession0123456789ab_LOCK";

/// The service's configuration over `server`, with a lock wait short enough for a test and the
/// given lock TTL.
fn config(server: &RedisServer, lock_expire: Duration) -> SessionConfig {
    let options = StoreOptions::default().with_lock(
        LockOptions::default()
            .with_wait(Duration::from_millis(300))
            .with_expire(lock_expire),
    );
    let store =
        AsyncSessionStore::from_save_path(&format!("tcp://{}", server.addr()), options).unwrap();
    SessionConfig::php(store)
}

/// `n|i:<n>;`, the session every test starts from.
fn store_session(server: &RedisServer, n: i64) {
    let _: () = server
        .connection()
        .set_ex(DATA_KEY, format!("n|i:{n};"), 600)
        .unwrap();
}

fn stored(server: &RedisServer) -> Option<String> {
    server.connection().get(DATA_KEY).unwrap()
}

fn lock_holder(server: &RedisServer) -> Option<String> {
    server.connection().get(LOCK_KEY).unwrap()
}

/// The lock is gone within `within` (far less than its TTL: released, not expired).
fn assert_lock_released(server: &RedisServer, within: Duration, what: &str) {
    let started = Instant::now();
    while lock_holder(server).is_some() {
        assert!(
            started.elapsed() < within,
            "{what}: the lock is still held by {:?} after {within:?}",
            lock_holder(server)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn touch_request(path: &str) -> Request<Body> {
    Request::builder()
        .method("POST")
        .uri(path)
        .header(header::COOKIE, format!("PHPSESSID={ID}"))
        .body(Body::empty())
        .unwrap()
}

/// Adds one to `n`: the change each test looks for.
fn increment(session: &PhpSessionMut) {
    let n: i64 = session.get("n").unwrap().unwrap();
    session.insert("n", &(n + 1)).unwrap();
}

async fn increment_then_panic(session: PhpSessionMut) -> &'static str {
    increment(&session);
    panic!("the handler failed while holding the session");
}

#[test]
fn a_handler_that_panics_writes_nothing_and_gives_the_lock_back() {
    let server = RedisServer::start();
    store_session(&server, 1);
    let rt = runtime();
    let app = Router::new()
        .route("/touch", post(increment_then_panic))
        .layer(SessionLayer::new())
        .with_state(config(&server, Duration::from_secs(60)));
    // As axum::serve runs a connection: on a task of its own, which the panic ends.
    let outcome = rt.block_on(async {
        tokio::spawn(app.oneshot(touch_request("/touch")))
            .await
            .map(|_| ())
    });
    assert!(outcome.unwrap_err().is_panic());
    // Released by the lock's Drop (a task on the runtime), not left for its 60 s TTL: PHP
    // requests for the session would wait on it, then fail.
    assert_lock_released(&server, Duration::from_secs(2), "after a panic");
    assert_eq!(stored(&server).as_deref(), Some("n|i:1;"));
}

#[test]
fn a_request_dropped_mid_handler_writes_nothing_and_gives_the_lock_back() {
    let server = RedisServer::start();
    store_session(&server, 1);
    let rt = runtime();
    let (changed_tx, changed_rx) = tokio::sync::oneshot::channel::<()>();
    let changed_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(changed_tx)));
    let handler = move |session: PhpSessionMut| async move {
        increment(&session);
        if let Some(tx) = changed_tx.lock().unwrap().take() {
            let _ = tx.send(());
        }
        // A slow upstream: the client gives up first.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        "never"
    };
    let app = Router::new()
        .route("/touch", post(handler))
        .layer(SessionLayer::new())
        .with_state(config(&server, Duration::from_secs(60)));
    rt.block_on(async {
        let request = app.oneshot(touch_request("/touch"));
        tokio::select! {
            _ = request => panic!("the handler returned"),
            // The client disconnects: hyper drops the request's future.
            _ = changed_rx => {}
        }
    });
    assert_lock_released(
        &server,
        Duration::from_secs(2),
        "after the request was dropped",
    );
    assert_eq!(stored(&server).as_deref(), Some("n|i:1;"));
    drop(rt);
}

#[test]
fn an_error_response_after_a_change_still_writes_it_as_php_would() {
    // PHP writes `$_SESSION` at the end of every request, whatever its status (a 500 from
    // `http_response_code(500)`, an uncaught exception): so does the layer.
    let server = RedisServer::start();
    store_session(&server, 1);
    let rt = runtime();
    async fn fail(session: PhpSessionMut) -> (StatusCode, &'static str) {
        increment(&session);
        (StatusCode::INTERNAL_SERVER_ERROR, "failed after the change")
    }
    let app = Router::new()
        .route("/touch", post(fail))
        .layer(SessionLayer::new())
        .with_state(config(&server, Duration::from_secs(60)));
    let status =
        rt.block_on(async { app.oneshot(touch_request("/touch")).await.unwrap().status() });
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(stored(&server).as_deref(), Some("n|i:2;"));
    assert_eq!(lock_holder(&server), None);
}

#[test]
fn two_write_back_extractors_are_a_500_and_the_first_ones_lock_is_given_back_unchanged() {
    let server = RedisServer::start();
    store_session(&server, 1);
    let rt = runtime();
    async fn twice(a: PhpSessionMut, b: PhpSessionMut) -> &'static str {
        increment(&a);
        increment(&b);
        "twice"
    }
    let app = Router::new()
        .route("/touch", post(twice))
        .layer(SessionLayer::new())
        .with_state(config(&server, Duration::from_secs(60)));
    let started = Instant::now();
    let response = rt.block_on(async { app.oneshot(touch_request("/touch")).await.unwrap() });
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    // Not a lock wait on our own lock: the second extractor is refused before it asks Redis.
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(stored(&server).as_deref(), Some("n|i:1;"));
    assert_eq!(lock_holder(&server), None);
}

#[test]
fn nested_merged_and_doubly_layered_routes_write_back_once_each() {
    let server = RedisServer::start();
    store_session(&server, 0);
    let rt = runtime();
    async fn add(session: PhpSessionMut) -> &'static str {
        increment(&session);
        "added"
    }
    let nested = Router::new()
        .route("/touch", post(add))
        .layer(SessionLayer::new());
    let merged = Router::new()
        .route("/merged", post(add))
        .layer(SessionLayer::new());
    let app = Router::new()
        .route("/plain", post(add))
        .nest("/api", nested)
        .merge(merged)
        // Around everything, so the nested and merged routes are inside two layers.
        .layer(SessionLayer::new())
        .with_state(config(&server, Duration::from_secs(60)));
    let paths = ["/plain", "/api/touch", "/merged"];
    for (i, path) in paths.iter().enumerate() {
        let status = rt.block_on(async {
            app.clone()
                .oneshot(touch_request(path))
                .await
                .unwrap()
                .status()
        });
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            stored(&server),
            Some(format!("n|i:{};", i + 1)),
            "{path}: written once"
        );
        assert_eq!(lock_holder(&server), None, "{path}");
    }
}

async fn add_one(session: PhpSessionMut) -> &'static str {
    increment(&session);
    "added"
}

#[test]
fn a_lock_held_elsewhere_is_a_503_and_lets_no_write_through() {
    let server = RedisServer::start();
    store_session(&server, 1);
    // A PHP request holds the session.
    let _: () = server
        .connection()
        .set_ex(LOCK_KEY, "php-host|4242|held", 60)
        .unwrap();
    let rt = runtime();
    let app = Router::new()
        .route("/touch", post(add_one))
        .layer(SessionLayer::new())
        .with_state(config(&server, Duration::from_secs(60)));
    let response = rt.block_on(async { app.oneshot(touch_request("/touch")).await.unwrap() });
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = rt
        .block_on(axum::body::to_bytes(response.into_body(), 1 << 16))
        .unwrap();
    assert_eq!(&body[..], b"session store unavailable\n");
    assert_eq!(stored(&server).as_deref(), Some("n|i:1;"));
    // The holder's lock is untouched (our release is by our token).
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(lock_holder(&server).as_deref(), Some("php-host|4242|held"));
}

#[test]
fn a_lock_lost_during_the_handler_writes_nothing_over_the_new_holder() {
    let server = RedisServer::start();
    store_session(&server, 1);
    let rt = runtime();
    async fn slow(session: PhpSessionMut) -> &'static str {
        increment(&session);
        // Longer than the lock's TTL: another request takes the session meanwhile.
        tokio::time::sleep(Duration::from_millis(2500)).await;
        "slow"
    }
    let app = Router::new()
        .route("/touch", post(slow))
        .layer(SessionLayer::new())
        .with_state(config(&server, Duration::from_secs(1)));
    let request = rt.spawn(app.oneshot(touch_request("/touch")));
    // Our lock expires after 1 s; a PHP request takes it and writes its own data.
    let started = Instant::now();
    while lock_holder(&server).is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "the lock was never taken"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    while lock_holder(&server).is_some() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let _: () = server
        .connection()
        .set_ex(LOCK_KEY, "php-host|4242|next", 60)
        .unwrap();
    store_session(&server, 10);
    let response = rt.block_on(request).unwrap().unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(stored(&server).as_deref(), Some("n|i:10;"));
    assert_eq!(lock_holder(&server).as_deref(), Some("php-host|4242|next"));
}

#[test]
fn a_session_that_does_not_decode_is_a_401_and_stays_as_stored() {
    let server = RedisServer::start();
    // Not the `php` serialize handler's format (a `php_serialize` session, say).
    let _: () = server
        .connection()
        .set_ex(DATA_KEY, "a:1:{s:1:\"n\";i:1;}garbage", 600)
        .unwrap();
    let rt = runtime();
    let app = Router::new()
        .route("/touch", post(add_one))
        .layer(SessionLayer::new())
        .with_state(config(&server, Duration::from_secs(60)));
    let status =
        rt.block_on(async { app.oneshot(touch_request("/touch")).await.unwrap().status() });
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        stored(&server).as_deref(),
        Some("a:1:{s:1:\"n\";i:1;}garbage")
    );
    assert_lock_released(&server, Duration::from_secs(1), "after a refused session");
}
