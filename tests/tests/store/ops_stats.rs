//! `phpsess stats`, `top` and `ls` against real redis-servers (one host with a password, three
//! weighted hosts, a 6-node cluster): every count and size checked against what the test put
//! there, lock and index keys never counted as sessions, and bad input (unreachable host, wrong
//! password) answered with one line and exit code 1.

use phpsess_compat::cli::{phpsess_bin, run_phpsess};
use phpsess_compat::servers::{RedisCluster, RedisServer};
use redis::Commands;
use serde_json::Value;

/// Run `phpsess ARGS…` and parse its stdout as one JSON document.
pub fn json_of(args: &[&str]) -> Value {
    let (code, out, err) = run_phpsess(args);
    assert_eq!(code, 0, "phpsess {args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("phpsess {args:?}: {e}: {out}"))
}

/// A PHP session (`php` format) of about `n` bytes: `user_id|i:N;cart|s:…;`.
pub fn session_bytes(user: u64, pad: usize) -> String {
    format!("user_id|i:{user};cart|s:{pad}:\"{}\";", "x".repeat(pad))
}

/// Nearest-rank percentile of sorted sizes, as the census computes it.
fn percentile(sorted: &[u64], p: u64) -> u64 {
    let rank = (sorted.len() as u64 * p).div_ceil(100).max(1);
    sorted[rank as usize - 1]
}

/// What the test put on one server: sizes of the sessions with TTL and without.
struct Seeded {
    sizes: Vec<u64>,
    without_ttl: u64,
    ttls: Vec<u64>,
}

/// `count` sessions under `prefix` with carts of 7k bytes and TTLs 110+37k s (k the index), the last
/// `no_ttl` of them without TTL. Ids `s<tag><k>`.
fn seed(conn: &mut redis::Connection, prefix: &str, tag: &str, count: u64, no_ttl: u64) -> Seeded {
    let mut pipe = redis::pipe();
    let mut seeded = Seeded {
        sizes: Vec::new(),
        without_ttl: no_ttl,
        ttls: Vec::new(),
    };
    for k in 0..count {
        let value = session_bytes(k, (k as usize * 7) % 3000);
        seeded.sizes.push(value.len() as u64);
        let key = format!("{prefix}s{tag}{k}");
        if k >= count - no_ttl {
            pipe.set(key, value).ignore();
        } else {
            let ttl = 110 + 37 * k;
            seeded.ttls.push(ttl);
            pipe.set_ex(key, value, ttl).ignore();
        }
    }
    let _: () = pipe.query(conn).unwrap();
    seeded.sizes.sort_unstable();
    seeded
}

#[test]
fn stats_counts_every_session_and_size_exactly_and_never_counts_locks() {
    let server = RedisServer::builder().password("pw").start();
    let mut c = server.connection();
    let p = "PHPREDIS_SESSION:";
    let seeded = seed(&mut c, p, "a", 300, 3);
    // Two locks, a per-user index, a key that is not a session, and a key outside the prefix.
    let _: () = c
        .set_ex(format!("{p}sa1_LOCK"), "web01|4242|1f", 30)
        .unwrap();
    let _: () = c.set_ex(format!("{p}sa2_LOCK"), "web02|77|2e", 60).unwrap();
    let _: () = c
        .zadd(format!("{p}_user:alice"), "sa1", 2_000_000_000)
        .unwrap();
    let _: () = c.set(format!("{p}cache:config"), "not a session").unwrap();
    // A key named like a session that is not a string: found out by its look-up, not its name.
    let _: () = c.hset(format!("{p}hashy"), "f", "v").unwrap();
    let _: () = c.set("app:other", "outside the prefix").unwrap();
    let save_path = format!("tcp://{}?auth=pw", server.addr());

    let v = json_of(&["stats", "--save-path", &save_path, "--json"]);
    assert_eq!(v["estimated"], false);
    let t = &v["total"];
    assert_eq!(t["sessions"], 300);
    assert_eq!(t["sessions_without_ttl"], seeded.without_ttl);
    assert_eq!(t["keys_under_prefix"], 300 + 2 + 1 + 2);
    assert_eq!(t["locks_held"], 2);
    assert_eq!(t["user_index_keys"], 1);
    assert_eq!(t["foreign_keys"], 2);
    let mut foreign: Vec<&str> = t["foreign_examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    foreign.sort_unstable();
    assert_eq!(
        foreign,
        [
            "PHPREDIS_SESSION:cache:config: only A-Z, a-z, 0-9, \"-\" and \",\" are allowed",
            "PHPREDIS_SESSION:hashy: it is not a string"
        ]
    );
    assert_eq!(
        t["locks"][0]["holder"], "web02|77|2e",
        "longest-lived first"
    );
    let sizes = &seeded.sizes;
    assert_eq!(t["bytes"]["total"], sizes.iter().sum::<u64>());
    assert_eq!(t["bytes"]["max"], *sizes.last().unwrap());
    assert_eq!(t["bytes"]["p50"], percentile(sizes, 50));
    assert_eq!(t["bytes"]["p95"], percentile(sizes, 95));
    assert_eq!(t["bytes"]["p99"], percentile(sizes, 99));
    let hist: Vec<u64> = t["bytes"]["histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    let want = |lo: u64, hi: u64| sizes.iter().filter(|&&s| s > lo && s <= hi).count() as u64;
    assert_eq!(hist[..3], [want(0, 256), want(256, 1024), want(1024, 4096)]);
    // Remaining lifetimes: a second or two may pass between seeding and scanning, so a TTL of
    // exactly a bucket's bound may fall one bucket lower; none of ours is within 2 s of one.
    let ttl: Vec<u64> = t["ttl_seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    let in_ttl =
        |lo: u64, hi: u64| seeded.ttls.iter().filter(|&&s| s > lo && s <= hi).count() as u64;
    assert_eq!(
        ttl[..7],
        [
            in_ttl(0, 60),
            in_ttl(60, 300),
            in_ttl(300, 900),
            in_ttl(900, 1800),
            in_ttl(1800, 3600),
            in_ttl(3600, 14_400),
            in_ttl(14_400, 86_400)
        ]
    );
    let s = &v["servers"][0];
    assert_eq!(s["server"], format!("tcp://{}", server.addr()));
    assert_eq!(s["sessions"], 300);
    assert_eq!(s["redis"]["maxmemory_policy"], "noeviction");
    assert!(s["redis"]["used_memory"].as_u64().unwrap() > 0);
    assert_eq!(
        s["redis"]["keyspace"]["db0"]
            .as_str()
            .unwrap()
            .split(',')
            .next(),
        Some("keys=306")
    );

    // The text report says the same, with a histogram per distribution.
    let (code, out, err) = run_phpsess(&["stats", "--save-path", &save_path]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("300 sessions, "), "{out}");
    assert!(out.contains("session size\n"), "{out}");
    assert!(out.contains("web02|77|2e"), "{out}");

    // MEMORY USAGE only with --memory: what Redis spends, more than the values themselves.
    assert_eq!(t["memory_bytes"], Value::Null);
    let v = json_of(&["stats", "--save-path", &save_path, "--json", "--memory"]);
    let memory = v["total"]["memory_bytes"].as_u64().unwrap();
    assert!(memory > sizes.iter().sum::<u64>(), "{memory}");

    // --sample: estimates, and it says so.
    let v = json_of(&[
        "stats",
        "--save-path",
        &save_path,
        "--json",
        "--sample",
        "50",
    ]);
    assert_eq!(v["estimated"], true);
    let est = v["total"]["sessions"].as_u64().unwrap();
    assert!((250..=350).contains(&est), "{est}");
}

#[test]
fn stats_reads_the_save_path_from_the_environment() {
    let server = RedisServer::start();
    let mut c = server.connection();
    seed(&mut c, "PHPREDIS_SESSION:", "e", 12, 0);
    let out = std::process::Command::new(phpsess_bin())
        .args(["stats", "--json"])
        .env("PHPSESS_SAVE_PATH", format!("tcp://{}", server.addr()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["total"]["sessions"], 12);
}

#[test]
fn stats_and_top_see_each_weighted_host() {
    let hosts = [
        RedisServer::start(),
        RedisServer::start(),
        RedisServer::start(),
    ];
    let save_path = format!(
        "tcp://{}?weight=1&prefix=A:, tcp://{}?weight=2&prefix=B:, tcp://{}?weight=1",
        hosts[0].addr(),
        hosts[1].addr(),
        hosts[2].addr()
    );
    let prefixes = ["A:", "B:", "PHPREDIS_SESSION:"];
    let mut per_host = [0u64; 3];
    let mut bytes = [0u64; 3];
    let mut conns: Vec<_> = hosts.iter().map(RedisServer::connection).collect();
    for k in 0..120u64 {
        let id = format!("w{k:04}x");
        let h = phpsess::store::pick_host(id.as_bytes(), &[1, 2, 1]).unwrap();
        let value = session_bytes(k, k as usize * 3);
        per_host[h] += 1;
        bytes[h] += value.len() as u64;
        let _: () = conns[h]
            .set_ex(format!("{}{id}", prefixes[h]), value, 600)
            .unwrap();
    }
    // A lock on each host.
    for (h, c) in conns.iter_mut().enumerate() {
        let _: () = c
            .set_ex(format!("{}w0000x_LOCK", prefixes[h]), "w|1|a", 30)
            .unwrap();
    }
    let v = json_of(&["stats", "--save-path", &save_path, "--json"]);
    for h in 0..3 {
        let s = &v["servers"][h];
        assert_eq!(s["server"], format!("tcp://{}", hosts[h].addr()));
        assert_eq!(s["prefix"], prefixes[h]);
        assert_eq!(s["sessions"], per_host[h], "host {h}");
        assert_eq!(s["bytes"]["total"], bytes[h], "host {h}");
        assert_eq!(s["locks_held"], 1);
    }
    assert_eq!(v["total"]["sessions"], 120);
    assert_eq!(v["total"]["bytes"]["total"], bytes.iter().sum::<u64>());
    assert_eq!(v["total"]["locks_held"], 3);

    // top: the largest is w0119x (the longest cart), found on its own host.
    let (code, out, err) = run_phpsess(&["top", "--save-path", &save_path, "-n", "3", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["id"], "w0119x");
    let h = phpsess::store::pick_host(b"w0119x", &[1, 2, 1]).unwrap();
    assert_eq!(rows[0]["host"], format!("tcp://{}", hosts[h].addr()));
    let value = session_bytes(119, 357);
    assert_eq!(rows[0]["bytes"], value.len());
    assert_eq!(rows[0]["format"], "php");
    let vars = &rows[0]["variables"];
    assert_eq!(vars[0]["name"], "user_id");
    assert_eq!(vars[0]["bytes"], "user_id|i:119;".len());
    assert_eq!(vars[1]["name"], "cart");
    assert_eq!(vars[1]["bytes"], value.len() - "user_id|i:119;".len());
    assert_eq!(rows[1]["id"], "w0118x");
}

#[test]
fn top_explains_a_bloated_session_variable_by_variable() {
    let server = RedisServer::start();
    let mut c = server.connection();
    // A cart of whole product objects instead of ids, in php_serialize format.
    let product = r#"O:7:"Product":2:{s:2:"id";i:7;s:11:"description";s:400:"DESC";}"#
        .replace("DESC", &"d".repeat(400));
    let cart = format!(
        "a:50:{{{}}}",
        (0..50)
            .map(|i| format!("i:{i};{product}"))
            .collect::<String>()
    );
    let big = format!(r#"a:2:{{s:4:"user";i:42;s:4:"cart";{cart}}}"#);
    let _: () = c.set_ex("PHPREDIS_SESSION:bloated1", &big, 1000).unwrap();
    let _: () = c
        .set_ex("PHPREDIS_SESSION:small1", "user|i:1;", 1000)
        .unwrap();
    let save_path = format!("tcp://{}", server.addr());
    let (code, out, err) = run_phpsess(&["top", "--save-path", &save_path, "-n", "1"]);
    assert_eq!(code, 0, "{err}");
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("  1. bloated1  "), "{out}");
    let cart_bytes = r#"s:4:"cart";"#.len() + cart.len();
    assert!(
        out.contains(&format!(
            "{:<24} {:>10}",
            "cart",
            phpsess::store::human_bytes(cart_bytes as u64)
        )),
        "{out}"
    );
    assert!(!out.contains("small1"), "{out}");
}

#[test]
fn ls_streams_sessions_with_filters_and_users() {
    let server = RedisServer::start();
    let mut c = server.connection();
    for k in 0..20u64 {
        let _: () = c
            .set_ex(
                format!("PHPREDIS_SESSION:l{k:02}"),
                session_bytes(k % 4, k as usize * 10),
                100 * (k + 1),
            )
            .unwrap();
    }
    let _: () = c.set_ex("PHPREDIS_SESSION:l00_LOCK", "w|1|a", 30).unwrap();
    let save_path = format!("tcp://{}", server.addr());
    let (code, out, err) = run_phpsess(&["ls", "--save-path", &save_path, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 20, "{out}");

    // At least 150 bytes, expiring within 1500 s: l11..l14 (l15 lives 1600 s).
    let (code, out, err) = run_phpsess(&[
        "ls",
        "--save-path",
        &save_path,
        "--min-bytes",
        "150",
        "--max-ttl",
        "1500",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut ids: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    let want: Vec<String> = (0..20u64)
        .filter(|k| session_bytes(0, *k as usize * 10).len() >= 150 && 100 * (k + 1) <= 1500)
        .map(|k| format!("l{k:02}"))
        .collect();
    assert_eq!(ids, want);

    // The user from $_SESSION['user_id'], and only user 3's sessions.
    let (code, out, err) = run_phpsess(&[
        "ls",
        "--save-path",
        &save_path,
        "--user-key",
        "user_id",
        "--user",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[0].starts_with("l03  ") && lines[0].ends_with("user 3"),
        "{out}"
    );
}

#[test]
fn stats_on_a_cluster_scans_each_master_once() {
    let cluster = RedisCluster::start();
    let mut c = cluster.connection();
    let mut bytes = 0u64;
    for k in 0..90u64 {
        let value = session_bytes(k, k as usize);
        bytes += value.len() as u64;
        let _: () = c
            .set_ex(format!("PHPREDIS_CLUSTER_SESSION:c{k}"), value, 900)
            .unwrap();
    }
    // Cluster locks are `{<prefix><id>}_LOCK`, outside `<prefix>*`.
    for k in 0..4 {
        let _: () = c
            .set_ex(
                format!("{{PHPREDIS_CLUSTER_SESSION:c{k}}}_LOCK"),
                "w|1|a",
                30,
            )
            .unwrap();
    }
    let save_path = cluster.seed_query();
    let v = json_of(&["stats", "--save-path", &save_path, "--cluster", "--json"]);
    let servers = v["servers"].as_array().unwrap();
    assert_eq!(servers.len(), 3, "one entry per master");
    let mut masters: Vec<String> = cluster
        .masters()
        .into_iter()
        .map(|m| format!("tcp://{m}"))
        .collect();
    masters.sort();
    let mut seen: Vec<String> = servers
        .iter()
        .map(|s| s["server"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    assert_eq!(seen, masters);
    assert_eq!(v["total"]["sessions"], 90);
    assert_eq!(v["total"]["bytes"]["total"], bytes);
    assert_eq!(v["total"]["locks_held"], 4);
    assert_eq!(v["total"]["foreign_keys"], 0);
    // `seed[]=` is recognised as a cluster save_path without --cluster.
    let v = json_of(&["stats", "--save-path", &save_path, "--json"]);
    assert_eq!(v["total"]["sessions"], 90);

    // Laravel's sessions on the same cluster, each master scanned under Laravel's prefix: 30
    // sessions logged in as user k % 3, a `->block()` lock and a cache entry beside them.
    let prefix = "laravel_database_laravel_cache:";
    let login = "login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d";
    let mut laravel_bytes = 0u64;
    for k in 0..30u64 {
        let attributes = format!(r#"a:1:{{s:{}:"{login}";i:{};}}"#, login.len(), k % 3);
        let stored = format!("s:{}:\"{attributes}\";", attributes.len());
        laravel_bytes += stored.len() as u64;
        let _: () = c.set_ex(format!("{prefix}{k:0>40}"), stored, 7200).unwrap();
    }
    let _: () = c
        .set_ex(
            format!("{prefix}session:{:0>40}", 1),
            "owner16charsxxxx",
            10,
        )
        .unwrap();
    let _: () = c
        .set_ex(format!("{prefix}greeting"), "s:2:\"hi\";", 60)
        .unwrap();
    let laravel = ["--laravel", "--prefix", prefix];
    let mut args = vec!["stats", "--save-path", &save_path, "--json"];
    args.extend(laravel);
    let v = json_of(&args);
    assert_eq!(v["servers"].as_array().unwrap().len(), 3);
    assert_eq!(v["total"]["sessions"], 30);
    assert_eq!(v["total"]["bytes"]["total"], laravel_bytes);
    assert_eq!(v["total"]["locks_held"], 1);
    assert_eq!(v["total"]["foreign_keys"], 1);
    let mut args = vec!["ls", "--save-path", &save_path, "--user", "2", "--json"];
    args.extend(laravel);
    let (code, out, err) = run_phpsess(&args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 10, "{out}");
    assert!(out.lines().all(|l| l.contains(r#""user":"2""#)), "{out}");
}

#[test]
fn an_unreachable_host_or_a_wrong_password_is_one_line_and_exit_1() {
    let server = RedisServer::builder().password("right").start();
    let closed = phpsess_compat::servers::ports::unused_port();
    for (save_path, want) in [
        (
            format!("tcp://127.0.0.1:{closed}?timeout=1"),
            format!("cannot connect to tcp://127.0.0.1:{closed}"),
        ),
        (
            format!("tcp://{}?auth=wrong", server.addr()),
            "authentication failed".to_owned(),
        ),
        (
            format!("tcp://{}", server.addr()),
            "a password is required and none was given".to_owned(),
        ),
    ] {
        for cmd in ["stats", "top", "ls"] {
            let (code, out, err) = run_phpsess(&[cmd, "--save-path", &save_path]);
            assert_eq!(code, 1, "{cmd} {save_path}: {err}");
            assert!(out.is_empty(), "{out}");
            assert_eq!(err.lines().count(), 1, "{err}");
            assert!(
                err.starts_with("phpsess: ") && err.contains(&want),
                "{cmd}: {err}"
            );
            assert!(
                !err.contains("right") && !err.contains("wrong"),
                "no password in {err}"
            );
        }
    }
}

#[test]
fn ls_user_reads_the_per_user_index_and_stats_never_counts_it() {
    let server = RedisServer::start();
    let mut c = server.connection();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let p = "PHPREDIS_SESSION:";
    let _: () = c.set_ex(format!("{p}u1"), "a|i:1;", 1000).unwrap();
    let _: () = c.set_ex(format!("{p}u2"), "a|i:12345;", 500).unwrap();
    let _: () = c.set_ex(format!("{p}u3"), "a|i:1;", 500).unwrap();
    // The index as the store keeps it: the user's sorted set (score: expiry) and the bindings.
    let _: () = c
        .zadd_multiple(
            format!("{p}_user:7"),
            &[(now + 1000, "u1"), (now + 500, "u2")],
        )
        .unwrap();
    let _: () = c.set_ex(format!("{p}u1_USER"), "7", 1000).unwrap();
    let _: () = c.set_ex(format!("{p}u2_USER"), "7", 500).unwrap();
    let save_path = format!("tcp://{}", server.addr());
    let (code, out, err) = run_phpsess(&[
        "ls",
        "--save-path",
        &save_path,
        "--user",
        "7",
        "--max-ttl",
        "600",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0]["id"], "u2");
    assert_eq!(rows[0]["bytes"], "a|i:12345;".len());
    assert_eq!(rows[0]["user"], "7");
    let v = json_of(&["stats", "--save-path", &save_path, "--json"]);
    assert_eq!(v["total"]["sessions"], 3);
    assert_eq!(v["total"]["user_index_keys"], 3);
    assert_eq!(v["total"]["foreign_keys"], 0);
}

#[test]
fn stats_and_ls_read_laravel_sessions_under_their_prefix() {
    let server = RedisServer::start();
    let mut c = server.connection();
    let prefix = "laravel_database_laravel_cache:";
    let mut total = 0;
    for k in 0..15u64 {
        // Laravel's cache store keeps the session as a serialize()d string of its attributes.
        let id = format!("{k:040}");
        let attributes = format!(
            r#"a:1:{{s:4:"cart";s:{0}:"{1}";}}"#,
            k * 30,
            "c".repeat(k as usize * 30)
        );
        let stored = format!("s:{}:\"{attributes}\";", attributes.len());
        total += stored.len() as u64;
        let _: () = c.set_ex(format!("{prefix}{id}"), stored, 7200).unwrap();
    }
    // A phpredis session beside them is not under this prefix.
    let _: () = c.set_ex("PHPREDIS_SESSION:abc", "a|i:1;", 100).unwrap();
    let save_path = format!("tcp://{}", server.addr());
    let v = json_of(&[
        "stats",
        "--save-path",
        &save_path,
        "--prefix",
        prefix,
        "--json",
    ]);
    assert_eq!(v["servers"][0]["prefix"], prefix);
    assert_eq!(v["total"]["sessions"], 15);
    assert_eq!(v["total"]["bytes"]["total"], total);
    let (code, out, err) = run_phpsess(&[
        "ls",
        "--save-path",
        &save_path,
        "--prefix",
        prefix,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 15);
}

#[test]
fn stats_shows_how_long_each_lock_has_been_held() {
    use phpsess::store::{Endpoint, HostSpec, LockOptions, SessionStore, StoreOptions, Topology};
    use std::time::{Duration, Instant};

    let server = RedisServer::start();
    let p = "PHPREDIS_SESSION:";
    let mut c = server.connection();
    let _: () = c.set_ex(format!("{p}held"), "a|i:1;", 1000).unwrap();
    // A phpsess request holds `held` (lock lifetime 30 s), read through the store as PHP would.
    let options = StoreOptions::default()
        .with_lock(LockOptions::default().with_expire(Duration::from_secs(30)));
    let hosts = vec![HostSpec::new(Endpoint::tcp("127.0.0.1", server.port()))];
    let mut store = SessionStore::new(Topology::hosts(hosts).unwrap(), options);
    let taken = Instant::now();
    store.read("held").unwrap();
    // A phpredis holder (`host|pid`, PX 60 s): its value does not say how long it was set for.
    let _: () = c
        .pset_ex(format!("{p}other_LOCK"), "web01|4242", 40_000)
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let save_path = format!("tcp://{}", server.addr());
    let before = taken.elapsed().as_millis() as u64;
    let v = json_of(&[
        "stats",
        "--save-path",
        &save_path,
        "--json",
        "--lock-expire",
        "60",
    ]);
    let after = taken.elapsed().as_millis() as u64;
    let locks = v["total"]["locks"].as_array().unwrap();
    assert_eq!(locks.len(), 2, "{v}");
    let ours = locks.iter().find(|l| l["id"] == "held").expect("our lock");
    assert_eq!(ours["age_from"], "token", "{ours}");
    let (age, ttl) = (
        ours["age_ms"].as_u64().unwrap(),
        ours["ttl_ms"].as_u64().unwrap(),
    );
    // Exact: the age is the lifetime in the token less PTTL, and the wall clock agrees.
    assert_eq!(age + ttl, 30_000, "{ours}");
    assert!(
        (before.saturating_sub(50)..=after + 5).contains(&age),
        "{age} not in {before}..{after}"
    );
    let theirs = locks
        .iter()
        .find(|l| l["id"] == "other")
        .expect("phpredis lock");
    assert_eq!(theirs["age_from"], "assumed_expire", "{theirs}");
    assert_eq!(
        theirs["age_ms"].as_u64().unwrap() + theirs["ttl_ms"].as_u64().unwrap(),
        60_000
    );
    assert_eq!(
        v["total"]["lock_age_max_ms"].as_u64().unwrap(),
        theirs["age_ms"].as_u64().unwrap(),
        "as if set for 60 s, the phpredis lock is the older"
    );
    // Without --lock-expire (and no PHP asked), the phpredis lock's age is unknown, ours is not.
    let v = json_of(&["stats", "--save-path", &save_path, "--json"]);
    let locks = v["total"]["locks"].as_array().unwrap();
    let theirs = locks.iter().find(|l| l["id"] == "other").unwrap();
    assert_eq!(
        (&theirs["age_ms"], &theirs["age_from"]),
        (&Value::Null, &Value::Null)
    );
    let (code, out, err) = run_phpsess(&["stats", "--save-path", &save_path]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("held ?") && out.contains("as if the others were set for --lock-expire"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.contains("~30000") && l.contains("held 0.")),
        "{out}"
    );
    drop(store);
}

#[test]
fn top_and_ls_report_a_value_that_is_not_a_session_on_its_own_line() {
    let server = RedisServer::start();
    let mut c = server.connection();
    let p = "PHPREDIS_SESSION:";
    let _: () = c
        .set_ex(format!("{p}good1"), session_bytes(1, 100), 600)
        .unwrap();
    // Named like a session: binary garbage (the largest), a JSON cache entry, and a hash.
    let mut garbage = vec![0xffu8, 0xfe, b'|', b'\0'];
    garbage.extend(std::iter::repeat_n(0x80u8, 5000));
    let _: () = c.set_ex(format!("{p}bin1"), garbage, 600).unwrap();
    let _: () = c
        .set_ex(format!("{p}json1"), r#"{"user_id": 4}"#, 600)
        .unwrap();
    let _: () = c.hset(format!("{p}hash1"), "f", "v").unwrap();
    let save_path = format!("tcp://{}", server.addr());

    let (code, out, err) = run_phpsess(&["top", "--save-path", &save_path, "-n", "5", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        ["bin1", "good1", "json1"],
        "the hash is not a session: {out}"
    );
    // The `|` makes it look like the php format; the decoder says where it stops making sense.
    assert_eq!(
        rows[0]["error"],
        "does not decode as php: unknown type tag 0x00 at byte 3"
    );
    assert_eq!(rows[1]["variables"][1]["name"], "cart");
    assert!(rows[2]["error"].is_string(), "{}", rows[2]);
    let (code, out, err) = run_phpsess(&["top", "--save-path", &save_path, "-n", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("bin1") && out.contains("does not decode as php"),
        "{out}"
    );

    let (code, out, err) = run_phpsess(&["ls", "--save-path", &save_path, "--user-key", "user_id"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 3, "{out}");
    for line in out.lines() {
        if line.starts_with("good1") {
            assert!(line.ends_with("user 1"), "{line}");
        } else {
            assert!(line.contains("unreadable: "), "{line}");
        }
    }
    assert_eq!(err.trim(), "3 of 3 sessions shown");
    let (code, out, _) = run_phpsess(&[
        "ls",
        "--save-path",
        &save_path,
        "--user-key",
        "user_id",
        "--user",
        "1",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "{out}");
}
