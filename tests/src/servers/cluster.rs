//! `RedisCluster`: a Drop-guarded Redis Cluster of real nodes (default 3 masters + 3 replicas) made
//! with `redis-cli --cluster create --cluster-yes`, with failover of the master owning a key's slot.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use super::redis_server::{RedisServer, RedisServerBuilder};
use super::{info_field, redis_cli_bin, wait_until};

/// Number of hash slots in a Redis Cluster.
pub const SLOTS: u16 = 16_384;

/// How long a new cluster may take to agree on its configuration, and a failover to complete.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(30);

/// Options for [`RedisCluster`]; see [`RedisCluster::builder`].
#[derive(Debug, Clone)]
pub struct RedisClusterBuilder {
    masters: usize,
    replicas: usize,
    node_timeout_ms: u64,
    password: Option<String>,
}

impl Default for RedisClusterBuilder {
    fn default() -> Self {
        RedisClusterBuilder {
            masters: 3,
            replicas: 1,
            // Short enough for a failover in a few seconds; long enough that a busy 2-core machine
            // does not make nodes flag each other as failing.
            node_timeout_ms: 2_000,
            password: None,
        }
    }
}

impl RedisClusterBuilder {
    /// Number of masters (at least 3, Redis's minimum for `--cluster create`). Default 3.
    pub fn masters(mut self, masters: usize) -> Self {
        self.masters = masters;
        self
    }

    /// Replicas per master. Default 1.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas;
        self
    }

    /// `cluster-node-timeout` in milliseconds. Default 2000.
    pub fn node_timeout_ms(mut self, ms: u64) -> Self {
        self.node_timeout_ms = ms;
        self
    }

    /// `requirepass` and `masterauth` on every node.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Starts the nodes, creates the cluster and waits until every node agrees it is ok.
    pub fn start(self) -> RedisCluster {
        assert!(
            self.masters >= 3,
            "a Redis Cluster needs at least 3 masters"
        );
        let count = self.masters * (1 + self.replicas);
        let mut nodes = Vec::with_capacity(count);
        for _ in 0..count {
            let mut builder = RedisServerBuilder::default()
                .cluster_node()
                .arg("cluster-enabled", "yes")
                .arg("cluster-config-file", "nodes.conf")
                .arg("cluster-node-timeout", self.node_timeout_ms.to_string())
                // A replica may always take over, however long ago it last heard from its master:
                // tests must not depend on replication timing for a failover to happen.
                .arg("cluster-replica-validity-factor", "0");
            if let Some(pw) = &self.password {
                builder = builder.password(pw.clone()).arg("masterauth", pw.clone());
            }
            nodes.push(builder.start());
        }
        let mut cluster = RedisCluster {
            killed: vec![false; nodes.len()],
            nodes,
            masters: self.masters,
            replicas: self.replicas,
            password: self.password,
        };
        cluster.create();
        cluster
    }
}

/// One node as another node sees it in `CLUSTER NODES`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct NodeEntry {
    id: String,
    /// "127.0.0.1:PORT".
    addr: String,
    master: bool,
    failed: bool,
    /// Id of its master, for replicas.
    master_id: Option<String>,
    /// Inclusive slot ranges served (masters).
    slots: Vec<(u16, u16)>,
}

/// Parses `CLUSTER NODES` output.
fn parse_cluster_nodes(text: &str) -> Result<Vec<NodeEntry>, String> {
    let mut entries = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 8 {
            return Err(format!("short CLUSTER NODES line: {line:?}"));
        }
        // "ip:port@cport[,hostname]"
        let addr = fields[1]
            .split('@')
            .next()
            .ok_or_else(|| format!("no address in {line:?}"))?
            .to_owned();
        let flags: Vec<&str> = fields[2].split(',').collect();
        let mut slots = Vec::new();
        for slot in &fields[8..] {
            if slot.starts_with('[') {
                continue; // migrating / importing markers
            }
            let (start, end) = slot.split_once('-').unwrap_or((slot, slot));
            let parse = |s: &str| {
                s.parse::<u16>()
                    .map_err(|e| format!("slot {s:?} in {line:?}: {e}"))
            };
            slots.push((parse(start)?, parse(end)?));
        }
        entries.push(NodeEntry {
            id: fields[0].to_owned(),
            addr,
            master: flags.contains(&"master"),
            failed: flags.contains(&"fail") || flags.contains(&"fail?"),
            master_id: (fields[3] != "-").then(|| fields[3].to_owned()),
            slots,
        });
    }
    Ok(entries)
}

