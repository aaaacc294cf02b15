//! The per-user session index on real redis-servers: binding and unbinding, entries that leave
//! with expired, destroyed and regenerated sessions, the per-user bound, listing and ending a
//! user's sessions on one host, three weighted hosts and a 6-node cluster, and an in-flight
//! request whose write is refused after its session was ended.

use std::time::Duration;

use phpsess::store::{
    Binding, HostSpec, SessionStore, StoreOptions, Topology, DEFAULT_CLUSTER_PREFIX, DEFAULT_PREFIX,
};
use phpsess::Error;
use phpsess_compat::servers::{Proxy, RedisCluster, RedisServer};
use redis::Commands;

fn indexed() -> StoreOptions {
    StoreOptions::default().with_user_index(true)
}

fn store_at(addr: &str, options: StoreOptions) -> SessionStore {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let ep = phpsess::store::Endpoint::tcp(host, port.parse().expect("port"));
    SessionStore::new(Topology::hosts(vec![HostSpec::new(ep)]).unwrap(), options)
}

/// One request: read (lock), bind to `user` (None: leave the binding as read), write, close.
fn request(store: &mut SessionStore, id: &str, user: Option<Option<&str>>, data: &[u8]) {
    store.read(id).unwrap();
    if let Some(user) = user {
        store.bind(id, user.map(|u| Binding::from_data(u.as_bytes())));
    }
    store.write(id, data).unwrap();
    store.close().unwrap();
}

fn index_members(c: &mut redis::Connection, prefix: &str, user: &str) -> Vec<String> {
    let mut m: Vec<String> = c.zrange(format!("{prefix}_user:{user}"), 0, -1).unwrap();
    m.sort();
    m
}

fn ids(store: &mut SessionStore, user: &str) -> Vec<String> {
    let mut v: Vec<String> = store
        .user_sessions(user.as_bytes())
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    v.sort();
    v
}

#[test]
fn a_locked_request_keeping_the_index_is_still_two_round_trips() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let mut store = store_at(&proxy.addr(), indexed());
    // Warm up the scripts (the first EVALSHA on a fresh server is a NOSCRIPT).
    request(&mut store, "warm0000000000000", Some(Some("0")), b"x|i:1;");
    request(&mut store, "warm0000000000000", None, b"x|i:2;");
    proxy.reset();
    request(
        &mut store,
        "rt00000000000000a",
        Some(Some("42")),
        b"user_id|i:42;",
    );
    assert_eq!(
        proxy.round_trips(),
        2,
        "lock+read+binding, then write+index"
    );
    proxy.reset();
    request(
        &mut store,
        "rt00000000000000a",
        None,
        b"user_id|i:42;n|i:1;",
    );
    assert_eq!(
        proxy.round_trips(),
        2,
        "a later request refreshes the entry in the write"
    );
    let mut c = server.connection();
    assert_eq!(
        index_members(&mut c, DEFAULT_PREFIX, "42"),
        ["rt00000000000000a"]
    );
    let bound: Vec<u8> = c
        .get(format!("{DEFAULT_PREFIX}rt00000000000000a_USER"))
        .unwrap();
    assert_eq!(bound, b"k:42");
    let ttl: i64 = c.ttl(format!("{DEFAULT_PREFIX}_user:42")).unwrap();
    assert!(
        ttl > 1500 && ttl <= 1620,
        "the index outlives its session's entry (ttl + ttl/24) with room to spare: {ttl}"
    );
}

#[test]
fn login_logout_and_a_user_change_move_the_entry() {
    let server = RedisServer::start();
    let mut store = store_at(&server.addr(), indexed());
    let mut c = server.connection();
    let id = "move0000000000000";
    request(&mut store, id, Some(None), b"");
    assert!(index_members(&mut c, DEFAULT_PREFIX, "7").is_empty());
    request(&mut store, id, Some(Some("7")), b"user_id|i:7;");
    assert_eq!(index_members(&mut c, DEFAULT_PREFIX, "7"), [id]);
    // Another user logs in on the same session: the entry moves.
    request(&mut store, id, Some(Some("8")), b"user_id|i:8;");
    assert!(index_members(&mut c, DEFAULT_PREFIX, "7").is_empty());
    assert_eq!(index_members(&mut c, DEFAULT_PREFIX, "8"), [id]);
    // A fresh store (another worker) knows the binding from the read alone.
    let mut other = store_at(&server.addr(), indexed());
    other.read(id).unwrap();
    assert_eq!(other.binding(id), Some(Some(&Binding::from_data(*b"8"))));
    other.bind(id, None);
    other.write(id, b"").unwrap();
    other.close().unwrap();
    assert!(
        index_members(&mut c, DEFAULT_PREFIX, "8").is_empty(),
        "logged out"
    );
    let bound: bool = c.exists(format!("{DEFAULT_PREFIX}{id}_USER")).unwrap();
    assert!(!bound);
}

