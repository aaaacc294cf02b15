//! Redis Cluster: our own slot map from `CLUSTER SLOTS`, one [`Node`] per cluster node, MOVED and
//! ASK followed, the map refreshed after a redirect or a node that fails. Our pipelines touch one
//! session, whose data and lock keys share a slot, so each costs one round trip to one node.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use redis::{Cmd, ConnectionAddr, Pipeline, Value};

use super::endpoint::Endpoint;
use super::lock::SCRIPTS;
use super::node::{Node, Op};
use super::stats::StoreStats;
use crate::error::{Error, Result};

/// Which nodes may serve reads (phpredis's `failover` save_path parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub enum ReadFrom {
    /// Masters only (phpredis `none`, the default; also `error`, see the README).
    #[default]
    Master,
    /// Masters and replicas (phpredis `distribute`).
    Distribute,
}

/// How to reach a Redis Cluster. `Debug` shows the password's length only.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClusterSpec {
    /// Seed nodes, `host:port`.
    pub seeds: Vec<String>,
    /// ACL user.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Per-command timeout.
    pub read_timeout: Duration,
    /// Read routing.
    pub read_from: ReadFrom,
    /// Key prefix.
    pub prefix: Vec<u8>,
    /// Use TLS to every node.
    pub tls: bool,
}

impl std::fmt::Debug for ClusterSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSpec")
            .field("seeds", &self.seeds)
            .field("username", &self.username)
            .field("password", &super::redact::RedactedPassword(&self.password))
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("read_from", &self.read_from)
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .field("tls", &self.tls)
            .finish()
    }
}

impl ClusterSpec {
    /// Seeds with our defaults (2 s connect, 5 s read, masters only, phpredis's cluster prefix).
    pub fn new(seeds: Vec<String>) -> Self {
        ClusterSpec {
            seeds,
            username: None,
            password: None,
            connect_timeout: Duration::from_secs(2),
            read_timeout: Duration::from_secs(5),
            read_from: ReadFrom::Master,
            prefix: super::keys::DEFAULT_CLUSTER_PREFIX.as_bytes().to_vec(),
            tls: false,
        }
    }

    /// The seeds as one label for messages.
    pub fn label(&self) -> String {
        format!("cluster({})", self.seeds.join(","))
    }
}

/// Hash slots in a Redis Cluster.
const SLOTS: u16 = 16_384;

/// Redirections followed for one request before giving up (a slot moving twice while we ask is
/// already rare; more means the cluster is reconfiguring and the caller should see an error).
const MAX_REDIRECTS: usize = 5;

/// Commands that only read, which `failover=distribute` may send to a replica.
const READ_ONLY: [&[u8]; 4] = [b"GET", b"TTL", b"PTTL", b"EXISTS"];

/// The masters (and replicas) serving a range of slots, as `CLUSTER SLOTS` names them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shard {
    /// `host:port` of the master.
    master: String,
    /// `host:port` of each replica.
    replicas: Vec<String>,
}

/// Our own router over one [`Node`] per cluster node. Every pipeline the store sends touches one
/// session, whose keys share a slot, so routing is a table lookup. We do it ourselves rather than
/// through the `redis` crate's sync `ClusterConnection` because that client treats a silent node
/// badly: its pipeline keeps reading after a timeout (one timeout per command), and after an error
/// its slot refresh PINGs every node, so one stopped master made every request pay timeouts, even
/// for slots elsewhere. Here a silent master costs one read timeout, for its own slots only.
pub(crate) struct ClusterTarget {
    pub spec: ClusterSpec,
    /// Index into `shards` for each of the 16384 slots; empty until the first `CLUSTER SLOTS`.
    slots: Vec<Option<usize>>,
    shards: Vec<Shard>,
    /// One lazily opened connection per node we have talked to, by `host:port`.
    nodes: HashMap<String, Node>,
    /// Nodes whose last command got no reply in time: before the next request to one of them the
    /// slot map is asked of another node, so a replica that took over is found; the silent node
    /// itself is never asked for the map.
    suspects: HashSet<String>,
    /// Round robin over replicas for `failover=distribute`.
    next_replica: usize,
    pub getex: bool,
}

