//! Redis Cluster through the `redis` crate's cluster client (slot map, MOVED/ASK, topology refresh).
//! Our pipelines touch one session, whose data and lock keys share a slot, so each costs one round trip.

use std::time::Duration;

use redis::cluster::{ClusterClient, ClusterClientBuilder, ClusterConnection};
use redis::{Cmd, Pipeline, Value};

use super::lock::SCRIPTS;
use super::node::{Op, StoreStats};
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
            .field("password", &super::node::RedactedPassword(&self.password))
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

pub(crate) struct ClusterTarget {
    pub spec: ClusterSpec,
    client: Option<ClusterClient>,
    conn: Option<ClusterConnection>,
    pub getex: bool,
}

impl ClusterTarget {
    pub fn new(spec: ClusterSpec) -> Self {
        ClusterTarget {
            spec,
            client: None,
            conn: None,
            getex: true,
        }
    }

    fn connect(&mut self, id: &str, stats: &mut StoreStats) -> Result<&mut ClusterConnection> {
        if self.conn.is_none() {
            let err = |e: &dyn std::fmt::Display| Error::Connect {
                host: self.spec.label(),
                timeout_secs: self.spec.connect_timeout.as_secs_f64(),
                id: super::node::short_id(id),
                detail: e.to_string(),
            };
            if self.client.is_none() {
                let scheme = if self.spec.tls { "rediss" } else { "redis" };
                let urls: Vec<String> = self
                    .spec
                    .seeds
                    .iter()
                    .map(|s| format!("{scheme}://{s}"))
                    .collect();
                let mut b = ClusterClientBuilder::new(urls)
                    .connection_timeout(self.spec.connect_timeout)
                    .response_timeout(self.spec.read_timeout)
                    .retries(3);
                if let Some(u) = &self.spec.username {
                    b = b.username(u);
                }
                if let Some(p) = &self.spec.password {
                    b = b.password(p);
                }
                if self.spec.read_from == ReadFrom::Distribute {
                    b = b.read_routing_strategy(redis::cluster_read_routing::RandomReplicaStrategy);
                }
                self.client = Some(b.build().map_err(|e| err(&e))?);
            }
            let client = self.client.as_ref().ok_or_else(|| err(&"no client"))?;
            let conn = client.get_connection().map_err(|e| err(&e))?;
            stats.connects += 1;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| Error::Connect {
            host: String::new(),
            timeout_secs: 0.0,
            id: String::new(),
            detail: "connection vanished".into(),
        })
    }

    pub fn run(
        &mut self,
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        let mut cp = to_cluster_pipeline(p, self.getex);
        let label = self.spec.label();
        for attempt in 0..3 {
            let conn = self.connect(ctx.id, stats)?;
            stats.round_trips += 1;
            stats.commands += p.len() as u64;
            match cp.query::<Vec<Value>>(conn) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    if self.getex
                        && e.to_string()
                            .to_ascii_lowercase()
                            .contains("unknown command")
                    {
                        // Redis < 6.2 has no GETEX: from now on GET + EXPIRE, same round trip.
                        self.getex = false;
                        cp = to_cluster_pipeline(p, false);
                        continue;
                    }
                    let broken = e.is_connection_dropped() || e.is_io_error();
                    if broken {
                        self.conn = None;
                    }
                    if !(attempt == 0 && retry_safe && broken) {
                        return Err(ctx.error(label, e.to_string()));
                    }
                }
            }
        }
        Err(ctx.error(label, "gave up after three attempts".into()))
    }

    pub fn disconnect(&mut self) {
        self.conn = None;
    }
}

/// The cluster pipeline refuses EVALSHA (it cannot resend a missing script per node), so our
/// scripts go as EVAL: they are a few hundred bytes. Without GETEX, `GETEX k EX t` becomes `GET k`
/// with `EXPIRE k t` appended after the other commands, so reply positions do not move.
fn to_cluster_pipeline(p: &Pipeline, getex: bool) -> redis::cluster::ClusterPipeline {
    let mut cp = redis::cluster::cluster_pipe();
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
            cp.add_command(e);
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
                cp.add_command(get);
                let mut expire = Cmd::new();
                expire.arg("EXPIRE").arg(*key).arg(*ttl);
                expires.push(expire);
            }
        } else {
            cp.add_command(c.clone());
        }
    }
    for e in expires {
        cp.add_command(e);
    }
    cp
}

fn script_source(sha: &[u8]) -> &'static str {
    for s in SCRIPTS {
        if redis::Script::new(s).get_hash().as_bytes() == sha {
            return s;
        }
    }
    // Only our own scripts are ever sent; an unknown hash makes Redis answer with a clear error.
    "return redis.error_reply('phpsess: unknown script')"
}
