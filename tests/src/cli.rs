//! Running this workspace's `phpsess` command from tests.

use std::path::PathBuf;
use std::process::Command;

/// The `phpsess` binary of this workspace, built first if this test run has not built it.
pub fn phpsess_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/<profile>/deps/<test> -> <target>/<profile>/phpsess
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("target profile dir");
    let bin = profile_dir.join("phpsess");
    if !bin.exists() {
        let target = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-q", "-p", "phpsess-cli", "--target-dir"])
            .arg(target)
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p phpsess-cli failed");
    }
    bin
}

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
