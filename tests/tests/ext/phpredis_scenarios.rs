//! phpredis's own session test scenarios (`testSession_*` in its tests/RedisTest.php), written
//! anew for phpsess and its INI names: saved, lock key, lock released on close, lock TTL from
//! `max_execution_time` and from `phpsess.lock_expire`, hold-check before write, retry interval and
//! wait time, no unlock of another process, the eight regenerate variants, TTL equals the lifetime
//! and is reset on write and on read, compression. Plus `session_create_id()` while locked (PHP's
//! manual page pattern and bug79413.phpt), `session_reset()` and `session_abort()` followed by a
//! new start, and a `SessionHandler` whose read() reads another id (bug70133.phpt). The modes of
//! `tests/php/ext_phpredis_scenarios.php` assert what PHP sees; this side checks Redis.

use std::path::Path;
use std::process::Child;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::{warnings, Php};
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::{json, Value};

const SCRIPT: &str = "ext_phpredis_scenarios.php";

fn key(id: &str) -> String {
    format!("PHPREDIS_SESSION:{id}")
}

fn lock_key(id: &str) -> String {
    format!("PHPREDIS_SESSION:{id}_LOCK")
}

fn stored(server: &RedisServer, id: &str) -> Option<String> {
    let raw: Option<Vec<u8>> = server.connection().get(key(id)).expect("GET");
    raw.map(|r| String::from_utf8_lossy(&r).into_owned())
}

fn lock_value(server: &RedisServer, id: &str) -> Option<String> {
    server.connection().get(lock_key(id)).expect("GET lock")
}

fn lock_keys(server: &RedisServer) -> Vec<String> {
    server.connection().keys("*_LOCK").expect("KEYS")
}

/// A fresh 32-character id in PHP's default alphabet (strict mode is off in these scenarios).
fn fresh_id() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let n = N.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:016x}{:08x}{:08x}",
        nanos,
        std::process::id(),
        n as u32 ^ 0x5eed
    )
}

/// `redis_test|s:N:"DATA";`, as PHP's default serializer stores the scenarios' one variable.
fn encoded(data: &str) -> String {
    format!("redis_test|s:{}:\"{data}\";", data.len())
}

/// phpredis's startSession.php: start `id`, sleep `sleep_ms`, set redis_test = `data`, close.
fn run(php: &Php, id: &str, sleep_ms: u64, data: Option<&str>) -> Value {
    php.json(
        SCRIPT,
        &["run", id, &sleep_ms.to_string(), data.unwrap_or("-")],
    )
}

/// The same in the background; `marker` appears once session_start() has returned.
fn spawn_run(php: &Php, id: &str, sleep_ms: u64, data: Option<&str>, marker: &Path) -> Child {
    php.spawn(
        SCRIPT,
        &[
            "run",
            id,
            &sleep_ms.to_string(),
            data.unwrap_or("-"),
            marker.to_str().unwrap(),
        ],
    )
}

/// Whether PHP warned that the write was refused (session_write_close() itself returns true: PHP
/// reports a failed write only as a warning).
fn write_refused(v: &Value) -> bool {
    warnings(v).iter().any(|w| w.contains("refused"))
}

/// Waits for a spawned mode and returns its JSON line; panics with its output if it failed.
fn finish(child: Child) -> Value {
    let out = child.wait_with_output().expect("wait for php");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "php failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

/// phpredis's getSessionData.php: what redis_test holds.
fn get(php: &Php, id: &str) -> Value {
    php.json(SCRIPT, &["get", id])["data"].clone()
}

fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn ms(v: &Value) -> f64 {
    v["start_ms"].as_f64().expect("start_ms")
}

/// A session written with redis_test = `data` under a fresh id.
fn written(server: &RedisServer, data: &str) -> String {
    let id = fresh_id();
    let v = run(&Php::standalone(&server.addr()), &id, 0, Some(data));
    assert_eq!(
        (&v["ok"], &v["closed"]),
        (&json!(true), &json!(true)),
        "{v}"
    );
    id
}

#[test]
fn saved_to_redis() {
    let server = RedisServer::start();
    let id = written(&server, "saved");
    assert_eq!(stored(&server, &id), Some(encoded("saved")));
}

#[test]
fn lock_key_is_the_data_key_plus_lock_and_is_released_on_close() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let id = fresh_id();
    let holder = spawn_run(&php, &id, 1000, Some("held"), &marker);
    wait_until("lock key", Duration::from_secs(10), || {
        lock_value(&server, &id).is_some()
    });
    assert_eq!(lock_keys(&server), vec![lock_key(&id)]);
    let v = finish(holder);
    assert_eq!(
        (&v["ok"], &v["closed"]),
        (&json!(true), &json!(true)),
        "{v}"
    );
    assert_eq!(
        lock_keys(&server),
        Vec::<String>::new(),
        "released on close"
    );
    assert_eq!(stored(&server, &id), Some(encoded("held")));
}

