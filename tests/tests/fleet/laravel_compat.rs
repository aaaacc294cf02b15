//! Laravel 8.83 (Debian's php-laravel-framework) for real, against a redis-server of our own: the
//! app in `tests/laravel/app.php` runs requests through the real EncryptCookies -> StartSession
//! middleware with the Redis session store over phpredis and logs a user in with SessionGuard;
//! Rust takes the cookie Laravel set, finds and reads the session, writes a change keeping the TTL,
//! and Laravel's next request sees it. Plain, `session.encrypt = true`, and AES-256-GCM.

use std::path::PathBuf;
use std::process::Command;

use phpsess::laravel::{
    cookie, AppKey, Cipher, Encoding, Encrypter, LaravelConfig, LaravelError, LaravelSession,
    LaravelStore, ScanEvent, Serialization, Skeleton, UserId,
};
use phpsess::{Error, Value};
use phpsess_compat::fixtures::workspace_root;
use phpsess_compat::php::php_binary;
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::{json, Value as Json};

pub(crate) const APP_KEY: &str = "base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=";
/// A 16-byte key for the AES-128 ciphers (the first 16 bytes of sha256("laravel-session-spec-128")).
const APP_KEY_128: &str = "base64:BaBAJlO7ojpTgUyostkuJA==";

/// One app configuration.
#[derive(Clone, Copy)]
struct App {
    key: &'static str,
    cipher: Cipher,
    encrypt: bool,
}

const CBC_PLAIN: App = App {
    key: APP_KEY,
    cipher: Cipher::Aes256Cbc,
    encrypt: false,
};
/// Where the app's 8.x-skeleton config puts sessions (APP_NAME=Laravel).
pub(crate) const PREFIX: &str = "laravel_database_laravel_cache:";

fn app_script() -> PathBuf {
    workspace_root().join("tests/laravel/app.php")
}

/// One request through the Laravel app. PHP runs with Debian's php.ini and conf.d (phpredis,
/// igbinary, mbstring), with assertions on.
fn laravel(port: u16, app: App, action: &str, cookie: Option<&str>) -> Json {
    run_app(&json!({
        "port": port,
        "app_key": app.key,
        "cipher": app.cipher.name(),
        "encrypt": app.encrypt,
        "action": action,
        "cookie": cookie,
    }))
}

/// Runs `tests/laravel/app.php` with `request` (its fields are listed at the top of app.php) and
/// returns what it printed; panics with its output if it fails.
pub(crate) fn run_app(request: &Json) -> Json {
    let out = Command::new(php_binary())
        .args(["-d", "zend.assertions=1", "-d", "assert.exception=1"])
        .arg(app_script())
        .arg(request.to_string())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (PHP 8.2 CLI needed): {e}",
                php_binary().display()
            )
        });
    assert!(
        out.status.success(),
        "Laravel app failed ({}) for {request}:\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "app output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

pub(crate) fn text<'a>(j: &'a Json, field: &str) -> &'a str {
    j[field]
        .as_str()
        .unwrap_or_else(|| panic!("no string {field} in {j}"))
}

fn store_for(server: &RedisServer, app: App) -> LaravelStore {
    let encrypter = Encrypter::new(AppKey::parse(app.key).unwrap(), app.cipher).unwrap();
    let config = LaravelConfig::defaults(encrypter, Skeleton::L8, "Laravel").unwrap();
    LaravelStore::open(&format!("tcp://127.0.0.1:{}", server.port()), config).unwrap()
}

