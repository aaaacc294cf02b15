//! [`KeyScanner`]: every key under the session prefix, on every server that holds sessions (each
//! host of a host list, each master of a Redis Cluster, the Sentinel master), with its size and
//! TTL. `SCAN` (never `KEYS`), and in the same round trip as each `SCAN` step the look-ups of the
//! keys the step before returned (`STRLEN` or `GET`, `PTTL`, `MEMORY USAGE`), so a scan of N keys
//! costs about N / count round trips. (A Lua script doing a step's look-ups in one call was
//! measured too: it cost Redis more CPU than the plain pipelined commands, 5.1 s against 4.3 s
//! for 780,000 sessions, so there is none.)
//!
//! Keys are sorted by name before anything is asked of them: a session (`<prefix><id>` with a
//! valid id or a hashed stored id, see [`invalid_stored_id_reason`]), a lock (`<prefix><id>_LOCK`, on a cluster
//! `{<prefix><id>}_LOCK`), the per-user index (`<prefix>_user:<user>`, `<prefix><id>_USER`), or
//! anything else that happens to live under the prefix, which is never counted as a session.

use redis::{Pipeline, Value};

use super::keys::{invalid_stored_id_reason, LOCK_SUFFIX};
use super::node::Op;
use super::stats::StoreStats;
use super::topology::{ServerRef, Topology};
use super::user_index::{BINDING_SUFFIX, INDEX_INFIX};
use crate::error::{Error, Result};

/// How a [`KeyScanner::scan`] runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ScanOptions {
    /// `SCAN … COUNT`: keys per step, and so per round trip.
    pub count: usize,
    /// Look up at most about this many sessions per server (every k-th, k from `DBSIZE`): the
    /// figures become estimates, each looked-up session standing for k.
    pub sample: Option<u64>,
    /// Ask `MEMORY USAGE` of each session too (what Redis spends on it, overhead included): a
    /// third command per session, which makes a scan about a third slower (Redis's own time per
    /// command is what a scan waits for).
    pub memory: bool,
    /// `GET` each session's value instead of `STRLEN` (for `ls --user-key`).
    pub values: bool,
    /// Read the first bytes of each session too (`GETRANGE 0 8`, one more small command per
    /// session; none with [`values`](Self::values)): the encryption envelope's header, so a
    /// tally can count sessions per key id ([`super::AtRestCounts`]).
    pub heads: bool,
    /// The lifetime to assume for locks whose value does not record theirs (phpredis's
    /// `host|pid`, Laravel's `->block()` owner), to estimate their age: `redis.session.lock_expire`
    /// or `max_execution_time` for phpredis, the route's `block()` seconds for Laravel.
    pub assumed_lock_expire_ms: Option<u64>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            count: 1000,
            sample: None,
            memory: false,
            values: false,
            heads: false,
            assumed_lock_expire_ms: None,
        }
    }
}

impl ScanOptions {
    /// With `SCAN … COUNT count`.
    pub fn with_count(mut self, count: usize) -> Self {
        self.count = count.max(1);
        self
    }

    /// Look up about `sample` sessions per server, or all with `None`.
    pub fn with_sample(mut self, sample: Option<u64>) -> Self {
        self.sample = sample.filter(|&n| n > 0);
        self
    }

    /// Ask `MEMORY USAGE` or not.
    pub fn with_memory(mut self, memory: bool) -> Self {
        self.memory = memory;
        self
    }

    /// `GET` values or not.
    pub fn with_values(mut self, values: bool) -> Self {
        self.values = values;
        self
    }

    /// Read each session's first bytes (the envelope header) or not.
    pub fn with_heads(mut self, heads: bool) -> Self {
        self.heads = heads;
        self
    }

    /// Assume locks whose value does not record their lifetime were set to live `ms`
    /// ([`assumed_lock_expire_ms`](Self::assumed_lock_expire_ms)).
    pub fn with_assumed_lock_expire_ms(mut self, ms: Option<u64>) -> Self {
        self.assumed_lock_expire_ms = ms;
        self
    }
}

