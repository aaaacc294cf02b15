//! The phpsess extension under php-fpm: nothing connects before a request (MINIT runs in the
//! master, which then forks), each worker keeps one persistent connection across requests, and
//! pool-level INI (`php_value[...]`, `php_admin_value[...]`) applies. Requests are sent over
//! FastCGI with `cgi-fcgi`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::extension;
use phpsess_compat::php::php_script;
use phpsess_compat::process_group::{in_own_group, stop};
use phpsess_compat::servers::{info_field, RedisServer};

const WORKERS: usize = 2;

/// A php-fpm master (`-F`, private config and prefix, a process group of its own) with the
/// extension loaded; stopped with SIGTERM (the master then stops its workers), then SIGKILL to
/// its group, on drop.
struct Fpm {
    child: Child,
    socket: PathBuf,
    dir: tempfile::TempDir,
}

impl Fpm {
    fn start(redis_addr: &str) -> Fpm {
        Fpm::start_with(redis_addr, "")
    }

    /// As [`Fpm::start`], with more pool lines (`php_admin_value[...] = ...\n`).
    fn start_with(redis_addr: &str, pool: &str) -> Fpm {
        let dir = tempfile::Builder::new()
            .prefix("phpsess-fpm-")
            .tempdir()
            .unwrap();
        let socket = dir.path().join("fpm.sock");
        let conf = dir.path().join("fpm.conf");
        let text = format!(
            "[global]\n\
             error_log = {log}\n\
             daemonize = no\n\
             [www]\n\
             listen = {sock}\n\
             pm = static\n\
             pm.max_children = {WORKERS}\n\
             catch_workers_output = yes\n\
             php_admin_value[session.save_handler] = phpsess\n\
             php_admin_value[session.save_path] = \"tcp://{redis_addr}\"\n\
             php_value[phpsess.lock_wait_timeout] = 1234\n\
             php_admin_value[max_execution_time] = 90\n\
             php_admin_value[zend.assertions] = 1\n\
             php_admin_value[assert.exception] = 1\n\
             {pool}",
            log = dir.path().join("fpm.log").display(),
            sock = socket.display(),
        );
        std::fs::write(&conf, text).unwrap();
        let child = in_own_group(&mut Command::new("php-fpm8.2"))
            .args(["-n", "-F", "-R", "-p"])
            .arg(dir.path())
            .arg("-y")
            .arg(&conf)
            .arg("-d")
            .arg(format!("extension={}", extension().display()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("php-fpm8.2 (make deps installs php8.2-fpm)");
        let fpm = Fpm { child, socket, dir };
        let start = Instant::now();
        // The socket file appears at bind(), before listen(): a request in between is refused
        // (seen once as an empty body), so wait until a connection is accepted.
        while std::os::unix::net::UnixStream::connect(&fpm.socket).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "php-fpm did not listen:\n{}",
                fpm.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        fpm
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("fpm.log")).unwrap_or_default()
    }

    /// GET `script?query` over FastCGI; returns the body's last line parsed as JSON.
    fn get(&self, script: &Path, query: &str) -> serde_json::Value {
        self.get_with_cookie(script, query, "")
    }

    /// As [`Fpm::get`], with a `Cookie:` header (as the web server passes it, `HTTP_COOKIE`).
    fn get_with_cookie(&self, script: &Path, query: &str, cookie: &str) -> serde_json::Value {
        let out = Command::new("cgi-fcgi")
            .args(["-bind", "-connect"])
            .arg(&self.socket)
            .env_clear()
            .env("REQUEST_METHOD", "GET")
            .env("SCRIPT_FILENAME", script)
            .env("QUERY_STRING", query)
            .env("HTTP_COOKIE", cookie)
            .output()
            .expect("cgi-fcgi (make deps installs libfcgi-bin)");
        let body = String::from_utf8_lossy(&out.stdout);
        let last = body.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{body}\nfpm log:\n{}", self.log()))
    }
}

impl Drop for Fpm {
    fn drop(&mut self) {
        stop(&mut self.child, Duration::from_secs(10));
        if std::thread::panicking() {
            eprintln!("php-fpm log:\n{}", self.log());
        }
    }
}

fn connections_received(server: &RedisServer) -> u64 {
    info_field(&server.info("stats"), "total_connections_received")
        .and_then(|v| v.parse().ok())
        .expect("total_connections_received")
}

#[test]
fn workers_connect_lazily_and_keep_one_connection_each() {
    let server = RedisServer::start();
    let before = connections_received(&server);
    let fpm = Fpm::start(&server.addr());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        connections_received(&server),
        before + 1,
        "only our INFO connection: the master and idle workers open nothing"
    );

