//! Tests of the real-server harness itself (`phpsess_compat::servers`): every kind of server starts,
//! answers, and is gone after drop; auth, AOF, stats, the proxy's round-trip count and delay, cluster
//! failover and sentinel failover behave as the store tests will rely on.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use phpsess_compat::servers::{ports, Proxy, RedisCluster, RedisServer, SentinelSetup};
use redis::{Commands, IntoConnectionInfo};

fn process_gone(pid: u32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// Sends one raw command and reads until the expected reply has arrived.
fn raw_roundtrip(stream: &mut TcpStream, request: &[u8], expected: &[u8]) {
    stream.write_all(request).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while got.len() < expected.len() {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "connection closed after {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(expected)
    );
}

#[test]
fn plain_server_answers_and_is_cleaned_up_on_drop() {
    let server = RedisServer::start();
    assert_ne!(server.port(), 6379);
    assert_eq!(server.addr(), format!("127.0.0.1:{}", server.port()));
    assert_eq!(
        server.url(),
        format!("redis://127.0.0.1:{}/", server.port())
    );
    let mut con = server.connection();
    let () = con.set("k", "v").unwrap();
    let v: String = con.get("k").unwrap();
    assert_eq!(v, "v");
    // No persistence unless asked.
    let save: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query(&mut con)
        .unwrap();
    assert_eq!(save, vec!["save".to_owned(), String::new()]);

    let pid = server.pid().unwrap();
    let dir = server.dir().to_path_buf();
    assert!(dir.join("redis.log").exists());
    assert!(!process_gone(pid));
    drop(con);
    drop(server);
    assert!(
        process_gone(pid),
        "redis-server {pid} still running after drop"
    );
    assert!(!dir.exists(), "{} not removed", dir.display());
}

#[test]
fn password_refuses_unauthenticated_access() {
    let server = RedisServer::builder().password("pw").start();
    assert_eq!(
        server.url(),
        format!("redis://:pw@127.0.0.1:{}/", server.port())
    );
    let mut anon = server.connection_as(None, None).unwrap();
    let err = redis::cmd("GET")
        .arg("k")
        .query::<Option<String>>(&mut anon)
        .unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"), "{err}");
    let err = server
        .connection_as(None, Some("wrong"))
        .err()
        .expect("connection must be refused");
    assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err}");

    let mut con = server.connection();
    let () = con.set("k", "v").unwrap();
    // The URL carries the password.
    let mut by_url = redis::Client::open(server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let v: String = by_url.get("k").unwrap();
    assert_eq!(v, "v");
}

#[test]
fn acl_user_needs_its_own_password() {
    let server = RedisServer::builder()
        .password("pw")
        .acl_user("alice", "pw2")
        .start();
    assert_eq!(
        server.acl_users(),
        &[("alice".to_owned(), "pw2".to_owned())]
    );
    let mut alice = server.connection_as(Some("alice"), Some("pw2")).unwrap();
    let who: String = redis::cmd("ACL").arg("WHOAMI").query(&mut alice).unwrap();
    assert_eq!(who, "alice");
    let err = server
        .connection_as(Some("alice"), Some("pw"))
        .err()
        .expect("connection must be refused");
    assert_eq!(err.kind(), redis::ErrorKind::AuthenticationFailed, "{err}");
    let mut anon = server.connection_as(None, None).unwrap();
    let err = redis::cmd("PING").query::<String>(&mut anon).unwrap_err();
    assert_eq!(err.code(), Some("NOAUTH"), "{err}");
}

#[test]
fn aof_data_survives_restart_on_the_same_port() {
    let mut server = RedisServer::builder().appendonly(true).start();
    let port = server.port();
    let old_pid = server.pid().unwrap();
    let () = server.connection().set("session", "data").unwrap();
    server.restart();
    assert_eq!(server.port(), port);
    assert_ne!(server.pid(), Some(old_pid));
    assert!(process_gone(old_pid));
    let v: Option<String> = server.connection().get("session").unwrap();
    assert_eq!(v.as_deref(), Some("data"));
}

#[test]
fn without_aof_restart_loses_data() {
    // The counterpart of the AOF test: proves that test can fail.
    let mut server = RedisServer::start();
    let () = server.connection().set("session", "data").unwrap();
    server.restart();
    let v: Option<String> = server.connection().get("session").unwrap();
    assert_eq!(v, None);
}

#[test]
fn kill_stops_the_server_and_restart_brings_it_back() {
    let mut server = RedisServer::builder().appendonly(true).start();
    let () = server.connection().set("k", "before kill").unwrap();
    let pid = server.pid().unwrap();
    server.kill();
    assert!(!server.is_running());
    assert_eq!(server.pid(), None);
    assert!(process_gone(pid));
    let err = server
        .connection_as(None, None)
        .err()
        .expect("connection must be refused");
    assert!(err.is_connection_refusal(), "{err}");
    server.restart();
    // Written to the AOF before the reply, so it survives SIGKILL of the process.
    let v: Option<String> = server.connection().get("k").unwrap();
    assert_eq!(v.as_deref(), Some("before kill"));
}

#[test]
fn unix_socket_answers() {
    let server = RedisServer::builder().unix_socket(true).start();
    let path = server.unix_socket().unwrap().to_path_buf();
    assert_eq!(path, server.dir().join("redis.sock"));
    let info: redis::ConnectionInfo = redis::ConnectionAddr::Unix(path)
        .into_connection_info()
        .unwrap();
    let mut con = redis::Client::open(info).unwrap().get_connection().unwrap();
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    assert_eq!(RedisServer::start().unix_socket(), None);
}

#[test]
fn arg_passes_config_and_replaces_harness_defaults() {
    let server = RedisServer::builder()
        .arg("maxmemory", "10mb")
        .arg("save", "900 1")
        .start();
    let mut con = server.connection();
    let get = |con: &mut redis::Connection, key: &str| -> Vec<String> {
        redis::cmd("CONFIG").arg("GET").arg(key).query(con).unwrap()
    };
    assert_eq!(get(&mut con, "maxmemory"), ["maxmemory", "10485760"]);
    assert_eq!(get(&mut con, "save"), ["save", "900 1"]);
}

#[test]
fn commandstats_count_exactly_what_the_test_ran() {
    let server = RedisServer::builder().password("pw").start();
    let mut con = server.connection();
    let () = con.set("a", 1).unwrap();
    server.reset_stats();
    for _ in 0..3 {
        let _: Option<String> = con.get("a").unwrap();
    }
    let () = con.set("a", 2).unwrap();
    let stats = server.info_commandstats();
    assert_eq!(stats.get("get"), Some(&3));
    assert_eq!(stats.get("set"), Some(&1));
    // Measured on Redis 7.0: CONFIG RESETSTAT counts itself after zeroing, the INFO that reads the
    // stats is not in them yet, its connection's AUTH is; harness connections send no CLIENT SETINFO.
    let mut entries: Vec<(&str, u64)> = stats.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    entries.sort_unstable();
    assert_eq!(
        entries,
        [("auth", 1), ("config|resetstat", 1), ("get", 3), ("set", 1)]
    );

    server.reset_stats();
    let before = server.total_commands_processed();
    let _: Option<String> = con.get("a").unwrap();
    let after = server.total_commands_processed();
    // Each total_commands_processed() runs AUTH + INFO; the first INFO is counted by the second.
    assert_eq!(after - before, 1 + 2);
}

#[test]
fn proxy_counts_one_round_trip_per_request_and_per_pipeline() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    assert_ne!(proxy.port(), server.port());
    let client = redis::Client::open(format!("redis://{}/", proxy.addr())).unwrap();
    let mut con = client.get_connection().unwrap();
    assert_eq!(proxy.connections(), 1);
    // The connection setup (CLIENT SETINFO x2, pipelined) was one round trip.
    assert_eq!(proxy.round_trips(), 1);

    proxy.reset();
    let _: Option<String> = con.get("k").unwrap();
    assert_eq!(proxy.round_trips(), 1);

    proxy.reset();
    let (ok, v): (String, String) = redis::pipe()
        .cmd("SET")
        .arg("k")
        .arg("v")
        .cmd("GET")
        .arg("k")
        .query(&mut con)
        .unwrap();
    assert_eq!((ok.as_str(), v.as_str()), ("OK", "v"));
    assert_eq!(proxy.round_trips(), 1);

    proxy.reset();
    for _ in 0..5 {
        let _: String = con.get("k").unwrap();
    }
    assert_eq!(proxy.round_trips(), 5);
    assert_eq!(proxy.connections(), 0);

    // A reply that is larger than one read still is one round trip.
    let big = vec![b'x'; 3 * 1024 * 1024];
    let () = con.set("big", &big).unwrap();
    proxy.reset();
    let got: Vec<u8> = con.get("big").unwrap();
    assert_eq!(got.len(), big.len());
    assert_eq!(proxy.round_trips(), 1);

    // Raw bytes: one PING, one turn.
    let mut raw = TcpStream::connect(proxy.addr()).unwrap();
    proxy.reset();
    raw_roundtrip(&mut raw, b"PING\r\n", b"+PONG\r\n");
    assert_eq!(proxy.round_trips(), 1);
    raw_roundtrip(&mut raw, b"PING\r\nPING\r\n", b"+PONG\r\n+PONG\r\n");
    assert_eq!(proxy.round_trips(), 2);
}

