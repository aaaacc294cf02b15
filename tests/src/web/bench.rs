//! The end-to-end benchmark (`make bench-e2e`, `scripts/bench-e2e.sh`): phpsess against phpredis
//! 5.3.7 on one redis-server with the same 1 KiB session, locking on and off, in a PHP CLI loop
//! and in php-fpm behind nginx under [`super::load`], on loopback and through a [`Proxy`] that
//! delays every reply by 1 ms (a Redis in another rack or zone).
//!
//! Each configuration is measured twice, separately:
//! - speed (requests/s, p50/p99 latency), straight to Redis or through the delaying proxy;
//! - cost: a fixed number of sequential requests through a zero-delay counting proxy, with Redis's
//!   `INFO commandstats` reset before; commands and round trips per request. Commands run inside
//!   Lua scripts count in commandstats too, so the per-command breakdown is printed beside the total.
//!
//! phpredis and phpsess run back to back for each configuration, so background load on the
//! machine hits both alike; compare the ratios of one run, not absolute numbers across runs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use super::fleet::{new_session_id, Handler};
use super::fpm::FpmPool;
use super::http::HttpClient;
use super::load::{self, LoadSpec};
use super::nginx::Nginx;
use super::php_cli::PhpCli;
use crate::fixtures::workspace_root;
use crate::servers::{Proxy, RedisServer};

/// What to run and for how long.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Measuring window per configuration.
    pub seconds: f64,
    /// Warm-up before each window.
    pub warmup_seconds: f64,
    /// php-fpm workers of the pool (`pm = static`).
    pub workers: usize,
    /// Load-generator connections, each with its own session.
    pub connections: usize,
    /// Reply delay of the "remote Redis" proxy.
    pub delay: Duration,
    /// Sequential requests of the counting pass.
    pub count_requests: usize,
    /// Speed measurements per configuration (phpredis and phpsess alternating); the median by
    /// requests/s is reported, which keeps one disturbed window from deciding a row.
    pub rounds: usize,
    /// Only these runners (default both).
    pub runners: Vec<Runner>,
    /// More INI settings for phpsess's rows, after `BENCH_PHPSESS_INI` (the encryption rows).
    pub phpsess_ini: Vec<(String, String)>,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            seconds: 3.0,
            warmup_seconds: 1.0,
            workers: 4,
            connections: 8,
            delay: Duration::from_millis(1),
            count_requests: 200,
            rounds: 3,
            runners: vec![Runner::Cli, Runner::Fpm],
            phpsess_ini: Vec::new(),
        }
    }
}

/// Where the PHP code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Runner {
    /// One `php` process, request after request (`bench/e2e/cli_loop.php`).
    Cli,
    /// php-fpm behind nginx under the load generator (`bench/e2e/session.php`).
    Fpm,
}

impl Runner {
    fn label(self) -> &'static str {
        match self {
            Runner::Cli => "php-cli loop",
            Runner::Fpm => "php-fpm + nginx",
        }
    }
}

/// How far Redis is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Network {
    /// Straight to redis-server on 127.0.0.1.
    Loopback,
    /// Through the proxy delaying every reply (and each new connection's first reply).
    Delayed,
}

/// One configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Case {
    /// Where PHP runs.
    pub runner: Runner,
    /// How far Redis is.
    pub network: Network,
    /// Session locking on.
    pub locking: bool,
    /// Which save handler.
    pub handler: Handler,
    /// phpsess keeping the per-user index (`phpsess.user_key = user_id`).
    pub indexed: bool,
}

