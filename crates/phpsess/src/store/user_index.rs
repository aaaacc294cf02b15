//! Whose sessions are these: a per-user index kept next to the sessions, so that a user's sessions
//! can be listed and ended without reading every session.
//!
//! Two kinds of keys, both beside phpredis's:
//! - the **binding** `<prefix><id>_USER` (`{<prefix><id>}_USER` on a cluster, in the session's
//!   slot): which user session `id` belongs to, with the session's TTL plus a slack
//!   ([`SLACK_DIVISOR`]). A request reads it (and its PTTL) in the same pipeline as the session,
//!   so it learns the old user without decoding anything, and whether it was refreshed recently.
//! - the **index** `<prefix>_user:<user>`: a sorted set of session ids scored by their expiry plus
//!   the slack (unix seconds). A write or TTL refresh of a bound session re-scores its entry and
//!   drops expired ones, unless the binding is unchanged and was refreshed less than a slack ago;
//!   so an entry outlives its session by at most a slack and goes at the user's next
//!   bookkeeping write, and the key itself expires with the user's last session. At most
//!   [`DEFAULT_USER_INDEX_MAX`] entries (settable) per user: the ones that expire first are dropped
//!   and counted ([`super::StoreStats::index_dropped`]).
//!
//! Neither can ever be a session key: ids are 1–256 bytes of `[A-Za-z0-9,-]` (checked before any
//! command, [`super::invalid_id_reason`]), stored ids are `h.` and hex, and both names hold a
//! `_`, which neither can. With hashed ids the index holds stored ids, never session ids.
//!
//! On a host list each host keeps the index of the sessions it holds, so the index update rides
//! in the session's own write script (no extra round trip) and listing a user asks every host.
//! On a cluster the index is one key in its own slot, updated by one more pipelined command after
//! the session's write succeeded; the binding stays in the write script.

use std::time::{SystemTime, UNIX_EPOCH};

use redis::{Pipeline, Value};

use super::keys::{SessionKey, LOCK_SUFFIX};
use super::lock::{
    hand_off, stored_msg, touch_and_unlock_body, touch_if_unlocked_body, unlock_body,
    write_and_unlock_body, write_if_unlocked_body,
};
use super::node::Op;
use super::protocol::{push_script, ScriptPipeline};
use super::session_store::{pipeline, SessionStore, StoreOptions};
use super::topology::Place;
use crate::error::Result;

/// The binding and the index entry of a session live this much longer than the session (its TTL
/// divided by this: a minute at PHP's default 1440 s), so that requests within that time of the
/// last refresh need not refresh them again: an active session costs the index's bookkeeping once
/// a minute, not on every request. An entry outlives its session by at most that much, then goes
/// at the user's next write; listings skip sessions that are gone at once.
pub const SLACK_DIVISOR: u64 = 24;

/// The most sessions the index keeps per user by default (`phpsess.user_index_max`).
pub const DEFAULT_USER_INDEX_MAX: usize = 100;

/// Suffix of the binding key, after the session key (or its hash-tagged form on a cluster).
pub const BINDING_SUFFIX: &[u8] = b"_USER";

/// What comes between the prefix and the user in an index key.
pub const INDEX_INFIX: &[u8] = b"_user:";

/// The longest user id accepted (longer ones are refused rather than making huge keys).
pub const MAX_USER_LEN: usize = 256;

/// Who a session belongs to, as stored in its binding key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The user id's bytes (an int user id in decimal).
    pub user: Vec<u8>,
    /// Bound by an explicit call (`phpsess_set_user()`), not found in the session data: kept on
    /// later writes until unbound, whatever the data holds.
    pub explicit: bool,
}

impl Binding {
    /// A binding to `user` found in the session data (`phpsess.user_key`).
    pub fn from_data(user: impl Into<Vec<u8>>) -> Self {
        Binding {
            user: user.into(),
            explicit: false,
        }
    }

    /// A binding made explicitly (`phpsess_set_user()`).
    pub fn explicit(user: impl Into<Vec<u8>>) -> Self {
        Binding {
            user: user.into(),
            explicit: true,
        }
    }

