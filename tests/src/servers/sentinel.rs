//! `SentinelSetup`: a Drop-guarded Redis Sentinel deployment on loopback (1 master, 1 replica,
//! 3 sentinels with quorum 2) whose master can be killed to watch the sentinels promote the replica.

use std::time::Duration;

use super::redis_server::{connect_loopback, RedisServer, HOST};
use super::{
    info_field, ports, wait_until, wait_until_fatal, NotYet, ServerProcess, READY_TIMEOUT,
};

/// How long the sentinels may take to discover each other and the replica, and to fail over.
const SENTINEL_TIMEOUT: Duration = Duration::from_secs(30);

/// Number of sentinel processes; the quorum is 2.
const SENTINELS: usize = 3;

/// Starts tried per sentinel when its bind-0 port was taken by someone else first.
const PORT_RACE_ATTEMPTS: usize = 3;

/// Options for [`SentinelSetup`]; see [`SentinelSetup::builder`].
#[derive(Debug, Clone)]
pub struct SentinelSetupBuilder {
    master_name: String,
    password: Option<String>,
    down_after_ms: u64,
    failover_timeout_ms: u64,
}

impl Default for SentinelSetupBuilder {
    fn default() -> Self {
        SentinelSetupBuilder {
            master_name: "mymaster".to_owned(),
            password: None,
            down_after_ms: 1_000,
            failover_timeout_ms: 3_000,
        }
    }
}

impl SentinelSetupBuilder {
    /// The monitored master's name (`sentinel monitor NAME ...`). Default "mymaster".
    pub fn master_name(mut self, name: impl Into<String>) -> Self {
        self.master_name = name.into();
        self
    }

    /// `requirepass` / `masterauth` on master and replica, `sentinel auth-pass` on the sentinels
    /// (the sentinels themselves need no password).
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// `sentinel down-after-milliseconds`. Default 1000.
    pub fn down_after_ms(mut self, ms: u64) -> Self {
        self.down_after_ms = ms;
        self
    }

    /// `sentinel failover-timeout`. Default 3000.
    pub fn failover_timeout_ms(mut self, ms: u64) -> Self {
        self.failover_timeout_ms = ms;
        self
    }

    fn data_node(&self) -> super::RedisServerBuilder {
        let mut builder = RedisServer::builder();
        if let Some(pw) = &self.password {
            builder = builder.password(pw.clone()).arg("masterauth", pw.clone());
        }
        builder
    }

    fn sentinel_conf(&self, port: u16, dir: &std::path::Path, master_port: u16) -> String {
        let q = super::conf_quote;
        let name = q(&self.master_name);
        let mut conf = format!(
            "bind {HOST}\nport {port}\ndaemonize no\ndir {}\nlogfile {}\n\
             sentinel monitor {name} {HOST} {master_port} 2\n\
             sentinel down-after-milliseconds {name} {}\n\
             sentinel failover-timeout {name} {}\n\
             sentinel parallel-syncs {name} 1\n",
            q(&dir.display().to_string()),
            q(&dir.join(ServerProcess::LOG_FILE).display().to_string()),
            self.down_after_ms,
            self.failover_timeout_ms,
        );
        if let Some(pw) = &self.password {
            conf.push_str(&format!("sentinel auth-pass {name} {}\n", q(pw)));
        }
        conf
    }

