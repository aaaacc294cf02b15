//! Faults and bad input, in php-fpm behind nginx: Redis down, a wrong password, a malformed
//! save_path, an unknown host, a server that accepts but never answers. Each time
//! `session_start()` returns false within the configured timeout, with a warning naming the host
//! (or, for a malformed save_path, the offending offset), and the same worker then serves its next
//! request normally. Pairs with `tests/php/fleet_app.php` (`ini[...]` switches the save_path).

use std::time::Duration;

use phpsess_compat::servers::{ports, Proxy, RedisServer};
use phpsess_compat::web::http::with_query;
use phpsess_compat::web::{FpmPool, HttpClient, Site};
use serde_json::{json, Value};

const APP: &str = "/fleet_app.php";

/// Slack on top of a configured timeout: process scheduling on a loaded 2-core machine.
const SLACK: Duration = Duration::from_millis(700);

/// One worker, so "the next request" is served by the process that met the fault; the handler
/// and save_path are pool defaults (`php_value`) that a request may override.
struct Fixture {
    _redis: RedisServer,
    site: Site,
    client: HttpClient,
    pid: i64,
    count: i64,
}

impl Fixture {
    fn start() -> Fixture {
        let redis = RedisServer::start();
        let pool = FpmPool::builder("web")
            .workers(1)
            .value("session.save_handler", "phpsess")
            .value("session.save_path", format!("tcp://{}", redis.addr()))
            .start();
        let site = Site::start(vec![pool]);
        let mut client = site.client();
        let login = get_json(
            &mut client,
            &format!("{APP}?do=login"),
            "login (healthy Redis)",
        );
        assert_eq!(login["ok"], json!(true), "{login}");
        let pid = login["pid"].as_i64().expect("pid");
        Fixture {
            _redis: redis,
            site,
            client,
            pid,
            count: 0,
        }
    }

    /// A request with `save_path`: returns its JSON after checking the failure contract.
    fn faulty(
        &mut self,
        what: &str,
        save_path: &str,
        new_visitor: bool,
        timeout: Duration,
        names: &str,
    ) -> Value {
        let path = with_query(
            APP,
            &[("do", "count"), ("ini[session.save_path]", save_path)],
        );
        let r = if new_visitor {
            let mut fresh = self.site.client();
            get_json(&mut fresh, &path, what)
        } else {
            get_json(&mut self.client, &path, what)
        };
        println!("{what}: {r}");
        assert_eq!(r["ok"], json!(false), "{what}: session_start() must fail");
        assert_eq!(
            r["pid"],
            json!(self.pid),
            "{what}: served by another worker"
        );
        let start_ms = r["start_ms"].as_f64().expect("start_ms");
        assert!(
            start_ms <= (timeout + SLACK).as_secs_f64() * 1000.0,
            "{what}: session_start() took {start_ms} ms, configured timeout {timeout:?}"
        );
        let errors = r["errors"].to_string();
        assert!(
            errors.contains("E_WARNING") && errors.contains(names),
            "{what}: want a warning naming {names:?}, got {errors}"
        );
        // Warnings go to logs; a session id there is a credential anyone reading them can use.
        if let Some(id) = self.client.cookie("PHPSESSID").filter(|_| !new_visitor) {
            assert!(
                !errors.contains(id),
                "{what}: a warning shows the whole session id {id}: {errors}"
            );
        }
        self.healthy(what);
        r
    }

    /// The next request, with the pool's own save_path, works normally in the same worker.
    fn healthy(&mut self, after: &str) {
        let r = get_json(
            &mut self.client,
            &format!("{APP}?do=count"),
            &format!("the request after {after}"),
        );
        self.count += 1;
        assert_eq!(
            (&r["ok"], &r["errors"], &r["pid"]),
            (&json!(true), &json!([]), &json!(self.pid)),
            "after {after}: {r}"
        );
        assert_eq!(
            r["session"]["n"],
            json!(self.count),
            "after {after}: the session must be intact: {r}"
        );
    }
}

fn get_json(client: &mut HttpClient, path: &str, what: &str) -> Value {
    let response = client
        .get(path)
        .unwrap_or_else(|e| panic!("{what}: GET {path}: {e}"));
    assert_eq!(response.status, 200, "{what}: {}", response.text());
    response.json()
}

const ONE_SECOND: Duration = Duration::from_secs(1);

#[test]
fn redis_down() {
    let mut f = Fixture::start();
    let port = ports::unused_port();
    let host = format!("127.0.0.1:{port}");
    let sp = format!("tcp://{host}?timeout=1");
    f.faulty("Redis down", &sp, false, ONE_SECOND, &host);
    f.faulty("Redis down, new visitor", &sp, true, ONE_SECOND, &host);
}

#[test]
fn wrong_password() {
    let mut f = Fixture::start();
    let locked = RedisServer::builder().password("right-password").start();
    let sp = format!("tcp://{}?auth=wrong-password&timeout=1", locked.addr());
    f.faulty("wrong password", &sp, false, ONE_SECOND, &locked.addr());
    let sp = format!("tcp://{}?timeout=1", locked.addr());
    f.faulty("no password", &sp, false, ONE_SECOND, &locked.addr());
}

#[test]
fn malformed_save_path() {
    let mut f = Fixture::start();
    for (sp, names) in [
        ("tcp://127.0.0.1:6379?weight=0", "offset 0"),
        (
            "tcp://127.0.0.1:1?weight=1, tcp://127.0.0.1:2?timeout=-1",
            "offset 28",
        ),
        ("tcp://[::1", "offset 0"),
    ] {
        f.faulty(
            &format!("save_path {sp:?}"),
            sp,
            false,
            Duration::ZERO,
            names,
        );
    }
}

#[test]
fn unknown_host() {
    let mut f = Fixture::start();
    let sp = "tcp://no-such-host.invalid:6379?timeout=1";
    // Name resolution is not bounded by the connect timeout; .invalid fails at once (RFC 6761).
    f.faulty(
        "unknown host",
        sp,
        false,
        ONE_SECOND,
        "no-such-host.invalid",
    );
}

#[test]
fn server_that_never_answers() {
    let mut f = Fixture::start();
    let hole = Proxy::blackhole();
    let sp = format!("tcp://{}?timeout=1&read_timeout=1", hole.addr());
    f.faulty("server never answers", &sp, false, ONE_SECOND, &hole.addr());
    f.faulty(
        "server never answers, new visitor",
        &sp,
        true,
        ONE_SECOND,
        &hole.addr(),
    );
}
