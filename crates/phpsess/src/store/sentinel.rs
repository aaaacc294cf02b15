//! A master found through Redis Sentinel: ask the sentinels for the master's address, talk to it,
//! and ask again when it stops answering, turns read-only, or the last answer is older than
//! [`MASTER_RECHECK`] (after a planned failover the old master answers normally for seconds, and
//! what it accepts then is dropped when the sentinels demote it).
//!
//! The decisions live in [`MasterWatch`] and [`Plan`] and the command and reply helpers below,
//! without I/O: which sentinel to ask first, when to ask again, when a pipeline checks `ROLE` or
//! ends in `WAIT`, what the master's replies mean. [`SentinelTarget`] (the blocking store) and the
//! async store's Sentinel place each do only their own I/O around them.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use redis::{ConnectionAddr, Pipeline, Value};

use super::endpoint::Endpoint;
use super::node::{Node, Op};
use super::stats::StoreStats;
use crate::error::{Error, Result};

/// How to find the master through Sentinel. `Debug` shows passwords' lengths only.
#[derive(Clone)]
#[non_exhaustive]
pub struct SentinelSpec {
    /// Sentinel addresses, `(host, port)`.
    pub sentinels: Vec<(String, u16)>,
    /// The monitored master's name.
    pub master_name: String,
    /// Password for the sentinels themselves, if they require one.
    pub sentinel_password: Option<String>,
    /// How to log in to the master once found (its `addr` is replaced by discovery).
    pub master: Endpoint,
    /// Key prefix.
    pub prefix: Vec<u8>,
    /// Replicas that must confirm a session write (`WAIT`, in the write's own round trip) before
    /// it counts as done; 0 switches the check off. Replication is asynchronous: in the second or
    /// so between a replica's promotion and the sentinels announcing it, the old master still
    /// accepts writes that the failover then drops. Its promoted replica stops confirming them at
    /// once, so with the check such a write fails instead of vanishing. The price: a write fails
    /// while fewer replicas than this are connected (as with Redis's own `min-replicas-to-write`).
    pub wait_replicas: u32,
}

impl std::fmt::Debug for SentinelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelSpec")
            .field("sentinels", &self.sentinels)
            .field("master_name", &self.master_name)
            .field(
                "sentinel_password",
                &super::redact::RedactedPassword(&self.sentinel_password),
            )
            .field("master", &self.master)
            .field("prefix", &String::from_utf8_lossy(&self.prefix))
            .finish()
    }
}

impl SentinelSpec {
    /// Label for messages: `sentinel://mymaster@h1:26379,h2:26379`.
    pub fn label(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect();
        format!("sentinel://{}@{}", self.master_name, hosts.join(","))
    }
}

/// Default of [`SentinelSpec::wait_replicas`].
pub const DEFAULT_WAIT_REPLICAS: u32 = 1;

/// Longest wait for replicas to confirm a write. A healthy replica confirms within a millisecond or
/// two (the master asks for the acknowledgement as soon as the write is applied); a missing one
/// should fail the write quickly, not hold a PHP worker. Never more than half the read timeout.
pub(crate) const REPLICA_WAIT: Duration = Duration::from_millis(100);

/// How long the sentinels' answer is trusted before they are asked again. After a failover the old
/// master keeps accepting writes until the sentinels demote it (seconds later), and a demoted master
/// resyncs and drops them: an old answer must not route writes there for long. Asking costs one
/// round trip to a sentinel at most once per interval, on a kept connection.
pub(crate) const MASTER_RECHECK: Duration = Duration::from_secs(1);

/// What a store knows of the master the sentinels named, and the decisions made from it. No I/O.
#[derive(Debug, Default)]
pub(crate) struct MasterWatch {
    /// The master's address, as a sentinel named it.
    master: Option<(String, u16)>,
    /// When a sentinel last named `master`.
    confirmed_at: Option<Instant>,
    /// False until `ROLE` on `master` said master: a sentinel with an old view may name a replica,
    /// which would serve stale reads (writes there fail with READONLY).
    role_checked: bool,
    /// The sentinel that answered last (index in [`SentinelSpec::sentinels`]): asked first.
    last_sentinel: usize,
    /// Until then writes skip `WAIT`: the master was found with too few replicas to confirm
    /// writes, and none of its replicas had been promoted (after a `kill -9` failover the new
    /// master has no replica until the old one returns; waiting on every write would only slow
    /// the site down). Checked again after [`MASTER_RECHECK`].
    unreplicated_until: Option<Instant>,
}