/// A node's view of who serves what: master address -> (slot ranges, sorted addresses of its
/// healthy replicas). Failed nodes and masters without slots are left out.
type View = BTreeMap<String, (Vec<(u16, u16)>, Vec<String>)>;

fn view_of(entries: &[NodeEntry]) -> View {
    let mut view = View::new();
    for m in entries
        .iter()
        .filter(|e| e.master && !e.failed && !e.slots.is_empty())
    {
        let mut slots = m.slots.clone();
        slots.sort_unstable();
        let mut replicas: Vec<String> = entries
            .iter()
            .filter(|r| !r.failed && r.master_id.as_deref() == Some(m.id.as_str()))
            .map(|r| r.addr.clone())
            .collect();
        replicas.sort();
        view.insert(m.addr.clone(), (slots, replicas));
    }
    view
}

/// Master address serving `slot` in a view.
fn owner_in(view: &View, slot: u16) -> Option<&String> {
    view.iter()
        .find(|(_, (ranges, _))| ranges.iter().any(|&(a, b)| (a..=b).contains(&slot)))
        .map(|(addr, _)| addr)
}

/// A running Redis Cluster on loopback; every node is killed and removed on drop, and every node's
/// log printed if the test is failing.
pub struct RedisCluster {
    nodes: Vec<RedisServer>,
    /// `killed[i]`: node i was killed by the harness (failover tests) and is no longer part of it.
    killed: Vec<bool>,
    masters: usize,
    replicas: usize,
    password: Option<String>,
}

impl std::fmt::Debug for RedisCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCluster")
            .field("seeds", &self.seeds())
            .field("killed", &self.killed)
            .finish()
    }
}

impl RedisCluster {
    /// 6 nodes: 3 masters, 3 replicas, no password.
    pub fn start() -> RedisCluster {
        RedisCluster::builder().start()
    }

    /// Options: number of masters and replicas, node timeout, password.
    pub fn builder() -> RedisClusterBuilder {
        RedisClusterBuilder::default()
    }

    /// Addresses ("127.0.0.1:PORT") of all nodes still running, for a cluster client.
    pub fn seeds(&self) -> Vec<String> {
        self.live().map(RedisServer::addr).collect()
    }

    /// The live nodes as a phpredis `rediscluster` save_path: `seed[]=h:p&seed[]=h:p…` (append
    /// `&timeout=…` and other parameters as needed).
    pub fn seed_query(&self) -> String {
        self.seeds()
            .iter()
            .map(|s| format!("seed[]={s}"))
            .collect::<Vec<_>>()
            .join("&")
    }

    /// All nodes, including killed ones.
    pub fn nodes(&self) -> &[RedisServer] {
        &self.nodes
    }

    /// The node listening on `addr`.
    pub fn node(&self, addr: &str) -> Option<&RedisServer> {
        self.nodes.iter().find(|n| n.addr() == addr)
    }

