//! [`StoreStats`]: what a store has sent and waited for, counted where it happens.

/// What one store has done since it was made ([`SessionStore::stats`](super::SessionStore::stats)).
/// The PHP extension adds up its stores' counters per worker process and shows them in
/// `phpinfo()` (`php --ri phpsess`, the "This worker" table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    /// Session reads (one per `session_start()`).
    pub reads: u64,
    /// Round trips to Redis (pipelines count once; connection handshakes count once).
    pub round_trips: u64,
    /// Commands sent.
    pub commands: u64,
    /// Connections opened.
    pub connects: u64,
    /// Reads that had to wait for another request's lock.
    pub lock_waits: u64,
    /// Total time spent waiting for locks, in milliseconds.
    pub lock_wait_ms: u64,
    /// Waits by how long they took: one counter per bound of [`LOCK_WAIT_BUCKETS_MS`] (a wait
    /// counts under the first bound it does not exceed), the last for longer ones.
    pub lock_wait_buckets: [u64; LOCK_WAIT_BUCKETS_MS.len() + 1],
    /// Waits that ended with the lock handed over by the request before (queue, no polling).
    pub lock_handoffs: u64,
    /// Waits that polled at least once because the holder will not hand the lock over
    /// (phpredis holds it) or the queue is off.
    pub lock_fallbacks: u64,
    /// Waits that gave up (`phpsess.lock_wait_timeout`) without the lock.
    pub lock_timeouts: u64,
    /// Writes refused because the lock was lost.
    pub lock_losses: u64,
    /// Operations that returned an error.
    pub errors: u64,
    /// User-index entries dropped because a user had more sessions than the index keeps
    /// (`phpsess.user_index_max`): those sessions still live but are no longer listed.
    pub index_dropped: u64,
}

impl StoreStats {
    /// Every counter by its stable name (the fields of the published hash, the exporter's
    /// metric names).
    pub fn fields(&self) -> [(&'static str, u64); 19] {
        let b = &self.lock_wait_buckets;
        [
            ("reads", self.reads),
            ("round_trips", self.round_trips),
            ("commands", self.commands),
            ("connects", self.connects),
            ("lock_waits", self.lock_waits),
            ("lock_wait_ms", self.lock_wait_ms),
            ("lock_handoffs", self.lock_handoffs),
            ("lock_fallbacks", self.lock_fallbacks),
            ("lock_timeouts", self.lock_timeouts),
            (WAIT_BUCKET_NAMES[0], b[0]),
            (WAIT_BUCKET_NAMES[1], b[1]),
            (WAIT_BUCKET_NAMES[2], b[2]),
            (WAIT_BUCKET_NAMES[3], b[3]),
            (WAIT_BUCKET_NAMES[4], b[4]),
            (WAIT_BUCKET_NAMES[5], b[5]),
            (WAIT_BUCKET_NAMES[6], b[6]),
            ("lock_losses", self.lock_losses),
            ("errors", self.errors),
            ("index_dropped", self.index_dropped),
        ]
    }

    /// Counters from `(name, value)` pairs as [`fields`](Self::fields) names them (unknown names
    /// are ignored, missing ones are 0).
    pub fn from_fields<'a>(pairs: impl IntoIterator<Item = (&'a str, u64)>) -> Self {
        let mut s = StoreStats::default();
        for (name, v) in pairs {
            let slot = match name {
                "reads" => &mut s.reads,
                "round_trips" => &mut s.round_trips,
                "commands" => &mut s.commands,
                "connects" => &mut s.connects,
                "lock_waits" => &mut s.lock_waits,
                "lock_wait_ms" => &mut s.lock_wait_ms,
                "lock_handoffs" => &mut s.lock_handoffs,
                "lock_fallbacks" => &mut s.lock_fallbacks,
                "lock_timeouts" => &mut s.lock_timeouts,
                "lock_losses" => &mut s.lock_losses,
                "errors" => &mut s.errors,
                "index_dropped" => &mut s.index_dropped,
                other => match WAIT_BUCKET_NAMES.iter().position(|n| *n == other) {
                    Some(i) => &mut s.lock_wait_buckets[i],
                    None => continue,
                },
            };
            *slot = slot.saturating_add(v);
        }
        s
    }
}

/// Upper bounds (ms) of the lock wait histogram [`StoreStats::lock_wait_buckets`].
pub const LOCK_WAIT_BUCKETS_MS: [u64; 6] = [2, 10, 50, 200, 1000, 5000];

/// The histogram's counters by name, as [`StoreStats::fields`] and `phpsess_stats()` name them.
pub const WAIT_BUCKET_NAMES: [&str; LOCK_WAIT_BUCKETS_MS.len() + 1] = [
    "lock_wait_le_2ms",
    "lock_wait_le_10ms",
    "lock_wait_le_50ms",
    "lock_wait_le_200ms",
    "lock_wait_le_1000ms",
    "lock_wait_le_5000ms",
    "lock_wait_gt_5000ms",
];

impl StoreStats {
    /// Count one wait for a lock that took `ms` milliseconds.
    pub(crate) fn lock_waited(&mut self, ms: u64) {
        self.lock_waits += 1;
        self.lock_wait_ms += ms;
        let i = LOCK_WAIT_BUCKETS_MS
            .iter()
            .position(|&b| ms <= b)
            .unwrap_or(LOCK_WAIT_BUCKETS_MS.len());
        self.lock_wait_buckets[i] += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_land_in_the_first_bucket_they_fit() {
        let mut s = StoreStats::default();
        for ms in [0, 2, 3, 5000, 5001] {
            s.lock_waited(ms);
        }
        assert_eq!(s.lock_wait_buckets, [2, 1, 0, 0, 0, 1, 1]);
        assert_eq!(s.lock_waits, 5);
        assert_eq!(s.lock_wait_ms, 10006);
    }

    #[test]
    fn every_counter_survives_its_fields() {
        let mut s = StoreStats::default();
        s.lock_waited(7);
        s.lock_handoffs = 3;
        s.lock_timeouts = 1;
        assert_eq!(StoreStats::from_fields(s.fields()), s);
    }
}
