//! The async store (feature `tokio`) against real redis-servers and a real cluster, side by side
//! with the blocking store: the same keys and host choice, the lock protocol with each other
//! (a blocking holder hands the lock to an async waiter), fenced writes, destroy (lock handed on,
//! index entry removed), exists and create id as the blocking store decides them, one shared
//! connection that survives a Redis restart, a Sentinel master followed through a failover, and
//! the per-user index kept for the blocking store's listings.

use std::sync::Arc;
use std::time::{Duration, Instant};

use phpsess::store::{
    AsyncSessionStore, Binding, LockOptions, SessionStore, StoreOptions, Topology,
    DEFAULT_CLUSTER_PREFIX, DEFAULT_PREFIX,
};
use phpsess::Error;
use phpsess_compat::cli::run_phpsess;

use crate::cluster::counter;
use phpsess_compat::servers::{RedisCluster, RedisServer, SentinelSetup};
use phpsess_compat::web::fleet::weighted_host;
use redis::Commands;

/// A two-thread runtime with timers and I/O, for the async store's tests.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn options() -> StoreOptions {
    StoreOptions::default().with_lock(
        LockOptions::default()
            .with_wait(Duration::from_secs(3))
            .with_retry_interval(Duration::from_millis(10)),
    )
}

#[test]
fn weighted_hosts_hold_each_session_where_phpredis_puts_it() {
    let servers: Vec<RedisServer> = (0..3).map(|_| RedisServer::start()).collect();
    let weights = [1u32, 2, 3];
    let save_path = servers
        .iter()
        .zip(weights)
        .map(|(s, w)| format!("tcp://{}?weight={w}", s.addr()))
        .collect::<Vec<_>>()
        .join(", ");
    let rt = runtime();
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, options()) })
        .unwrap();
    let mut blocking = SessionStore::new(Topology::from_save_path(&save_path).unwrap(), options());
    // phpredis picks the host from the first four bytes of the id: vary them.
    let ids: Vec<String> = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcd"
        .chars()
        .enumerate()
        .map(|(i, c)| format!("{c}weighted{i:017}"))
        .collect();
    rt.block_on(async {
        for id in &ids {
            let read = store.read_locked(id).await.unwrap();
            assert_eq!(read.data, None);
            store
                .write(read.lock, format!("id|s:{}:\"{id}\";", id.len()).as_bytes())
                .await
                .unwrap();
        }
    });
    let mut used = [0usize; 3];
    for id in &ids {
        let at = weighted_host(id, &weights);
        used[at] += 1;
        let key = format!("PHPREDIS_SESSION:{id}");
        for (i, server) in servers.iter().enumerate() {
            let exists: bool = server.connection().exists(&key).unwrap();
            assert_eq!(exists, i == at, "{key} on server {i} (phpredis picks {at})");
        }
        assert!(!servers[at]
            .connection()
            .exists::<_, bool>(format!("{key}_LOCK"))
            .unwrap());
        // The blocking store reads it from the same host, and its write is what the async store reads.
        let read = blocking.read(id).unwrap();
        assert_eq!(
            read.data.unwrap(),
            format!("id|s:{}:\"{id}\";", id.len()).as_bytes()
        );
        blocking.write(id, b"from|s:8:\"blocking\";").unwrap();
        let seen = rt.block_on(store.read(id)).unwrap();
        assert_eq!(seen.as_deref(), Some(&b"from|s:8:\"blocking\";"[..]));
    }
    assert!(used.iter().all(|&n| n > 0), "every host used: {used:?}");
}

#[test]
fn cluster_sessions_lock_in_the_data_slot_and_write_fenced() {
    let cluster = RedisCluster::start();
    let rt = runtime();
    let store = rt
        .block_on(async {
            AsyncSessionStore::from_cluster_save_path(&cluster.seed_query(), options())
        })
        .unwrap();
    let mut blocking = SessionStore::new(
        Topology::from_cluster_save_path(&cluster.seed_query()).unwrap(),
        options(),
    );
    let mut c = cluster.connection();
    let ids: Vec<String> = (0..12).map(|i| format!("acluster{i:016}")).collect();
    for id in &ids {
        blocking.read(id).unwrap();
        blocking.write(id, b"n|i:1;").unwrap();
        rt.block_on(async {
            let read = store.read_locked(id).await.unwrap();
            assert_eq!(read.data.as_deref(), Some(&b"n|i:1;"[..]));
            let key = store.key(id);
            let holder: Option<String> = c.get(&key.lock).unwrap();
            assert_eq!(
                holder.as_deref(),
                Some(read.lock.token()),
                "our token holds the lock"
            );
            assert_eq!(cluster.slot_of(&key.data), cluster.slot_of(&key.lock));
            store.write(read.lock, b"n|i:2;").await.unwrap();
            let holder: Option<String> = c.get(&key.lock).unwrap();
            assert_eq!(holder, None, "released by the write");
        });
        let stored: Vec<u8> = c.get(format!("{DEFAULT_CLUSTER_PREFIX}{id}")).unwrap();
        assert_eq!(stored, b"n|i:2;");
        assert_eq!(blocking.read(id).unwrap().data.unwrap(), b"n|i:2;");
        blocking.close().unwrap();
    }
}