impl ClusterTarget {
    pub fn new(spec: ClusterSpec) -> Self {
        ClusterTarget {
            spec,
            slots: Vec::new(),
            shards: Vec::new(),
            nodes: HashMap::new(),
            suspects: HashSet::new(),
            next_replica: 0,
            getex: true,
        }
    }

    /// The connection to `addr` (`host:port`), created on first use with the spec's credentials
    /// and timeouts; read and write timeouts are both set on every connection (see [`Node`]).
    fn node(&mut self, addr: &str) -> &mut Node {
        let spec = &self.spec;
        self.nodes.entry(addr.to_owned()).or_insert_with(|| {
            let (host, port) = split_addr(addr);
            let mut ep = Endpoint::tcp(host.clone(), port);
            if spec.tls {
                ep.label = format!("tls://{addr}");
                ep.addr = ConnectionAddr::TcpTls {
                    host,
                    port,
                    insecure: false,
                    tls_params: None,
                };
            } else {
                ep.label = format!("tcp://{addr}");
            }
            ep.username = spec.username.clone();
            ep.password = spec.password.clone();
            ep.connect_timeout = spec.connect_timeout;
            ep.read_timeout = spec.read_timeout;
            Node::new(ep)
        })
    }

    /// Ask for `CLUSTER SLOTS`: first `prefer` (a node that just redirected us, so it is up), then
    /// the masters and replicas we know, then the seeds; never a suspect nor `avoid`. The first
    /// answer wins.
    fn refresh(
        &mut self,
        prefer: Option<&str>,
        avoid: Option<&str>,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<()> {
        let mut candidates: Vec<String> = prefer.map(str::to_owned).into_iter().collect();
        candidates.extend(self.shards.iter().map(|s| s.master.clone()));
        candidates.extend(self.shards.iter().flat_map(|s| s.replicas.clone()));
        candidates.extend(self.spec.seeds.iter().cloned());
        let mut seen = HashSet::new();
        candidates.retain(|a| {
            seen.insert(a.clone()) && Some(a.as_str()) != avoid && !self.suspects.contains(a)
        });
        let mut last = String::from("no node left to ask");
        for addr in candidates {
            let mut p = redis::pipe();
            p.cmd("CLUSTER").arg("SLOTS");
            let asked = Op {
                op: "cluster slots",
                key: b"",
                id: ctx.id,
            };
            let node = self.node(&addr);
            let reply = node.run(&p, true, &asked, stats);
            if node.timed_out {
                self.suspects.insert(addr.clone());
            }
            match reply.map(|mut r| parse_slots(r.pop(), host_of(&addr))) {
                Ok(Ok(shards)) => {
                    self.install(shards);
                    return Ok(());
                }
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(e) => last = e.to_string(),
            }
        }
        Err(Error::Connect {
            host: self.spec.label(),
            timeout_secs: self.spec.connect_timeout.as_secs_f64(),
            id: super::redact::short_id(ctx.id),
            detail: format!("no node answered CLUSTER SLOTS: {last}"),
            source: None,
        })
    }

    fn install(&mut self, ranges: Vec<(u16, u16, Shard)>) {
        self.slots = vec![None; usize::from(SLOTS)];
        self.shards.clear();
        for (start, end, shard) in ranges {
            let index = self.shard_index(shard);
            for slot in start..=end.min(SLOTS - 1) {
                self.slots[usize::from(slot)] = Some(index);
            }
        }
        // Connections to nodes no longer in the map are closed (a removed or replaced node).
        let known: HashSet<&String> = self
            .shards
            .iter()
            .flat_map(|s| std::iter::once(&s.master).chain(&s.replicas))
            .collect();
        self.nodes.retain(|addr, _| known.contains(addr));
    }

    fn shard_index(&mut self, shard: Shard) -> usize {
        match self.shards.iter().position(|s| *s == shard) {
            Some(i) => i,
            None => {
                self.shards.push(shard);
                self.shards.len() - 1
            }
        }
    }

    /// Where a pipeline for `slot` goes: its master, or for reads under `failover=distribute` one
    /// of its replicas (then `true`).
    fn target(&mut self, slot: u16, read_only: bool) -> Option<(String, bool)> {
        let shard = &self.shards[self.slots.get(usize::from(slot)).copied().flatten()?];
        if read_only && self.spec.read_from == ReadFrom::Distribute && !shard.replicas.is_empty() {
            self.next_replica = self.next_replica.wrapping_add(1);
            let replica = &shard.replicas[self.next_replica % shard.replicas.len()];
            return Some((replica.clone(), true));
        }
        Some((shard.master.clone(), false))
    }

    pub fn run(
        &mut self,
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        let cmds = to_cluster_commands(p, self.getex);
        // Group the commands by slot (a session's keys share one; raw keys from the Laravel layer
        // may not), keeping the order of replies.
        let mut groups: Vec<(u16, Vec<usize>)> = Vec::new();
        for (i, c) in cmds.iter().enumerate() {
            let slot = command_slot(c).or_else(|| groups.first().map(|g| g.0));
            let slot = slot.unwrap_or(0);
            match groups.iter_mut().find(|g| g.0 == slot) {
                Some(g) => g.1.push(i),
                None => groups.push((slot, vec![i])),
            }
        }
        let mut replies = vec![Value::Nil; cmds.len()];
        for (slot, indexes) in groups {
            let group: Vec<&Cmd> = indexes.iter().map(|&i| &cmds[i]).collect();
            let got = self.run_slot(slot, &group, retry_safe, ctx, stats)?;
            for (i, v) in indexes.into_iter().zip(got) {
                replies[i] = v;
            }
        }
        Ok(replies)
    }

    /// Run `cmds`, which all hash to `slot`, following MOVED and ASK.
    fn run_slot(
        &mut self,
        slot: u16,
        cmds: &[&Cmd],
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        let mut read_only = cmds.iter().all(|c| is_read_only(c));
        let mut replies: Vec<Option<Value>> = vec![None; cmds.len()];
        // Commands still to send, each with the node that ASKed for it (None: the slot's owner).
        let mut pending: Vec<(usize, Option<String>)> =
            (0..cmds.len()).map(|i| (i, None)).collect();
        let mut failed_over = false;
        for _ in 0..=MAX_REDIRECTS {
            if self.slots.is_empty() {
                self.refresh(None, None, ctx, stats)?;
            }
            let Some((mut owner, mut replica)) = self.target(slot, read_only) else {
                return Err(ctx.error(
                    self.spec.label(),
                    format!("no node serves slot {slot} (CLUSTER SLOTS)"),
                ));
            };
            if self.suspects.contains(&owner) {
                // It was silent last time: maybe a replica has taken over since. If no other node
                // answers, go on with the map we have.
                let _ = self.refresh(None, Some(&owner), ctx, stats);
                if let Some(t) = self.target(slot, read_only) {
                    (owner, replica) = t;
                }
            }
            // One node per round: the owner for plain and MOVED commands, else the ASK target.
            let addr = pending[0].1.clone().unwrap_or_else(|| owner.clone());
            let batch: Vec<usize> = pending
                .iter()
                .filter(|(_, ask)| ask.as_deref().unwrap_or(&owner) == addr)
                .map(|(i, _)| *i)
                .collect();
            let asking = pending[0].1.is_some();
            let mut pipe = redis::pipe();
            if replica && !asking {
                // A replica serves reads only after READONLY; it is idempotent, so it rides in
                // front of every pipeline instead of being remembered per connection.
                pipe.cmd("READONLY");
            }
            for &i in &batch {
                if asking {
                    pipe.cmd("ASKING");
                }
                pipe.add_command(cmds[i].clone());
            }
            let node = self.node(&addr);
            let result = node.run(&pipe, retry_safe, ctx, stats);
            let timed_out = node.timed_out;
            let got = match result {
                Ok(got) => {
                    self.suspects.remove(&addr);
                    got
                }
                Err(e) => {
                    if timed_out {
                        // No retry and no slot refresh now: either would wait on the same silent
                        // node again. The next request for its slots asks another node first.
                        self.suspects.insert(addr);
                        return Err(e);
                    }
                    if replica {
                        // A replica that cannot be reached: read from the master instead.
                        read_only = false;
                        continue;
                    }
                    // Not reachable, or the connection broke: the node may have failed over.
                    // A connect error means nothing was sent, so asking the new owner is safe;
                    // after a broken send only when the caller says so.
                    let never_sent = matches!(e, Error::Connect { .. });
                    if failed_over || !(never_sent || retry_safe) {
                        return Err(e);
                    }
                    failed_over = true;
                    if self.refresh(None, Some(&addr), ctx, stats).is_err() {
                        return Err(e);
                    }
                    continue;
                }
            };
            let mut got = got.into_iter();
            if replica && !asking {
                got.next();
            }
            let mut still = Vec::new();
            let mut moved_to = None;
            for &i in &batch {
                if asking {
                    got.next();
                }
                let v = got.next().unwrap_or(Value::Nil);
                match redirect(&v) {
                    Some(Redirect::Moved(to)) => {
                        moved_to = Some(to);
                        still.push((i, None));
                    }
                    Some(Redirect::Ask(to)) => still.push((i, Some(to))),
                    None => replies[i] = Some(v),
                }
            }
            if let Some(to) = moved_to {
                // The slot moved (resharding, or a failover we had not seen): the node that said
                // so is up, so ask it for the whole map; failing that, remember this one slot.
                if self.refresh(Some(&to), None, ctx, stats).is_err() {
                    let index = self.shard_index(Shard {
                        master: to,
                        replicas: Vec::new(),
                    });
                    self.slots[usize::from(slot)] = Some(index);
                }
            }
            pending.retain(|(i, _)| !batch.contains(i));
            pending.extend(still);
            pending.sort();
            if pending.is_empty() {
                return Ok(replies.into_iter().map(Option::unwrap_or_default).collect());
            }
        }
        Err(ctx.error(
            self.spec.label(),
            format!("slot {slot} was still being redirected after {MAX_REDIRECTS} tries"),
        ))
    }

    /// Every master serving slots, `host:port`, from a fresh `CLUSTER SLOTS` (for commands that
    /// must reach each master once, as a key scan does).
    pub fn masters(&mut self, ctx: &Op<'_>, stats: &mut StoreStats) -> Result<Vec<String>> {
        self.refresh(None, None, ctx, stats)?;
        let mut masters: Vec<String> = self.shards.iter().map(|s| s.master.clone()).collect();
        masters.sort();
        masters.dedup();
        Ok(masters)
    }

    /// Run `p` on the node `addr` as it is: no slot routing, no redirect followed (a key that
    /// moved answers with its MOVED error in its slot).
    pub fn run_on_node(
        &mut self,
        addr: &str,
        p: &Pipeline,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        self.node(addr).run(p, true, ctx, stats)
    }

    /// The connection to node `addr` (created on first use).
    pub fn node_mut(&mut self, addr: &str) -> &mut Node {
        self.node(addr)
    }

    /// The label messages use for node `addr` (`tcp://h:p`).
    pub fn node_label(&mut self, addr: &str) -> String {
        self.node(addr).endpoint.label.clone()
    }

    /// The master of `slot` got no reply in time on its last command.
    pub fn was_silent(&self, slot: u16) -> bool {
        let shard = self.slots.get(usize::from(slot)).copied().flatten();
        shard.is_some_and(|i| self.suspects.contains(&self.shards[i].master))
    }

    pub fn disconnect(&mut self) {
        self.nodes.values_mut().for_each(Node::disconnect);
    }
}

enum Redirect {
    Moved(String),
    Ask(String),
}

/// `MOVED 3999 127.0.0.1:6381` / `ASK 3999 127.0.0.1:6381` error replies.
fn redirect(v: &Value) -> Option<Redirect> {
    let Value::ServerError(e) = v else {
        return None;
    };
    let to = e.details()?.split_whitespace().nth(1)?.to_owned();
    match e.code() {
        "MOVED" => Some(Redirect::Moved(to)),
        "ASK" => Some(Redirect::Ask(to)),
        _ => None,
    }
}

/// The slot of a command's first key: argument 1, or for EVAL the first key after `numkeys`.
fn command_slot(c: &Cmd) -> Option<u16> {
    let args: Vec<&[u8]> = c
        .args_iter()
        .filter_map(|a| match a {
            redis::Arg::Simple(a) => Some(a),
            _ => None,
        })
        .collect();
    let name = args.first()?;
    let key = if name.eq_ignore_ascii_case(b"EVAL") || name.eq_ignore_ascii_case(b"EVALSHA") {
        let numkeys: usize = std::str::from_utf8(args.get(2)?).ok()?.parse().ok()?;
        if numkeys == 0 {
            return None;
        }
        args.get(3)?
    } else {
        args.get(1)?
    };
    Some(super::keys::slot(key))
}

fn is_read_only(c: &Cmd) -> bool {
    match c.args_iter().next() {
        Some(redis::Arg::Simple(name)) => READ_ONLY.iter().any(|r| name.eq_ignore_ascii_case(r)),
        _ => false,
    }
}

/// `host:port` or `[v6]:port` to its parts (port 6379 when missing or unreadable: the message
/// for the failed connect then names the address as written).
fn split_addr(addr: &str) -> (String, u16) {
    let (host, port) = addr.rsplit_once(':').unwrap_or((addr, "6379"));
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (host.to_owned(), port.parse().unwrap_or(6379))
}

fn host_of(addr: &str) -> String {
    split_addr(addr).0
}

/// `CLUSTER SLOTS`: `[[start, end, [host, port, id, ...], [replica host, port, ...], ...], ...]`.
/// An empty host means "the node you asked" (`asked_host`).
fn parse_slots(
    reply: Option<Value>,
    asked_host: String,
) -> std::result::Result<Vec<(u16, u16, Shard)>, String> {
    let node_addr = |v: &Value| -> Option<String> {
        let Value::Array(parts) = v else { return None };
        let host = match parts.first()? {
            Value::BulkString(h) => String::from_utf8_lossy(h).into_owned(),
            Value::SimpleString(h) => h.clone(),
            _ => return None,
        };
        let host = if host.is_empty() || host == "?" {
            asked_host.clone()
        } else {
            host
        };
        let Value::Int(port) = parts.get(1)? else {
            return None;
        };
        Some(if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        })
    };
    let ranges = match reply {
        Some(Value::Array(r)) => r,
        Some(Value::ServerError(e)) => return Err(super::endpoint::server_reply(&e)),
        other => return Err(format!("unexpected reply {other:?}")),
    };
    let mut out = Vec::with_capacity(ranges.len());
    for range in &ranges {
        let Value::Array(parts) = range else {
            return Err(format!("unexpected slot range {range:?}"));
        };
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(master)) = (
            parts.first(),
            parts.get(1),
            parts.get(2).and_then(node_addr),
        ) else {
            return Err(format!("unexpected slot range {range:?}"));
        };
        let replicas = parts.iter().skip(3).filter_map(node_addr).collect();
        let (Ok(start), Ok(end)) = (u16::try_from(*start), u16::try_from(*end)) else {
            return Err(format!("slot out of range in {range:?}"));
        };
        out.push((start, end, Shard { master, replicas }));
    }
    if out.is_empty() {
        return Err("no slots served".into());
    }
    Ok(out)
}

