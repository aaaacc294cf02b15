//! Mixed fleet, both directions: sessions written by phpredis 5.3.7 are read by phpsess with an
//! identical `$_SESSION`, and the reverse — on one host; on three weighted hosts with auth,
//! prefix and database; on a Redis Cluster (`rediscluster` ↔ `phpsess_cluster`) — for the `php`,
//! `php_serialize`, `php_binary` and `igbinary` serializers. Pairs with `tests/php/fleet_roundtrip.php`.
//!
//! Beyond what PHP sees, each test checks the stored side: the same session written by either
//! handler is byte-identical in Redis, sits under the same key on the same host (phpredis's
//! weighted host choice), with the TTL `session.gc_maxlifetime`, and no lock key is left behind.

use std::collections::BTreeMap;

use phpsess_compat::servers::{RedisCluster, RedisServer};
use phpsess_compat::web::fleet::weighted_host;
use phpsess_compat::web::{new_session_id, Handler, PhpCli, SERIALIZERS};
use redis::Commands;

/// One side of a round trip: `fleet_roundtrip.php MODE SERIALIZER:ID...` with this handler.
fn roundtrip(handler_name: &str, save_path: &str, mode: &str, sessions: &[(&str, String)]) {
    PhpCli::script("fleet_roundtrip.php")
        .ini("session.save_handler", handler_name)
        .ini("session.save_path", save_path)
        .arg(mode)
        .args(sessions.iter().map(|(s, id)| format!("{s}:{id}")))
        .run_ok();
}

/// One session id per serializer, tagged with the writer's name.
fn sessions_for(writer: Handler, tag: &str) -> Vec<(&'static str, String)> {
    SERIALIZERS
        .iter()
        .map(|s| {
            (
                *s,
                new_session_id(&format!("{tag}{}", &writer.to_string()[..4])),
            )
        })
        .collect()
}

/// Writes with each handler and reads with the other; returns, per serializer, the session ids
/// the two writers used (phpredis's first).
fn both_directions(
    names: impl Fn(Handler) -> &'static str,
    save_path: &str,
    tag: &str,
) -> BTreeMap<&'static str, Vec<(Handler, String)>> {
    let mut by_serializer: BTreeMap<&'static str, Vec<(Handler, String)>> = BTreeMap::new();
    for writer in Handler::BOTH {
        let sessions = sessions_for(writer, tag);
        roundtrip(names(writer), save_path, "write", &sessions);
        roundtrip(names(writer.other()), save_path, "read", &sessions);
        for (s, id) in sessions {
            by_serializer.entry(s).or_default().push((writer, id));
        }
    }
    by_serializer
}

fn lock_keys(con: &mut redis::Connection) -> Vec<String> {
    con.keys("*_LOCK").expect("KEYS *_LOCK")
}

#[test]
fn one_host_both_directions_every_serializer() {
    let redis = RedisServer::start();
    let save_path = format!("tcp://{}", redis.addr());
    let written = both_directions(Handler::name, &save_path, "one");
    let mut con = redis.connection();
    for (serializer, writers) in &written {
        let mut stored = Vec::new();
        for (writer, id) in writers {
            let key = format!("PHPREDIS_SESSION:{id}");
            let bytes: Option<Vec<u8>> = con.get(&key).expect("GET");
            let bytes = bytes.unwrap_or_else(|| panic!("{writer} wrote no {key} ({serializer})"));
            let ttl: i64 = con.ttl(&key).expect("TTL");
            assert!(
                (1430..=1440).contains(&ttl),
                "{key} written by {writer}: TTL {ttl}, want session.gc_maxlifetime 1440"
            );
            stored.push((writer, bytes));
        }
        assert_eq!(
            stored[0].1, stored[1].1,
            "serializer {serializer}: phpredis and phpsess stored different bytes for the same $_SESSION"
        );
    }
    assert_eq!(lock_keys(&mut con), Vec::<String>::new());
}

