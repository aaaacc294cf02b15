//! The axum extractors over HTTP, in the real `phpsess-axum-example` binary next to real PHP:
//! sessions logged in by php-fpm (phpsess and phpredis handlers) and by Laravel 8.83 are read by
//! `GET /me`; `POST /touch` writes back under PHP's lock and PHP's next request sees it; a PHP
//! request holding the lock makes the write-back wait its turn; `POST /logout` destroys the
//! session for PHP too; weighted hosts and a cluster;
//! Redis paused, killed and restarted under it; hostile cookies get a 401 and the service lives on.

use std::thread;
use std::time::{Duration, Instant};

use phpsess::laravel::{cookie, AppKey, Cipher, Encrypter};
use phpsess::store::{SessionStore, StoreOptions, Topology};
use phpsess_compat::servers::{RedisCluster, RedisServer};
use phpsess_compat::web::{AxumService, FpmPool, Handler, HttpClient, Site};
use redis::Commands;
use serde_json::{json, Value as Json};

use super::laravel_compat::{run_app, text, APP_KEY};

const APP: &str = "/fleet_app.php";

fn pool(name: &str, handler: Handler, save_path: &str) -> FpmPool {
    FpmPool::builder(name)
        .workers(3)
        .admin_value("session.save_handler", handler.name())
        .admin_value("session.save_path", save_path)
        .admin_value("session.use_strict_mode", "1")
        .start()
}

fn log_in(site: &Site, user: &str) -> (HttpClient, String) {
    let mut client = site.client();
    let login = site.ok_json(
        "login",
        client.post_form(&format!("{APP}?do=login"), &[("user", user)]),
    );
    assert_eq!(login["session"]["user"], json!(user));
    let id = client
        .cookie("PHPSESSID")
        .expect("session cookie")
        .to_owned();
    (client, id)
}

/// `GET path` on the service with cookie `name=value`.
fn get_with_cookie(service: &AxumService, path: &str, name: &str, value: &str) -> (u16, String) {
    let mut client = service.client();
    client.set_cookie(name, value);
    let r = client
        .get(path)
        .unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", service.logs()));
    (r.status, r.text())
}

fn me(service: &AxumService, name: &str, value: &str) -> (u16, String) {
    get_with_cookie(service, "/me", name, value)
}

fn post_touch(service: &AxumService, name: &str, value: &str) -> (u16, Json) {
    let mut client = service.client();
    client.set_cookie(name, value);
    let r = client
        .request("POST", "/touch", None)
        .unwrap_or_else(|e| panic!("POST /touch: {e}\n{}", service.logs()));
    let body = serde_json::from_slice(&r.body).unwrap_or(Json::Null);
    (r.status, body)
}

/// Cookies no session has: each must be a 401 with the fixed body, never a 5xx.
fn assert_hostile_cookies_rejected(service: &mut AxumService, name: &str, extra: &[String]) {
    let mut hostile: Vec<String> = vec![
        String::new(),
        "garbage".into(),
        "../../etc/passwd".into(),
        "a b".into(),
        "%00%ff%fe".into(),
        "x".repeat(6000),
        "eyJpdiI6IiIsInZhbHVlIjoiIiwibWFjIjoiIn0%3D".into(),
    ];
    hostile.extend_from_slice(extra);
    for value in &hostile {
        let (status, body) = me(service, name, value);
        let shown: String = value.chars().take(40).collect();
        assert_eq!(status, 401, "cookie {shown:?}: {body}");
        assert_eq!(body, "no valid session\n", "cookie {shown:?}");
    }
    let mut client = service.client();
    let r = client.get("/me").expect("GET /me without a cookie");
    assert_eq!(r.status, 401, "no cookie: {}", r.text());
    assert!(
        service.is_running(),
        "the service died:\n{}",
        service.logs()
    );
    assert!(
        !service.logs().contains("panicked"),
        "a panic in the service:\n{}",
        service.logs()
    );
}

fn php_service(redis: &RedisServer) -> AxumService {
    AxumService::start(&[
        "--save-path",
        &format!("tcp://{}", redis.addr()),
        "--php-user-key",
        "user",
    ])
}

