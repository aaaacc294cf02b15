//! The PHP extensions a test process loads: Debian's igbinary and phpredis, and our `phpsess.so`,
//! built on first use so `cargo test --workspace` works from a clean clone.
//!
//! Every PHP process of the compat suite runs with `-n` (no php.ini, no conf.d), so nothing from
//! the machine's PHP configuration leaks in; the extensions are loaded with `-d extension=...`,
//! igbinary before redis because Debian's phpredis links against it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::fixtures::workspace_root;

/// Environment variable naming a prebuilt `phpsess.so` to use instead of building one.
pub const PHPSESS_EXT_VAR: &str = "PHPSESS_EXT";

/// Where `make ext` leaves the extension, relative to the workspace root.
pub const EXT_PATH: &str = "target/php/phpsess.so";

/// The built extension: `$PHPSESS_EXT` if set, else `<root>/target/php/phpsess.so` after running
/// `make ext` once per test process. `make ext` is incremental (cargo decides what is stale), so a
/// checkout with edited extension sources is rebuilt rather than tested with an old library.
///
/// Several test binaries may start at once: the build runs under `flock(1)` on a lock file next
/// to the library, so only one `make ext` runs at a time and the others find it up to date.
/// Panics with the build output if the build fails: without the extension the fleet tests mean
/// nothing, and a skipped test would look like a passing one.
pub fn phpsess_extension() -> &'static Path {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        if let Some(path) = std::env::var_os(PHPSESS_EXT_VAR) {
            let path = PathBuf::from(path);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(format!(
                    "{PHPSESS_EXT_VAR}={} is not a file",
                    path.display()
                ))
            };
        }
        build()
    });
    match built {
        Ok(path) => path,
        Err(reason) => panic!("the phpsess extension is not available: {reason}"),
    }
}

fn build() -> Result<PathBuf, String> {
    let root = workspace_root();
    let so = root.join(EXT_PATH);
    let lock_dir = so
        .parent()
        .ok_or_else(|| format!("{} has no parent directory", so.display()))?;
    std::fs::create_dir_all(lock_dir)
        .map_err(|e| format!("cannot create {}: {e}", lock_dir.display()))?;
    let lock = lock_dir.join(".build.lock");
    let output = Command::new("flock")
        .arg(&lock)
        .arg("make")
        .arg("--no-print-directory")
        .arg("-C")
        .arg(&root)
        .arg("ext")
        .output()
        .map_err(|e| format!("cannot run `flock {} make ext`: {e}", lock.display()))?;
    if !output.status.success() {
        return Err(format!(
            "`make ext` in {} failed ({}):\n{}{}",
            root.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    if !so.is_file() {
        return Err(format!(
            "`make ext` succeeded but {} does not exist",
            so.display()
        ));
    }
    Ok(so)
}

/// Which save-handler extensions a PHP process loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extensions {
    /// igbinary and phpredis only (the fleet before the migration).
    Phpredis,
    /// igbinary, phpredis and phpsess (a migrating fleet: the INI picks the handler).
    All,
}

impl Extensions {
    /// `extension=` values in load order.
    pub fn load_list(self) -> Vec<String> {
        let mut list = vec!["igbinary".to_owned(), "redis".to_owned()];
        if self == Extensions::All {
            list.push(phpsess_extension().display().to_string());
        }
        list
    }

    /// `-d extension=...` arguments for `php -n` or `php-fpm -n`.
    pub fn args(self) -> Vec<String> {
        self.load_list()
            .into_iter()
            .flat_map(|e| ["-d".to_owned(), format!("extension={e}")])
            .collect()
    }
}
