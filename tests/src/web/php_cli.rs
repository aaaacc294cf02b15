//! `PhpCli`: one `php -n` process running a test script from `tests/php/` with the session
//! extensions loaded and the INI settings a test gives, with a time limit and its output captured.
//!
//! Every run has `zend.assertions=1` and `assert.exception=1` (a failing `assert()` ends the
//! script with a non-zero status and the message on stderr), `display_errors=stderr` (stdout
//! carries only what the script prints, usually one JSON line), and the settings a session needs
//! in the CLI: no cookies (the id comes from `session_id()`), no cache-limiter headers.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::ext::Extensions;
use crate::php::{cannot_run, php_binary, php_script};
use crate::process_group::{in_own_group, kill_group};

/// Default time limit for one script.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a running script is checked for having exited.
const POLL_INTERVAL: Duration = Duration::from_millis(5);

/// A PHP CLI invocation being put together.
#[derive(Debug, Clone)]
pub struct PhpCli {
    script: PathBuf,
    extensions: Extensions,
    ini: Vec<(String, String)>,
    args: Vec<String>,
    timeout: Duration,
}

impl PhpCli {
    /// Runs `tests/php/<name>`, with every extension ([`Extensions::All`]).
    pub fn script(name: &str) -> PhpCli {
        PhpCli::path(php_script(name))
    }

