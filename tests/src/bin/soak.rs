//! `soak`: the fault suite (issue 9). php-fpm behind nginx under a closed-loop load of many
//! sessions, each request incrementing its session's counter, while Redis stalls, restarts with
//! AOF, fails over under Sentinel, or the run simply goes on long enough to show leaks. Progress on
//! stderr, a markdown table on stdout. Run it with `make soak`, which builds the extension first.
//!
//! Environment: SOAK_SESSIONS (2000), SOAK_WORKERS (php-fpm workers, 8), SOAK_CONNECTIONS (load
//! connections, 16), SOAK_AFTER (seconds of load after Redis is back, 8), SOAK_LEAK_REQUESTS
//! (requests of the leak run, 20000; the release check uses 200000), SOAK_SCENARIOS (comma list,
//! default all: stall, shutdown, kill9, sentinel-planned, sentinel-kill9, cluster-kill9, leak).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phpsess_compat::servers::{RedisCluster, RedisServer, SentinelSetup};
use phpsess_compat::web::{phpsess_extension, FpmPool, Handler, HttpClient, Site};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

/// One column of the comparison: a handler with locking on or off.
#[derive(Clone, Copy)]
struct Variant {
    handler: Handler,
    locking: bool,
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lock = if self.locking { "lock" } else { "no lock" };
        write!(f, "{} ({lock})", self.handler)
    }
}

/// What the load generator saw.
#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    failed: AtomicU64,
    /// Milliseconds since the run started, of every failure.
    failures: Mutex<Vec<u64>>,
    /// Why requests failed (the page's first warning, digits folded), with counts.
    reasons: Mutex<BTreeMap<String, u64>>,
}

/// A failure's reason, digits folded to `#` so that ports, ids and timings group together.
fn reason(response: &Result<phpsess_compat::web::Response, String>) -> String {
    let text = match response {
        Ok(r) => format!("{} {}", r.status, String::from_utf8_lossy(&r.body)),
        Err(e) => format!("no response: {e}"),
    };
    let folded: String = text
        .trim()
        .chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect();
    let mut out: String = folded.chars().take(160).collect();
    if out.len() < folded.len() {
        out.push('…');
    }
    out
}

/// One row of the report.
struct Row {
    scenario: &'static str,
    variant: String,
    ok: u64,
    failed: u64,
    /// First to last failure after the fault, seconds.
    window: Option<(f64, f64)>,
    /// Last failure minus the moment Redis was back, seconds.
    tail: Option<f64>,
    lost: usize,
    locks: usize,
    rss: (u64, u64),
    note: String,
    /// Failure reasons, most frequent first.
    reasons: Vec<(String, u64)>,
}

fn session_ids(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("soak{i:022}")).collect()
}