#[test]
fn a_write_whose_lock_was_lost_is_refused_and_writes_nothing() {
    let server = RedisServer::start();
    let rt = runtime();
    let save_path = format!("tcp://{}", server.addr());
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, options()) })
        .unwrap();
    let mut c = server.connection();
    let id = "fencedsession0000000001";
    let key = format!("PHPREDIS_SESSION:{id}");
    let _: () = c.set(&key, "n|i:1;").unwrap();
    rt.block_on(async {
        // Taken over by another request after ours expired.
        let read = store.read_locked(id).await.unwrap();
        let _: () = c.set(format!("{key}_LOCK"), "web9|77|someoneelse").unwrap();
        let err = store.write(read.lock, b"n|i:99;").await.unwrap_err();
        assert!(
            matches!(&err, Error::LockLost { holder, .. } if holder == "web9|77|someoneelse"),
            "{err}"
        );
        let _: () = c.del(format!("{key}_LOCK")).unwrap();
        // Expired with nobody after us.
        let read = store.read_locked(id).await.unwrap();
        let _: () = c.del(format!("{key}_LOCK")).unwrap();
        let err = store.write(read.lock, b"n|i:99;").await.unwrap_err();
        assert!(matches!(&err, Error::LockLost { .. }), "{err}");
        assert!(err.to_string().contains("nobody"), "{err}");
        assert!(
            !err.to_string().contains(id),
            "no whole id in messages: {err}"
        );
    });
    let stored: String = c.get(&key).unwrap();
    assert_eq!(stored, "n|i:1;", "nothing written without the lock");
}

#[test]
fn an_async_waiter_gets_the_lock_when_the_blocking_holder_writes() {
    let server = RedisServer::start();
    let rt = runtime();
    let save_path = format!("tcp://{}", server.addr());
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, options()) })
        .unwrap();
    let mut blocking = SessionStore::new(Topology::from_save_path(&save_path).unwrap(), options());
    let id = "handoffsession000000001";
    blocking.read(id).unwrap();
    let waiter = {
        let store = store.clone();
        rt.spawn(async move {
            let started = Instant::now();
            let read = store.read_locked(id).await.unwrap();
            let waited = started.elapsed();
            let data = read.data.clone();
            store.write(read.lock, b"n|i:2;").await.unwrap();
            (waited, data)
        })
    };
    std::thread::sleep(Duration::from_millis(400));
    blocking.write(id, b"n|i:1;").unwrap();
    let (waited, data) = rt.block_on(waiter).unwrap();
    assert!(waited >= Duration::from_millis(300), "waited {waited:?}");
    assert_eq!(
        data.as_deref(),
        Some(&b"n|i:1;"[..]),
        "read after the holder's write"
    );
    assert_eq!(blocking.read(id).unwrap().data.unwrap(), b"n|i:2;");

    // A holder that never lets go: the wait ends with the holder's name, and leaves the queue.
    let short = options().with_lock(LockOptions::default().with_wait(Duration::from_millis(300)));
    let impatient = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, short) })
        .unwrap();
    let err = rt.block_on(impatient.read_locked(id)).unwrap_err();
    assert!(matches!(&err, Error::LockTimeout { .. }), "{err}");
    let holder: String = server
        .connection()
        .get(format!("PHPREDIS_SESSION:{id}_LOCK"))
        .unwrap();
    assert!(err.to_string().contains(&holder), "{err} names {holder}");
    let queue: i64 = server
        .connection()
        .llen(format!("PHPREDIS_SESSION:{id}_LOCK_Q"))
        .unwrap();
    assert_eq!(queue, 0, "the timed-out waiter left the queue");
    blocking.close().unwrap();
}

#[test]
fn concurrent_tasks_incrementing_one_session_lose_no_update() {
    let server = RedisServer::start();
    let rt = runtime();
    let save_path = format!("tcp://{}", server.addr());
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, options()) })
        .unwrap();
    let id = "countersession000000001";
    const TASKS: i64 = 20;
    let store = Arc::new(store);
    rt.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let read = store.read_locked(id).await.unwrap();
                    let n = read
                        .data
                        .as_deref()
                        .and_then(|d| std::str::from_utf8(d).ok())
                        .and_then(|s| {
                            s.strip_prefix("n|i:")?
                                .strip_suffix(';')?
                                .parse::<i64>()
                                .ok()
                        })
                        .unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    store
                        .write(read.lock, format!("n|i:{};", n + 1).as_bytes())
                        .await
                        .unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    });
    let stored: String = server
        .connection()
        .get(format!("PHPREDIS_SESSION:{id}"))
        .unwrap();
    assert_eq!(stored, format!("n|i:{TASKS};"));
}