/// The whole loop for one configuration.
fn laravel_and_rust_share_a_session(app: App) {
    let encrypt = app.encrypt;
    let server = RedisServer::start();
    let port = server.port();
    let mut redis = server.connection();

    // 1. Laravel logs user 42 in and sets the session cookie.
    let login = laravel(port, app, "login", None);
    assert_eq!(login["seen"]["user_id"], 42);
    let laravel_id = text(&login, "session_id");
    let cookie_value = text(&login, "cookie");
    let set_cookie = text(&login, "set_cookie");

    // 2. Rust: cookie -> id (decoded form and wire form) -> key -> session.
    let mut store = store_for(&server, app);
    let id = store.session_id_from_cookie(cookie_value).unwrap();
    assert_eq!(id, laravel_id);
    let wire = set_cookie
        .strip_prefix("laravel_session=")
        .and_then(|s| s.split(';').next())
        .unwrap();
    assert_eq!(store.session_id_from_cookie(wire).unwrap(), id);
    let key = format!("{PREFIX}{id}");
    assert_eq!(store.key(&id), key.as_bytes());
    let keys: Vec<String> = redis.keys("*").unwrap();
    assert_eq!(
        keys,
        vec![key.clone()],
        "Laravel wrote exactly one key, the one we compute"
    );

    let mut stored = store
        .load_from_cookie(wire)
        .unwrap()
        .expect("session exists");
    assert_eq!(stored.id, id);
    let ttl = stored.ttl.expect("Laravel sets an expiry");
    assert!((7190..=7200).contains(&ttl), "ttl {ttl}");
    let s = &stored.session;
    assert_eq!(
        s.encoding(),
        Encoding {
            encrypted: encrypt,
            serialization: Serialization::Php
        }
    );
    assert_eq!(s.user_id("web"), Some(UserId::Int(42)));
    assert_eq!(stored.web_user_id(), Some(UserId::Int(42)));
    assert_eq!(s.csrf_token(), Some(text(&login["seen"], "token")));
    assert_eq!(s.previous_url(), Some("http://localhost/home"));
    assert_eq!(s.get("from_php"), Some(&Value::string(b"hello".to_vec())));
    let raw: Vec<u8> = redis.get(&key).unwrap();
    assert_eq!(stored.size, raw.len());
    if !encrypt {
        // Our encoding of what we read is Laravel's bytes exactly.
        assert_eq!(s.to_cache_value(None).unwrap(), raw);
    }

    // 3. Rust writes a change. A shorter TTL first, so that keeping it is visible.
    let _: () = redis.expire(&key, 5000).unwrap();
    stored.session.put(
        "rust_note",
        Value::string("written by rust \u{e9}".as_bytes()),
    );
    stored.session.put("rust_count", Value::Int(7));
    stored
        .session
        .flash("status", Value::string(b"saved".to_vec()));
    store.save(&stored).unwrap();
    let ttl_after: i64 = redis.ttl(&key).unwrap();
    assert!(
        (4990..=5000).contains(&ttl_after),
        "TTL kept, got {ttl_after}"
    );

    // 4. Laravel's next request sees it (and the flash), through the cookie it set.
    let next = laravel(port, app, "show", Some(cookie_value));
    let seen = &next["seen"];
    assert_eq!(text(&next, "session_id"), id);
    assert_eq!(seen["user_id"], 42);
    assert_eq!(seen["rust_note"], "written by rust \u{e9}");
    assert_eq!(seen["rust_count"], 7);
    assert_eq!(seen["status"], "saved");
    assert_eq!(seen["from_php"], "hello");
    assert_eq!(seen["token"], login["seen"]["token"]);

    // 5. Flash data lasts one request, as in Laravel; the rest stays.
    let after = laravel(port, app, "show", Some(text(&next, "cookie")));
    assert_eq!(after["seen"]["status"], Json::Null);
    assert_eq!(after["seen"]["rust_note"], "written by rust \u{e9}");

    // 6. Rust reads Laravel's rewrite: same attributes, flash aged out, TTL slid back to 7200.
    let again = store.load(&id).unwrap().expect("still there");
    assert_eq!(again.session.get("status"), None);
    assert!(again.session.flashed().is_empty());
    assert_eq!(again.session.get("rust_count"), Some(&Value::Int(7)));
    assert!(again.ttl.unwrap() > 7100);

    // 7. A session Rust creates, with a cookie Rust builds, is Laravel's logged-in session.
    let mut fresh = LaravelSession::new(Encoding {
        encrypted: encrypt,
        serialization: Serialization::Php,
    });
    fresh.set_user_id("web", UserId::Int(42));
    fresh.put(
        "_token",
        Value::string(b"AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD".to_vec()),
    );
    fresh.put("rust_note", Value::string(b"made in rust".to_vec()));
    let new_id = store.create(&fresh).unwrap();
    let rust_cookie = store.cookie_for(&new_id).unwrap();
    let seen = laravel(port, app, "show", Some(&rust_cookie));
    assert_eq!(text(&seen, "session_id"), new_id, "Laravel kept our id");
    assert_eq!(seen["seen"]["user_id"], 42);
    assert_eq!(seen["seen"]["rust_note"], "made in rust");
    assert_eq!(
        seen["seen"]["token"],
        "AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD"
    );

    // 8. A write after the session is gone writes nothing.
    let _: () = redis.del(&key).unwrap();
    match store.save(&stored) {
        Err(Error::Laravel(LaravelError::Gone { key: k })) => assert_eq!(k, key),
        other => panic!("expected Gone, got {other:?}"),
    }
    assert!(
        !redis.exists::<_, bool>(&key).unwrap(),
        "no key resurrected"
    );
}