#[test]
fn proxy_delays_every_reply_and_the_first_one_twice() {
    const DELAY: Duration = Duration::from_millis(60);
    let server = RedisServer::builder().password("pw").start();
    let proxy = Proxy::start(server.addr(), DELAY);
    let client = redis::Client::open(format!("redis://:pw@{}/", proxy.addr())).unwrap();

    let start = Instant::now();
    let mut con = client.get_connection().unwrap();
    let connect = start.elapsed();
    // AUTH + CLIENT SETINFO is the first reply: handshake delay + reply delay.
    assert!(connect >= 2 * DELAY, "connect took {connect:?}");
    assert_eq!(proxy.round_trips(), 1);

    proxy.reset();
    let start = Instant::now();
    for _ in 0..3 {
        let _: Option<String> = con.get("k").unwrap();
    }
    let three = start.elapsed();
    assert_eq!(proxy.round_trips(), 3);
    assert!(three >= 3 * DELAY, "3 round trips took {three:?}");

    proxy.reset();
    let start = Instant::now();
    let _: (Option<String>, Option<String>, Option<String>) = redis::pipe()
        .get("a")
        .get("b")
        .get("c")
        .query(&mut con)
        .unwrap();
    let pipelined = start.elapsed();
    assert_eq!(proxy.round_trips(), 1);
    assert!(pipelined >= DELAY, "pipeline took {pipelined:?}");
    // One delay, not three: generous margin for a loaded machine, still below 3 delays.
    assert!(
        pipelined < 2 * DELAY + DELAY / 2,
        "pipeline took {pipelined:?}"
    );

    // Zero delay from now on.
    proxy.set_delay(Duration::ZERO);
    let start = Instant::now();
    let _: Option<String> = con.get("k").unwrap();
    assert!(
        start.elapsed() < DELAY,
        "took {:?} after set_delay(0)",
        start.elapsed()
    );
}

