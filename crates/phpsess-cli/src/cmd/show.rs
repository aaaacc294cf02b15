//! `phpsess show`: one session, found exactly where the PHP save handler would look (same host
//! choice, prefix and keys as phpredis), with its TTL, size, host and lock holder.

use anyhow::{bail, Context, Result};
use phpsess::session::{self, Format};
use phpsess::store::{is_hashed_id, Compression, SessionStore, StoreOptions, Topology};
use serde_json::json;

use crate::output;

/// `phpsess show --save-path SAVE_PATH [--cluster] [--compression C] [--format F] [--raw] [--json] ID`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The `session.save_path` from php.ini (phpredis `redis` syntax, `redis://` URL or
    /// `sentinel://h:p,h:p/master`).
    #[arg(long, value_name = "SAVE_PATH")]
    save_path: String,
    /// The save_path is for the `rediscluster` / `phpsess_cluster` handler.
    #[arg(long)]
    cluster: bool,
    #[command(flatten)]
    credentials: crate::credentials::Credentials,
    #[command(flatten)]
    keys: crate::credentials::AtRestKeys,
    /// How the handler compresses sessions (`phpsess.compression` or phpredis's
    /// `redis.session.compression`); stored bytes that are not of this algorithm are shown as
    /// they are, as the handler reads them.
    #[arg(long, value_enum, default_value = "none")]
    compression: ShowCompression,
    /// The session's `session.serialize_handler`; `auto` guesses from the bytes.
    #[arg(long, value_enum, default_value = "auto")]
    format: ShowFormat,
    /// Print the session bytes as PHP's serialize handler gets them (decompressed, not decoded).
    #[arg(long, conflicts_with = "json")]
    raw: bool,
    /// Print one JSON object: id, key, host, ttl, bytes (stored), compression, lock, key_id
    /// (encrypted sessions), format, data.
    #[arg(long)]
    json: bool,
    /// The session id (the PHPSESSID cookie value), or a stored id (`h.…`) as `phpsess ls` and
    /// `phpsess sessions` list them under phpsess.hash_ids.
    #[arg(value_name = "ID")]
    id: String,
}

/// `--compression`: the algorithms phpredis and the extension store sessions with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ShowCompression {
    None,
    Lzf,
    Zstd,
    Lz4,
}

impl ShowCompression {
    /// The store's setting; the level only matters when writing, and `show` never writes.
    pub(crate) fn compression(self) -> Compression {
        let level = i64::from(Compression::DEFAULT_LEVEL);
        let name = match self {
            ShowCompression::None => "none",
            ShowCompression::Lzf => "lzf",
            ShowCompression::Zstd => "zstd",
            ShowCompression::Lz4 => "lz4",
        };
        // Invariant: every name above is one `from_ini` accepts (tested by
        // `show_compression_names_are_known`).
        Compression::from_ini(name, level).expect("a known compression name")
    }
}

/// `--format`: a session encoding, or a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ShowFormat {
    Auto,
    Php,
    #[value(name = "php_serialize")]
    PhpSerialize,
    #[value(name = "php_binary")]
    PhpBinary,
}

pub fn run(args: Args) -> Result<()> {
    let auth = args.credentials.auth()?;
    let topology = if args.cluster {
        Topology::from_cluster_save_path_with_auth(&args.save_path, auth.as_ref())?
    } else {
        Topology::from_save_path_with_auth(&args.save_path, auth.as_ref())?
    };
    // Only reads: no lock is taken and the TTL is left alone.
    let compression = args.compression.compression();
    let encryption = args.keys.encryption()?;
    let keyed = encryption.is_some();
    let options = StoreOptions::default()
        .with_compression(compression)
        .with_encryption(encryption);
    let hasher = args.keys.id_hasher()?;
    let hashed = hasher.is_some() && !is_hashed_id(args.id.as_bytes());
    // With a key, the id is looked up under its hashed name first (phpsess.hash_ids), then
    // under its own (a fleet that encrypts without hashing ids).
    let mut store = SessionStore::new(topology, options.clone().with_hash_ids(hasher));
    let mut info = store.inspect(&args.id)?;
    if info.is_none() && hashed {
        store.set_options(options);
        info = store.inspect(&args.id)?;
    }
    let Some(info) = info else {
        let stored = store.stored_id(&args.id).map(|s| s.into_owned());
        let stored = stored.as_deref().unwrap_or(&args.id);
        let hint = if keyed || is_hashed_id(args.id.as_bytes()) {
            ""
        } else {
            "; if the fleet sets phpsess.hash_ids, sessions are stored under a keyed hash of \
             their id: give --key-file or PHPSESS_KEY"
        };
        bail!(
            "no session {} at {} (key {}){hint}",
            args.id,
            store.host_of(stored),
            store.key(stored).display()
        );
    };
    if !keyed {
        if let Some(id) = phpsess::store::envelope_key_id(&info.data) {
            bail!(
                "session {} is encrypted (phpsess.encryption) under key id {id}; give --key-file or PHPSESS_KEY",
                args.id
            );
        }
    }
    if args.raw {
        return output::bytes(&info.data);
    }
    // Compressed bytes read without --compression look like a broken session: say so.
    let hint = if compression == Compression::None {
        "if the handler compresses sessions, give --compression; else try --raw"
    } else {
        "try --raw"
    };
    let format = match args.format {
        ShowFormat::Auto => session::detect(&info.data).with_context(|| {
            format!(
                "session {} is not in any PHP session format (compression {compression}); {hint}",
                args.id
            )
        })?,
        ShowFormat::Php => Format::Php,
        ShowFormat::PhpSerialize => Format::PhpSerialize,
        ShowFormat::PhpBinary => Format::PhpBinary,
    };
    let vars = session::decode(&info.data, format).with_context(|| {
        format!(
            "session {} does not decode as {format} (compression {compression}; {hint})",
            args.id
        )
    })?;
    let data = phpsess::json::session_to_friendly_json(&vars);
    if args.json {
        return output::json(
            &json!({
                "id": args.id,
                "key": info.key,
                "host": info.host,
                "ttl": info.ttl,
                "bytes": info.stored_bytes,
                "compression": compression.name(),
                "lock": info.lock_holder,
                "key_id": info.key_id,
                "format": format.to_string(),
                "data": data,
            }),
            true,
        );
    }
    let lock = info.lock_holder.as_deref().unwrap_or("none");
    let header = format!(
        "id:     {}\nkey:    {}\nhost:   {}\nttl:    {} s\nbytes:  {}{}\nformat: {format}\nlock:   {lock}\n{}",
        args.id,
        info.key,
        info.host,
        info.ttl,
        info.stored_bytes,
        match compression {
            Compression::None => String::new(),
            c => format!(" ({c}, {} decompressed)", info.data.len()),
        },
        match &info.key_id {
            Some(id) => format!("key id: {id} (encrypted)\n"),
            None if keyed => "key id: none (stored unencrypted)\n".to_owned(),
            None => String::new(),
        }
    );
    output::bytes(header.as_bytes())?;
    output::json(&data, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn show_compression_names_are_known() {
        for c in ShowCompression::value_variants() {
            let name = c.to_possible_value().unwrap().get_name().to_owned();
            assert_eq!(c.compression().name(), name);
        }
    }
}
