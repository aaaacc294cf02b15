//! [`StoreStats`]: what a store has sent and waited for, counted where it happens.

/// What one store has done since it was made ([`SessionStore::stats`](super::SessionStore::stats)).
/// The PHP extension adds up its stores' counters per worker process and shows them in
/// `phpinfo()` (`php --ri phpsess`, the "This worker" table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
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