/// What a key under the prefix is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// A session: `<prefix><id>` holding a string.
    Session,
    /// A session lock; `value` holds the holder (`host|pid|…`).
    Lock,
    /// The per-user index: a user's sorted set (`<prefix>_user:<user>`) or a session's binding
    /// to its user (`<prefix><id>_USER`).
    UserIndex,
    /// The lock queue of a session (`<lock>_Q`, `<lock>_A:<token>`, `<lock>_W:<token>`): waiters
    /// of a contended session, short-lived.
    LockQueue,
    /// Counters a web server's workers published (`<prefix>_stats:<source>`; the id is the
    /// source's name).
    WorkerStats,
    /// Anything else under the prefix: not a session, and why.
    Foreign(&'static str),
}

/// One key a scan found, with what was asked of it.
#[derive(Debug, Clone)]
pub struct ScannedKey {
    /// Index into [`KeyScanner::servers`].
    pub server: usize,
    /// The key.
    pub key: Vec<u8>,
    /// The session id in it (sessions and locks), else empty.
    pub id: String,
    /// What it is.
    pub kind: KeyKind,
    /// The value's length in bytes (sessions and locks; 0 for the rest, which are not looked up).
    pub bytes: u64,
    /// `MEMORY USAGE` (sessions, when asked and the server allows it).
    pub memory: Option<u64>,
    /// Milliseconds to live; `None` when the key has no expiry (or was not looked up).
    pub ttl_ms: Option<u64>,
    /// How many sessions this one stands for: 1, or k when sampling every k-th.
    pub weight: u64,
    /// The value (locks always; sessions with [`ScanOptions::values`]).
    pub value: Option<Vec<u8>>,
    /// The first bytes of a session's value ([`ScanOptions::heads`], or taken from the value).
    pub head: Option<Vec<u8>>,
}

/// What a scan reports as it goes.
#[derive(Debug)]
#[non_exhaustive]
pub enum ScanEvent<'a> {
    /// A server is about to be scanned: its index and `DBSIZE` (all its keys, for a progress bar).
    Server {
        /// Index into [`KeyScanner::servers`].
        server: usize,
        /// `DBSIZE` of the server (all keys, not only sessions).
        dbsize: u64,
    },
    /// A key under the prefix.
    Key(&'a ScannedKey),
    /// One `SCAN` step is done; `scanned` keys of the server so far.
    Step {
        /// Index into [`KeyScanner::servers`].
        server: usize,
        /// Keys SCAN has returned on it so far.
        scanned: u64,
    },
}

/// Whose key names a scan reads: which keys under the prefix are sessions and which are locks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Naming {
    /// phpredis's and phpsess's: `<prefix><id>` with a valid PHP session id, locks
    /// `<prefix><id>_LOCK` (on a cluster `{<prefix><id>}_LOCK`), the per-user index and lock
    /// queues beside them.
    #[default]
    Php,
    /// Laravel's cache-store sessions: `<prefix><id>` with a 40-character `[A-Za-z0-9]` id
    /// (`Str::random(40)`); the lock a `->block()` route takes is `<prefix>session:<id>`
    /// (`RedisLock`, its value the owner's random string). The app's other cache entries share
    /// the prefix and are "not a session".
    Laravel,
}

/// Length of a Laravel session id (`Str::random(40)`).
const LARAVEL_ID_LEN: usize = 40;

/// The name of Laravel's `->block()` lock after the prefix: `session:<id>`.
const LARAVEL_LOCK_INFIX: &[u8] = b"session:";

/// Scans the keys of a store's servers. Not `Sync`: one per thread.
pub struct KeyScanner {
    topology: Topology,
    stats: StoreStats,
    servers: Option<Vec<ServerRef>>,
    /// A key prefix for every server instead of the save_path's ([`with_prefix`](Self::with_prefix)).
    prefix: Option<Vec<u8>>,
    /// Whose key names these are ([`with_naming`](Self::with_naming)).
    naming: Naming,
}

