//! What the compat suite tests but does not build itself: the `phpsess` command and the phpsess
//! extension, found in the target directory the test binary runs from.
//!
//! A test that ran `cargo build` itself would compile a second copy of the workspace with other
//! features while the first one links (and once per test binary), so both are built before the
//! tests, by [`BUILD_COMMAND`] — `make test` runs it (with `--lib --bins --tests --examples`, so
//! that dev-dependencies unify features as in `cargo test`) before `cargo test` with the same
//! features, which then reuses every artifact it built. By hand:
//!
//! ```sh
//! cargo build --workspace --features phpsess-ext/test-panic
//! cargo test -p phpsess-compat --test ext session::
//! ```
//!
//! The directory is the one holding the test binary (`<target>/<profile>/deps/<test>` →
//! `<target>/<profile>/`), so `CARGO_TARGET_DIR` and `--release` are followed as cargo followed
//! them. `$PHPSESS_EXT` names another extension (e.g. `target/php/phpsess.so` from `make ext`;
//! relative to the workspace root). A missing artifact fails the test with the command to run:
//! skipping would make a green run that tested nothing.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::fixtures::workspace_root;

/// What builds the artifacts, as the failure messages and the Makefile say it. `test-panic` lets
/// `PHPSESS_TEST_PANIC` inject a panic into a callback (`php-ext/src/boundary.rs`); `cargo test`
/// must be given the same `--features` to reuse the build.
pub const BUILD_COMMAND: &str = "cargo build --workspace --features phpsess-ext/test-panic";

/// Environment variable naming a prebuilt extension to load instead of the target directory's.
pub const PHPSESS_EXT_VAR: &str = "PHPSESS_EXT";

/// `<target>/<profile>`: where cargo put the test binary's workspace artifacts.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // <target>/<profile>/deps/<test> (test binaries) or <target>/<profile>/<bin> (soak, bench-e2e).
    let dir = exe.parent().expect("test executable has a directory");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir.parent().expect("<target>/<profile>/deps").to_path_buf()
    } else {
        dir.to_path_buf()
    }
}

/// The `phpsess` command of this build.
pub fn phpsess_bin() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| built(profile_dir().join("phpsess"), "the phpsess command"))
}

/// The `phpsess-axum-example` service of this build (`crates/phpsess-axum-example`).
pub fn axum_example_bin() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        built(
            profile_dir().join("phpsess-axum-example"),
            "the phpsess-axum-example service",
        )
    })
}

/// The extension to load: `$PHPSESS_EXT`, else `libphpsess_ext.so` of this build.
pub fn phpsess_extension() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| match std::env::var_os(PHPSESS_EXT_VAR) {
        Some(path) => {
            let path = workspace_root().join(path);
            assert!(
                path.is_file(),
                "{PHPSESS_EXT_VAR}={} is not a file",
                path.display()
            );
            path
        }
        None => built(
            profile_dir().join("libphpsess_ext.so"),
            "the phpsess extension",
        ),
    })
}

/// `path` if it exists; otherwise a panic naming the command that builds it.
fn built(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.is_file(),
        "{what} is not built: {} does not exist. Run `{BUILD_COMMAND}` (with `--release` for \
         a release test run; `make test` does it), or set {PHPSESS_EXT_VAR} for the extension",
        path.display()
    );
    path
}
