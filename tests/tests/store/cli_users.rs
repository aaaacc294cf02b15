//! `phpsess sessions` and `phpsess kill` against a real redis-server: a user's sessions from the
//! index the store keeps, `--dry-run` ending nothing, `--except`, ending by id, exit codes.

use phpsess::store::{Binding, HostSpec, SessionStore, StoreOptions, Topology};
use phpsess_compat::cli::run_phpsess;
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::{json, Value};

fn bound_session(store: &mut SessionStore, id: &str, user: &str) {
    store.read(id).unwrap();
    store.bind(id, Some(Binding::from_data(user.as_bytes())));
    store.write(id, b"user_id|i:1;").unwrap();
    store.close().unwrap();
}

fn json_of(out: &(i32, String, String)) -> Value {
    assert_eq!(out.0, 0, "stderr: {}", out.2);
    serde_json::from_str(&out.1).unwrap_or_else(|e| panic!("{e}: {}", out.1))
}

#[test]
fn sessions_lists_a_user_and_kill_ends_them_but_the_exception() {
    let server = RedisServer::start();
    let sp = format!("tcp://{}", server.addr());
    let (host, port) = server
        .addr()
        .rsplit_once(':')
        .map(|(h, p)| (h.to_owned(), p.parse().unwrap()))
        .unwrap();
    let topology = Topology::hosts(vec![HostSpec::new(phpsess::store::Endpoint::tcp(
        &host, port,
    ))])
    .unwrap();
    let mut store = SessionStore::new(topology, StoreOptions::default().with_user_index(true));
    for id in [
        "cliaaaaaaaaaaaaa1",
        "cliaaaaaaaaaaaaa2",
        "cliaaaaaaaaaaaaa3",
    ] {
        bound_session(&mut store, id, "42");
    }
    bound_session(&mut store, "clibbbbbbbbbbbbb1", "43");

    let listed = json_of(&run_phpsess(&[
        "sessions",
        "--save-path",
        &sp,
        "--user",
        "42",
        "--json",
    ]));
    let mut ids: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "cliaaaaaaaaaaaaa1",
            "cliaaaaaaaaaaaaa2",
            "cliaaaaaaaaaaaaa3"
        ]
    );
    assert_eq!(listed[0]["bytes"], json!(12));
    assert_eq!(listed[0]["host"], json!(sp));
    let text = run_phpsess(&["sessions", "--save-path", &sp, "--user", "43"]);
    assert_eq!(text.0, 0);
    assert!(text.1.starts_with("clibbbbbbbbbbbbb1\tttl "), "{}", text.1);

    let dry = json_of(&run_phpsess(&[
        "kill",
        "--save-path",
        &sp,
        "--user",
        "42",
        "--except",
        "cliaaaaaaaaaaaaa1",
        "--dry-run",
        "--json",
    ]));
    assert_eq!(dry["destroyed"].as_array().unwrap().len(), 2);
    let mut c = server.connection();
    let n: usize = c.zcard("PHPREDIS_SESSION:_user:42").unwrap();
    assert_eq!(n, 3, "a dry run ends nothing");

    let done = json_of(&run_phpsess(&[
        "kill",
        "--save-path",
        &sp,
        "--user",
        "42",
        "--except",
        "cliaaaaaaaaaaaaa1",
        "--json",
    ]));
    assert_eq!(done["destroyed"].as_array().unwrap().len(), 2);
    for id in ["cliaaaaaaaaaaaaa2", "cliaaaaaaaaaaaaa3"] {
        let exists: bool = c.exists(format!("PHPREDIS_SESSION:{id}")).unwrap();
        assert!(!exists, "{id}");
    }
    let by_id = run_phpsess(&[
        "kill",
        "--save-path",
        &sp,
        "cliaaaaaaaaaaaaa1",
        "nosuchsession0000",
    ]);
    assert_eq!(by_id.0, 0, "{}", by_id.2);
    assert!(
        by_id
            .1
            .contains("ended cliaaaaaaaaaaaaa1\nended 1 session(s)"),
        "{}",
        by_id.1
    );
    let nothing = run_phpsess(&["kill", "--save-path", &sp, "--user", "nobody"]);
    assert_eq!(nothing.0, 0, "nothing matched is not an error");
    let bad = run_phpsess(&["kill", "--save-path", &sp, "bad_id"]);
    assert_eq!(bad.0, 1, "an invalid id is an error: {}", bad.2);
    assert!(bad.2.contains("invalid session id"), "{}", bad.2);
}

/// Sessions as phpredis writes them (no binding): `n` for user `u<i % 3>`, one without a user,
/// and one already bound explicitly to someone else.
fn plain_sessions(c: &mut impl redis::ConnectionLike, prefix: &str, n: usize) {
    for i in 0..n {
        let data = format!("user_id|s:2:\"u{}\";cart|a:0:{{}}", i % 3);
        let _: () = redis::cmd("SETEX")
            .arg(format!("{prefix}rb{i:015}"))
            .arg(600)
            .arg(data)
            .query(c)
            .unwrap();
    }
    let _: () = redis::cmd("SETEX")
        .arg(format!("{prefix}rbanonymous0000000"))
        .arg(600)
        .arg("cart|a:0:{}")
        .query(c)
        .unwrap();
}

fn rebuild(sp: &str, extra: &[&str]) -> Value {
    let mut args = vec![
        "index",
        "rebuild",
        "--save-path",
        sp,
        "--user-key",
        "user_id",
        "--json",
    ];
    args.extend_from_slice(extra);
    json_of(&run_phpsess(&args))
}