/// A store pipeline as cluster commands. Its EVALSHA goes as EVAL: a node we have not used yet (a
/// new master after a failover) would answer NOSCRIPT, and our scripts are only a few hundred
/// bytes. Without GETEX (Redis before 6.2), `GETEX k EX t` becomes `GET k` with `EXPIRE k t`
/// appended after the other commands, so reply positions do not move.
fn to_cluster_commands(p: &Pipeline, getex: bool) -> Vec<Cmd> {
    let mut cp = Vec::new();
    let mut expires = Vec::new();
    for c in p.cmd_iter() {
        let mut args = c.args_iter();
        let first = match args.next() {
            Some(redis::Arg::Simple(a)) => a,
            _ => continue,
        };
        if first.eq_ignore_ascii_case(b"EVALSHA") {
            let sha = match args.next() {
                Some(redis::Arg::Simple(a)) => a,
                _ => continue,
            };
            let mut e = Cmd::new();
            e.arg("EVAL").arg(script_source(sha));
            for a in args {
                if let redis::Arg::Simple(a) = a {
                    e.arg(a);
                }
            }
            cp.push(e);
        } else if !getex && first.eq_ignore_ascii_case(b"GETEX") {
            let rest: Vec<&[u8]> = args
                .filter_map(|a| {
                    if let redis::Arg::Simple(a) = a {
                        Some(a)
                    } else {
                        None
                    }
                })
                .collect();
            if let [key, _ex, ttl] = rest.as_slice() {
                let mut get = Cmd::new();
                get.arg("GET").arg(*key);
                cp.push(get);
                let mut expire = Cmd::new();
                expire.arg("EXPIRE").arg(*key).arg(*ttl);
                expires.push(expire);
            }
        } else {
            cp.push(c.clone());
        }
    }
    for e in expires {
        cp.push(e);
    }
    cp
}

