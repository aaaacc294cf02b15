//! A closed-loop HTTP load generator: N connections, each a browser with its own session cookie
//! (or all with one, [`LoadSpec::shared_cookie`]: the parallel requests of one page), sending
//! requests back to back for a fixed time; reports requests/s and latency percentiles.
//!
//! Written here rather than using wrk or ab because each connection needs its own session (one
//! shared cookie would make every locked request wait for the previous one) and the benchmark
//! needs the same code path whatever the handler; it costs no extra system package.

use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::http::{HttpClient, Response};

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// nginx's "127.0.0.1:PORT".
    pub addr: String,
    /// Request path (with query), e.g. `/bench.php`.
    pub path: String,
    /// Concurrent connections, each with its own cookie jar.
    pub connections: usize,
    /// Requests before measuring starts (sessions created, connections and workers warm).
    pub warmup: Duration,
    /// How long to measure.
    pub duration: Duration,
    /// The text every successful response body starts with.
    pub expect_prefix: String,
    /// Every connection sends this cookie (`(name, value)`: one session for all) instead of
    /// keeping its own.
    pub shared_cookie: Option<(String, String)>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Successful requests that started and finished inside the measuring window.
    pub requests: u64,
    /// Failed requests in the window (I/O error, status != 200, unexpected body).
    pub errors: u64,
    /// The first failure, for the message.
    pub first_error: Option<String>,
    /// Length of the measuring window.
    pub elapsed: Duration,
    /// Latencies of the successful requests, sorted.
    pub latencies: Vec<Duration>,
    /// Successful requests in all, warm-up and stragglers after the window included (what a
    /// shared counter must have reached).
    pub all_ok: u64,
}

impl LoadReport {
    /// Successful requests per second.
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile latency (nearest rank), `p` in 0..=100.
    pub fn percentile(&self, p: f64) -> Duration {
        percentile(&self.latencies, p)
    }
}

/// Nearest-rank percentile of sorted samples (zero for none).
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    all_ok: u64,
}

fn check(result: std::io::Result<Response>, prefix: &str) -> Result<(), String> {
    let response = result.map_err(|e| format!("I/O error: {e}"))?;
    if response.status != 200 || !response.body.starts_with(prefix.as_bytes()) {
        let text = response.text();
        let head: String = text.chars().take(300).collect();
        return Err(format!("HTTP {}: {head}", response.status));
    }
    Ok(())
}

/// Runs the load and returns what it measured.
pub fn run(spec: &LoadSpec) -> LoadReport {
    assert!(spec.connections > 0, "at least one connection");
    let start_line = Arc::new(Barrier::new(spec.connections + 1));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut workers = Vec::with_capacity(spec.connections);
    // Every thread learns the window after the barrier, from this shared slot.
    let window: Arc<Mutex<Option<(Instant, Instant)>>> = Arc::new(Mutex::new(None));
    for i in 0..spec.connections {
        let spec = spec.clone();
        let start_line = Arc::clone(&start_line);
        let tally = Arc::clone(&tally);
        let window = Arc::clone(&window);
        let handle = thread::Builder::new()
            .name(format!("load-{i}"))
            .spawn(move || {
                let mut client = HttpClient::new(spec.addr.clone());
                if let Some((name, value)) = &spec.shared_cookie {
                    client.set_cookie(name, value);
                }
                let mut local = Tally::default();
                start_line.wait();
                let (from, until) = window
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .unwrap_or_else(|| {
                        let now = Instant::now();
                        (now, now)
                    });
                loop {
                    let sent = Instant::now();
                    if sent >= until {
                        break;
                    }
                    let result = check(client.get(&spec.path), &spec.expect_prefix);
                    let done = Instant::now();
                    if result.is_ok() {
                        local.all_ok += 1;
                    }
                    if sent < from {
                        // Warm-up; a failure here is still a failure.
                        if let Err(e) = result {
                            local.errors += 1;
                            local.first_error.get_or_insert(e);
                        }
                        continue;
                    }
                    if done > until {
                        break;
                    }
                    match result {
                        Ok(()) => {
                            local.requests += 1;
                            local.latencies.push(done - sent);
                        }
                        Err(e) => {
                            local.errors += 1;
                            local.first_error.get_or_insert(e);
                        }
                    }
                }
                let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                t.requests += local.requests;
                t.errors += local.errors;
                if t.first_error.is_none() {
                    t.first_error = local.first_error;
                }
                t.latencies.extend(local.latencies);
                t.all_ok += local.all_ok;
            })
            .unwrap_or_else(|e| panic!("cannot start a load thread: {e}"));
        workers.push(handle);
    }
    let from = Instant::now() + spec.warmup;
    *window.lock().unwrap_or_else(|p| p.into_inner()) = Some((from, from + spec.duration));
    start_line.wait();
    for w in workers {
        if w.join().is_err() {
            panic!("a load thread panicked");
        }
    }
    let mut t = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    t.latencies.sort_unstable();
    LoadReport {
        requests: t.requests,
        errors: t.errors,
        first_error: t.first_error,
        elapsed: spec.duration,
        latencies: t.latencies,
        all_ok: t.all_ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let ms = |n: u64| Duration::from_millis(n);
        let samples: Vec<Duration> = (1..=100).map(ms).collect();
        assert_eq!(percentile(&samples, 99.0), ms(99));
        assert_eq!(percentile(&samples, 50.0), ms(50));
        assert_eq!(percentile(&samples, 100.0), ms(100));
        assert_eq!(percentile(&samples, 0.0), ms(1));
        assert_eq!(percentile(&[ms(7)], 99.0), ms(7));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }
}