#[test]
fn index_rebuild_binds_existing_sessions_and_can_run_again() {
    let server = RedisServer::start();
    let sp = format!("tcp://{}", server.addr());
    let mut c = server.connection();
    plain_sessions(&mut c, "PHPREDIS_SESSION:", 30);
    // An explicit binding made by the extension stays.
    let _: () = c
        .set_ex("PHPREDIS_SESSION:rb000000000000000_USER", "x:admin", 600)
        .unwrap();
    let first = rebuild(&sp, &["--count", "7"]);
    assert_eq!(first["sessions"], json!(31), "{first}");
    assert_eq!(first["bound"], json!(29), "{first}");
    assert_eq!(first["without_user"], json!(1), "{first}");
    let again = rebuild(&sp, &[]);
    assert_eq!(
        again["bound"],
        json!(0),
        "a second run finds nothing left to do: {again}"
    );
    let u1: Vec<String> = c.zrange("PHPREDIS_SESSION:_user:u1", 0, -1).unwrap();
    assert_eq!(u1.len(), 10);
    let u0: usize = c.zcard("PHPREDIS_SESSION:_user:u0").unwrap();
    assert_eq!(u0, 9, "the explicitly bound one is not moved");
    let ttl: i64 = c.ttl("PHPREDIS_SESSION:rb000000000000001_USER").unwrap();
    assert!(
        ttl > 615 && ttl <= 625,
        "the binding has the session's TTL plus the slack (600 + 600/24): {ttl}"
    );
    let listed = json_of(&run_phpsess(&[
        "sessions",
        "--save-path",
        &sp,
        "--user",
        "u2",
        "--json",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 10);
}

#[test]
fn index_rebuild_covers_every_weighted_host_and_every_cluster_master() {
    let servers: Vec<RedisServer> = (0..3).map(|_| RedisServer::start()).collect();
    let sp = servers
        .iter()
        .map(|s| format!("tcp://{}", s.addr()))
        .collect::<Vec<_>>()
        .join(", ");
    let topology = Topology::from_save_path(&sp).unwrap();
    let store = SessionStore::new(topology, StoreOptions::default());
    for i in 0..30 {
        let id = format!("rb{i:015}");
        let host = servers
            .iter()
            .find(|s| store.host_of(&id).ends_with(&s.addr()))
            .unwrap();
        let data = format!("user_id|s:2:\"u{}\";", i % 3);
        let _: () = host
            .connection()
            .set_ex(format!("PHPREDIS_SESSION:{id}"), data, 600)
            .unwrap();
    }
    assert_eq!(rebuild(&sp, &[])["bound"], json!(30));
    let listed = json_of(&run_phpsess(&[
        "sessions",
        "--save-path",
        &sp,
        "--user",
        "u0",
        "--json",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 10);

    let cluster = phpsess_compat::servers::RedisCluster::start();
    let mut c = cluster.connection();
    plain_sessions(&mut c, "PHPREDIS_CLUSTER_SESSION:", 30);
    let csp = cluster.seed_query();
    let out = json_of(&run_phpsess(&[
        "index",
        "rebuild",
        "--cluster",
        "--save-path",
        &csp,
        "--user-key",
        "user_id",
        "--json",
    ]));
    assert_eq!(out["bound"], json!(30), "{out}");
    let listed = json_of(&run_phpsess(&[
        "sessions",
        "--cluster",
        "--save-path",
        &csp,
        "--user",
        "u1",
        "--json",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 10);
}

/// The index is a sorted set anyone with Redis access can add to: an entry that is no session
/// id (`x_LOCK`, another session's lock key; `y_USER`, a binding) must not be listed, nor
/// deleted by `kill --user` (which would free a lock another request holds).
#[test]
fn forged_index_entries_are_neither_listed_nor_killed() {
    let server = RedisServer::start();
    let mut c = server.connection();
    let p = "PHPREDIS_SESSION:";
    let far = 9_999_999_999i64;
    let _: () = c.set(format!("{p}good"), "user_id|i:42;").unwrap();
    let _: () = c.set(format!("{p}x_LOCK"), "web01|1|held~60000").unwrap();
    let _: () = c.set(format!("{p}y_USER"), "42").unwrap();
    for entry in ["good", "x_LOCK", "y_USER", "a:b"] {
        let _: () = c.zadd(format!("{p}_user:42"), entry, far).unwrap();
    }
    let save_path = format!("tcp://{}", server.addr());
    let (code, out, err) = run_phpsess(&["sessions", "--save-path", &save_path, "--user", "42"]);
    assert_eq!(code, 0, "{err}");
    let ids: Vec<&str> = out.lines().filter_map(|l| l.split('\t').next()).collect();
    assert_eq!(ids, ["good"], "{out}");
    let (code, out, err) = run_phpsess(&["kill", "--save-path", &save_path, "--user", "42"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("ended good") && !out.contains("_LOCK"),
        "{out}"
    );
    let held: Option<String> = c.get(format!("{p}x_LOCK")).unwrap();
    assert_eq!(
        held.as_deref(),
        Some("web01|1|held~60000"),
        "a lock was deleted"
    );
    let binding: Option<String> = c.get(format!("{p}y_USER")).unwrap();
    assert_eq!(binding.as_deref(), Some("42"));
}