#[test]
fn entries_leave_with_destroyed_regenerated_and_expired_sessions() {
    let server = RedisServer::start();
    let mut store = store_at(&server.addr(), indexed());
    let mut c = server.connection();
    // session_regenerate_id(true): the old id is destroyed after it was read.
    request(
        &mut store,
        "old00000000000000",
        Some(Some("5")),
        b"user_id|i:5;",
    );
    store.read("old00000000000000").unwrap();
    store.destroy("old00000000000000").unwrap();
    store.read("new00000000000000").unwrap();
    store.bind("new00000000000000", Some(Binding::from_data(*b"5")));
    store.write("new00000000000000", b"user_id|i:5;").unwrap();
    store.close().unwrap();
    assert_eq!(
        index_members(&mut c, DEFAULT_PREFIX, "5"),
        ["new00000000000000"]
    );

    // A session that expires leaves the index at the user's next write.
    let mut short = store_at(&server.addr(), indexed().with_ttl(Duration::from_secs(1)));
    request(
        &mut short,
        "brief000000000000",
        Some(Some("5")),
        b"user_id|i:5;",
    );
    assert_eq!(index_members(&mut c, DEFAULT_PREFIX, "5").len(), 2);
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(
        ids(&mut store, "5"),
        ["new00000000000000"],
        "listing skips it at once"
    );
    // The user's next write with bookkeeping (here a new session's) drops it.
    request(
        &mut store,
        "newer000000000000",
        Some(Some("5")),
        b"user_id|i:5;",
    );
    assert_eq!(
        index_members(&mut c, DEFAULT_PREFIX, "5"),
        ["new00000000000000", "newer000000000000"]
    );
}

#[test]
fn the_index_keeps_at_most_the_bound_and_counts_what_it_dropped() {
    let server = RedisServer::start();
    let mut store = store_at(&server.addr(), indexed().with_user_index_max(3));
    for i in 0..5 {
        request(
            &mut store,
            &format!("many{i:013}"),
            Some(Some("9")),
            b"user_id|i:9;",
        );
        std::thread::sleep(Duration::from_millis(1100 * u64::from(i == 0)));
    }
    let mut c = server.connection();
    let members = index_members(&mut c, DEFAULT_PREFIX, "9");
    assert_eq!(members.len(), 3, "{members:?}");
    assert!(
        !members.contains(&"many0000000000000".to_owned()),
        "the one expiring first went: {members:?}"
    );
    assert_eq!(store.stats().index_dropped, 2);
}

#[test]
fn ending_a_users_sessions_refuses_the_write_of_a_request_in_flight() {
    let server = RedisServer::start();
    let mut phone = store_at(&server.addr(), indexed());
    let mut laptop = store_at(&server.addr(), indexed());
    request(
        &mut phone,
        "phone000000000000",
        Some(Some("u1")),
        b"user_id|s:2:\"u1\";",
    );
    request(
        &mut laptop,
        "laptop00000000000",
        Some(Some("u1")),
        b"user_id|s:2:\"u1\";",
    );
    // A long request on the phone holds its session...
    phone.read("phone000000000000").unwrap();
    // ...while the laptop logs out everywhere else.
    let mut admin = store_at(&server.addr(), indexed());
    let listed = admin.user_sessions(b"u1").unwrap();
    assert_eq!(listed.len(), 2);
    let phone_entry = listed.iter().find(|s| s.id == "phone000000000000").unwrap();
    assert!(
        phone_entry.lock_holder.is_some(),
        "the phone's lock is shown"
    );
    assert_eq!(phone_entry.bytes, 17);
    let gone = admin
        .destroy_user_sessions(b"u1", Some("laptop00000000000"))
        .unwrap();
    assert_eq!(gone, ["phone000000000000"]);
    // The phone's request ends: its write is refused, the session stays gone.
    let err = phone
        .write("phone000000000000", b"user_id|s:2:\"u1\";x|i:1;")
        .unwrap_err();
    assert!(matches!(err, Error::LockLost { .. }), "{err}");
    let mut c = server.connection();
    let exists: bool = c
        .exists(format!("{DEFAULT_PREFIX}phone000000000000"))
        .unwrap();
    assert!(!exists, "the killed session was not written back");
    // A request that starts after the kill finds no session.
    let read = phone.read("phone000000000000").unwrap();
    assert_eq!(read.data, None);
    phone.close().unwrap();
    assert_eq!(ids(&mut admin, "u1"), ["laptop00000000000"]);
    // One session by id: kill() also takes it out of the index.
    assert!(admin.kill("laptop00000000000").unwrap());
    assert!(!admin.kill("laptop00000000000").unwrap(), "already gone");
    assert!(index_members(&mut c, DEFAULT_PREFIX, "u1").is_empty());
}