impl MasterWatch {
    /// The sentinels must be asked before the next command: no master yet, or the last answer
    /// is older than [`MASTER_RECHECK`].
    pub fn needs_asking(&self) -> bool {
        let fresh = self
            .confirmed_at
            .is_some_and(|at| at.elapsed() < MASTER_RECHECK);
        self.master.is_none() || !fresh
    }

    /// The order to ask `count` sentinels in: the one that answered last first, then the rest.
    pub fn ask_order(&self, count: usize) -> impl Iterator<Item = usize> {
        let first = if self.last_sentinel < count {
            self.last_sentinel
        } else {
            0
        };
        (0..count).map(move |k| (first + k) % count)
    }

    /// Sentinel `sentinel` named `host:port` as the master just now. True when that is another
    /// master than the one known (connect to it; its `ROLE` is checked with the first commands).
    pub fn named(&mut self, sentinel: usize, host: String, port: u16) -> bool {
        self.last_sentinel = sentinel;
        self.confirmed_at = Some(Instant::now());
        if self
            .master
            .as_ref()
            .is_some_and(|(h, p)| *h == host && *p == port)
        {
            return false;
        }
        self.master = Some((host, port));
        self.role_checked = false;
        self.unreplicated_until = None;
        true
    }

    /// The master known, if any.
    pub fn master(&self) -> Option<&(String, u16)> {
        self.master.as_ref()
    }

    /// The master moved or died: ask the sentinels before the next command.
    pub fn forget_master(&mut self) {
        self.master = None;
        self.confirmed_at = None;
        self.role_checked = false;
        self.unreplicated_until = None;
    }

    /// How to send `p` to the master now: with `ROLE` in front while the master's role is
    /// unchecked, with `WAIT` behind when `p` writes session data (the lock's `SET NX` alone
    /// does not: it is retried by the next request, not acknowledged to the user).
    pub fn plan(&self, spec: &SentinelSpec, p: &Pipeline) -> Plan {
        let unreplicated = self
            .unreplicated_until
            .is_some_and(|until| Instant::now() < until);
        let wait = (spec.wait_replicas > 0 && !unreplicated && p.cmd_iter().any(writes_data))
            .then(|| REPLICA_WAIT.min(spec.master.read_timeout / 2));
        Plan {
            check_role: !self.role_checked,
            wait,
            replicas: spec.wait_replicas,
        }
    }

    /// The master said `ROLE` master (a [`Plan`] with `check_role` came back
    /// [`Judged::Done`]).
    pub fn role_confirmed(&mut self) {
        self.role_checked = true;
    }

    /// Too few replicas confirmed a write, but none was promoted from this master
    /// ([`promoted_from`]): its writes stand, skip `WAIT` for a while.
    pub fn unreplicated(&mut self) {
        self.unreplicated_until = Some(Instant::now() + MASTER_RECHECK);
    }
}

/// How one pipeline goes to the master ([`MasterWatch::plan`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plan {
    /// `ROLE` goes first: the master is new, should it be a replica after all, the writes in
    /// there failed with READONLY and the reads are thrown away.
    pub check_role: bool,
    /// `WAIT replicas ms` goes last.
    pub wait: Option<Duration>,
    replicas: u32,
}

/// What the master's answer to a [`Plan`] means.
#[derive(Debug)]
pub(crate) enum Judged<E> {
    /// Taken by the master; the replies of the caller's own commands.
    Done {
        replies: Vec<Value>,
        /// With `WAIT`: fewer replicas than asked confirmed it, this many. Then the write may
        /// be dropped by a failover under way, unless [`promoted_from`] says none is.
        unconfirmed: Option<i64>,
    },
    /// Not the master any more (a replica, READONLY) or unreachable (`Some`: the error): ask
    /// the sentinels again. Nothing was written on a replica.
    Stale(Option<E>),
    /// Failed for another reason.
    Failed(E),
}

