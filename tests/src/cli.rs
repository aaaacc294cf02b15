//! Running this workspace's `phpsess` command from tests.

use std::io::Write;
use std::process::{Command, Output, Stdio};

pub use crate::artifacts::phpsess_bin;

/// Run `phpsess ARGS…`: exit code, stdout, stderr.
pub fn run_phpsess(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(phpsess_bin())
        .args(args)
        .output()
        .expect("run phpsess");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run `phpsess ARGS…` with `stdin` as its input; its whole output.
pub fn phpsess_with_input(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(phpsess_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run phpsess");
    let mut pipe = child.stdin.take().expect("stdin was piped");
    let input = stdin.to_vec();
    // A separate writer so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().expect("wait for phpsess");
    writer.join().expect("stdin writer thread");
    out
}
