//! The phpsess extension in real PHP against real redis-servers: sessions written and read back by
//! separate processes, lazy write, early refresh, strict mode, destroy, regenerate, locking (on by
//! default), failures that must not kill the script or overwrite data, the panic boundary,
//! compression and the phpinfo counters. Each test runs modes of `tests/php/ext_session.php`,
//! which asserts what PHP sees; this side checks Redis.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{warnings, Php, SynBlackhole};
use phpsess_compat::servers::{ports, RedisServer};
use redis::Commands;
use serde_json::json;

const SCRIPT: &str = "ext_session.php";

fn key(id: &str) -> String {
    format!("PHPREDIS_SESSION:{id}")
}

fn stored(server: &RedisServer, id: &str) -> Option<Vec<u8>> {
    server.connection().get(key(id)).expect("GET")
}

fn lock_keys(server: &RedisServer) -> Vec<String> {
    server.connection().keys("*_LOCK").expect("KEYS")
}

/// A new session with user = `user`; returns its id.
fn new_session(php: &Php, user: &str) -> String {
    let v = php.json(SCRIPT, &["new", user]);
    v["id"].as_str().expect("id").to_owned()
}

fn wait_for_file(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_session_written_by_one_process_is_read_by_the_next() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = new_session(&php, "alice");

    assert_eq!(
        stored(&server, &id).as_deref(),
        Some(&b"user|s:5:\"alice\";"[..])
    );
    let ttl: i64 = server.connection().ttl(key(&id)).unwrap();
    assert!(
        (1430..=1440).contains(&ttl),
        "TTL from session.gc_maxlifetime: {ttl}"
    );
    assert_eq!(
        lock_keys(&server),
        Vec::<String>::new(),
        "lock released at close"
    );

    let v = php.json(SCRIPT, &["read", &id]);
    assert_eq!(
        v,
        json!({"ok": true, "id": id, "session": {"user": "alice"}, "closed": true, "warnings": []})
    );

    // The TTL follows session.gc_maxlifetime.
    let short = Php::standalone(&server.addr()).ini("session.gc_maxlifetime", "90");
    let id = new_session(&short, "bob");
    let ttl: i64 = server.connection().ttl(key(&id)).unwrap();
    assert!((80..=90).contains(&ttl), "{ttl}");
}

#[test]
fn an_unchanged_session_is_only_touched() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = new_session(&php, "alice");
    let () = server.connection().expire(key(&id), 100).unwrap();

    server.reset_stats();
    let v = php.json(SCRIPT, &["read", &id]);
    assert_eq!(v["session"], json!({"user": "alice"}));
    let stats = server.info_commandstats();
    assert_eq!(
        stats.get("setex"),
        None,
        "lazy write must not rewrite: {stats:?}"
    );
    assert_eq!(stats.get("expire"), Some(&1), "{stats:?}");
    let ttl: i64 = server.connection().ttl(key(&id)).unwrap();
    assert!(ttl > 1000, "update_timestamp refreshed the TTL: {ttl}");
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn early_refresh_reads_with_getex_and_needs_no_expire() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr())
        .ini("phpsess.early_refresh", "1")
        .ini("phpsess.locking_enabled", "0");
    let id = new_session(&php, "alice");
    let () = server.connection().expire(key(&id), 100).unwrap();

    server.reset_stats();
    let v = php.json(SCRIPT, &["read", &id]);
    assert_eq!(v["session"], json!({"user": "alice"}));
    let stats = server.info_commandstats();
    assert_eq!(stats.get("getex"), Some(&1), "{stats:?}");
    assert_eq!(stats.get("expire"), None, "{stats:?}");
    assert_eq!(stats.get("setex"), None, "{stats:?}");
    let ttl: i64 = server.connection().ttl(key(&id)).unwrap();
    assert!(ttl > 1000, "GETEX refreshed the TTL: {ttl}");
}

