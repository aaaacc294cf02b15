//! The Redis session store against real redis-server processes: exact commands and round trips,
//! locking (contention, expiry, loss), TTLs, auth, weighted hosts, AOF restarts, broken
//! connections and timeouts.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use phpsess::store::{
    pick_host, Endpoint, HostSpec, LockOptions, SessionStore, StoreOptions, Topology,
    DEFAULT_PREFIX,
};
use phpsess::Error;
use phpsess_compat::servers::{signal, Proxy, RedisServer};
use redis::Commands;

fn tcp(addr: &str) -> Endpoint {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    Endpoint::tcp(host, port.parse().expect("port"))
}

fn store_at(addr: &str, options: StoreOptions) -> SessionStore {
    let topology = Topology::hosts(vec![HostSpec::new(tcp(addr))]).expect("topology");
    SessionStore::new(topology, options)
}

fn locked() -> StoreOptions {
    StoreOptions::default()
}

fn unlocked() -> StoreOptions {
    StoreOptions::default().with_lock(LockOptions::disabled())
}

fn key(id: &str) -> String {
    format!("{DEFAULT_PREFIX}{id}")
}

#[test]
fn locked_request_costs_two_round_trips_and_four_commands() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let mut store = store_at(&proxy.addr(), locked());
    // Warm up: the first script call of a fresh server loads the script (NOSCRIPT, then EVAL).
    store.read("warmup0000000000").unwrap();
    store.write("warmup0000000000", b"x|i:1;").unwrap();

    server.reset_stats();
    proxy.reset();
    let id = "k3vq5ctk0nb0gq3s6bqvkbmc4m";
    let read = store.read(id).unwrap();
    assert_eq!(read.data, None);
    store.write(id, b"user|i:42;").unwrap();
    store.close().unwrap();

    assert_eq!(
        proxy.round_trips(),
        2,
        "lock+read pipelined, then write+unlock script"
    );
    // On the wire: SET NX PX, GET lock, GET data | EVALSHA. Redis also counts the commands the
    // script runs (GET lock, SETEX, DEL).
    let stats = server.info_commandstats();
    assert_eq!(stats.get("set"), Some(&1), "{stats:?}");
    assert_eq!(
        stats.get("get"),
        Some(&3),
        "lock holder, data, and the script's check: {stats:?}"
    );
    assert_eq!(stats.get("evalsha"), Some(&1), "{stats:?}");
    assert_eq!(
        stats.get("setex"),
        Some(&1),
        "the script's SETEX: {stats:?}"
    );
    assert_eq!(stats.get("del"), Some(&1), "the script's unlock: {stats:?}");
    let mut c = server.connection();
    let stored: Vec<u8> = c.get(key(id)).unwrap();
    assert_eq!(stored, b"user|i:42;");
    let ttl: i64 = c.ttl(key(id)).unwrap();
    assert!((1430..=1440).contains(&ttl), "ttl {ttl}");
    let lock: Option<String> = c.get(format!("{}_LOCK", key(id))).unwrap();
    assert_eq!(lock, None, "unlocked after the write");
}

#[test]
fn unlocked_request_is_one_round_trip_each_way_and_early_refresh_saves_the_second() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let mut store = store_at(&proxy.addr(), unlocked());
    let id = "unlocked0000000000000000";
    store.read(id).unwrap();
    store.write(id, b"a|i:1;").unwrap();
    proxy.reset();
    server.reset_stats();
    assert_eq!(
        store.read(id).unwrap().data.as_deref(),
        Some(&b"a|i:1;"[..])
    );
    store.touch(id).unwrap();
    assert_eq!(proxy.round_trips(), 2, "GET then EXPIRE");
    let stats = server.info_commandstats();
    assert_eq!(
        (stats.get("get"), stats.get("expire")),
        (Some(&1), Some(&1)),
        "{stats:?}"
    );

    let mut early = store_at(&proxy.addr(), unlocked().with_early_refresh(true));
    early.read(id).unwrap();
    proxy.reset();
    server.reset_stats();
    let read = early.read(id).unwrap();
    assert!(read.refreshed);
    early.touch(id).unwrap();
    early.close().unwrap();
    assert_eq!(proxy.round_trips(), 1, "GETEX only");
    assert_eq!(server.info_commandstats().get("getex"), Some(&1));
}