    /// The stored form: `x:<user>` (explicit) or `k:<user>` (from the data), readable in
    /// `redis-cli`.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.user.len() + 2);
        v.extend_from_slice(if self.explicit { b"x:" } else { b"k:" });
        v.extend_from_slice(&self.user);
        v
    }

    pub(crate) fn decode(stored: &[u8]) -> Option<Binding> {
        match stored {
            [b'x', b':', user @ ..] if !user.is_empty() => Some(Binding::explicit(user)),
            [b'k', b':', user @ ..] if !user.is_empty() => Some(Binding::from_data(user)),
            _ => None,
        }
    }
}

/// Why `user` cannot be a user id, or `None` when it can: 1 to [`MAX_USER_LEN`] bytes.
pub fn invalid_user_reason(user: &[u8]) -> Option<&'static str> {
    if user.is_empty() {
        Some("the user id is empty")
    } else if user.len() > MAX_USER_LEN {
        Some("the user id is longer than 256 bytes")
    } else {
        None
    }
}

/// The binding key of a session: its lock key with `_USER` for `_LOCK`, so it shares the lock's
/// slot on a cluster.
pub fn binding_key(key: &SessionKey) -> Vec<u8> {
    let base = key.lock.strip_suffix(LOCK_SUFFIX).unwrap_or(&key.lock);
    let mut k = Vec::with_capacity(base.len() + BINDING_SUFFIX.len());
    k.extend_from_slice(base);
    k.extend_from_slice(BINDING_SUFFIX);
    k
}

/// The index key of `user` under `prefix`.
pub fn index_key(prefix: &[u8], user: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(prefix.len() + INDEX_INFIX.len() + user.len());
    k.extend_from_slice(prefix);
    k.extend_from_slice(INDEX_INFIX);
    k.extend_from_slice(user);
    k
}

/// One of a user's sessions, as [`SessionStore::user_sessions`] lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserSession {
    /// The session id; with hashed ids (`StoreOptions::with_hash_ids`) its stored id
    /// (`h.…`), which [`SessionStore::kill`] and `except` accept as well.
    pub id: String,
    /// Seconds to live (-1: no expiry).
    pub ttl: i64,
    /// Stored size in bytes (compressed, if compression is on).
    pub bytes: u64,
    /// The host the session lives on, as written in the save_path.
    pub host: String,
    /// Who holds the session's lock now, if anyone (`host|pid|…`).
    pub lock_holder: Option<String>,
}

// The bookkeeping after a script's own work. The last five ARGV: the binding's stored form, the
// id, the TTL, the index bound, and flags: `e` first check the session still exists (a TTL
// refresh; a write has just stored it), `u` delete the binding, `b` set it, `o` remove the id
// from the old user's index KEYS[5], `n` add it to the new user's index KEYS[4]. KEYS[3] is the
// binding. On a cluster only `u`/`b` are sent (KEYS[4], KEYS[5] live in other slots).
macro_rules! bind_tail {
    () => {
        concat!(
            r#"
local n = #ARGV
local bind, id, ttl, max, flags = ARGV[n-4], ARGV[n-3], tonumber(ARGV[n-2]), tonumber(ARGV[n-1]), ARGV[n]
if string.find(flags, 'e', 1, true) and redis.call('EXISTS', KEYS[1]) == 0 then
  -- A TTL refresh of a session that is gone (ended by someone else): nothing to bind.
  flags = string.gsub(flags, '[bn]', '')
end
local slack = math.floor(ttl / 24)
if string.find(flags, 'u', 1, true) then redis.call('DEL', KEYS[3]) end
if string.find(flags, 'b', 1, true) then redis.call('SETEX', KEYS[3], ttl + slack, bind) end
if string.find(flags, 'o', 1, true) then redis.call('ZREM', KEYS[5], id) end
local dropped = 0
if string.find(flags, 'n', 1, true) then
  local ikey = KEYS[4]
"#,
            index_add_body!(),
            r#"
end
return {1, dropped}
"#
        )
    };
}

