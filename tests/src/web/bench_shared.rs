//! The shared-session benchmark (issue 13, part of `make bench-e2e`): php-fpm behind nginx, every
//! load-generator connection carrying ONE session cookie (the parallel AJAX calls of one page),
//! each request counting in the session and holding it 2 ms (`bench/e2e/shared.php`). phpsess
//! (lock queue) against phpredis 5.3.7 with locking on and waiting forever, on loopback and
//! through the delaying proxy. Reports req/s against the serial limit (one request per lock hold),
//! p50/p99/max latency, and lost increments; and the hand-off latency alone, measured with the
//! store library: from the holder's unlock reply to the next holder having its session data.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phpsess::store::{HostSpec, LockOptions, SessionStore, StoreOptions, Topology};

use super::bench::{bench_dir, BenchOptions, Network};
use super::fleet::{new_session_id, Handler};
use super::fpm::FpmPool;
use super::http::HttpClient;
use super::load::{self, percentile, LoadSpec};
use super::nginx::Nginx;
use crate::servers::{Proxy, RedisServer};

/// Connection counts measured (all on one session).
pub const SHARED_CONNECTIONS: [usize; 2] = [8, 32];

/// php-fpm workers in the shared-session pool (the scenario).
pub const SHARED_WORKERS: usize = 8;

/// One line of the shared-session table.
#[derive(Debug, Clone)]
pub struct SharedRow {
    /// Which save handler.
    pub handler: Handler,
    /// How far Redis is.
    pub network: Network,
    /// Connections, all with the same session cookie.
    pub connections: usize,
    /// Successful requests per second.
    pub rps: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
    /// Slowest request.
    pub max: Duration,
    /// Mean time the lock was held per request: from the lock's SET to the unlock (in PHP from
    /// session_start()'s return to session_write_close(), plus one Redis round trip).
    pub hold: Duration,
    /// Successful requests whose increment is missing from the session.
    pub lost: i64,
    /// Failed requests.
    pub failed: u64,
}

impl SharedRow {
    /// Requests/s as a share of the serial limit (1 / hold).
    pub fn of_serial_limit(&self) -> f64 {
        self.rps * self.hold.as_secs_f64()
    }
}

/// Hand-off latency of one store configuration.
#[derive(Debug, Clone)]
pub struct HandOff {
    /// How far Redis is.
    pub network: Network,
    /// Lock queue on (hand-off) or off (polling).
    pub queue: bool,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// Median PING round trip on the same path.
    pub rtt: Duration,
}

fn inis(handler: Handler, redis_addr: &str) -> Vec<(&'static str, String)> {
    let (lock_key, _) = handler.locking_ini(true);
    let mut v = vec![
        ("session.save_handler", handler.name().to_owned()),
        ("session.save_path", format!("tcp://{redis_addr}")),
        (lock_key, "1".to_owned()),
        ("max_execution_time", "30".to_owned()),
    ];
    if handler == Handler::Phpredis {
        // The phpredis row: wait forever rather than fail (its 5.3.7 default gives up
        // after 10 x 2 ms and silently drops the write).
        v.push(("redis.session.lock_retries", "-1".to_owned()));
    }
    v
}

fn measure(
    opts: &BenchOptions,
    handler: Handler,
    network: Network,
    connections: usize,
    redis_addr: &str,
    rtt: Duration,
) -> SharedRow {
    let mut builder = FpmPool::builder("shared")
        .workers(SHARED_WORKERS)
        .define("zend_extension", "opcache")
        .define("opcache.enable", "1");
    for (k, v) in inis(handler, redis_addr) {
        builder = builder.admin_value(k, v);
    }
    let pool = builder.start();
    let nginx = Nginx::builder()
        .root(bench_dir())
        .upstream(pool.addr())
        .start();
    let id = new_session_id("shared");
    let report = load::run(&LoadSpec {
        addr: nginx.addr(),
        path: "/shared.php".into(),
        connections,
        warmup: Duration::from_secs_f64(opts.warmup_seconds),
        duration: Duration::from_secs_f64(opts.seconds),
        expect_prefix: "ok ".into(),
        shared_cookie: Some(("PHPSESSID".into(), id.clone())),
    });
    let mut client = HttpClient::new(nginx.addr());
    client.set_cookie("PHPSESSID", &id);
    let peek = client.get("/shared.php?peek=1").expect("final count");
    let text = peek.text();
    let fields: Vec<u64> = text
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let (n, hold_us) = match fields[..] {
        [n, hold_us] => (n, hold_us),
        _ => panic!(
            "{handler}: unexpected peek answer {text:?}\n{}",
            pool.php_errors()
        ),
    };
    let hold_php = Duration::from_micros(hold_us / n.max(1));
    SharedRow {
        handler,
        network,
        connections,
        rps: report.rps(),
        p50: report.percentile(50.0),
        p99: report.percentile(99.0),
        max: report.latencies.last().copied().unwrap_or_default(),
        hold: hold_php + rtt,
        lost: report.all_ok as i64 - n as i64,
        failed: report.errors,
    }
}