#[test]
fn early_refresh_falls_back_when_the_server_has_no_getex() {
    // rename-command makes GETEX unknown, as on Redis < 6.2.
    let server = RedisServer::builder().disable_command("GETEX").start();
    let mut store = store_at(&server.addr(), unlocked().with_early_refresh(true));
    let id = "old0000000000000000000";
    store.write(id, b"v|i:1;").unwrap();
    let read = store.read(id).unwrap();
    assert_eq!(read.data.as_deref(), Some(&b"v|i:1;"[..]));
    assert!(!read.refreshed, "plain GET after the fallback");
    store.touch(id).unwrap();
}

#[test]
fn a_held_lock_blocks_until_released_and_the_waiter_sees_the_write() {
    let server = RedisServer::start();
    let id = "contended000000000000000";
    let addr = server.addr();
    let mut first = store_at(&addr, locked());
    first.read(id).unwrap();
    let waiter = std::thread::spawn(move || {
        let mut second = store_at(&addr, locked());
        let started = Instant::now();
        let data = second.read(id).unwrap().data;
        second.close().unwrap();
        (data, started.elapsed(), second.stats().lock_waits)
    });
    std::thread::sleep(Duration::from_millis(300));
    first.write(id, b"n|i:1;").unwrap();
    let (data, waited, waits) = waiter.join().unwrap();
    assert_eq!(
        data.as_deref(),
        Some(&b"n|i:1;"[..]),
        "the waiter reads what the holder wrote"
    );
    assert!(waited >= Duration::from_millis(250), "waited {waited:?}");
    assert_eq!(waits, 1);
}

#[test]
fn concurrent_increments_under_locking_lose_nothing() {
    let server = RedisServer::start();
    let id = "counter00000000000000000";
    let threads = 8;
    let rounds = 25;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let addr = server.addr();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let opts = StoreOptions::default().with_lock(
                    LockOptions::default()
                        .with_wait(Duration::from_secs(20))
                        .with_retry_interval(Duration::from_millis(2)),
                );
                let mut store = store_at(&addr, opts);
                barrier.wait();
                for _ in 0..rounds {
                    let data = store.read(id).unwrap().data.unwrap_or_default();
                    let n: u64 = std::str::from_utf8(&data)
                        .ok()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    store.write(id, (n + 1).to_string().as_bytes()).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let n: u64 = server.connection().get(key(id)).unwrap();
    assert_eq!(n, (threads * rounds) as u64);
}

/// `slow` reads `id` under a 200 ms lock and outlives it; `fast` then reads it, taking the lock.
fn lock_taken_over(server: &RedisServer, id: &str) -> (SessionStore, SessionStore) {
    let short = StoreOptions::default()
        .with_lock(LockOptions::default().with_expire(Duration::from_millis(200)));
    let mut slow = store_at(&server.addr(), short.clone());
    slow.read(id).unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let mut fast = store_at(&server.addr(), short);
    fast.read(id).unwrap();
    (slow, fast)
}

#[test]
fn an_expired_lock_is_taken_over_and_the_late_write_is_refused() {
    let server = RedisServer::start();
    let id = "expiring0000000000000000";
    let (mut slow, mut fast) = lock_taken_over(&server, id);
    fast.write(id, b"winner|b:1;").unwrap();
    let err = slow.write(id, b"loser|b:1;").unwrap_err();
    assert!(matches!(err, Error::LockLost { .. }), "{err}");
    assert!(err.to_string().contains("is no longer ours"), "{err}");
    assert_eq!(slow.stats().lock_losses, 1);
    let stored: Vec<u8> = server.connection().get(key(id)).unwrap();
    assert_eq!(stored, b"winner|b:1;", "nothing silently overwritten");
}

#[test]
fn a_lock_held_by_phpredis_makes_us_wait_and_names_the_holder() {
    let server = RedisServer::start();
    let id = "phpredislocked0000000000";
    let mut c = server.connection();
    // What phpredis sends: SET <key>_LOCK <host|pid> NX PX <ms>.
    let _: () = redis::cmd("SET")
        .arg(format!("{}_LOCK", key(id)))
        .arg("web01|4242")
        .arg("NX")
        .arg("PX")
        .arg(60000)
        .query(&mut c)
        .unwrap();
    let opts = StoreOptions::default()
        .with_lock(LockOptions::default().with_wait(Duration::from_millis(300)));
    let mut store = store_at(&server.addr(), opts);
    let started = Instant::now();
    let err = store.read(id).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    assert!(err.to_string().contains("held by web01|4242"), "{err}");
    // And the failed read refuses the later write.
    let err = store.write(id, b"x|i:1;").unwrap_err();
    assert!(matches!(err, Error::WriteRefused { .. }), "{err}");
    let exists: bool = c.exists(key(id)).unwrap();
    assert!(!exists);
}

#[test]
fn locks_we_take_block_a_phpredis_style_set_nx() {
    let server = RedisServer::start();
    let id = "ourlock00000000000000000";
    let mut store = store_at(&server.addr(), locked());
    store.read(id).unwrap();
    let mut c = server.connection();
    let got: Option<String> = redis::cmd("SET")
        .arg(format!("{}_LOCK", key(id)))
        .arg("web02|1")
        .arg("NX")
        .arg("PX")
        .arg(1000)
        .query(&mut c)
        .unwrap();
    assert_eq!(
        got, None,
        "phpredis's SET NX must fail while we hold the lock"
    );
    let ttl: i64 = c.pttl(format!("{}_LOCK", key(id))).unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "our lock always has a TTL: {ttl}");
    store.close().unwrap();
    let got: Option<String> = redis::cmd("SET")
        .arg(format!("{}_LOCK", key(id)))
        .arg("web02|1")
        .arg("NX")
        .arg("PX")
        .arg(1000)
        .query(&mut c)
        .unwrap();
    assert_eq!(got.as_deref(), Some("OK"), "released on close");
}