// Re-score `id` in index `ikey` (expiry = server time + ttl + slack), drop expired entries, keep
// at most `max` (the ones expiring first go, counted in `dropped`), and keep the key alive as long
// as its longest-lived entry, with room to spare so that EXPIRE is not sent on every write. The
// slack (ttl / 24: a minute at PHP's default 1440 s) lets a request skip the whole bookkeeping
// when its session's binding was refreshed less than a slack ago (see `SessionStore::read`).
macro_rules! index_add_body {
    () => {
        r#"
  local now, slack = tonumber(redis.call('TIME')[1]), math.floor(ttl / 24)
  redis.call('ZREMRANGEBYSCORE', ikey, '-inf', now)
  if redis.call('ZADD', ikey, now + ttl + slack, id) == 1 then
    -- Only a new entry can take the set over its bound.
    local size = redis.call('ZCARD', ikey)
    if size > max then
      dropped = size - max
      redis.call('ZPOPMIN', ikey, dropped)
    end
  end
  if redis.call('TTL', ikey) < ttl + slack then redis.call('EXPIRE', ikey, ttl + 2 * slack + 60) end
"#
    };
}

pub(crate) use index_add_body;

/// WRITE_AND_UNLOCK, then the bookkeeping (KEYS data, lock, binding[, new index, old index]).
pub(crate) const WRITE_AND_UNLOCK_BOUND: &str = concat!(write_and_unlock_body!(), bind_tail!());
/// TOUCH_AND_UNLOCK, then the bookkeeping.
pub(crate) const TOUCH_AND_UNLOCK_BOUND: &str = concat!(touch_and_unlock_body!(), bind_tail!());
/// WRITE_IF_UNLOCKED, then the bookkeeping.
pub(crate) const WRITE_IF_UNLOCKED_BOUND: &str = concat!(write_if_unlocked_body!(), bind_tail!());
/// TOUCH_IF_UNLOCKED, then the bookkeeping.
pub(crate) const TOUCH_IF_UNLOCKED_BOUND: &str = concat!(touch_if_unlocked_body!(), bind_tail!());
/// SETEX without locking (ARGV[1] ttl, ARGV[2] data), then the bookkeeping.
pub(crate) const SET_BOUND: &str = concat!(
    "redis.call('SETEX', KEYS[1], ARGV[1], ARGV[2])\n",
    bind_tail!()
);
/// EXPIRE without locking (ARGV[1] ttl), then the bookkeeping.
pub(crate) const TOUCH_BOUND: &str =
    concat!("redis.call('EXPIRE', KEYS[1], ARGV[1])\n", bind_tail!());
/// Unlock (ARGV[1] token, refused with the holder when it is not ours), then the bookkeeping:
/// an unchanged session whose TTL the read already refreshed.
pub(crate) const UNLOCK_BOUND: &str = concat!(unlock_body!(), bind_tail!());
/// The bookkeeping alone (an unlocked, unchanged session whose TTL the read already refreshed).
pub(crate) const BIND_ONLY: &str = bind_tail!();

/// A cluster's index update, after the session's write: KEYS[1] index; ARGV id, ttl, max.
/// Returns how many entries were dropped for the bound.
pub(crate) const INDEX_ADD: &str = concat!(
    r#"
local ikey, id, ttl, max = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local dropped = 0
"#,
    index_add_body!(),
    "return dropped\n"
);

/// End a session so it stays ended: delete data, lock (whoever holds it, so an in-flight request's
/// final write is refused) and binding. KEYS data, lock, binding. Returns {data keys deleted,
/// the binding's stored form or false}.
pub(crate) const KILL: &str = r#"
local bind = redis.call('GET', KEYS[3])
local gone = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2], KEYS[3])
return {gone, bind}
"#;

/// Every script of this module, for the cluster (which sends EVAL, not EVALSHA).
pub(crate) const SCRIPTS: [&str; 10] = [
    WRITE_AND_UNLOCK_BOUND,
    TOUCH_AND_UNLOCK_BOUND,
    WRITE_IF_UNLOCKED_BOUND,
    TOUCH_IF_UNLOCKED_BOUND,
    SET_BOUND,
    TOUCH_BOUND,
    UNLOCK_BOUND,
    BIND_ONLY,
    INDEX_ADD,
    KILL,
];