    /// Runs the script at `path`, with every extension ([`Extensions::All`]).
    pub fn path(path: impl Into<PathBuf>) -> PhpCli {
        PhpCli {
            script: path.into(),
            extensions: Extensions::All,
            ini: vec![
                ("zend.assertions".into(), "1".into()),
                ("assert.exception".into(), "1".into()),
                ("error_reporting".into(), "-1".into()),
                ("display_errors".into(), "stderr".into()),
                ("session.use_cookies".into(), "0".into()),
                ("session.use_only_cookies".into(), "0".into()),
                ("session.cache_limiter".into(), String::new()),
            ],
            args: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Which extensions to load.
    pub fn extensions(mut self, extensions: Extensions) -> PhpCli {
        self.extensions = extensions;
        self
    }

    /// `-d key=value` (later settings of the same key win, as in PHP).
    pub fn ini(mut self, key: impl Into<String>, value: impl Into<String>) -> PhpCli {
        self.ini.push((key.into(), value.into()));
        self
    }

    /// Several `-d key=value`.
    pub fn inis<K: Into<String>, V: Into<String>>(
        mut self,
        settings: impl IntoIterator<Item = (K, V)>,
    ) -> PhpCli {
        for (k, v) in settings {
            self.ini.push((k.into(), v.into()));
        }
        self
    }

    /// One script argument (`$argv[1]`, ...).
    pub fn arg(mut self, arg: impl Into<String>) -> PhpCli {
        self.args.push(arg.into());
        self
    }

    /// Several script arguments.
    pub fn args<A: Into<String>>(mut self, args: impl IntoIterator<Item = A>) -> PhpCli {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The time limit (default [`DEFAULT_TIMEOUT`]); the process is killed when it passes.
    pub fn timeout(mut self, timeout: Duration) -> PhpCli {
        self.timeout = timeout;
        self
    }

    /// The command line, for messages.
    pub fn command_line(&self) -> String {
        let mut words = vec![php_binary().display().to_string(), "-n".to_owned()];
        words.extend(self.extensions.args());
        for (k, v) in &self.ini {
            words.push("-d".to_owned());
            words.push(ini_define(k, v));
        }
        words.push(self.script.display().to_string());
        words.extend(self.args.iter().cloned());
        words
            .iter()
            .map(|w| {
                if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "&?;'\"".contains(c)) {
                    format!("'{w}'")
                } else {
                    w.clone()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Starts the script without waiting for it.
    pub fn spawn(&self) -> PhpProcess {
        let mut command = Command::new(php_binary());
        in_own_group(&mut command)
            .arg("-n")
            .args(self.extensions.args());
        for (k, v) in &self.ini {
            command.arg("-d").arg(ini_define(k, v));
        }
        command
            .arg(&self.script)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("{}", cannot_run(&php_binary(), &e)));
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        PhpProcess {
            child: Some(child),
            stdout,
            stderr,
            command_line: self.command_line(),
            started: Instant::now(),
            timeout: self.timeout,
        }
    }

    /// Runs the script to the end (or its time limit).
    pub fn run(&self) -> PhpOutput {
        self.spawn().wait()
    }

    /// Runs the script and panics with its output unless it exits with status 0.
    pub fn run_ok(&self) -> PhpOutput {
        let out = self.run();
        out.assert_success();
        out
    }
}

/// The argument of `-d`: PHP parses it as a php.ini line, so a value with anything but letters,
/// digits and `._-/` is double-quoted (save_paths contain `=`, `&`, `?`, `[]`).
fn ini_define(key: &str, value: &str) -> String {
    let plain = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/'));
    if plain {
        return format!("{key}={value}");
    }
    assert!(
        !value.contains(['"', '$', '\n']),
        "INI value {value:?}: '\"', '$' and newlines are not supported by the harness"
    );
    format!("{key}=\"{value}\"")
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        // A read error leaves what was read so far; the exit status says the rest.
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// A running PHP script (a process group of its own); killed with the group on drop if still
/// running.
#[derive(Debug)]
pub struct PhpProcess {
    child: Option<Child>,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    command_line: String,
    started: Instant,
    timeout: Duration,
}

impl PhpProcess {
    /// True once the process has exited.
    pub fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => !matches!(child.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// The process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Waits for the end (killing the process at its time limit) and collects the output.
    pub fn wait(mut self) -> PhpOutput {
        let mut timed_out = false;
        let status = match self.child.take() {
            Some(mut child) => loop {
                match child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if self.started.elapsed() >= self.timeout => {
                        timed_out = true;
                        kill_group(&mut child);
                        break child.wait().ok();
                    }
                    Ok(None) => thread::sleep(POLL_INTERVAL),
                    Err(_) => break None,
                }
            },
            None => None,
        };
        let join = |h: Option<JoinHandle<Vec<u8>>>| {
            h.and_then(|h| h.join().ok())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        PhpOutput {
            status,
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
            elapsed: self.started.elapsed(),
            timed_out,
            command_line: std::mem::take(&mut self.command_line),
        }
    }
}

impl Drop for PhpProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&mut child);
        }
    }
}

/// What a finished script left.
#[derive(Debug, Clone)]
pub struct PhpOutput {
    /// Exit status (`None` if it could not be collected).
    pub status: Option<ExitStatus>,
    /// Everything printed to stdout.
    pub stdout: String,
    /// Everything printed to stderr (warnings, failed assertions).
    pub stderr: String,
    /// Wall time from spawn to exit.
    pub elapsed: Duration,
    /// True if it was killed at its time limit.
    pub timed_out: bool,
    /// How it was run, for messages.
    pub command_line: String,
}

impl PhpOutput {
    /// True if it exited with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Panics with the command line and output unless it exited with status 0.
    pub fn assert_success(&self) {
        assert!(
            self.success() && !self.timed_out,
            "PHP script failed ({}):\n{}",
            if self.timed_out {
                "killed at its time limit".to_owned()
            } else {
                format!("{:?}", self.status)
            },
            self.describe()
        );
    }

    /// The command line and the output, for messages.
    pub fn describe(&self) -> String {
        format!(
            "$ {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.command_line, self.stdout, self.stderr
        )
    }

    /// The last line of stdout parsed as JSON; panics with the output if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        let line = self.stdout.lines().last().unwrap_or_default();
        serde_json::from_str(line).unwrap_or_else(|e| {
            panic!(
                "the script's last line is not JSON ({e}):\n{}",
                self.describe()
            )
        })
    }
}