impl std::fmt::Debug for KeyScanner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyScanner")
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl KeyScanner {
    /// A scanner over `topology`. Opens no connection yet.
    pub fn new(topology: Topology) -> Self {
        KeyScanner {
            topology,
            stats: StoreStats::default(),
            servers: None,
            prefix: None,
            naming: Naming::Php,
        }
    }

    /// Read the keys under the prefix as `naming` names them (Laravel's sessions are
    /// `<prefix><40-character id>`, see [`Naming::Laravel`]); PHP's by default.
    pub fn with_naming(mut self, naming: Naming) -> Self {
        self.naming = naming;
        self
    }

    /// Whose key names this scanner reads.
    pub fn naming(&self) -> Naming {
        self.naming
    }

    /// Scan the keys under `prefix` on every server instead of the save_path's session prefix:
    /// for sessions another writer names, such as Laravel's (`laravel_database_laravel_cache:`,
    /// whose 40-character ids are valid session ids).
    pub fn with_prefix(mut self, prefix: Vec<u8>) -> Self {
        self.prefix = Some(prefix);
        self.servers = None;
        self
    }

    /// Counters of what was sent.
    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// The servers holding sessions (on a cluster, the masters `CLUSTER SLOTS` names, asked once).
    pub fn servers(&mut self) -> Result<&[ServerRef]> {
        if self.servers.is_none() {
            let mut servers = self.topology.servers(&mut self.stats)?;
            if let Some(prefix) = &self.prefix {
                for s in &mut servers {
                    s.prefix.clone_from(prefix);
                }
            }
            self.servers = Some(servers);
        }
        Ok(self.servers.as_deref().unwrap_or_default())
    }

    /// Forget the server list and connections (a cluster's masters are asked again).
    pub fn reset(&mut self) {
        self.servers = None;
        self.topology.disconnect();
    }

    /// Run `p` on server `server` (any commands; replies in order, error replies in their slot).
    pub fn query(&mut self, server: usize, p: &Pipeline, op: &'static str) -> Result<Vec<Value>> {
        let target = self.server(server)?;
        // Messages say "for session *": a scan serves every session.
        let ctx = Op {
            op,
            key: b"",
            id: "*",
        };
        self.topology.run_on(&target, p, &ctx, &mut self.stats)
    }

    fn server(&mut self, server: usize) -> Result<ServerRef> {
        let servers = self.servers()?;
        servers.get(server).cloned().ok_or_else(|| Error::Setting {
            name: "server".into(),
            reason: format!("no server {server}"),
        })
    }

    /// `GET` of `keys` on server `server`, one round trip: `None` for a key that is gone.
    pub fn get_values(&mut self, server: usize, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut p = redis::pipe();
        for k in keys {
            p.cmd("GET").arg(k.as_slice());
        }
        let replies = self.query(server, &p, "get")?;
        Ok(replies
            .into_iter()
            .map(|v| match v {
                Value::BulkString(b) => Some(b),
                _ => None,
            })
            .collect())
    }

    /// Walk every key under the prefix on every server, server by server, calling `on_event` for
    /// each key (sessions, locks and the rest, see [`KeyKind`]) and each step.
    pub fn scan(
        &mut self,
        options: &ScanOptions,
        mut on_event: impl FnMut(ScanEvent<'_>),
    ) -> Result<()> {
        let count = self.servers()?.len();
        for server in 0..count {
            self.scan_server(server, options, &mut on_event)?;
        }
        Ok(())
    }

    /// [`scan`](Self::scan) of one server.
    pub fn scan_server(
        &mut self,
        server: usize,
        options: &ScanOptions,
        on_event: &mut impl FnMut(ScanEvent<'_>),
    ) -> Result<()> {
        let target = self.server(server)?;
        let mut p = redis::pipe();
        p.cmd("DBSIZE");
        let dbsize = match self.query(server, &p, "dbsize")?.first() {
            Some(Value::Int(n)) => (*n).max(0) as u64,
            other => return Err(self.reply_error(&target, "dbsize", b"", other)),
        };
        on_event(ScanEvent::Server { server, dbsize });
        let stride = match options.sample {
            Some(n) => dbsize.div_ceil(n).max(1),
            None => 1,
        };
        let mut patterns = vec![glob_prefix(&target.prefix, b"*")];
        if self.naming == Naming::Php
            && target.cluster
            && super::keys::hash_tag(&target.prefix).is_none()
        {
            // Cluster locks are `{<prefix><id>}_LOCK`, outside `<prefix>*`.
            let mut lock = b"{".to_vec();
            lock.extend_from_slice(&glob_prefix(&target.prefix, b"*}_LOCK"));
            patterns.push(lock);
        }
        let mut scanned = 0u64;
        let mut candidates = 0u64;
        for pattern in patterns {
            // Each round trip carries the next SCAN step and the look-ups of the keys the step
            // before returned; the next round is sent as soon as the SCAN reply is read, before
            // the look-ups' replies, so Redis works on one round while we read the other.
            let scan_step = |cursor: u64, keys: &[ScannedKey]| {
                let mut p = redis::pipe();
                if cursor != u64::MAX {
                    p.cmd("SCAN")
                        .arg(cursor)
                        .arg("MATCH")
                        .arg(pattern.as_slice())
                        .arg("COUNT")
                        .arg(options.count.max(1));
                }
                for k in keys {
                    add_lookups(&mut p, k, options);
                }
                p
            };
            let naming = self.naming;
            let mut wire = Wire::new(self, &target);
            wire.send(&scan_step(0, &[]))?;
            // The round in flight: whether it holds a SCAN step, and the keys it looks up.
            let mut current: (bool, Vec<ScannedKey>) = (true, Vec::new());
            loop {
                let (scanning, looked_up) = std::mem::take(&mut current);
                let mut next_keys = Vec::new();
                let mut cursor = 0;
                if scanning {
                    let reply = wire.recv(1)?.pop();
                    let (next, found) = parse_scan(reply.as_ref()).ok_or_else(|| {
                        wire.scanner
                            .reply_error(&target, "scan", &pattern, reply.as_ref())
                    })?;
                    cursor = next;
                    scanned += found.len() as u64;
                    for key in found {
                        let (kind, id) = classify_as(&key, &target, naming);
                        let mut k = ScannedKey {
                            server,
                            key,
                            id,
                            kind,
                            bytes: 0,
                            memory: None,
                            ttl_ms: None,
                            weight: 1,
                            value: None,
                            head: None,
                        };
                        match k.kind {
                            KeyKind::Session => {
                                candidates += 1;
                                if (candidates - 1).is_multiple_of(stride) {
                                    k.weight = stride;
                                    next_keys.push(k);
                                }
                            }
                            KeyKind::Lock => next_keys.push(k),
                            _ => on_event(ScanEvent::Key(&k)),
                        }
                    }
                }
                let more = scanning && (cursor != 0 || !next_keys.is_empty());
                if more {
                    let step = if cursor != 0 { cursor } else { u64::MAX };
                    wire.send(&scan_step(step, &next_keys))?;
                }
                let count = scan_step(u64::MAX, &looked_up).len();
                let mut replies = wire.recv(count)?.into_iter();
                for mut k in looked_up {
                    if read_lookups(&mut k, &mut replies, options) {
                        on_event(ScanEvent::Key(&k));
                    }
                }
                if scanning {
                    on_event(ScanEvent::Step { server, scanned });
                }
                if !more {
                    break;
                }
                current = (cursor != 0, next_keys);
            }
        }
        Ok(())
    }

    fn reply_error(
        &self,
        target: &ServerRef,
        op: &'static str,
        key: &[u8],
        reply: Option<&Value>,
    ) -> Error {
        let detail = match reply {
            Some(Value::ServerError(e)) => super::endpoint::server_reply(e),
            other => format!("unexpected reply {other:?}"),
        };
        Error::Redis {
            host: target.label.clone(),
            key: String::from_utf8_lossy(key).into_owned(),
            op,
            detail,
            retry_safe: true,
            source: None,
        }
    }
}

/// One server's connection as a scan uses it: pipelines sent ahead, replies read in order. On
/// a host or a cluster node the pipeline is on the wire while the previous one's replies are
/// read; through Sentinel (whose master may move) each pipeline runs whole when its replies are
/// first asked for.
struct Wire<'s> {
    scanner: &'s mut KeyScanner,
    target: &'s ServerRef,
    queued: std::collections::VecDeque<Pipeline>,
    replies: std::collections::VecDeque<Value>,
}

impl<'s> Wire<'s> {
    fn new(scanner: &'s mut KeyScanner, target: &'s ServerRef) -> Self {
        Wire {
            scanner,
            target,
            queued: std::collections::VecDeque::new(),
            replies: std::collections::VecDeque::new(),
        }
    }

    fn ctx() -> Op<'static> {
        // Messages say "for session *": a scan serves every session.
        Op {
            op: "scan",
            key: b"",
            id: "*",
        }
    }

    fn send(&mut self, p: &Pipeline) -> Result<()> {
        let KeyScanner {
            topology, stats, ..
        } = &mut *self.scanner;
        match topology.node_of(self.target) {
            Some(node) => node.send_only(p, &Self::ctx(), stats),
            None => {
                self.queued.push_back(p.clone());
                Ok(())
            }
        }
    }

    fn recv(&mut self, n: usize) -> Result<Vec<Value>> {
        let KeyScanner {
            topology, stats, ..
        } = &mut *self.scanner;
        if let Some(node) = topology.node_of(self.target) {
            return node.recv_only(n, &Self::ctx());
        }
        while self.replies.len() < n {
            let Some(p) = self.queued.pop_front() else {
                break;
            };
            let got = topology.run_on(self.target, &p, &Self::ctx(), stats)?;
            self.replies.extend(got);
        }
        Ok(self.replies.drain(..n.min(self.replies.len())).collect())
    }
}