#[test]
fn no_lock_when_locking_is_disabled() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr()).ini("phpsess.locking_enabled", "0");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let id = fresh_id();
    let holder = spawn_run(&php, &id, 500, Some("unlocked"), &marker);
    wait_until("session started", Duration::from_secs(10), || {
        marker.exists()
    });
    assert_eq!(lock_keys(&server), Vec::<String>::new());
    let v = finish(holder);
    assert_eq!(v["closed"], json!(true), "{v}");
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

/// A holder that sleeps past its lock's TTL; a second request gets the session once it expires.
fn lock_ttl_scenario(holder_php: &Php, server: &RedisServer, ttl_ms: i64) {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let id = fresh_id();
    let holder = spawn_run(holder_php, &id, 6000, Some("first"), &marker);
    wait_until("lock key", Duration::from_secs(10), || {
        lock_value(server, &id).is_some()
    });
    let pttl: i64 = server.connection().pttl(lock_key(&id)).unwrap();
    assert!(
        (1..=ttl_ms).contains(&pttl),
        "lock TTL {pttl} ms, want <= {ttl_ms}"
    );

    let v = run(&Php::standalone(&server.addr()), &id, 0, Some("second"));
    assert_eq!(
        (&v["ok"], &v["closed"]),
        (&json!(true), &json!(true)),
        "{v}"
    );
    let waited = ms(&v);
    assert!(
        (ttl_ms as f64 / 2.0..ttl_ms as f64 + 1500.0).contains(&waited),
        "took the expired lock after {waited} ms"
    );

    // The holder wakes up without its lock: its write is refused, the second one's kept.
    let h = finish(holder);
    assert!(h["ok"] == json!(true) && write_refused(&h), "{h}");
    assert_eq!(stored(server, &id), Some(encoded("second")));
    assert_eq!(lock_keys(server), Vec::<String>::new());
}

/// The lock TTL a request holding `id` for a moment sets, in ms.
fn lock_pttl_while_held(php: &Php, server: &RedisServer) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let id = fresh_id();
    let holder = spawn_run(php, &id, 500, Some("first"), &marker);
    wait_until("lock key", Duration::from_secs(10), || {
        lock_value(server, &id).is_some()
    });
    let pttl: i64 = server.connection().pttl(lock_key(&id)).unwrap();
    let h = finish(holder);
    assert_eq!(h["ok"], json!(true), "{h}");
    assert_eq!(lock_keys(server), Vec::<String>::new());
    pttl
}

#[test]
fn lock_ttl_follows_max_execution_time() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr()).ini("max_execution_time", "90");
    let pttl = lock_pttl_while_held(&php, &server);
    assert!((80_000..=90_000).contains(&pttl), "lock TTL {pttl} ms");
    // Where we differ from phpredis: max_execution_time counts CPU time on Linux, so a short one
    // does not shorten the lock below 60 s of wall clock (a request waiting on I/O outlives it).
    let php = Php::standalone(&server.addr()).ini("max_execution_time", "2");
    let pttl = lock_pttl_while_held(&php, &server);
    assert!((50_000..=60_000).contains(&pttl), "lock TTL {pttl} ms");
}

#[test]
fn lock_ttl_follows_lock_expire() {
    let server = RedisServer::start();
    let holder = Php::standalone(&server.addr())
        .ini("max_execution_time", "300")
        .ini("phpsess.lock_expire", "2");
    lock_ttl_scenario(&holder, &server, 2000);
}