#[test]
fn the_shared_connection_recovers_after_a_redis_restart() {
    let mut server = RedisServer::builder().appendonly(true).start();
    let rt = runtime();
    let save_path = format!("tcp://{}?timeout=1&read_timeout=1", server.addr());
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, options()) })
        .unwrap();
    let id = "restartsession000000001";
    rt.block_on(async {
        let read = store.read_locked(id).await.unwrap();
        store.write(read.lock, b"n|i:1;").await.unwrap();
    });
    server.restart();
    // The first command may meet the dead connection (an error, never a panic); the manager
    // reconnects, and from then on every request works.
    let started = Instant::now();
    let mut failures = 0;
    loop {
        match rt.block_on(store.read(id)) {
            Ok(data) => {
                assert_eq!(data.as_deref(), Some(&b"n|i:1;"[..]));
                break;
            }
            Err(e) => {
                failures += 1;
                assert!(
                    started.elapsed() < Duration::from_secs(5),
                    "never recovered: {e}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    assert!(
        failures <= 2,
        "{failures} failed requests after the restart"
    );
    rt.block_on(async {
        for n in 2..22 {
            let read = store.read_locked(id).await.unwrap();
            store
                .write(read.lock, format!("n|i:{n};").as_bytes())
                .await
                .unwrap();
        }
    });
    let stored: String = server
        .connection()
        .get(format!("PHPREDIS_SESSION:{id}"))
        .unwrap();
    assert_eq!(stored, "n|i:21;");
}

#[test]
fn hostile_ids_are_refused_before_any_command() {
    let server = RedisServer::start();
    let rt = runtime();
    let store = rt
        .block_on(async {
            AsyncSessionStore::from_save_path(&format!("tcp://{}", server.addr()), options())
        })
        .unwrap();
    server.reset_stats();
    let before = server.total_commands_processed();
    for id in ["", "../x", "a b", "x\r\nFLUSHALL", &"a".repeat(300)] {
        let err = rt.block_on(store.read(id)).unwrap_err();
        assert!(matches!(err, Error::InvalidId { .. }), "{id:?}: {err}");
        let err = rt.block_on(store.read_locked(id)).unwrap_err();
        assert!(matches!(err, Error::InvalidId { .. }), "{id:?}: {err}");
    }
    // Only the first INFO (counted by the second) ran in between.
    assert_eq!(
        server.total_commands_processed(),
        before + 1,
        "no command reached Redis"
    );
}

fn sentinel_save_path(setup: &SentinelSetup) -> String {
    setup.save_path("timeout=1&read_timeout=2")
}

#[test]
fn sentinel_sessions_are_shared_with_the_blocking_store_and_follow_a_failover() {
    let mut setup = SentinelSetup::start();
    let save_path = sentinel_save_path(&setup);
    let rt = runtime();
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, options()) })
        .unwrap();
    let mut blocking = SessionStore::new(Topology::from_save_path(&save_path).unwrap(), options());
    let id = "asentinel000000000000000";
    let key = format!("{DEFAULT_PREFIX}{id}");
    rt.block_on(async {
        let read = store.read_locked(id).await.unwrap();
        assert_eq!(read.data, None);
        store.write(read.lock, b"n|i:1;").await.unwrap();
    });
    let host = store.host_of(id);
    assert!(host.contains(&setup.master_addr()), "{host}");
    // The write waited for the replica (`WAIT 1`): it is there as soon as the write returns.
    let on_replica: Option<Vec<u8>> = setup.replica().connection().get(&key).unwrap();
    assert_eq!(on_replica.as_deref(), Some(&b"n|i:1;"[..]));
    // The blocking store finds the same master and key, and the async store reads its write.
    assert_eq!(
        blocking.read(id).unwrap().data.as_deref(),
        Some(&b"n|i:1;"[..])
    );
    blocking.write(id, b"n|i:2;").unwrap();
    blocking.close().unwrap();
    rt.block_on(async {
        assert_eq!(
            store.read(id).await.unwrap().as_deref(),
            Some(&b"n|i:2;"[..])
        );
    });

    let old = setup.kill_master();
    let new = setup.wait_for_failover();
    assert_ne!(old, new);
    rt.block_on(async {
        let read = store.read_locked(id).await.unwrap();
        assert_eq!(
            read.data.as_deref(),
            Some(&b"n|i:2;"[..]),
            "written before the failover, read after"
        );
        // The new master has no replica left to confirm it: the write stands all the same,
        // because none of its replicas was promoted away from it.
        store.write(read.lock, b"n|i:3;").await.unwrap();
    });
    let after = store.host_of(id);
    assert!(
        after.contains(&new),
        "now talking to {after}, expected {new}"
    );
    let stored: Vec<u8> = setup.master_connection().get(&key).unwrap();
    assert_eq!(stored, b"n|i:3;");
    assert_eq!(
        blocking.read(id).unwrap().data.as_deref(),
        Some(&b"n|i:3;"[..]),
        "the blocking store follows to the same master"
    );
    blocking.close().unwrap();
}