#[test]
fn plain_sessions_aes_256_cbc() {
    laravel_and_rust_share_a_session(CBC_PLAIN);
}

#[test]
fn encrypted_sessions_aes_256_cbc() {
    laravel_and_rust_share_a_session(App {
        encrypt: true,
        ..CBC_PLAIN
    });
}

#[test]
fn encrypted_sessions_aes_256_gcm() {
    laravel_and_rust_share_a_session(App {
        key: APP_KEY,
        cipher: Cipher::Aes256Gcm,
        encrypt: true,
    });
}

#[test]
fn plain_sessions_aes_128_gcm() {
    laravel_and_rust_share_a_session(App {
        key: APP_KEY_128,
        cipher: Cipher::Aes128Gcm,
        encrypt: false,
    });
}

#[test]
fn encrypted_sessions_aes_128_cbc() {
    laravel_and_rust_share_a_session(App {
        key: APP_KEY_128,
        cipher: Cipher::Aes128Cbc,
        encrypt: true,
    });
}

#[test]
fn wrong_key_and_wrong_cipher_are_named() {
    let server = RedisServer::start();
    let login = laravel(server.port(), CBC_PLAIN, "login", None);
    let cookie_value = text(&login, "cookie");
    let other = Encrypter::new(
        AppKey::parse("base64:IirgctVZW+1jvrRNqS0eosvaOZ1C+MVw+bjbwcvYU5c=").unwrap(),
        Cipher::Aes256Cbc,
    )
    .unwrap();
    let err = cookie::session_id_from_cookie(&other, "laravel_session", cookie_value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "laravel: MAC mismatch under all 1 key(s): wrong APP_KEY (or a previous key missing), or the payload was altered"
    );
    let mut gcm = store_for(
        &server,
        App {
            cipher: Cipher::Aes256Gcm,
            ..CBC_PLAIN
        },
    );
    let err = gcm.load_from_cookie(cookie_value).unwrap_err();
    assert_eq!(
        err.to_string(),
        "laravel: payload does not fit the configured cipher aes-256-gcm: the IV is 16 bytes (an AES-CBC payload), aes-256-gcm uses 12"
    );
    let cut = &cookie_value[..cookie_value.len() / 2];
    let err = store_for(&server, CBC_PLAIN)
        .load_from_cookie(cut)
        .unwrap_err();
    assert!(
        matches!(err, Error::Laravel(LaravelError::Truncated { .. })),
        "{err}"
    );
}

#[test]
fn listing_finds_every_session_and_skips_cache_entries() {
    let server = RedisServer::start();
    let port = server.port();
    let mut redis = server.connection();
    let a = laravel(port, CBC_PLAIN, "login", None);
    let b = laravel(port, CBC_PLAIN, "login", None);
    // Cache entries share the prefix (RedisStore writes `s:N:"...";` or bare numbers).
    let _: () = redis
        .set(format!("{PREFIX}greeting"), "s:2:\"hi\";")
        .unwrap();
    let _: () = redis.set(format!("{PREFIX}counter"), "5").unwrap();
    // A cache key that looks like a session id: counted as a session that does not decode.
    let lookalike = "CacheKeyCacheKeyCacheKeyCacheKeyCacheKey";
    let _: () = redis.set(format!("{PREFIX}{lookalike}"), "5").unwrap();
    // Another app's key.
    let _: () = redis.set("other_app:x", "1").unwrap();

    // Through the `redis://` URL form of the save_path this time.
    let encrypter = Encrypter::new(AppKey::parse(APP_KEY).unwrap(), Cipher::Aes256Cbc).unwrap();
    let config = LaravelConfig::defaults(encrypter, Skeleton::L8, "Laravel").unwrap();
    let mut store = LaravelStore::open(&server.url(), config).unwrap();
    let mut found = Vec::new();
    let mut bad = Vec::new();
    let mut progress = 0;
    let summary = store
        .scan(2, |event| match event {
            ScanEvent::Session(e) => match e.session {
                Ok(s) => found.push((e.id, s.user_id("web"), e.ttl.is_some(), e.size > 0)),
                Err(err) => bad.push((e.id, err.to_string())),
            },
            ScanEvent::Progress(_) => progress += 1,
            _ => {}
        })
        .unwrap();
    found.sort();
    let mut want = vec![
        (
            text(&a, "session_id").to_owned(),
            Some(UserId::Int(42)),
            true,
            true,
        ),
        (
            text(&b, "session_id").to_owned(),
            Some(UserId::Int(42)),
            true,
            true,
        ),
    ];
    want.sort();
    assert_eq!(found, want);
    assert_eq!(
        bad,
        vec![(
            lookalike.to_owned(),
            "laravel: bad session payload (cache value): not a PHP string: unknown type tag '5' at byte 0"
                .to_owned()
        )]
    );
    assert_eq!(summary.keys_seen, 5);
    assert_eq!(summary.sessions, 3);
    assert_eq!(summary.errors, 1);
    assert!(progress >= 1);
}