/// What `key` is on `server`, by its name alone, and the session id in it, as `naming` names keys.
pub fn classify_as(key: &[u8], server: &ServerRef, naming: Naming) -> (KeyKind, String) {
    match naming {
        Naming::Php => classify(key, server),
        Naming::Laravel => classify_laravel(key, &server.prefix),
    }
}

/// A Laravel key: a session, the lock of a `->block()` route, or another cache entry.
fn classify_laravel(key: &[u8], prefix: &[u8]) -> (KeyKind, String) {
    let is_id = |b: &[u8]| b.len() == LARAVEL_ID_LEN && b.iter().all(u8::is_ascii_alphanumeric);
    let id_of = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let Some(rest) = key.strip_prefix(prefix) else {
        return (
            KeyKind::Foreign("it does not start with the prefix"),
            String::new(),
        );
    };
    if is_id(rest) {
        return (KeyKind::Session, id_of(rest));
    }
    if let Some(id) = rest.strip_prefix(LARAVEL_LOCK_INFIX).filter(|id| is_id(id)) {
        return (KeyKind::Lock, id_of(id));
    }
    (
        KeyKind::Foreign("not a Laravel session id (40 letters and digits)"),
        String::new(),
    )
}

/// What `key` is on `server`, by its name alone, and the session id in it (PHP's naming).
pub fn classify(key: &[u8], server: &ServerRef) -> (KeyKind, String) {
    let prefix = server.prefix.as_slice();
    let id_of = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if let Some(rest) = key.strip_prefix(prefix) {
        if invalid_stored_id_reason(rest).is_none() {
            return (KeyKind::Session, id_of(rest));
        }
        if let Some(id) = rest.strip_suffix(LOCK_SUFFIX) {
            if invalid_stored_id_reason(id).is_none() {
                return (KeyKind::Lock, id_of(id));
            }
        }
        if let Some(id) = rest.strip_suffix(BINDING_SUFFIX) {
            if invalid_stored_id_reason(id).is_none() {
                return (KeyKind::UserIndex, id_of(id));
            }
        }
        if rest.starts_with(INDEX_INFIX) {
            return (KeyKind::UserIndex, String::new());
        }
        if let Some(source) = rest.strip_prefix(super::published::STATS_INFIX) {
            return (KeyKind::WorkerStats, id_of(source));
        }
        if let Some(id) = lock_queue_id(rest) {
            return (KeyKind::LockQueue, id_of(id));
        }
        let reason = invalid_stored_id_reason(rest).unwrap_or("not a session id");
        return (KeyKind::Foreign(reason), String::new());
    }
    // A cluster lock queue key `{<prefix><id>}_LOCK_Q` (…_A:<token>, …_W:<token>).
    if let Some(inner) = key.strip_prefix(b"{").and_then(|k| {
        let close = k.iter().position(|&b| b == b'}')?;
        let tail = &k[close + 1..];
        let queue = tail.strip_prefix(LOCK_SUFFIX)?;
        (queue == b"_Q" || queue.starts_with(b"_A:") || queue.starts_with(b"_W:"))
            .then(|| &k[..close])
    }) {
        if let Some(id) = inner.strip_prefix(prefix) {
            if invalid_stored_id_reason(id).is_none() {
                return (KeyKind::LockQueue, id_of(id));
            }
        }
    }
    // A cluster lock `{<prefix><id>}_LOCK`, or binding `{<prefix><id>}_USER`.
    for (suffix, kind) in [
        (LOCK_SUFFIX, KeyKind::Lock),
        (BINDING_SUFFIX, KeyKind::UserIndex),
    ] {
        if let Some(inner) = key
            .strip_prefix(b"{")
            .and_then(|k| k.strip_suffix(suffix))
            .and_then(|k| k.strip_suffix(b"}"))
            .and_then(|k| k.strip_prefix(prefix))
        {
            if invalid_stored_id_reason(inner).is_none() {
                return (kind, id_of(inner));
            }
        }
    }
    (
        KeyKind::Foreign("it does not start with the prefix"),
        String::new(),
    )
}