#[test]
fn destroy_exists_and_collision_checked_ids() {
    let server = RedisServer::start();
    let mut store = store_at(&server.addr(), locked());
    let taken = "taken0000000000000000000";
    store.read(taken).unwrap();
    store.write(taken, b"a|i:1;").unwrap();
    assert!(store.exists(taken).unwrap());
    let mut candidates = vec!["fresh000000000000000000".to_string(), taken.to_string()];
    let id = store.create_id(|| candidates.pop().unwrap()).unwrap();
    assert_eq!(id, "fresh000000000000000000", "the colliding id is skipped");
    let lock: Option<String> = server
        .connection()
        .get(format!("{}_LOCK", key(&id)))
        .unwrap();
    assert!(lock.is_some(), "the new id is locked for this request");
    store.write(&id, b"").unwrap();
    store.read(taken).unwrap();
    store.destroy(taken).unwrap();
    assert!(!store.exists(taken).unwrap());
    let lock: Option<String> = server
        .connection()
        .get(format!("{}_LOCK", key(taken)))
        .unwrap();
    assert_eq!(lock, None, "destroy released our lock");
    assert!(matches!(
        store.read("").unwrap_err(),
        Error::InvalidId { .. }
    ));
}

#[test]
fn password_and_acl_users_authenticate_and_a_wrong_password_names_the_host() {
    let server = RedisServer::builder()
        .password("s3cret")
        .acl_user("alice", "wonder")
        .start();
    let id = "authed000000000000000000";
    let t = Topology::from_save_path(&format!("tcp://{}?auth=s3cret", server.addr())).unwrap();
    let mut store = SessionStore::new(t, unlocked());
    store.write(id, b"a|i:1;").unwrap();
    let t = Topology::from_save_path(&format!(
        "tcp://{}?auth[]=alice&auth[]=wonder",
        server.addr()
    ))
    .unwrap();
    let mut alice = SessionStore::new(t, unlocked());
    assert_eq!(
        alice.read(id).unwrap().data.as_deref(),
        Some(&b"a|i:1;"[..])
    );
    let t = Topology::from_save_path(&format!("tcp://{}?auth=wrong", server.addr())).unwrap();
    let mut bad = SessionStore::new(t, unlocked());
    let err = bad.read(id).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("authentication failed on tcp://{}", server.addr())),
        "{err}"
    );
}