#[test]
fn hold_check_before_write_when_another_process_has_the_lock() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let id = fresh_id();
    let first = Php::standalone(&server.addr()).ini("phpsess.lock_expire", "1");
    let holder = spawn_run(&first, &id, 2000, Some("firstProcess"), &marker);
    wait_until("lock key", Duration::from_secs(10), || {
        lock_value(&server, &id).is_some()
    });
    let second = Php::standalone(&server.addr()).ini("phpsess.lock_expire", "10");
    let v = run(&second, &id, 0, Some("secondProcess"));
    assert_eq!(
        (&v["ok"], &v["closed"]),
        (&json!(true), &json!(true)),
        "{v}"
    );

    let h = finish(holder);
    assert!(write_refused(&h), "{h}");
    assert_eq!(stored(&server, &id), Some(encoded("secondProcess")));
    assert_eq!(get(&second, &id), json!("secondProcess"));
}

#[test]
fn hold_check_before_write_when_nobody_has_the_lock() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr()).ini("phpsess.lock_expire", "1");
    let id = fresh_id();
    let v = run(&php, &id, 2000, Some("firstProcess"));
    assert!(v["ok"] == json!(true) && write_refused(&v), "{v}");
    assert_eq!(
        stored(&server, &id),
        None,
        "the expired lock's write is refused"
    );
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn lock_wait_timeout_and_retry_interval_are_honoured() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("started");
    let id = fresh_id();
    let holder = spawn_run(
        &Php::standalone(&server.addr()),
        &id,
        4000,
        Some("holder"),
        &marker,
    );
    wait_until("lock key", Duration::from_secs(10), || {
        lock_value(&server, &id).is_some()
    });

    // Give up after lock_wait_timeout, trying every lock_retry_interval (polling as phpredis
    // does: with the lock queue on, a waiter behind a phpsess holder blocks until handed over).
    let mut commands = Vec::new();
    for interval in ["250", "25"] {
        let waiter = Php::standalone(&server.addr())
            .ini("phpsess.lock_queue", "0")
            .ini("phpsess.lock_wait_timeout", "1000")
            .ini("phpsess.lock_retry_interval", interval);
        let before = server.total_commands_processed();
        let v = run(&waiter, &id, 0, Some("waiter"));
        commands.push(server.total_commands_processed() - before);
        assert_eq!(v["ok"], json!(false), "{v}");
        let waited = ms(&v);
        assert!(
            (900.0..2500.0).contains(&waited),
            "gave up after {waited} ms with a 1000 ms lock_wait_timeout"
        );
    }
    assert!(
        commands[1] >= 3 * commands[0],
        "retrying every 25 ms costs more commands than every 250 ms: {commands:?}"
    );

    // With time enough, a waiter gets the session when the holder releases it.
    let patient = Php::standalone(&server.addr()).ini("phpsess.lock_wait_timeout", "8000");
    let v = run(&patient, &id, 0, Some("patient"));
    assert_eq!(
        (&v["ok"], &v["closed"]),
        (&json!(true), &json!(true)),
        "{v}"
    );
    assert!(ms(&v) >= 500.0, "waited for the holder: {v}");
    let h = finish(holder);
    assert_eq!(
        (&h["ok"], &h["closed"]),
        (&json!(true), &json!(true)),
        "{h}"
    );
    assert_eq!(stored(&server, &id), Some(encoded("patient")));
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn a_process_never_unlocks_another_processs_lock() {
    let server = RedisServer::start();
    let dir = tempfile::tempdir().unwrap();
    let id = fresh_id();
    // A's lock expires after 1 s; B takes it and holds it while A finishes.
    let a_php = Php::standalone(&server.addr()).ini("phpsess.lock_expire", "1");
    let a = spawn_run(&a_php, &id, 2000, Some("A"), &dir.path().join("a"));
    wait_until("A's lock", Duration::from_secs(10), || {
        lock_value(&server, &id).is_some()
    });
    let a_token = lock_value(&server, &id).unwrap();
    let b_php = Php::standalone(&server.addr()).ini("phpsess.lock_expire", "10");
    let b_marker = dir.path().join("b");
    let b = spawn_run(&b_php, &id, 3000, Some("B"), &b_marker);
    wait_until("B holds the session", Duration::from_secs(10), || {
        b_marker.exists()
    });
    let b_token = lock_value(&server, &id).expect("B's lock");
    assert_ne!(a_token, b_token, "lock tokens are unique per request");

    let a = finish(a);
    assert!(write_refused(&a), "A lost its lock: {a}");
    assert_eq!(
        lock_value(&server, &id),
        Some(b_token),
        "A's close left B's lock alone"
    );
    let b = finish(b);
    assert_eq!(
        (&b["ok"], &b["closed"]),
        (&json!(true), &json!(true)),
        "{b}"
    );
    assert_eq!(stored(&server, &id), Some(encoded("B")));
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

/// phpredis's regenerateIdHelper: a locked session written, then session_regenerate_id() with
/// locking on or off, destroying the old session or not, through a SessionHandler proxy or not.
fn regenerate(lock: bool, destroy: bool, proxy: bool) {
    let server = RedisServer::start();
    let data = format!("regenerate-id:{lock}:{destroy}:{proxy}");
    let id = written(&server, &data);
    let php = Php::standalone(&server.addr())
        .ini("phpsess.locking_enabled", if lock { "1" } else { "0" });
    let flag = |b: bool| if b { "1" } else { "0" };
    let v = php.json(SCRIPT, &["regenerate", &id, flag(destroy), flag(proxy)]);
    let new = v["new"].as_str().unwrap().to_owned();
    assert_ne!(new, id);
    assert_eq!(stored(&server, &new), Some(encoded(&data)));
    assert_eq!(get(&php, &new), json!(data));
    if destroy {
        assert_eq!(stored(&server, &id), None, "the old session is destroyed");
    } else {
        assert_eq!(
            stored(&server, &id),
            Some(encoded(&data)),
            "the old one stays"
        );
    }
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn regenerate_no_lock_no_destroy() {
    regenerate(false, false, false);
}

#[test]
fn regenerate_no_lock_with_destroy() {
    regenerate(false, true, false);
}

#[test]
fn regenerate_with_lock_no_destroy() {
    regenerate(true, false, false);
}

#[test]
fn regenerate_with_lock_with_destroy() {
    regenerate(true, true, false);
}

#[test]
fn regenerate_no_lock_no_destroy_with_proxy() {
    regenerate(false, false, true);
}

#[test]
fn regenerate_no_lock_with_destroy_with_proxy() {
    regenerate(false, true, true);
}

#[test]
fn regenerate_with_lock_no_destroy_with_proxy() {
    regenerate(true, false, true);
}

#[test]
fn regenerate_with_lock_with_destroy_with_proxy() {
    regenerate(true, true, true);
}

fn ttl(server: &RedisServer, id: &str) -> i64 {
    server.connection().ttl(key(id)).unwrap()
}

#[test]
fn ttl_equals_the_session_lifetime() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr()).ini("session.gc_maxlifetime", "600");
    let id = fresh_id();
    run(&php, &id, 0, Some("ttl"));
    assert!((599..=600).contains(&ttl(&server, &id)));
}

