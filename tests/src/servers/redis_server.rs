//! `RedisServer`: one Drop-guarded redis-server on a free loopback port, with optional password, ACL
//! users, AOF and unix socket, plus the assertions tests need (clients, `INFO commandstats`, restart).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo};

use super::{info_field, ports, wait_until_fatal, NotYet, ServerProcess, READY_TIMEOUT};

/// Host every test server binds to.
pub const HOST: &str = "127.0.0.1";

/// Timeout for connecting, reading and writing on harness connections, so that a broken server makes
/// a test fail instead of hang.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `restart` waits for a clean shutdown before it sends SIGKILL.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts tried when the port picked by binding 0 was taken by someone else before redis bound it.
const PORT_RACE_ATTEMPTS: usize = 3;

/// Config directives the harness writes itself; a `.arg()` with one of these keys replaces the value
/// instead of adding a second line.
const HARNESS_KEYS: &[&str] = &[
    "bind",
    "port",
    "daemonize",
    "dir",
    "logfile",
    "save",
    "appendonly",
    "unixsocket",
    "unixsocketperm",
    "requirepass",
];

/// Options for [`RedisServer`]; see [`RedisServer::builder`].
#[derive(Debug, Clone, Default)]
pub struct RedisServerBuilder {
    password: Option<String>,
    acl_users: Vec<(String, String)>,
    appendonly: bool,
    unix_socket: bool,
    port: Option<u16>,
    cluster_node: bool,
    args: Vec<(String, String)>,
    rename: Vec<String>,
}

impl RedisServerBuilder {
    /// `requirepass PW`: the default user needs this password.
    pub fn password(mut self, password: impl Into<String>) -> Self {
        self.password = Some(password.into());
        self
    }

