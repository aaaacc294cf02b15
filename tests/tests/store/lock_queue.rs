//! The lock queue against real redis-server processes: waiters served in arrival order and
//! handed the lock (with the session) by the unlock, a waiter that gives up leaves the queue,
//! crashed holders and waiters do not stall it, phpredis on either side, and a cluster.

use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use phpsess::store::{
    slot, HostSpec, LockOptions, SessionStore, StoreOptions, StoreStats, Topology,
    DEFAULT_CLUSTER_PREFIX, DEFAULT_PREFIX, QUEUE_SLICE,
};
use phpsess::Error;
use phpsess_compat::servers::{RedisCluster, RedisServer};
use redis::Commands;

fn waiting(wait: Duration) -> StoreOptions {
    StoreOptions::default().with_lock(LockOptions::default().with_wait(wait))
}

fn store_at(addr: &str, options: StoreOptions) -> SessionStore {
    let (host, port) = addr.rsplit_once(':').expect("host:port");
    let ep = phpsess::store::Endpoint::tcp(host, port.parse().expect("port"));
    SessionStore::new(Topology::hosts(vec![HostSpec::new(ep)]).unwrap(), options)
}

fn lock_key(id: &str) -> String {
    format!("{DEFAULT_PREFIX}{id}_LOCK")
}

/// Waiter `i` of [`arrivals`]: reads, appends `,i`, holds the session a little, writes.
fn append_waiter(mut store: SessionStore, id: &'static str, i: usize) -> JoinHandle<StoreStats> {
    std::thread::spawn(move || {
        let data = store.read(id).unwrap().data.unwrap_or_default();
        let mut data = String::from_utf8(data).unwrap();
        data.push_str(&format!(",{i}"));
        std::thread::sleep(Duration::from_millis(5));
        store.write(id, data.as_bytes()).unwrap();
        store.stats()
    })
}

/// Holds `id`, lets `n` waiters arrive one by one (60 ms apart, so arrival order is certain),
/// then writes `start`; the session ends as the order the lock went round in.
fn arrivals(
    open: impl Fn() -> SessionStore,
    id: &'static str,
    n: usize,
) -> (String, Vec<StoreStats>) {
    let mut holder = open();
    holder.read(id).unwrap();
    let mut waiters = Vec::new();
    for i in 0..n {
        waiters.push(append_waiter(open(), id, i));
        std::thread::sleep(Duration::from_millis(60));
    }
    holder.write(id, b"start").unwrap();
    let stats: Vec<StoreStats> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    let mut last = open();
    let data = last.inspect(id).unwrap().expect("written").data;
    (String::from_utf8(data).unwrap(), stats)
}

#[test]
fn waiters_get_the_lock_in_arrival_order_by_hand_off() {
    let server = RedisServer::start();
    let addr = server.addr();
    let (order, stats) = arrivals(
        || store_at(&addr, waiting(Duration::from_secs(10))),
        "fifo00000000000000000000",
        6,
    );
    assert_eq!(order, "start,0,1,2,3,4,5", "lock order = arrival order");
    for (i, s) in stats.iter().enumerate() {
        assert_eq!(s.lock_waits, 1, "waiter {i}: {s:?}");
        assert_eq!(s.lock_handoffs, 1, "waiter {i} was handed the lock: {s:?}");
        assert_eq!(s.lock_fallbacks, 0, "waiter {i} never polled: {s:?}");
        assert_eq!(s.lock_wait_buckets.iter().sum::<u64>(), 1, "{s:?}");
    }
    // Nothing of the queue is left behind.
    let mut c = server.connection();
    let left: Vec<String> = c.keys("*_LOCK*").unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn an_uncontended_unlock_costs_one_lpop_more() {
    let server = RedisServer::start();
    let mut store = store_at(&server.addr(), StoreOptions::default());
    store.read("warm000000000000").unwrap();
    store.write("warm000000000000", b"x").unwrap();
    server.reset_stats();
    let before = store.stats();
    store.read("alone00000000000").unwrap();
    store.write("alone00000000000", b"a|i:1;").unwrap();
    let after = store.stats();
    assert_eq!(after.round_trips - before.round_trips, 2);
    assert_eq!(
        after.commands - before.commands,
        4,
        "SET NX, GET lock, GET | EVALSHA"
    );
    let stats = server.info_commandstats();
    assert_eq!(stats.get("lpop"), Some(&1), "{stats:?}");
    assert_eq!(stats.get("del"), Some(&1), "{stats:?}");
    assert_eq!(stats.get("blpop"), None, "{stats:?}");
}

#[test]
fn a_waiter_out_of_time_leaves_the_queue_and_is_not_handed_the_lock() {
    let server = RedisServer::start();
    let id = "giveup000000000000000000";
    let mut holder = store_at(&server.addr(), StoreOptions::default());
    holder.read(id).unwrap();
    let mut waiter = store_at(&server.addr(), waiting(Duration::from_millis(400)));
    let started = Instant::now();
    let err = waiter.read(id).unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, Error::LockTimeout { .. }), "{err}");
    assert!(waited >= Duration::from_millis(400), "{waited:?}");
    assert!(
        waited < Duration::from_millis(400) + QUEUE_SLICE,
        "{waited:?}"
    );
    let s = waiter.stats();
    assert_eq!(
        (s.lock_waits, s.lock_timeouts, s.lock_handoffs),
        (1, 1, 0),
        "{s:?}"
    );

    let mut c = server.connection();
    let queued: Vec<String> = c.keys(format!("{}_*", lock_key(id))).unwrap();
    assert!(
        queued.is_empty(),
        "the waiter left no queue entry, marker or wake key: {queued:?}"
    );
    holder.write(id, b"n|i:1;").unwrap();
    let lock: Option<String> = c.get(lock_key(id)).unwrap();
    assert_eq!(lock, None, "released, not handed to a waiter that left");
}

