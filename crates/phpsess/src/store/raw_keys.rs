//! [`RawKeys`]: plain Redis commands on keys as given, over a [`Topology`]. No session ids, no
//! lock protocol, no phpredis compression: the layer for sessions whose keys someone else names
//! (Laravel's, in [`crate::laravel`]). [`SessionStore`](super::SessionStore) runs its own commands
//! over the same topology and counters, through [`SessionStore::raw_keys`](super::SessionStore::raw_keys).
//!
//! A key is routed by its own bytes: on a weighted host list the host its bytes pick (a Laravel
//! connection is one host, so that host), on Redis Cluster its slot, on Sentinel the master.

use redis::{Pipeline, Value};

use super::node::Op;
use super::redact::redact_key;
use super::stats::StoreStats;
use super::topology::Topology;
use crate::error::{Error, Result};

/// A raw key's value and its TTL in seconds (-1: no expiry), from [`RawKeys::get_with_ttl`].
pub type ValueAndTtl = (Vec<u8>, i64);

/// Plain commands on raw keys over one topology, with the connections it holds and the counters
/// of what was sent.
///
/// Not `Sync`: one per thread, like [`SessionStore`](super::SessionStore).
pub struct RawKeys {
    pub(super) topology: Topology,
    pub(super) stats: StoreStats,
}

impl RawKeys {
    /// Raw keys over `topology`. Opens no connection yet.
    pub fn new(topology: Topology) -> Self {
        RawKeys {
            topology,
            stats: StoreStats::default(),
        }
    }

    /// Counters since this was created.
    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// Where `key` lives, for messages (`tcp://10.0.0.5:6379`).
    pub fn host_of(&self, key: &[u8]) -> String {
        self.topology.label_for_key(key)
    }

    /// Forget connections (call in a child after fork).
    pub fn disconnect(&mut self) {
        self.topology.disconnect();
    }