/// As the blocking store's test of the same name (issue 9, point 4): after `SENTINEL FAILOVER`
/// the old master accepts writes for seconds and then drops them; every write the async store
/// acknowledged must be on the new master afterwards.
#[test]
fn sentinel_planned_failover_loses_no_acknowledged_write() {
    use std::sync::atomic::{AtomicBool, Ordering};

    let mut setup = SentinelSetup::start();
    let save_path = setup.save_path("timeout=1&read_timeout=1");
    let ids: Vec<String> = (0..20).map(|i| format!("aplanned{i:016}")).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let rt = runtime();
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, options()) })
        .unwrap();
    let writer = {
        let stop = Arc::clone(&stop);
        let ids = ids.clone();
        rt.spawn(async move {
            let mut acked = vec![0u64; ids.len()];
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut lost = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let n = i % ids.len();
                i += 1;
                let id = &ids[n];
                let result = async {
                    let read = store.read_locked(id).await?;
                    let seen = counter(read.data.as_deref());
                    if seen < acked[n] {
                        lost.push(format!(
                            "{id}: read {seen} after {} was acknowledged",
                            acked[n]
                        ));
                    }
                    store
                        .write(read.lock, format!("n|i:{};", seen + 1).as_bytes())
                        .await?;
                    Ok::<u64, Error>(seen + 1)
                }
                .await;
                match result {
                    Ok(v) => {
                        acked[n] = v;
                        ok += 1;
                    }
                    Err(_) => {
                        failed += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            }
            (acked, ok, failed, lost)
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    setup.planned_failover();
    setup.wait_for_failover();
    setup.wait_for_demotion();
    // A moment of writes on the settled new master, then stop.
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let (acked, ok, failed, lost) = rt.block_on(writer).expect("writer task");
    super::cluster::assert_no_acknowledged_write_lost(&setup, &ids, &acked, (ok, failed), lost);
}

#[test]
fn sentinel_errors_and_debug_never_show_a_password() {
    let rt = runtime();
    // Nothing listens on port 1: no sentinel can name a master.
    let save_path =
        "sentinel://127.0.0.1:1/mymaster?auth=s3cretpw&sentinel_auth=s3cretsp&timeout=0.5";
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(save_path, options()) })
        .unwrap();
    let err = rt
        .block_on(store.read_locked("nomaster00000000000000"))
        .unwrap_err();
    let text = format!("{err} {err:?} {store:?}");
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(text.contains("no sentinel named a master"), "{text}");
    assert!(text.contains("mymaster"), "{text}");
    for secret in ["s3cretpw", "s3cretsp"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
}

/// One async request: lock and read `id`, bind it to `user` (None: leave the binding as read),
/// write `data`. Returns the binding the read found.
async fn async_request(
    store: &AsyncSessionStore,
    id: &str,
    user: Option<Option<&str>>,
    data: &[u8],
) -> Option<Option<Binding>> {
    let mut read = store.read_locked(id).await.unwrap();
    let found = read.lock.binding().map(|b| b.cloned());
    if let Some(user) = user {
        read.lock
            .bind(user.map(|u| Binding::explicit(u.as_bytes().to_vec())));
    }
    store.write(read.lock, data).await.unwrap();
    found
}

fn listed_ids(blocking: &mut SessionStore, user: &str) -> Vec<String> {
    let mut ids: Vec<String> = blocking
        .user_sessions(user.as_bytes())
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    ids.sort();
    ids
}

#[test]
fn sessions_the_async_store_binds_are_listed_and_ended_through_the_index() {
    let servers: Vec<RedisServer> = (0..2).map(|_| RedisServer::start()).collect();
    let save_path = servers
        .iter()
        .map(|s| format!("tcp://{}", s.addr()))
        .collect::<Vec<_>>()
        .join(", ");
    let indexed = options().with_user_index(true);
    let rt = runtime();
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, indexed.clone()) })
        .unwrap();
    let mut blocking = SessionStore::new(
        Topology::from_save_path(&save_path).unwrap(),
        indexed.clone(),
    );
    // Ids on both hosts (phpredis picks the host from the first bytes).
    let ids: Vec<String> = "ABCDEF"
        .chars()
        .map(|c| format!("{c}indexed0000000000"))
        .collect();
    rt.block_on(async {
        for id in &ids {
            let found = async_request(&store, id, Some(Some("42")), b"user_id|i:42;").await;
            assert_eq!(found, Some(None), "{id}: unbound before");
        }
        // A later write without a new choice keeps the binding, and the read shows it.
        let found = async_request(&store, &ids[0], None, b"user_id|i:42;n|i:2;").await;
        assert_eq!(found, Some(Some(Binding::explicit(b"42".to_vec()))));
        // A user change moves the entry.
        async_request(&store, &ids[1], Some(Some("43")), b"user_id|i:43;").await;
    });
    let mut want: Vec<String> = ids.iter().filter(|id| *id != &ids[1]).cloned().collect();
    want.sort();
    assert_eq!(listed_ids(&mut blocking, "42"), want);
    assert_eq!(listed_ids(&mut blocking, "43"), [ids[1].clone()]);
    for server in &servers {
        let mut c = server.connection();
        let members: Vec<String> = c.zrange("PHPREDIS_SESSION:_user:42", 0, -1).unwrap();
        for m in &members {
            let exists: bool = c.exists(format!("PHPREDIS_SESSION:{m}")).unwrap();
            assert!(exists, "each host indexes the sessions it holds: {m}");
        }
    }
    // The blocking store reads the binding the async store wrote.
    blocking.read(&ids[2]).unwrap();
    assert_eq!(
        blocking.binding(&ids[2]),
        Some(Some(&Binding::explicit(b"42".to_vec())))
    );
    blocking.close().unwrap();
    // `phpsess sessions --user` lists them from the index too.
    let (code, out, err) = run_phpsess(&[
        "sessions",
        "--save-path",
        &save_path,
        "--user",
        "42",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut cli_ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    cli_ids.sort();
    assert_eq!(cli_ids, want);
    // What `phpsess kill --user` uses.
    let mut ended = blocking
        .destroy_user_sessions(b"42", Some(&ids[0]))
        .unwrap();
    ended.sort();
    assert_eq!(ended.len(), want.len() - 1, "{ended:?}");
    assert_eq!(listed_ids(&mut blocking, "42"), [ids[0].clone()]);
    rt.block_on(async {
        for id in ended {
            assert_eq!(store.read(&id).await.unwrap(), None, "{id} ended");
        }
        let kept = store.read(&ids[0]).await.unwrap();
        assert_eq!(kept.as_deref(), Some(&b"user_id|i:42;n|i:2;"[..]));
        // Unbinding takes the session out of its user's index.
        async_request(&store, &ids[1], Some(None), b"").await;
    });
    assert_eq!(listed_ids(&mut blocking, "43"), Vec::<String>::new());
}

#[test]
fn the_async_store_keeps_the_index_on_a_cluster() {
    let cluster = RedisCluster::start();
    let indexed = options().with_user_index(true);
    let rt = runtime();
    let store = rt
        .block_on(async {
            AsyncSessionStore::from_cluster_save_path(&cluster.seed_query(), indexed.clone())
        })
        .unwrap();
    let mut blocking = SessionStore::new(
        Topology::from_cluster_save_path(&cluster.seed_query()).unwrap(),
        indexed,
    );
    let ids: Vec<String> = (0..6).map(|i| format!("aindexed{i:016}")).collect();
    rt.block_on(async {
        for id in &ids {
            async_request(&store, id, Some(Some("7")), b"user_id|i:7;").await;
        }
        // The index key is in a slot of its own: a user change updates both users' entries.
        async_request(&store, &ids[0], Some(Some("8")), b"user_id|i:8;").await;
    });
    let mut want = ids[1..].to_vec();
    want.sort();
    assert_eq!(listed_ids(&mut blocking, "7"), want);
    assert_eq!(listed_ids(&mut blocking, "8"), [ids[0].clone()]);
    let ended = blocking.destroy_user_sessions(b"7", None).unwrap();
    assert_eq!(ended.len(), 5, "{ended:?}");
    let mut c = cluster.connection();
    for id in &ids[1..] {
        let exists: bool = c.exists(format!("{DEFAULT_CLUSTER_PREFIX}{id}")).unwrap();
        assert!(!exists, "{id} ended");
    }
}

#[test]
fn hashed_ids_name_the_same_keys_in_both_stores() {
    use phpsess::store::{AtRestKey, IdHasher};
    let server = RedisServer::start();
    let rt = runtime();
    let save_path = format!("tcp://{}", server.addr());
    let hasher = IdHasher::new(&AtRestKey::from_bytes([7; 32]));
    let hashed = options().with_hash_ids(Some(hasher.clone()));
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, hashed.clone()) })
        .unwrap();
    let mut blocking = SessionStore::new(Topology::from_save_path(&save_path).unwrap(), hashed);
    let id = "hashedsession0000000001";
    blocking.read(id).unwrap();
    blocking.write(id, b"n|i:1;").unwrap();
    rt.block_on(async {
        let read = store.read_locked(id).await.unwrap();
        assert_eq!(read.data.as_deref(), Some(&b"n|i:1;"[..]));
        assert_eq!(
            read.lock.id(),
            hasher.stored_id(id),
            "named by the stored id"
        );
        store.write(read.lock, b"n|i:2;").await.unwrap();
    });
    let keys: Vec<String> = server.connection().keys("*").unwrap();
    assert_eq!(
        keys,
        vec![format!("PHPREDIS_SESSION:{}", hasher.stored_id(id))]
    );
    assert_eq!(blocking.read(id).unwrap().data.unwrap(), b"n|i:2;");
    blocking.close().unwrap();
}

