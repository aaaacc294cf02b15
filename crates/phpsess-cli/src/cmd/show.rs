//! `phpsess show`: one session, found exactly where the PHP save handler would look (same host
//! choice, prefix and keys as phpredis), with its TTL, size, host and lock holder.

use anyhow::{bail, Context, Result};
use phpsess::session::{self, Format};
use phpsess::store::{SessionStore, StoreOptions, Topology};
use serde_json::json;

use crate::output;

/// `phpsess show --save-path SAVE_PATH [--cluster] [--format F] [--raw] [--json] ID`
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
    /// The session's `session.serialize_handler`; `auto` guesses from the bytes.
    #[arg(long, value_enum, default_value = "auto")]
    format: ShowFormat,
    /// Print the stored bytes exactly as they are (no decoding).
    #[arg(long, conflicts_with = "json")]
    raw: bool,
    /// Print one JSON object: id, key, host, ttl, bytes, lock, format, data.
    #[arg(long)]
    json: bool,
    /// The session id (the PHPSESSID cookie value).
    #[arg(value_name = "ID")]
    id: String,
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
    let mut store = SessionStore::new(topology, StoreOptions::default());
    let Some(info) = store.inspect(&args.id)? else {
        bail!(
            "no session {} at {} (key {})",
            args.id,
            store.host_of(&args.id),
            store.key(&args.id).display()
        );
    };
    if args.raw {
        return output::bytes(&info.data);
    }
    let format = match args.format {
        ShowFormat::Auto => session::detect(&info.data).with_context(|| {
            format!(
                "session {} is not in any PHP session format; try --raw",
                args.id
            )
        })?,
        ShowFormat::Php => Format::Php,
        ShowFormat::PhpSerialize => Format::PhpSerialize,
        ShowFormat::PhpBinary => Format::PhpBinary,
    };
    let vars = session::decode(&info.data, format)
        .with_context(|| format!("session {} does not decode as {format}", args.id))?;
    let data = phpsess::json::session_to_friendly_json(&vars);
    if args.json {
        return output::json(
            &json!({
                "id": args.id,
                "key": info.key,
                "host": info.host,
                "ttl": info.ttl,
                "bytes": info.stored_bytes,
                "lock": info.lock_holder,
                "format": format.to_string(),
                "data": data,
            }),
            true,
        );
    }
    let lock = info.lock_holder.as_deref().unwrap_or("none");
    let header = format!(
        "id:     {}\nkey:    {}\nhost:   {}\nttl:    {} s\nbytes:  {}\nformat: {format}\nlock:   {lock}\n",
        args.id, info.key, info.host, info.ttl, info.stored_bytes
    );
    output::bytes(header.as_bytes())?;
    output::json(&data, true)
}
