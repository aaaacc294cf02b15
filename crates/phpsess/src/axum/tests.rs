//! The extractors' answers that need no Redis: rejections for missing and hostile cookies, a
//! service set up wrong, and Redis unreachable. (Sessions really read and written back are in
//! `tests/tests/fleet/axum_service.rs`, against php-fpm, Laravel and redis-server.)

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use http::{Request, StatusCode};
use tower::ServiceExt;

use super::{
    LaravelSession, LaravelSessionMut, PhpSession, PhpSessionMut, SessionConfig, SessionLayer,
};
use crate::laravel::{AppKey, AsyncLaravelStore, Cipher, Encrypter, LaravelConfig, Skeleton};
use crate::store::{AsyncSessionStore, StoreOptions};

const APP_KEY: &str = "base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=";

/// A loopback port nothing listens on (bound, then let go).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn config(port: u16) -> SessionConfig {
    let save_path = format!("tcp://127.0.0.1:{port}?timeout=0.5");
    let php = AsyncSessionStore::from_save_path(&save_path, StoreOptions::default()).unwrap();
    let encrypter = Encrypter::new(AppKey::parse(APP_KEY).unwrap(), Cipher::Aes256Cbc).unwrap();
    let laravel = LaravelConfig::defaults(encrypter, Skeleton::L8, "Laravel").unwrap();
    SessionConfig::php(php)
        .with_laravel(AsyncLaravelStore::open(&save_path, laravel).unwrap())
        .with_user_key("user")
}

async fn php_me(session: PhpSession) -> String {
    format!("{:?}", session.user_id())
}
async fn php_touch(session: PhpSessionMut) -> &'static str {
    let _ = session.insert("n", &1);
    "touched"
}
async fn laravel_me(session: LaravelSession) -> String {
    format!("{:?}", session.web_user_id())
}
async fn laravel_touch(session: LaravelSessionMut) -> &'static str {
    let _ = session.insert("n", &1);
    "touched"
}

/// Read-only routes outside the layer, write-back routes inside it, and the same write-back
/// handlers outside it (a service set up wrong).
fn app(config: SessionConfig) -> Router {
    Router::new()
        .route("/php/touch", post(php_touch))
        .route("/laravel/touch", post(laravel_touch))
        .layer(SessionLayer::new())
        .route("/php/me", get(php_me))
        .route("/laravel/me", get(laravel_me))
        .route("/unlayered/php/touch", post(php_touch))
        .route("/unlayered/laravel/touch", post(laravel_touch))
        .with_state(config)
}

async fn call(app: Router, method: &str, path: &str, cookie: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(cookie) = cookie {
        request = request.header(http::header::COOKIE, cookie);
    }
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 16)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn missing_and_hostile_cookies_are_a_fixed_401_before_any_redis_command() {
    // Redis is not there: a rejection that needed it would be a 503.
    let app = app(config(closed_port()));
    let cases = [
        ("GET", "/php/me", None),
        ("GET", "/php/me", Some("PHPSESSID=has%20space")),
        ("GET", "/php/me", Some("PHPSESSID=a.b")),
        (
            "GET",
            "/php/me",
            Some(&*format!("PHPSESSID={}", "a".repeat(300))),
        ),
        ("POST", "/php/touch", None),
        ("POST", "/php/touch", Some("PHPSESSID=../../etc")),
        ("GET", "/laravel/me", None),
        ("GET", "/laravel/me", Some("laravel_session=eyJpdiI6IiJ9")),
        ("GET", "/laravel/me", Some("laravel_session=%%%")),
        (
            "POST",
            "/laravel/touch",
            Some("laravel_session=abc; PHPSESSID=x"),
        ),
    ];
    for (method, path, cookie) in cases {
        let (status, body) = call(app.clone(), method, path, cookie).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} {cookie:?}: {body}"
        );
        assert_eq!(body, "no valid session\n", "{method} {path} {cookie:?}");
    }
}

#[tokio::test]
async fn a_write_back_extractor_outside_the_layer_is_a_500_that_says_nothing_to_the_client() {
    let app = app(config(closed_port()));
    for path in ["/unlayered/php/touch", "/unlayered/laravel/touch"] {
        let (status, body) = call(app.clone(), "POST", path, Some("PHPSESSID=abc")).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {body}");
        assert_eq!(body, "session support is not configured\n", "{path}");
    }
}

#[tokio::test]
async fn the_rejection_names_the_missing_layer_for_the_logs() {
    let parts = Request::builder().body(()).unwrap().into_parts().0;
    let rejection = super::config::write_back_slot(&config(closed_port()), &parts)
        .err()
        .unwrap();
    assert_eq!(rejection.kind(), super::RejectionKind::Misconfigured);
    assert!(
        rejection.reason().contains("SessionLayer"),
        "{}",
        rejection.reason()
    );
}

#[tokio::test]
async fn an_extractor_whose_kind_of_store_is_not_configured_is_a_500() {
    let port = closed_port();
    let php_only = SessionConfig::php(
        AsyncSessionStore::from_save_path(
            &format!("tcp://127.0.0.1:{port}"),
            StoreOptions::default(),
        )
        .unwrap(),
    );
    let (status, body) = call(
        app(php_only),
        "GET",
        "/laravel/me",
        Some("laravel_session=x"),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
}

#[tokio::test]
async fn redis_unreachable_is_a_503_without_host_or_error_text() {
    let port = closed_port();
    let app = app(config(port));
    let id = "abcdefghijklmnopqrstuvwxyz012345";
    for (method, path) in [("GET", "/php/me"), ("POST", "/php/touch")] {
        let (status, body) =
            call(app.clone(), method, path, Some(&format!("PHPSESSID={id}"))).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{method} {path}: {body}"
        );
        assert_eq!(body, "session store unavailable\n");
        assert!(!body.contains(&port.to_string()) && !body.contains(id));
    }
}

#[tokio::test]
async fn configuration_is_shared_not_copied() {
    let a = config(closed_port()).with_cookie_name("SID");
    let b = a.clone();
    assert!(std::ptr::eq(a.settings(), b.settings()));
    // A builder call on a shared configuration changes only its own copy.
    let c = b.clone().with_cookie_name("OTHER");
    assert_eq!(a.settings().cookie_name, "SID");
    assert_eq!(c.settings().cookie_name, "OTHER");
}
