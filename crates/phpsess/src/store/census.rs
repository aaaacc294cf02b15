//! [`Tally`]: what a scan found on one server or on all of them — sessions, their sizes and
//! remaining lifetimes, locks held, keys without a TTL, keys under the prefix that are not
//! sessions — the figures of `phpsess stats`, `doctor` and the exporter. Sizes are kept as an
//! exact count per distinct size, so percentiles are exact and memory stays bounded by the number
//! of distinct sizes (a few thousand), not by the number of sessions.

use std::collections::BTreeMap;

use super::redact::short_id;
use super::scan::{KeyKind, KeyScanner, ScanEvent, ScanOptions, ScannedKey};
use super::server_facts::ServerFacts;
use super::stats::StoreStats;
use crate::error::Result;

/// Upper bounds (inclusive) of the size histogram's buckets, in bytes; a last bucket takes the rest.
pub const SIZE_BUCKETS: [u64; 8] = [
    256,
    1 << 10,
    4 << 10,
    16 << 10,
    64 << 10,
    256 << 10,
    1 << 20,
    4 << 20,
];

/// Upper bounds (inclusive) of the remaining-lifetime histogram's buckets, in seconds (1 min,
/// 5 min, 15 min, 30 min, 1 h, 4 h, 1 day, 1 week); a last bucket takes the rest.
pub const TTL_BUCKETS: [u64; 8] = [60, 300, 900, 1800, 3600, 14_400, 86_400, 604_800];

/// At most this many locks and non-session keys are listed by name in a tally.
pub const MAX_LISTED: usize = 10;

/// One histogram bucket: values up to `le` (inclusive; `None` for the last, unbounded one).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bucket {
    /// Upper bound, inclusive (`null`: no bound).
    pub le: Option<u64>,
    /// Values in this bucket only (not cumulative).
    pub count: u64,
}

/// Session sizes: totals, exact percentiles and a histogram.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// Sum of the stored values' lengths.
    pub total: u64,
    /// Median size.
    pub p50: u64,
    /// 95th percentile.
    pub p95: u64,
    /// 99th percentile.
    pub p99: u64,
    /// Largest session.
    pub max: u64,
    /// Sessions per size bucket ([`SIZE_BUCKETS`]).
    pub histogram: Vec<Bucket>,
}

/// Sessions by how they are stored at rest (`phpsess stats --key-ids`): so an operator rotating
/// keys sees when no session is left under an old key id, and after `migrate` when no plaintext
/// is left.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct AtRestCounts {
    /// Sessions stored unencrypted.
    pub plaintext: u64,
    /// Encrypted sessions per key id (8 hex digits, as phpinfo and `phpsess show` name keys).
    pub key_ids: BTreeMap<String, u64>,
    /// Values that start like an envelope of another version, or are cut short.
    pub unknown_envelope: u64,
}

impl AtRestCounts {
    #[cfg(feature = "encryption")]
    fn add(&mut self, head: &[u8], weight: u64) {
        use super::envelope::{envelope_key_id, is_envelope};
        match envelope_key_id(head) {
            Some(id) => *self.key_ids.entry(id.to_string()).or_default() += weight,
            None if is_envelope(head) => self.unknown_envelope += weight,
            None => self.plaintext += weight,
        }
    }

    fn merge(&mut self, other: &AtRestCounts) {
        self.plaintext += other.plaintext;
        self.unknown_envelope += other.unknown_envelope;
        for (id, n) in &other.key_ids {
            *self.key_ids.entry(id.clone()).or_default() += n;
        }
    }
}

/// A lock held at scan time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeldLock {
    /// The session id, shortened (ids are credentials).
    pub id: String,
    /// The lock's value: `host|pid|…` of the request holding it.
    pub holder: String,
    /// Milliseconds until the lock expires by itself (`null`: never — a lock without TTL).
    pub ttl_ms: Option<u64>,
    /// How long it has been held, in milliseconds (`null`: unknown), see [`age_from`](Self::age_from).
    pub age_ms: Option<u64>,
    /// Where the age comes from: `"token"` (exact: a phpsess lock records the lifetime it was
    /// set with, and the age is that less `PTTL`), `"assumed_expire"` (an estimate: the lifetime
    /// given with `--lock-expire` less `PTTL`, for phpredis's and Laravel's locks), or `null`.
    pub age_from: Option<&'static str>,
}