/// Sum of VmRSS of `pids`, in KiB.
fn rss_kib(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

/// One scenario's load: its sessions, the increments each had acknowledged, the tallies, and the
/// closed-loop clients against the site.
struct Load {
    addr: String,
    connections: usize,
    ids: Arc<Vec<String>>,
    acked: Arc<Vec<AtomicU64>>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    t0: Instant,
}

impl Load {
    fn new(site: &Site, cfg: &Cfg) -> Load {
        let ids = session_ids(cfg.sessions);
        let acked = (0..ids.len()).map(|_| AtomicU64::new(0)).collect();
        Load {
            addr: site.nginx.addr(),
            connections: cfg.connections,
            ids: Arc::new(ids),
            acked: Arc::new(acked),
            tally: Arc::new(Tally::default()),
            stop: Arc::new(AtomicBool::new(false)),
            t0: Instant::now(),
        }
    }

    /// Starts the clients; they run until [`Load::finish`], or `limit` requests in all.
    fn start(&self, limit: Option<u64>) -> Vec<std::thread::JoinHandle<()>> {
        let (connections, t0) = (self.connections, self.t0);
        let sent = Arc::new(AtomicU64::new(0));
        (0..connections)
            .map(|c| {
                let (addr, ids, acked, tally, stop, sent) = (
                    self.addr.clone(),
                    Arc::clone(&self.ids),
                    Arc::clone(&self.acked),
                    Arc::clone(&self.tally),
                    Arc::clone(&self.stop),
                    Arc::clone(&sent),
                );
                std::thread::spawn(move || {
                    let mut client = HttpClient::new(addr).timeout(Duration::from_secs(30));
                    let mut k = c;
                    while !stop.load(Ordering::Relaxed) {
                        if limit.is_some_and(|l| sent.fetch_add(1, Ordering::Relaxed) >= l) {
                            break;
                        }
                        let i = k % ids.len();
                        k += connections;
                        client.set_cookie("PHPSESSID", &ids[i]);
                        let response = client.get("/soak.php").map_err(|e| e.to_string());
                        let good =
                            matches!(&response, Ok(r) if r.status == 200 && r.body.starts_with(b"ok "));
                        if good {
                            acked[i].fetch_add(1, Ordering::Relaxed);
                            tally.ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            tally.failed.fetch_add(1, Ordering::Relaxed);
                            let ms = t0.elapsed().as_millis() as u64;
                            tally
                                .failures
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(ms);
                            *tally
                                .reasons
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .entry(reason(&response))
                                .or_default() += 1;
                        }
                    }
                })
            })
            .collect()
    }

    /// Stops the clients and waits for them.
    fn finish(&self, threads: Vec<std::thread::JoinHandle<()>>) {
        self.stop.store(true, Ordering::Relaxed);
        join(threads);
    }
}

fn join(threads: Vec<std::thread::JoinHandle<()>>) {
    for t in threads {
        let _ = t.join();
    }
}

/// `n|i:COUNT;` anywhere in a stored session (PHP's php serializer).
fn stored_counter(data: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(data);
    text.split("n|i:")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Sessions whose stored counter is below their acknowledged increments, and lock keys left.
fn audit(con: &mut redis::Connection, ids: &[String], acked: &[AtomicU64]) -> (usize, usize) {
    let mut lost = 0;
    for (id, a) in ids.iter().zip(acked) {
        let v: Option<Vec<u8>> = redis::cmd("GET")
            .arg(format!("PHPREDIS_SESSION:{id}"))
            .query(con)
            .unwrap_or(None);
        if v.as_deref().map_or(0, stored_counter) < a.load(Ordering::Relaxed) {
            lost += 1;
        }
    }
    let locks: Vec<String> = redis::cmd("KEYS")
        .arg("*_LOCK")
        .query(con)
        .unwrap_or_default();
    (lost, locks.len())
}

fn pool(variant: Variant, save_path: &str, workers: usize) -> FpmPool {
    pool_for(variant, variant.handler.name(), save_path, workers)
}

fn pool_for(variant: Variant, handler: &str, save_path: &str, workers: usize) -> FpmPool {
    let (lk, lv) = variant.handler.locking_ini(variant.locking);
    let mut b = FpmPool::builder("soak")
        .workers(workers)
        .value("session.save_handler", handler)
        .value("session.save_path", save_path)
        .value("session.use_strict_mode", "0")
        .value(lk, lv);
    if variant.handler == Handler::Phpredis && variant.locking {
        // phpredis waits retries * wait_time; 5 s like phpsess's default lock_wait_timeout.
        b = b
            .value("redis.session.lock_retries", "500")
            .value("redis.session.lock_wait_time", "10000");
    }
    b.start()
}

enum Fault {
    Stall,
    Shutdown,
    Kill9,
}

fn run_standalone(scenario: &'static str, fault: Fault, variant: Variant, cfg: &Cfg) -> Row {
    let mut redis = RedisServer::builder().appendonly(true).start();
    let save_path = format!("tcp://{}?timeout=2&read_timeout=2", redis.addr());
    let site = Site::start(vec![pool(variant, &save_path, cfg.workers)]);
    let load = Load::new(&site, cfg);
    let threads = load.start(None);
    std::thread::sleep(Duration::from_secs(3));
    let rss_start = rss_kib(&site.pools[0].worker_pids());
    let fault_at = load.t0.elapsed();
    match fault {
        Fault::Stall => {
            redis.pause();
            std::thread::sleep(Duration::from_secs(3));
            redis.resume();
        }
        Fault::Shutdown => redis.restart(),
        Fault::Kill9 => {
            redis.kill();
            redis.restart();
        }
    }
    let back_at = load.t0.elapsed();
    std::thread::sleep(Duration::from_secs(cfg.after));
    load.finish(threads);
    let rss_end = rss_kib(&site.pools[0].worker_pids());
    let (lost, locks) = audit(&mut redis.connection(), &load.ids, &load.acked);
    row(
        scenario,
        variant.to_string(),
        &load.tally,
        fault_at,
        back_at,
        lost,
        locks,
        (rss_start, rss_end),
        String::new(),
    )
}

fn run_sentinel(scenario: &'static str, planned: bool, cfg: &Cfg) -> Row {
    let variant = Variant {
        handler: Handler::Phpsess,
        locking: true,
    };
    let mut setup = SentinelSetup::start();
    let save_path = setup.save_path("timeout=2&read_timeout=2");
    let site = Site::start(vec![pool(variant, &save_path, cfg.workers)]);
    let load = Load::new(&site, cfg);
    let threads = load.start(None);
    std::thread::sleep(Duration::from_secs(3));
    let rss_start = rss_kib(&site.pools[0].worker_pids());
    let fault_at = load.t0.elapsed();
    if planned {
        setup.planned_failover();
        setup.wait_for_failover();
    } else {
        setup.kill_master();
        setup.wait_for_failover();
    }
    let back_at = load.t0.elapsed();
    if planned {
        // The old master's dropped writes show only once it follows the new master.
        setup.wait_for_demotion();
    }
    std::thread::sleep(Duration::from_secs(cfg.after));
    load.finish(threads);
    let rss_end = rss_kib(&site.pools[0].worker_pids());
    let (lost, locks) = audit(&mut setup.master_connection(), &load.ids, &load.acked);
    row(
        scenario,
        variant.to_string(),
        &load.tally,
        fault_at,
        back_at,
        lost,
        locks,
        (rss_start, rss_end),
        "phpredis has no Sentinel session support".into(),
    )
}

/// Redis Cluster (3 masters, 3 replicas): the master of the first session's slot is killed
/// (`kill -9`) under load and its replica promoted. Only phpsess locks here: phpredis's cluster
/// handler has no locking.
fn run_cluster(variant: Variant, cfg: &Cfg) -> Row {
    let mut cluster = RedisCluster::start();
    let save_path = format!("{}&timeout=2&read_timeout=2", cluster.seed_query());
    let site = Site::start(vec![pool_for(
        variant,
        variant.handler.cluster_name(),
        &save_path,
        cfg.workers,
    )]);
    let load = Load::new(&site, cfg);
    let threads = load.start(None);
    std::thread::sleep(Duration::from_secs(3));
    let rss_start = rss_kib(&site.pools[0].worker_pids());
    // The harness waits for the replicas to catch up, kills the master, and returns once every
    // node agrees on the promoted replica.
    let fault_at = load.t0.elapsed();
    cluster.kill_master_of(format!("{CLUSTER_PREFIX}{}", load.ids[0]));
    let back_at = load.t0.elapsed();
    std::thread::sleep(Duration::from_secs(cfg.after));
    load.finish(threads);
    let rss_end = rss_kib(&site.pools[0].worker_pids());
    let mut con = cluster.connection();
    let mut lost = 0;
    for (id, a) in load.ids.iter().zip(load.acked.iter()) {
        let v: Option<Vec<u8>> = redis::cmd("GET")
            .arg(format!("{CLUSTER_PREFIX}{id}"))
            .query(&mut con)
            .unwrap_or(None);
        if v.as_deref().map_or(0, stored_counter) < a.load(Ordering::Relaxed) {
            lost += 1;
        }
    }
    let locks: usize = cluster
        .masters()
        .iter()
        .filter_map(|m| cluster.node(m))
        .map(|n| {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg("*_LOCK")
                .query(&mut n.connection())
                .unwrap_or_default();
            keys.len()
        })
        .sum();
    row(
        "Redis Cluster master lost (kill -9)",
        variant.to_string(),
        &load.tally,
        fault_at,
        back_at,
        lost,
        locks,
        (rss_start, rss_end),
        if variant.locking {
            String::new()
        } else {
            "phpredis's cluster handler cannot lock".into()
        },
    )
}

/// phpredis's (and so our) default key prefix for `rediscluster` sessions.
const CLUSTER_PREFIX: &str = "PHPREDIS_CLUSTER_SESSION:";

fn run_leak(variant: Variant, cfg: &Cfg) -> Row {
    let redis = RedisServer::start();
    let save_path = format!("tcp://{}?timeout=2&read_timeout=2", redis.addr());
    let site = Site::start(vec![pool(variant, &save_path, cfg.workers)]);
    let load = Load::new(&site, cfg);
    // Warm every worker first, so the start sample is after PHP's own first-request allocations.
    join(load.start(Some(2_000)));
    let rss_start = rss_kib(&site.pools[0].worker_pids());
    join(load.start(Some(cfg.leak_requests)));
    let rss_end = rss_kib(&site.pools[0].worker_pids());
    let (lost, locks) = audit(&mut redis.connection(), &load.ids, &load.acked);
    let mut r = row(
        "leak",
        variant.to_string(),
        &load.tally,
        load.t0.elapsed(),
        load.t0.elapsed(),
        lost,
        locks,
        (rss_start, rss_end),
        format!("{} requests", cfg.leak_requests + 2_000),
    );
    r.window = None;
    r.tail = None;
    r
}

#[allow(clippy::too_many_arguments)]
fn row(
    scenario: &'static str,
    variant: String,
    tally: &Tally,
    fault_at: Duration,
    back_at: Duration,
    lost: usize,
    locks: usize,
    rss: (u64, u64),
    note: String,
) -> Row {
    let failures = tally
        .failures
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    let fault_ms = fault_at.as_millis() as u64;
    let after: Vec<u64> = failures
        .iter()
        .copied()
        .filter(|&ms| ms >= fault_ms)
        .collect();
    let window = match (after.iter().min(), after.iter().max()) {
        (Some(&a), Some(&b)) => Some((
            (a - fault_ms) as f64 / 1000.0,
            (b - fault_ms) as f64 / 1000.0,
        )),
        _ => None,
    };
    let tail = after
        .iter()
        .max()
        .map(|&b| (b as f64 - back_at.as_millis() as f64) / 1000.0);
    Row {
        scenario,
        variant,
        ok: tally.ok.load(Ordering::Relaxed),
        failed: tally.failed.load(Ordering::Relaxed),
        window,
        tail,
        lost,
        locks,
        rss,
        note,
        reasons: {
            let mut r: Vec<(String, u64)> = tally
                .reasons
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            r.sort_by_key(|b| std::cmp::Reverse(b.1));
            r
        },
    }
}

struct Cfg {
    sessions: usize,
    workers: usize,
    connections: usize,
    after: u64,
    leak_requests: u64,
}

fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | handler | ok | failed | error window after fault (s) | last failure after Redis back (s) | lost sessions | lock keys left | worker RSS start→end (MB) | note |\n|---|---|---:|---:|---|---:|---:|---:|---|---|\n",
    );
    for r in rows {
        let window = r
            .window
            .map_or("none".to_owned(), |(a, b)| format!("{a:.1}–{b:.1}"));
        let tail = r.tail.map_or("–".to_owned(), |t| format!("{t:.1}"));
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {:.1}→{:.1} | {} |\n",
            r.scenario,
            r.variant,
            r.ok,
            r.failed,
            window,
            tail,
            r.lost,
            r.locks,
            r.rss.0 as f64 / 1024.0,
            r.rss.1 as f64 / 1024.0,
            r.note
        ));
    }
    out
}

