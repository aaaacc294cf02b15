//! Real-server test harness: Drop-guarded redis-server processes (standalone, cluster, sentinel) on
//! free loopback ports, and a userspace TCP proxy that delays replies and counts round trips.
//!
//! Every guard kills its process(es) on drop (each server is a process group of its own, see
//! [`crate::process_group`]), waits for them, removes its temporary directory, and
//! prints the server logs to stderr when the test is failing (`std::thread::panicking()`); the test
//! harness shows that output beside the failure. No server ever uses 127.0.0.1:6379: ports come from
//! binding port 0 (see [`ports`]).
//!
//! Binaries: `redis-server` and `redis-cli` from `PATH`, or the paths in the environment variables
//! `REDIS_SERVER` / `REDIS_CLI`.

pub mod cluster;
pub mod ports;
pub mod proxy;
pub mod redis_server;
pub mod sentinel;

pub use cluster::{RedisCluster, RedisClusterBuilder};

pub use crate::process_group::signal;
pub use proxy::{Proxy, ProxyBuilder};
pub use redis_server::{RedisServer, RedisServerBuilder};
pub use sentinel::{SentinelSetup, SentinelSetupBuilder};

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::process_group::{in_own_group, kill_group, stop};

/// How long a server may take from spawn to answering PING.
pub const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Pause between two polls of a condition (readiness, cluster state, failover).
const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// At most this many bytes of each log file are printed when a test fails (the end of the file).
const LOG_TAIL_BYTES: usize = 64 * 1024;

/// The `redis-server` binary to run.
pub fn redis_server_bin() -> String {
    std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".to_owned())
}

/// The `redis-cli` binary to run.
pub fn redis_cli_bin() -> String {
    std::env::var("REDIS_CLI").unwrap_or_else(|_| "redis-cli".to_owned())
}

/// Why a polled condition does not hold yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotYet {
    /// Poll again (until the deadline).
    Retry(String),
    /// It never will (e.g. the process exited): stop polling now.
    Fatal(String),
}

impl From<String> for NotYet {
    fn from(reason: String) -> Self {
        NotYet::Retry(reason)
    }
}

/// Polls `check` every few milliseconds until it returns `Ok`, or until `timeout` has passed; then
/// returns the last reason it gave, prefixed with `what` and the time waited.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<T, String> {
    wait_until_fatal(what, timeout, || check().map_err(NotYet::Retry))
}

/// Like [`wait_until`], but stops at the first [`NotYet::Fatal`].
pub fn wait_until_fatal<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, NotYet>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(value) => return Ok(value),
            Err(NotYet::Fatal(reason)) => {
                return Err(format!(
                    "gave up after {:?} waiting for {what}: {reason}",
                    start.elapsed()
                ));
            }
            Err(NotYet::Retry(reason)) => {
                if start.elapsed() >= timeout {
                    return Err(format!(
                        "timed out after {:?} waiting for {what}: {reason}",
                        start.elapsed()
                    ));
                }
            }
        }
        thread::sleep(POLL_INTERVAL);
    }
}

/// The last [`LOG_TAIL_BYTES`] of a file, lossily decoded, or a note saying why it could not be read.
fn tail_of(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let start = bytes.len().saturating_sub(LOG_TAIL_BYTES);
            let mut text = String::new();
            if start > 0 {
                text.push_str(&format!("[... first {start} bytes left out ...]\n"));
            }
            text.push_str(&String::from_utf8_lossy(&bytes[start..]));
            text
        }
        Err(e) => format!("[cannot read {}: {e}]\n", path.display()),
    }
}

/// One redis-server process (data node or sentinel) with its own temporary directory, config file
/// and log files. Killed, reaped and removed on drop; logs printed on drop while panicking.
pub(crate) struct ServerProcess {
    /// What this process is, for messages: "redis-server 127.0.0.1:PORT" or "sentinel 127.0.0.1:PORT".
    label: String,
    conf: PathBuf,
    extra_args: Vec<String>,
    child: Option<Child>,
    silenced: bool,
    /// Declared last so it is removed after `Drop::drop` has killed the process and printed its logs.
    dir: TempDir,
}

