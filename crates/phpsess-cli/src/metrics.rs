//! The Prometheus text exposition format (version 0.0.4) of a [`Census`], for `phpsess exporter`:
//! one family per figure, a `server` label per Redis, histograms with cumulative `le` buckets.

use std::fmt::Write;

use phpsess::store::{Bucket, Census};

/// What the exporter knows about its scans, besides the last census.
#[derive(Debug, Clone, Default)]
pub struct ScrapeState {
    /// The last successful census.
    pub census: Option<Census>,
    /// How long the last scan took, in seconds.
    pub scan_seconds: f64,
    /// Unix time of the last scan that succeeded.
    pub last_success_unix: u64,
    /// Scans that failed since the exporter started.
    pub errors: u64,
    /// Scans run since the exporter started.
    pub scans: u64,
    /// Whether the last scan succeeded.
    pub up: bool,
    /// The last scan's error, for the log.
    pub last_error: Option<String>,
}

/// Escape a label value: backslash, double quote and newline.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn histogram(out: &mut String, name: &str, server: &str, buckets: &[Bucket], sum: u64) {
    let mut cumulative = 0;
    for b in buckets {
        cumulative += b.count;
        let le = b.le.map_or("+Inf".to_owned(), |v| v.to_string());
        let _ = writeln!(
            out,
            "{name}_bucket{{server=\"{server}\",le=\"{le}\"}} {cumulative}"
        );
    }
    let _ = writeln!(out, "{name}_sum{{server=\"{server}\"}} {sum}");
    let _ = writeln!(out, "{name}_count{{server=\"{server}\"}} {cumulative}");
}

