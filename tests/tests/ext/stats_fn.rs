//! `phpsess_stats()`: the worker's counters returned to PHP (with `tests/php/ext_stats.php`).

use crate::support::Php;
use phpsess_compat::servers::RedisServer;

#[test]
fn phpsess_stats_returns_this_workers_counters() {
    let server = RedisServer::start();
    let v = Php::standalone(&server.addr()).json("ext_stats.php", &[]);
    assert_eq!(v["requests"], 1);
    // A locked request: lock + read, then write + unlock (the connection's handshake is not one).
    let round_trips = v["round_trips"].as_u64().unwrap();
    assert!((2..=3).contains(&round_trips), "{v}");
    assert!(v["commands"].as_u64().unwrap() >= 4, "{v}");
}