/// What a write or TTL refresh does to a session's binding and index entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct BindChange {
    /// The stored form of the new binding (empty when unbinding).
    pub bind: Vec<u8>,
    /// `u`, `b`, `o`, `n` as in the scripts' tail.
    pub flags: String,
    /// The new user's index key, when `n`.
    pub new_index: Option<Vec<u8>>,
    /// The old user's index key, when `o`.
    pub old_index: Option<Vec<u8>>,
}

impl BindChange {
    /// From the binding read (`old`) to the one to store (`new`); `None` when there is nothing
    /// to do (unbound before and after). `prefix` is the prefix of the host holding the session.
    pub fn between(old: Option<&Binding>, new: Option<&Binding>, prefix: &[u8]) -> Option<Self> {
        let mut change = BindChange::default();
        match new {
            Some(b) => {
                change.bind = b.encode();
                change.flags.push_str("bn");
                change.new_index = Some(index_key(prefix, &b.user));
            }
            None if old.is_some() => change.flags.push('u'),
            None => return None,
        }
        if let Some(o) = old {
            if new.map(|n| &n.user) != Some(&o.user) {
                change.flags.push('o');
                change.old_index = Some(index_key(prefix, &o.user));
            }
        }
        Some(change)
    }

    /// The flags the session's own script may act on: all of them on a host list, the binding's
    /// only on a cluster (the index keys are in other slots).
    pub fn script_flags(&self, cluster: bool, refresh: bool) -> String {
        let mut flags: String = if cluster {
            self.flags
                .chars()
                .filter(|c| matches!(c, 'u' | 'b'))
                .collect()
        } else {
            self.flags.clone()
        };
        if refresh {
            flags.push('e');
        }
        flags
    }
}

/// The binding read with a session: its reply `binding` and the binding key's PTTL `pttl_ms`
/// (the two replies [`super::protocol::push_read`] adds). Also whether it was refreshed less than
/// a slack ago: set to ttl + slack at its last refresh, more than `ttl_secs` left means so.
pub(crate) fn read_binding(
    binding: Option<&Value>,
    pttl_ms: Option<&Value>,
    ttl_secs: u64,
) -> (Option<Binding>, bool) {
    let binding = match binding {
        Some(Value::BulkString(b)) => Binding::decode(b),
        _ => None,
    };
    let fresh = matches!(pttl_ms, Some(Value::Int(ms))
        if binding.is_some() && *ms > 0 && (*ms as u64) > ttl_secs * 1000);
    (binding, fresh)
}

/// What a write or TTL refresh changes in a session's binding and index: from the binding
/// read (`old`) to `next` (`None`: no new choice, the binding read stays and is refreshed).
/// `None` when there is nothing to do: unbound, or unchanged and refreshed less than a slack ago
/// (`fresh`: binding and entry outlive the session's new expiry already). With the change comes
/// the binding stored afterwards. `prefix` is the prefix of the place holding the session.
pub(crate) fn bind_change(
    old: Option<&Binding>,
    next: Option<Option<&Binding>>,
    fresh: bool,
    prefix: &[u8],
) -> Option<(BindChange, Option<Binding>)> {
    let new = next.unwrap_or(old);
    if old == new && fresh {
        return None;
    }
    BindChange::between(old, new, prefix).map(|c| (c, new.cloned()))
}

