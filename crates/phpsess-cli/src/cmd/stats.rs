//! `phpsess stats`: how many sessions, how big, how long they live, locks held, keys without TTL,
//! and each Redis's memory, limit, eviction policy and evictions — per server and in total, from
//! one SCAN of every server (never KEYS). `--json` gives the same figures under stable names
//! (README, "phpsess stats").

use std::io::IsTerminal;

use anyhow::Result;
use phpsess::store::{human_bytes, AtRestCounts, Bucket, Census, ScanOptions, ServerCensus, Tally};
use serde_json::json;

use crate::output;
use crate::progress::ScanProgress;
use crate::target::TargetArgs;

/// `phpsess stats [--save-path SP] [--cluster] [--json] [--sample N] [--memory] [--key-ids]`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Look up about N sessions per server instead of all (for very large instances): the
    /// figures are then estimates, and say so.
    #[arg(long, value_name = "N")]
    sample: Option<u64>,
    /// Keys per SCAN step (and per round trip).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    count: usize,
    /// Also ask Redis what each session costs it (`MEMORY USAGE`, overhead included): one more
    /// command per session, about a third more time.
    #[arg(long)]
    memory: bool,
    /// Also count sessions per encryption key id and unencrypted (`at_rest` in --json): reads
    /// each session's first 9 bytes, one more small command per session. Needs no key.
    #[arg(long)]
    key_ids: bool,
    /// The lifetime (seconds) that locks not set by phpsess were given — phpredis's
    /// `redis.session.lock_expire` (else `max_execution_time`), a Laravel route's `block()`
    /// seconds — to estimate how long they have been held. Default: PHP's settings, when read.
    /// (phpsess's own locks record their lifetime: their age is exact.)
    #[arg(long, value_name = "S")]
    lock_expire: Option<u64>,
    /// One JSON object: `estimated`, `servers` (each with `server`, `prefix`, the figures and
    /// `redis`), `total`.
    #[arg(long)]
    json: bool,
}

/// The lifetime to assume for locks that do not record theirs: `--lock-expire`, else phpredis's
/// own rule on PHP's settings when they were read (`redis.session.lock_expire`, else
/// `max_execution_time`; 0 is none).
pub fn assumed_lock_expire_ms(flag: Option<u64>, target: &crate::target::Target) -> Option<u64> {
    if let Some(s) = flag {
        return Some(s * 1000);
    }
    let php = target.php.as_ref()?;
    let secs = |name: &str| php.get(name).trim().parse::<u64>().ok().filter(|&s| s > 0);
    secs("redis.session.lock_expire")
        .or_else(|| secs("max_execution_time"))
        .map(|s| s * 1000)
}

pub fn run(args: Args) -> Result<()> {
    let target = args.target.resolve(false)?;
    let mut scanner = target.scanner()?;
    let options = ScanOptions::default()
        .with_count(args.count)
        .with_sample(args.sample)
        .with_memory(args.memory)
        .with_heads(args.key_ids)
        .with_assumed_lock_expire_ms(assumed_lock_expire_ms(args.lock_expire, &target));
    let census = take_census(&mut scanner, &options)?;
    if args.json {
        return output::json(&census_json(&census), true);
    }
    let bars = std::io::stdout().is_terminal();
    output::bytes(render(&census, bars).as_bytes())
}

/// A census with a progress bar on stderr.
pub fn take_census(
    scanner: &mut phpsess::store::KeyScanner,
    options: &ScanOptions,
) -> Result<Census> {
    let labels: Vec<String> = scanner.servers()?.iter().map(|s| s.label.clone()).collect();
    let mut progress = ScanProgress::new();
    let census = Census::take(scanner, options, |e| {
        progress.on_event(e, |i| labels.get(i).cloned().unwrap_or_default())
    });
    progress.finish();
    Ok(census?)
}

/// The JSON document of `stats --json`.
pub fn census_json(census: &Census) -> serde_json::Value {
    json!({
        "estimated": census.estimated,
        "servers": census.servers,
        "total": census.total,
    })
}