impl ServerProcess {
    /// Creates the temporary directory; [`ServerProcess::write_conf`] and
    /// [`ServerProcess::respawn`] then start `redis-server redis.conf EXTRA_ARGS...` in it. The
    /// config should name [`ServerProcess::LOG_FILE`] in that directory as its `logfile`.
    pub(crate) fn create(label: String, extra_args: &[&str]) -> io::Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("phpsess-redis-")
            .tempdir()?;
        Ok(ServerProcess {
            label,
            conf: dir.path().join("redis.conf"),
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
            child: None,
            silenced: false,
            dir,
        })
    }

    /// Writes (or overwrites) `redis.conf` in the directory.
    pub(crate) fn write_conf(&self, text: &str) -> io::Result<()> {
        fs::write(&self.conf, text)
    }

    /// Drop will not print the logs (they are already in a panic message).
    pub(crate) fn silence(&mut self) {
        self.silenced = true;
    }

    /// Name of the server log inside the directory.
    pub(crate) const LOG_FILE: &'static str = "redis.log";
    /// Name of the file that receives stdout and stderr (errors before the log file is opened).
    const STDIO_FILE: &'static str = "stdio.log";

    /// Starts the process again with the same config and directory. The previous one must be gone.
    pub(crate) fn respawn(&mut self) -> io::Result<()> {
        debug_assert!(
            self.child.is_none(),
            "respawn while the old process is still tracked"
        );
        let stdio = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(Self::STDIO_FILE))?;
        let child = in_own_group(&mut Command::new(redis_server_bin()))
            .arg(&self.conf)
            .args(&self.extra_args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdio.try_clone()?))
            .stderr(Stdio::from(stdio))
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run {} for {}: {e}", redis_server_bin(), self.label),
                )
            })?;
        self.child = Some(child);
        Ok(())
    }

    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Process id of the running process, if one is running or not yet reaped.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// If the process has exited (and was reaped now), its exit status.
    pub(crate) fn exit_status(&mut self) -> Option<ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok().flatten();
        if status.is_some() {
            self.child = None;
        }
        status
    }

    pub(crate) fn is_running(&mut self) -> bool {
        self.child.is_some() && self.exit_status().is_none()
    }

    /// SIGKILL to its process group (a BGSAVE child too) and reap. Does nothing if the process is
    /// already gone.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }

    /// SIGTERM (Redis then shuts down cleanly: flushes the AOF, closes listeners) and reap; SIGKILL
    /// to the group if it has not exited within `timeout`.
    pub(crate) fn terminate(&mut self, timeout: Duration) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, timeout);
        }
    }

    /// The server log and the stdout/stderr capture, with headers, for failure messages.
    pub(crate) fn logs(&self) -> String {
        let mut text = format!(
            "===== {} ({}) =====\n",
            self.label,
            self.dir.path().display()
        );
        text.push_str("----- redis.log -----\n");
        text.push_str(&tail_of(&self.dir.path().join(Self::LOG_FILE)));
        let stdio = self.dir.path().join(Self::STDIO_FILE);
        if fs::metadata(&stdio).map(|m| m.len() > 0).unwrap_or(false) {
            text.push_str("----- stdout/stderr -----\n");
            text.push_str(&tail_of(&stdio));
        }
        text
    }

    /// True if the log says the listening port was taken (the bind-0 race lost to another process).
    pub(crate) fn lost_port_race(&self) -> bool {
        let log = tail_of(&self.dir.path().join(Self::LOG_FILE))
            + &tail_of(&self.dir.path().join(Self::STDIO_FILE));
        log.contains("Address already in use")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
        if thread::panicking() && !self.silenced {
            eprintln!("{}", self.logs());
        }
    }
}

/// Quotes a config value the way redis.conf parses it (sdssplitargs): bare if it is a plain word,
/// else in double quotes with `\` and `"` escaped. Multi-word configs such as `save "900 1"` accept
/// the words as one quoted value.
pub(crate) fn conf_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\'' && b != b'\\');
    if plain {
        return value.to_owned();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('"');
    for c in value.chars() {
        match c {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            c => quoted.push(c),
        }
    }
    quoted.push('"');
    quoted
}

/// Parses `key:value` lines of an `INFO` reply into pairs (sections and blank lines skipped).
pub fn parse_info(info: &str) -> Vec<(String, String)> {
    info.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The value of `field` in an `INFO` reply.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    parse_info(info)
        .into_iter()
        .find(|(k, _)| k == field)
        .map(|(_, v)| v)
}