impl HeldLock {
    /// The lock held by `holder` with `ttl_ms` left; `assumed_expire_ms` for a value that does not
    /// record its lifetime.
    pub fn new(
        id: String,
        holder: &[u8],
        ttl_ms: Option<u64>,
        assumed_expire_ms: Option<u64>,
    ) -> Self {
        let (age_ms, age_from) = match (
            super::lock::lock_age_ms(holder, ttl_ms),
            ttl_ms,
            assumed_expire_ms,
        ) {
            (Some(age), _, _) => (Some(age), Some("token")),
            // A lock living longer than assumed: the assumption is wrong, say nothing.
            (None, Some(ttl), Some(expire)) if ttl <= expire => {
                (Some(expire - ttl), Some("assumed_expire"))
            }
            _ => (None, None),
        };
        HeldLock {
            id,
            holder: String::from_utf8_lossy(holder).into_owned(),
            ttl_ms,
            age_ms,
            age_from,
        }
    }
}

/// What a scan found on one server, or on all.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Tally {
    /// Keys SCAN returned under the prefix (sessions, locks, indexes and the rest).
    pub keys_under_prefix: u64,
    /// Sessions (an estimate with sampling).
    pub sessions: u64,
    /// Sessions without a TTL: they never expire (a misconfiguration, or a foreign writer).
    pub sessions_without_ttl: u64,
    /// Sizes of the stored values.
    pub bytes: Sizes,
    /// `MEMORY USAGE` summed over the sessions (what Redis spends on them), when asked.
    pub memory_bytes: Option<u64>,
    /// Sessions per remaining-lifetime bucket ([`TTL_BUCKETS`]; sessions without TTL are not in it).
    pub ttl_seconds: Vec<Bucket>,
    /// The longest remaining lifetime of a session, in milliseconds.
    pub ttl_max_ms: u64,
    /// The remaining lifetimes of the sessions with a TTL, added up, in seconds.
    pub ttl_sum_seconds: u64,
    /// Locks held now.
    pub locks_held: u64,
    /// Up to [`MAX_LISTED`] of them, longest-lived first.
    pub locks: Vec<HeldLock>,
    /// The age of the oldest lock whose age is known ([`HeldLock::age_ms`]), over all locks,
    /// not only the listed ones.
    pub lock_age_max_ms: Option<u64>,
    /// Per-user index keys (`<prefix>_user:<user>`) and session-to-user bindings (`<prefix><id>_USER`).
    pub user_index_keys: u64,
    /// Keys of lock queues (waiters of contended sessions, short-lived).
    pub lock_queue_keys: u64,
    /// Counter hashes the extension's workers published (`<prefix>_stats:<source>`).
    pub worker_stats_keys: u64,
    /// Those hashes: (server index, key, source), read after the scan.
    #[serde(skip)]
    pub worker_stats: Vec<(usize, Vec<u8>, String)>,
    /// Keys under the prefix that are neither sessions, locks nor indexes.
    pub foreign_keys: u64,
    /// Up to [`MAX_LISTED`] of them, with why each is not a session.
    pub foreign_examples: Vec<String>,
    /// Sessions per key id and unencrypted ([`ScanOptions::heads`]); `None` when not asked.
    pub at_rest: Option<AtRestCounts>,
    #[serde(skip)]
    size_counts: BTreeMap<u64, u64>,
    #[serde(skip)]
    ttl_counts: Vec<u64>,
    /// [`ScanOptions::assumed_lock_expire_ms`], for the ages of locks that do not record theirs.
    #[serde(skip)]
    assumed_lock_expire_ms: Option<u64>,
}

