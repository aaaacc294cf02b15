//! The `phpsess_cluster` save handler (phpredis's `rediscluster` save_path syntax) in real PHP
//! against a real 3-master Redis Cluster: sessions written and read back by separate processes
//! under phpredis's cluster key names, locking (which phpredis's cluster handler lacks), destroy,
//! and save_path errors.

use std::time::{Duration, Instant};

use crate::support::{warnings, Php};
use phpsess_compat::servers::RedisCluster;
use redis::Commands;
use serde_json::json;

const SCRIPT: &str = "ext_session.php";

fn key(id: &str) -> String {
    format!("PHPREDIS_CLUSTER_SESSION:{id}")
}

#[test]
fn cluster_sessions_round_trip_lock_and_destroy() {
    let cluster = RedisCluster::builder().masters(3).replicas(0).start();
    let php = Php::new("phpsess_cluster", &cluster.seed_query());
    let mut con = cluster.connection();

    let v = php.json(SCRIPT, &["new", "alice"]);
    let id = v["id"].as_str().unwrap().to_owned();
    let stored: Option<Vec<u8>> = con.get(key(&id)).unwrap();
    assert_eq!(stored.as_deref(), Some(&b"user|s:5:\"alice\";"[..]));
    let lock: Option<String> = con.get(format!("{{{}}}_LOCK", key(&id))).unwrap();
    assert_eq!(lock, None, "lock (hash-tagged to the data's slot) released");

    let v = php.json(SCRIPT, &["read", &id]);
    assert_eq!(v["session"], json!({"user": "alice"}), "{v}");
    assert_eq!(warnings(&v), Vec::<String>::new());

    // Locking works on the cluster too: a second request waits for the first one's write.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("locked");
    let holder = php.spawn(
        SCRIPT,
        &["hold", &id, marker.to_str().unwrap(), "800", "bob"],
    );
    let start = Instant::now();
    while !marker.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "holder never locked"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let v = php.json(SCRIPT, &["wait", &id]);
    assert!(holder.wait_with_output().unwrap().status.success());
    assert_eq!(v["session"], json!({"user": "bob"}), "{v}");
    assert!(v["ms"].as_f64().unwrap() >= 400.0, "{v}");
    assert_eq!(v["info"]["Lock waits"], json!("1"));

    php.json(SCRIPT, &["destroy", &id]);
    let stored: Option<Vec<u8>> = con.get(key(&id)).unwrap();
    assert_eq!(stored, None);
}

#[test]
fn a_bad_cluster_save_path_names_the_pair_and_offset() {
    let path = "seed[]=127.0.0.1:7000&seed[]=nocolon";
    let v = Php::new("phpsess_cluster", path).json(SCRIPT, &["start"]);
    assert_eq!(v["ok"], json!(false));
    assert_eq!(path.find("seed[]=nocolon"), Some(22));
    assert_eq!(
        warnings(&v),
        vec![
            "session_start(): phpsess: invalid save_path entry seed[]=nocolon at offset 22: seed 'nocolon' is not in host:port format (phpredis ignores it with a warning) (handler phpsess_cluster)".to_owned(),
            format!("session_start(): Failed to initialize storage module: phpsess_cluster (path: {path})"),
        ]
    );
}