fn two_weighted_hosts() -> (Vec<RedisServer>, String) {
    let servers: Vec<RedisServer> = (0..2).map(|_| RedisServer::start()).collect();
    let save_path = servers
        .iter()
        .zip([1u32, 2])
        .map(|(s, w)| format!("tcp://{}?weight={w}", s.addr()))
        .collect::<Vec<_>>()
        .join(", ");
    (servers, save_path)
}

/// The async and the blocking store over the same servers (a `redis` or `sentinel://` save_path).
fn both_stores(
    rt: &tokio::runtime::Runtime,
    save_path: &str,
    options: StoreOptions,
) -> (AsyncSessionStore, SessionStore) {
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(save_path, options.clone()) })
        .unwrap();
    let blocking = SessionStore::new(Topology::from_save_path(save_path).unwrap(), options);
    (store, blocking)
}

#[test]
fn destroy_ends_the_session_and_hands_its_lock_to_the_next_request() {
    let (servers, save_path) = two_weighted_hosts();
    let rt = runtime();
    let (store, mut blocking) = both_stores(&rt, &save_path, options());
    let ids: Vec<String> = "ABCDEFGH"
        .chars()
        .map(|c| format!("{c}destroyed0000000000"))
        .collect();
    for id in &ids {
        blocking.read(id).unwrap();
        blocking.write(id, b"user|s:3:\"eve\";").unwrap();
    }
    rt.block_on(async {
        for id in &ids {
            let read = store.read_locked(id).await.unwrap();
            assert_eq!(read.data.as_deref(), Some(&b"user|s:3:\"eve\";"[..]));
            // A request queued behind ours gets the lock at the destroy, and no session.
            let waiter = {
                let store = store.clone();
                let id = id.clone();
                tokio::spawn(async move {
                    let started = Instant::now();
                    let next = store.read_locked(&id).await.unwrap();
                    let data = next.data.clone();
                    store.release(next.lock).await.unwrap();
                    (started.elapsed(), data)
                })
            };
            tokio::time::sleep(Duration::from_millis(50)).await;
            store.destroy(read.lock).await.unwrap();
            let (waited, data) = waiter.await.unwrap();
            assert_eq!(data, None, "{id}: destroyed for the next request");
            assert!(waited < Duration::from_secs(2), "{id}: waited {waited:?}");
            assert!(!store.exists(id).await.unwrap());
        }
    });
    for id in &ids {
        let key = format!("PHPREDIS_SESSION:{id}");
        for server in &servers {
            let left: Vec<String> = server.connection().keys(format!("{key}*")).unwrap();
            assert!(left.is_empty(), "{id}: left behind {left:?}");
        }
        assert!(!blocking.exists(id).unwrap());
        // Free at once for PHP's next request (else it would wait out the lock).
        let started = Instant::now();
        assert_eq!(blocking.read(id).unwrap().data, None);
        assert!(started.elapsed() < Duration::from_secs(1));
        blocking.close().unwrap();
    }
}