#[test]
fn proxy_disconnect_all_breaks_open_connections() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let mut con = redis::Client::open(format!("redis://{}/", proxy.addr()))
        .unwrap()
        .get_connection()
        .unwrap();
    let _: Option<String> = con.get("k").unwrap();
    assert_eq!(proxy.open_connections(), 1);
    proxy.disconnect_all();
    assert_eq!(proxy.open_connections(), 0);
    let err = con.get::<_, Option<String>>("k").unwrap_err();
    assert!(err.is_io_error() || err.is_connection_dropped(), "{err}");
}

#[test]
fn proxy_closes_the_client_when_the_server_is_down() {
    let mut server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    server.kill();
    let mut raw = TcpStream::connect(proxy.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = raw.write_all(b"PING\r\n");
    let mut buf = [0u8; 16];
    let n = raw.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "got {:?}", &buf[..n]);
}

#[test]
fn blackhole_accepts_and_never_answers() {
    let proxy = Proxy::blackhole();
    let mut raw = TcpStream::connect(proxy.addr()).unwrap();
    raw.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    raw.write_all(b"PING\r\n").unwrap();
    let mut buf = [0u8; 16];
    let start = Instant::now();
    let err = raw.read(&mut buf).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    assert!(start.elapsed() >= Duration::from_millis(250));
    assert_eq!(proxy.connections(), 1);
    assert_eq!(proxy.round_trips(), 0);

    // The redis client times out too.
    let client = redis::Client::open(format!("redis://{}/", proxy.addr())).unwrap();
    let con = client.get_connection_with_timeout(Duration::from_millis(300));
    let err = con
        .err()
        .expect("a blackhole cannot complete the connection setup");
    assert!(err.is_timeout(), "{err}");
}