/// The session id of a lock queue key's rest after the prefix (`<id>_LOCK_Q`, `<id>_LOCK_A:…`,
/// `<id>_LOCK_W:…`).
fn lock_queue_id(rest: &[u8]) -> Option<&[u8]> {
    let at = rest.windows(6).position(|w| w == b"_LOCK_")?;
    let (id, tail) = (&rest[..at], &rest[at + 6..]);
    let queue = tail == b"Q" || tail.starts_with(b"A:") || tail.starts_with(b"W:");
    (queue && invalid_stored_id_reason(id).is_none()).then_some(id)
}

fn add_lookups(p: &mut Pipeline, k: &ScannedKey, options: &ScanOptions) {
    let key = k.key.as_slice();
    if k.kind == KeyKind::Lock || options.values {
        p.cmd("GET").arg(key);
    } else {
        p.cmd("STRLEN").arg(key);
    }
    p.cmd("PTTL").arg(key);
    if k.kind == KeyKind::Session && options.memory {
        p.cmd("MEMORY").arg("USAGE").arg(key).arg("SAMPLES").arg(0);
    }
    if k.kind == KeyKind::Session && options.heads && !options.values {
        p.cmd("GETRANGE").arg(key).arg(0).arg(HEAD_LEN - 1);
    }
}

