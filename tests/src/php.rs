//! Running real PHP (`php -n`) from tests: one process per batch, inputs as base64 lines on
//! stdin, one output line per input on stdout. Spawning PHP per input would cost ~20 ms each.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::fixtures::{to_b64, workspace_root};

/// The PHP CLI to run: `$PHP` if set, else `php` from `PATH`.
pub fn php_binary() -> PathBuf {
    std::env::var_os("PHP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("php"))
}

/// `<root>/tests/php/<name>`.
pub fn php_script(name: &str) -> PathBuf {
    workspace_root().join("tests").join("php").join(name)
}

/// Run `php -n <script> <args…>` once, feeding it every input as one base64 line, and return
/// its stdout lines. Panics (with PHP's stderr) if PHP cannot start or exits non-zero: the
/// compat suite needs PHP 8.2, and a missing PHP must fail loudly rather than skip.
pub fn run_php_batch(script: &Path, args: &[&str], inputs: &[Vec<u8>]) -> Vec<String> {
    let php = php_binary();
    let mut child = Command::new(&php)
        .arg("-n")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} (PHP 8.2 CLI needed): {e}", php.display()));
    let mut stdin = child.stdin.take().expect("stdin was piped");
    // Write from another thread: PHP answers while we still feed it, and both pipes are finite.
    let payload: Vec<u8> = inputs.iter().fold(Vec::new(), |mut buf, input| {
        buf.extend_from_slice(to_b64(input).as_bytes());
        buf.push(b'\n');
        buf
    });
    let writer = std::thread::spawn(move || {
        // A write error means PHP exited early; its exit status and stderr say why.
        let _ = stdin.write_all(&payload);
    });
    let stdout = child.stdout.take().expect("stdout was piped");
    let lines: Vec<String> = BufReader::new(stdout)
        .lines()
        .map(|l| l.unwrap_or_else(|e| panic!("reading PHP's output: {e}")))
        .collect();
    let output = child.wait_with_output().expect("waiting for PHP");
    writer.join().expect("stdin writer thread");
    if !output.status.success() {
        panic!(
            "{} -n {} failed ({}):\n{}",
            php.display(),
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    lines
}
