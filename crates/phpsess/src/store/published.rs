//! Worker counters published to Redis, so that the exporter can show the whole fleet: each store
//! adds the growth of its [`StoreStats`] since its last publish to the hash
//! `<prefix>_stats:<source>` (one per web server), at most once per interval, as `HINCRBY`s riding
//! in front of a pipeline the request sends anyway: no round trip of its own on a host list or
//! under Sentinel. On a cluster the hash has a slot of its own, so a publish costs one more
//! round trip, once per interval per worker. The hash expires a day after its last publish, so a
//! web server taken away leaves nothing behind.

use std::time::{Duration, Instant};

use redis::Pipeline;

use super::stats::StoreStats;

/// What comes between the prefix and the source in a counters key.
pub const STATS_INFIX: &[u8] = b"_stats:";

/// How long a counters hash outlives its last publish.
pub const STATS_TTL_SECS: u64 = 24 * 3600;

/// The counters key of `source` (a web server's name) under `prefix`.
pub fn stats_key(prefix: &[u8], source: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + STATS_INFIX.len() + source.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(STATS_INFIX);
    k.extend_from_slice(source.as_bytes());
    k
}

/// A store's publishing state.
#[derive(Debug, Clone)]
pub(crate) struct Publisher {
    pub source: String,
    pub every: Duration,
    pub last: Instant,
    /// The counters as last published.
    pub published: StoreStats,
}

impl Publisher {
    pub fn new(source: &str, every: Duration) -> Self {
        Publisher {
            source: source.to_owned(),
            every,
            // The first publish waits one interval: a worker that serves one request and exits
            // is not worth a write.
            last: Instant::now(),
            published: StoreStats::default(),
        }
    }

    /// The counters to send now, if the interval has passed and anything grew.
    pub fn due(&self, current: &StoreStats) -> Option<Vec<(&'static str, u64)>> {
        if self.last.elapsed() < self.every {
            return None;
        }
        let grown: Vec<_> = current
            .fields()
            .into_iter()
            .zip(self.published.fields())
            .filter_map(|((name, now), (_, before))| (now > before).then_some((name, now - before)))
            .collect();
        (!grown.is_empty()).then_some(grown)
    }

    /// Appends the `HINCRBY`s and the `EXPIRE` for `grown` to `p`; returns how many commands.
    pub fn push(&self, p: &mut Pipeline, key: &[u8], grown: &[(&'static str, u64)]) -> usize {
        for (name, n) in grown {
            p.cmd("HINCRBY").arg(key).arg(*name).arg(*n);
        }
        p.cmd("EXPIRE").arg(key).arg(STATS_TTL_SECS);
        grown.len() + 1
    }

    /// The counters in `current` are now published.
    pub fn sent(&mut self, current: StoreStats) {
        self.published = current;
        self.last = Instant::now();
    }
}