#[test]
fn php_sessions_of_both_handlers_are_read_and_written_back_through_the_service() {
    for handler in Handler::BOTH {
        let redis = RedisServer::start();
        let save_path = format!("tcp://{}", redis.addr());
        let site = Site::start(vec![pool("web", handler, &save_path)]);
        let mut service = php_service(&redis);
        let (mut client, id) = log_in(&site, "ada");

        let (status, body) = me(&service, "PHPSESSID", &id);
        assert_eq!(status, 200, "{handler:?}: {body}");
        assert_eq!(
            serde_json::from_str::<Json>(&body).unwrap(),
            json!({"user_id": "ada"})
        );

        // Write-back: PHP's next request sees what the service stored.
        let (status, body) = post_touch(&service, "PHPSESSID", &id);
        assert_eq!(
            (status, &body),
            (200, &json!({"rust_count": 1})),
            "{handler:?}"
        );
        let r = site.ok_json("after touch", client.get(&format!("{APP}?do=count")));
        assert_eq!(
            r["session"],
            json!({"user": "ada", "n": 1, "rust_count": 1}),
            "{handler:?}"
        );
        // And the service sees PHP's write.
        let (status, _) = post_touch(&service, "PHPSESSID", &id);
        assert_eq!(status, 200);
        let r = site.ok_json("whoami", client.get(&format!("{APP}?do=whoami")));
        assert_eq!(
            r["session"],
            json!({"user": "ada", "n": 1, "rust_count": 2})
        );
        let mut redis_conn = redis.connection();
        let locks: Vec<String> = redis::cmd("KEYS")
            .arg("*_LOCK*")
            .query(&mut redis_conn)
            .unwrap();
        assert!(
            locks.is_empty(),
            "{handler:?}: locks left behind: {locks:?}"
        );

        // A session that was destroyed is unknown: 401.
        site.ok_json("logout", client.get(&format!("{APP}?do=logout")));
        assert_eq!(me(&service, "PHPSESSID", &id).0, 401, "{handler:?}");
        assert_eq!(post_touch(&service, "PHPSESSID", &id).0, 401, "{handler:?}");
        assert_hostile_cookies_rejected(&mut service, "PHPSESSID", &[]);
    }
}

#[test]
fn a_write_back_waits_for_the_php_request_holding_the_lock_then_lands() {
    let redis = RedisServer::start();
    let save_path = format!("tcp://{}", redis.addr());
    let site = Site::start(vec![pool("web", Handler::Phpsess, &save_path)]);
    let service = php_service(&redis);
    let (mut client, id) = log_in(&site, "bob");

    // PHP holds the session's lock for 1.5 s of "work" between its read and its write.
    let nginx = site.nginx.addr();
    let cookie = id.clone();
    let php = thread::spawn(move || {
        let mut c = HttpClient::new(nginx);
        c.set_cookie("PHPSESSID", &cookie);
        c.get(&format!("{APP}?do=count&work_ms=1500"))
    });
    // Until PHP holds the lock.
    let mut conn = redis.connection();
    let lock_key = format!("PHPREDIS_SESSION:{id}_LOCK");
    let started = Instant::now();
    while !redis::cmd("EXISTS")
        .arg(&lock_key)
        .query::<bool>(&mut conn)
        .unwrap()
    {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "PHP never took the lock"
        );
        thread::sleep(Duration::from_millis(10));
    }
    let asked = Instant::now();
    let (status, body) = post_touch(&service, "PHPSESSID", &id);
    let waited = asked.elapsed();
    assert_eq!((status, &body), (200, &json!({"rust_count": 1})));
    assert!(
        waited >= Duration::from_millis(800),
        "the write-back did not wait for PHP's lock ({waited:?})"
    );
    let php = site.ok_json("PHP's count", php.join().expect("PHP request thread"));
    assert_eq!(php["session"]["n"], 1);
    // Both changes are there: PHP's n (written first, under its lock), then ours on top.
    let r = site.ok_json("whoami", client.get(&format!("{APP}?do=whoami")));
    assert_eq!(
        r["session"],
        json!({"user": "bob", "n": 1, "rust_count": 1})
    );
}