impl Plan {
    /// `p` with `ROLE` in front and `WAIT` behind as planned (errors kept in their slots).
    pub fn pipeline<'a>(&self, p: &'a Pipeline) -> Cow<'a, Pipeline> {
        if !self.check_role && self.wait.is_none() {
            return Cow::Borrowed(p);
        }
        let mut q = redis::pipe();
        q.ignore_errors();
        if self.check_role {
            q.cmd("ROLE");
        }
        for c in p.cmd_iter() {
            q.add_command(c.clone());
        }
        if let Some(wait) = self.wait {
            q.cmd("WAIT")
                .arg(self.replicas)
                .arg(wait.as_millis().max(1) as u64);
        }
        Cow::Owned(q)
    }

    /// Read the master's answer to [`pipeline`](Self::pipeline). `stale` says which errors mean
    /// the master is gone (a connection or exchange that failed) rather than something else.
    pub fn judge<E>(&self, result: Result<Vec<Value>, E>, stale: impl Fn(&E) -> bool) -> Judged<E> {
        let mut replies = match result {
            Ok(r) => r,
            Err(e) if stale(&e) => return Judged::Stale(Some(e)),
            Err(e) => return Judged::Failed(e),
        };
        if self.check_role {
            let role = if replies.is_empty() {
                Value::Nil
            } else {
                replies.remove(0)
            };
            if !is_master(&role) {
                return Judged::Stale(None);
            }
        }
        // A demoted master refuses writes with READONLY: nothing was written, so this is an
        // error that sends us back to the sentinels, never an acknowledgement.
        if replies
            .iter()
            .any(|r| matches!(r, Value::ServerError(e) if e.code() == "READONLY"))
        {
            return Judged::Stale(None);
        }
        let mut unconfirmed = None;
        if self.wait.is_some() {
            let confirmed = match replies.pop() {
                Some(Value::Int(n)) => n,
                _ => 0,
            };
            if confirmed < i64::from(self.replicas) {
                unconfirmed = Some(confirmed);
            }
        }
        Judged::Done {
            replies,
            unconfirmed,
        }
    }

    /// The message of a write too few replicas confirmed (and one of them was promoted).
    pub fn unconfirmed_text(&self, confirmed: i64) -> String {
        format!(
            "the write was confirmed by {confirmed} of {} replica(s) within {} ms; it may be lost \
             if the master is failing over",
            self.replicas,
            self.wait.unwrap_or_default().as_millis()
        )
    }
}

/// The message of a pipeline a replica (an old master) refused.
pub(crate) const NOT_MASTER: &str =
    "not the master any more (failover in progress); nothing was written";

/// `SENTINEL get-master-addr-by-name <name>`, answered as `(host, port)`.
pub(crate) fn master_addr_cmd(spec: &SentinelSpec) -> redis::Cmd {
    let mut c = redis::cmd("SENTINEL");
    c.arg("get-master-addr-by-name").arg(&spec.master_name);
    c
}

/// `SENTINEL REPLICAS <name>`, answered as one list of field/value pairs per replica
/// ([`replica_addrs`]).
pub(crate) fn replicas_cmd(spec: &SentinelSpec) -> redis::Cmd {
    let mut c = redis::cmd("SENTINEL");
    c.arg("REPLICAS").arg(&spec.master_name);
    c
}

/// The `ip` and `port` of each replica a sentinel listed.
pub(crate) fn replica_addrs(replicas: &[Vec<String>]) -> Vec<(String, u16)> {
    replicas
        .iter()
        .filter_map(|r| {
            let field = |name: &str| {
                r.chunks(2)
                    .find(|kv| kv.len() == 2 && kv[0] == name)
                    .map(|kv| kv[1].clone())
            };
            Some((field("ip")?, field("port")?.parse().ok()?))
        })
        .collect()
}

/// How to log in to the server at `host:port` (a master or replica the sentinels named): the
/// save_path's login, its address replaced.
pub(crate) fn server_endpoint(spec: &SentinelSpec, host: String, port: u16) -> Endpoint {
    let mut ep = spec.master.clone();
    ep.label = format!("tcp://{host}:{port}");
    ep.addr = ConnectionAddr::Tcp(host, port);
    ep
}