fn main() -> ExitCode {
    let cfg = Cfg {
        sessions: env_or("SOAK_SESSIONS", 2000),
        workers: env_or("SOAK_WORKERS", 8),
        connections: env_or("SOAK_CONNECTIONS", 16),
        after: env_or("SOAK_AFTER", 8),
        leak_requests: env_or("SOAK_LEAK_REQUESTS", 20_000),
    };
    let all = "stall,shutdown,kill9,sentinel-planned,sentinel-kill9,cluster-kill9,leak";
    let scenarios: Vec<String> = std::env::var("SOAK_SCENARIOS")
        .unwrap_or_else(|_| all.to_owned())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let _ = phpsess_extension();
    let variants = [
        Variant {
            handler: Handler::Phpsess,
            locking: true,
        },
        Variant {
            handler: Handler::Phpredis,
            locking: false,
        },
        Variant {
            handler: Handler::Phpredis,
            locking: true,
        },
    ];
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut seen = BTreeMap::new();
    for s in &scenarios {
        seen.insert(s.clone(), ());
        eprintln!("soak: {s} ({:.0?} so far)", started.elapsed());
        match s.as_str() {
            "stall" => variants.iter().for_each(|&v| {
                rows.push(run_standalone(
                    "Redis stalls 3 s (SIGSTOP)",
                    Fault::Stall,
                    v,
                    &cfg,
                ))
            }),
            "shutdown" => variants.iter().for_each(|&v| {
                rows.push(run_standalone(
                    "restart with AOF (SHUTDOWN)",
                    Fault::Shutdown,
                    v,
                    &cfg,
                ))
            }),
            "kill9" => variants.iter().for_each(|&v| {
                rows.push(run_standalone(
                    "restart with AOF (kill -9)",
                    Fault::Kill9,
                    v,
                    &cfg,
                ))
            }),
            "sentinel-planned" => {
                rows.push(run_sentinel("Sentinel failover (planned)", true, &cfg))
            }
            "sentinel-kill9" => rows.push(run_sentinel(
                "Sentinel failover (kill -9 master)",
                false,
                &cfg,
            )),
            "cluster-kill9" => variants[..2]
                .iter()
                .for_each(|&v| rows.push(run_cluster(v, &cfg))),
            "leak" => variants.iter().for_each(|&v| rows.push(run_leak(v, &cfg))),
            other => {
                eprintln!("soak: unknown scenario {other:?} (known: {all})");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("{}", markdown(&rows));
    println!("Failure reasons (digits folded to #; the five most frequent per row):\n");
    for r in &rows {
        if r.reasons.is_empty() {
            continue;
        }
        println!("- {} / {}:", r.scenario, r.variant);
        for (why, n) in r.reasons.iter().take(5) {
            println!("  - {n} × `{}`", why.replace('`', "'"));
        }
    }
    println!();
    println!(
        "{} sessions, {} php-fpm workers, {} connections, {} s of load after Redis is back; took {:.0?}",
        cfg.sessions, cfg.workers, cfg.connections, cfg.after, started.elapsed()
    );
    ExitCode::SUCCESS
}