#[test]
fn a_logout_through_the_service_destroys_the_php_session_for_php_and_releases_its_lock() {
    let redis = RedisServer::start();
    let save_path = format!("tcp://{}", redis.addr());
    let site = Site::start(vec![pool("web", Handler::Phpsess, &save_path)]);
    let service = php_service(&redis);
    let (mut client, id) = log_in(&site, "eve");
    let mut conn = redis.connection();
    let key = format!("PHPREDIS_SESSION:{id}");
    assert!(redis::cmd("EXISTS")
        .arg(&key)
        .query::<bool>(&mut conn)
        .unwrap());

    let mut rust = service.client();
    rust.set_cookie("PHPSESSID", &id);
    let r = rust
        .request("POST", "/logout", None)
        .unwrap_or_else(|e| panic!("POST /logout: {e}\n{}", service.logs()));
    assert_eq!(r.status, 200, "{}", r.text());
    let cleared = r.header("set-cookie").unwrap_or_default();
    assert!(
        cleared.starts_with("PHPSESSID=deleted;") && cleared.contains("Max-Age=0"),
        "the response clears the cookie: {cleared:?}"
    );

    // Gone, with its lock: nothing of the session is left in Redis.
    let left: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{key}*"))
        .query(&mut conn)
        .unwrap();
    assert!(left.is_empty(), "left behind: {left:?}");
    // PHP's next request with the old cookie finds no session (strict mode: a new id, empty).
    let r = site.ok_json("after logout", client.get(&format!("{APP}?do=whoami")));
    assert_ne!(r["id"], json!(id), "strict mode refuses the destroyed id");
    assert!(
        r["session"].get("user").is_none(),
        "the destroyed session is not PHP's any more: {r}"
    );
    assert_eq!(me(&service, "PHPSESSID", &id).0, 401);
}

/// One php-fpm pool with the phpsess handler on `save_path` and the given settings.
fn phpsess_site(save_path: &str, settings: &[(&str, &str)]) -> Site {
    let mut pool = FpmPool::builder("web")
        .workers(2)
        .admin_value("session.save_handler", Handler::Phpsess.name())
        .admin_value("session.save_path", save_path);
    for &(name, value) in settings {
        pool = pool.admin_value(name, value);
    }
    Site::start(vec![pool.start()])
}

#[test]
fn a_session_id_with_a_comma_is_read_from_the_cookie_as_php_sent_it() {
    // With session.sid_bits_per_character = 6, ids hold `,` and `-`, and PHP sends the cookie
    // url-encoded (`,` as %2C); the browser returns it so, and PHP decodes it again.
    let redis = RedisServer::start();
    let save_path = format!("tcp://{}", redis.addr());
    let site = phpsess_site(&save_path, &[("session.sid_bits_per_character", "6")]);
    let service = php_service(&redis);
    // About 40% of 32-character ids hold a comma: log in until one does.
    let (client, cookie) = (0..40)
        .map(|_| log_in(&site, "ada"))
        .find(|(_, cookie)| cookie.contains("%2C"))
        .expect("a session id with a comma in 40 logins");
    let (status, body) = me(&service, "PHPSESSID", &cookie);
    assert_eq!(status, 200, "{cookie}: {body}");
    assert_eq!(
        serde_json::from_str::<Json>(&body).unwrap(),
        json!({"user_id": "ada"})
    );
    let (status, body) = post_touch(&service, "PHPSESSID", &cookie);
    assert_eq!(
        (status, &body),
        (200, &json!({"rust_count": 1})),
        "{cookie}"
    );
    drop(client);
}

#[test]
fn write_backs_keep_the_per_user_index_of_a_fleet_with_phpsess_user_key() {
    let redis = RedisServer::start();
    let save_path = format!("tcp://{}", redis.addr());
    let site = phpsess_site(
        &save_path,
        &[
            ("session.gc_maxlifetime", "1440"),
            ("phpsess.user_key", "user"),
        ],
    );
    // An APP_KEY exported for the Laravel app beside it does not turn the native service into
    // a refused command line.
    let service = AxumService::start_with_env(
        &[
            "--save-path",
            &save_path,
            "--php-user-key",
            "user",
            "--user-index",
            "--ttl",
            "1440",
        ],
        &[("APP_KEY", APP_KEY)],
    );
    let (_client, id) = log_in(&site, "ada");
    let mut conn = redis.connection();
    let binding = format!("PHPREDIS_SESSION:{id}_USER");
    let index = "PHPREDIS_SESSION:_user:ada";
    let bound: String = conn.get(&binding).unwrap();
    assert!(
        bound.ends_with(":ada"),
        "PHP bound the session to ada: {bound:?}"
    );
    // Make the binding look old, so that the next write must refresh it (a fresh one is left
    // alone: the index's bookkeeping runs once per slack, not on every request).
    let _: () = conn.expire(&binding, 100).unwrap();
    let _: () = conn.zadd(index, &id, 1).unwrap();

    let (status, body) = post_touch(&service, "PHPSESSID", &id);
    assert_eq!((status, &body), (200, &json!({"rust_count": 1})));
    let ttl: i64 = conn.ttl(&binding).unwrap();
    assert!(
        ttl > 1400,
        "the binding was refreshed with the session: ttl {ttl}"
    );
    let score: f64 = conn.zscore(index, &id).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        score > now + 1400.0,
        "the index entry was re-scored to the session's new expiry: {score} vs now {now}"
    );
    let session_ttl: i64 = conn.ttl(format!("PHPREDIS_SESSION:{id}")).unwrap();
    assert!((1400..=1440).contains(&session_ttl), "{session_ttl}");
}

