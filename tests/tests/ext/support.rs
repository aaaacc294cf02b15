//! Shared by the modules of this test target: the extension under test, and running `tests/php/ext_*.php`
//! through the real PHP CLI with it loaded (`php -n -d extension=<abs path>`).
//!
//! The extension is `$PHPSESS_EXT` when set (e.g. `target/php/phpsess.so` from `make ext`), else
//! the one built with the `test-panic` feature in the target directory these tests run from (see
//! `phpsess_compat::artifacts`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use phpsess_compat::php::{cannot_run, php_binary, php_script};

pub use phpsess_compat::artifacts::phpsess_extension as extension;

/// A PHP CLI run with the extension loaded and the CLI settings sessions need
/// (`session.use_cookies=0`, no cache limiter, assertions that throw).
pub struct Php {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Php {
    /// `php -n -d extension=<ext> ...` running `tests/php/<script>`, with `save_handler`/`save_path`.
    pub fn new(save_handler: &str, save_path: &str) -> Php {
        let mut php = Php {
            args: Vec::new(),
            env: Vec::new(),
        };
        php = php
            .ini("extension", &extension().display().to_string())
            .ini("zend.assertions", "1")
            .ini("assert.exception", "1")
            .ini("display_errors", "stderr")
            .ini("session.use_cookies", "0")
            .ini("session.cache_limiter", "")
            .ini("session.save_handler", save_handler)
            .ini("session.save_path", save_path);
        php
    }

    /// The `phpsess` handler on one standalone server.
    pub fn standalone(addr: &str) -> Php {
        Php::new("phpsess", &format!("tcp://{addr}"))
    }

    /// `-d name=value` (the value quoted, so `?`, `=` and `&` survive PHP's INI parser).
    pub fn ini(mut self, name: &str, value: &str) -> Php {
        self.args.push("-d".to_owned());
        self.args.push(format!("{name}=\"{value}\""));
        self
    }

    /// An environment variable for the PHP process.
    pub fn env(mut self, name: &str, value: &str) -> Php {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn command(&self, extra: &[&str]) -> Command {
        let mut cmd = Command::new(php_binary());
        cmd.arg("-n").args(&self.args).args(extra);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Runs `php ... <extra args>` and returns its output whatever the exit status.
    pub fn output(&self, extra: &[&str]) -> Output {
        self.command(extra)
            .output()
            .unwrap_or_else(|e| panic!("{}", cannot_run(&php_binary(), &e)))
    }

    /// Runs `tests/php/<script> <args>`; panics with PHP's output unless it exits 0 (a failed
    /// `assert()` throws, so it exits 255). Returns stdout.
    pub fn run(&self, script: &str, args: &[&str]) -> String {
        let path = php_script(script).display().to_string();
        let mut all = vec![path.as_str()];
        all.extend_from_slice(args);
        let out = self.output(&all);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "php {script} {args:?} failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Like [`Php::run`], for scripts that print one JSON object as their last line.
    pub fn json(&self, script: &str, args: &[&str]) -> serde_json::Value {
        let stdout = self.run(script, args);
        let last = stdout.lines().last().unwrap_or_default();
        serde_json::from_str(last)
            .unwrap_or_else(|e| panic!("last line of {script} is not JSON ({e}):\n{stdout}"))
    }

    /// Spawns `tests/php/<script> <args>` without waiting.
    pub fn spawn(&self, script: &str, args: &[&str]) -> std::process::Child {
        let path = php_script(script).display().to_string();
        let mut all = vec![path.as_str()];
        all.extend_from_slice(args);
        self.command(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}", cannot_run(&php_binary(), &e)))
    }
}

/// The warnings a script collected (`"warnings"` in its JSON).
pub fn warnings(v: &serde_json::Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|w| w.as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A loopback address where TCP connects time out: a listener whose accept queue is full (its
/// clients are held here, never accepted), so the kernel drops further SYNs.
pub struct SynBlackhole {
    addr: SocketAddr,
    _listener: TcpListener,
    _held: Vec<TcpStream>,
}

impl SynBlackhole {
    /// Fills the queue until a connect attempt times out.
    pub fn start() -> SynBlackhole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("listener address");
        let mut held = Vec::new();
        for _ in 0..4096 {
            match TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
                Ok(s) => held.push(s),
                Err(_) => {
                    return SynBlackhole {
                        addr,
                        _listener: listener,
                        _held: held,
                    }
                }
            }
        }
        panic!("the accept queue of {addr} never filled up");
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }
}
