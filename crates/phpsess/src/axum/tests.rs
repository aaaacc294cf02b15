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
        // Decoded as PHP decodes cookies: `%2F` is a `/`, which no id holds.
        (
            "GET",
            "/php/me",
            Some("PHPSESSID=abcdefghijklmnop%2Fqrstuvwxyz0123"),
        ),
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

/// A request's parts with these `Cookie` headers, each given as raw bytes.
fn parts_with_cookies(headers: &[&[u8]]) -> http::request::Parts {
    let mut request = Request::builder();
    for h in headers {
        request = request.header(
            http::header::COOKIE,
            http::HeaderValue::from_bytes(h).unwrap(),
        );
    }
    request.body(()).unwrap().into_parts().0
}

#[test]
fn the_session_cookie_is_found_as_php_finds_it() {
    // PHP's $_COOKIE (main/php_variables.c): pairs split at `;`, leading spaces dropped, the
    // first cookie of a name kept; the headers of a request (HTTP/2 sends one per cookie) in
    // order. Bytes outside visible ASCII in another cookie (a UTF-8 value a script set with
    // `document.cookie`) do not hide this one: browsers send them raw.
    let id = "abcdefghijklmnopqrstuvwxyz012345";
    let utf8 = format!("city=Z\u{fc}rich; PHPSESSID={id}");
    let latin1 = [b"city=Z\xfcrich; PHPSESSID=".as_slice(), id.as_bytes()].concat();
    let first = format!("PHPSESSID={id}; PHPSESSID=other");
    let prefixed = format!("PHPSESSIDX=other; XPHPSESSID=other; PHPSESSID={id}");
    let spaced = format!("  a=1 ;   PHPSESSID={id} ; b=2");
    let second_header = format!("PHPSESSID={id}");
    let cases: [(&[&[u8]], Option<&str>); 10] = [
        (&[utf8.as_bytes()], Some(id)),
        (&[&latin1], Some(id)),
        (&[first.as_bytes()], Some(id)),
        (&[prefixed.as_bytes()], Some(id)),
        (&[spaced.as_bytes()], Some(id)),
        (&[b"a=1", second_header.as_bytes()], Some(id)),
        (&[second_header.as_bytes(), b"PHPSESSID=other"], Some(id)),
        // A name with a space before its `=` is another name to PHP (`PHPSESSID_`).
        (&[b"PHPSESSID =other"], None),
        (&[b"PHPSESSID; =other; PHPSESSIDX=other"], None),
        (&[b""], None),
    ];
    for (headers, want) in cases {
        let parts = parts_with_cookies(headers);
        let found = super::config::cookie(&parts, "PHPSESSID");
        assert_eq!(
            found
                .map(|v| String::from_utf8_lossy(v).into_owned())
                .as_deref(),
            want,
            "{headers:?}"
        );
    }
    // A session cookie that is not text is found, and refused as no session id (a 401).
    let parts = parts_with_cookies(&[b"PHPSESSID=ab\xffcd"]);
    assert_eq!(
        super::config::cookie(&parts, "PHPSESSID"),
        Some(b"ab\xffcd".as_slice())
    );
}

#[tokio::test]
async fn a_cookie_of_non_ascii_bytes_beside_the_session_cookie_does_not_hide_it() {
    // Redis is not there: a found session cookie is a 503 (the read failed), a hidden one a 401.
    let app = app(config(closed_port()));
    let id = "abcdefghijklmnopqrstuvwxyz012345";
    let beside = format!("city=Z\u{fc}rich; PHPSESSID={id}");
    for path in ["/php/me", "/php/touch"] {
        let status = status_with_cookie(app.clone(), path, beside.as_bytes()).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path}");
    }
    // And a session cookie holding such bytes is a 401, not a 5xx.
    let status = status_with_cookie(app.clone(), "/php/me", b"PHPSESSID=ab\xffcd").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// A service over Laravel sessions whose Encrypter has `current` and `previous` keys.
