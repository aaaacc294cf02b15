//! Where sessions live: a list of weighted hosts (phpredis's `redis` handler), a Redis Cluster,
//! or a master found through Sentinel. Each answers "which keys, which server" for an id and runs
//! pipelines there.

use std::time::Duration;

use redis::{Pipeline, Value};

use super::cluster::{ClusterSpec, ClusterTarget};
use super::endpoint::Endpoint;
use super::keys::SessionKey;
use super::node::{Node, Op};
use super::sentinel::{SentinelSpec, SentinelTarget};
use super::shards::pick_host;
use super::stats::StoreStats;
use crate::error::{Error, Result};

/// One `redis` save_path entry: a server, its share of the ids and its key prefix.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HostSpec {
    /// How to reach it.
    pub endpoint: Endpoint,
    /// phpredis `weight` (>= 1).
    pub weight: u32,
    /// Key prefix for sessions on this host (phpredis allows one per entry).
    pub prefix: Vec<u8>,
}

impl HostSpec {
    /// A host with weight 1 and phpredis's default prefix.
    pub fn new(endpoint: Endpoint) -> Self {
        HostSpec {
            endpoint,
            weight: 1,
            prefix: super::keys::DEFAULT_PREFIX.as_bytes().to_vec(),
        }
    }
}

/// Where a pipeline goes: one host of a host list, or wherever the cluster routes each command
/// (the one master under Sentinel).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    /// The host at this index of the save_path.
    Host(usize),
    /// The cluster (by each command's key) or the Sentinel master.
    Routed,
}

/// One server that holds sessions, as `Topology::servers` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerRef {
    /// The server for messages (`tcp://10.0.0.5:6379`).
    pub label: String,
    /// The session key prefix on this server.
    pub prefix: Vec<u8>,
    /// A Redis Cluster master (lock keys there are `{<prefix><id>}_LOCK`).
    pub cluster: bool,
    at: Server,
}