#[test]
fn strict_mode_replaces_unknown_ids_and_keeps_known_ones() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr()).ini("session.use_strict_mode", "1");
    let id = new_session(&php, "alice");

    let v = php.json(SCRIPT, &["read", &id]);
    assert_eq!(v["id"], json!(id), "a known id is kept");
    assert_eq!(v["session"], json!({"user": "alice"}));

    let unknown = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let v = php.json(SCRIPT, &["read", unknown]);
    assert_eq!(v["ok"], json!(true));
    let replaced = v["id"].as_str().unwrap();
    assert_ne!(
        replaced, unknown,
        "strict mode must not adopt an unknown id"
    );
    assert_eq!(replaced.len(), 32);
    assert_eq!(stored(&server, unknown), None);
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn destroy_deletes_the_session_and_its_lock() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = new_session(&php, "alice");
    php.json(SCRIPT, &["destroy", &id]);
    assert_eq!(stored(&server, &id), None);
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn regenerate_id_moves_the_data_to_a_new_id() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = new_session(&php, "alice");
    let v = php.json(SCRIPT, &["regenerate", &id]);
    let new = v["new"].as_str().unwrap();
    assert_eq!(
        stored(&server, &id),
        None,
        "session_regenerate_id(true) deletes the old one"
    );
    assert_eq!(
        stored(&server, new).as_deref(),
        Some(&b"user|s:5:\"alice\";regenerated|s:3:\"yes\";"[..])
    );
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn locking_is_on_by_default_so_a_second_request_waits_and_sees_the_first_ones_write() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = new_session(&php, "alice");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("locked");

    let holder = php.spawn(
        SCRIPT,
        &["hold", &id, marker.to_str().unwrap(), "1000", "bob"],
    );
    wait_for_file(&marker);
    let v = php.json(SCRIPT, &["wait", &id]);
    let out = holder.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    assert_eq!(v["ok"], json!(true), "{v}");
    assert_eq!(
        v["session"],
        json!({"user": "bob"}),
        "read after the holder's write"
    );
    let waited = v["ms"].as_f64().unwrap();
    assert!(
        waited >= 500.0,
        "waited only {waited} ms for a lock held 1000 ms"
    );
    assert_eq!(v["info"]["Lock waits"], json!("1"));
    assert_eq!(warnings(&v), Vec::<String>::new());
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn a_lock_held_too_long_fails_session_start_and_loses_nothing() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = new_session(&php, "alice");
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("locked");
    let holder = php.spawn(
        SCRIPT,
        &["hold", &id, marker.to_str().unwrap(), "3000", "bob"],
    );
    wait_for_file(&marker);

    let impatient = Php::standalone(&server.addr()).ini("phpsess.lock_wait_timeout", "300");
    let v = impatient.json(SCRIPT, &["wait", &id]);
    assert_eq!(v["ok"], json!(false));
    let ms = v["ms"].as_f64().unwrap();
    assert!((250.0..2000.0).contains(&ms), "gave up after {ms} ms");
    let w = warnings(&v);
    let ours = format!(
        "session_start(): phpsess: session lock PHPREDIS_SESSION:{}…_LOCK on tcp://{} is held by ",
        &id[..6],
        server.addr()
    );
    assert!(
        !w.iter().any(|w| w.contains(&id)),
        "session ids are credentials: {w:?}"
    );
    assert!(w[0].starts_with(&ours), "{w:?}");
    assert!(w[0].contains("; gave up after "), "{w:?}");
    assert_eq!(
        w[1],
        format!(
            "session_start(): Failed to read session data: phpsess (path: tcp://{})",
            server.addr()
        )
    );
    assert_eq!(v["info"]["Errors"], json!("1"));

    // A framework handler that hides the failed read still cannot write over the session.
    let v = impatient.json(SCRIPT, &["swallow", &id, "mallory"]);
    assert_eq!(v["calls"], json!(["read:failed", "write:refused"]), "{v}");

    let out = holder.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        stored(&server, &id).as_deref(),
        Some(&b"user|s:3:\"bob\";"[..])
    );
}

