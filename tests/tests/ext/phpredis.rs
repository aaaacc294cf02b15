//! phpsess and phpredis (Debian's 5.3.7, `session.save_handler = redis`) side by side on one
//! Redis, as during a migration: each reads what the other wrote, and each respects the other's
//! session lock.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{warnings, Php};
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::json;

const SCRIPT: &str = "ext_session.php";

fn phpsess(addr: &str) -> Php {
    Php::standalone(addr)
}

/// phpredis with its session locking on, loaded after igbinary (which it links against).
fn phpredis(addr: &str) -> Php {
    Php::new("redis", &format!("tcp://{addr}"))
        .ini("extension", "igbinary")
        .ini("extension", "redis")
        .ini("redis.session.locking_enabled", "1")
}

fn wait_for_file(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "{path:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn phpredis_and_phpsess_share_sessions_and_respect_each_others_locks() {
    let server = RedisServer::start();
    let addr = server.addr();
    let key = |id: &str| format!("PHPREDIS_SESSION:{id}");

    // Each reads what the other wrote.
    let v = phpsess(&addr).json(SCRIPT, &["new", "alice"]);
    let id = v["id"].as_str().unwrap().to_owned();
    let v = phpredis(&addr).json(SCRIPT, &["set", &id, "user", "dave"]);
    assert_eq!(v["session"], json!({"user": "dave"}));
    let v = phpsess(&addr).json(SCRIPT, &["read", &id]);
    assert_eq!(v["session"], json!({"user": "dave"}), "{v}");

    // phpredis holds the lock: phpsess waits for it, then gives up naming the holder.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("phpredis-locked");
    let holder = phpredis(&addr).spawn(
        SCRIPT,
        &["hold", &id, marker.to_str().unwrap(), "1500", "erin"],
    );
    wait_for_file(&marker);
    let secret: String = server
        .connection()
        .get(format!("{}_LOCK", key(&id)))
        .unwrap();
    let v = phpsess(&addr)
        .ini("phpsess.lock_wait_timeout", "300")
        .json(SCRIPT, &["wait", &id]);
    assert_eq!(v["ok"], json!(false));
    let w = warnings(&v);
    assert!(
        w[0].contains(&format!("is held by {secret}; gave up after ")),
        "{w:?}"
    );
    assert!(holder.wait_with_output().unwrap().status.success());
    let stored: Vec<u8> = server.connection().get(key(&id)).unwrap();
    assert_eq!(stored, b"user|s:4:\"erin\";");

    // phpsess holds the lock: phpredis 5.3.7 cannot take it (it reads, read-only, with a notice).
    let marker = dir.path().join("phpsess-locked");
    let holder = phpsess(&addr).spawn(
        SCRIPT,
        &["hold", &id, marker.to_str().unwrap(), "1500", "frank"],
    );
    wait_for_file(&marker);
    let v = phpredis(&addr).json(SCRIPT, &["read", &id]);
    assert_eq!(v["session"], json!({"user": "erin"}));
    assert_eq!(
        warnings(&v),
        vec!["session_start(): Acquire of session lock was not successful"]
    );
    assert!(holder.wait_with_output().unwrap().status.success());
    let stored: Vec<u8> = server.connection().get(key(&id)).unwrap();
    assert_eq!(stored, b"user|s:5:\"frank\";");
    let locks: Vec<String> = server.connection().keys("*_LOCK").unwrap();
    assert_eq!(locks, Vec::<String>::new());
}
