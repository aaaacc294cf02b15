//! PHP's own `ext/session` tests (PHP 8.2, from Debian's php8.2 source package, fetched and cached
//! by the script) run with the `files` handler and with `phpsess` on a private redis-server:
//! `scripts/php-session-tests.sh` does the work and fails when a test that passes with `files`
//! does not pass with phpsess, outside `tests/php-session-tests.exclude`. ~10 s once cached.

use std::process::Command;

use phpsess_compat::fixtures::workspace_root;

#[test]
fn every_php_session_test_that_passes_with_files_passes_with_phpsess() {
    let root = workspace_root();
    let out = Command::new(root.join("scripts/php-session-tests.sh"))
        .current_dir(&root)
        .env("PHPSESS_EXT", crate::support::extension())
        .output()
        .expect("run scripts/php-session-tests.sh");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/php-session-tests.sh failed ({}):\n{stderr}",
        out.status
    );
    eprintln!("{stderr}");
}