    /// Adds an ACL user with all permissions: `user NAME on >PW ~* &* +@all`.
    pub fn acl_user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.acl_users.push((name.into(), password.into()));
        self
    }

    /// `appendonly yes` (AOF in the server's directory, kept across [`RedisServer::restart`]).
    pub fn appendonly(mut self, on: bool) -> Self {
        self.appendonly = on;
        self
    }

    /// Also listen on a unix socket `redis.sock` in the server's directory
    /// ([`RedisServer::unix_socket`] gives the path).
    pub fn unix_socket(mut self, on: bool) -> Self {
        self.unix_socket = on;
        self
    }

    /// Listen on this port instead of one picked by binding port 0.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Any other config directive, written as `KEY VALUE` into redis.conf (the value quoted as one
    /// word if needed, e.g. `.arg("save", "900 1")`). A key the harness writes itself (`save`,
    /// `appendonly`, `port`, ...) replaces the harness's value; other keys add a line each.
    pub fn arg(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.args.push((key.into(), value.into()));
        self
    }

    /// `rename-command NAME ""`: the server then answers "unknown command" to NAME, as an older
    /// Redis without it would (e.g. GETEX before 6.2).
    pub fn disable_command(mut self, name: impl Into<String>) -> Self {
        self.rename.push(name.into());
        self
    }

    /// Node of a Redis Cluster: pick a port whose bus port (`port + 10000`) is free and valid.
    pub(crate) fn cluster_node(mut self) -> Self {
        self.cluster_node = true;
        self
    }

    /// The redis.conf text for this server.
    fn conf_text(&self, port: u16, dir: &Path) -> String {
        let mut lines: Vec<(String, String)> = vec![
            ("bind".into(), HOST.into()),
            ("port".into(), port.to_string()),
            ("daemonize".into(), "no".into()),
            ("dir".into(), dir.display().to_string()),
            (
                "logfile".into(),
                dir.join(ServerProcess::LOG_FILE).display().to_string(),
            ),
            // No RDB snapshots unless a test asks: they cost time and leave files behind.
            ("save".into(), String::new()),
            (
                "appendonly".into(),
                if self.appendonly { "yes" } else { "no" }.into(),
            ),
        ];
        if self.unix_socket {
            lines.push((
                "unixsocket".into(),
                dir.join("redis.sock").display().to_string(),
            ));
            lines.push(("unixsocketperm".into(), "700".into()));
        }
        if let Some(pw) = &self.password {
            lines.push(("requirepass".into(), pw.clone()));
        }
        for (key, value) in &self.args {
            let lower = key.to_ascii_lowercase();
            let existing = lines.iter_mut().find(|(k, _)| *k == lower);
            match existing {
                Some((_, v)) if HARNESS_KEYS.contains(&lower.as_str()) => *v = value.clone(),
                _ => lines.push((key.clone(), value.clone())),
            }
        }
        let mut text = String::new();
        for (key, value) in &lines {
            text.push_str(key);
            text.push(' ');
            text.push_str(&super::conf_quote(value));
            text.push('\n');
        }
        for name in &self.rename {
            text.push_str(&format!("rename-command {name} \"\"\n"));
        }
        // ACL rules are several words, so they are written unquoted; names and passwords must not
        // contain spaces (checked in `start`).
        for (name, pw) in &self.acl_users {
            text.push_str(&format!("user {name} on >{pw} ~* &* +@all\n"));
        }
        text
    }

    /// Starts the server and waits until it answers PING. Panics with the server log if it does not.
    pub fn start(self) -> RedisServer {
        for (name, pw) in &self.acl_users {
            assert!(
                !name.contains(char::is_whitespace) && !pw.contains(char::is_whitespace),
                "ACL user {name:?}: names and passwords with whitespace are not supported by the harness"
            );
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = match self.port {
                Some(port) => port,
                None if self.cluster_node => ports::free_cluster_port(),
                None => ports::free_port(),
            };
            let label = if self.cluster_node {
                format!("cluster node {HOST}:{port}")
            } else {
                format!("redis-server {HOST}:{port}")
            };
            // The config names the directory, which exists only once the guard has created it.
            let mut process = ServerProcess::create(label, &[]).unwrap_or_else(|e| {
                panic!("cannot prepare a temporary directory for redis-server: {e}")
            });
            let conf = self.conf_text(port, process.dir());
            process
                .write_conf(&conf)
                .unwrap_or_else(|e| panic!("cannot write redis.conf for {}: {e}", process.label()));
            if let Err(e) = process.respawn() {
                panic!("{e}");
            }
            let mut server = RedisServer {
                unix_socket: self.unix_socket.then(|| process.dir().join("redis.sock")),
                process,
                port,
                password: self.password.clone(),
                acl_users: self.acl_users.clone(),
            };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(_)
                    if self.port.is_none()
                        && attempt < PORT_RACE_ATTEMPTS
                        && !server.process.is_running()
                        && server.process.lost_port_race() =>
                {
                    // Another process took the port between our bind-0 probe and redis's bind.
                    continue;
                }
                Err(reason) => server.fail(&reason),
            }
        }
    }
}

/// A running redis-server on 127.0.0.1, killed and its directory removed on drop.
///
/// Harness connections never send `CLIENT SETINFO`, so the only commands they add to
/// [`RedisServer::info_commandstats`] are the ones a test runs, plus those of the helpers: every
/// helper call opens a connection (`auth` when a password is set), [`RedisServer::reset_stats`]
/// leaves `config|resetstat` at 1, and each `INFO` is counted once the next `INFO` runs.
pub struct RedisServer {
    process: ServerProcess,
    port: u16,
    password: Option<String>,
    acl_users: Vec<(String, String)>,
    unix_socket: Option<PathBuf>,
}

impl std::fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisServer")
            .field("addr", &self.addr())
            .field("pid", &self.pid())
            .field("dir", &self.dir())
            .finish()
    }
}

impl RedisServer {
    /// A plain server: no password, no persistence.
    pub fn start() -> RedisServer {
        RedisServer::builder().start()
    }

    /// Options: password, ACL users, AOF, unix socket, port, raw config directives.
    pub fn builder() -> RedisServerBuilder {
        RedisServerBuilder::default()
    }

    /// The TCP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `"127.0.0.1:PORT"`.
    pub fn addr(&self) -> String {
        format!("{HOST}:{}", self.port)
    }

    /// `redis://127.0.0.1:PORT/`, or `redis://:PASSWORD@127.0.0.1:PORT/` with a password
    /// (percent-encoded).
    pub fn url(&self) -> String {
        match &self.password {
            Some(pw) => format!("redis://:{}@{HOST}:{}/", percent_encode(pw), self.port),
            None => format!("redis://{HOST}:{}/", self.port),
        }
    }