impl ServerRef {
    /// A server outside any topology (for [`super::scan::classify`] and tests): `run_on` refuses it.
    pub fn new(label: impl Into<String>, prefix: &[u8], cluster: bool) -> Self {
        ServerRef {
            label: label.into(),
            prefix: prefix.to_vec(),
            cluster,
            at: Server::Detached,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Server {
    Detached,
    Host(usize),
    ClusterNode(String),
    SentinelMaster,
}

/// The servers a store talks to.
pub struct Topology {
    inner: Inner,
}

enum Inner {
    Hosts {
        nodes: Vec<Node>,
        weights: Vec<u32>,
        prefixes: Vec<Vec<u8>>,
    },
    Cluster(Box<ClusterTarget>),
    Sentinel(Box<SentinelTarget>),
}

/// A host list or cluster seed list with nothing in it, as a save_path error.
pub(super) fn empty_list(what: &str) -> Error {
    Error::SavePath {
        entry: String::new(),
        offset: 0,
        reason: format!("no {what}"),
    }
}

impl Topology {
    /// phpredis's weighted host list, in save_path order.
    pub fn hosts(hosts: Vec<HostSpec>) -> Result<Self> {
        if hosts.is_empty() {
            return Err(empty_list("hosts"));
        }
        let weights = hosts.iter().map(|h| h.weight).collect();
        let prefixes = hosts.iter().map(|h| h.prefix.clone()).collect();
        let nodes = hosts.into_iter().map(|h| Node::new(h.endpoint)).collect();
        Ok(Topology {
            inner: Inner::Hosts {
                nodes,
                weights,
                prefixes,
            },
        })
    }

    /// A Redis Cluster (phpredis's `rediscluster` handler).
    pub fn cluster(spec: ClusterSpec) -> Result<Self> {
        if spec.seeds.is_empty() {
            return Err(empty_list("seeds"));
        }
        Ok(Topology {
            inner: Inner::Cluster(Box::new(ClusterTarget::new(spec))),
        })
    }

    /// A master found through Sentinel.
    pub fn sentinel(spec: SentinelSpec) -> Result<Self> {
        if spec.sentinels.is_empty() {
            return Err(Error::SavePath {
                entry: String::new(),
                offset: 0,
                reason: "no sentinels".into(),
            });
        }
        Ok(Topology {
            inner: Inner::Sentinel(Box::new(SentinelTarget::new(spec))),
        })
    }

    fn index(weights: &[u32], id: &[u8]) -> usize {
        // Weights are validated >= 1 when parsed, so a host always exists; 0 is the safe fallback.
        pick_host(id, weights).unwrap_or(0)
    }

    pub(crate) fn key(&self, id: &[u8]) -> SessionKey {
        match &self.inner {
            Inner::Hosts {
                weights, prefixes, ..
            } => SessionKey::standalone(&prefixes[Self::index(weights, id)], id),
            Inner::Cluster(c) => SessionKey::cluster(&c.spec.prefix, id),
            Inner::Sentinel(s) => SessionKey::standalone(&s.spec.prefix, id),
        }
    }

    /// Which connection a pipeline for `id` goes over: a host's index, the cluster slot of its
    /// keys, or the one Sentinel master. Two ids with the same route can share a pipeline.
    pub(crate) fn route(&self, id: &[u8]) -> u32 {
        match &self.inner {
            Inner::Hosts { weights, .. } => Self::index(weights, id) as u32,
            Inner::Cluster(c) => u32::from(super::keys::slot(
                &SessionKey::cluster(&c.spec.prefix, id).data,
            )),
            Inner::Sentinel(_) => 0,
        }
    }

    pub(crate) fn label(&self, id: &[u8]) -> String {
        match &self.inner {
            Inner::Hosts { nodes, weights, .. } => {
                nodes[Self::index(weights, id)].endpoint.label.clone()
            }
            Inner::Cluster(c) => c.spec.label(),
            Inner::Sentinel(s) => s.label(),
        }
    }

    pub(crate) fn run(
        &mut self,
        id: &[u8],
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        match &mut self.inner {
            Inner::Hosts { nodes, weights, .. } => {
                nodes[Self::index(weights, id)].run(p, retry_safe, ctx, stats)
            }
            Inner::Cluster(c) => c.run(p, retry_safe, ctx, stats),
            Inner::Sentinel(s) => s.run(p, retry_safe, ctx, stats),
        }
    }

    /// [`run`](Self::run) for a raw key ([`super::RawKeys`]): on a host list, the host the key's
    /// own bytes pick (a raw key has no session id); on a cluster, its slot; on Sentinel, the master.
    pub(crate) fn run_for_key(
        &mut self,
        key: &[u8],
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        // The same choice as for an id, made on the key's bytes.
        self.run(key, p, retry_safe, ctx, stats)
    }

    /// [`label`](Self::label) of the host [`run_for_key`](Self::run_for_key) picks for `key`.
    pub(crate) fn label_for_key(&self, key: &[u8]) -> String {
        self.label(key)
    }

    /// Every server that holds sessions, once each: each host of a host list (with its prefix),
    /// each master of a Redis Cluster (asked with `CLUSTER SLOTS` now), the Sentinel master.
    pub(crate) fn servers(&mut self, stats: &mut StoreStats) -> Result<Vec<ServerRef>> {
        match &mut self.inner {
            Inner::Hosts {
                nodes, prefixes, ..
            } => Ok(nodes
                .iter()
                .zip(prefixes.iter())
                .enumerate()
                .map(|(i, (n, prefix))| ServerRef {
                    label: n.endpoint.label.clone(),
                    prefix: prefix.clone(),
                    at: Server::Host(i),
                    cluster: false,
                })
                .collect()),
            Inner::Cluster(c) => {
                let ctx = Op {
                    op: "cluster slots",
                    key: b"",
                    id: "*",
                };
                let masters = c.masters(&ctx, stats)?;
                Ok(masters
                    .into_iter()
                    .map(|addr| ServerRef {
                        label: c.node_label(&addr),
                        prefix: c.spec.prefix.clone(),
                        at: Server::ClusterNode(addr),
                        cluster: true,
                    })
                    .collect())
            }
            Inner::Sentinel(s) => Ok(vec![ServerRef {
                label: s.label(),
                prefix: s.spec.prefix.clone(),
                at: Server::SentinelMaster,
                cluster: false,
            }]),
        }
    }

    /// The connection to one server of [`servers`](Self::servers), for sending and reading
    /// pipelines separately; `None` for a Sentinel master (found anew as it fails over).
    pub(crate) fn node_of(&mut self, server: &ServerRef) -> Option<&mut Node> {
        match (&mut self.inner, &server.at) {
            (Inner::Hosts { nodes, .. }, Server::Host(i)) => nodes.get_mut(*i),
            (Inner::Cluster(c), Server::ClusterNode(addr)) => Some(c.node_mut(addr)),
            _ => None,
        }
    }

    /// Run `p` on one server of [`servers`](Self::servers), whatever keys it names.
    pub(crate) fn run_on(
        &mut self,
        server: &ServerRef,
        p: &Pipeline,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        match (&mut self.inner, &server.at) {
            (Inner::Hosts { nodes, .. }, Server::Host(i)) if *i < nodes.len() => {
                nodes[*i].run(p, true, ctx, stats)
            }
            (Inner::Cluster(c), Server::ClusterNode(addr)) => c.run_on_node(addr, p, ctx, stats),
            (Inner::Sentinel(s), Server::SentinelMaster) => s.run(p, true, ctx, stats),
            _ => Err(ctx.error(
                server.label.clone(),
                "this server is not part of the topology".into(),
            )),
        }
    }

    /// How long a reply for `id` may take before the connection gives up on it (a blocking
    /// command must block for less).
    pub(crate) fn read_timeout(&self, id: &[u8]) -> Duration {
        match &self.inner {
            Inner::Hosts { nodes, weights, .. } => {
                nodes[Self::index(weights, id)].endpoint.read_timeout
            }
            Inner::Cluster(c) => c.spec.read_timeout,
            Inner::Sentinel(s) => s.spec.master.read_timeout,
        }
    }

    pub(crate) fn getex(&self, id: &[u8]) -> bool {
        match &self.inner {
            Inner::Hosts { nodes, weights, .. } => nodes[Self::index(weights, id)].getex,
            Inner::Cluster(c) => c.getex,
            Inner::Sentinel(s) => s.getex,
        }
    }

    pub(crate) fn no_getex(&mut self, id: &[u8]) {
        match &mut self.inner {
            Inner::Hosts { nodes, weights, .. } => nodes[Self::index(weights, id)].getex = false,
            Inner::Cluster(c) => c.getex = false,
            Inner::Sentinel(s) => s.set_no_getex(),
        }
    }

    /// True when the cluster node serving `id`'s slot got no reply in time on its last command,
    /// so a request for another slot should not go there just to release an orphaned lock.
    pub(crate) fn was_silent(&self, id: &[u8]) -> bool {
        match &self.inner {
            Inner::Cluster(c) => c.was_silent(self.route(id) as u16),
            _ => false,
        }
    }

    /// True for a Redis Cluster, where keyless commands (SCAN) reach one node only.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self.inner, Inner::Cluster(_))
    }

    /// Where a user index lives: each host of a host list, or the one cluster or Sentinel
    /// master (a cluster routes each command by its key), with the prefix of its keys.
    pub(crate) fn places(&self) -> Vec<(Place, Vec<u8>)> {
        match &self.inner {
            Inner::Hosts { prefixes, .. } => prefixes
                .iter()
                .enumerate()
                .map(|(i, p)| (Place::Host(i), p.clone()))
                .collect(),
            Inner::Cluster(c) => vec![(Place::Routed, c.spec.prefix.clone())],
            Inner::Sentinel(s) => vec![(Place::Routed, s.spec.prefix.clone())],
        }
    }

    /// The place session `id` lives at.
    pub(crate) fn place_of(&self, id: &[u8]) -> Place {
        match &self.inner {
            Inner::Hosts { weights, .. } => Place::Host(Self::index(weights, id)),
            _ => Place::Routed,
        }
    }

    /// The key prefix of the host `id` lives on.
    pub(crate) fn prefix_of(&self, id: &[u8]) -> Vec<u8> {
        match &self.inner {
            Inner::Hosts {
                weights, prefixes, ..
            } => prefixes[Self::index(weights, id)].clone(),
            Inner::Cluster(c) => c.spec.prefix.clone(),
            Inner::Sentinel(s) => s.spec.prefix.clone(),
        }
    }

    /// The label of `place`, for messages (`key` routes it on a cluster).
    pub(crate) fn place_label(&self, place: Place, key: &[u8]) -> String {
        match (&self.inner, place) {
            (Inner::Hosts { nodes, .. }, Place::Host(i)) => nodes[i].endpoint.label.clone(),
            _ => self.label(key),
        }
    }

    /// [`run`](Self::run) at `place`.
    pub(crate) fn run_at(
        &mut self,
        place: Place,
        p: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        match (&mut self.inner, place) {
            (Inner::Hosts { nodes, .. }, Place::Host(i)) => nodes[i].run(p, retry_safe, ctx, stats),
            (Inner::Cluster(c), _) => c.run(p, retry_safe, ctx, stats),
            (Inner::Sentinel(s), _) => s.run(p, retry_safe, ctx, stats),
            (Inner::Hosts { nodes, .. }, Place::Routed) => nodes[0].run(p, retry_safe, ctx, stats),
        }
    }

    pub(crate) fn disconnect(&mut self) {
        match &mut self.inner {
            Inner::Hosts { nodes, .. } => nodes.iter_mut().for_each(Node::disconnect),
            Inner::Cluster(c) => c.disconnect(),
            Inner::Sentinel(s) => s.disconnect(),
        }
    }
}
