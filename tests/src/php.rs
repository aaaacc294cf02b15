//! Running real PHP (`php -n`) from tests: one process per batch, inputs on stdin (usually base64
//! lines), one output line per input on stdout. Spawning PHP per input would cost ~20 ms each.
//! No PHP is a failure, never a skip: [`cannot_run`].

use std::io::{self, Write};
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

/// Why PHP could not be started, for panics: the suite needs it, and a missing PHP fails the test
/// (a green run must mean PHP ran) with the command that installs it.
pub fn cannot_run(program: &Path, error: &io::Error) -> String {
    format!(
        "cannot run {} (the PHP 8.2 CLI; `make deps` or `scripts/install-deps.sh test` installs \
         it, `$PHP` names another): {error}",
        program.display()
    )
}

/// Runs `php -n ARGS…` with `stdin` as its input and returns its stdout. Panics with PHP's stderr
/// if it exits non-zero, and with [`cannot_run`] if there is no PHP.
pub fn run_php(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let php = php_binary();
    let mut child = Command::new(&php)
        .arg("-n")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}", cannot_run(&php, &e)));
    let mut pipe = child.stdin.take().expect("stdin was piped");
    let input = stdin.to_vec();
    // Write from another thread: PHP may answer while we still feed it, and both pipes are finite.
    let writer = std::thread::spawn(move || {
        // A write error means PHP exited early; its exit status and stderr say why.
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("waiting for PHP");
    writer.join().expect("stdin writer thread");
    assert!(
        output.status.success(),
        "{} -n {} failed ({}):\n{}",
        php.display(),
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Runs `php -n <script> <args…>` once, feeding it every input as one base64 line, and returns
/// its stdout lines (see [`run_php`]).
pub fn run_php_batch(script: &Path, args: &[&str], inputs: &[Vec<u8>]) -> Vec<String> {
    let payload: Vec<u8> = inputs.iter().fold(Vec::new(), |mut buf, input| {
        buf.extend_from_slice(to_b64(input).as_bytes());
        buf.push(b'\n');
        buf
    });
    let script = script.to_string_lossy();
    let all: Vec<&str> = std::iter::once(&*script)
        .chain(args.iter().copied())
        .collect();
    let stdout = run_php(&all, &payload);
    String::from_utf8(stdout)
        .unwrap_or_else(|e| panic!("{script} printed non-UTF-8: {e}"))
        .lines()
        .map(str::to_owned)
        .collect()
}
