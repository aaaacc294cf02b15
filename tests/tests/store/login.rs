//! Logging in to real redis-server processes: one message per cause, in the server's words
//! (a wrong password, a missing one, a refused database, a server that never answers), and one
//! deadline, the connect timeout, for connect, AUTH and SELECT together.

use std::time::{Duration, Instant};

use phpsess::store::{LockOptions, SessionStore, StoreOptions, Topology};
use phpsess::Error;
use phpsess_compat::servers::{Proxy, RedisServer};

/// Slack on top of a configured timeout: process scheduling on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(400);

fn store(save_path: &str) -> SessionStore {
    let t = Topology::from_save_path(save_path).expect("save_path parses");
    let options = StoreOptions::default().with_lock(LockOptions::disabled());
    SessionStore::new(t, options)
}

/// The error of reading a session through `save_path`, and how long it took.
fn read_error(save_path: &str) -> (Error, Duration) {
    let mut s = store(save_path);
    let started = Instant::now();
    let err = s
        .read("login000000000000000000")
        .expect_err("the read must fail");
    (err, started.elapsed())
}

#[test]
fn refusals_are_reported_in_the_servers_words() {
    let server = RedisServer::builder()
        .password("s3cret")
        .acl_user("alice", "wonder")
        .start();
    let addr = server.addr();
    let cases = [
        (
            format!("tcp://{addr}?auth=wrong&timeout=1"),
            format!("authentication failed on tcp://{addr} for session login0…: WRONGPASS invalid username-password pair or user is disabled."),
        ),
        (
            format!("tcp://{addr}?auth[]=alice&auth[]=wrong&database=1"),
            format!("authentication failed on tcp://{addr} for session login0…: WRONGPASS invalid username-password pair or user is disabled."),
        ),
        (
            format!("tcp://{addr}"),
            format!("a password is required and none was given on tcp://{addr} for session login0…: NOAUTH Authentication required."),
        ),
        (
            format!("tcp://{addr}?database=1"),
            format!("a password is required and none was given on tcp://{addr} for session login0…: NOAUTH Authentication required."),
        ),
        (
            format!("tcp://{addr}?auth=s3cret&database=99"),
            format!("database 99 was refused on tcp://{addr} for session login0…: ERR DB index is out of range"),
        ),
    ];
    for (save_path, want) in cases {
        let (err, _) = read_error(&save_path);
        assert_eq!(err.to_string(), want, "{save_path}");
        assert!(err.is_unavailable(), "{save_path}: {err:?}");
    }
    // The right logins still work, with a database.
    let mut ok = store(&format!(
        "tcp://{addr}?auth[]=alice&auth[]=wonder&database=2"
    ));
    ok.write("login000000000000000000", b"a|i:1;")
        .expect("write");
    let mut conn = server.connection();
    let stored: Option<Vec<u8>> = redis::cmd("SELECT")
        .arg(2)
        .exec(&mut conn)
        .and_then(|()| {
            redis::cmd("GET")
                .arg("PHPREDIS_SESSION:login000000000000000000")
                .query(&mut conn)
        })
        .expect("GET");
    assert_eq!(stored.as_deref(), Some(&b"a|i:1;"[..]));
}

#[test]
fn connect_auth_and_select_share_one_deadline() {
    // Accepts the connection, never answers: AUTH and SELECT wait on what is left of `timeout`.
    let hole = Proxy::blackhole();
    let addr = hole.addr();
    let (err, took) = read_error(&format!(
        "tcp://{addr}?timeout=1&read_timeout=3&auth=s3cret&database=1"
    ));
    assert_eq!(
        err.to_string(),
        format!("cannot connect to tcp://{addr} (timeout 1s) for session login0…: connected, but no reply to AUTH within the connect timeout"),
    );
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(1) + SLACK,
        "took {took:?} for timeout=1"
    );

    // A slow server: each reply 300 ms late, the handshake's first reply 300 ms more; AUTH and
    // SELECT together need 900 ms, within a 1.5 s timeout but not within 0.5 s.
    let server = RedisServer::builder().password("s3cret").start();
    let slow = Proxy::start(server.addr(), Duration::from_millis(300));
    let sp = |timeout: &str| {
        format!(
            "tcp://{}?timeout={timeout}&auth=s3cret&database=1",
            slow.addr()
        )
    };
    let mut s = store(&sp("1.5"));
    s.write("login000000000000000000", b"a|i:1;")
        .expect("a slow server within the timeout");
    let (err, took) = read_error(&sp("0.5"));
    assert!(
        err.to_string().starts_with(&format!(
            "cannot connect to tcp://{} (timeout 0.5s) for session login0…: connected, but no reply to ",
            slow.addr()
        )),
        "{err}"
    );
    assert!(took < Duration::from_millis(500) + SLACK, "took {took:?}");
}

#[test]
fn a_closed_port_says_the_connection_was_refused() {
    let port = phpsess_compat::servers::ports::unused_port();
    let (err, took) = read_error(&format!("tcp://127.0.0.1:{port}?timeout=1&auth=x"));
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot connect to tcp://127.0.0.1:{port} (timeout 1s) for session login0…: Connection refused (os error 111)")
    );
}