#[test]
fn ttl_is_reset_on_write() {
    let server = RedisServer::start();
    let short = Php::standalone(&server.addr()).ini("session.gc_maxlifetime", "600");
    let long = Php::standalone(&server.addr()).ini("session.gc_maxlifetime", "1800");
    let id = fresh_id();
    run(&short, &id, 0, Some("ttl"));
    // Unchanged data: lazy write refreshes the TTL (update_timestamp).
    run(&long, &id, 0, None);
    assert!((1799..=1800).contains(&ttl(&server, &id)));
    // Changed data: written with the new lifetime.
    run(&short, &id, 0, Some("changed"));
    assert!((599..=600).contains(&ttl(&server, &id)));
}

#[test]
fn ttl_is_reset_on_read() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr()).ini("session.gc_maxlifetime", "600");
    let id = fresh_id();
    run(&php, &id, 0, Some("read me"));
    let () = server.connection().expire(key(&id), 9999).unwrap();
    assert_eq!(get(&php, &id), json!("read me"));
    assert!((599..=600).contains(&ttl(&server, &id)));
}

#[test]
fn compression_stores_compressed_values_and_reads_them_back() {
    let server = RedisServer::start();
    for codec in ["lzf", "zstd", "lz4"] {
        let php = Php::standalone(&server.addr()).ini("phpsess.compression", codec);
        let data = format!("testing_compression_{codec}_").repeat(40);
        let id = fresh_id();
        let v = run(&php, &id, 0, Some(&data));
        assert_eq!(v["closed"], json!(true), "{codec}: {v}");
        let raw: Vec<u8> = server.connection().get(key(&id)).unwrap();
        let plain = encoded(&data);
        assert!(
            raw.len() < plain.len() / 2,
            "{codec}: {} bytes stored for {} bytes of session",
            raw.len(),
            plain.len()
        );
        if codec == "zstd" {
            assert_eq!(&raw[..4], &[0x28, 0xb5, 0x2f, 0xfd], "a zstd frame");
        }
        assert_eq!(get(&php, &id), json!(data), "{codec}");
    }
}