#[test]
fn destroy_with_the_user_index_on_takes_the_session_out_of_its_users_index() {
    let (servers, save_path) = two_weighted_hosts();
    let indexed = options().with_user_index(true);
    let rt = runtime();
    let (store, mut blocking) = both_stores(&rt, &save_path, indexed);
    let ids: Vec<String> = "ABCDEF"
        .chars()
        .map(|c| format!("{c}unindexed000000000"))
        .collect();
    let (gone, kept) = ids.split_at(3);
    rt.block_on(async {
        for id in &ids {
            async_request(&store, id, Some(Some("42")), b"user_id|i:42;").await;
        }
        for id in gone {
            let read = store.read_locked(id).await.unwrap();
            store.destroy(read.lock).await.unwrap();
        }
    });
    assert_eq!(listed_ids(&mut blocking, "42"), kept.to_vec());
    for server in &servers {
        let mut c = server.connection();
        let members: Vec<String> = c.zrange("PHPREDIS_SESSION:_user:42", 0, -1).unwrap();
        for id in gone {
            assert!(!members.contains(id), "{id} still indexed: {members:?}");
            let binding: bool = c.exists(format!("PHPREDIS_SESSION:{id}_USER")).unwrap();
            assert!(!binding, "{id}: binding left behind");
        }
    }
}