    /// Starts one sentinel and waits until it answers PING.
    fn start_sentinel(&self, master_port: u16) -> (ServerProcess, u16) {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = ports::free_port();
            let label = format!("sentinel {HOST}:{port}");
            let mut process = ServerProcess::create(label, &["--sentinel"]).unwrap_or_else(|e| {
                panic!("cannot prepare a temporary directory for a sentinel: {e}")
            });
            let conf = self.sentinel_conf(port, process.dir(), master_port);
            process
                .write_conf(&conf)
                .unwrap_or_else(|e| panic!("cannot write the config of {}: {e}", process.label()));
            if let Err(e) = process.respawn() {
                panic!("{e}");
            }
            let ready = wait_until_fatal(
                &format!("{} to answer PING", process.label()),
                READY_TIMEOUT,
                || {
                    if !process.is_running() {
                        return Err(NotYet::Fatal("the sentinel exited".to_owned()));
                    }
                    let mut con = connect_loopback(port, None, None).map_err(|e| e.to_string())?;
                    let pong: String = redis::cmd("PING")
                        .query(&mut con)
                        .map_err(|e| e.to_string())?;
                    (pong == "PONG")
                        .then_some(())
                        .ok_or(NotYet::Retry(format!("PING answered {pong:?}")))
                },
            );
            match ready {
                Ok(()) => return (process, port),
                Err(_)
                    if attempt < PORT_RACE_ATTEMPTS
                        && !process.is_running()
                        && process.lost_port_race() =>
                {
                    continue
                }
                Err(reason) => {
                    let logs = process.logs();
                    process.kill();
                    process.silence();
                    panic!("{} failed: {reason}\n{logs}", process.label());
                }
            }
        }
    }

    /// Starts master, replica and sentinels, and waits until every sentinel knows the replica and
    /// the two other sentinels and can reach a quorum.
    pub fn start(self) -> SentinelSetup {
        let master = self.data_node().start();
        let replica = self
            .data_node()
            .arg("replicaof", format!("{HOST} {}", master.port()))
            .start();
        let mut setup = SentinelSetup {
            data: vec![master, replica],
            master: 0,
            sentinels: Vec::with_capacity(SENTINELS),
            sentinel_ports: Vec::with_capacity(SENTINELS),
            master_name: self.master_name.clone(),
        };
        let replica_addr = setup.data[1].addr();
        let link = wait_until(
            &format!("replica {replica_addr} to sync"),
            SENTINEL_TIMEOUT,
            || {
                let info = setup.data[1].try_info("replication")?;
                let link = info_field(&info, "master_link_status");
                (link.as_deref() == Some("up"))
                    .then_some(())
                    .ok_or(format!("master_link_status:{link:?}"))
            },
        );
        if let Err(reason) = link {
            panic!("{reason}");
        }
        let master_port = setup.data[0].port();
        for _ in 0..SENTINELS {
            let (process, port) = self.start_sentinel(master_port);
            setup.sentinels.push(process);
            setup.sentinel_ports.push(port);
        }
        let ready = wait_until(
            "sentinels to know the replica and each other",
            SENTINEL_TIMEOUT,
            || {
                for &port in &setup.sentinel_ports {
                    setup.sentinel_ready(port, &replica_addr)?;
                }
                Ok(())
            },
        );
        if let Err(reason) = ready {
            panic!("{reason}");
        }
        setup
    }
}

/// A running Sentinel deployment; every process is killed and every directory removed on drop, and
/// every log printed if the test is failing.
pub struct SentinelSetup {
    /// `data[0]` is the first master, `data[1]` its replica.
    data: Vec<RedisServer>,
    /// Index into `data` of the current master.
    master: usize,
    sentinels: Vec<ServerProcess>,
    sentinel_ports: Vec<u16>,
    master_name: String,
}

impl std::fmt::Debug for SentinelSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentinelSetup")
            .field("master_name", &self.master_name)
            .field("master", &self.master_addr())
            .field("sentinels", &self.sentinel_addrs())
            .finish()
    }
}

/// RESP2 sentinel replies list each instance as a flat array of field names and values.
fn field<'a>(pairs: &'a [String], name: &str) -> Option<&'a str> {
    pairs
        .chunks(2)
        .find(|kv| kv.len() == 2 && kv[0] == name)
        .map(|kv| kv[1].as_str())
}

impl SentinelSetup {
    /// Master "mymaster", its replica, 3 sentinels.
    pub fn start() -> SentinelSetup {
        SentinelSetup::builder().start()
    }

    /// Options: master name, password, sentinel timings.
    pub fn builder() -> SentinelSetupBuilder {
        SentinelSetupBuilder::default()
    }