/// How to reach the sentinel at `host:port` (its own password, if any).
pub(crate) fn sentinel_connection_info(
    spec: &SentinelSpec,
    host: &str,
    port: u16,
) -> redis::RedisResult<redis::ConnectionInfo> {
    let mut info = redis::RedisConnectionInfo::default().set_skip_set_lib_name();
    if let Some(pw) = &spec.sentinel_password {
        info = info.set_password(pw);
    }
    Ok(
        redis::IntoConnectionInfo::into_connection_info(ConnectionAddr::Tcp(
            host.to_owned(),
            port,
        ))?
        .set_redis_settings(info),
    )
}

/// How long to wait on a sentinel or a replica: the connect timeout (at least 1 ms).
pub(crate) fn side_timeout(spec: &SentinelSpec) -> Duration {
    spec.master.connect_timeout.max(Duration::from_millis(1))
}

/// The label of the master known, for messages: `tcp://10.0.0.7:6379 (mymaster)`.
pub(crate) fn master_label(spec: &SentinelSpec, master: Option<&(String, u16)>) -> String {
    match master {
        Some((h, p)) => format!("tcp://{h}:{p} ({})", spec.master_name),
        None => spec.label(),
    }
}

/// `ROLE` and `INFO replication`, for [`replication_ids`].
pub(crate) fn replication_pipeline() -> Pipeline {
    let mut p = redis::pipe();
    p.ignore_errors();
    p.cmd("ROLE");
    p.cmd("INFO").arg("replication");
    p
}

/// From the replies to [`replication_pipeline`]: whether the server is a master, its
/// `master_replid` and its `master_replid2` (`None` when absent or all zeros: never promoted).
pub(crate) fn replication_ids(replies: &[Value]) -> (bool, Option<String>, Option<String>) {
    let master = replies.first().is_some_and(is_master);
    let info = match replies.get(1) {
        Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(Value::VerbatimString { text, .. }) => text.clone(),
        _ => String::new(),
    };
    let field = |name: &str| {
        info.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty() && v.bytes().any(|b| b != b'0'))
    };
    (master, field("master_replid"), field("master_replid2"))
}

/// Was the replica that answered `replica` ([`replication_ids`]) promoted from the master whose
/// `master_replid` is `ours`? Then what that master accepts now is about to be dropped. A
/// replica says `role:master` having kept our id as `master_replid2`; an old master the
/// sentinels moved away from (it says `role:master` for seconds, until they demote it) has
/// another history, and a replica or a server that is down is no threat.
pub(crate) fn promoted_from(ours: &str, replica: &(bool, Option<String>, Option<String>)) -> bool {
    let (master, _, replid2) = replica;
    *master && replid2.as_deref().unwrap_or_default() == ours
}

/// The blocking store's Sentinel place: a [`MasterWatch`] and the connections it needs.
pub(crate) struct SentinelTarget {
    pub spec: SentinelSpec,
    watch: MasterWatch,
    /// The connection to the master the watch knows.
    node: Option<Node>,
    /// A kept connection to the sentinel that answered last, with its index in `spec.sentinels`.
    sentinel: Option<(usize, redis::Connection)>,
    pub getex: bool,
}

impl SentinelTarget {
    pub fn new(spec: SentinelSpec) -> Self {
        SentinelTarget {
            spec,
            watch: MasterWatch::default(),
            node: None,
            sentinel: None,
            getex: true,
        }
    }

    /// The current master's label, or the sentinel label before discovery.
    pub fn label(&self) -> String {
        master_label(&self.spec, self.watch.master())
    }

    /// Ask the sentinels where the master is (the one that answered last first); switch to it if
    /// it moved.
    fn discover(&mut self, id: &str, stats: &mut StoreStats) -> Result<()> {
        let mut last = String::from("no sentinels configured");
        let order: Vec<usize> = self.watch.ask_order(self.spec.sentinels.len()).collect();
        for n in order {
            let (host, port) = &self.spec.sentinels[n];
            let kept = match self.sentinel.take() {
                Some((i, conn)) if i == n => Some(conn),
                _ => None,
            };
            let had_kept = kept.is_some();
            let mut answer = ask_sentinel(host, *port, kept, &self.spec, stats);
            if had_kept && answer.is_err() {
                // The kept connection may have died while idle (a restarted sentinel): one new one.
                answer = ask_sentinel(host, *port, None, &self.spec, stats);
            }
            match answer {
                Ok(((mhost, mport), conn)) => {
                    self.sentinel = Some((n, conn));
                    if self.watch.named(n, mhost.clone(), mport) || self.node.is_none() {
                        let mut node = Node::new(server_endpoint(&self.spec, mhost, mport));
                        node.getex = self.getex;
                        self.node = Some(node);
                    }
                    return Ok(());
                }
                Err(e) => last = format!("{host}:{port}: {e}"),
            }
        }
        Err(no_master_error(&self.spec, id, &last))
    }