/// Median PING round trip to `addr`.
fn ping_rtt(addr: &str) -> Duration {
    let client = redis::Client::open(format!("redis://{addr}/")).expect("redis url");
    let mut c = client.get_connection().expect("connect for PING");
    let mut samples: Vec<Duration> = (0..200)
        .map(|_| {
            let t = Instant::now();
            let _: String = redis::cmd("PING").query(&mut c).expect("PING");
            t.elapsed()
        })
        .collect();
    samples.sort_unstable();
    percentile(&samples, 50.0)
}

/// Two stores take turns on one session, each holding it 1 ms, `rounds` times each; the time
/// from one's write (its unlock) returning to the other's read returning, sorted.
fn handoff_samples(addr: &str, queue: bool, rounds: usize) -> Vec<Duration> {
    let id = new_session_id("handoff");
    // (when, thread, acquired?)
    let events: Arc<Mutex<Vec<(Instant, usize, bool)>>> = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let addr = addr.to_owned();
            let id = id.clone();
            let events = Arc::clone(&events);
            std::thread::spawn(move || {
                let (host, port) = addr.rsplit_once(':').expect("host:port");
                let ep = phpsess::store::Endpoint::tcp(host, port.parse().expect("port"));
                let lock = LockOptions::default()
                    .with_queue(queue)
                    .with_wait(Duration::from_secs(30));
                let mut store = SessionStore::new(
                    Topology::hosts(vec![HostSpec::new(ep)]).expect("topology"),
                    StoreOptions::default().with_lock(lock),
                );
                for _ in 0..rounds {
                    store.read(&id).expect("read");
                    let got = Instant::now();
                    std::thread::sleep(Duration::from_millis(1));
                    store.write(&id, b"n|i:1;").expect("write");
                    let released = Instant::now();
                    let mut e = events.lock().unwrap_or_else(|p| p.into_inner());
                    e.push((got, t, true));
                    e.push((released, t, false));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("hand-off thread");
    }
    let mut events = std::mem::take(&mut *events.lock().unwrap_or_else(|p| p.into_inner()));
    events.sort_by_key(|e| e.0);
    let mut samples = Vec::new();
    let mut last_release: Option<(Instant, usize)> = None;
    for (at, t, acquired) in events {
        if acquired {
            // Only a turn that passed from one store to the other is a hand-off.
            if let Some((released, by)) = last_release.take() {
                if by != t {
                    samples.push(at.saturating_duration_since(released));
                }
            }
        } else {
            last_release = Some((at, t));
        }
    }
    samples.sort_unstable();
    samples
}

/// Runs the shared-session rows and the hand-off latencies.
pub fn run(opts: &BenchOptions, mut progress: impl FnMut(&str)) -> (Vec<SharedRow>, Vec<HandOff>) {
    let redis = RedisServer::start();
    let remote = Proxy::builder(redis.addr()).delay(opts.delay).start();
    let mut rows = Vec::new();
    let mut handoffs = Vec::new();
    for network in [Network::Loopback, Network::Delayed] {
        let addr = match network {
            Network::Loopback => redis.addr(),
            Network::Delayed => remote.addr(),
        };
        let rtt = ping_rtt(&addr);
        for queue in [true, false] {
            let samples = handoff_samples(&addr, queue, 200);
            let h = HandOff {
                network,
                queue,
                p50: percentile(&samples, 50.0),
                p99: percentile(&samples, 99.0),
                rtt,
            };
            progress(&format!("hand-off {network:?} queue={queue}: {h:?}"));
            handoffs.push(h);
        }
        for connections in SHARED_CONNECTIONS {
            for handler in [Handler::Phpredis, Handler::Phpsess] {
                let row = measure(opts, handler, network, connections, &addr, rtt);
                progress(&format!(
                    "shared session {handler} {network:?} {connections} connections: {:.0} req/s, p99 {:.1} ms, max {:.1} ms, lost {}, failed {}",
                    row.rps,
                    ms(row.p99),
                    ms(row.max),
                    row.lost,
                    row.failed
                ));
                rows.push(row);
            }
        }
    }
    (rows, handoffs)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The shared-session result as markdown, with the goals checked.
pub fn markdown(rows: &[SharedRow], handoffs: &[HandOff], opts: &BenchOptions) -> String {
    let delay = format!("+{} ms", ms(opts.delay));
    let net = |n: Network| match n {
        Network::Loopback => "loopback".to_owned(),
        Network::Delayed => delay.clone(),
    };
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| handler | Redis | connections | req/s | of serial limit | vs phpredis | p50 ms | p99 ms | max ms | hold ms | lost | failed |"
    );
    let _ = writeln!(
        t,
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let theirs = |r: &SharedRow| {
        rows.iter().find(|o| {
            o.handler == Handler::Phpredis
                && o.network == r.network
                && o.connections == r.connections
        })
    };
    for r in rows {
        let ratio = match (r.handler, theirs(r)) {
            (Handler::Phpsess, Some(o)) => format!("{:.2}x", r.rps / o.rps),
            _ => String::new(),
        };
        let _ = writeln!(
            t,
            "| {} | {} | {} | {:.0} | {:.0}% | {ratio} | {:.1} | {:.1} | {:.1} | {:.2} | {} | {} |",
            r.handler,
            net(r.network),
            r.connections,
            r.rps,
            r.of_serial_limit() * 100.0,
            ms(r.p50),
            ms(r.p99),
            ms(r.max),
            ms(r.hold),
            r.lost,
            r.failed
        );
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Goals for phpsess (issue 13): p99 and max ≤ 3 × connections × hold; req/s ≥ 90% of the serial limit on loopback; ≥ 1.5x phpredis at {delay}; 0 lost, 0 failed."
    );
    for r in rows.iter().filter(|r| r.handler == Handler::Phpsess) {
        let bound = r.hold * 3 * r.connections as u32;
        let mut verdicts = vec![format!(
            "p99 {:.1} / max {:.1} ms vs {:.1} ms: {}",
            ms(r.p99),
            ms(r.max),
            ms(bound),
            if r.p99 <= bound && r.max <= bound {
                "met"
            } else {
                "**missed**"
            }
        )];
        match r.network {
            Network::Loopback => verdicts.push(format!(
                "{:.0}% of serial limit: {}",
                r.of_serial_limit() * 100.0,
                if r.of_serial_limit() >= 0.9 {
                    "met"
                } else {
                    "**missed**"
                }
            )),
            Network::Delayed => {
                if let Some(o) = theirs(r) {
                    let x = r.rps / o.rps;
                    verdicts.push(format!(
                        "{x:.2}x phpredis: {}",
                        if x >= 1.5 { "met" } else { "**missed**" }
                    ));
                }
            }
        }
        verdicts.push(format!(
            "lost {} failed {}: {}",
            r.lost,
            r.failed,
            if r.lost == 0 && r.failed == 0 {
                "met"
            } else {
                "**missed**"
            }
        ));
        let _ = writeln!(
            t,
            "- {} connections, {}: {}",
            r.connections,
            net(r.network),
            verdicts.join("; ")
        );
    }
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "Hand-off latency (store library, two requests taking turns on one session, 1 ms hold, 2 × 200 turns): from the holder's write+unlock reply to the next holder having the session data."
    );
    let _ = writeln!(t);
    let _ = writeln!(
        t,
        "| Redis | waiters | p50 ms | p99 ms | one round trip (PING p50) ms |"
    );
    let _ = writeln!(t, "|---|---|---:|---:|---:|");
    for h in handoffs {
        let _ = writeln!(
            t,
            "| {} | {} | {:.3} | {:.3} | {:.3} |",
            net(h.network),
            if h.queue {
                "queue, handed over"
            } else {
                "polling every 20 ms (lock_queue=0)"
            },
            ms(h.p50),
            ms(h.p99),
            ms(h.rtt)
        );
    }
    t
}
