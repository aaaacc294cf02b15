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
    pub fn fields(&self) -> [(&'static str, u64); 9] {
        [
            ("reads", self.reads),
            ("round_trips", self.round_trips),
            ("commands", self.commands),
            ("connects", self.connects),
            ("lock_waits", self.lock_waits),
            ("lock_wait_ms", self.lock_wait_ms),
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
                "lock_losses" => &mut s.lock_losses,
                "errors" => &mut s.errors,
                "index_dropped" => &mut s.index_dropped,
                _ => continue,
            };
            *slot = slot.saturating_add(v);
        }
        s
    }
}