    fn forget_master(&mut self) {
        self.watch.forget_master();
        self.node = None;
    }

    pub fn run(
        &mut self,
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        for attempt in 0..2 {
            if self.node.is_none() || self.watch.needs_asking() {
                self.discover(ctx.id, stats)?;
            }
            let plan = self.watch.plan(&self.spec, p);
            let Some(node) = self.node.as_mut() else {
                continue;
            };
            let result = node.run(&plan.pipeline(p), retry_safe, ctx, stats);
            let judged = plan.judge(result, |e| {
                matches!(e, Error::Connect { .. } | Error::Redis { .. })
            });
            let stale = match judged {
                Judged::Done {
                    replies,
                    unconfirmed,
                } => {
                    if plan.check_role {
                        self.watch.role_confirmed();
                    }
                    if let Some(confirmed) = unconfirmed {
                        if !self.unreplicated_is_safe(ctx.id, stats) {
                            // One of the replicas was promoted (or the sentinels name another
                            // master): what this master just accepted is about to be dropped.
                            // Fail, and ask the sentinels again before the next command.
                            let label = self.label();
                            self.forget_master();
                            return Err(ctx.error(label, plan.unconfirmed_text(confirmed)));
                        }
                    }
                    return Ok(replies);
                }
                Judged::Failed(e) => return Err(e),
                Judged::Stale(e) => e,
            };
            // The master moved (or died): forget it and ask the sentinels again.
            let label = self.label();
            self.forget_master();
            if attempt == 1 || !retry_safe {
                return Err(stale.unwrap_or_else(|| ctx.error(label, NOT_MASTER.into())));
            }
        }
        Err(Error::Connect {
            host: self.spec.label(),
            timeout_secs: self.spec.master.connect_timeout.as_secs_f64(),
            id: super::redact::short_id(ctx.id),
            detail: "master unavailable after rediscovery".into(),
            source: None,
        })
    }

    /// Too few replicas confirmed a write: is that because they are gone (the write stands), or
    /// because a failover is under way (it will be dropped)? True when a sentinel still names
    /// this master and none of the replicas it knows was promoted from this master
    /// ([`promoted_from`]); then `WAIT` is skipped for a while. Right after a planned failover
    /// the old master is such a replica that says `role:master` for seconds until the sentinels
    /// demote it: it was not promoted from the new master, so the new master's writes stand
    /// meanwhile (they were all refused until then).
    fn unreplicated_is_safe(&mut self, id: &str, stats: &mut StoreStats) -> bool {
        let Some(before) = self.watch.master().cloned() else {
            return false;
        };
        if self.discover(id, stats).is_err() || self.watch.master() != Some(&before) {
            return false;
        }
        let Some((_, conn)) = self.sentinel.as_mut() else {
            return false;
        };
        stats.round_trips += 1;
        stats.commands += 1;
        let replicas: Vec<Vec<String>> = match replicas_cmd(&self.spec).query(conn) {
            Ok(r) => r,
            Err(_) => return false,
        };
        let Some(node) = self.node.as_mut() else {
            return false;
        };
        // Our master's replication id, which a replica promoted from it keeps as
        // `master_replid2`.
        let ours = match node_replication_ids(node, stats) {
            Ok((true, Some(replid), _)) => replid,
            _ => return false,
        };
        let timeout = side_timeout(&self.spec);
        for (ip, port) in replica_addrs(&replicas) {
            let mut ep = server_endpoint(&self.spec, ip, port);
            ep.connect_timeout = timeout;
            ep.read_timeout = timeout;
            let mut replica = Node::new(ep);
            if let Ok(ids) = node_replication_ids(&mut replica, stats) {
                if promoted_from(&ours, &ids) {
                    return false;
                }
            }
        }
        self.watch.unreplicated();
        true
    }

    pub fn set_no_getex(&mut self) {
        self.getex = false;
        if let Some(n) = &mut self.node {
            n.getex = false;
        }
    }

