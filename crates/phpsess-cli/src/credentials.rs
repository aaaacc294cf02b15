//! Redis credentials from outside the command line: argv is visible to every user through `ps`,
//! so a password can come from the `PHPSESS_AUTH` environment variable or a file instead of the
//! save_path's `auth=`. Used only for save_path entries that give no `auth` of their own.

use std::path::PathBuf;

use anyhow::{Context, Result};
use phpsess::save_path::Auth;

/// The environment variable holding `PASSWORD`, `USER:PASSWORD` or `:PASSWORD`.
pub const AUTH_ENV: &str = "PHPSESS_AUTH";

/// `--auth-file`, and `PHPSESS_AUTH` when it is not given.
#[derive(Debug, Clone, clap::Args)]
pub struct Credentials {
    /// Read the Redis password for entries without `auth=` from the first line of FILE
    /// (`PASSWORD`, `USER:PASSWORD` or `:PASSWORD`). Without it, the PHPSESS_AUTH environment
    /// variable is used when set.
    #[arg(long, value_name = "FILE")]
    auth_file: Option<PathBuf>,
}

impl Credentials {
    /// The credentials given, if any. Errors name the source, never the value.
    pub fn auth(&self) -> Result<Option<Auth>> {
        if let Some(path) = &self.auth_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--auth-file: cannot read {}", path.display()))?;
            let line = text.lines().next().unwrap_or_default();
            let auth = Auth::from_setting(line)
                .map_err(|e| anyhow::anyhow!("--auth-file {}: {e}", path.display()))?;
            return Ok(Some(auth));
        }
        match std::env::var(AUTH_ENV) {
            Ok(v) if !v.is_empty() => Auth::from_setting(&v)
                .map(Some)
                .map_err(|e| anyhow::anyhow!("{AUTH_ENV}: {e}")),
            _ => Ok(None),
        }
    }
}