#[test]
fn a_failed_read_is_never_followed_by_a_write() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr()).ini("phpsess.locking_enabled", "0");
    let id = "wrongtypewrongtypewrongtype00000";
    // Not a string: GET fails with WRONGTYPE, SETEX would replace it.
    let () = server.connection().hset(key(id), "f", "v").unwrap();

    let v = php.json(SCRIPT, &["swallow", id, "mallory"]);
    assert_eq!(v["calls"], json!(["read:failed", "write:refused"]), "{v}");
    let w = warnings(&v);
    assert!(
        w[0].starts_with(&format!(
            "SessionHandler::read(): phpsess: read PHPREDIS_SESSION:wrongt… on tcp://{} failed: ",
            server.addr()
        )) && w[0].contains("WRONGTYPE"),
        "{w:?}"
    );
    assert_eq!(
        w[1],
        "SessionHandler::write(): phpsess: write of session wrongt… refused: reading it failed in this request, so the stored session is kept"
    );
    assert!(
        !w.iter().any(|w| w.contains(id)),
        "session ids are credentials: {w:?}"
    );
    let kind: String = redis::cmd("TYPE")
        .arg(key(id))
        .query(&mut server.connection())
        .unwrap();
    assert_eq!(kind, "hash");
}

#[test]
fn redis_down_fails_session_start_with_a_clear_warning_and_the_script_goes_on() {
    let port = ports::unused_port();
    let path = format!("tcp://127.0.0.1:{port}");
    let v = Php::new("phpsess", &path).json(SCRIPT, &["start"]);
    assert_eq!(v["ok"], json!(false));
    assert_eq!(v["active"], json!(false));
    assert_eq!(v["continued"], json!(true));
    let w = warnings(&v);
    assert_eq!(w.len(), 2, "{w:?}");
    let ours =
        format!("session_start(): phpsess: cannot connect to {path} (timeout 2s) for session ");
    assert!(w[0].starts_with(&ours), "{w:?}");
    assert!(w[0].ends_with("Connection refused (os error 111)"), "{w:?}");
    assert_eq!(
        w[1],
        format!("session_start(): Failed to read session data: phpsess (path: {path})")
    );
}

#[test]
fn an_unreachable_host_fails_within_its_connect_timeout() {
    let hole = SynBlackhole::start();
    let path = format!("tcp://{}?timeout=0.5", hole.addr());
    let v = Php::new("phpsess", &path).json(SCRIPT, &["start"]);
    assert_eq!(v["ok"], json!(false));
    assert_eq!(v["continued"], json!(true));
    let ms = v["ms"].as_f64().unwrap();
    assert!(
        (450.0..1500.0).contains(&ms),
        "one connect timeout, not two: {ms} ms"
    );
    let w = warnings(&v);
    let ours = format!(
        "session_start(): phpsess: cannot connect to tcp://{} (timeout 0.5s) for session ",
        hole.addr()
    );
    assert!(w[0].starts_with(&ours), "{w:?}");
    assert_eq!(w.len(), 2, "{w:?}");
}

#[test]
fn a_malformed_save_path_is_refused_naming_the_entry_and_offset() {
    let path = "tcp://127.0.0.1:6390, tcp://x:1?timeout=abc";
    let v = Php::new("phpsess", path).json(SCRIPT, &["start"]);
    assert_eq!(v["ok"], json!(false));
    assert_eq!(path.find("tcp://x"), Some(22));
    assert_eq!(
        warnings(&v),
        vec![
            "session_start(): phpsess: invalid save_path entry tcp://x:1?timeout=abc at offset 22: timeout must be a number of seconds, got 'abc' (handler phpsess)".to_owned(),
            format!("session_start(): Failed to initialize storage module: phpsess (path: {path})"),
        ]
    );
}

#[test]
fn a_panic_in_a_callback_becomes_a_warning_and_the_script_goes_on() {
    let server = RedisServer::start();
    for callback in ["open", "read"] {
        let v = Php::standalone(&server.addr())
            .env("PHPSESS_TEST_PANIC", callback)
            .json(SCRIPT, &["start"]);
        if v["ok"] == json!(true) && std::env::var_os("PHPSESS_EXT").is_some() {
            eprintln!(
                "skipped: $PHPSESS_EXT was built without the test-panic feature (make ext leaves \
                 the injection out); unset it to load the test build of `make test`"
            );
            return;
        }
        assert_eq!(v["ok"], json!(false), "{callback}");
        assert_eq!(v["continued"], json!(true));
        let w = warnings(&v);
        let ours = format!(
            "session_start(): phpsess: internal error in {callback}: injected by PHPSESS_TEST_PANIC (at "
        );
        assert!(w[0].starts_with(&ours), "{w:?}");
        assert!(w[0].ends_with("); please report this bug"), "{w:?}");
    }
    assert_eq!(
        lock_keys(&server),
        Vec::<String>::new(),
        "the new id's lock taken by create_sid is released when read fails"
    );
}