    /// Process ids of the nodes still running.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().filter_map(RedisServer::pid).collect()
    }

    /// The password of every node, if one was set.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    fn live(&self) -> impl Iterator<Item = &RedisServer> {
        self.nodes
            .iter()
            .zip(&self.killed)
            .filter(|(_, killed)| !**killed)
            .map(|(n, _)| n)
    }

    /// A cluster client seeded with every running node (authenticated if a password is set).
    pub fn client(&self) -> redis::cluster::ClusterClient {
        let infos: Vec<redis::ConnectionInfo> =
            self.live().map(RedisServer::connection_info).collect();
        redis::cluster::ClusterClient::builder(infos)
            .build()
            .unwrap_or_else(|e| panic!("cluster client for {:?}: {e}", self.seeds()))
    }

    /// A cluster connection from [`RedisCluster::client`].
    pub fn connection(&self) -> redis::cluster::ClusterConnection {
        self.client()
            .get_connection()
            .unwrap_or_else(|e| panic!("cluster connection to {:?}: {e}", self.seeds()))
    }

    fn first_live(&self) -> &RedisServer {
        // Invariant: failover tests kill masters only, so replicas (and thus a live node) remain.
        self.live()
            .next()
            .unwrap_or_else(|| panic!("every node of the cluster was killed"))
    }

    /// Hash slot of `key` (`CLUSTER KEYSLOT`, asked of a running node).
    pub fn slot_of(&self, key: impl AsRef<[u8]>) -> u16 {
        let node = self.first_live();
        redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key.as_ref())
            .query(&mut node.connection())
            .unwrap_or_else(|e| panic!("CLUSTER KEYSLOT on {}: {e}", node.addr()))
    }

    fn entries_of(node: &RedisServer) -> Result<Vec<NodeEntry>, String> {
        let mut con = node
            .connection_as(None, node.password())
            .map_err(|e| format!("{}: {e}", node.addr()))?;
        let text: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query(&mut con)
            .map_err(|e| format!("CLUSTER NODES on {}: {e}", node.addr()))?;
        parse_cluster_nodes(&text)
    }

    fn view(&self) -> View {
        let node = self.first_live();
        let entries = Self::entries_of(node).unwrap_or_else(|e| panic!("{e}"));
        view_of(&entries)
    }

    /// Address of the master serving `slot`, as a running node sees it.
    pub fn master_for_slot(&self, slot: u16) -> String {
        let view = self.view();
        owner_in(&view, slot)
            .cloned()
            .unwrap_or_else(|| panic!("no master serves slot {slot}: {view:?}"))
    }

    /// Addresses of the healthy replicas of the master serving `slot`.
    pub fn replicas_for_slot(&self, slot: u16) -> Vec<String> {
        let view = self.view();
        owner_in(&view, slot)
            .and_then(|m| view.get(m))
            .map(|(_, replicas)| replicas.clone())
            .unwrap_or_default()
    }

    /// Address of the master serving `key`'s slot.
    pub fn master_of(&self, key: impl AsRef<[u8]>) -> String {
        self.master_for_slot(self.slot_of(key))
    }

    /// Addresses of the masters currently serving slots.
    pub fn masters(&self) -> Vec<String> {
        self.view().into_keys().collect()
    }

    /// Waits until every replica of every master has all of its master's writes so far (replication
    /// offsets), so a write acknowledged before this call survives a failover.
    pub fn wait_for_replication(&self) {
        for (master, (_, replicas)) in self.view() {
            self.wait_replicas_caught_up(&master, &replicas);
        }
    }

    fn wait_replicas_caught_up(&self, master: &str, replicas: &[String]) {
        let Some(m) = self.node(master) else {
            panic!("master {master} is not a node of this cluster");
        };
        let target: u64 = info_field(&m.info("replication"), "master_repl_offset")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no master_repl_offset in INFO replication of {master}"));
        for replica in replicas {
            let Some(r) = self.node(replica) else {
                panic!("replica {replica} is not a node of this cluster");
            };
            let waited = wait_until(
                &format!("replica {replica} to reach offset {target} of {master}"),
                CLUSTER_TIMEOUT,
                || {
                    let info = r.try_info("replication")?;
                    let offset: u64 = info_field(&info, "slave_repl_offset")
                        .and_then(|v| v.parse().ok())
                        .ok_or_else(|| format!("no slave_repl_offset in:\n{info}"))?;
                    if offset >= target {
                        Ok(())
                    } else {
                        Err(format!("at offset {offset}"))
                    }
                },
            );
            if let Err(reason) = waited {
                panic!("{reason}");
            }
        }
    }

    /// Kills (SIGKILL) the master serving `key`'s slot after its replicas have caught up, waits until
    /// one of them is promoted and every remaining node agrees and reports `cluster_state:ok`, and
    /// returns the new master's address. Writes acknowledged before the call stay readable.
    pub fn kill_master_of(&mut self, key: impl AsRef<[u8]>) -> String {
        let slot = self.slot_of(key);
        let view = self.view();
        let old = owner_in(&view, slot)
            .cloned()
            .unwrap_or_else(|| panic!("no master serves slot {slot}: {view:?}"));
        let replicas = view.get(&old).map(|(_, r)| r.clone()).unwrap_or_default();
        assert!(
            !replicas.is_empty(),
            "master {old} of slot {slot} has no healthy replica to promote: {view:?}"
        );
        self.wait_replicas_caught_up(&old, &replicas);
        let index = self
            .nodes
            .iter()
            .position(|n| n.addr() == old)
            .unwrap_or_else(|| panic!("master {old} is not a node of this cluster"));
        self.nodes[index].kill();
        self.killed[index] = true;

        let result = wait_until(
            &format!("a replica of {old} to take over slot {slot}"),
            CLUSTER_TIMEOUT,
            || {
                let view = self.agreed_view()?;
                let owner = owner_in(&view, slot)
                    .ok_or_else(|| format!("no master serves slot {slot}: {view:?}"))?;
                if !replicas.contains(owner) {
                    return Err(format!("slot {slot} still served by {owner}"));
                }
                let node = self
                    .node(owner)
                    .ok_or_else(|| format!("{owner} is not a node of this cluster"))?;
                let role = info_field(&node.try_info("replication")?, "role");
                if role.as_deref() != Some("master") {
                    return Err(format!("{owner} says role:{role:?}"));
                }
                Ok(owner.clone())
            },
        );
        match result {
            Ok(new_master) => new_master,
            Err(reason) => panic!("{reason}"),
        }
    }

    /// Every running node says `cluster_state:ok` with all slots ok, and all running nodes report
    /// the same masters, slots and replicas; returns that view.
    fn agreed_view(&self) -> Result<View, String> {
        let mut agreed: Option<(String, View)> = None;
        for node in self.live() {
            let mut con = node
                .connection_as(None, node.password())
                .map_err(|e| format!("{}: {e}", node.addr()))?;
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query(&mut con)
                .map_err(|e| format!("CLUSTER INFO on {}: {e}", node.addr()))?;
            let state = info_field(&info, "cluster_state");
            if state.as_deref() != Some("ok") {
                return Err(format!("{} says cluster_state:{state:?}", node.addr()));
            }
            let slots_ok = info_field(&info, "cluster_slots_ok");
            if slots_ok != Some(SLOTS.to_string()) {
                return Err(format!(
                    "{} says cluster_slots_ok:{slots_ok:?}",
                    node.addr()
                ));
            }
            let view = view_of(&Self::entries_of(node)?);
            match &agreed {
                None => agreed = Some((node.addr(), view)),
                Some((first, first_view)) if *first_view != view => {
                    return Err(format!(
                        "{first} and {} disagree: {first_view:?} versus {view:?}",
                        node.addr()
                    ))
                }
                Some(_) => {}
            }
        }
        agreed
            .map(|(_, view)| view)
            .ok_or_else(|| "no running node".to_owned())
    }

    /// `redis-cli --cluster create`, then waits until every node agrees on a complete cluster with
    /// every replica's link up.
    fn create(&mut self) {
        let mut cli = Command::new(redis_cli_bin());
        if let Some(pw) = &self.password {
            cli.arg("-a").arg(pw).arg("--no-auth-warning");
        }
        cli.arg("--cluster").arg("create");
        for node in &self.nodes {
            cli.arg(node.addr());
        }
        cli.arg("--cluster-replicas")
            .arg(self.replicas.to_string())
            .arg("--cluster-yes");
        let output = cli
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", redis_cli_bin()));
        if !output.status.success() {
            panic!(
                "redis-cli --cluster create failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let expected_masters = self.masters;
        let expected_replicas = self.replicas;
        let result = wait_until(
            "the new cluster to be ok on every node",
            CLUSTER_TIMEOUT,
            || {
                let view = self.agreed_view()?;
                if view.len() != expected_masters {
                    return Err(format!("{} masters: {view:?}", view.len()));
                }
                for (master, (_, replicas)) in &view {
                    if replicas.len() != expected_replicas {
                        return Err(format!("{master} has replicas {replicas:?}"));
                    }
                    for replica in replicas {
                        let node = self
                            .node(replica)
                            .ok_or_else(|| format!("{replica} is not a node of this cluster"))?;
                        let link = info_field(&node.try_info("replication")?, "master_link_status");
                        if link.as_deref() != Some("up") {
                            return Err(format!("{replica} master_link_status:{link:?}"));
                        }
                    }
                }
                Ok(())
            },
        );
        if let Err(reason) = result {
            panic!(
                "{reason}\nredis-cli said:\n{}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cluster_nodes_lines() {
        let text = "\
07c37dfeb235213a872192d90877d0cd55635b91 127.0.0.1:30004@40004 slave e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 0 1426238317239 4 connected
67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1 127.0.0.1:30002@40002 master - 0 1426238316232 2 connected 5461-10922
e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460 [5461->-67ed2db8d677e59ec4a4cefb06858cf2a1a89fa1]
6ec23923021cf3ffec47632106199cb7f496ce01 127.0.0.1:30005@40005 master,fail - 0 1426238316232 5 connected
";
        let entries = parse_cluster_nodes(text).unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(entries[0].addr, "127.0.0.1:30004");
        assert_eq!(
            entries[0].master_id.as_deref(),
            Some("e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca")
        );
        assert_eq!(entries[2].slots, vec![(0, 5460)]);
        assert!(entries[3].failed);
        let view = view_of(&entries);
        assert_eq!(
            view.into_iter().collect::<Vec<_>>(),
            vec![
                (
                    "127.0.0.1:30001".to_owned(),
                    (vec![(0, 5460)], vec!["127.0.0.1:30004".to_owned()])
                ),
                ("127.0.0.1:30002".to_owned(), (vec![(5461, 10922)], vec![])),
            ]
        );
    }
}