impl Tally {
    /// Count one scanned key.
    pub fn add(&mut self, k: &ScannedKey) {
        match &k.kind {
            KeyKind::Session => {
                self.keys_under_prefix += k.weight;
                self.sessions += k.weight;
                *self.size_counts.entry(k.bytes).or_default() += k.weight;
                #[cfg(feature = "encryption")]
                if let Some(head) = &k.head {
                    self.at_rest
                        .get_or_insert_with(AtRestCounts::default)
                        .add(head, k.weight);
                }
                if let Some(m) = k.memory {
                    *self.memory_bytes.get_or_insert(0) += m * k.weight;
                }
                match k.ttl_ms {
                    None => self.sessions_without_ttl += k.weight,
                    Some(ms) => {
                        self.ttl_max_ms = self.ttl_max_ms.max(ms);
                        self.ttl_sum_seconds += ms.div_ceil(1000) * k.weight;
                        if self.ttl_counts.is_empty() {
                            self.ttl_counts = vec![0; TTL_BUCKETS.len() + 1];
                        }
                        let secs = ms.div_ceil(1000);
                        let i = TTL_BUCKETS
                            .iter()
                            .position(|&le| secs <= le)
                            .unwrap_or(TTL_BUCKETS.len());
                        self.ttl_counts[i] += k.weight;
                    }
                }
            }
            KeyKind::Lock => {
                self.keys_under_prefix += 1;
                self.locks_held += 1;
                let lock = HeldLock::new(
                    short_id(&k.id),
                    k.value.as_deref().unwrap_or_default(),
                    k.ttl_ms,
                    self.assumed_lock_expire_ms,
                );
                self.lock_age_max_ms = self.lock_age_max_ms.max(lock.age_ms);
                self.locks.push(lock);
                // Longest-lived first; no TTL (never expires) before all.
                self.locks
                    .sort_by_key(|l| std::cmp::Reverse(l.ttl_ms.unwrap_or(u64::MAX)));
                self.locks.truncate(MAX_LISTED);
            }
            KeyKind::UserIndex => {
                self.keys_under_prefix += 1;
                self.user_index_keys += 1;
            }
            KeyKind::LockQueue => {
                self.keys_under_prefix += 1;
                self.lock_queue_keys += 1;
            }
            KeyKind::WorkerStats => {
                self.keys_under_prefix += 1;
                self.worker_stats_keys += 1;
                self.worker_stats
                    .push((k.server, k.key.clone(), k.id.clone()));
            }
            KeyKind::Foreign(why) => {
                self.keys_under_prefix += 1;
                self.foreign_keys += 1;
                if self.foreign_examples.len() < MAX_LISTED {
                    self.foreign_examples
                        .push(format!("{}: {why}", String::from_utf8_lossy(&k.key)));
                }
            }
        }
    }

    /// Add another tally's counts to this one (per-server tallies into a total).
    pub fn merge(&mut self, other: &Tally) {
        self.keys_under_prefix += other.keys_under_prefix;
        self.sessions += other.sessions;
        self.sessions_without_ttl += other.sessions_without_ttl;
        self.ttl_max_ms = self.ttl_max_ms.max(other.ttl_max_ms);
        self.ttl_sum_seconds += other.ttl_sum_seconds;
        for (size, n) in &other.size_counts {
            *self.size_counts.entry(*size).or_default() += n;
        }
        if let Some(m) = other.memory_bytes {
            *self.memory_bytes.get_or_insert(0) += m;
        }
        if !other.ttl_counts.is_empty() {
            if self.ttl_counts.is_empty() {
                self.ttl_counts = vec![0; TTL_BUCKETS.len() + 1];
            }
            for (a, b) in self.ttl_counts.iter_mut().zip(&other.ttl_counts) {
                *a += b;
            }
        }
        self.locks_held += other.locks_held;
        self.lock_age_max_ms = self.lock_age_max_ms.max(other.lock_age_max_ms);
        self.locks.extend(other.locks.iter().cloned());
        self.locks
            .sort_by_key(|l| std::cmp::Reverse(l.ttl_ms.unwrap_or(u64::MAX)));
        self.locks.truncate(MAX_LISTED);
        self.user_index_keys += other.user_index_keys;
        self.worker_stats_keys += other.worker_stats_keys;
        self.lock_queue_keys += other.lock_queue_keys;
        self.worker_stats.extend(other.worker_stats.iter().cloned());
        if let Some(a) = &other.at_rest {
            self.at_rest
                .get_or_insert_with(AtRestCounts::default)
                .merge(a);
        }
        self.foreign_keys += other.foreign_keys;
        for e in &other.foreign_examples {
            if self.foreign_examples.len() < MAX_LISTED {
                self.foreign_examples.push(e.clone());
            }
        }
    }