/// The whole `/metrics` page.
pub fn render(state: &ScrapeState) -> String {
    let mut out = String::with_capacity(8192);
    family(
        &mut out,
        "phpsess_up",
        "gauge",
        "1 when the last scan of the session store succeeded.",
    );
    let _ = writeln!(out, "phpsess_up {}", u8::from(state.up));
    family(
        &mut out,
        "phpsess_scans_total",
        "counter",
        "Scans of the session store since the exporter started.",
    );
    let _ = writeln!(out, "phpsess_scans_total {}", state.scans);
    family(
        &mut out,
        "phpsess_scan_errors_total",
        "counter",
        "Scans that failed since the exporter started.",
    );
    let _ = writeln!(out, "phpsess_scan_errors_total {}", state.errors);
    family(
        &mut out,
        "phpsess_scan_duration_seconds",
        "gauge",
        "How long the last scan took.",
    );
    let _ = writeln!(out, "phpsess_scan_duration_seconds {}", state.scan_seconds);
    family(
        &mut out,
        "phpsess_last_success_timestamp_seconds",
        "gauge",
        "Unix time of the last scan that succeeded.",
    );
    let _ = writeln!(
        out,
        "phpsess_last_success_timestamp_seconds {}",
        state.last_success_unix
    );
    let Some(census) = &state.census else {
        return out;
    };
    family(
        &mut out,
        "phpsess_estimated",
        "gauge",
        "1 when the figures come from a sample (--sample).",
    );
    let _ = writeln!(out, "phpsess_estimated {}", u8::from(census.estimated));

    type Figure = (
        &'static str,
        &'static str,
        &'static str,
        fn(&phpsess::store::ServerCensus) -> u64,
    );
    let figures: [Figure; 8] = [
        ("phpsess_sessions", "gauge", "Sessions in Redis.", |s| {
            s.tally.sessions
        }),
        (
            "phpsess_sessions_without_ttl",
            "gauge",
            "Sessions without a TTL (they never expire).",
            |s| s.tally.sessions_without_ttl,
        ),
        (
            "phpsess_locks_held",
            "gauge",
            "Session locks held at scan time.",
            |s| s.tally.locks_held,
        ),
        (
            "phpsess_foreign_keys",
            "gauge",
            "Keys under the session prefix that are not sessions, locks or indexes.",
            |s| s.tally.foreign_keys,
        ),
        (
            "phpsess_redis_used_memory_bytes",
            "gauge",
            "Redis used_memory.",
            |s| s.redis.used_memory,
        ),
        (
            "phpsess_redis_maxmemory_bytes",
            "gauge",
            "Redis maxmemory (0: no limit).",
            |s| s.redis.maxmemory,
        ),
        (
            "phpsess_redis_evicted_keys_total",
            "counter",
            "Redis evicted_keys.",
            |s| s.redis.evicted_keys,
        ),
        (
            "phpsess_redis_expired_keys_total",
            "counter",
            "Redis expired_keys.",
            |s| s.redis.expired_keys,
        ),
    ];
    for (name, kind, help, get) in figures {
        family(&mut out, name, kind, help);
        for s in &census.servers {
            let _ = writeln!(out, "{name}{{server=\"{}\"}} {}", label(&s.server), get(s));
        }
    }
    let name = "phpsess_lock_age_max_seconds";
    family(
        &mut out,
        name,
        "gauge",
        "How long the oldest session lock held at scan time has been held (exact for phpsess's locks; for others as if set to --lock-expire; 0 when none is known).",
    );
    for s in &census.servers {
        let age = s.tally.lock_age_max_ms.unwrap_or(0) as f64 / 1000.0;
        let _ = writeln!(out, "{name}{{server=\"{}\"}} {age}", label(&s.server));
    }
    if census
        .servers
        .iter()
        .any(|s| s.tally.memory_bytes.is_some())
    {
        let name = "phpsess_session_memory_bytes";
        family(
            &mut out,
            name,
            "gauge",
            "MEMORY USAGE of the sessions, added up (--memory).",
        );
        for s in &census.servers {
            let m = s.tally.memory_bytes.unwrap_or(0);
            let _ = writeln!(out, "{name}{{server=\"{}\"}} {m}", label(&s.server));
        }
    }
    family(
        &mut out,
        "phpsess_session_bytes",
        "histogram",
        "Sizes of the stored sessions.",
    );
    for s in &census.servers {
        let t = &s.tally;
        histogram(
            &mut out,
            "phpsess_session_bytes",
            &label(&s.server),
            &t.bytes.histogram,
            t.bytes.total,
        );
    }
    family(
        &mut out,
        "phpsess_session_ttl_seconds",
        "histogram",
        "Remaining lifetime of the sessions that have a TTL.",
    );
    for s in &census.servers {
        let t = &s.tally;
        histogram(
            &mut out,
            "phpsess_session_ttl_seconds",
            &label(&s.server),
            &t.ttl_seconds,
            t.ttl_sum_seconds,
        );
    }
    family(
        &mut out,
        "phpsess_redis_maxmemory_policy",
        "gauge",
        "1 for the server's maxmemory-policy.",
    );
    for s in &census.servers {
        let _ = writeln!(
            out,
            "phpsess_redis_maxmemory_policy{{server=\"{}\",policy=\"{}\"}} 1",
            label(&s.server),
            label(&s.redis.maxmemory_policy)
        );
    }
    // What the extension's workers published (phpsess.stats_interval), per web server.
    if let Some(first) = census.workers.values().next() {
        for (i, (name, _)) in first.fields().into_iter().enumerate() {
            // Prometheus wants base units: milliseconds are exported as seconds.
            let (base, scale) = match name.strip_suffix("_ms") {
                Some(stem) => (format!("{stem}_seconds"), 1000.0),
                None => (name.to_owned(), 1.0),
            };
            let metric = format!("phpsess_worker_{base}_total");
            family(
                &mut out,
                &metric,
                "counter",
                &format!("The extension's {name} counter, added up over a web server's workers."),
            );
            for (source, stats) in &census.workers {
                let _ = writeln!(
                    out,
                    "{metric}{{source=\"{}\"}} {}",
                    label(source),
                    stats.fields()[i].1 as f64 / scale
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn a_state_without_census_still_says_up() {
        let text = render(&ScrapeState::default());
        assert!(text.contains("phpsess_up 0\n"), "{text}");
        assert!(!text.contains("phpsess_sessions"), "{text}");
    }
}
