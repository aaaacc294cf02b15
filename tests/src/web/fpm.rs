//! `FpmPool`: one php-fpm master with one pool (a "web server") on a free loopback port, with a
//! private config, `-n` (no php.ini) and the extensions and INI settings a test asks for.
//!
//! Session settings go in as `php_admin_value` (what an operator writes in a pool file; scripts
//! cannot change them) or `php_value` (a default a script may change with `ini_set`). Each pool
//! sets the environment variable `FLEET_POOL` to its name, so a script can say which pool served it.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use super::ext::Extensions;
use super::process::{tail_of, Daemon};
use crate::fixtures::workspace_root;
use crate::servers::{ports, wait_until_fatal, NotYet};

/// The php-fpm binary: `$PHP_FPM` if set, else Debian's `php-fpm8.2`.
pub fn php_fpm_bin() -> String {
    std::env::var("PHP_FPM").unwrap_or_else(|_| "php-fpm8.2".to_owned())
}

/// How long php-fpm may take from spawn to "ready to handle connections".
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts lost to another process taking the port between our probe and php-fpm's bind.
const PORT_RACE_ATTEMPTS: usize = 3;

/// The line php-fpm logs once its workers are forked and it accepts requests.
const READY_LINE: &str = "ready to handle connections";

/// Options for [`FpmPool`]; see [`FpmPool::builder`].
#[derive(Debug, Clone)]
pub struct FpmPoolBuilder {
    name: String,
    workers: usize,
    extensions: Extensions,
    admin_values: Vec<(String, String)>,
    values: Vec<(String, String)>,
    env: Vec<(String, String)>,
    defines: Vec<(String, String)>,
    request_timeout_secs: u64,
}

impl FpmPoolBuilder {
    /// Number of worker processes (`pm = static`). Default 2.
    pub fn workers(mut self, n: usize) -> Self {
        assert!(n > 0, "a pool needs at least one worker");
        self.workers = n;
        self
    }

    /// Which extensions the workers load. Default [`Extensions::All`].
    pub fn extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// `php_admin_value[key] = value`: fixed for every request of the pool.
    pub fn admin_value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.admin_values.push((key.into(), value.into()));
        self
    }

    /// `php_value[key] = value`: the pool's default, which a script may change.
    pub fn value(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.values.push((key.into(), value.into()));
        self
    }

    /// `-d key=value` on php-fpm's command line (master and workers; e.g. `zend_extension`).
    pub fn define(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.defines.push((key.into(), value.into()));
        self
    }

    /// `env[key] = value` for the workers.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `request_terminate_timeout` in seconds (default 60): a hung request is killed after this.
    pub fn request_timeout_secs(mut self, secs: u64) -> Self {
        self.request_timeout_secs = secs;
        self
    }

    fn conf_text(&self, port: u16, daemon: &Daemon) -> String {
        let dir = daemon.dir().display().to_string();
        let mut text = String::new();
        let _ = writeln!(text, "[global]");
        let _ = writeln!(text, "error_log = {dir}/fpm.log");
        let _ = writeln!(text, "pid = {dir}/fpm.pid");
        let _ = writeln!(text, "daemonize = no");
        let _ = writeln!(text, "log_level = notice");
        let _ = writeln!(text, "[{}]", self.name);
        let _ = writeln!(text, "listen = 127.0.0.1:{port}");
        let _ = writeln!(text, "listen.backlog = 511");
        let _ = writeln!(text, "pm = static");
        let _ = writeln!(text, "pm.max_children = {}", self.workers);
        let _ = writeln!(
            text,
            "request_terminate_timeout = {}s",
            self.request_timeout_secs
        );
        let _ = writeln!(text, "catch_workers_output = yes");
        let _ = writeln!(text, "decorate_workers_output = no");
        let _ = writeln!(text, "env[FLEET_POOL] = {}", self.name);
        for (k, v) in &self.env {
            let _ = writeln!(text, "env[{k}] = {}", quote(v));
        }
        let _ = writeln!(
            text,
            "php_admin_value[error_log] = {}",
            quote(&format!("{dir}/php-errors.log"))
        );
        let _ = writeln!(text, "php_admin_flag[log_errors] = on");
        let _ = writeln!(text, "php_admin_flag[display_errors] = off");
        for (k, v) in &self.admin_values {
            let _ = writeln!(text, "php_admin_value[{k}] = {}", quote(v));
        }
        for (k, v) in &self.values {
            let _ = writeln!(text, "php_value[{k}] = {}", quote(v));
        }
        text
    }

    /// Starts php-fpm and waits until it accepts requests. Panics with its logs if it does not.
    pub fn start(self) -> FpmPool {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = ports::free_port();
            let label = format!("php-fpm pool {} 127.0.0.1:{port}", self.name);
            let mut daemon = Daemon::prepare("fpm", label)
                .unwrap_or_else(|e| panic!("cannot prepare a directory for php-fpm: {e}"));
            daemon.add_log("fpm.log");
            daemon.add_log("php-errors.log");
            daemon.add_log("fpm.conf");
            let conf = daemon.path("fpm.conf");
            std::fs::write(&conf, self.conf_text(port, &daemon))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
            let mut command = Command::new(php_fpm_bin());
            command.arg("-n").args(self.extensions.args());
            for (k, v) in &self.defines {
                command.arg("-d").arg(format!("{k}={v}"));
            }
            command
                // php-fpm refuses to run as root without -R; harmless for other users.
                .arg("-R")
                .arg("-F")
                .arg("-y")
                .arg(&conf)
                .arg("-p")
                .arg(daemon.dir());
            if let Err(e) = daemon.spawn(command) {
                panic!("{e}");
            }
            let mut pool = FpmPool {
                daemon,
                port,
                name: self.name.clone(),
            };
            match pool.wait_ready() {
                Ok(()) => return pool,
                Err(_) if attempt < PORT_RACE_ATTEMPTS && pool.lost_port_race() => continue,
                Err(reason) => pool.daemon.fail(&reason),
            }
        }
    }
}