fn laravel_service(redis: &RedisServer) -> AxumService {
    AxumService::start(&[
        "--save-path",
        &format!("tcp://{}", redis.addr()),
        "--app-key",
        APP_KEY,
        "--laravel-version",
        "8",
        "--app-name",
        "Laravel",
    ])
}

fn laravel(port: u16, action: &str, cookie: Option<&str>) -> Json {
    run_app(&json!({
        "port": port,
        "app_key": APP_KEY,
        "cipher": "aes-256-cbc",
        "encrypt": false,
        "action": action,
        "cookie": cookie,
    }))
}

#[test]
fn laravel_sessions_are_read_and_written_back_through_the_service() {
    let redis = RedisServer::start();
    let mut service = laravel_service(&redis);
    let login = laravel(redis.port(), "login", None);
    let decoded = text(&login, "cookie").to_owned();
    let set_cookie = text(&login, "set_cookie");
    let wire = set_cookie
        .strip_prefix("laravel_session=")
        .and_then(|s| s.split(';').next())
        .expect("cookie value in Set-Cookie")
        .to_owned();

    let (status, body) = me(&service, "laravel_session", &wire);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Json>(&body).unwrap(),
        json!({"user_id": 42})
    );

    let (status, body) = post_touch(&service, "laravel_session", &wire);
    assert_eq!((status, &body), (200, &json!({"rust_count": 1})));
    let next = laravel(redis.port(), "show", Some(&decoded));
    assert_eq!(
        next["seen"]["rust_count"], 1,
        "Laravel sees the write-back: {next}"
    );
    assert_eq!(next["seen"]["user_id"], 42);

    // Hostile cookies: tampered MAC, another app's key, a well-encrypted id with bad characters.
    let encrypter = Encrypter::new(AppKey::parse(APP_KEY).unwrap(), Cipher::Aes256Cbc).unwrap();
    let mut tampered = cookie::url_decode(&wire).into_owned();
    let at = tampered.len() / 2;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let tampered = cookie::url_encode(&String::from_utf8_lossy(&tampered));
    let other_key = Encrypter::new(
        AppKey::parse("base64:AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=").unwrap(),
        Cipher::Aes256Cbc,
    )
    .unwrap();
    let id = text(&login, "session_id");
    let wrong_key = cookie::url_encode(
        &cookie::session_cookie_value(&other_key, "laravel_session", id).unwrap(),
    );
    let bad_id = cookie::url_encode(
        &cookie::encrypt_cookie(
            &encrypter,
            "laravel_session",
            b"../../../etc/passwd_aaaaaaaaaaaaaaaaaaaaa",
        )
        .unwrap(),
    );
    let unknown = cookie::url_encode(
        &cookie::session_cookie_value(
            &encrypter,
            "laravel_session",
            "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd",
        )
        .unwrap(),
    );
    let wrong_name_prefix =
        cookie::url_encode(&cookie::session_cookie_value(&encrypter, "other_cookie", id).unwrap());
    assert_hostile_cookies_rejected(
        &mut service,
        "laravel_session",
        &[tampered, wrong_key, bad_id, unknown, wrong_name_prefix],
    );
    // The real cookie still works after all that.
    assert_eq!(me(&service, "laravel_session", &wire).0, 200);
}