#[test]
fn zstd_compression_is_stored_as_phpredis_does_and_read_back() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr()).ini("phpsess.compression", "zstd");
    let id = new_session(&php, "alice");
    let raw = stored(&server, &id).unwrap();
    assert_eq!(
        &raw[..4],
        &[0x28, 0xb5, 0x2f, 0xfd],
        "a zstd frame: {raw:?}"
    );
    let v = php.json(SCRIPT, &["read", &id]);
    assert_eq!(v["session"], json!({"user": "alice"}));

    let refused = Php::standalone(&server.addr()).ini("phpsess.compression", "brotli");
    let v = refused.json(SCRIPT, &["start"]);
    assert_eq!(v["ok"], json!(true));
    assert_eq!(
        warnings(&v),
        vec!["session_start(): phpsess: phpsess.compression 'brotli' is not one of none, lzf, zstd, lz4; storing uncompressed"]
    );
}

#[test]
fn phpinfo_shows_effective_settings_and_this_workers_counters() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr())
        .ini("phpsess.locking_enabled", "0")
        .ini("phpsess.lock_wait_timeout", "250")
        .ini("session.gc_maxlifetime", "600");
    let v = php.json(SCRIPT, &["info", "alice"]);
    let info = &v["info"];
    let want = [
        ("phpsess support", "enabled"),
        ("Version", env!("CARGO_PKG_VERSION")),
        ("Save handlers", "phpsess phpsess_cluster"),
        ("Effective locking", "off"),
        ("Effective early refresh", "off"),
        ("Effective compression", "none"),
        ("Effective session TTL", "600 s (session.gc_maxlifetime)"),
        ("phpsess.locking_enabled", "0 => 0"),
        ("phpsess.lock_wait_timeout", "250 => 250"),
        ("phpsess.lock_expire", "0 => 0"),
        ("phpsess.lock_retry_interval", "20 => 20"),
        ("phpsess.compression", "none => none"),
        ("phpsess.compression_level", "3 => 3"),
        ("phpsess.early_refresh", "0 => 0"),
        // create_sid's collision check, the read, the write: one round trip each, unlocked.
        ("Requests", "1"),
        ("Round trips", "3"),
        ("Commands", "3"),
        ("Connections opened", "1"),
        ("Lock waits", "0"),
        ("Time waited for locks (ms)", "0"),
        ("Lock waits ended by a hand-off", "0"),
        ("Lock waits that polled (holder does not hand off)", "0"),
        ("Lock wait timeouts", "0"),
        (
            "Lock waits by duration (ms)",
            "<=2:0 <=10:0 <=50:0 <=200:0 <=1000:0 <=5000:0 >5000:0",
        ),
        ("Lock losses", "0"),
        ("Errors", "0"),
        ("Panics caught", "0"),
        ("Cached stores", "1"),
    ];
    for (name, value) in want {
        assert_eq!(info[name], json!(value), "{name}: {info}");
    }
    assert_eq!(
        info["This worker"]
            .as_str()
            .unwrap()
            .split_once(' ')
            .unwrap()
            .0,
        "pid"
    );
}

#[test]
fn a_redis_url_save_path_selects_its_database() {
    let server = RedisServer::start();
    let php = Php::new("phpsess", &format!("redis://{}/3", server.addr()));
    let id = new_session(&php, "alice");
    let mut con = server.connection();
    assert_eq!(stored(&server, &id), None, "not in database 0");
    let () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let data: Option<Vec<u8>> = con.get(key(&id)).unwrap();
    assert_eq!(data.as_deref(), Some(&b"user|s:5:\"alice\";"[..]));
    let v = php.json(SCRIPT, &["read", &id]);
    assert_eq!(v["session"], json!({"user": "alice"}));
}

// Hardening (issue 9): what users really write, and what an attacker sends.

