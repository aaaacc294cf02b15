//! The Redis session store: phpredis's keys, host choice and lock protocol, so a fleet can mix
//! phpredis and phpsess, in fewer round trips and with safer defaults.
//!
//! ```no_run
//! use phpsess::store::{Endpoint, HostSpec, SessionStore, StoreOptions, Topology};
//! let topology = Topology::hosts(vec![HostSpec::new(Endpoint::tcp("127.0.0.1", 6379))])?;
//! let mut store = SessionStore::new(topology, StoreOptions::default());
//! let read = store.read("k3vq5ctk0nb0gq3s6bqvkbmc4m")?;          // lock + GET, one round trip
//! store.write("k3vq5ctk0nb0gq3s6bqvkbmc4m", b"user|i:42;")?;    // write + unlock, one round trip
//! # Ok::<(), phpsess::Error>(())
//! ```
//!
//! Layers, bottom up: [`Endpoint`] (one server and how to log in), [`Topology`] (which server
//! for an id or a key: a host list, a Redis Cluster, a Sentinel master), [`RawKeys`] (plain
//! commands on keys as given, which [`crate::laravel`] uses), and [`SessionStore`] (PHP's session
//! semantics: phpredis's keys, locks, compression) over that same layer, with the per-user index
//! ([`Binding`], [`SessionStore::user_sessions`], [`SessionStore::destroy_user_sessions`]).
//! Beside it, for ops: [`KeyScanner`] (every session key of every server, with size and TTL),
//! [`Tally`] (what a scan adds up to), [`ServerFacts`] (what a server says of itself) and
//! [`redis_checks`] (is it fit to hold sessions).

#[cfg(feature = "tokio")]
mod async_sentinel;
#[cfg(feature = "tokio")]
mod async_store;
mod census;
mod cluster;
mod codec;
mod config;
mod doctor;
mod endpoint;
#[cfg(feature = "encryption")]
mod envelope;
mod index_rebuild;
mod keys;
mod lock;
mod node;
mod pool;
mod protocol;
mod published;
mod raw_keys;
mod redact;
mod scan;
mod sentinel;
mod server_facts;
mod session_store;
mod shards;
mod stats;
mod topology;
mod user_index;

#[cfg(feature = "tokio")]
pub use async_store::{AsyncSessionStore, AsyncTopology, HeldSessionLock, LockedRead, NewSession};
pub use census::{
    AtRestCounts, Bucket, Census, HeldLock, ServerCensus, Sizes, Tally, MAX_LISTED, SIZE_BUCKETS,
    TTL_BUCKETS,
};
pub use cluster::{ClusterSpec, ReadFrom};
pub use codec::{Compression, TooLarge, DEFAULT_MAX_SESSION_BYTES};
pub use config::SENTINEL_SCHEME;
pub use doctor::{human_bytes, redis_checks, Check, Verdict};
pub use endpoint::{Endpoint, TlsFiles};
#[cfg(feature = "encryption")]
pub use envelope::{
    envelope_key_id, is_envelope, AtRestKey, Encryption, EncryptionMode, KeyError, KeyId, Opened,
    Rejection, SealError, KEY_LEN, OVERHEAD,
};
pub use index_rebuild::{user_from_value, user_in_session};
pub use keys::{
    hash_tag, invalid_id_reason, invalid_stored_id_reason, is_hashed_id, slot, SessionKey,
    DEFAULT_CLUSTER_PREFIX, DEFAULT_PREFIX, HASHED_ID_HEX, HASHED_ID_MARK, LOCK_SUFFIX, MAX_ID_LEN,
};
#[cfg(feature = "encryption")]
pub use keys::{IdHasher, ID_HASH_LABEL};
pub use lock::{
    host_name, lock_age_ms, lock_expiry_ms, LockOptions, LockToken, MAX_LOCK_EXPIRE, QUEUE_ALIVE,
    QUEUE_SLICE,
};
pub use pool::{StoreManager, StorePool};
pub use published::{stats_key, STATS_INFIX, STATS_TTL_SECS};
pub use raw_keys::{RawKeys, ValueAndTtl};
#[cfg(feature = "axum")]
pub(crate) use redact::short_id as short_session_id;
pub use scan::{
    classify, classify_as, KeyKind, KeyScanner, Naming, ScanEvent, ScanOptions, ScannedKey,
};
pub use sentinel::SentinelSpec;
pub use server_facts::ServerFacts;
pub use session_store::{ReadOutcome, SessionInfo, SessionStore, StoreOptions};
pub use shards::pick_host;
pub use stats::{StoreStats, LOCK_WAIT_BUCKETS_MS, WAIT_BUCKET_NAMES};
pub use topology::{HostSpec, ServerRef, Topology};
pub use user_index::{
    binding_key, index_key, invalid_user_reason, Binding, UserSession, DEFAULT_USER_INDEX_MAX,
    MAX_USER_LEN, SLACK_DIVISOR,
};
