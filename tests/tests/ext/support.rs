//! Shared by the modules of this test target: the extension under test, and running `tests/php/ext_*.php`
//! through the real PHP CLI with it loaded (`php -n -d extension=<abs path>`).
//!
//! The extension is `$PHPSESS_EXT` when set (e.g. `target/php/phpsess.so` from `make ext`);
//! otherwise these tests build it themselves in the profile and target directory they run from
//! (`cargo build -p phpsess-ext --features test-panic`, which reuses what `cargo test` just built;
//! the feature lets `PHPSESS_TEST_PANIC` inject a panic, see `php-ext/src/boundary.rs`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use phpsess_compat::fixtures::workspace_root;
use phpsess_compat::php::{php_binary, php_script};

/// Absolute path of the extension to load.
pub fn extension() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("PHPSESS_EXT") {
            let p = PathBuf::from(p);
            let p = if p.is_relative() {
                workspace_root().join(p)
            } else {
                p
            };
            assert!(p.exists(), "PHPSESS_EXT={} does not exist", p.display());
            return p;
        }
        build_extension()
    })
}

/// `cargo build -p phpsess-ext` into the profile directory this test binary lives in
/// (`<target>/<profile>/deps/<test>` → `<target>/<profile>/libphpsess_ext.so`).
fn build_extension() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable in <target>/<profile>/deps")
        .to_path_buf();
    let target_dir = profile_dir
        .parent()
        .expect("<target>/<profile>")
        .to_path_buf();
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("profile directory name")
        .to_owned();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(workspace_root())
        // test-panic: PHPSESS_TEST_PANIC, for the panic-boundary test; never in `make ext`.
        .args([
            "build",
            "-p",
            "phpsess-ext",
            "--features",
            "test-panic",
            "--target-dir",
        ])
        .arg(&target_dir);
    match profile.as_str() {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cargo} to build the extension: {e}"));
    assert!(
        out.status.success(),
        "building the extension failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let so = profile_dir.join("libphpsess_ext.so");
    assert!(so.exists(), "{} missing after the build", so.display());
    so
}

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
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", php_binary().display()))
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
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", php_binary().display()))
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