/// Bytes of a session's head ([`ScanOptions::heads`]): an envelope's magic, version and key id.
const HEAD_LEN: usize = 9;

/// Fill `k` from its look-up replies; false when the key is gone by now.
fn read_lookups(
    k: &mut ScannedKey,
    replies: &mut impl Iterator<Item = Value>,
    options: &ScanOptions,
) -> bool {
    let size = replies.next();
    let ttl = replies.next();
    let memory = if k.kind == KeyKind::Session && options.memory {
        replies.next()
    } else {
        None
    };
    let head = if k.kind == KeyKind::Session && options.heads && !options.values {
        replies.next()
    } else {
        None
    };
    if let Some(Value::BulkString(h)) = head {
        k.head = Some(h);
    }
    match ttl {
        Some(Value::Int(-2)) => return false,
        Some(Value::Int(t)) if t >= 0 => k.ttl_ms = Some(t as u64),
        _ => k.ttl_ms = None,
    }
    match size {
        Some(Value::Int(n)) => k.bytes = n.max(0) as u64,
        Some(Value::BulkString(b)) => {
            k.bytes = b.len() as u64;
            if k.kind == KeyKind::Session && options.heads {
                k.head = Some(b[..b.len().min(HEAD_LEN)].to_vec());
            }
            k.value = Some(b);
        }
        Some(Value::Nil) => return false,
        Some(Value::ServerError(e)) if e.code() == "WRONGTYPE" => {
            k.kind = KeyKind::Foreign("it is not a string");
            k.weight = 1;
            k.ttl_ms = None;
        }
        _ => k.kind = KeyKind::Foreign("its size could not be read"),
    }
    if let Some(Value::Int(m)) = memory {
        k.memory = Some(m.max(0) as u64);
    }
    true
}

