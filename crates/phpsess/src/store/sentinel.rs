//! A master found through Redis Sentinel: ask the sentinels for the master's address, talk to it,
//! and ask again when it stops answering or turns read-only after a failover.

use std::time::Duration;

use redis::{ConnectionAddr, Pipeline, Value};

use super::node::{Endpoint, Node, Op, StoreStats};
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
}

impl std::fmt::Debug for SentinelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelSpec")
            .field("sentinels", &self.sentinels)
            .field("master_name", &self.master_name)
            .field(
                "sentinel_password",
                &super::node::RedactedPassword(&self.sentinel_password),
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

pub(crate) struct SentinelTarget {
    pub spec: SentinelSpec,
    node: Option<Node>,
    pub getex: bool,
}

impl SentinelTarget {
    pub fn new(spec: SentinelSpec) -> Self {
        SentinelTarget {
            spec,
            node: None,
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

    fn discover(&mut self, id: &str, stats: &mut StoreStats) -> Result<()> {
        let mut last = String::from("no sentinels configured");
        for (host, port) in &self.spec.sentinels {
            match ask_sentinel(host, *port, &self.spec, stats) {
                Ok((mhost, mport)) => {
                    let mut ep = self.spec.master.clone();
                    ep.label = format!("tcp://{mhost}:{mport}");
                    ep.addr = ConnectionAddr::Tcp(mhost, mport);
                    let mut node = Node::new(ep);
                    node.getex = self.getex;
                    self.node = Some(node);
                    return Ok(());
                }
                Err(e) => last = format!("{host}:{port}: {e}"),
            }
        }
        Err(Error::Connect {
            host: self.spec.label(),
            timeout_secs: self.spec.master.connect_timeout.as_secs_f64(),
            id: super::node::short_id(id),
            detail: format!("no sentinel named a master: {last}"),
        })
    }

    pub fn run(
        &mut self,
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        for attempt in 0..2 {
            if self.node.is_none() {
                self.discover(ctx.id, stats)?;
            }
            let Some(node) = self.node.as_mut() else {
                continue;
            };
            let result = node.run(p, retry_safe, ctx, stats);
            let stale = match &result {
                Err(Error::Connect { .. }) => true,
                Err(Error::Redis { .. }) => true,
                Ok(replies) => replies
                    .iter()
                    .any(|r| matches!(r, Value::ServerError(e) if e.code() == "READONLY")),
                Err(_) => false,
            };
            if !stale {
                return result;
            }
            // The master moved (or died): forget it and ask the sentinels again.
            self.node = None;
            if attempt == 1 || !retry_safe {
                return match result {
                    Ok(_) => Err(ctx.error(
                        self.spec.label(),
                        "master became read-only (failover in progress)".into(),
                    )),
                    Err(e) => Err(e),
                };
            }
        }
        Err(Error::Connect {
            host: self.spec.label(),
            timeout_secs: self.spec.master.connect_timeout.as_secs_f64(),
            id: super::node::short_id(ctx.id),
            detail: "master unavailable after rediscovery".into(),
        })
    }

    pub fn set_no_getex(&mut self) {
        self.getex = false;
        if let Some(n) = &mut self.node {
            n.getex = false;
        }
    }

    pub fn disconnect(&mut self) {
        self.node = None;
    }
}

fn ask_sentinel(
    host: &str,
    port: u16,
    spec: &SentinelSpec,
    stats: &mut StoreStats,
) -> redis::RedisResult<(String, u16)> {
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
    let mut conn = redis::Client::open(ci)?.get_connection_with_timeout(timeout)?;
    conn.set_read_timeout(Some(timeout))?;
    stats.connects += 1;
    stats.round_trips += 1;
    let (h, p): (String, u16) = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(&spec.master_name)
        .query(&mut conn)?;
    Ok((h, p))
}
