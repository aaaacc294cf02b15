//! `phpsess exporter` against a real redis-server: `/metrics` carries the exact figures, passes
//! `promtool check metrics` (Debian's prometheus package), follows the store between scans, and
//! is scraped by a real Prometheus server.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use phpsess_compat::cli::phpsess_bin;
use phpsess_compat::servers::{ports, RedisServer};
use redis::Commands;

/// A child process killed on drop (a failing assert must not leave an exporter running).
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET path` on 127.0.0.1:port: status line and body, or None while nothing listens.
fn get(port: u16, path: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    // HTTP/1.0: no keep-alive, no chunked replies.
    write!(s, "GET {path} HTTP/1.0\r\nHost: localhost\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_owned(), body.to_owned()))
}

/// The value of the sample line that starts with `series ` (name and labels as written).
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Wait until `/metrics` satisfies `ready`, returning the body.
fn metrics_when(port: u16, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some((_, body)) = get(port, "/metrics") {
            if ready(&body) {
                return body;
            }
        }
        assert!(Instant::now() < deadline, "exporter: never {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn start_exporter(save_path: &str, interval: &str) -> (Guard, u16) {
    let port = ports::free_port();
    let child = Command::new(phpsess_bin())
        .args(["exporter", "--listen", &format!("127.0.0.1:{port}")])
        .args(["--save-path", save_path, "--interval", interval])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start phpsess exporter");
    (Guard(child), port)
}

#[test]
fn metrics_carry_exact_figures_and_pass_promtool() {
    let server = RedisServer::builder().password("pw").start();
    let mut c = server.connection();
    let mut total = 0;
    for k in 0..25u64 {
        let v = format!(
            "user|i:{k};pad|s:{}:\"{}\";",
            k * 100,
            "p".repeat(k as usize * 100)
        );
        total += v.len();
        let _: () = c.set_ex(format!("PHPREDIS_SESSION:m{k}"), v, 1000).unwrap();
    }
    let _: () = c.set("PHPREDIS_SESSION:forever", "a|i:1;").unwrap();
    let _: () = c.set_ex("PHPREDIS_SESSION:m1_LOCK", "w|1|a", 30).unwrap();
    let save_path = format!("tcp://{}?auth=pw", server.addr());
    let (_exporter, port) = start_exporter(&save_path, "1");
    let label = format!("{{server=\"tcp://{}\"}}", server.addr());
    let body = metrics_when(port, "up", |b| b.contains("phpsess_up 1\n"));
    assert_eq!(
        sample(&body, &format!("phpsess_sessions{label}")),
        Some(26.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, &format!("phpsess_sessions_without_ttl{label}")),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, &format!("phpsess_locks_held{label}")),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, &format!("phpsess_session_bytes_sum{label}")),
        Some((total + "a|i:1;".len()) as f64)
    );
    assert_eq!(
        sample(&body, &format!("phpsess_session_bytes_count{label}")),
        Some(26.0)
    );
    let inf = format!(
        "phpsess_session_ttl_seconds_bucket{{server=\"tcp://{}\",le=\"+Inf\"}}",
        server.addr()
    );
    assert_eq!(
        sample(&body, &inf),
        Some(25.0),
        "sessions with a TTL: {body}"
    );
    assert!(body.contains(&format!(
        "phpsess_redis_maxmemory_policy{{server=\"tcp://{}\",policy=\"noeviction\"}} 1",
        server.addr()
    )));

    promtool_accepts(&body);

    // The next scan sees what changed; scrapes in between do not scan.
    let _: () = c.del("PHPREDIS_SESSION:forever").unwrap();
    metrics_when(port, "saw the deletion", |b| {
        sample(b, &format!("phpsess_sessions{label}")) == Some(25.0)
    });
    // Anything but /metrics is not found.
    let (status, _) = get(port, "/nothing").unwrap();
    assert_eq!(status, "HTTP/1.1 404 Not Found");
}

#[test]
fn a_store_that_goes_away_is_phpsess_up_0_and_counts_errors() {
    let mut server = RedisServer::start();
    let save_path = format!("tcp://{}?timeout=1", server.addr());
    let (_exporter, port) = start_exporter(&save_path, "1");
    metrics_when(port, "up", |b| b.contains("phpsess_up 1\n"));
    server.kill();
    let body = metrics_when(port, "down", |b| b.contains("phpsess_up 0\n"));
    assert!(
        sample(&body, "phpsess_scan_errors_total").unwrap() >= 1.0,
        "{body}"
    );
    // The last good figures stay, so a dashboard does not drop to zero sessions.
    assert!(body.contains("phpsess_sessions{"), "{body}");
}

#[test]
fn a_real_prometheus_scrapes_the_exporter() {
    let server = RedisServer::start();
    let mut c = server.connection();
    for k in 0..7 {
        let _: () = c
            .set_ex(format!("PHPREDIS_SESSION:p{k}"), "a|i:1;", 500)
            .unwrap();
    }
    let (_exporter, port) = start_exporter(&format!("tcp://{}", server.addr()), "1");
    metrics_when(port, "up", |b| b.contains("phpsess_up 1\n"));
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: phpsess\n    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"
        ),
    )
    .unwrap();
    let web = ports::free_port();
    let prometheus = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{web}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus (scripts/install-deps.sh test installs it)");
    let _prometheus = Guard(prometheus);
    let deadline = Instant::now() + Duration::from_secs(40);
    let query = "/api/v1/query?query=sum(phpsess_sessions)";
    loop {
        if let Some((_, body)) = get(web, query) {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if let Some(value) = v["data"]["result"][0]["value"][1].as_str() {
                assert_eq!(value, "7", "{body}");
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus never had phpsess_sessions"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Workers publish their counters (`phpsess.stats_interval`) riding a request's own pipeline,
/// two web servers' hashes on two weighted hosts are added up per web server, and the exporter
/// shows them.
#[test]
fn published_worker_counters_ride_a_request_and_reach_the_exporter() {
    use phpsess::store::{HostSpec, SessionStore, StoreOptions, Topology};
    use phpsess_compat::servers::Proxy;
    use std::time::Duration;

    let server = RedisServer::start();
    let proxy = Proxy::start(server.addr(), Duration::ZERO);
    let (host, port) = proxy
        .addr()
        .rsplit_once(':')
        .map(|(h, p)| (h.to_owned(), p.parse().unwrap()))
        .unwrap();
    let topology = || {
        Topology::hosts(vec![HostSpec::new(phpsess::store::Endpoint::tcp(
            &host, port,
        ))])
        .unwrap()
    };
    let mut web1 = SessionStore::new(topology(), StoreOptions::default());
    let mut web2 = SessionStore::new(topology(), StoreOptions::default());
    web1.publish_stats(Some(Duration::from_millis(200)), "web1");
    web2.publish_stats(Some(Duration::from_millis(200)), "web2");
    let request = |s: &mut SessionStore, id: &str| {
        s.read(id).unwrap();
        s.write(id, b"n|i:1;").unwrap();
        s.close().unwrap();
    };
    for i in 0..3 {
        request(&mut web1, &format!("pub1aaaaaaaaaaa{i}"));
    }
    request(&mut web2, "pub2aaaaaaaaaaaa");
    std::thread::sleep(Duration::from_millis(250));
    proxy.reset();
    request(&mut web1, "pub1aaaaaaaaaaa9");
    assert_eq!(
        proxy.round_trips(),
        2,
        "the publish rides in the request's pipeline"
    );
    request(&mut web2, "pub2aaaaaaaaaaa9");
    let mut c = server.connection();
    let reads: u64 = c.hget("PHPREDIS_SESSION:_stats:web1", "reads").unwrap();
    assert_eq!(
        reads, 4,
        "every read so far, the one the publish rides with included"
    );
    let ttl: i64 = c.ttl("PHPREDIS_SESSION:_stats:web1").unwrap();
    assert!(ttl > 86_000, "{ttl}");

    let (_exporter, port) = start_exporter(&format!("tcp://{}", server.addr()), "1");
    let body = metrics_when(port, "worker counters", |b| {
        b.contains("phpsess_worker_reads_total")
    });
    assert_eq!(
        sample(&body, "phpsess_worker_reads_total{source=\"web1\"}"),
        Some(4.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "phpsess_worker_reads_total{source=\"web2\"}"),
        Some(2.0),
        "{body}"
    );
    promtool_accepts(&body);
    assert!(
        sample(&body, "phpsess_worker_round_trips_total{source=\"web1\"}").unwrap() >= 6.0,
        "{body}"
    );
    assert_eq!(
        sample(
            &body,
            "phpsess_sessions{server=\"tcp://".to_owned().as_str()
        ),
        None
    );
}

#[test]
fn the_exporter_reads_laravel_sessions_and_the_age_of_locks() {
    let server = RedisServer::start();
    let mut c = server.connection();
    // The 8.x skeleton's layout for APP_NAME=Laravel, sessions as its cache store writes them.
    let prefix = "laravel_database_laravel_cache:";
    let mut total = 0;
    for k in 0..12u64 {
        let attributes = format!(
            r#"a:1:{{s:4:"cart";s:{0}:"{1}";}}"#,
            k * 10,
            "c".repeat(k as usize * 10)
        );
        let stored = format!("s:{}:\"{attributes}\";", attributes.len());
        total += stored.len();
        let _: () = c.set_ex(format!("{prefix}{k:0>40}"), stored, 7200).unwrap();
    }
    let _: () = c
        .set_ex(format!("{prefix}greeting"), "s:2:\"hi\";", 600)
        .unwrap();
    // A `->block()` route's lock (10 s) held for 4 s by now.
    let _: () = c
        .pset_ex(
            format!("{prefix}session:{:0>40}", 3),
            "Qx7RkT2mB9zLp4Wc",
            6_000,
        )
        .unwrap();
    let port = ports::free_port();
    let child = Command::new(phpsess_bin())
        .args([
            "exporter",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--interval",
            "1",
        ])
        .args(["--save-path", &format!("tcp://{}", server.addr())])
        .args([
            "--laravel-version",
            "8",
            "--app-name",
            "Laravel",
            "--lock-expire",
            "10",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start phpsess exporter");
    let _exporter = Guard(child);
    let label = format!("{{server=\"tcp://{}\"}}", server.addr());
    let body = metrics_when(port, "up", |b| b.contains("phpsess_up 1\n"));
    let get = |name: &str| sample(&body, &format!("{name}{label}"));
    assert_eq!(get("phpsess_sessions"), Some(12.0), "{body}");
    assert_eq!(get("phpsess_session_bytes_sum"), Some(total as f64));
    assert_eq!(get("phpsess_foreign_keys"), Some(1.0));
    assert_eq!(get("phpsess_locks_held"), Some(1.0));
    // As if set for --lock-expire 10: about 4 s, less what the scan took to start.
    let age = get("phpsess_lock_age_max_seconds").expect("lock age");
    assert!((4.0..6.0).contains(&age), "{age}: {body}");
    promtool_accepts(&body);
}

/// promtool from Debian's prometheus package checks the exposition format.
fn promtool_accepts(body: &str) {
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (scripts/install-deps.sh test installs prometheus)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}\n{body}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