    /// The default user's password, if one was configured.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// ACL users configured with [`RedisServerBuilder::acl_user`], as (name, password).
    pub fn acl_users(&self) -> &[(String, String)] {
        &self.acl_users
    }

    /// Path of the unix socket, if [`RedisServerBuilder::unix_socket`] was set.
    pub fn unix_socket(&self) -> Option<&Path> {
        self.unix_socket.as_deref()
    }

    /// The server's temporary directory (config, log, AOF).
    pub fn dir(&self) -> &Path {
        self.process.dir()
    }

    /// Process id, or `None` after [`RedisServer::kill`].
    pub fn pid(&self) -> Option<u32> {
        self.process.pid()
    }

    /// SIGSTOP: a Redis that pauses mid-command. Connections stay open (the kernel still accepts
    /// new ones) and nothing is answered until [`RedisServer::resume`].
    pub fn pause(&self) {
        super::signal(self.pid().expect("a running server"), "STOP");
    }

    /// SIGCONT after [`RedisServer::pause`]: the server reads what was sent meanwhile and answers.
    pub fn resume(&self) {
        super::signal(self.pid().expect("a running server"), "CONT");
    }

    /// True while the process runs (false after `kill`, or if it died).
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// The server log (and anything it printed to stdout/stderr), with a header.
    pub fn logs(&self) -> String {
        self.process.logs()
    }

    /// Connection parameters for this server as `username` / `password` (both optional), without
    /// `CLIENT SETINFO` on connect.
    pub fn connection_info_as(
        &self,
        username: Option<&str>,
        password: Option<&str>,
    ) -> ConnectionInfo {
        loopback_connection_info(self.port, username, password)
    }

    /// Connection parameters for the default user with the configured password.
    pub fn connection_info(&self) -> ConnectionInfo {
        self.connection_info_as(None, self.password.as_deref())
    }

    /// A client for the default user with the configured password.
    pub fn client(&self) -> redis::Client {
        redis::Client::open(self.connection_info())
            .unwrap_or_else(|e| panic!("redis client for {}: {e}", self.addr()))
    }

    /// Connects as `username` / `password` (both optional), for tests of refused access.
    pub fn connection_as(
        &self,
        username: Option<&str>,
        password: Option<&str>,
    ) -> redis::RedisResult<redis::Connection> {
        connect_loopback(self.port, username, password)
    }