#[test]
fn destroy_exists_and_create_id_on_a_cluster() {
    let cluster = RedisCluster::start();
    let indexed = options().with_user_index(true);
    let rt = runtime();
    let seeds = cluster.seed_query();
    let store = rt
        .block_on(async { AsyncSessionStore::from_cluster_save_path(&seeds, indexed.clone()) })
        .unwrap();
    let mut blocking =
        SessionStore::new(Topology::from_cluster_save_path(&seeds).unwrap(), indexed);
    let mut c = cluster.connection();
    let ids: Vec<String> = (0..6).map(|i| format!("cdestroy{i:016}")).collect();
    let index = format!("{DEFAULT_CLUSTER_PREFIX}_user:9");
    rt.block_on(async {
        for id in &ids {
            async_request(&store, id, Some(Some("9")), b"user_id|i:9;").await;
            assert!(store.exists(id).await.unwrap());
        }
    });
    let members: Vec<String> = c.zrange(&index, 0, -1).unwrap();
    assert_eq!(members.len(), ids.len());
    rt.block_on(async {
        for id in &ids[..3] {
            let read = store.read_locked(id).await.unwrap();
            store.destroy(read.lock).await.unwrap();
            assert!(!store.exists(id).await.unwrap());
        }
    });
    let mut members: Vec<String> = c.zrange(&index, 0, -1).unwrap();
    members.sort();
    assert_eq!(
        members,
        ids[3..].to_vec(),
        "the index lost the destroyed ones"
    );
    for id in &ids[..3] {
        assert!(!blocking.exists(id).unwrap());
        let left: bool = c.exists(store.key(id).lock).unwrap();
        assert!(!left, "{id}: lock left behind");
    }
    // A taken id is skipped; the fresh one comes locked, in its own slot.
    let mut candidates = vec!["cdestroyfresh00000001".to_string(), ids[4].clone()];
    let new = rt
        .block_on(store.create_id(|| candidates.pop().unwrap()))
        .unwrap();
    assert_eq!(new.id, "cdestroyfresh00000001");
    let holder: Option<String> = c.get(store.key(&new.id).lock).unwrap();
    assert_eq!(holder.as_deref(), Some(new.lock.token()));
    rt.block_on(store.write(new.lock, b"n|i:1;")).unwrap();
    assert_eq!(
        blocking
            .read("cdestroyfresh00000001")
            .unwrap()
            .data
            .unwrap(),
        b"n|i:1;"
    );
    blocking.close().unwrap();
}

#[test]
fn exists_and_create_id_agree_with_the_blocking_store() {
    let (servers, save_path) = two_weighted_hosts();
    let rt = runtime();
    let (store, mut blocking) = both_stores(&rt, &save_path, options());
    let taken: Vec<String> = "ABCD"
        .chars()
        .map(|c| format!("{c}taken00000000000"))
        .collect();
    for id in &taken {
        blocking.read(id).unwrap();
        blocking.write(id, b"n|i:1;").unwrap();
    }
    let free: Vec<String> = "EFGH"
        .chars()
        .map(|c| format!("{c}free000000000000"))
        .collect();
    for id in taken.iter().chain(&free) {
        let theirs = blocking.exists(id).unwrap();
        assert_eq!(rt.block_on(store.exists(id)).unwrap(), theirs, "{id}");
        assert_eq!(theirs, taken.contains(id), "{id}");
    }
    assert!(matches!(
        rt.block_on(store.exists("../etc")),
        Err(Error::InvalidId { .. })
    ));
    // Taken ids are skipped by both, and the first free one is returned with its lock.
    let mut ours = vec![free[0].clone(), taken[1].clone(), taken[0].clone()];
    let new = rt
        .block_on(store.create_id(|| ours.pop().unwrap()))
        .unwrap();
    assert_eq!(new.id, free[0]);
    let mut theirs = vec![free[1].clone(), taken[3].clone(), taken[2].clone()];
    assert_eq!(
        blocking.create_id(|| theirs.pop().unwrap()).unwrap(),
        free[1]
    );
    blocking.write(&free[1], b"n|i:2;").unwrap();
    let at = weighted_host(&free[0], &[1, 2]);
    let holder: Option<String> = servers[at]
        .connection()
        .get(format!("PHPREDIS_SESSION:{}_LOCK", free[0]))
        .unwrap();
    assert_eq!(
        holder.as_deref(),
        Some(new.lock.token()),
        "locked by create_id"
    );
    rt.block_on(store.write(new.lock, b"n|i:3;")).unwrap();
    assert_eq!(blocking.read(&free[0]).unwrap().data.unwrap(), b"n|i:3;");
    blocking.close().unwrap();
    // Three collisions in a row: the same error from both.
    let mut always = taken.clone();
    let err = rt
        .block_on(store.create_id(|| always.pop().unwrap()))
        .unwrap_err();
    let mut again = taken.clone();
    let theirs = blocking.create_id(|| again.pop().unwrap()).unwrap_err();
    assert_eq!(err.to_string(), theirs.to_string());
    for (i, server) in servers.iter().enumerate() {
        let locks: Vec<String> = server.connection().keys("*_LOCK").unwrap();
        assert!(locks.is_empty(), "server {i}: locks left {locks:?}");
    }
}

#[test]
fn destroy_with_hashed_ids_deletes_the_stored_ids_keys() {
    use phpsess::store::{AtRestKey, IdHasher};
    let server = RedisServer::start();
    let rt = runtime();
    let save_path = format!("tcp://{}", server.addr());
    let hasher = IdHasher::new(&AtRestKey::from_bytes([9; 32]));
    let hashed = options()
        .with_hash_ids(Some(hasher.clone()))
        .with_user_index(true);
    let (store, mut blocking) = both_stores(&rt, &save_path, hashed);
    let id = "hasheddestroy0000000001";
    rt.block_on(async {
        async_request(&store, id, Some(Some("5")), b"user_id|i:5;").await;
        assert!(store.exists(id).await.unwrap());
        assert!(blocking.exists(id).unwrap());
        let read = store.read_locked(id).await.unwrap();
        store.destroy(read.lock).await.unwrap();
        assert!(!store.exists(id).await.unwrap());
    });
    let keys: Vec<String> = server.connection().keys("*").unwrap();
    assert_eq!(keys, Vec::<String>::new(), "{}", hasher.stored_id(id));
}