#[test]
fn weighted_hosts_place_sessions_where_phpredis_would() {
    let servers: Vec<RedisServer> = (0..3)
        .map(|_| RedisServer::builder().password("pw").start())
        .collect();
    let save_path = format!(
        "tcp://{}?weight=1&auth=pw&prefix=A:, tcp://{}?weight=2&auth=pw&database=2, tcp://{}?weight=3&auth=pw&prefix=C:",
        servers[0].addr(),
        servers[1].addr(),
        servers[2].addr()
    );
    let mut store = SessionStore::new(Topology::from_save_path(&save_path).unwrap(), locked());
    let prefixes = ["A:", DEFAULT_PREFIX, "C:"];
    let mut seen = [0; 3];
    for i in 0..60 {
        let id = format!("{:08x}sessionid{i:04}", i * 2_654_435_761u64);
        store.read(&id).unwrap();
        store.write(&id, format!("i|i:{i};").as_bytes()).unwrap();
        let host = pick_host(id.as_bytes(), &[1, 2, 3]).unwrap();
        seen[host] += 1;
        let mut c = servers[host].connection();
        if host == 1 {
            let _: () = redis::cmd("SELECT").arg(2).query(&mut c).unwrap();
        }
        let stored: Option<Vec<u8>> = c.get(format!("{}{id}", prefixes[host])).unwrap();
        assert_eq!(
            stored,
            Some(format!("i|i:{i};").into_bytes()),
            "id {id} on host {host}"
        );
        let lock_left: bool = c.exists(format!("{}{id}_LOCK", prefixes[host])).unwrap();
        assert!(!lock_left, "the lock is released on the id's own host");
    }
    assert!(
        seen.iter().all(|&n| n > 0),
        "every host got sessions: {seen:?}"
    );
}

#[test]
fn sessions_survive_an_aof_restart() {
    let mut server = RedisServer::builder()
        .appendonly(true)
        .arg("appendfsync", "always")
        .start();
    let mut store = store_at(&server.addr(), unlocked());
    let ids: Vec<String> = (0..20).map(|i| format!("aof{i:021}")).collect();
    for id in &ids {
        store.write(id, id.as_bytes()).unwrap();
    }
    server.restart();
    let mut store = store_at(&server.addr(), unlocked());
    for id in &ids {
        assert_eq!(
            store.read(id).unwrap().data.as_deref(),
            Some(id.as_bytes()),
            "{id}"
        );
    }
}

#[test]
fn a_connection_broken_while_idle_is_reopened_once_for_a_read() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let mut store = store_at(&proxy.addr(), locked());
    let id = "reconnect000000000000000";
    store.read(id).unwrap();
    store.write(id, b"a|i:1;").unwrap();
    proxy.disconnect_all();
    std::thread::sleep(Duration::from_millis(50));
    proxy.reset();
    assert_eq!(
        store.read(id).unwrap().data.as_deref(),
        Some(&b"a|i:1;"[..])
    );
    store.close().unwrap();
    assert_eq!(proxy.connections(), 1, "one new connection");
    assert_eq!(store.stats().connects, 2);
}

#[test]
fn a_server_that_never_answers_fails_within_the_read_timeout() {
    let hole = Proxy::blackhole();
    let mut ep = tcp(&hole.addr());
    ep.read_timeout = Duration::from_millis(500);
    let mut store = SessionStore::new(Topology::hosts(vec![HostSpec::new(ep)]).unwrap(), locked());
    let started = Instant::now();
    let err = store.read("hole00000000000000000000").unwrap_err();
    let took = started.elapsed();
    // One read timeout for the whole pipelined lock+read, not one per command, and no retry.
    assert!(
        took >= Duration::from_millis(500) && took < Duration::from_millis(1400),
        "took {took:?}"
    );
    let text = err.to_string();
    assert!(text.contains(&hole.addr()), "names the host: {text}");
    // The redis crate's error stays reachable as the source, for callers that decide by its kind.
    let source = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<redis::RedisError>())
        .unwrap_or_else(|| panic!("no redis::RedisError source: {err:?}"));
    assert!(source.is_timeout(), "{source:?}");
}

