//! Every process the harness starts (redis-server, php-fpm, nginx, php) runs in a process group of
//! its own ([`in_own_group`]), so stopping it stops what it forked too — php-fpm and nginx
//! workers, redis-server's BGSAVE or AOF-rewrite child — by killing the group, with no walk of
//! `/proc` for descendants.
//!
//! std sends no signal but SIGKILL, and only to its own child; the house rules keep `unsafe` out
//! of the tests, so signals go through kill(1).
//!
//! A group of its own is not the terminal's foreground group: Ctrl-C on a test run kills the test
//! process, whose guards then never run, and leaves the servers running. They hold only temporary
//! directories and loopback ports; `pkill -g` on the group ids in `ps -eo pgid,args` ends them.

use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Pause between two checks whether a stopped process has exited.
const POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Makes `command` start a new process group (its id is the child's pid).
pub fn in_own_group(command: &mut Command) -> &mut Command {
    command.process_group(0)
}

/// Sends `SIG<name>` (`STOP`, `CONT`, `TERM`, …) to process `pid`; panics if that fails.
pub fn signal(pid: u32, name: &str) {
    assert!(kill(&pid.to_string(), name), "kill -{name} {pid} failed");
}

/// Sends `SIG<name>` to every process of group `pgid`; false if there is none left.
pub fn signal_group(pgid: u32, name: &str) -> bool {
    kill(&format!("-{pgid}"), name)
}

fn kill(target: &str, name: &str) -> bool {
    Command::new("kill")
        .arg(format!("-{name}"))
        .arg("--")
        .arg(target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run kill(1)")
        .success()
}

/// SIGKILL to the group `child` leads (also when the leader has exited: what it forked may still
/// run), then reaps the leader.
pub fn kill_group(child: &mut Child) {
    // The group id is the leader's pid. Once the leader is reaped that pid could name another
    // group, but only after the kernel has handed out every other pid (pid_max), and the group
    // is killed right after its leader's exit was seen.
    signal_group(child.id(), "KILL");
    let _ = child.wait();
}

/// Asks `child` to stop with SIGTERM (redis-server then writes its AOF, php-fpm and nginx stop
/// their workers first), waits up to `timeout` for it, then SIGKILLs whatever is left of its group
/// and reaps it.
pub fn stop(child: &mut Child, timeout: Duration) {
    if !matches!(child.try_wait(), Ok(None)) {
        kill_group(child);
        return;
    }
    let _ = kill(&child.id().to_string(), "TERM");
    let start = Instant::now();
    while start.elapsed() < timeout && matches!(child.try_wait(), Ok(None)) {
        thread::sleep(POLL_INTERVAL);
    }
    kill_group(child);
}