    /// The name the sentinels monitor.
    pub fn master_name(&self) -> &str {
        &self.master_name
    }

    /// The `sentinel://` save_path naming every sentinel and the master, with `query`
    /// (`timeout=1&read_timeout=2`).
    pub fn save_path(&self, query: &str) -> String {
        format!(
            "sentinel://{}/{}?{query}",
            self.sentinel_addrs().join(","),
            self.master_name
        )
    }

    /// Sentinel addresses, "127.0.0.1:PORT".
    pub fn sentinel_addrs(&self) -> Vec<String> {
        self.sentinel_ports
            .iter()
            .map(|p| format!("{HOST}:{p}"))
            .collect()
    }

    /// Address of the current master: the first master, or the promoted replica after
    /// [`SentinelSetup::wait_for_failover`].
    pub fn master_addr(&self) -> String {
        self.data[self.master].addr()
    }

    /// The current master.
    pub fn master(&self) -> &RedisServer {
        &self.data[self.master]
    }

    /// The server that is (or, after a failover, was) the replica.
    pub fn replica(&self) -> &RedisServer {
        &self.data[1 - self.master]
    }

    /// A connection to the current master (authenticated if a password is set).
    pub fn master_connection(&self) -> redis::Connection {
        self.master().connection()
    }

    /// Process ids of all running processes (data nodes and sentinels).
    pub fn pids(&self) -> Vec<u32> {
        self.data
            .iter()
            .filter_map(RedisServer::pid)
            .chain(self.sentinels.iter().filter_map(ServerProcess::pid))
            .collect()
    }

    /// What the sentinel on `port` says the master's address is (`SENTINEL GET-MASTER-ADDR-BY-NAME`).
    pub fn sentinel_master_addr(&self, port: u16) -> Result<String, String> {
        let mut con = connect_loopback(port, None, None)
            .map_err(|e| format!("sentinel {HOST}:{port}: {e}"))?;
        let addr: Option<(String, u16)> = redis::cmd("SENTINEL")
            .arg("GET-MASTER-ADDR-BY-NAME")
            .arg(&self.master_name)
            .query(&mut con)
            .map_err(|e| format!("SENTINEL GET-MASTER-ADDR-BY-NAME on {HOST}:{port}: {e}"))?;
        addr.map(|(host, p)| format!("{host}:{p}"))
            .ok_or_else(|| format!("sentinel {HOST}:{port} does not know {}", self.master_name))
    }

    /// The sentinel on `port` knows `replica` as a healthy replica, knows the other sentinels, and
    /// says a quorum and failover authorisation can be reached.
    fn sentinel_ready(&self, port: u16, replica: &str) -> Result<(), String> {
        let at = format!("sentinel {HOST}:{port}");
        let mut con = connect_loopback(port, None, None).map_err(|e| format!("{at}: {e}"))?;
        let replicas: Vec<Vec<String>> = redis::cmd("SENTINEL")
            .arg("REPLICAS")
            .arg(&self.master_name)
            .query(&mut con)
            .map_err(|e| format!("SENTINEL REPLICAS on {at}: {e}"))?;
        let known = replicas.iter().any(|r| {
            field(r, "name") == Some(replica)
                && field(r, "flags").is_some_and(|f| f.split(',').all(|f| f == "slave"))
        });
        if !known {
            return Err(format!(
                "{at} does not list {replica} as a healthy replica: {replicas:?}"
            ));
        }
        let others: Vec<Vec<String>> = redis::cmd("SENTINEL")
            .arg("SENTINELS")
            .arg(&self.master_name)
            .query(&mut con)
            .map_err(|e| format!("SENTINEL SENTINELS on {at}: {e}"))?;
        if others.len() != SENTINELS - 1 {
            return Err(format!("{at} knows {} other sentinels", others.len()));
        }
        let quorum: String = redis::cmd("SENTINEL")
            .arg("CKQUORUM")
            .arg(&self.master_name)
            .query(&mut con)
            .map_err(|e| format!("SENTINEL CKQUORUM on {at}: {e}"))?;
        if !quorum.starts_with("OK") {
            return Err(format!("{at}: {quorum}"));
        }
        Ok(())
    }