/// Speed of one configuration.
#[derive(Debug, Clone, Copy)]
pub struct Speed {
    /// Successful requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

/// Cost of one request of one configuration (network-independent).
#[derive(Debug, Clone)]
pub struct Cost {
    /// Redis commands per request (`INFO commandstats`, script-internal commands included).
    pub commands: f64,
    /// Round trips per request (client sends, server answers), from the counting proxy.
    pub round_trips: f64,
    /// Calls per request by command name.
    pub breakdown: BTreeMap<String, f64>,
}

/// One line of the result.
#[derive(Debug, Clone)]
pub struct Row {
    /// The configuration.
    pub case: Case,
    /// How fast.
    pub speed: Speed,
    /// How much Redis work.
    pub cost: Cost,
}

/// `<root>/bench/e2e`.
pub fn bench_dir() -> PathBuf {
    workspace_root().join("bench").join("e2e")
}

/// The INI settings of a case: handler, save_path, locking.
fn session_inis(
    opts: &BenchOptions,
    handler: Flavor,
    locking: bool,
    redis_addr: &str,
) -> Vec<(String, String)> {
    let (lock_key, lock_value) = handler.0.locking_ini(locking);
    let mut inis = vec![
        ("session.save_handler".into(), handler.0.name().into()),
        ("session.save_path".into(), save_path(handler, redis_addr)),
        (lock_key.into(), lock_value.into()),
    ];
    if handler == (Handler::Phpsess, true) {
        inis.push(("phpsess.user_key".into(), "user_id".into()));
    }
    if handler.0 == Handler::Phpsess {
        // BENCH_PHPSESS_INI="name=value,…": phpsess's rows with other settings (e.g.
        // phpsess.lock_queue=0, to compare a run with the queue against one without).
        for kv in std::env::var("BENCH_PHPSESS_INI")
            .unwrap_or_default()
            .split(',')
        {
            if let Some((k, v)) = kv.split_once('=') {
                inis.push((k.trim().into(), v.trim().into()));
            }
        }
        inis.extend(opts.phpsess_ini.iter().cloned());
    }
    inis
}

/// A handler, and for phpsess whether it keeps the per-user index; for phpredis whether its
/// connections are persistent (`?persistent=1`, the tuned phpredis a careful shop runs).
pub type Flavor = (Handler, bool);

fn save_path(handler: Flavor, redis_addr: &str) -> String {
    match handler {
        (Handler::Phpredis, true) => format!("tcp://{redis_addr}?persistent=1"),
        _ => format!("tcp://{redis_addr}"),
    }
}

fn cli(opts: &BenchOptions, handler: Flavor, locking: bool, redis_addr: &str) -> PhpCli {
    PhpCli::path(bench_dir().join("cli_loop.php"))
        .inis(session_inis(opts, handler, locking, redis_addr))
        .timeout(Duration::from_secs(600))
}

fn us(v: &serde_json::Value, field: &str) -> Duration {
    Duration::from_secs_f64(
        v[field]
            .as_f64()
            .unwrap_or_else(|| panic!("no {field} in {v}"))
            / 1e6,
    )
}

fn cli_speed(opts: &BenchOptions, handler: Flavor, locking: bool, redis_addr: &str) -> Speed {
    let id = new_session_id("bench");
    let out = cli(opts, handler, locking, redis_addr)
        .arg(&id)
        .arg("time")
        .arg(opts.seconds.to_string())
        .arg(opts.warmup_seconds.to_string())
        .run_ok()
        .json();
    let requests = out["requests"].as_f64().expect("requests");
    let seconds = out["seconds"].as_f64().expect("seconds");
    Speed {
        rps: requests / seconds,
        p50: us(&out, "p50_us"),
        p99: us(&out, "p99_us"),
    }
}

/// A pool serving `bench/e2e` with this case's session settings, with opcache as in production,
/// and nginx in front.
fn fpm_site(
    opts: &BenchOptions,
    handler: Flavor,
    locking: bool,
    redis_addr: &str,
) -> (Nginx, FpmPool) {
    let mut builder = FpmPool::builder("bench")
        .workers(opts.workers)
        .define("zend_extension", "opcache")
        .define("opcache.enable", "1")
        .admin_value("max_execution_time", "30");
    for (k, v) in session_inis(opts, handler, locking, redis_addr) {
        builder = builder.admin_value(k, v);
    }
    let pool = builder.start();
    let nginx = Nginx::builder()
        .root(bench_dir())
        .upstream(pool.addr())
        .start();
    (nginx, pool)
}

fn fpm_speed(opts: &BenchOptions, handler: Flavor, locking: bool, redis_addr: &str) -> Speed {
    let (nginx, pool) = fpm_site(opts, handler, locking, redis_addr);
    let report = load::run(&LoadSpec {
        addr: nginx.addr(),
        path: "/session.php".into(),
        connections: opts.connections,
        warmup: Duration::from_secs_f64(opts.warmup_seconds),
        duration: Duration::from_secs_f64(opts.seconds),
        expect_prefix: "ok ".into(),
        shared_cookie: None,
    });
    if report.errors > 0 {
        panic!(
            "{} (locking {locking}) in php-fpm: {} failed requests, first: {}\n{}",
            handler.0,
            report.errors,
            report.first_error.unwrap_or_default(),
            pool.php_errors()
        );
    }
    Speed {
        rps: report.rps(),
        p50: report.percentile(50.0),
        p99: report.percentile(99.0),
    }
}

/// Per-request command calls since the last reset, without the harness's own INFO / RESETSTAT.
fn commands_since_reset(redis: &RedisServer, requests: usize) -> (f64, BTreeMap<String, f64>) {
    let stats = redis.info_commandstats();
    let mut breakdown = BTreeMap::new();
    let mut total = 0u64;
    for (name, calls) in stats {
        if name == "info" || name == "config|resetstat" {
            continue;
        }
        total += calls;
        breakdown.insert(name, calls as f64 / requests as f64);
    }
    (total as f64 / requests as f64, breakdown)
}

/// The cost pass of one configuration: `opts.count_requests` sequential requests through
/// `counter` (a zero-delay [`Proxy`] in front of `redis`), after one unmeasured request per session.
pub fn measure_cost(
    opts: &BenchOptions,
    runner: Runner,
    handler: Flavor,
    locking: bool,
    redis: &RedisServer,
    counter: &Proxy,
) -> Cost {
    let n = opts.count_requests;
    let addr = counter.addr();
    match runner {
        Runner::Cli => {
            let id = new_session_id("count");
            // The first request creates the session; count only the steady state.
            cli(opts, handler, locking, &addr)
                .args([id.as_str(), "count", "1"])
                .run_ok();
            redis.reset_stats();
            counter.reset();
            cli(opts, handler, locking, &addr)
                .args([id.as_str(), "count", &n.to_string()])
                .run_ok();
        }
        Runner::Fpm => {
            let (nginx, _pool) = fpm_site(opts, handler, locking, &addr);
            let mut client = HttpClient::new(nginx.addr());
            // Warm every worker (and its connection) with this client's session first.
            for _ in 0..opts.workers * 4 {
                let r = client.get("/session.php").expect("warm-up request");
                assert!(r.body.starts_with(b"ok "), "warm-up: {}", r.text());
            }
            redis.reset_stats();
            counter.reset();
            for _ in 0..n {
                let r = client.get("/session.php").expect("counted request");
                assert!(r.body.starts_with(b"ok "), "counted request: {}", r.text());
            }
        }
    }
    let round_trips = counter.round_trips() as f64 / n as f64;
    let (commands, breakdown) = commands_since_reset(redis, n);
    Cost {
        commands,
        round_trips,
        breakdown,
    }
}

/// The speed of one configuration against Redis (or a proxy) at `redis_addr`.
pub fn measure_speed(
    opts: &BenchOptions,
    runner: Runner,
    handler: Flavor,
    locking: bool,
    redis_addr: &str,
) -> Speed {
    match runner {
        Runner::Cli => cli_speed(opts, handler, locking, redis_addr),
        Runner::Fpm => fpm_speed(opts, handler, locking, redis_addr),
    }
}

/// Runs every configuration of `opts`, calling `progress` after each measurement.
pub fn run(opts: &BenchOptions, mut progress: impl FnMut(&str)) -> Vec<Row> {
    assert!(opts.rounds > 0, "at least one round");
    let redis = RedisServer::start();
    let remote = Proxy::builder(redis.addr()).delay(opts.delay).start();
    let counter = Proxy::start(redis.addr(), Duration::ZERO);
    let mut rows = Vec::new();
    for &runner in &opts.runners {
        for locking in [true, false] {
            let mut costs = BTreeMap::new();
            for handler in FLAVORS {
                let cost = measure_cost(opts, runner, handler, locking, &redis, &counter);
                progress(&format!(
                    "{} {} locking={locking}: {:.2} commands, {:.2} round trips per request",
                    runner.label(),
                    label(handler),
                    cost.commands,
                    cost.round_trips
                ));
                costs.insert(handler, cost);
            }
            for network in [Network::Loopback, Network::Delayed] {
                let addr = match network {
                    Network::Loopback => redis.addr(),
                    Network::Delayed => remote.addr(),
                };
                let mut speeds: BTreeMap<Flavor, Vec<Speed>> = BTreeMap::new();
                for round in 1..=opts.rounds {
                    for handler in FLAVORS {
                        let speed = measure_speed(opts, runner, handler, locking, &addr);
                        progress(&format!(
                            "{} {} locking={locking} {network:?} round {round}: {:.0} req/s, p99 {:.2} ms",
                            runner.label(),
                            label(handler),
                            speed.rps,
                            ms(speed.p99)
                        ));
                        speeds.entry(handler).or_default().push(speed);
                    }
                }
                for (handler, mut runs) in speeds {
                    runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
                    rows.push(Row {
                        case: Case {
                            runner,
                            network,
                            locking,
                            handler: handler.0,
                            indexed: handler.1,
                        },
                        speed: runs[runs.len() / 2],
                        cost: costs[&handler].clone(),
                    });
                }
            }
        }
    }
    rows.sort_by_key(|r| r.case);
    rows
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Every handler measured: phpredis (defaults, then persistent connections), phpsess, phpsess
/// keeping the per-user index.
pub const FLAVORS: [Flavor; 4] = [
    (Handler::Phpredis, false),
    (Handler::Phpredis, true),
    (Handler::Phpsess, false),
    (Handler::Phpsess, true),
];

fn label(f: Flavor) -> String {
    match f {
        (Handler::Phpredis, true) => format!("{} persistent=1", f.0),
        (_, true) => format!("{} + user_key", f.0),
        _ => f.0.to_string(),
    }
}

/// phpsess's requests/s divided by phpredis's for the same runner, network and locking.
pub fn speedup(rows: &[Row], runner: Runner, network: Network, locking: bool) -> Option<f64> {
    ratio(rows, runner, network, locking, (Handler::Phpsess, false))
}

/// `flavor`'s requests/s divided by phpredis's for the same runner, network and locking.
pub fn ratio(
    rows: &[Row],
    runner: Runner,
    network: Network,
    locking: bool,
    flavor: Flavor,
) -> Option<f64> {
    let find = |(handler, indexed): Flavor| {
        rows.iter().find(|r| {
            r.case
                == Case {
                    runner,
                    network,
                    locking,
                    handler,
                    indexed,
                }
        })
    };
    let ours = find(flavor)?;
    let theirs = find((Handler::Phpredis, false))?;
    Some(ours.speed.rps / theirs.speed.rps)
}

/// The result as markdown: the main table, the goals, the per-command breakdown.
pub fn markdown(rows: &[Row], opts: &BenchOptions) -> String {
    let delay_ms = ms(opts.delay);
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| where PHP runs | Redis | locking | handler | req/s | vs phpredis | p50 ms | p99 ms | Redis commands/req | round trips/req |"
    );
    let _ = writeln!(t, "|---|---|---|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let c = r.case;
        let network = match c.network {
            Network::Loopback => "loopback".to_owned(),
            Network::Delayed => format!("+{delay_ms} ms"),
        };
        let ratio = match (c.handler, c.indexed) {
            (Handler::Phpredis, false) => String::new(),
            flavor => ratio(rows, c.runner, c.network, c.locking, flavor)
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_default(),
        };
        let _ = writeln!(
            t,
            "| {} | {network} | {} | {} | {:.0} | {ratio} | {:.2} | {:.2} | {:.2} | {:.2} |",
            c.runner.label(),
            if c.locking { "on" } else { "off" },
            label((c.handler, c.indexed)),
            r.speed.rps,
            ms(r.speed.p50),
            ms(r.speed.p99),
            r.cost.commands,
            r.cost.round_trips
        );
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Goals (phpsess req/s ÷ phpredis req/s): locked at +{delay_ms} ms ≥ 2x; unlocked at +{delay_ms} ms ≥ 1.15x; never below 1x on loopback."
    );
    let _ = writeln!(t);
    let mut runners: Vec<Runner> = rows.iter().map(|r| r.case.runner).collect();
    runners.dedup();
    for runner in runners.iter().copied() {
        let mut parts = Vec::new();
        let check = |x: Option<f64>, goal: f64| match x {
            Some(x) if x >= goal => format!("{x:.2}x (met)"),
            Some(x) => format!("{x:.2}x (**missed**, goal {goal}x)"),
            None => "n/a".to_owned(),
        };
        parts.push(format!(
            "locked +{delay_ms} ms {}",
            check(speedup(rows, runner, Network::Delayed, true), 2.0)
        ));
        parts.push(format!(
            "unlocked +{delay_ms} ms {}",
            check(speedup(rows, runner, Network::Delayed, false), 1.15)
        ));
        for locking in [true, false] {
            parts.push(format!(
                "loopback {} {}",
                if locking { "locked" } else { "unlocked" },
                check(speedup(rows, runner, Network::Loopback, locking), 1.0)
            ));
        }
        let _ = writeln!(t, "- {}: {}", runner.label(), parts.join("; "));
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Against the tuned baseline (phpsess req/s ÷ phpredis `persistent=1` req/s, same run):"
    );
    let _ = writeln!(t);
    for runner in &runners {
        let mut parts = Vec::new();
        for network in [Network::Loopback, Network::Delayed] {
            for locking in [true, false] {
                let tuned = |flavor| ratio(rows, *runner, network, locking, flavor);
                if let (Some(ours), Some(theirs)) = (
                    tuned((Handler::Phpsess, false)),
                    tuned((Handler::Phpredis, true)),
                ) {
                    parts.push(format!(
                        "{} {} {:.2}x",
                        match network {
                            Network::Loopback => "loopback".to_owned(),
                            Network::Delayed => format!("+{delay_ms} ms"),
                        },
                        if locking { "locked" } else { "unlocked" },
                        ours / theirs
                    ));
                }
            }
        }
        let _ = writeln!(t, "- {}: {}", runner.label(), parts.join("; "));
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Redis commands per request by name (`INFO commandstats`; commands a Lua script runs are counted as well as the EVALSHA that runs them):"
    );
    let _ = writeln!(t);
    let mut seen = Vec::new();
    for r in rows {
        let key = (
            r.case.runner,
            r.case.locking,
            r.case.handler,
            r.case.indexed,
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let parts: Vec<String> = r
            .cost
            .breakdown
            .iter()
            .map(|(name, per)| format!("{name} {per:.2}"))
            .collect();
        let _ = writeln!(
            t,
            "- {}, locking {}, {}: {}",
            r.case.runner.label(),
            if r.case.locking { "on" } else { "off" },
            label((r.case.handler, r.case.indexed)),
            parts.join(", ")
        );
    }
    t
}

/// The settings of the encrypted rows: `phpsess.encryption=on` with a fixed key (a benchmark's,
/// never a real one).
pub fn encryption_inis() -> Vec<(String, String)> {
    vec![
        ("phpsess.encryption".into(), "on".into()),
        (
            "phpsess.encryption_key".into(),
            // base64 of 32 bytes 0x42.
            "base64:QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=".into(),
        ),
    ]
}

/// One row of the encryption comparison: phpsess plain or encrypted, locking on, loopback.
#[derive(Debug, Clone)]
pub struct EncryptionRow {
    /// Where PHP runs.
    pub runner: Runner,
    /// `phpsess.encryption=on`.
    pub encrypted: bool,
    /// How fast (median of the rounds).
    pub speed: Speed,
    /// How much Redis work.
    pub cost: Cost,
}

/// phpsess with and without encryption at rest in the same run: locking on, loopback (where
/// the CPU cost of sealing shows most), plain and encrypted alternating in every round.
pub fn run_encryption(opts: &BenchOptions, mut progress: impl FnMut(&str)) -> Vec<EncryptionRow> {
    assert!(opts.rounds > 0, "at least one round");
    let redis = RedisServer::start();
    let counter = Proxy::start(redis.addr(), Duration::ZERO);
    let variant = |encrypted: bool| BenchOptions {
        phpsess_ini: if encrypted {
            encryption_inis()
        } else {
            Vec::new()
        },
        ..opts.clone()
    };
    let handler = (Handler::Phpsess, false);
    let mut rows = Vec::new();
    for &runner in &opts.runners {
        let mut speeds: BTreeMap<bool, Vec<Speed>> = BTreeMap::new();
        let mut costs = BTreeMap::new();
        for encrypted in [false, true] {
            let cost = measure_cost(&variant(encrypted), runner, handler, true, &redis, &counter);
            progress(&format!(
                "{} phpsess encrypted={encrypted}: {:.2} commands, {:.2} round trips per request",
                runner.label(),
                cost.commands,
                cost.round_trips
            ));
            costs.insert(encrypted, cost);
        }
        for round in 1..=opts.rounds {
            for encrypted in [false, true] {
                let speed =
                    measure_speed(&variant(encrypted), runner, handler, true, &redis.addr());
                progress(&format!(
                    "{} phpsess encrypted={encrypted} round {round}: {:.0} req/s, p99 {:.2} ms",
                    runner.label(),
                    speed.rps,
                    ms(speed.p99)
                ));
                speeds.entry(encrypted).or_default().push(speed);
            }
        }
        for (encrypted, mut runs) in speeds {
            runs.sort_by(|a, b| a.rps.total_cmp(&b.rps));
            rows.push(EncryptionRow {
                runner,
                encrypted,
                speed: runs[runs.len() / 2],
                cost: costs[&encrypted].clone(),
            });
        }
    }
    rows
}

/// The encryption rows as markdown, with the goals: at most 5% fewer requests/s, no extra
/// round trip.
pub fn encryption_markdown(rows: &[EncryptionRow]) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| where PHP runs | phpsess | req/s | vs plain | p50 ms | p99 ms | Redis commands/req | round trips/req |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---:|---:|---:|---:|");
    let plain = |runner: Runner| rows.iter().find(|r| r.runner == runner && !r.encrypted);
    for r in rows {
        let ratio = match (r.encrypted, plain(r.runner)) {
            (true, Some(p)) => format!("{:.3}x", r.speed.rps / p.speed.rps),
            _ => String::new(),
        };
        let _ = writeln!(
            t,
            "| {} | {} | {:.0} | {ratio} | {:.2} | {:.2} | {:.2} | {:.2} |",
            r.runner.label(),
            if r.encrypted {
                "encryption=on"
            } else {
                "plain"
            },
            r.speed.rps,
            ms(r.speed.p50),
            ms(r.speed.p99),
            r.cost.commands,
            r.cost.round_trips
        );
    }
    let _ = writeln!(t);
    for r in rows.iter().filter(|r| r.encrypted) {
        let Some(p) = plain(r.runner) else { continue };
        let x = r.speed.rps / p.speed.rps;
        let speed = if x >= 0.95 {
            format!("{x:.3}x (met)")
        } else {
            format!("{x:.3}x (**missed**, goal ≥ 0.95x)")
        };
        let trips = if r.cost.round_trips <= p.cost.round_trips {
            format!(
                "{:.2} = {:.2} round trips (met)",
                r.cost.round_trips, p.cost.round_trips
            )
        } else {
            format!(
                "{:.2} > {:.2} round trips (**missed**)",
                r.cost.round_trips, p.cost.round_trips
            )
        };
        let _ = writeln!(
            t,
            "- {}: encrypted ÷ plain {speed}; {trips}",
            r.runner.label()
        );
    }
    t
}
