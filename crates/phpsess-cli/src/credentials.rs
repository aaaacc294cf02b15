//! Redis credentials from outside the command line: argv is visible to every user through `ps`,
//! so a password can come from the `PHPSESS_AUTH` environment variable or a file instead of the
//! save_path's `auth=`. Used only for save_path entries that give no `auth` of their own.

use std::path::PathBuf;

use anyhow::{Context, Result};
use phpsess::save_path::Auth;
use phpsess::store::{AtRestKey, Encryption, EncryptionMode, IdHasher};

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

/// The environment variable holding at-rest keys: `base64:…` or `file:/path`, comma-separated.
pub const KEY_ENV: &str = "PHPSESS_KEY";

/// The environment variable holding `phpsess.id_key` (`base64:…` or `file:/path`).
pub const ID_KEY_ENV: &str = "PHPSESS_ID_KEY";

/// `--key-file`, and `PHPSESS_KEY` when it is not given: the keys of `phpsess.encryption_key` and
/// `phpsess.previous_keys`, to read encrypted sessions and to find sessions by id under
/// `phpsess.hash_ids`. Never a key on the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct AtRestKeys {
    /// Read encrypted sessions with the key in FILE (`base64:…` as in `phpsess.encryption_key`, or
    /// the 32 raw bytes); repeat it for previous keys. Without it, the PHPSESS_KEY environment
    /// variable (`base64:…` or `file:/path`, comma-separated) is used when set. Under
    /// phpsess.hash_ids the first key also turns a session id into its stored name.
    #[arg(long, value_name = "FILE")]
    key_file: Vec<PathBuf>,
    /// Under phpsess.hash_ids with a `phpsess.id_key` of its own: that key, from FILE (same
    /// forms). Without it, the PHPSESS_ID_KEY environment variable, else the first --key-file.
    #[arg(long, value_name = "FILE")]
    id_key_file: Option<PathBuf>,
}

impl AtRestKeys {
    /// The keys given, as a reading configuration that also accepts plaintext. Errors name the
    /// source, never the key.
    pub fn encryption(&self) -> Result<Option<Encryption>> {
        let mut keys = self.keys()?.into_iter();
        let Some(current) = keys.next() else {
            return Ok(None);
        };
        // Reading only: `migrate` also shows sessions still stored in plaintext.
        Ok(Some(
            Encryption::new(EncryptionMode::Migrate, current).with_previous(keys.collect()),
        ))
    }

    /// The id hash of `phpsess.hash_ids`: from `--id-key-file` or `PHPSESS_ID_KEY`
    /// (`phpsess.id_key`), else from the first (current) key given. The CLI turns a session id
    /// into the name the fleet stores it under with it.
    pub fn id_hasher(&self) -> Result<Option<IdHasher>> {
        if let Some(path) = &self.id_key_file {
            let key = AtRestKey::parse(&format!("file:{}", path.display()))
                .map_err(|e| anyhow::anyhow!("--id-key-file {}: {e}", path.display()))?;
            return Ok(Some(IdHasher::new(&key)));
        }
        if let Ok(v) = std::env::var(ID_KEY_ENV) {
            if !v.trim().is_empty() {
                let key = AtRestKey::parse(&v).map_err(|e| anyhow::anyhow!("{ID_KEY_ENV}: {e}"))?;
                return Ok(Some(IdHasher::new(&key)));
            }
        }
        Ok(self.keys()?.first().map(IdHasher::new))
    }

    /// The keys given, current first.
    fn keys(&self) -> Result<Vec<AtRestKey>> {
        let mut keys = Vec::new();
        for path in &self.key_file {
            let key = AtRestKey::parse(&format!("file:{}", path.display()))
                .map_err(|e| anyhow::anyhow!("--key-file {}: {e}", path.display()))?;
            keys.push(key);
        }
        if keys.is_empty() {
            if let Ok(v) = std::env::var(KEY_ENV) {
                keys = AtRestKey::parse_list(&v).map_err(|e| anyhow::anyhow!("{KEY_ENV}: {e}"))?;
            }
        }
        Ok(keys)
    }
}

/// The stored bytes of a session as its handler sees them before decompressing: decrypted with
/// `keys` when it is an envelope, as they are otherwise. `redis_key` is the key it is stored
/// under (the envelope authenticates it). An envelope without keys, or one that does not open,
/// is an error naming the key id, never key material.
pub fn open_stored<'a>(
    keys: Option<&Encryption>,
    redis_key: &[u8],
    stored: &'a [u8],
) -> std::result::Result<std::borrow::Cow<'a, [u8]>, String> {
    use phpsess::store::{envelope_key_id, is_envelope, Opened};
    use std::borrow::Cow;
    if !is_envelope(stored) {
        return Ok(Cow::Borrowed(stored));
    }
    let Some(keys) = keys else {
        return Err(match envelope_key_id(stored) {
            Some(id) => format!(
                "encrypted (phpsess.encryption) under key id {id}; give --key-file or {KEY_ENV}"
            ),
            None => "encrypted (phpsess.encryption), an envelope of another version".to_owned(),
        });
    };
    match keys.open(redis_key, stored) {
        Opened::Decrypted { data, .. } => Ok(Cow::Owned(data)),
        Opened::Plain => Ok(Cow::Borrowed(stored)),
        Opened::Rejected(why) => Err(format!("unreadable: {why}")),
    }
}