    /// Waits until the replica has every write the master acknowledged, then SIGKILLs the master.
    /// Returns the killed master's address. [`SentinelSetup::wait_for_failover`] then waits for the
    /// promotion.
    pub fn kill_master(&mut self) -> String {
        let master = &self.data[self.master];
        let replica = &self.data[1 - self.master];
        let target: u64 = info_field(&master.info("replication"), "master_repl_offset")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "no master_repl_offset in INFO replication of {}",
                    master.addr()
                )
            });
        let caught_up = wait_until(
            &format!("replica {} to reach offset {target}", replica.addr()),
            SENTINEL_TIMEOUT,
            || {
                let info = replica.try_info("replication")?;
                let offset: u64 = info_field(&info, "slave_repl_offset")
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| format!("no slave_repl_offset in:\n{info}"))?;
                (offset >= target)
                    .then_some(())
                    .ok_or(format!("at offset {offset}"))
            },
        );
        if let Err(reason) = caught_up {
            panic!("{reason}");
        }
        let old = master.addr();
        self.data[self.master].kill();
        old
    }

    /// Asks a sentinel for a planned failover (`SENTINEL FAILOVER NAME`) while the master keeps
    /// running and serving clients. [`SentinelSetup::wait_for_failover`] then waits for the
    /// promotion, [`SentinelSetup::wait_for_demotion`] for the old master to follow the new one.
    pub fn planned_failover(&self) {
        let port = self.sentinel_ports[0];
        let mut con = connect_loopback(port, None, None)
            .unwrap_or_else(|e| panic!("sentinel {HOST}:{port}: {e}"));
        let reply: redis::RedisResult<String> = redis::cmd("SENTINEL")
            .arg("FAILOVER")
            .arg(&self.master_name)
            .query(&mut con);
        if let Err(e) = reply {
            panic!(
                "SENTINEL FAILOVER {} on {HOST}:{port}: {e}",
                self.master_name
            );
        }
    }

    /// After a planned failover: waits until the old master (now [`SentinelSetup::replica`]) says
    /// `role:slave` with its link to the new master up, i.e. it has resynced and dropped whatever
    /// it accepted after the promotion (sentinels demote it only some seconds after the switch).
    pub fn wait_for_demotion(&self) {
        let old = self.replica();
        let result = wait_until(
            &format!("{} to follow the new master", old.addr()),
            SENTINEL_TIMEOUT,
            || {
                let info = old.try_info("replication")?;
                let role = info_field(&info, "role");
                let link = info_field(&info, "master_link_status");
                (role.as_deref() == Some("slave") && link.as_deref() == Some("up"))
                    .then_some(())
                    .ok_or(format!("role:{role:?} master_link_status:{link:?}"))
            },
        );
        if let Err(reason) = result {
            panic!("{reason}");
        }
    }

    /// Waits until every sentinel names the replica as the master and the replica says
    /// `role:master`; returns its address, which [`SentinelSetup::master_addr`] returns from now on.
    pub fn wait_for_failover(&mut self) -> String {
        let old = self.master;
        let new = 1 - old;
        let new_addr = self.data[new].addr();
        let result = wait_until(
            &format!("sentinels to promote {new_addr}"),
            SENTINEL_TIMEOUT,
            || {
                for &port in &self.sentinel_ports {
                    let said = self.sentinel_master_addr(port)?;
                    if said != new_addr {
                        return Err(format!("sentinel {HOST}:{port} still says {said}"));
                    }
                }
                let role = info_field(&self.data[new].try_info("replication")?, "role");
                (role.as_deref() == Some("master"))
                    .then_some(())
                    .ok_or(format!("{new_addr} says role:{role:?}"))
            },
        );
        if let Err(reason) = result {
            panic!("{reason}");
        }
        self.master = new;
        new_addr
    }
}