#[test]
fn three_weighted_hosts_keep_each_hosts_index_and_list_them_all() {
    let servers: Vec<RedisServer> = (0..3).map(|_| RedisServer::start()).collect();
    let save_path = format!(
        "tcp://{}?weight=1&prefix=A:, tcp://{}?weight=2, tcp://{}?weight=3&prefix=C:",
        servers[0].addr(),
        servers[1].addr(),
        servers[2].addr()
    );
    let topology = || Topology::from_save_path(&save_path).unwrap();
    let mut store = SessionStore::new(topology(), indexed());
    let mut want = Vec::new();
    for i in 0..30 {
        let id = format!("{:08x}weighted{i:04}", i * 2_654_435_761u64);
        request(&mut store, &id, Some(Some("77")), b"user_id|i:77;");
        want.push(id);
    }
    request(
        &mut store,
        "someoneelse000000",
        Some(Some("78")),
        b"user_id|i:78;",
    );
    want.sort();
    let mut admin = SessionStore::new(topology(), indexed());
    assert_eq!(ids(&mut admin, "77"), want);
    let per_host: Vec<usize> = [("A:", 0), (DEFAULT_PREFIX, 1), ("C:", 2)]
        .iter()
        .map(|(prefix, i)| index_members(&mut servers[*i].connection(), prefix, "77").len())
        .collect();
    assert!(per_host.iter().all(|&n| n > 0), "{per_host:?}");
    assert_eq!(per_host.iter().sum::<usize>(), 30);
    let listed = admin.user_sessions(b"77").unwrap();
    for s in &listed {
        assert_eq!(s.host, admin.host_of(&s.id), "{}", s.id);
    }
    let gone = admin.destroy_user_sessions(b"77", Some(&want[0])).unwrap();
    assert_eq!(gone.len(), 29);
    assert_eq!(ids(&mut admin, "77"), [want[0].clone()]);
    assert_eq!(
        ids(&mut admin, "78"),
        ["someoneelse000000"],
        "other users untouched"
    );
}

#[test]
fn a_cluster_keeps_one_index_per_user_and_ends_sessions_on_every_master() {
    let cluster = RedisCluster::start();
    let topology = || Topology::from_cluster_save_path(&cluster.seed_query()).unwrap();
    let mut store = SessionStore::new(topology(), indexed());
    let mut want = Vec::new();
    for i in 0..20 {
        let id = format!("{:08x}clustered{i:04}", i * 2_654_435_761u64);
        request(&mut store, &id, Some(Some("c1")), b"user_id|s:2:\"c1\";");
        want.push(id);
    }
    want.sort();
    let mut admin = SessionStore::new(topology(), indexed());
    assert_eq!(ids(&mut admin, "c1"), want);
    let mut c = cluster.connection();
    let members: Vec<String> = c
        .zrange(format!("{DEFAULT_CLUSTER_PREFIX}_user:c1"), 0, -1)
        .unwrap();
    assert_eq!(members.len(), 20);
    // Logout on one session moves it out of the index (the update after the write).
    request(&mut store, &want[1], Some(None), b"");
    assert_eq!(ids(&mut admin, "c1").len(), 19);
    let gone = admin.destroy_user_sessions(b"c1", Some(&want[0])).unwrap();
    assert_eq!(gone.len(), 18);
    assert_eq!(ids(&mut admin, "c1"), [want[0].clone()]);
    for id in &want[2..] {
        let exists: bool = c.exists(format!("{DEFAULT_CLUSTER_PREFIX}{id}")).unwrap();
        assert!(!exists, "{id}");
    }
}

#[test]
fn listing_a_user_with_100_sessions_is_one_round_trip_for_the_index_and_one_batch() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let mut store = store_at(&server.addr(), indexed().with_user_index_max(200));
    for i in 0..100 {
        request(
            &mut store,
            &format!("hundred{i:010}"),
            Some(Some("h")),
            b"user_id|s:1:\"h\";",
        );
    }
    let mut admin = store_at(&proxy.addr(), indexed());
    admin.user_sessions(b"warm").unwrap();
    proxy.reset();
    let listed = admin.user_sessions(b"h").unwrap();
    assert_eq!(listed.len(), 100);
    assert_eq!(
        proxy.round_trips(),
        2,
        "ZRANGEBYSCORE, then TTL/STRLEN/GET pipelined"
    );
}
