//! `Daemon`: one long-running web-server process (a php-fpm or nginx master) with its temporary
//! directory and log files, stopped with its whole process tree on drop.
//!
//! Both masters fork workers. Killing only the master is not enough (php-fpm workers outlive a
//! SIGKILLed master and keep serving the inherited socket), so each master runs in a process
//! group of its own and the guard asks it to shut down with SIGTERM, which both programs answer
//! by stopping their workers first, then SIGKILLs whatever is left of the group
//! ([`crate::process_group::stop`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use tempfile::TempDir;

use crate::process_group::{in_own_group, stop};

/// How long a master may take to stop its workers after SIGTERM before the tree is SIGKILLed.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// At most this many bytes of each log file are shown in a failure message (the end of the file).
const LOG_TAIL_BYTES: usize = 32 * 1024;

/// A running daemon process (in the foreground, so it is our child) and its private directory.
pub struct Daemon {
    /// What this is, for messages: "php-fpm pool a 127.0.0.1:PORT".
    label: String,
    child: Option<Child>,
    /// Files shown by [`Daemon::logs`], relative to the directory.
    log_files: Vec<String>,
    /// Drop prints the logs while panicking unless this is set (they are already in a message).
    silenced: bool,
    /// Declared last: removed after `drop` has stopped the processes and printed the logs.
    dir: TempDir,
}

impl Daemon {
    /// A new temporary directory (`phpsess-<prefix>-XXXX`) for a daemon not yet started.
    pub fn prepare(prefix: &str, label: String) -> io::Result<Daemon> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("phpsess-{prefix}-"))
            .tempdir()?;
        Ok(Daemon {
            label,
            child: None,
            log_files: Vec::new(),
            silenced: false,
            dir,
        })
    }

    /// The private directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `dir/name`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// For messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Renames the daemon in messages (e.g. once its port is known).
    pub fn set_label(&mut self, label: String) {
        self.label = label;
    }

    /// Adds a file (relative to the directory) to those [`Daemon::logs`] shows.
    pub fn add_log(&mut self, name: &str) {
        self.log_files.push(name.to_owned());
    }

    /// Starts `command` with stdout and stderr appended to `stdio.log` in the directory.
    pub fn spawn(&mut self, mut command: Command) -> io::Result<()> {
        debug_assert!(self.child.is_none(), "spawn while a process is tracked");
        let stdio = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("stdio.log"))?;
        if !self.log_files.iter().any(|f| f == "stdio.log") {
            self.log_files.push("stdio.log".to_owned());
        }
        let program = command.get_program().to_string_lossy().into_owned();
        let child = in_own_group(&mut command)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdio.try_clone()?))
            .stderr(Stdio::from(stdio))
            .spawn()
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot run {program} for {}: {e}", self.label),
                )
            })?;
        self.child = Some(child);
        Ok(())
    }

    /// The master's process id, while it runs (or is not yet reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// True while the master runs; reaps it if it has exited.
    pub fn is_running(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) | Err(_) => {
                self.child = None;
                false
            }
        }
    }

    /// The direct children of the master (its workers), from `/proc` (to measure them; stopping
    /// them goes by process group).
    pub fn worker_pids(&self) -> Vec<u32> {
        self.pid().map(children_of).unwrap_or_default()
    }

    /// Stops the master and its workers: SIGTERM, then SIGKILL to the process group for whatever
    /// is left after `STOP_TIMEOUT` (5 s) or once the master has exited. Does nothing if nothing
    /// runs.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            stop(&mut child, STOP_TIMEOUT);
        }
    }

    /// Drop will not print the logs.
    pub fn silence(&mut self) {
        self.silenced = true;
    }

    /// The ends of the log files, with headers, for failure messages.
    pub fn logs(&self) -> String {
        let mut text = format!(
            "===== {} ({}) =====\n",
            self.label,
            self.dir.path().display()
        );
        for name in &self.log_files {
            let path = self.path(name);
            if fs::metadata(&path).map(|m| m.len() == 0).unwrap_or(true) {
                continue;
            }
            text.push_str(&format!("----- {name} -----\n"));
            text.push_str(&tail_of(&path));
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
        text
    }

    /// Panics with `reason` and the logs (which Drop then does not print again).
    pub fn fail(&mut self, reason: &str) -> ! {
        self.silenced = true;
        let logs = self.logs();
        self.stop();
        panic!("{}: {reason}\n{logs}", self.label);
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() && !self.silenced {
            eprintln!("{}", self.logs());
        }
    }
}

/// The end of a file as text, or why it could not be read.
pub fn tail_of(path: &Path) -> String {
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

/// Direct children of `pid`, from `/proc/<pid>/task/*/children`.
fn children_of(pid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return pids;
    };
    for task in tasks.flatten() {
        if let Ok(list) = fs::read_to_string(task.path().join("children")) {
            pids.extend(
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok()),
            );
        }
    }
    pids
}