    /// A connection as the default user with the configured password, 10 s I/O timeouts.
    /// Panics (with the server log) if the server refuses it.
    pub fn connection(&self) -> redis::Connection {
        self.connection_as(None, self.password.as_deref())
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}\n{}", self.addr(), self.logs()))
    }

    /// The text of `INFO SECTION`; panics if the server does not answer.
    pub fn info(&self, section: &str) -> String {
        self.try_info(section)
            .unwrap_or_else(|e| panic!("INFO {section} on {}: {e}", self.addr()))
    }

    /// The text of `INFO SECTION`, or why the server did not answer (for polls).
    pub fn try_info(&self, section: &str) -> Result<String, String> {
        let mut con = self
            .connection_as(None, self.password.as_deref())
            .map_err(|e| format!("cannot connect to {}: {e}", self.addr()))?;
        redis::cmd("INFO")
            .arg(section)
            .query(&mut con)
            .map_err(|e| format!("INFO {section} on {}: {e}", self.addr()))
    }

    /// `INFO commandstats` as command name -> calls, e.g. `"get" -> 3`, `"client|setinfo" -> 2`
    /// (Redis 7 names subcommands `container|sub`). Commands never called are absent.
    pub fn info_commandstats(&self) -> HashMap<String, u64> {
        let info = self.info("commandstats");
        parse_commandstats(&info).unwrap_or_else(|reason| {
            panic!("INFO commandstats on {}: {reason}\n{info}", self.addr())
        })
    }

    /// `INFO stats` `total_commands_processed` (includes the `INFO` command that reads it, and the
    /// `AUTH` of its connection when a password is set).
    pub fn total_commands_processed(&self) -> u64 {
        let info = self.info("stats");
        info_field(&info, "total_commands_processed")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "no total_commands_processed in INFO stats of {}:\n{info}",
                    self.addr()
                )
            })
    }

    /// `CONFIG RESETSTAT`: zeroes command stats and counters.
    pub fn reset_stats(&self) {
        let () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query(&mut self.connection())
            .unwrap_or_else(|e| panic!("CONFIG RESETSTAT on {}: {e}", self.addr()));
    }

    /// SIGKILL: the server vanishes without a clean shutdown (for fault tests). [`RedisServer::restart`]
    /// starts it again.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Stops the server cleanly (SIGTERM: the AOF is flushed) if it runs, starts it again on the same
    /// port with the same directory and config, and waits until it answers PING.
    pub fn restart(&mut self) {
        self.process.terminate(SHUTDOWN_TIMEOUT);
        if let Err(e) = self.process.respawn() {
            panic!("{e}");
        }
        if let Err(reason) = self.wait_ready() {
            self.fail(&format!("after restart: {reason}"));
        }
    }

    /// Polls PING until PONG (a loading AOF answers LOADING first), or fails if the process exits.
    fn wait_ready(&mut self) -> Result<(), String> {
        let addr = self.addr();
        wait_until_fatal(&format!("{addr} to answer PING"), READY_TIMEOUT, || {
            if !self.process.is_running() {
                return Err(NotYet::Fatal("redis-server exited".to_owned()));
            }
            let mut con = self
                .connection_as(None, self.password.as_deref())
                .map_err(|e| e.to_string())?;
            let pong: String = redis::cmd("PING")
                .query(&mut con)
                .map_err(|e| e.to_string())?;
            if pong == "PONG" {
                Ok(())
            } else {
                Err(format!("PING answered {pong:?}").into())
            }
        })
    }

    /// Panics with `reason` and the server log (printed once: the guard is told not to repeat it).
    pub(crate) fn fail(&mut self, reason: &str) -> ! {
        let logs = self.logs();
        self.process.kill();
        self.process.silence();
        panic!("{} failed: {reason}\n{logs}", self.process.label());
    }
}

/// Connection parameters for 127.0.0.1:`port` as `username` / `password` (both optional), without
/// `CLIENT SETINFO` on connect (so harness connections add nothing to command stats).
pub fn loopback_connection_info(
    port: u16,
    username: Option<&str>,
    password: Option<&str>,
) -> ConnectionInfo {
    let mut redis_info = RedisConnectionInfo::default().set_skip_set_lib_name();
    if let Some(user) = username {
        redis_info = redis_info.set_username(user);
    }
    if let Some(pw) = password {
        redis_info = redis_info.set_password(pw);
    }
    ConnectionAddr::Tcp(HOST.to_owned(), port)
        .into_connection_info()
        // Converting a ConnectionAddr cannot fail; the message is there in case a redis release
        // changes that.
        .unwrap_or_else(|e| panic!("connection info for {HOST}:{port}: {e}"))
        .set_redis_settings(redis_info)
}

/// Connects to 127.0.0.1:`port` as `username` / `password`, with 10 s connect and I/O timeouts.
pub fn connect_loopback(
    port: u16,
    username: Option<&str>,
    password: Option<&str>,
) -> redis::RedisResult<redis::Connection> {
    let client = redis::Client::open(loopback_connection_info(port, username, password))?;
    let con = client.get_connection_with_timeout(IO_TIMEOUT)?;
    con.set_read_timeout(Some(IO_TIMEOUT))?;
    con.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(con)
}

/// Parses `cmdstat_NAME:calls=N,usec=...` lines.
pub fn parse_commandstats(info: &str) -> Result<HashMap<String, u64>, String> {
    let mut stats = HashMap::new();
    for (key, value) in super::parse_info(info) {
        let Some(name) = key.strip_prefix("cmdstat_") else {
            continue;
        };
        let calls = value
            .split(',')
            .find_map(|field| field.strip_prefix("calls="))
            .ok_or_else(|| format!("no calls= in {key}:{value}"))?;
        let calls = calls
            .parse()
            .map_err(|e| format!("calls={calls} in {key}: {e}"))?;
        stats.insert(name.to_owned(), calls);
    }
    Ok(stats)
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for passwords in URLs).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