fn script_source(sha: &[u8]) -> &'static str {
    for s in SCRIPTS.iter().chain(super::user_index::SCRIPTS.iter()) {
        // Cached hashes: this runs for every script a cluster request sends.
        if super::lock::script_sha(s).as_bytes() == sha {
            return s;
        }
    }
    // Only our own scripts are ever sent; an unknown hash makes Redis answer with a clear error.
    "return redis.error_reply('phpsess: unknown script')"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: i64) -> Value {
        Value::Array(vec![
            Value::BulkString(host.as_bytes().to_vec()),
            Value::Int(port),
            Value::BulkString(b"0123abcd".to_vec()),
        ])
    }

    #[test]
    fn cluster_slots_reply_becomes_ranges_with_masters_and_replicas() {
        let reply = Value::Array(vec![
            Value::Array(vec![
                Value::Int(0),
                Value::Int(5460),
                node("10.0.0.1", 7000),
                node("10.0.0.4", 7003),
            ]),
            // An empty host means the node that was asked; IPv6 hosts get brackets.
            Value::Array(vec![Value::Int(5461), Value::Int(16383), node("", 7001)]),
            Value::Array(vec![Value::Int(9), Value::Int(9), node("::1", 7002)]),
        ]);
        let ranges = parse_slots(Some(reply), "10.0.0.9".into()).unwrap();
        assert_eq!(ranges[0].2.master, "10.0.0.1:7000");
        assert_eq!(ranges[0].2.replicas, vec!["10.0.0.4:7003".to_owned()]);
        assert_eq!((ranges[1].0, ranges[1].1), (5461, 16383));
        assert_eq!(ranges[1].2.master, "10.0.0.9:7001");
        assert_eq!(ranges[2].2.master, "[::1]:7002");
        assert_eq!(split_addr("[::1]:7002"), ("::1".to_owned(), 7002));
        assert!(parse_slots(Some(Value::Array(vec![])), String::new()).is_err());
    }

    #[test]
    fn commands_are_routed_by_their_first_key() {
        let mut get = Cmd::new();
        get.arg("GET").arg("{a}x");
        let mut eval = Cmd::new();
        eval.arg("EVAL")
            .arg("return 1")
            .arg(1)
            .arg("{a}_LOCK")
            .arg("t");
        assert_eq!(command_slot(&get), Some(super::super::keys::slot(b"a")));
        assert_eq!(command_slot(&eval), command_slot(&get));
        assert!(is_read_only(&get) && !is_read_only(&eval));
    }
}