    pub fn disconnect(&mut self) {
        self.forget_master();
        self.sentinel = None;
    }
}

/// No sentinel named a master; `last` says what the last one tried answered.
pub(crate) fn no_master_error(spec: &SentinelSpec, id: &str, last: &str) -> Error {
    Error::Connect {
        host: spec.label(),
        timeout_secs: spec.master.connect_timeout.as_secs_f64(),
        id: super::redact::short_id(id),
        detail: format!("no sentinel named a master: {last}"),
        source: None,
    }
}

/// [`replication_ids`] of `node`, in one round trip.
fn node_replication_ids(
    node: &mut Node,
    stats: &mut StoreStats,
) -> Result<(bool, Option<String>, Option<String>)> {
    let ctx = Op {
        op: "role",
        key: b"",
        id: "",
    };
    let replies = node.run(&replication_pipeline(), false, &ctx, stats)?;
    Ok(replication_ids(&replies))
}

/// Commands that change session data: SETEX, SET without NX (the lock's SET NX is not data), DEL,
/// EXPIRE and the write/touch/unlock scripts.
pub(crate) fn writes_data(c: &redis::Cmd) -> bool {
    let mut args = c.args_iter().filter_map(|a| match a {
        redis::Arg::Simple(a) => Some(a),
        _ => None,
    });
    let Some(name) = args.next() else {
        return false;
    };
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    if is("SET") {
        return !args.any(|a| a.eq_ignore_ascii_case(b"NX"));
    }
    is("SETEX") || is("DEL") || is("EXPIRE") || is("EVALSHA") || is("EVAL")
}

/// A `ROLE` reply whose first element is `master`.
fn is_master(role: &Value) -> bool {
    match role {
        Value::Array(parts) => matches!(
            parts.first(),
            Some(Value::BulkString(r)) if r.as_slice() == b"master"
        ),
        _ => false,
    }
}