#[test]
fn session_create_id_during_a_locked_session_keeps_its_data_and_leaves_no_lock() {
    // PHP's bug79413.phpt, with data.
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = written(&server, "before");
    let v = php.json(SCRIPT, &["create_id_active", &id]);
    let new = v["new"].as_str().unwrap();
    assert_eq!(stored(&server, &id), Some(encoded("kept")));
    assert_eq!(stored(&server, new), None, "only an id, no session");
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn the_manual_pages_session_create_id_pattern_works_with_locking() {
    // php.net/session_create_id: create an id while active, mark the old session deleted,
    // commit, start the new id. Then the user's next request on the old id is not locked out.
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = written(&server, "alice");
    let v = php.json(SCRIPT, &["create_id_manual", &id]);
    let new = v["new"].as_str().unwrap();
    let old = stored(&server, &id).expect("the old session is kept");
    assert!(
        old.starts_with(&encoded("alice")) && old.contains("deleted_time|i:"),
        "{old}"
    );
    assert_eq!(stored(&server, new), Some(encoded("alice")));
    assert_eq!(lock_keys(&server), Vec::<String>::new());

    let impatient = Php::standalone(&server.addr()).ini("phpsess.lock_wait_timeout", "300");
    let v = run(&impatient, &id, 0, None);
    assert_eq!(
        (&v["ok"], &v["closed"]),
        (&json!(true), &json!(true)),
        "{v}"
    );
}

#[test]
fn session_reset_keeps_the_lock_and_a_new_start_follows() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = written(&server, "stored");
    let dir = tempfile::tempdir().unwrap();
    let child = php.spawn(SCRIPT, &["reset", &id, dir.path().to_str().unwrap()]);

    let started = dir.path().join("started");
    wait_until("started", Duration::from_secs(10), || started.exists());
    let token = lock_value(&server, &id).expect("the request holds the lock");
    std::fs::write(dir.path().join("started.go"), "").unwrap();

    let reset = dir.path().join("reset");
    wait_until("reset", Duration::from_secs(10), || reset.exists());
    assert_eq!(
        lock_value(&server, &id),
        Some(token),
        "session_reset() keeps the request's own lock"
    );
    std::fs::write(dir.path().join("reset.go"), "").unwrap();

    finish(child);
    let data = stored(&server, &id).unwrap();
    assert_eq!(
        data,
        format!(
            "{}after_reset|s:3:\"yes\";second_start|s:3:\"yes\";",
            encoded("stored")
        )
    );
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn session_abort_releases_the_lock_and_a_new_start_follows() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = written(&server, "stored");
    let dir = tempfile::tempdir().unwrap();
    let child = php.spawn(SCRIPT, &["abort", &id, dir.path().to_str().unwrap()]);

    let aborted = dir.path().join("aborted");
    wait_until("aborted", Duration::from_secs(10), || aborted.exists());
    assert_eq!(lock_keys(&server), Vec::<String>::new(), "abort unlocks");
    assert_eq!(
        stored(&server, &id),
        Some(encoded("stored")),
        "nothing written"
    );
    std::fs::write(dir.path().join("aborted.go"), "").unwrap();

    finish(child);
    assert_eq!(
        stored(&server, &id),
        Some(format!("{}after_abort|s:3:\"yes\";", encoded("stored")))
    );
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn a_session_handler_whose_read_reads_another_id_is_written_under_its_own_id() {
    // PHP's bug70133.phpt.
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let (a, b) = (fresh_id(), fresh_id());
    php.json(SCRIPT, &["read_other", &a, &b]);
    let hoge = "foo|s:4:\"hoge\";".to_owned();
    assert_eq!(stored(&server, &a), Some(hoge.clone()));
    assert_eq!(stored(&server, &b), Some(hoge));
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}
