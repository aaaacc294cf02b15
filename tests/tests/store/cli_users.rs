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