    /// `GET` and `TTL` of `keys`, pipelined in one round trip to the host of the first key: per
    /// key, `None` when it does not exist, else the value and its TTL in seconds (-1: no expiry).
    pub fn get_many_with_ttl(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Option<ValueAndTtl>>> {
        let Some(first) = keys.first() else {
            return Ok(Vec::new());
        };
        let mut p = pipeline();
        for k in keys {
            p.cmd("GET").arg(k.as_slice());
            p.cmd("TTL").arg(k.as_slice());
        }
        let replies = self.run(first, &p, true, "get", first)?;
        let mut out = Vec::with_capacity(keys.len());
        for (i, key) in keys.iter().enumerate() {
            match (replies.get(2 * i), replies.get(2 * i + 1)) {
                (Some(Value::Nil), _) | (_, Some(Value::Int(-2))) => out.push(None),
                (Some(Value::BulkString(b)), Some(Value::Int(ttl))) => {
                    out.push(Some((b.clone(), *ttl)))
                }
                other => {
                    let detail = format!("unexpected replies {other:?}");
                    return Err(self.error(first, "get", key, detail, true));
                }
            }
        }
        Ok(out)
    }

    /// [`get_many_with_ttl`](Self::get_many_with_ttl) for one key.
    pub fn get_with_ttl(&mut self, key: &[u8]) -> Result<Option<ValueAndTtl>> {
        let mut got = self.get_many_with_ttl(&[key.to_vec()])?;
        Ok(got.pop().flatten())
    }

    /// Replace the value of `key` and keep its remaining TTL, atomically:
    /// `SET key value XX KEEPTTL` (Redis 6.0+). Returns false, having written nothing, when the key
    /// no longer exists (so an expired session is never brought back without an expiry).
    pub fn set_keep_ttl(&mut self, key: &[u8], value: &[u8]) -> Result<bool> {
        let mut p = pipeline();
        p.cmd("SET").arg(key).arg(value).arg("XX").arg("KEEPTTL");
        let replies = self.run(key, &p, false, "write", key)?;
        match replies.first() {
            Some(Value::Okay) => Ok(true),
            Some(Value::Nil) => Ok(false),
            other => {
                let detail = reply_text(other);
                Err(self.error(key, "write", key, detail, false))
            }
        }
    }

    /// `SETEX key ttl value` (at least 1 second).
    pub fn set_with_ttl(&mut self, key: &[u8], value: &[u8], ttl_secs: u64) -> Result<()> {
        let mut p = pipeline();
        p.cmd("SETEX").arg(key).arg(ttl_secs.max(1)).arg(value);
        let replies = self.run(key, &p, true, "write", key)?;
        match replies.first() {
            Some(Value::Okay) => Ok(()),
            other => {
                let detail = reply_text(other);
                Err(self.error(key, "write", key, detail, false))
            }
        }
    }

    /// `DEL` each of `keys`, pipelined in one round trip to the host of the first key: per key,
    /// whether it existed (and is now gone). All keys must live on that host (on Redis Cluster,
    /// in one slot); callers with keys spread out call this once per key.
    pub fn delete_many(&mut self, keys: &[Vec<u8>]) -> Result<Vec<bool>> {
        let Some(first) = keys.first() else {
            return Ok(Vec::new());
        };
        let mut p = pipeline();
        for k in keys {
            p.cmd("DEL").arg(k.as_slice());
        }
        // A repeated DEL deletes nothing more, so a retry after a lost reply is harmless; the
        // counts it reports then may undercount what the first attempt deleted.
        let replies = self.run(first, &p, true, "delete", first)?;
        keys.iter()
            .enumerate()
            .map(|(i, key)| match replies.get(i) {
                Some(Value::Int(n)) => Ok(*n > 0),
                other => {
                    let detail = reply_text(other);
                    Err(self.error(first, "delete", key, detail, true))
                }
            })
            .collect()
    }

    /// One `SCAN cursor MATCH pattern COUNT count` step: the next cursor (0 when done) and the keys
    /// found. Standalone servers and Sentinel masters only: on Redis Cluster a keyless SCAN would
    /// see one node, so it is refused rather than silently incomplete. On a host list, SCAN goes
    /// to the host the pattern's bytes pick.
    pub fn scan_step(
        &mut self,
        cursor: u64,
        pattern: &[u8],
        count: usize,
    ) -> Result<(u64, Vec<Vec<u8>>)> {
        if self.topology.is_cluster() {
            return Err(self.error(
                pattern,
                "scan",
                pattern,
                "SCAN is not supported on Redis Cluster here (it would see one node only)".into(),
                true,
            ));
        }
        let mut p = pipeline();
        p.cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(count.max(1));
        let replies = self.run(pattern, &p, true, "scan", pattern)?;
        let parsed = match replies.first() {
            Some(Value::Array(parts)) => match parts.as_slice() {
                [Value::BulkString(next), Value::Array(keys)] => std::str::from_utf8(next)
                    .ok()
                    .and_then(|n| n.parse::<u64>().ok())
                    .map(|n| {
                        let keys = keys
                            .iter()
                            .filter_map(|k| match k {
                                Value::BulkString(b) => Some(b.clone()),
                                _ => None,
                            })
                            .collect();
                        (n, keys)
                    }),
                _ => None,
            },
            _ => None,
        };
        parsed.ok_or_else(|| {
            let detail = format!("unexpected reply {:?}", replies.first());
            self.error(pattern, "scan", pattern, detail, true)
        })
    }

    /// Runs `p` on the connection that `route` (a key, or a SCAN pattern) picks. Messages name
    /// `key`, shortened where it contains the routing key's text (see [`shown`]).
    fn run(
        &mut self,
        route: &[u8],
        p: &Pipeline,
        retry_safe: bool,
        op: &'static str,
        key: &[u8],
    ) -> Result<Vec<Value>> {
        let shown = shown(route);
        let ctx = Op {
            op,
            key,
            id: &shown,
        };
        self.topology
            .run_for_key(route, p, retry_safe, &ctx, &mut self.stats)
    }

    fn error(
        &self,
        route: &[u8],
        op: &'static str,
        key: &[u8],
        detail: String,
        retry_safe: bool,
    ) -> Error {
        Error::Redis {
            host: self.topology.label_for_key(route),
            key: redact_key(key, &shown(route)),
            op,
            detail,
            retry_safe,
            source: None,
        }
    }
}

impl std::fmt::Debug for RawKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawKeys")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// A routing key as messages treat a session id: a raw key holds one (Laravel's key ends in the
/// session id, a credential), so it is shortened in messages as an id is.
fn shown(route: &[u8]) -> String {
    String::from_utf8_lossy(route).into_owned()
}

fn pipeline() -> Pipeline {
    let mut p = redis::pipe();
    p.ignore_errors();
    p
}

/// A reply we did not expect, for a message: error replies as Redis wrote them.
fn reply_text(reply: Option<&Value>) -> String {
    match reply {
        Some(Value::ServerError(e)) => super::endpoint::server_reply(e),
        other => format!("unexpected reply {other:?}"),
    }
}