#[test]
fn a_crashed_holders_lock_expires_and_the_waiter_takes_it() {
    let server = RedisServer::start();
    let id = "crashedholder00000000000";
    let mut c = server.connection();
    // A phpsess holder (host|pid|unique) that died: it will never hand over.
    let _: () = redis::cmd("SET")
        .arg(lock_key(id))
        .arg("web09|999|dead")
        .arg("PX")
        .arg(600)
        .query(&mut c)
        .unwrap();
    let mut waiter = store_at(&server.addr(), waiting(Duration::from_secs(5)));
    let started = Instant::now();
    waiter.read(id).unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(550), "{waited:?}");
    // Within one slice (plus a loaded machine's slack) of the expiry.
    assert!(
        waited < Duration::from_millis(600) + QUEUE_SLICE + Duration::from_millis(300),
        "{waited:?}"
    );
    assert_eq!(waiter.stats().lock_handoffs, 0);
    waiter.write(id, b"ok|b:1;").unwrap();
}

#[test]
fn after_a_crashed_holders_lock_expires_the_queue_keeps_arrival_order() {
    let server = RedisServer::start();
    let id = "crashfifo000000000000000";
    let mut c = server.connection();
    // A holder that died; its lock outlives the arrivals below by a little.
    let _: () = redis::cmd("SET")
        .arg(lock_key(id))
        .arg("web09|999|dead")
        .arg("PX")
        .arg(1500)
        .query(&mut c)
        .unwrap();
    let mut waiters = Vec::new();
    for i in 0..5 {
        waiters.push(append_waiter(
            store_at(&server.addr(), waiting(Duration::from_secs(10))),
            id,
            i,
        ));
        // Arrival order is certain once the waiter is in the queue.
        let deadline = Instant::now() + Duration::from_secs(5);
        while c.llen::<_, usize>(format!("{}_Q", lock_key(id))).unwrap() < i + 1 {
            assert!(Instant::now() < deadline, "waiter {i} never queued");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let stats: Vec<StoreStats> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
    let data = store_at(&server.addr(), StoreOptions::default())
        .inspect(id)
        .unwrap()
        .expect("written")
        .data;
    // Whichever waiter looked first after the expiry, the first in the queue got the lock.
    assert_eq!(String::from_utf8(data).unwrap(), ",0,1,2,3,4");
    // The first took the expired lock (itself, or handed by whoever looked first); each later
    // one was handed it by the one before.
    assert!(
        stats[1..].iter().all(|s| s.lock_handoffs == 1),
        "waiters 1.. were handed the lock: {stats:?}"
    );
}

#[test]
fn a_dead_waiter_in_the_queue_is_skipped() {
    let server = RedisServer::start();
    let id = "deadwaiter00000000000000";
    let mut holder = store_at(&server.addr(), StoreOptions::default());
    holder.read(id).unwrap();
    let mut c = server.connection();
    // Queued but without a live marker: killed while waiting, long enough ago.
    let _: () = c
        .rpush(format!("{}_Q", lock_key(id)), "web09|999|dead")
        .unwrap();
    let waiter = append_waiter(
        store_at(&server.addr(), waiting(Duration::from_secs(5))),
        id,
        1,
    );
    std::thread::sleep(Duration::from_millis(200));
    holder.write(id, b"start").unwrap();
    let s = waiter.join().unwrap();
    assert_eq!(s.lock_handoffs, 1, "{s:?}");
    let data: String = c.get(format!("{DEFAULT_PREFIX}{id}")).unwrap();
    assert_eq!(data, "start,1");
}

#[test]
fn behind_a_phpredis_holder_waiters_poll_and_get_the_lock_when_it_releases() {
    let server = RedisServer::start();
    let id = "phpredisholder0000000000";
    let mut c = server.connection();
    let _: () = redis::cmd("SET")
        .arg(lock_key(id))
        .arg("web01|4242")
        .arg("NX")
        .arg("PX")
        .arg(60000)
        .query(&mut c)
        .unwrap();
    let addr = server.addr();
    let waiter = std::thread::spawn(move || {
        let mut store = store_at(&addr, waiting(Duration::from_secs(5)));
        let started = Instant::now();
        store.read(id).unwrap();
        let got = Instant::now();
        store.write(id, b"mine|b:1;").unwrap();
        (store.stats(), started, got)
    });
    std::thread::sleep(Duration::from_millis(300));
    // phpredis's own release script, byte for byte.
    let released: i64 = redis::cmd("EVAL")
        .arg(r#"if redis.call("get",KEYS[1]) == ARGV[1] then return redis.call("del",KEYS[1]) else return 0 end"#)
        .arg(1)
        .arg(lock_key(id))
        .arg("web01|4242")
        .query(&mut c)
        .unwrap();
    let released_at = Instant::now();
    assert_eq!(released, 1);
    let (s, started, got) = waiter.join().unwrap();
    assert!(got - started >= Duration::from_millis(250));
    // Polling every retry interval (20 ms), not every slice.
    assert!(
        got.saturating_duration_since(released_at) < Duration::from_millis(150),
        "{:?}",
        got.saturating_duration_since(released_at)
    );
    assert_eq!((s.lock_fallbacks, s.lock_handoffs), (1, 0), "{s:?}");
}

#[test]
fn a_phpredis_waiter_gets_the_lock_when_we_release() {
    let server = RedisServer::start();
    let id = "phpredisWaiter0000000000";
    let mut store = store_at(&server.addr(), StoreOptions::default());
    store.read(id).unwrap();
    let lock = lock_key(id);
    let mut c = server.connection();
    let barrier = Arc::new(Barrier::new(2));
    let b = Arc::clone(&barrier);
    // phpredis 6: SET NX PX every 20 ms.
    let phpredis = std::thread::spawn(move || {
        b.wait();
        for _ in 0..250 {
            let got: Option<String> = redis::cmd("SET")
                .arg(&lock)
                .arg("web02|77")
                .arg("NX")
                .arg("PX")
                .arg(30000)
                .query(&mut c)
                .unwrap();
            if got.is_some() {
                return Some(Instant::now());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    });
    barrier.wait();
    std::thread::sleep(Duration::from_millis(200));
    store.write(id, b"done|b:1;").unwrap();
    let released = Instant::now();
    let got = phpredis.join().unwrap().expect("phpredis got the lock");
    assert!(
        got - released < Duration::from_millis(200),
        "{:?}",
        got - released
    );
    let holder: String = server.connection().get(lock_key(id)).unwrap();
    assert_eq!(holder, "web02|77");
}

#[test]
fn with_the_queue_off_waiters_poll_as_before() {
    let server = RedisServer::start();
    let id = "polling00000000000000000";
    let mut holder = store_at(&server.addr(), StoreOptions::default());
    holder.read(id).unwrap();
    let addr = server.addr();
    let waiter = std::thread::spawn(move || {
        let opts = StoreOptions::default().with_lock(LockOptions::default().with_queue(false));
        let mut store = store_at(&addr, opts);
        store.read(id).unwrap();
        store.close().unwrap();
        store.stats()
    });
    std::thread::sleep(Duration::from_millis(150));
    holder.write(id, b"x|i:1;").unwrap();
    let s = waiter.join().unwrap();
    assert_eq!(
        (s.lock_waits, s.lock_fallbacks, s.lock_handoffs),
        (1, 1, 0),
        "{s:?}"
    );
}

#[test]
fn cluster_waiters_queue_in_the_sessions_slot_in_arrival_order() {
    let cluster = RedisCluster::start();
    let save_path = cluster.seed_query();
    let open = || {
        SessionStore::new(
            Topology::from_cluster_save_path(&save_path).expect("cluster save_path"),
            waiting(Duration::from_secs(10)),
        )
    };
    let id = "clusterfifo0000000000000";
    let (order, stats) = arrivals(open, id, 4);
    assert_eq!(order, "start,0,1,2,3");
    for s in &stats {
        assert_eq!(s.lock_handoffs, 1, "{s:?}");
    }
    let data = format!("{DEFAULT_CLUSTER_PREFIX}{id}");
    let lock = format!("{{{data}}}_LOCK");
    for k in [format!("{lock}_Q"), format!("{lock}_W:web|1|x")] {
        assert_eq!(slot(k.as_bytes()), slot(data.as_bytes()), "{k}");
    }
}