#[test]
fn session_create_id_inside_a_locked_session_keeps_its_data_and_leaves_no_lock() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = new_session(&php, "alice");
    let v = php.json(SCRIPT, &["create_id_active", &id]);
    let new = v["new"].as_str().unwrap();
    let old =
        String::from_utf8(stored(&server, &id).expect("the old session was written")).unwrap();
    assert_eq!(
        old,
        format!("user|s:5:\"alice\";new_session_id|s:41:\"{new}\";destroyed|i:1;"),
        "the commit after session_create_id() is written, not refused"
    );
    assert_eq!(
        stored(&server, new).as_deref(),
        Some(&b"moved|s:3:\"yes\";"[..])
    );
    assert_eq!(
        lock_keys(&server),
        Vec::<String>::new(),
        "no lock left behind"
    );
    // And the user is not locked out: the next request reads at once.
    let v = Php::standalone(&server.addr())
        .ini("phpsess.lock_wait_timeout", "200")
        .json(SCRIPT, &["wait", &id]);
    assert_eq!(v["ok"], json!(true), "{v}");
}

#[test]
fn session_reset_keeps_the_request_state_and_its_lock() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let id = new_session(&php, "alice");
    let v = php.json(SCRIPT, &["reset", &id]);
    let count = |which: &str, row: &str| -> u64 {
        v[which][row]
            .as_str()
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{which}.{row} in {v}"))
    };
    assert_eq!(count("after", "Open session states"), 1, "{v}");
    assert_eq!(count("closed", "Open session states"), 0, "{v}");
    // Each session_reset() is one GET under the lock already held: no unlock, no new SET NX.
    assert_eq!(
        count("after", "Round trips") - count("before", "Round trips"),
        2,
        "{v}"
    );
    assert_eq!(
        count("after", "Commands") - count("before", "Commands"),
        2,
        "{v}"
    );
    assert_eq!(
        stored(&server, &id).as_deref(),
        Some(&b"user|s:5:\"alice\";after_reset|s:4:\"kept\";"[..])
    );
    assert_eq!(lock_keys(&server), Vec::<String>::new());
}

#[test]
fn a_handler_reading_another_id_writes_its_own_unless_someone_holds_its_lock() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let other = new_session(&php, "alice");
    let id = "bug70133bug70133bug70133bug7013";
    let v = php.json(SCRIPT, &["read_other", id, &other]);
    assert_eq!(v["ok"], json!(true), "{v}");
    assert_eq!(v["closed"], json!(true), "{v}");
    assert_eq!(warnings(&v), Vec::<String>::new());
    assert_eq!(
        stored(&server, id).as_deref(),
        Some(&b"user|s:5:\"alice\";via|s:5:\"other\";"[..])
    );
    assert_eq!(
        stored(&server, &other).as_deref(),
        Some(&b"user|s:5:\"alice\";"[..]),
        "the session read is not changed"
    );
    assert_eq!(lock_keys(&server), Vec::<String>::new());

    // Someone holds the lock of the id written: refused, with the holder named.
    let mut c = server.connection();
    let () = c
        .set_ex(format!("{}_LOCK", key(id)), "web01|4242", 30)
        .unwrap();
    let () = c.set(key(id), "keep|b:1;").unwrap();
    let v = php.json(SCRIPT, &["read_other", id, &other]);
    let w = warnings(&v);
    assert!(
        w.iter().any(|w| w.contains("is held by web01|4242")),
        "{w:?}"
    );
    assert_eq!(stored(&server, id).as_deref(), Some(&b"keep|b:1;"[..]));
}

/// Ids a cookie can carry (PHP strips only `\r\n\t <>'"\`): other keys under the prefix, lock
/// keys, cluster hash tags, PHP's own rfc1867_sid_invalid.phpt case, an id too long.
fn hostile_ids() -> Vec<String> {
    vec![
        "cache:config".into(),
        "bug70133bug70133bug70133bug7013_LOCK".into(),
        "_".into(),
        "{a}bcdefghijklmnopqrstuvwxyz".into(),
        "abc*".into(),
        "a".repeat(257),
    ]
}