fn parse_scan(reply: Option<&Value>) -> Option<(u64, Vec<Vec<u8>>)> {
    let Some(Value::Array(parts)) = reply else {
        return None;
    };
    let [Value::BulkString(next), Value::Array(keys)] = parts.as_slice() else {
        return None;
    };
    let next = std::str::from_utf8(next).ok()?.parse().ok()?;
    let keys = keys
        .iter()
        .filter_map(|k| match k {
            Value::BulkString(b) => Some(b.clone()),
            _ => None,
        })
        .collect();
    Some((next, keys))
}

/// A `SCAN MATCH` pattern for keys starting with `prefix`: its glob characters escaped, then `tail`.
fn glob_prefix(prefix: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + tail.len() + 4);
    for &b in prefix {
        if matches!(b, b'*' | b'?' | b'[' | b']' | b'\\') {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.extend_from_slice(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(prefix: &str, cluster: bool) -> ServerRef {
        ServerRef::new("tcp://h:1", prefix.as_bytes(), cluster)
    }

    #[test]
    fn keys_are_told_apart_by_name() {
        let s = server("PHPREDIS_SESSION:", false);
        let table: [(&str, KeyKind, &str); 13] = [
            ("PHPREDIS_SESSION:abc123", KeyKind::Session, "abc123"),
            ("PHPREDIS_SESSION:abc123_LOCK", KeyKind::Lock, "abc123"),
            ("PHPREDIS_SESSION:_user:alice", KeyKind::UserIndex, ""),
            ("PHPREDIS_SESSION:abc123_USER", KeyKind::UserIndex, "abc123"),
            (
                "PHPREDIS_SESSION:cache:config",
                KeyKind::Foreign("only A-Z, a-z, 0-9, \"-\" and \",\" are allowed"),
                "",
            ),
            ("PHPREDIS_SESSION:", KeyKind::Foreign("it is empty"), ""),
            ("{PHPREDIS_SESSION:abc}_LOCK", KeyKind::Lock, "abc"),
            ("{PHPREDIS_SESSION:abc}_USER", KeyKind::UserIndex, "abc"),
            ("PHPREDIS_SESSION:abc_LOCK_Q", KeyKind::LockQueue, "abc"),
            (
                "PHPREDIS_SESSION:abc_LOCK_W:h|1|2",
                KeyKind::LockQueue,
                "abc",
            ),
            (
                "{PHPREDIS_SESSION:abc}_LOCK_A:h|1|2",
                KeyKind::LockQueue,
                "abc",
            ),
            ("PHPREDIS_SESSION:_stats:web1", KeyKind::WorkerStats, "web1"),
            (
                "other:abc",
                KeyKind::Foreign("it does not start with the prefix"),
                "",
            ),
        ];
        for (key, kind, id) in table {
            assert_eq!(classify(key.as_bytes(), &s), (kind, id.to_owned()), "{key}");
        }
    }

    #[test]
    fn laravel_keys_are_told_apart_by_name() {
        let s = server("laravel_database_laravel_cache:", false);
        let id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd";
        let not_id = KeyKind::Foreign("not a Laravel session id (40 letters and digits)");
        let table: [(String, KeyKind, &str); 6] = [
            (
                format!("laravel_database_laravel_cache:{id}"),
                KeyKind::Session,
                id,
            ),
            (
                format!("laravel_database_laravel_cache:session:{id}"),
                KeyKind::Lock,
                id,
            ),
            (
                "laravel_database_laravel_cache:greeting".into(),
                not_id.clone(),
                "",
            ),
            // 39 and 41 characters, and a PHP id that Laravel never makes.
            (
                format!("laravel_database_laravel_cache:{}", &id[1..]),
                not_id.clone(),
                "",
            ),
            (format!("laravel_database_laravel_cache:{id}x"), not_id, ""),
            (
                format!("PHPREDIS_SESSION:{id}"),
                KeyKind::Foreign("it does not start with the prefix"),
                "",
            ),
        ];
        for (key, kind, want) in table {
            assert_eq!(
                classify_as(key.as_bytes(), &s, Naming::Laravel),
                (kind, want.to_owned()),
                "{key}"
            );
        }
    }

    #[test]
    fn prefixes_are_escaped_for_match() {
        assert_eq!(glob_prefix(b"a*b?[c]\\:", b"*"), b"a\\*b\\?\\[c\\]\\\\:*");
    }
}