#[test]
fn a_closed_port_fails_fast_with_the_host_in_the_message() {
    let port = phpsess_compat::servers::ports::unused_port();
    let t = Topology::from_save_path(&format!("tcp://127.0.0.1:{port}?timeout=0.5")).unwrap();
    let mut store = SessionStore::new(t, locked());
    let started = Instant::now();
    let error = store.read("down00000000000000000000").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let source = std::error::Error::source(&error)
        .and_then(|s| s.downcast_ref::<redis::RedisError>())
        .unwrap_or_else(|| panic!("no redis::RedisError source: {error:?}"));
    assert!(source.is_connection_refusal(), "{source:?}");
    let err = error.to_string();
    assert!(
        err.starts_with(&format!(
            "cannot connect to tcp://127.0.0.1:{port} (timeout 0.5s) for session down00…"
        )),
        "{err}"
    );
}

#[test]
fn unix_sockets_work_in_every_save_path_form() {
    let server = RedisServer::builder().unix_socket(true).start();
    let path = server
        .unix_socket()
        .expect("socket path")
        .display()
        .to_string();
    for save_path in [
        format!("unix://{path}"),
        format!("unix:{path}"),
        path.clone(),
    ] {
        let mut store =
            SessionStore::new(Topology::from_save_path(&save_path).unwrap(), unlocked());
        store
            .write("unixsock00000000000000", save_path.as_bytes())
            .unwrap();
        let read = store.read("unixsock00000000000000").unwrap();
        assert_eq!(
            read.data.as_deref(),
            Some(save_path.as_bytes()),
            "{save_path}"
        );
    }
}

#[test]
fn a_pool_serves_threads_without_sharing_locks() {
    use phpsess::store::StoreManager;
    let server = RedisServer::start();
    let addr = server.addr();
    let pool = StoreManager::new(
        move || Topology::hosts(vec![HostSpec::new(tcp(&addr))]),
        StoreOptions::default(),
    )
    .pool(4)
    .unwrap();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                let mut store = pool.get().unwrap();
                let id = format!("pooled{t:018}");
                store.read(&id).unwrap();
                store.write(&id, format!("t|i:{t};").as_bytes()).unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut c = server.connection();
    for t in 0..8 {
        let v: Vec<u8> = c.get(key(&format!("pooled{t:018}"))).unwrap();
        assert_eq!(v, format!("t|i:{t};").into_bytes());
    }
    assert!(pool.state().connections <= 4);
}

#[test]
fn compressed_sessions_are_stored_framed_and_plain_ones_still_read() {
    use phpsess::store::Compression;
    let server = RedisServer::start();
    let id = "compressed00000000000000";
    let data = "cart|a:1:{s:5:\"items\";s:600:\"".to_string() + &"x".repeat(600) + "\";}";
    let plain_id = "plain0000000000000000000";
    let _: () = server
        .connection()
        .set_ex(key(plain_id), "old|b:1;", 100)
        .unwrap();
    for compression in [
        Compression::Lzf,
        Compression::Zstd { level: 3 },
        Compression::Lz4 { level: 3 },
    ] {
        let mut store = store_at(&server.addr(), unlocked().with_compression(compression));
        store.write(id, data.as_bytes()).unwrap();
        let stored: Vec<u8> = server.connection().get(key(id)).unwrap();
        assert!(
            stored.len() < data.len() / 2,
            "{compression}: {} bytes",
            stored.len()
        );
        assert_eq!(
            stored,
            compression.compress(data.as_bytes()).into_owned(),
            "{compression}"
        );
        assert_eq!(
            store.read(id).unwrap().data.as_deref(),
            Some(data.as_bytes()),
            "{compression}"
        );
        // Sessions written before compression was switched on stay readable.
        assert_eq!(
            store.read(plain_id).unwrap().data.as_deref(),
            Some(&b"old|b:1;"[..]),
            "{compression}"
        );
    }
}

#[test]
fn error_replies_and_timeouts_read_as_sentences() {
    let server = RedisServer::builder().password("pw").start();
    let mut store = store_at(&server.addr(), unlocked());
    let err = store
        .read("noauth00000000000000000")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("a password is required and none was given on ")
            && err.ends_with(": NOAUTH Authentication required."),
        "{err}"
    );
    let hole = Proxy::blackhole();
    let mut ep = tcp(&hole.addr());
    ep.read_timeout = Duration::from_millis(200);
    let mut store = SessionStore::new(
        Topology::hosts(vec![HostSpec::new(ep)]).unwrap(),
        unlocked(),
    );
    let err = store
        .read("silent00000000000000000")
        .unwrap_err()
        .to_string();
    assert!(
        err.ends_with("failed: no reply within the read timeout (0.2s)"),
        "{err}"
    );
}