#[test]
fn hostile_ids_never_reach_redis_and_strict_mode_replaces_them() {
    let server = RedisServer::start();
    let php = Php::standalone(&server.addr());
    let mut c = server.connection();
    // A foreign value under the session prefix, as a cache would keep it.
    let () = c.set(key("cache:config"), "user|s:5:\"admin\";").unwrap();
    for id in hostile_ids() {
        server.reset_stats();
        let v = php.json(SCRIPT, &["hostile", &id, "1"]);
        assert_eq!(v["ok"], json!(true), "{id}: {v}");
        let fresh = v["id"].as_str().unwrap();
        assert_eq!(fresh.len(), 32, "{id}: strict mode issues a fresh id: {v}");
        assert_eq!(v["session"], json!([]), "{id}: nothing read: {v}");
        assert_eq!(warnings(&v), Vec::<String>::new(), "{id}");
        let keys: Vec<String> = c.keys("*").unwrap();
        assert!(
            keys.iter()
                .all(|k| k == &key("cache:config") || k == &key(fresh)),
            "{id}: only the fresh session was written: {keys:?}"
        );
        let () = c.del(key(fresh)).unwrap();

        // Without strict mode the read fails, as with the files handler, and still no command.
        server.reset_stats();
        let v = php.json(SCRIPT, &["hostile", &id, "0"]);
        assert_eq!(v["ok"], json!(false), "{id}: {v}");
        let w = warnings(&v).join("\n");
        assert!(
            w.contains("only A-Z, a-z, 0-9, \"-\" and \",\" are allowed")
                || w.contains("longer than 256"),
            "{id}: {w}"
        );
        assert!(
            !w.contains(&id) || id.len() < 8,
            "{id}: the id is not echoed whole: {w}"
        );
        let stats = server.info_commandstats();
        assert!(
            stats.keys().all(|k| k == "info" || k.starts_with("config")),
            "{id}: no Redis command: {stats:?}"
        );
    }
    let foreign: String = c.get(key("cache:config")).unwrap();
    assert_eq!(foreign, "user|s:5:\"admin\";");
    let ttl: i64 = c.ttl(key("cache:config")).unwrap();
    assert_eq!(ttl, -1, "the foreign key got no session TTL");
}

#[test]
fn an_unknown_save_path_parameter_is_a_warning_naming_the_parameter_meant() {
    let server = RedisServer::start();
    let addr = server.addr();
    let v = Php::new(
        "phpsess",
        &format!("tcp://{addr}?databse=1&timout=2&prefix=T:"),
    )
    .json(SCRIPT, &["start"]);
    // It still connects, as phpredis does: the session starts (in database 0, with prefix T:).
    assert_eq!(v["ok"], json!(true), "{v}");
    assert_eq!(
        warnings(&v),
        [
            format!("session_start(): phpsess: unknown save_path parameter 'databse' in tcp://{addr} is ignored; did you mean 'database'? (handler phpsess)"),
            format!("session_start(): phpsess: unknown save_path parameter 'timout' in tcp://{addr} is ignored; did you mean 'timeout'? (handler phpsess)"),
        ]
    );
    let v = Php::new("phpsess", &format!("tcp://{addr}?database=1")).json(SCRIPT, &["start"]);
    assert_eq!(warnings(&v), Vec::<String>::new());
}

#[test]
fn a_paused_redis_with_a_password_fails_within_one_connect_timeout() {
    // Issue 9, point 16: connect, AUTH and SELECT each got their own timeout (4.03 s for
    // `timeout=2&auth=…`). A paused server accepts the connection (the kernel does) and never
    // answers AUTH: the whole session_start() must end within the one connect timeout.
    let server = RedisServer::builder().password("s3cret").start();
    let path = format!("tcp://{}?timeout=1&auth=s3cret&database=2", server.addr());
    server.pause();
    let v = Php::new("phpsess", &path).json(SCRIPT, &["start"]);
    server.resume();
    assert_eq!(v["ok"], json!(false), "{v}");
    let ms = v["ms"].as_f64().unwrap();
    assert!(
        (900.0..1600.0).contains(&ms),
        "one deadline, not one per step: {ms} ms"
    );
    let w = warnings(&v);
    assert!(
        w[0].contains("connected, but no reply to AUTH within the connect timeout"),
        "{w:?}"
    );
    // Ours never shows the password (PHP's own "Failed to read session data" prints the whole
    // save_path: hence phpsess.auth).
    assert!(!w[0].contains("s3cret"), "{w:?}");
}