    /// Work out the totals, percentiles and histograms from the counts (call after the last
    /// [`add`](Self::add) or [`merge`](Self::merge); calling it again is harmless).
    pub fn finish(&mut self) {
        let n: u64 = self.size_counts.values().sum();
        let mut sizes = Sizes {
            total: self.size_counts.iter().map(|(s, c)| s * c).sum(),
            max: self.size_counts.keys().next_back().copied().unwrap_or(0),
            ..Sizes::default()
        };
        // Nearest rank: the smallest size with at least ceil(p * n) sessions at or below it.
        let rank = |p: u64| (n * p).div_ceil(100).max(1);
        let (r50, r95, r99) = (rank(50), rank(95), rank(99));
        let mut seen = 0;
        let mut histogram = vec![0u64; SIZE_BUCKETS.len() + 1];
        for (&size, &count) in &self.size_counts {
            let before = seen;
            seen += count;
            for (r, slot) in [
                (r50, &mut sizes.p50),
                (r95, &mut sizes.p95),
                (r99, &mut sizes.p99),
            ] {
                if before < r && seen >= r {
                    *slot = size;
                }
            }
            let i = SIZE_BUCKETS
                .iter()
                .position(|&le| size <= le)
                .unwrap_or(SIZE_BUCKETS.len());
            histogram[i] += count;
        }
        sizes.histogram = buckets(&SIZE_BUCKETS, &histogram);
        self.bytes = sizes;
        let ttl = if self.ttl_counts.is_empty() {
            vec![0; TTL_BUCKETS.len() + 1]
        } else {
            self.ttl_counts.clone()
        };
        self.ttl_seconds = buckets(&TTL_BUCKETS, &ttl);
    }
}

/// One server's part of a [`Census`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServerCensus {
    /// The server (`tcp://10.0.0.5:6379`).
    pub server: String,
    /// Its session key prefix.
    pub prefix: String,
    /// What the scan found there.
    #[serde(flatten)]
    pub tally: Tally,
    /// What the server says of itself.
    pub redis: ServerFacts,
}

/// A whole store at one moment: each server's tally and facts, and the total.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Census {
    /// True when sessions were sampled (`ScanOptions::sample`): counts and sizes are estimates.
    pub estimated: bool,
    /// Per server, in topology order.
    pub servers: Vec<ServerCensus>,
    /// All servers together.
    pub total: Tally,
    /// The counters the extension's workers published, by source (web server), summed over
    /// the servers they were published to (see [`super::stats_key`]).
    pub workers: BTreeMap<String, StoreStats>,
}

impl Census {
    /// Scan every server of `scanner` and ask each for its facts. `on_event` sees every scan
    /// event (for a progress bar, or `top`'s own look-out for the largest sessions).
    pub fn take(
        scanner: &mut KeyScanner,
        options: &ScanOptions,
        mut on_event: impl FnMut(&ScanEvent<'_>),
    ) -> Result<Census> {
        let servers = scanner.servers()?.to_vec();
        let mut out = Vec::with_capacity(servers.len());
        let mut total = Tally::default();
        for (i, server) in servers.iter().enumerate() {
            let redis = ServerFacts::read(scanner, i)?;
            let mut tally = Tally {
                assumed_lock_expire_ms: options.assumed_lock_expire_ms,
                ..Tally::default()
            };
            scanner.scan_server(i, options, &mut |event: ScanEvent<'_>| {
                if let ScanEvent::Key(k) = &event {
                    tally.add(k);
                }
                on_event(&event);
            })?;
            tally.finish();
            total.merge(&tally);
            out.push(ServerCensus {
                server: server.label.clone(),
                prefix: String::from_utf8_lossy(&server.prefix).into_owned(),
                tally,
                redis,
            });
        }
        total.finish();
        let workers = read_worker_stats(scanner, &total.worker_stats)?;
        Ok(Census {
            estimated: options.sample.is_some(),
            servers: out,
            total,
            workers,
        })
    }
}