/// The script for an operation on `key`: `scripts.0` as it is (no `change`), or `scripts.1`
/// (its user-index variant) with the binding key, the index keys (host lists only: on a cluster
/// they live in other slots) and the bookkeeping arguments after `args`.
pub(crate) fn session_script(
    options: &StoreOptions,
    cluster: bool,
    id: &str,
    key: &SessionKey,
    scripts: (&'static str, &'static str),
    args: &[&[u8]],
    change: Option<&BindChange>,
) -> ScriptPipeline {
    let Some(change) = change else {
        return push_script(pipeline(), scripts.0, &[&key.data, &key.lock], args);
    };
    let binding = binding_key(key);
    let mut keys: Vec<&[u8]> = vec![&key.data, &key.lock, &binding];
    if !cluster {
        // KEYS[4] new index, KEYS[5] old index; a missing one repeats the other (unused).
        let new = change.new_index.as_deref().or(change.old_index.as_deref());
        let old = change.old_index.as_deref().or(change.new_index.as_deref());
        if let (Some(new), Some(old)) = (new, old) {
            keys.push(new);
            keys.push(old);
        }
    }
    let ttl = options.ttl_secs().to_string();
    let max = options.user_index_max.to_string();
    // A write stores the session itself; a TTL refresh must first see it still exists.
    // Compared by content: a `const` has no one address (each use may get its own copy).
    let write = [WRITE_AND_UNLOCK_BOUND, WRITE_IF_UNLOCKED_BOUND, SET_BOUND].contains(&scripts.1);
    let flags = change.script_flags(cluster, !write);
    let mut all: Vec<&[u8]> = args.to_vec();
    all.extend_from_slice(&[
        &change.bind,
        id.as_bytes(),
        ttl.as_bytes(),
        max.as_bytes(),
        flags.as_bytes(),
    ]);
    push_script(pipeline(), scripts.1, &keys, &all)
}

/// On a cluster, the index update that follows a write or refresh carrying `change` (the index
/// keys live in their own slots, not the session's): `ZREM` from the old user's index, then
/// [`INDEX_ADD`] to the new one's, whose reply is how many entries the bound dropped. Each with
/// the key messages may name. Empty on a host list, where the session's own script did it all.
/// The blocking store sends them as one pipelined batch (its cluster layer splits it by node);
/// redis-rs's async cluster refuses a pipeline across slots, so the async store sends each alone.
pub(crate) fn cluster_index_updates(
    options: &StoreOptions,
    cluster: bool,
    id: &str,
    change: &BindChange,
) -> Vec<(Vec<u8>, redis::Cmd)> {
    if !cluster {
        return Vec::new();
    }
    let mut out = Vec::new();
    if let Some(old) = &change.old_index {
        let mut c = redis::cmd("ZREM");
        c.arg(old).arg(id);
        out.push((old.clone(), c));
    }
    if let Some(new) = &change.new_index {
        let mut c = redis::cmd("EVAL");
        c.arg(INDEX_ADD)
            .arg(1)
            .arg(new)
            .arg(id)
            .arg(options.ttl_secs())
            .arg(options.user_index_max);
        out.push((new.clone(), c));
    }
    out
}

/// Seconds since the epoch (the index scores; Redis's own clock is used inside the scripts).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

impl SessionStore {
    /// The index keys of `user`: one per host of a host list, one for a cluster or Sentinel.
    fn index_places(&self, user: &[u8]) -> Vec<(Place, Vec<u8>)> {
        self.raw
            .topology
            .places()
            .into_iter()
            .map(|(place, prefix)| (place, index_key(&prefix, user)))
            .collect()
    }

    /// The live session ids in `user`'s index (expired entries skipped), with the place and
    /// index key each came from. One round trip per host (one in all on a cluster).
    fn indexed_ids(&mut self, user: &[u8]) -> Result<Vec<(Place, Vec<u8>, String)>> {
        if let Some(reason) = invalid_user_reason(user) {
            return Err(crate::Error::Setting {
                name: "user".into(),
                reason: reason.into(),
            });
        }
        let now = unix_now();
        let mut out = Vec::new();
        for (place, ikey) in self.index_places(user) {
            let mut p = pipeline();
            p.cmd("ZRANGEBYSCORE")
                .arg(&ikey)
                .arg(format!("({now}"))
                .arg("+inf");
            let replies = self.run_at(place, &ikey, &p, true, "user index", &ikey)?;
            if let Some(Value::Array(ids)) = replies.first() {
                for v in ids {
                    // Entries come back from Redis, where anyone with access can add one: only
                    // session ids (or stored ids) name a session; `x_LOCK` would name a lock.
                    if let Value::BulkString(id) = v {
                        if super::keys::invalid_stored_id_reason(id).is_some() {
                            continue;
                        }
                        if let Ok(id) = String::from_utf8(id.clone()) {
                            out.push((place, ikey.clone(), id));
                        }
                    }
                }
            } else if let Some(Value::ServerError(e)) = replies.first() {
                let detail = super::session_store::server_error_text(e);
                let host = self.raw.topology.place_label(place, &ikey);
                return Err(crate::Error::Redis {
                    host,
                    key: String::from_utf8_lossy(&ikey).into_owned(),
                    op: "user index",
                    detail,
                    retry_safe: true,
                    source: None,
                });
            }
        }
        Ok(out)
    }