/// A value in a php-fpm config line: always double-quoted (save_paths contain `?`, `&`, `=`).
fn quote(value: &str) -> String {
    assert!(
        !value.contains(['"', '$', '\n']),
        "php-fpm config value {value:?}: '\"', '$' and newlines are not supported by the harness"
    );
    format!("\"{value}\"")
}

/// A running php-fpm master and its workers, stopped on drop.
pub struct FpmPool {
    daemon: Daemon,
    port: u16,
    name: String,
}

impl std::fmt::Debug for FpmPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FpmPool")
            .field("name", &self.name)
            .field("addr", &self.addr())
            .field("dir", &self.daemon.dir())
            .finish()
    }
}

impl FpmPool {
    /// Options: workers, extensions, INI values, environment.
    pub fn builder(name: impl Into<String>) -> FpmPoolBuilder {
        let name = name.into();
        assert!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
            "pool name {name:?}: letters, digits and '_' only"
        );
        FpmPoolBuilder {
            name,
            workers: 2,
            extensions: Extensions::All,
            admin_values: Vec::new(),
            values: Vec::new(),
            env: Vec::new(),
            defines: Vec::new(),
            request_timeout_secs: 60,
        }
    }

    /// The pool's name (also `$_SERVER['FLEET_POOL']` in its requests).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `"127.0.0.1:PORT"`, the FastCGI address.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The worker processes' ids.
    pub fn worker_pids(&self) -> Vec<u32> {
        self.daemon.worker_pids()
    }

    /// The master's log, the PHP error log and the config, for failure messages.
    pub fn logs(&self) -> String {
        self.daemon.logs()
    }

    /// What PHP logged (warnings, uncaught exceptions) so far.
    pub fn php_errors(&self) -> String {
        let path = self.daemon.path("php-errors.log");
        if path.exists() {
            tail_of(&path)
        } else {
            String::new()
        }
    }

    fn master_log(&self) -> String {
        let path = self.daemon.path("fpm.log");
        std::fs::read_to_string(path).unwrap_or_default()
    }

    fn lost_port_race(&self) -> bool {
        self.master_log().contains("Address already in use")
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let label = self.daemon.label().to_owned();
        let result = wait_until_fatal(&label, READY_TIMEOUT, || {
            if self.master_log().contains(READY_LINE) {
                return Ok(());
            }
            if !self.daemon.is_running() {
                return Err(NotYet::Fatal("php-fpm exited".to_owned()));
            }
            Err(NotYet::Retry(format!("no {READY_LINE:?} in fpm.log yet")))
        });
        if result.is_err() {
            self.daemon.stop();
        }
        result
    }
}

/// `<root>/tests/php`, the document root of the test pools.
pub fn test_docroot() -> std::path::PathBuf {
    workspace_root().join("tests").join("php")
}