// Hardening (issue 9): locks are never replaced, dropped or left behind silently.

fn lock_of(server: &RedisServer, id: &str) -> Option<String> {
    server
        .connection()
        .get(format!("{}_LOCK", key(id)))
        .unwrap()
}

#[test]
fn create_id_inside_a_held_session_takes_no_second_lock() {
    let server = RedisServer::start();
    let mut store = store_at(&server.addr(), locked());
    let id = "heldheldheldheldheldheld";
    store.read(id).unwrap();
    let held = lock_of(&server, id).expect("locked");
    let mut fresh = vec!["createdwhileheld00000000".to_string()];
    let new = store.create_id(|| fresh.pop().unwrap()).unwrap();
    assert_eq!(lock_of(&server, id), Some(held), "the held lock stays ours");
    assert_eq!(lock_of(&server, &new), None, "no lock on the new id yet");
    store.write(id, b"marker|s:3:\"new\";").unwrap();
    store.close().unwrap();
    let stored: Vec<u8> = server.connection().get(key(id)).unwrap();
    assert_eq!(stored, b"marker|s:3:\"new\";");
    store.read(&new).unwrap();
    assert!(lock_of(&server, &new).is_some(), "locked when read");
    store.close().unwrap();
    let left: Vec<String> = server.connection().keys("*_LOCK").unwrap();
    assert_eq!(left, Vec::<String>::new());
}

#[test]
fn reading_another_id_releases_the_first_lock_in_the_same_round_trip() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let mut store = store_at(&proxy.addr(), locked());
    let (a, b) = ("firstfirstfirstfirst0000", "secondsecondsecondsecond");
    store.read(a).unwrap();
    proxy.reset();
    store.read(b).unwrap();
    assert_eq!(
        proxy.round_trips(),
        1,
        "unlock of the first rides with the lock of the second"
    );
    assert_eq!(lock_of(&server, a), None);
    assert!(lock_of(&server, b).is_some());
    store.write(b, b"x|i:1;").unwrap();
    assert_eq!(store.orphaned_locks(), 0);
}

#[test]
fn a_write_refused_for_a_lost_lock_names_who_holds_it_now() {
    let server = RedisServer::start();
    let id = "takenovertakenover000000";
    let (mut slow, _fast) = lock_taken_over(&server, id);
    let holder = lock_of(&server, id).expect("fast holds it");
    let err = slow.write(id, b"loser|b:1;").unwrap_err();
    match &err {
        Error::LockLost { holder: h, .. } => assert_eq!(h, &holder, "{err}"),
        other => panic!("{other}"),
    }
}