#[test]
fn redis_cluster_reads_and_writes_but_refuses_listing() {
    // Three masters, no replicas: enough for keys in different slots.
    let cluster = phpsess_compat::servers::RedisCluster::builder()
        .masters(3)
        .replicas(0)
        .start();
    let encrypter = Encrypter::new(AppKey::parse(APP_KEY).unwrap(), Cipher::Aes256Cbc).unwrap();
    let config = LaravelConfig::defaults(encrypter, Skeleton::L8, "Laravel").unwrap();
    let mut store = LaravelStore::open_cluster(&cluster.seed_query(), config).unwrap();
    let mut ids = Vec::new();
    for n in 0..6 {
        let mut s = LaravelSession::new(Encoding::default());
        s.set_user_id("web", UserId::Int(n));
        ids.push(store.create(&s).unwrap());
    }
    let mut c = cluster.connection();
    for (n, id) in ids.iter().enumerate() {
        let mut found = store.load(id).unwrap().expect("created");
        assert_eq!(found.web_user_id(), Some(UserId::Int(n as i64)));
        assert!((7190..=7200).contains(&found.ttl.unwrap()));
        found.session.put("n", Value::Int(n as i64));
        store.save(&found).unwrap();
        let raw: Vec<u8> = c.get(format!("{PREFIX}{id}")).unwrap();
        let back = LaravelSession::from_cache_value(&raw, None).unwrap();
        assert_eq!(back.get("n"), Some(&Value::Int(n as i64)));
    }
    let err = store.scan(100, |_| {}).unwrap_err();
    assert!(
        err.to_string()
            .contains("SCAN is not supported on Redis Cluster here (it would see one node only)"),
        "{err}"
    );
}

#[test]
fn the_cli_shows_and_lists_what_laravel_wrote() {
    use phpsess_compat::cli::run_phpsess;
    let server = RedisServer::start();
    let login = laravel(server.port(), CBC_PLAIN, "login", None);
    let cookie_value = text(&login, "cookie").to_owned();
    let id = text(&login, "session_id").to_owned();
    let save_path = format!("tcp://127.0.0.1:{}", server.port());
    let app = [
        "--app-key",
        APP_KEY,
        "--save-path",
        &save_path,
        "--laravel-version",
        "8",
        "--app-name",
        "Laravel",
    ];

    let mut args = vec!["laravel", "show"];
    args.extend_from_slice(&app);
    args.extend_from_slice(&["--cookie", &cookie_value, "--json"]);
    let (code, out, err) = run_phpsess(&args);
    assert_eq!(code, 0, "{err}");
    let shown: Json = serde_json::from_str(&out).expect("JSON");
    assert_eq!(shown["id"], json!(id));
    assert_eq!(shown["key"], json!(format!("{PREFIX}{id}")));
    assert_eq!(shown["user_id"], json!(42));
    assert!(shown["ttl"].as_u64().is_some_and(|t| t > 0), "{shown}");
    assert!(shown["data"]["_token"].is_string(), "{shown}");

    // The same session by id and with an explicit prefix.
    let (code, out, err) = run_phpsess(&[
        "laravel",
        "show",
        "--app-key",
        APP_KEY,
        "--save-path",
        &save_path,
        "--prefix",
        PREFIX,
        "--id",
        &id,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Json>(&out).unwrap()["user_id"],
        json!(42)
    );

    let mut args = vec!["laravel", "ls"];
    args.extend_from_slice(&app);
    args.push("--json");
    let (code, out, err) = run_phpsess(&args);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0]["id"], json!(id));
    assert_eq!(rows[0]["user_id"], json!(42));

    // A wrong key is named, on one line, with a non-zero exit.
    let other = "base64:BaBAJlO7ojpTgUyostkuJA9wR2f1dXc5ZzFjT1dRc1E=";
    let (code, _, err) = run_phpsess(&[
        "laravel",
        "show",
        "--app-key",
        other,
        "--save-path",
        &save_path,
        "--laravel-version",
        "8",
        "--app-name",
        "Laravel",
        "--cookie",
        &cookie_value,
    ]);
    assert_eq!(code, 1);
    assert!(err.starts_with("phpsess: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}