#[test]
fn three_weighted_hosts_with_auth_prefix_and_database() {
    const WEIGHTS: [u32; 3] = [1, 2, 3];
    const DB: i64 = 3;
    const PREFIX: &str = "fleet:w:";
    let servers: Vec<RedisServer> = (0..3)
        .map(|i| RedisServer::builder().password(format!("pw-{i}")).start())
        .collect();
    let save_path = servers
        .iter()
        .zip(WEIGHTS)
        .enumerate()
        .map(|(i, (s, w))| {
            format!(
                "tcp://{}?weight={w}&auth=pw-{i}&database={DB}&prefix=fleet%3Aw%3A&timeout=2",
                s.addr()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    // Five rounds of every serializer each way: 40 sessions, enough to reach every host.
    let mut written = Vec::new();
    for round in 0..5 {
        for (s, writers) in both_directions(Handler::name, &save_path, &format!("w{round}")) {
            written.extend(writers.into_iter().map(|(w, id)| (s, w, id)));
        }
    }
    let mut cons: Vec<redis::Connection> = servers
        .iter()
        .map(|s| {
            let mut con = s.connection();
            redis::cmd("SELECT").arg(DB).exec(&mut con).expect("SELECT");
            con
        })
        .collect();
    let mut per_host = [0usize; 3];
    for (serializer, writer, id) in &written {
        let key = format!("{PREFIX}{id}");
        let want = weighted_host(id, &WEIGHTS);
        per_host[want] += 1;
        for (i, con) in cons.iter_mut().enumerate() {
            let exists: bool = con.exists(&key).expect("EXISTS");
            assert_eq!(
                exists,
                i == want,
                "{key} ({serializer}, written by {writer}) on host {i} ({}): want it only on host {want}",
                servers[i].addr()
            );
        }
    }
    assert!(
        per_host.iter().all(|n| *n > 0),
        "sessions per host {per_host:?}: the test should reach every host"
    );
    for (i, s) in servers.iter().enumerate() {
        // Nothing in database 0: both handlers selected database 3 on every connection.
        let mut con0 = s.connection();
        let keys0: Vec<String> = con0.keys("*").expect("KEYS");
        assert_eq!(keys0, Vec::<String>::new(), "database 0 of host {i}");
        assert_eq!(lock_keys(&mut cons[i]), Vec::<String>::new(), "host {i}");
    }
}

#[test]
fn cluster_both_directions_every_serializer() {
    let cluster = RedisCluster::builder().password("cluster-pw").start();
    let seeds: Vec<String> = cluster
        .seeds()
        .iter()
        .take(3)
        .map(|s| format!("seed[]={s}"))
        .collect();
    let save_path = format!(
        "{}&auth=cluster-pw&timeout=2&read_timeout=2",
        seeds.join("&")
    );
    let written = both_directions(Handler::cluster_name, &save_path, "cl");
    let mut con = cluster.connection();
    let mut masters = std::collections::BTreeSet::new();
    for (serializer, writers) in &written {
        let mut stored = Vec::new();
        for (writer, id) in writers {
            let key = format!("PHPREDIS_CLUSTER_SESSION:{id}");
            masters.insert(cluster.master_of(&key));
            let bytes: Option<Vec<u8>> = con.get(&key).expect("GET");
            let bytes = bytes.unwrap_or_else(|| panic!("{writer} wrote no {key} ({serializer})"));
            let ttl: i64 = con.ttl(&key).expect("TTL");
            assert!((1430..=1440).contains(&ttl), "{key}: TTL {ttl}");
            stored.push(bytes);
        }
        assert_eq!(
            stored[0], stored[1],
            "serializer {serializer}: rediscluster and phpsess_cluster stored different bytes"
        );
    }
    assert!(
        masters.len() > 1,
        "all sessions hashed to one master ({masters:?}): the test should cross slots"
    );
}