/// The text report; `bars` draws the distributions as histograms (on a terminal).
pub fn render(census: &Census, bars: bool) -> String {
    let mut s = String::new();
    let t = &census.total;
    let est = if census.estimated {
        " (estimated from a sample)"
    } else {
        ""
    };
    let memory = t.memory_bytes.map_or(String::new(), |m| {
        format!(" ({} in Redis's memory)", human_bytes(m))
    });
    s += &format!(
        "{} sessions{est}, {}{memory} on {} server{}\n\n",
        group(t.sessions),
        human_bytes(t.bytes.total),
        census.servers.len(),
        if census.servers.len() == 1 { "" } else { "s" }
    );
    s += &format!(
        "{:<28} {:>10} {:>7} {:>6} {:>10} {:>9} {:>9} {:>9} {:>9}\n",
        "server", "sessions", "no-TTL", "locks", "bytes", "p50", "p95", "p99", "max"
    );
    let row = |name: &str, t: &Tally| {
        format!(
            "{:<28} {:>10} {:>7} {:>6} {:>10} {:>9} {:>9} {:>9} {:>9}\n",
            name,
            group(t.sessions),
            group(t.sessions_without_ttl),
            t.locks_held,
            human_bytes(t.bytes.total),
            human_bytes(t.bytes.p50),
            human_bytes(t.bytes.p95),
            human_bytes(t.bytes.p99),
            human_bytes(t.bytes.max),
        )
    };
    for srv in &census.servers {
        s += &row(&srv.server, &srv.tally);
    }
    if census.servers.len() > 1 {
        s += &row("total", t);
    }
    s += "\n";
    for srv in &census.servers {
        s += &redis_line(srv);
    }
    if t.foreign_keys > 0 || t.user_index_keys > 0 {
        s += &format!(
            "\nunder the prefix but not sessions: {} per-user index keys, {} other keys{}\n",
            t.user_index_keys,
            t.foreign_keys,
            t.foreign_examples
                .first()
                .map_or(String::new(), |e| format!(" (e.g. {e})"))
        );
    }
    if let Some(a) = &t.at_rest {
        s += &at_rest_line(a);
    }
    if !t.locks.is_empty() {
        s += "\nlocks held:\n";
        for l in &t.locks {
            let secs = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
            let age = match (l.age_ms, l.age_from) {
                (Some(ms), Some("token")) => format!("held {}", secs(ms)),
                (Some(ms), _) => format!("held ~{}", secs(ms)),
                _ => "held ?".to_owned(),
            };
            s += &format!(
                "  {:<10} by {:<40} {age:<14} expires in {}\n",
                l.id,
                l.holder,
                l.ttl_ms.map_or("never (no TTL!)".to_owned(), secs)
            );
        }
        if t.locks.iter().any(|l| l.age_from != Some("token")) {
            s += "  (phpsess's locks record how long they were set for: their age is exact; \
                  ~ is as if the others were set for --lock-expire, ? is without it)\n";
        }
    }
    s += "\nsession size\n";
    s += &histogram(&t.bytes.histogram, bars, |le| {
        format!("<= {}", human_bytes(le))
    });
    s += "\nremaining lifetime\n";
    s += &histogram(&t.ttl_seconds, bars, duration);
    if t.sessions_without_ttl > 0 {
        s += &format!("  {:>12}  {}\n", "no TTL", group(t.sessions_without_ttl));
    }
    s
}

/// `at rest: 3 unencrypted, key id 3c4b1a2f: 120, key id 9e01aa7c: 4`: an old key id can be
/// dropped from `phpsess.previous_keys` once no session is left under it.
fn at_rest_line(a: &AtRestCounts) -> String {
    let mut parts = vec![format!("{} unencrypted", group(a.plaintext))];
    for (id, n) in &a.key_ids {
        parts.push(format!("key id {id}: {}", group(*n)));
    }
    if a.unknown_envelope > 0 {
        parts.push(format!(
            "{} of an unknown envelope version",
            group(a.unknown_envelope)
        ));
    }
    format!("\nat rest: {}\n", parts.join(", "))
}

fn redis_line(srv: &ServerCensus) -> String {
    let r = &srv.redis;
    let max = if r.maxmemory == 0 {
        "no maxmemory".to_owned()
    } else {
        format!("of {}", human_bytes(r.maxmemory))
    };
    let keyspace = r
        .keyspace
        .iter()
        .map(|(db, v)| format!("{db} {v}"))
        .collect::<Vec<_>>()
        .join("; ");
    format!(
        "{}: redis {} {}, memory {} {max}, {}, evicted {}, expired {}, {keyspace}\n",
        srv.server,
        r.version,
        r.role,
        human_bytes(r.used_memory),
        r.maxmemory_policy,
        group(r.evicted_keys),
        group(r.expired_keys),
    )
}

/// Buckets as lines; with `bars`, a bar of up to 40 cells scaled to the largest bucket.
fn histogram(buckets: &[Bucket], bars: bool, label: impl Fn(u64) -> String) -> String {
    let most = buckets.iter().map(|b| b.count).max().unwrap_or(0).max(1);
    let mut s = String::new();
    for (i, b) in buckets.iter().enumerate() {
        let name = match b.le {
            Some(le) => label(le),
            None => format!(
                "> {}",
                label(
                    buckets
                        .get(i.wrapping_sub(1))
                        .and_then(|p| p.le)
                        .unwrap_or(0)
                )
                .trim_start_matches("<= ")
            ),
        };
        let bar = if bars {
            let cells = (b.count * 40).div_ceil(most) as usize;
            format!("{:<40} ", "#".repeat(cells))
        } else {
            String::new()
        };
        s += &format!("  {name:>12}  {bar}{}\n", group(b.count));
    }
    s
}

fn duration(secs: u64) -> String {
    let text = match secs {
        s if s % 86_400 == 0 && s >= 86_400 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 && s >= 3600 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    };
    format!("<= {text}")
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1_000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn durations_use_the_largest_whole_unit() {
        assert_eq!(duration(60), "<= 1 min");
        assert_eq!(duration(14_400), "<= 4 h");
        assert_eq!(duration(604_800), "<= 7 d");
        assert_eq!(duration(90), "<= 90 s");
    }
}