    /// The sessions of `user` from the index: id, TTL, stored bytes, host and lock holder. One
    /// round trip per host for the index, then one pipelined batch (per host; per slot group on a
    /// cluster) for the sessions. Sessions that ended since their last write are left out.
    pub fn user_sessions(&mut self, user: &[u8]) -> Result<Vec<UserSession>> {
        let ids = self.indexed_ids(user)?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in group_by_route(&ids) {
            let place = chunk[0].0;
            let mut p = pipeline();
            for (_, _, id) in &chunk {
                let key = self.key(id);
                p.cmd("TTL").arg(&key.data);
                p.cmd("STRLEN").arg(&key.data);
                p.cmd("GET").arg(&key.lock);
            }
            let first = &chunk[0].2;
            let key = self.key(first);
            let replies = self.run_at(
                place,
                first.as_bytes(),
                &p,
                true,
                "user sessions",
                &key.data,
            )?;
            for (i, (_, _, id)) in chunk.iter().enumerate() {
                let ttl = match replies.get(i * 3) {
                    Some(Value::Int(t)) => *t,
                    _ => -2,
                };
                if ttl == -2 {
                    continue;
                }
                let bytes = match replies.get(i * 3 + 1) {
                    Some(Value::Int(b)) => (*b).max(0) as u64,
                    _ => 0,
                };
                let lock_holder = match replies.get(i * 3 + 2) {
                    Some(Value::BulkString(h)) => Some(super::redact::printable(h)),
                    _ => None,
                };
                out.push(UserSession {
                    id: id.clone(),
                    ttl,
                    bytes,
                    host: self.host_of(id),
                    lock_holder,
                });
            }
        }
        Ok(out)
    }

    /// End every session of `user` but `except`: data, lock (so a request in flight on one cannot
    /// write it back: its fenced write finds the lock gone and is refused) and binding deleted,
    /// index entries removed. Returns the ids whose session existed and was deleted.
    pub fn destroy_user_sessions(
        &mut self,
        user: &[u8],
        except: Option<&str>,
    ) -> Result<Vec<String>> {
        // The index holds stored ids: with hashed ids, `except` (the request's own session id,
        // or a stored id from a listing) is compared in that form.
        let except = except.map(|e| self.admin_id(e)).transpose()?;
        let except = except.as_deref();
        let ids = self.indexed_ids(user)?;
        let mut destroyed = Vec::new();
        let targets: Vec<_> = ids
            .into_iter()
            .filter(|(_, _, id)| Some(id.as_str()) != except)
            .collect();
        for chunk in group_by_route(&targets) {
            let (place, ikey, first) = &chunk[0];
            let mut p = pipeline();
            for (_, _, id) in &chunk {
                push_kill(&mut p, &self.key(id));
            }
            // On a host list the index lives on the same host: its entries go in the same
            // pipeline. On a cluster ZREM goes to the index's slot (the cluster layer groups it).
            let c = p.cmd("ZREM").arg(ikey);
            for (_, _, id) in &chunk {
                c.arg(id.as_str());
            }
            let replies = self.run_at(
                *place,
                first.as_bytes(),
                &p,
                false,
                "destroy user sessions",
                ikey,
            )?;
            for (i, (_, _, id)) in chunk.iter().enumerate() {
                if let Some(Value::Array(parts)) = replies.get(i) {
                    if matches!(parts.first(), Some(Value::Int(1))) {
                        destroyed.push(id.clone());
                    }
                }
            }
        }
        Ok(destroyed)
    }

