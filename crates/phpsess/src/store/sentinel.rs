//! A master found through Redis Sentinel: ask the sentinels for the master's address, talk to it,
//! and ask again when it stops answering, turns read-only, or the last answer is older than
//! [`MASTER_RECHECK`] (after a planned failover the old master answers normally for seconds, and
//! what it accepts then is dropped when the sentinels demote it).

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
const REPLICA_WAIT: Duration = Duration::from_millis(100);

/// How long the sentinels' answer is trusted before they are asked again. After a failover the old
/// master keeps accepting writes until the sentinels demote it (seconds later), and a demoted master
/// resyncs and drops them: an old answer must not route writes there for long. Asking costs one
/// round trip to a sentinel at most once per interval, on a kept connection.
pub(crate) const MASTER_RECHECK: Duration = Duration::from_secs(1);

pub(crate) struct SentinelTarget {
    pub spec: SentinelSpec,
    node: Option<Node>,
    /// When a sentinel last named `node` as the master.
    confirmed_at: Option<Instant>,
    /// False until `ROLE` on `node` said master: a sentinel with an old view may name a replica,
    /// which would serve stale reads (writes there fail with READONLY).
    role_checked: bool,
    /// A kept connection to the sentinel that answered last, with its index in `spec.sentinels`.
    sentinel: Option<(usize, redis::Connection)>,
    /// Until then writes skip `WAIT`: the master was found with too few replicas to confirm
    /// writes, and none of its replicas had been promoted (after a `kill -9` failover the new
    /// master has no replica until the old one returns; waiting on every write would only slow
    /// the site down). Checked again after [`MASTER_RECHECK`].
    unreplicated_until: Option<Instant>,
    pub getex: bool,
}

impl SentinelTarget {
    pub fn new(spec: SentinelSpec) -> Self {
        SentinelTarget {
            spec,
            node: None,
            confirmed_at: None,
            role_checked: false,
            sentinel: None,
            unreplicated_until: None,
            getex: true,
        }
    }

    /// The current master's label, or the sentinel label before discovery.
    pub fn label(&self) -> String {
        match &self.node {
            Some(n) => format!("{} ({})", n.endpoint.label, self.spec.master_name),
            None => self.spec.label(),
        }
    }