#[test]
fn redis_down_paused_or_restarted_is_a_503_then_the_shared_connection_serves_again() {
    let mut redis = RedisServer::start();
    let id = "axumrestart00000000000001";
    let _: () = redis::cmd("SET")
        .arg(format!("PHPREDIS_SESSION:{id}"))
        .arg("user|s:3:\"ann\";")
        .query(&mut redis.connection())
        .unwrap();
    let mut service = AxumService::start(&[
        "--save-path",
        &format!("tcp://{}?timeout=1&read_timeout=1", redis.addr()),
        "--php-user-key",
        "user",
    ]);
    let ok = (200, "{\"user_id\":\"ann\"}".to_owned());
    assert_eq!(me(&service, "PHPSESSID", id), ok);

    // Paused: no reply within the read timeout. A 503 that names nothing internal.
    redis.pause();
    let asked = Instant::now();
    let (status, body) = me(&service, "PHPSESSID", id);
    redis.resume();
    assert_eq!(
        (status, body.as_str()),
        (503, "session store unavailable\n")
    );
    assert!(
        asked.elapsed() < Duration::from_secs(3),
        "bounded by the read timeout"
    );

    // Killed: refused connections are 503s too; restarted, the same process serves again.
    redis.kill();
    let (status, body) = me(&service, "PHPSESSID", id);
    assert_eq!(
        (status, body.as_str()),
        (503, "session store unavailable\n")
    );
    redis.restart();
    // SIGKILL may have beaten the AOF's fsync: store the session again (this is about the
    // connection, not about persistence).
    let _: () = redis::cmd("SET")
        .arg(format!("PHPREDIS_SESSION:{id}"))
        .arg("user|s:3:\"ann\";")
        .query(&mut redis.connection())
        .unwrap();
    let started = Instant::now();
    loop {
        let answer = me(&service, "PHPSESSID", id);
        if answer == ok {
            break;
        }
        assert_eq!(answer.0, 503, "{answer:?}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "never recovered: {answer:?}\n{}",
            service.logs()
        );
        thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..20 {
        assert_eq!(me(&service, "PHPSESSID", id), ok);
    }
    assert!(service.is_running());
}

/// Sessions stored by the blocking store (as the extension stores them) on weighted hosts and on
/// a cluster, read and written back through the service.
fn serve_sessions_of(service: &AxumService, blocking: &mut SessionStore, ids: &[String]) {
    for id in ids {
        blocking.read(id).unwrap();
        blocking
            .write(id, format!("user|s:{}:\"{id}\";", id.len()).as_bytes())
            .unwrap();
        let (status, body) = me(service, "PHPSESSID", id);
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(
            serde_json::from_str::<Json>(&body).unwrap(),
            json!({ "user_id": id })
        );
        assert_eq!(post_touch(service, "PHPSESSID", id).0, 200, "{id}");
        let data = blocking.read(id).unwrap().data.unwrap();
        blocking.close().unwrap();
        assert_eq!(
            data,
            format!("user|s:{}:\"{id}\";rust_count|i:1;", id.len()).into_bytes()
        );
    }
}

#[test]
fn weighted_hosts_and_a_cluster_are_served_through_the_service() {
    let servers: Vec<RedisServer> = (0..3).map(|_| RedisServer::start()).collect();
    let save_path = servers
        .iter()
        .zip([1, 2, 3])
        .map(|(s, w)| format!("tcp://{}?weight={w}", s.addr()))
        .collect::<Vec<_>>()
        .join(", ");
    let service = AxumService::start(&["--save-path", &save_path, "--php-user-key", "user"]);
    let mut blocking = SessionStore::new(
        Topology::from_save_path(&save_path).unwrap(),
        StoreOptions::default(),
    );
    let ids: Vec<String> = "AbCdEfGhIjKl"
        .chars()
        .enumerate()
        .map(|(i, c)| format!("{c}axumweighted{i:012}"))
        .collect();
    serve_sessions_of(&service, &mut blocking, &ids);
    let used = servers
        .iter()
        .filter(|s| {
            redis::cmd("DBSIZE")
                .query::<i64>(&mut s.connection())
                .unwrap()
                > 0
        })
        .count();
    assert_eq!(used, 3, "the ids spread over every host");

    let cluster = RedisCluster::start();
    let service = AxumService::start(&[
        "--save-path",
        &cluster.seed_query(),
        "--cluster",
        "--php-user-key",
        "user",
    ]);
    let mut blocking = SessionStore::new(
        Topology::from_cluster_save_path(&cluster.seed_query()).unwrap(),
        StoreOptions::default(),
    );
    let ids: Vec<String> = (0..8).map(|i| format!("axumcluster{i:014}")).collect();
    serve_sessions_of(&service, &mut blocking, &ids);
}