fn ask_sentinel(
    host: &str,
    port: u16,
    kept: Option<redis::Connection>,
    spec: &SentinelSpec,
    stats: &mut StoreStats,
) -> redis::RedisResult<((String, u16), redis::Connection)> {
    let mut conn = match kept {
        Some(conn) => conn,
        None => {
            let ci = sentinel_connection_info(spec, host, port)?;
            let timeout = side_timeout(spec);
            let conn = redis::Client::open(ci)?.get_connection_with_timeout(timeout)?;
            conn.set_read_timeout(Some(timeout))?;
            conn.set_write_timeout(Some(timeout))?;
            stats.connects += 1;
            conn
        }
    };
    stats.round_trips += 1;
    stats.commands += 1;
    let (h, p): (String, u16) = master_addr_cmd(spec).query(&mut conn)?;
    Ok(((h, p), conn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> SentinelSpec {
        SentinelSpec {
            sentinels: vec![("a".into(), 1), ("b".into(), 2), ("c".into(), 3)],
            master_name: "m".into(),
            sentinel_password: None,
            master: Endpoint::tcp("sentinel-discovered", 0),
            prefix: b"P:".to_vec(),
            wait_replicas: 1,
        }
    }

    fn write() -> Pipeline {
        let mut p = redis::pipe();
        p.cmd("SETEX").arg("P:x").arg(10).arg("v");
        p
    }

    fn lock_attempt() -> Pipeline {
        let mut p = redis::pipe();
        p.cmd("SET")
            .arg("P:x_LOCK")
            .arg("t")
            .arg("NX")
            .arg("PX")
            .arg(100);
        p.cmd("GET").arg("P:x");
        p
    }

    fn role(r: &str) -> Value {
        Value::Array(vec![Value::BulkString(r.as_bytes().to_vec())])
    }

    #[test]
    fn the_sentinel_that_answered_is_asked_first_and_a_move_is_noticed() {
        let mut watch = MasterWatch::default();
        assert!(watch.needs_asking());
        assert_eq!(watch.ask_order(3).collect::<Vec<_>>(), [0, 1, 2]);
        assert!(watch.named(1, "10.0.0.1".into(), 6379));
        assert!(!watch.needs_asking());
        assert_eq!(watch.ask_order(3).collect::<Vec<_>>(), [1, 2, 0]);
        assert!(!watch.named(2, "10.0.0.1".into(), 6379), "same master");
        assert!(watch.named(2, "10.0.0.2".into(), 6379), "moved");
        assert_eq!(
            master_label(&spec(), watch.master()),
            "tcp://10.0.0.2:6379 (m)"
        );
        watch.forget_master();
        assert!(watch.needs_asking());
        assert_eq!(
            master_label(&spec(), watch.master()),
            "sentinel://m@a:1,b:2,c:3"
        );
    }

    #[test]
    fn a_new_master_is_asked_its_role_and_session_writes_wait_for_a_replica() {
        let spec = spec();
        let mut watch = MasterWatch::default();
        watch.named(0, "h".into(), 1);
        let plan = watch.plan(&spec, &write());
        assert!(plan.check_role);
        assert_eq!(plan.wait, Some(REPLICA_WAIT));
        let w = write();
        let sent = plan.pipeline(&w);
        let names: Vec<String> = sent
            .cmd_iter()
            .map(|c| match c.args_iter().next() {
                Some(redis::Arg::Simple(a)) => String::from_utf8_lossy(a).into_owned(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(names, ["ROLE", "SETEX", "WAIT"]);
        // The lock's SET NX is no session write: no WAIT.
        assert_eq!(watch.plan(&spec, &lock_attempt()).wait, None);
        watch.role_confirmed();
        let plan = watch.plan(&spec, &lock_attempt());
        assert!(!plan.check_role);
        let l = lock_attempt();
        assert!(matches!(plan.pipeline(&l), Cow::Borrowed(_)));
        // Found unreplicated (no replica promoted away): WAIT is skipped for a while.
        watch.unreplicated();
        assert_eq!(watch.plan(&spec, &write()).wait, None);
    }

    #[test]
    fn replies_judged_as_done_stale_or_unconfirmed() {
        let spec = spec();
        let mut watch = MasterWatch::default();
        watch.named(0, "h".into(), 1);
        let plan = watch.plan(&spec, &write());
        let ok = |r: Vec<Value>| plan.judge::<()>(Ok(r), |_| true);
        match ok(vec![role("master"), Value::Okay, Value::Int(1)]) {
            Judged::Done {
                replies,
                unconfirmed: None,
            } => assert_eq!(replies, [Value::Okay]),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            ok(vec![role("master"), Value::Okay, Value::Int(0)]),
            Judged::Done {
                unconfirmed: Some(0),
                ..
            }
        ));
        assert!(matches!(
            ok(vec![role("slave"), Value::Okay, Value::Int(1)]),
            Judged::Stale(None)
        ));
        let readonly =
            redis::parse_redis_value(b"-READONLY You can't write against a read only replica.\r\n")
                .expect("a RESP error reply");
        assert!(matches!(&readonly, Value::ServerError(e) if e.code() == "READONLY"));
        assert!(matches!(
            ok(vec![role("master"), readonly, Value::Int(1)]),
            Judged::Stale(None)
        ));
        assert!(matches!(
            plan.judge(Err("gone"), |_| true),
            Judged::Stale(Some("gone"))
        ));
        assert!(matches!(
            plan.judge(Err("other"), |_| false),
            Judged::Failed("other")
        ));
        assert!(plan.unconfirmed_text(0).contains("0 of 1 replica(s)"));
    }

    #[test]
    fn replicas_and_replication_ids_are_read_from_replies() {
        let listed = vec![
            vec![
                "name".into(),
                "x".into(),
                "ip".into(),
                "10.0.0.9".into(),
                "port".into(),
                "6380".into(),
            ],
            vec!["ip".into(), "10.0.0.8".into()],
        ];
        assert_eq!(replica_addrs(&listed), [("10.0.0.9".to_string(), 6380)]);
        let info = "# Replication\r\nrole:master\r\nmaster_replid:abc\r\nmaster_replid2:0000\r\n";
        let replies = [role("master"), Value::BulkString(info.as_bytes().to_vec())];
        let ids = replication_ids(&replies);
        assert_eq!(ids, (true, Some("abc".into()), None));
        assert!(!promoted_from("abc", &ids));
        assert!(promoted_from(
            "old",
            &(true, Some("new".into()), Some("old".into()))
        ));
        assert!(!promoted_from("old", &(false, None, Some("old".into()))));
    }
}