    /// End one session so it stays ended (an admin's "log this device out"): data, lock (whoever
    /// holds it) and binding deleted, and its entry removed from its user's index. True when the
    /// session existed.
    pub fn kill(&mut self, id: &str) -> Result<bool> {
        // A session id, or a stored id as the index and `phpsess ls` list them.
        let stored = self.admin_id(id)?;
        let id: &str = &stored;
        super::session_store::check_id(id)?;
        // Our own session too: the lock goes with it, so this request's own final write of it
        // is refused as well (PHP's session_destroy() is the way to end it quietly).
        let key = self.key(id);
        let mut p = pipeline();
        push_kill(&mut p, &key);
        let replies = self.run(id, &p, false, "kill", &key.data)?;
        let (gone, binding) = match replies.first() {
            Some(Value::Array(parts)) => (
                matches!(parts.first(), Some(Value::Int(1))),
                match parts.get(1) {
                    Some(Value::BulkString(b)) => Binding::decode(b),
                    _ => None,
                },
            ),
            other => {
                let detail = super::session_store::reply_text(other);
                return Err(self.redis_error(id, "kill", &key.data, detail, false));
            }
        };
        if let Some(b) = binding {
            let ikey = index_key(&self.raw.topology.prefix_of(id.as_bytes()), &b.user);
            let mut p = pipeline();
            p.cmd("ZREM").arg(&ikey).arg(id);
            let place = self.raw.topology.place_of(id.as_bytes());
            self.run_at(place, id.as_bytes(), &p, true, "kill", &ikey)?;
        }
        Ok(gone)
    }

    /// Runs `p` at `place` (a host of a host list; on a cluster each command goes to its own
    /// slot). `shown` is what messages may name (shortened when it is a session id).
    pub(crate) fn run_at(
        &mut self,
        place: Place,
        shown: &[u8],
        p: &Pipeline,
        retry_safe: bool,
        op: &'static str,
        key: &[u8],
    ) -> Result<Vec<Value>> {
        let id = String::from_utf8_lossy(shown).into_owned();
        let ctx = Op { op, key, id: &id };
        self.raw
            .topology
            .run_at(place, p, retry_safe, &ctx, &mut self.raw.stats)
    }
}

/// EVAL (not EVALSHA: a kill is rare, and must not fail on a restarted server) of [`KILL`].
fn push_kill(p: &mut Pipeline, key: &SessionKey) {
    p.cmd("EVAL")
        .arg(KILL)
        .arg(3)
        .arg(&key.data)
        .arg(&key.lock)
        .arg(binding_key(key));
}