    /// Ask the sentinels where the master is (the one that answered last first); switch to it if
    /// it moved.
    fn discover(&mut self, id: &str, stats: &mut StoreStats) -> Result<()> {
        let mut last = String::from("no sentinels configured");
        let first = self.sentinel.as_ref().map_or(0, |(i, _)| *i);
        let count = self.spec.sentinels.len();
        for n in (0..count).map(|k| (first + k) % count) {
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
                    self.confirmed_at = Some(Instant::now());
                    let same = self.node.as_ref().is_some_and(|node| {
                        matches!(&node.endpoint.addr, ConnectionAddr::Tcp(h, p) if *h == mhost && *p == mport)
                    });
                    if !same {
                        let mut ep = self.spec.master.clone();
                        ep.label = format!("tcp://{mhost}:{mport}");
                        ep.addr = ConnectionAddr::Tcp(mhost, mport);
                        let mut node = Node::new(ep);
                        node.getex = self.getex;
                        self.node = Some(node);
                        self.role_checked = false;
                    }
                    return Ok(());
                }
                Err(e) => last = format!("{host}:{port}: {e}"),
            }
        }
        Err(Error::Connect {
            host: self.spec.label(),
            timeout_secs: self.spec.master.connect_timeout.as_secs_f64(),
            id: super::redact::short_id(id),
            detail: format!("no sentinel named a master: {last}"),
            source: None,
        })
    }

    fn forget_master(&mut self) {
        self.node = None;
        self.confirmed_at = None;
        self.role_checked = false;
        self.unreplicated_until = None;
    }

    pub fn run(
        &mut self,
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        for attempt in 0..2 {
            let fresh = self
                .confirmed_at
                .is_some_and(|at| at.elapsed() < MASTER_RECHECK);
            if self.node.is_none() || !fresh {
                self.discover(ctx.id, stats)?;
            }
            let check_role = !self.role_checked;
            let wait = self.wait_for(p);
            let Some(node) = self.node.as_mut() else {
                continue;
            };
            let waited;
            let p = match wait {
                Some(wait) => {
                    waited = with_wait(p, self.spec.wait_replicas, wait);
                    &waited
                }
                None => p,
            };
            // A new master is asked for its ROLE in the same round trip as the first commands.
            // Should it be a replica after all, the writes in there failed with READONLY and the
            // reads are thrown away.
            let result = if check_role {
                node.run(&with_role(p), retry_safe, ctx, stats)
                    .map(|mut replies| {
                        let role = if replies.is_empty() {
                            Value::Nil
                        } else {
                            replies.remove(0)
                        };
                        (replies, is_master(&role))
                    })
            } else {
                node.run(p, retry_safe, ctx, stats).map(|r| (r, true))
            };
            let stale = match &result {
                Err(Error::Connect { .. }) => true,
                Err(Error::Redis { .. }) => true,
                // A demoted master refuses writes with READONLY: nothing was written, so this is
                // an error that sends us back to the sentinels, never an acknowledgement.
                Ok((replies, master)) => {
                    !master
                        || replies
                            .iter()
                            .any(|r| matches!(r, Value::ServerError(e) if e.code() == "READONLY"))
                }
                Err(_) => false,
            };
            if !stale {
                if check_role {
                    self.role_checked = true;
                }
                let mut replies = result.map(|(replies, _)| replies)?;
                if let Some(wait) = wait {
                    let confirmed = match replies.pop() {
                        Some(Value::Int(n)) => n,
                        _ => 0,
                    };
                    if confirmed < i64::from(self.spec.wait_replicas)
                        && !self.unreplicated_is_safe(ctx.id, stats)
                    {
                        // One of the replicas was promoted (or the sentinels name another
                        // master): what this master just accepted is about to be dropped. Fail,
                        // and ask the sentinels again before the next command.
                        let label = self.label();
                        self.forget_master();
                        return Err(ctx.error(
                            label,
                            format!(
                                "the write was confirmed by {confirmed} of {} replica(s) within \
                                 {} ms; it may be lost if the master is failing over",
                                self.spec.wait_replicas,
                                wait.as_millis()
                            ),
                        ));
                    }
                }
                return Ok(replies);
            }
            // The master moved (or died): forget it and ask the sentinels again.
            let label = self.label();
            self.forget_master();
            if attempt == 1 || !retry_safe {
                return match result {
                    Ok(_) => Err(ctx.error(
                        label,
                        "not the master any more (failover in progress); nothing was written"
                            .into(),
                    )),
                    Err(e) => Err(e),
                };
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

    /// How long to `WAIT` for replicas after `p`, when `p` writes session data (the lock's
    /// `SET NX` alone does not: it is retried by the next request, not acknowledged to the user).
    fn wait_for(&self, p: &Pipeline) -> Option<Duration> {
        if self.spec.wait_replicas == 0 || !p.cmd_iter().any(writes_data) {
            return None;
        }
        if self
            .unreplicated_until
            .is_some_and(|until| Instant::now() < until)
        {
            return None;
        }
        Some(REPLICA_WAIT.min(self.spec.master.read_timeout / 2))
    }

    /// Too few replicas confirmed a write: is that because they are gone (the write stands), or
    /// because a failover is under way (it will be dropped)? True when a sentinel still names
    /// this master and none of the replicas it knows says `role:master` having been promoted from
    /// this master (its `master_replid2` is our `master_replid`); then `WAIT` is skipped for a
    /// while. Right after a planned failover the old master is such a replica that says
    /// `role:master` for seconds until the sentinels demote it: it was not promoted from the new
    /// master, so the new master's writes stand meanwhile (they were all refused until then).
    fn unreplicated_is_safe(&mut self, id: &str, stats: &mut StoreStats) -> bool {
        let Some(addr) = self.node.as_ref().map(|n| n.endpoint.addr.clone()) else {
            return false;
        };
        if self.discover(id, stats).is_err() {
            return false;
        }
        let same = self.node.as_ref().is_some_and(|n| n.endpoint.addr == addr);
        let Some((_, conn)) = self.sentinel.as_mut() else {
            return false;
        };
        if !same {
            return false;
        }
        stats.round_trips += 1;
        stats.commands += 1;
        let replicas: Vec<Vec<String>> = match redis::cmd("SENTINEL")
            .arg("REPLICAS")
            .arg(&self.spec.master_name)
            .query(conn)
        {
            Ok(r) => r,
            Err(_) => return false,
        };
        let timeout = self
            .spec
            .master
            .connect_timeout
            .max(Duration::from_millis(1));
        // Our master's replication id. A replica promoted from it keeps it as `master_replid2`;
        // an old master that the sentinels have moved away from (it says `role:master` for
        // seconds, until they demote it) does not: its id is our own `master_replid2`.
        let Some(node) = self.node.as_mut() else {
            return false;
        };
        let ours = match replication_ids(node, stats) {
            Ok((true, Some(replid), _)) => replid,
            _ => return false,
        };
        for r in &replicas {
            let field = |name: &str| {
                r.chunks(2)
                    .find(|kv| kv.len() == 2 && kv[0] == name)
                    .map(|kv| kv[1].clone())
            };
            let (Some(ip), Some(port)) = (field("ip"), field("port").and_then(|p| p.parse().ok()))
            else {
                continue;
            };
            match replica_as_master(&self.spec.master, ip, port, timeout, stats) {
                // Promoted from our master: what we write is about to be dropped.
                Ok(Some(replid2)) if replid2 == ours => return false,
                // A replica, down, or a master with another history (the one we replaced).
                Ok(_) | Err(_) => {}
            }
        }
        self.unreplicated_until = Some(Instant::now() + MASTER_RECHECK);
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

/// When the server at `ip:port` says `role:master`, the replication id it had before (its
/// `master_replid2`: the id of the master it was promoted from, or `None` when it never was).
/// `Ok(None)` when it is a replica.
fn replica_as_master(
    login: &Endpoint,
    ip: String,
    port: u16,
    timeout: Duration,
    stats: &mut StoreStats,
) -> Result<Option<String>> {
    let mut ep = login.clone();
    ep.label = format!("tcp://{ip}:{port}");
    ep.addr = ConnectionAddr::Tcp(ip, port);
    ep.connect_timeout = timeout;
    ep.read_timeout = timeout;
    let mut node = Node::new(ep);
    Ok(match replication_ids(&mut node, stats)? {
        (true, _, replid2) => Some(replid2.unwrap_or_default()),
        (false, _, _) => None,
    })
}

/// `ROLE` and `INFO replication` of `node` in one round trip: whether it is a master, its
/// `master_replid` and its `master_replid2` (`None` when absent or all zeros: never promoted).
fn replication_ids(
    node: &mut Node,
    stats: &mut StoreStats,
) -> Result<(bool, Option<String>, Option<String>)> {
    let mut p = redis::pipe();
    p.ignore_errors();
    p.cmd("ROLE");
    p.cmd("INFO").arg("replication");
    let ctx = Op {
        op: "role",
        key: b"",
        id: "",
    };
    let replies = node.run(&p, false, &ctx, stats)?;
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
    Ok((master, field("master_replid"), field("master_replid2")))
}

/// `ROLE` followed by the commands of `p`, errors kept in their slots.
fn with_role(p: &Pipeline) -> Pipeline {
    let mut q = redis::pipe();
    q.ignore_errors();
    q.cmd("ROLE");
    for c in p.cmd_iter() {
        q.add_command(c.clone());
    }
    q
}

/// `p` followed by `WAIT replicas ms`, errors kept in their slots.
fn with_wait(p: &Pipeline, replicas: u32, wait: Duration) -> Pipeline {
    let mut q = p.clone();
    q.cmd("WAIT")
        .arg(replicas)
        .arg(wait.as_millis().max(1) as u64);
    q
}

/// Commands that change session data: SETEX, SET without NX (the lock's SET NX is not data), DEL,
/// EXPIRE and the write/touch/unlock scripts.
fn writes_data(c: &redis::Cmd) -> bool {
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
            let mut info = redis::RedisConnectionInfo::default().set_skip_set_lib_name();
            if let Some(pw) = &spec.sentinel_password {
                info = info.set_password(pw);
            }
            let ci = redis::IntoConnectionInfo::into_connection_info(ConnectionAddr::Tcp(
                host.to_owned(),
                port,
            ))?
            .set_redis_settings(info);
            let timeout = spec.master.connect_timeout.max(Duration::from_millis(1));
            let conn = redis::Client::open(ci)?.get_connection_with_timeout(timeout)?;
            conn.set_read_timeout(Some(timeout))?;
            conn.set_write_timeout(Some(timeout))?;
            stats.connects += 1;
            conn
        }
    };
    stats.round_trips += 1;
    stats.commands += 1;
    let (h, p): (String, u16) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(&spec.master_name)
        .query(&mut conn)?;
    Ok(((h, p), conn))
}