    let script = php_script("ext_fpm.php");
    let id = "fpmfpmfpmfpmfpmfpmfpmfpmfpmfpm00";
    let mut pids = BTreeSet::new();
    let requests = 12;
    for n in 1..=requests {
        let v = fpm.get(&script, &format!("id={id}"));
        assert_eq!(v["count"], serde_json::json!(n), "{v}");
        assert_eq!(v["warnings"], serde_json::json!([]), "{v}");
        let info = &v["info"];
        assert_eq!(
            info["Connections opened"], "1",
            "one per worker, kept: {info}"
        );
        assert_eq!(info["Errors"], "0", "{info}");
        assert_eq!(
            info["Effective locking"],
            "on: expire 90 s (max_execution_time), wait up to 1234 ms in a queue, retry every 20 ms",
            "pool php_value applies, the lock lives as long as the request may: {info}"
        );
        assert_eq!(
            info["This worker"],
            format!("pid {}", v["pid"]),
            "counters are the worker's own"
        );
        pids.insert(v["pid"].as_u64().unwrap());
    }
    assert!(pids.len() <= WORKERS, "{pids:?}");
    // One INFO connection per call here, plus at most one per worker in all those requests.
    let received = connections_received(&server) - before;
    assert!(
        received <= 2 + WORKERS as u64,
        "{received} connections for {requests} requests on {} workers",
        pids.len()
    );
}

#[test]
fn a_hostile_cookie_never_names_a_foreign_key() {
    use redis::Commands;
    let server = RedisServer::start();
    let mut c = server.connection();
    // A cache entry under the session prefix: the cookie below used to read it into $_SESSION
    // under strict mode (the key exists) and overwrite it with a session TTL.
    let () = c
        .set("PHPREDIS_SESSION:cache:config", "user|s:5:\"admin\";")
        .unwrap();
    let fpm = Fpm::start(&server.addr());
    let script = php_script("ext_fpm_cookie.php");
    for cookie in [
        "PHPSESSID=cache%3Aconfig",
        "PHPSESSID=abcdefabcdefabcdefabcdef_LOCK",
        "PHPSESSID=%7Bslot%7Dabcdefabcdefabcdef",
        "PHPSESSID=_",
    ] {
        let v = fpm.get_with_cookie(&script, "strict=1", cookie);
        assert_eq!(v["ok"], serde_json::json!(true), "{cookie}: {v}");
        assert_eq!(v["session"], serde_json::json!([]), "{cookie}: {v}");
        let id = v["id"].as_str().unwrap();
        assert_eq!(id.len(), 32, "{cookie}: a fresh id: {v}");
        let v = fpm.get_with_cookie(&script, "strict=0", cookie);
        assert_eq!(v["ok"], serde_json::json!(false), "{cookie}: {v}");
    }
    let foreign: String = c.get("PHPREDIS_SESSION:cache:config").unwrap();
    assert_eq!(foreign, "user|s:5:\"admin\";");
    let ttl: i64 = c.ttl("PHPREDIS_SESSION:cache:config").unwrap();
    assert_eq!(ttl, -1);
    let locks: Vec<String> = c.keys("*_LOCK").unwrap();
    assert_eq!(locks, Vec::<String>::new());
}

/// Encryption at rest set per pool (`php_admin_value`): a session written over FastCGI is stored
/// sealed (no marker in the raw bytes) and read back by the next request with the cookie; a
/// script's `ini_set()` cannot turn it off.
#[test]
fn pool_level_encryption_seals_sessions() {
    use base64::Engine;
    use redis::Commands;
    let server = RedisServer::start();
    let key = base64::engine::general_purpose::STANDARD.encode([0x5a; 32]);
    let fpm = Fpm::start_with(
        &server.addr(),
        &format!(
            "php_admin_value[phpsess.encryption] = on\n\
             php_admin_value[phpsess.encryption_key] = \"base64:{key}\"\n"
        ),
    );
    let script = php_script("ext_fpm_encryption.php");
    let marker = "FPM-MARKER-93c2";
    let v = fpm.get(&script, &format!("set={marker}&try_ini=1"));
    assert_eq!(v["ok"], serde_json::json!(true), "{v}");
    assert_eq!(
        v["ini_set"],
        serde_json::json!(false),
        "ini_set refused: {v}"
    );
    // PHP's INI parser turns an unquoted `on` into "1"; phpsess.encryption reads both as on.
    assert_eq!(v["mode"], serde_json::json!("1"), "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let stored: Vec<u8> = server
        .connection()
        .get(format!("PHPREDIS_SESSION:{id}"))
        .unwrap();
    assert!(stored.starts_with(b"\xFFPSE"), "{stored:?}");
    assert!(!stored.windows(marker.len()).any(|w| w == marker.as_bytes()));
    let v = fpm.get_with_cookie(&script, "", &format!("PHPSESSID={id}"));
    assert_eq!(v["session"], serde_json::json!({"marker": marker}), "{v}");
    assert_eq!(v["warnings"], serde_json::json!([]), "{v}");
    assert!(!fpm.log().contains(&key), "the key is not in php-fpm's log");
}