fn laravel_app(port: u16, current: &str, previous: &[&str]) -> Router {
    let save_path = format!("tcp://127.0.0.1:{port}?timeout=0.5");
    let previous = previous.iter().map(|k| AppKey::parse(k).unwrap()).collect();
    let encrypter = Encrypter::new(AppKey::parse(current).unwrap(), Cipher::Aes256Cbc)
        .unwrap()
        .with_previous_keys(previous)
        .unwrap();
    let laravel = LaravelConfig::defaults(encrypter, Skeleton::L8, "Laravel").unwrap();
    app(SessionConfig::laravel(
        AsyncLaravelStore::open(&save_path, laravel).unwrap(),
    ))
}

async fn status_with_cookie(app: Router, path: &str, cookie: &[u8]) -> StatusCode {
    let method = if path.ends_with("touch") {
        "POST"
    } else {
        "GET"
    };
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(
            http::header::COOKIE,
            http::HeaderValue::from_bytes(cookie).unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn laravel_cookies_open_as_laravel_opens_them_and_tricks_do_not() {
    use crate::laravel::cookie::{session_cookie_value, url_encode};
    // Redis is not there: a cookie that opens is a 503 (the read failed), one that does not a 401.
    const OLD_KEY: &str = "base64:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    let port = closed_port();
    let rotated = laravel_app(port, APP_KEY, &[OLD_KEY]);
    let not_rotated = laravel_app(port, APP_KEY, &[]);
    let id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd";
    let old_encrypter = Encrypter::new(AppKey::parse(OLD_KEY).unwrap(), Cipher::Aes256Cbc).unwrap();
    let current = Encrypter::new(AppKey::parse(APP_KEY).unwrap(), Cipher::Aes256Cbc).unwrap();
    let old = session_cookie_value(&old_encrypter, "laravel_session", id).unwrap();
    let new = session_cookie_value(&current, "laravel_session", id).unwrap();
    // Every byte escaped, in lower-case hex: PHP decodes `$_COOKIE` so, and Laravel opens it.
    let all_escaped: String = new.bytes().map(|b| format!("%{b:02x}")).collect();
    // Escaped twice: PHP decodes once, and `%3D` is no base64.
    let twice = url_encode(&url_encode(&new));
    for path in ["/laravel/me", "/laravel/touch"] {
        let open = [
            format!("laravel_session={}", url_encode(&new)),
            format!("laravel_session={new}"),
            format!("laravel_session={all_escaped}"),
            format!("city=Z\u{fc}rich; laravel_session={}", url_encode(&new)),
            format!("laravel_sessionX=x; laravel_session={}", url_encode(&new)),
        ];
        for cookie in &open {
            let status = status_with_cookie(rotated.clone(), path, cookie.as_bytes()).await;
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{path} {cookie}");
        }
        // A cookie of the previous key (Laravel 11+ `APP_PREVIOUS_KEYS`) opens only where that
        // key is configured.
        let cookie = format!("laravel_session={}", url_encode(&old));
        let status = status_with_cookie(rotated.clone(), path, cookie.as_bytes()).await;
        assert_eq!(
            status,
            StatusCode::SERVICE_UNAVAILABLE,
            "{path} previous key"
        );
        let status = status_with_cookie(not_rotated.clone(), path, cookie.as_bytes()).await;
        assert_eq!(
            status,
            StatusCode::UNAUTHORIZED,
            "{path} previous key not configured"
        );
        let refused = [
            format!("laravel_session={twice}").into_bytes(),
            format!("laravel_session=\"{}\"", url_encode(&new)).into_bytes(),
            format!("laravel_session={}", &url_encode(&new)[..200]).into_bytes(),
            [
                b"laravel_session=".as_slice(),
                b"\xff",
                url_encode(&new).as_bytes(),
            ]
            .concat(),
            format!("laravel_session={}", "A".repeat(64 * 1024)).into_bytes(),
        ];
        for cookie in &refused {
            let status = status_with_cookie(rotated.clone(), path, cookie).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{path} {}",
                String::from_utf8_lossy(&cookie[..cookie.len().min(80)])
            );
        }
    }
}