/// `HGETALL` of each published counters hash (one round trip per server), summed by source.
fn read_worker_stats(
    scanner: &mut KeyScanner,
    keys: &[(usize, Vec<u8>, String)],
) -> Result<BTreeMap<String, StoreStats>> {
    let mut out: BTreeMap<String, StoreStats> = BTreeMap::new();
    let mut servers: Vec<usize> = keys.iter().map(|k| k.0).collect();
    servers.sort_unstable();
    servers.dedup();
    for server in servers {
        let mine: Vec<_> = keys.iter().filter(|k| k.0 == server).collect();
        let mut p = redis::pipe();
        for (_, key, _) in &mine {
            p.cmd("HGETALL").arg(key.as_slice());
        }
        let replies = scanner.query(server, &p, "worker stats")?;
        for ((_, _, source), reply) in mine.iter().zip(replies) {
            let pairs = match reply {
                redis::Value::Array(items) => items,
                redis::Value::Map(items) => items.into_iter().flat_map(|(k, v)| [k, v]).collect(),
                _ => continue,
            };
            let text = |v: &redis::Value| match v {
                redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                _ => String::new(),
            };
            let fields: Vec<(String, u64)> = pairs
                .chunks(2)
                .filter_map(|c| Some((text(c.first()?), text(c.get(1)?).parse().ok()?)))
                .collect();
            let sum = out.entry(source.clone()).or_default();
            // from_fields adds up repeated names: the sum so far, then this server's hash.
            *sum = StoreStats::from_fields(
                sum.fields()
                    .into_iter()
                    .chain(fields.iter().map(|(k, v)| (k.as_str(), *v))),
            );
        }
    }
    Ok(out)
}

fn buckets(bounds: &[u64], counts: &[u64]) -> Vec<Bucket> {
    counts
        .iter()
        .enumerate()
        .map(|(i, &count)| Bucket {
            le: bounds.get(i).copied(),
            count,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(bytes: u64, ttl_ms: Option<u64>) -> ScannedKey {
        ScannedKey {
            server: 0,
            key: b"PHPREDIS_SESSION:abc".to_vec(),
            id: "abc".into(),
            kind: KeyKind::Session,
            bytes,
            memory: Some(bytes + 50),
            ttl_ms,
            weight: 1,
            value: None,
            head: None,
        }
    }

    #[test]
    fn percentiles_are_exact_nearest_rank() {
        let mut t = Tally::default();
        for b in 1..=100 {
            t.add(&session(b, Some(1_000)));
        }
        t.finish();
        assert_eq!(
            (t.bytes.p50, t.bytes.p95, t.bytes.p99, t.bytes.max),
            (50, 95, 99, 100)
        );
        assert_eq!(t.bytes.total, 5050);
        assert_eq!(t.memory_bytes, Some(5050 + 5000));
        assert_eq!(
            t.bytes.histogram[0],
            Bucket {
                le: Some(256),
                count: 100
            }
        );
        assert_eq!(
            t.ttl_seconds[0],
            Bucket {
                le: Some(60),
                count: 100
            }
        );
    }

    #[test]
    fn ttl_buckets_and_missing_ttls() {
        let mut t = Tally::default();
        t.add(&session(10, None));
        t.add(&session(10, Some(60_000)));
        t.add(&session(10, Some(60_001)));
        t.add(&session(10, Some(10_000_000_000)));
        t.finish();
        assert_eq!(t.sessions, 4);
        assert_eq!(t.sessions_without_ttl, 1);
        let counts: Vec<u64> = t.ttl_seconds.iter().map(|b| b.count).collect();
        assert_eq!(counts, [1, 1, 0, 0, 0, 0, 0, 0, 1]);
        assert_eq!(t.ttl_seconds[8].le, None);
    }

    #[test]
    fn a_locks_age_is_exact_from_its_token_and_estimated_otherwise() {
        let token = crate::store::LockToken::for_lock(30_000);
        let mine = HeldLock::new(
            "a".into(),
            token.as_str().as_bytes(),
            Some(29_000),
            Some(60_000),
        );
        assert_eq!((mine.age_ms, mine.age_from), (Some(1_000), Some("token")));
        let phpredis = HeldLock::new("b".into(), b"web01|42", Some(25_000), Some(30_000));
        assert_eq!(
            (phpredis.age_ms, phpredis.age_from),
            (Some(5_000), Some("assumed_expire"))
        );
        // No assumption, an assumption the lock outlives, no TTL: unknown.
        for (ttl, assumed) in [
            (Some(25_000), None),
            (Some(45_000), Some(30_000)),
            (None, Some(30_000)),
        ] {
            let l = HeldLock::new("c".into(), b"web01|42", ttl, assumed);
            assert_eq!((l.age_ms, l.age_from), (None, None), "{ttl:?} {assumed:?}");
        }
    }

    #[test]
    fn an_empty_tally_is_all_zeros() {
        let mut t = Tally::default();
        t.finish();
        assert_eq!(t.bytes.p99, 0);
        assert_eq!(t.bytes.histogram.len(), SIZE_BUCKETS.len() + 1);
    }
}