#[test]
fn destroy_on_a_sentinel_master_is_on_the_replica_when_it_returns() {
    let setup = SentinelSetup::start();
    let save_path = sentinel_save_path(&setup);
    let rt = runtime();
    let (store, mut blocking) = both_stores(&rt, &save_path, options());
    let id = "sdestroyed00000000000001";
    let key = format!("{DEFAULT_PREFIX}{id}");
    blocking.read(id).unwrap();
    blocking.write(id, b"n|i:1;").unwrap();
    rt.block_on(async {
        assert!(store.exists(id).await.unwrap());
        let read = store.read_locked(id).await.unwrap();
        assert_eq!(read.data.as_deref(), Some(&b"n|i:1;"[..]));
        store.destroy(read.lock).await.unwrap();
    });
    // The destroy waited for the replica (`WAIT`), as a write does.
    let on_replica: Option<Vec<u8>> = setup.replica().connection().get(&key).unwrap();
    assert_eq!(on_replica, None);
    let lock: Option<Vec<u8>> = setup
        .master_connection()
        .get(format!("{key}_LOCK"))
        .unwrap();
    assert_eq!(lock, None, "released");
    assert!(!blocking.exists(id).unwrap());
}

/// Which way a request ends its lock, for the test below.
#[derive(Debug, Clone, Copy)]
enum Ending {
    Write,
    Touch,
    Destroy,
    Release,
}

#[test]
fn a_request_dropped_while_ending_its_lock_gives_the_lock_back_instead_of_waiting_for_expiry() {
    // The store's connection is cut and Redis pauses; the reconnect (AUTH first) then hangs, so
    // the script that ends the lock is never sent, and the request is dropped meanwhile (a
    // client gone, a timeout layer). The lock must be given back once Redis answers again, not
    // left for its 30 s expiry to block the user's next requests.
    let server = RedisServer::builder().password("flight-pw").start();
    let rt = runtime();
    let save_path = format!("tcp://{}?auth=flight-pw", server.addr());
    let options = StoreOptions::default().with_lock(
        LockOptions::default()
            .with_wait(Duration::from_millis(500))
            .with_expire(Duration::from_secs(30)),
    );
    let store = rt
        .block_on(async { AsyncSessionStore::from_save_path(&save_path, options) })
        .unwrap();
    let mut c = server.connection();
    for (n, ending) in [
        Ending::Write,
        Ending::Touch,
        Ending::Destroy,
        Ending::Release,
    ]
    .into_iter()
    .enumerate()
    {
        let id = format!("inflightsession00000000{n}");
        let key = format!("PHPREDIS_SESSION:{id}");
        let lock_key = format!("{key}_LOCK");
        let _: () = c.set(&key, "n|i:1;").unwrap();
        let read = rt.block_on(store.read_locked(&id)).unwrap();
        assert!(c.exists::<_, bool>(&lock_key).unwrap());
        let _: redis::Value = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("normal")
            .query(&mut c)
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        server.pause();
        // The first command finds the connection dead and fails at once, starting a reconnect
        // that hangs on the paused server; the ending below waits for that reconnect.
        let first = rt.block_on(async {
            tokio::time::timeout(
                Duration::from_millis(400),
                store.exists("inflightprobe0000000"),
            )
            .await
        });
        assert!(
            !matches!(first, Ok(Ok(_))),
            "{ending:?}: answered while paused"
        );
        let dropped = rt.block_on(async {
            let end = async {
                match ending {
                    Ending::Write => store.write(read.lock, b"n|i:2;").await,
                    Ending::Touch => store.touch(read.lock).await,
                    Ending::Destroy => store.destroy(read.lock).await,
                    Ending::Release => store.release(read.lock).await,
                }
            };
            tokio::time::timeout(Duration::from_millis(400), end).await
        });
        assert!(dropped.is_err(), "{ending:?}: ended while Redis was paused");
        server.resume();
        let started = Instant::now();
        while c.exists::<_, bool>(&lock_key).unwrap() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{ending:?}: the lock outlived its dropped request (ttl {} ms)",
                c.pttl::<_, i64>(&lock_key).unwrap()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The user's next request gets the lock at once, and finds the session as it was: the
        // dropped request's script never ran.
        let next = rt.block_on(store.read_locked(&id)).unwrap();
        assert_eq!(next.data.as_deref(), Some(&b"n|i:1;"[..]), "{ending:?}");
        rt.block_on(store.release(next.lock)).unwrap();
    }
}