/// Consecutive runs of the same place (the listing keeps each place's ids together).
fn group_by_route<T: Clone>(items: &[(Place, Vec<u8>, T)]) -> Vec<Vec<(Place, Vec<u8>, T)>> {
    let mut groups: Vec<Vec<(Place, Vec<u8>, T)>> = Vec::new();
    for item in items {
        match groups.last_mut() {
            Some(g) if g[0].0 == item.0 && g[0].1 == item.1 => g.push(item.clone()),
            _ => groups.push(vec![item.clone()]),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_round_trip_and_garbage_is_unbound() {
        for b in [
            Binding::explicit(*b"42"),
            Binding::from_data(*b"ann@example.org"),
        ] {
            assert_eq!(Binding::decode(&b.encode()), Some(b.clone()));
        }
        for junk in [&b""[..], b"x:", b"42", b"z:42"] {
            assert_eq!(Binding::decode(junk), None, "{junk:?}");
        }
    }

    #[test]
    fn binding_and_index_keys_cannot_be_session_keys() {
        let standalone = SessionKey::standalone(b"PHPREDIS_SESSION:", b"abc");
        assert_eq!(binding_key(&standalone), b"PHPREDIS_SESSION:abc_USER");
        let cluster = SessionKey::cluster(b"PHPREDIS_CLUSTER_SESSION:", b"abc");
        let b = binding_key(&cluster);
        assert_eq!(b, b"{PHPREDIS_CLUSTER_SESSION:abc}_USER");
        assert_eq!(super::super::slot(&b), super::super::slot(&cluster.data));
        let i = index_key(b"PHPREDIS_SESSION:", b"42");
        assert_eq!(i, b"PHPREDIS_SESSION:_user:42");
        for key in [&binding_key(&standalone)[..], &i] {
            let rest = &key[b"PHPREDIS_SESSION:".len()..];
            assert!(super::super::invalid_id_reason(rest).is_some());
        }
    }

    #[test]
    fn a_fresh_unchanged_binding_needs_no_bookkeeping() {
        let a = Binding::from_data(*b"1");
        let b = Binding::explicit(*b"2");
        assert_eq!(bind_change(Some(&a), None, true, b"p:"), None);
        let (c, new) = bind_change(Some(&a), None, false, b"p:").unwrap();
        assert_eq!((c.flags.as_str(), new), ("bn", Some(a.clone())));
        let (c, new) = bind_change(Some(&a), Some(Some(&b)), true, b"p:").unwrap();
        assert_eq!((c.flags.as_str(), new), ("bno", Some(b)));
        let (c, new) = bind_change(Some(&a), Some(None), true, b"p:").unwrap();
        assert_eq!((c.flags.as_str(), new), ("uo", None));
        assert_eq!(bind_change(None, Some(None), false, b"p:"), None);
    }

    #[test]
    fn index_keys_ride_in_the_script_on_hosts_and_follow_it_on_a_cluster() {
        let options = StoreOptions::default();
        let key = SessionKey::standalone(b"p:", b"abc");
        let a = Binding::from_data(*b"1");
        let b = Binding::from_data(*b"2");
        let (change, _) = bind_change(Some(&a), Some(Some(&b)), false, b"p:").unwrap();
        let scripts = (super::super::lock::WRITE_AND_UNLOCK, WRITE_AND_UNLOCK_BOUND);
        let hosts = session_script(
            &options,
            false,
            "abc",
            &key,
            scripts,
            &[b"t"],
            Some(&change),
        );
        let mut want: Vec<&[u8]> = vec![b"p:abc", b"p:abc_LOCK", b"p:abc_USER"];
        want.extend([&b"p:_user:2"[..], b"p:_user:1"]);
        assert_eq!(hosts.keys, want);
        assert_eq!(hosts.args.last().map(Vec::as_slice), Some(&b"bno"[..]));
        assert!(cluster_index_updates(&options, false, "abc", &change).is_empty());
        let cluster = session_script(&options, true, "abc", &key, scripts, &[b"t"], Some(&change));
        assert_eq!(cluster.keys.len(), 3);
        assert_eq!(cluster.args.last().map(Vec::as_slice), Some(&b"b"[..]));
        let follow: Vec<Vec<u8>> = cluster_index_updates(&options, true, "abc", &change)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(follow, [b"p:_user:1".to_vec(), b"p:_user:2".to_vec()]);
        let plain = session_script(&options, false, "abc", &key, scripts, &[b"t"], None);
        assert_eq!(plain.source, super::super::lock::WRITE_AND_UNLOCK);
    }

    #[test]
    fn changes_between_bindings() {
        let a = Binding::from_data(*b"1");
        let b = Binding::explicit(*b"2");
        assert_eq!(BindChange::between(None, None, b"p:"), None);
        let same = BindChange::between(Some(&a), Some(&a), b"p:").unwrap();
        assert_eq!(same.flags, "bn");
        assert_eq!(same.old_index, None);
        let moved = BindChange::between(Some(&a), Some(&b), b"p:").unwrap();
        assert_eq!(moved.flags, "bno");
        assert_eq!(moved.old_index.as_deref(), Some(&b"p:_user:1"[..]));
        assert_eq!(moved.new_index.as_deref(), Some(&b"p:_user:2"[..]));
        let gone = BindChange::between(Some(&a), None, b"p:").unwrap();
        assert_eq!(gone.flags, "uo");
        assert_eq!(gone.script_flags(true, false), "u");
        assert_eq!(moved.script_flags(true, false), "b");
        assert_eq!(moved.script_flags(false, true), "bnoe");
    }
}