#[test]
fn free_ports_are_distinct_and_cluster_ports_leave_room_for_the_bus() {
    let a = ports::free_port();
    let b = ports::free_port();
    assert_ne!(a, b);
    for _ in 0..20 {
        let p = ports::free_cluster_port();
        assert!(p <= ports::MAX_CLUSTER_PORT, "{p}");
        assert!(ports::is_free(p) && ports::is_free(p + ports::CLUSTER_BUS_OFFSET));
    }
}

#[test]
fn cluster_fails_over_and_keeps_keys_readable() {
    let started = Instant::now();
    let mut cluster = RedisCluster::start();
    assert_eq!(cluster.seeds().len(), 6);
    assert_eq!(cluster.masters().len(), 3);
    let pids = cluster.pids();
    assert_eq!(pids.len(), 6);

    let mut con = cluster.connection();
    let keys: Vec<String> = (0..30).map(|i| format!("PHPREDIS_SESSION:{i}")).collect();
    for key in &keys {
        let () = con.set(key, format!("value of {key}")).unwrap();
    }
    let key = &keys[0];
    let slot = cluster.slot_of(key);
    // Known slot from the Redis Cluster specification.
    assert_eq!(cluster.slot_of("foo"), 12182);
    let old = cluster.master_of(key);
    let replicas = cluster.replicas_for_slot(slot);
    assert_eq!(replicas.len(), 1);
    assert_eq!(cluster.master_for_slot(slot), old);

    let new = cluster.kill_master_of(key);
    assert_ne!(new, old);
    assert_eq!(new, replicas[0]);
    assert_eq!(cluster.master_of(key), new);
    assert_eq!(cluster.seeds().len(), 5);
    assert!(!cluster.seeds().contains(&old));

    let mut con = cluster.connection();
    for key in &keys {
        let v: String = con.get(key).unwrap();
        assert_eq!(v, format!("value of {key}"));
    }
    let () = con.set(key, "after failover").unwrap();
    let v: String = con.get(key).unwrap();
    assert_eq!(v, "after failover");
    drop(con);

    drop(cluster);
    for pid in pids {
        assert!(
            process_gone(pid),
            "cluster node {pid} still running after drop"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "cluster test took {:?}",
        started.elapsed()
    );
}

#[test]
fn sentinel_fails_over_to_the_replica() {
    let started = Instant::now();
    let mut setup = SentinelSetup::builder().master_name("sessions").start();
    assert_eq!(setup.master_name(), "sessions");
    let sentinels = setup.sentinel_addrs();
    assert_eq!(sentinels.len(), 3);
    let old = setup.master_addr();
    for addr in &sentinels {
        let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
        assert_eq!(setup.sentinel_master_addr(port).unwrap(), old);
    }
    let pids = setup.pids();
    assert_eq!(pids.len(), 5);

    let () = setup.master_connection().set("k", "v").unwrap();
    let replica = setup.replica().addr();
    assert_eq!(setup.kill_master(), old);
    let new = setup.wait_for_failover();
    assert_ne!(new, old);
    assert_eq!(new, replica);
    assert_eq!(setup.master_addr(), new);
    let mut con = setup.master_connection();
    let v: String = con.get("k").unwrap();
    assert_eq!(v, "v");
    let () = con.set("k", "written to the new master").unwrap();

    drop(con);
    drop(setup);
    for pid in pids {
        assert!(process_gone(pid), "process {pid} still running after drop");
    }
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "sentinel test took {:?}",
        started.elapsed()
    );
}

#[test]
#[should_panic(expected = "Bad directive or wrong number of arguments")]
fn a_server_that_cannot_start_panics_with_its_log() {
    // redis-server rejects the config and exits; the panic message carries its stderr.
    let _server = RedisServer::builder().arg("no-such-directive", "x").start();
}