#[test]
fn a_lock_set_after_the_client_gave_up_is_released_with_the_next_round_trip() {
    let server = RedisServer::start();
    let mut ep = tcp(&server.addr());
    ep.read_timeout = Duration::from_millis(300);
    let topology = Topology::hosts(vec![HostSpec::new(ep)]).unwrap();
    let mut store = SessionStore::new(topology, locked());
    store.read("warmwarmwarmwarmwarmwarm").unwrap();
    store.close().unwrap();

    let id = "stalledstalledstalled000";
    server.pause();
    let resume = std::thread::spawn({
        let pid = server.pid().unwrap();
        move || {
            std::thread::sleep(Duration::from_millis(1000));
            signal(pid, "CONT");
        }
    });
    let err = store.read(id).unwrap_err();
    resume.join().unwrap();
    assert!(
        err.to_string().contains("no reply within the read timeout"),
        "{err}"
    );
    // Redis ran our SET NX after we had given up: the lock is ours, and no request uses it.
    let mut orphan = None;
    for _ in 0..100 {
        orphan = lock_of(&server, id);
        if orphan.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(orphan.is_some(), "the stalled SET NX ran late");
    assert_eq!(store.orphaned_locks(), 1);

    // The next request of this worker (another session) releases it, in its own round trip.
    let before = store.stats().round_trips;
    store.read("nextnextnextnextnextnext").unwrap();
    assert_eq!(store.stats().round_trips - before, 1);
    assert_eq!(lock_of(&server, id), None, "released by token");
    assert_eq!(store.orphaned_locks(), 0);
    store.close().unwrap();

    // So the user's next request (any worker) does not wait for the lock's lifetime.
    let mut other = store_at(
        &server.addr(),
        StoreOptions::default()
            .with_lock(LockOptions::default().with_wait(Duration::from_millis(100))),
    );
    other.read(id).unwrap();
}

#[test]
fn a_lock_whose_unlock_never_landed_is_released_with_the_next_round_trip() {
    let server = RedisServer::start();
    let mut store = store_at(&server.addr(), locked());
    let id = "brokenwritebrokenwrite00";
    store.read(id).unwrap();
    // The connection breaks before the write+unlock script: it fails (never retried: it changes
    // state), and the lock it should have released is still ours.
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .query(&mut server.connection())
        .unwrap();
    assert!(store.write(id, b"x|i:1;").is_err());
    assert!(lock_of(&server, id).is_some());
    assert_eq!(store.orphaned_locks(), 1);
    store.read("nextnextnextnextnextnext").unwrap();
    assert_eq!(lock_of(&server, id), None);
    assert_eq!(store.orphaned_locks(), 0);
}

#[test]
fn invalid_ids_are_refused_before_any_command() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let mut store = store_at(&proxy.addr(), locked());
    let long = "a".repeat(257);
    for id in [
        "cache:config",
        "abc_LOCK",
        "_",
        "{tag}x",
        "a b",
        "é",
        long.as_str(),
        "",
    ] {
        let errs = [
            store.read(id).map(|_| ()).unwrap_err(),
            store.exists(id).map(|_| ()).unwrap_err(),
            store.write(id, b"x|i:1;").unwrap_err(),
            store.touch(id).unwrap_err(),
            store.destroy(id).unwrap_err(),
            store.inspect(id).map(|_| ()).unwrap_err(),
        ];
        for e in errs {
            assert!(matches!(e, Error::InvalidId { .. }), "{id:?}: {e}");
        }
    }
    assert_eq!(proxy.round_trips(), 0, "no command reached Redis");
    let e = store.read("cache:config").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid session id \"cache:…\": only A-Z, a-z, 0-9, \"-\" and \",\" are allowed"
    );
}

#[test]
fn an_orphaned_lock_whose_release_was_refused_is_released_later() {
    // After a restart Redis answers LOADING while it reads its AOF, and a busy script makes it
    // answer BUSY: the compare-and-delete riding in front of the next pipeline is refused then,
    // and the lock must stay remembered (it was forgotten, and stayed for its whole lifetime).
    let server = RedisServer::start();
    let mut store = store_at(&server.addr(), locked());
    let id = "refusedreleaserefused000";
    store.read(id).unwrap();
    let _: () = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("normal")
        .query(&mut server.connection())
        .unwrap();
    assert!(store.write(id, b"x|i:1;").is_err());
    assert_eq!(store.orphaned_locks(), 1);

    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("busy-reply-threshold")
        .arg(50)
        .query(&mut server.connection())
        .unwrap();
    let mut busy_con = server.connection();
    let busy = std::thread::spawn(move || {
        let _: redis::RedisResult<()> = redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query(&mut busy_con);
    });
    let mut admin = server.connection();
    let mut busy_seen = false;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(10));
        let ping: redis::RedisResult<String> = redis::cmd("PING").query(&mut admin);
        if ping.is_err_and(|e| e.code() == Some("BUSY")) {
            busy_seen = true;
            break;
        }
    }
    assert!(busy_seen, "the server never said BUSY");
    let err = store.read("nextnextnextnextnextnext").unwrap_err();
    assert!(err.to_string().contains("BUSY"), "{err}");
    assert_eq!(store.orphaned_locks(), 1, "a refused release is kept");

    let _: () = redis::cmd("SCRIPT").arg("KILL").query(&mut admin).unwrap();
    busy.join().unwrap();
    assert!(lock_of(&server, id).is_some());
    store.read("nextnextnextnextnextnext").unwrap();
    assert_eq!(
        lock_of(&server, id),
        None,
        "released by token once Redis answers"
    );
    assert_eq!(store.orphaned_locks(), 0);
}
