//! `phpsess sessions` and `phpsess kill`: a user's sessions from the per-user index (the one the
//! extension keeps with `phpsess.user_key` or `phpsess_set_user()`), and ending sessions so they
//! stay ended (data, lock and binding deleted: a request in flight cannot write them back).

use anyhow::{bail, Result};
use phpsess::store::{is_hashed_id, SessionStore, StoreOptions};

use crate::credentials::AtRestKeys;
use serde_json::json;

use crate::output;
use crate::target::TargetArgs;

/// A store over the target that reads the per-user index; with a key, session ids are turned
/// into their stored names (phpsess.hash_ids).
fn store(target: &TargetArgs, keys: Option<&AtRestKeys>) -> Result<SessionStore> {
    let topology = target.resolve(false)?.topology()?;
    let hasher = match keys {
        Some(k) => k.id_hasher()?,
        None => None,
    };
    Ok(SessionStore::new(
        topology,
        StoreOptions::default()
            .with_user_index(true)
            .with_hash_ids(hasher),
    ))
}

/// `phpsess sessions --save-path SP [--cluster] --user U [--json]`
#[derive(Debug, clap::Args)]
pub struct SessionsArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The user id, as the app stores it (`$_SESSION[user_key]` or `phpsess_set_user()`).
    #[arg(long, value_name = "USER")]
    user: String,
    /// One JSON array of objects: id, ttl, bytes, host, lock.
    #[arg(long)]
    json: bool,
}

pub fn sessions(args: SessionsArgs) -> Result<()> {
    let mut store = store(&args.target, None)?;
    let found = store.user_sessions(args.user.as_bytes())?;
    if args.json {
        let list: Vec<_> = found
            .iter()
            .map(|s| {
                json!({"id": s.id, "ttl": s.ttl, "bytes": s.bytes, "host": s.host, "lock": s.lock_holder})
            })
            .collect();
        return output::json(&serde_json::Value::Array(list), true);
    }
    let mut text = String::new();
    for s in &found {
        text.push_str(&format!(
            "{}\tttl {}s\t{} bytes\t{}\t{}\n",
            s.id,
            s.ttl,
            s.bytes,
            s.host,
            s.lock_holder
                .as_deref()
                .map_or("unlocked".to_owned(), |h| format!("locked by {h}"))
        ));
    }
    if found.is_empty() {
        eprintln!("no indexed sessions for user {:?}", args.user);
    }
    output::bytes(text.as_bytes())
}

/// `phpsess kill --save-path SP [--cluster] (--user U [--except ID] | ID...) [--dry-run] [--json]`
#[derive(Debug, clap::Args)]
pub struct KillArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// End every indexed session of this user.
    #[arg(long, value_name = "USER", conflicts_with = "ids")]
    user: Option<String>,
    /// With --user: keep this session (the one the user is on).
    #[arg(long, value_name = "ID", requires = "user")]
    except: Option<String>,
    /// Say what would be ended, end nothing.
    #[arg(long)]
    dry_run: bool,
    /// One JSON object: destroyed (ids), dry_run.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    keys: AtRestKeys,
    /// Session ids to end (or stored ids, `h.…`, as listed under phpsess.hash_ids).
    #[arg(value_name = "ID")]
    ids: Vec<String>,
}

pub fn kill(args: KillArgs) -> Result<()> {
    let mut store = store(&args.target, Some(&args.keys))?;
    let keyed = store.options().hash_ids.is_some();
    let destroyed: Vec<String> = match (&args.user, args.ids.is_empty()) {
        (Some(user), true) => {
            if let Some(except) = args
                .except
                .as_deref()
                .filter(|e| !keyed && !is_hashed_id(e.as_bytes()))
            {
                // An index of hashed names cannot hold `except` as given: without the key,
                // every session, the one to keep included, would end.
                let listed = store.user_sessions(user.as_bytes())?;
                if listed.iter().any(|s| is_hashed_id(s.id.as_bytes())) {
                    bail!(
                        "user {user:?}'s sessions are stored under hashed ids (phpsess.hash_ids): \
                         --except {except} needs the key to find its stored name; give --key-file \
                         or PHPSESS_KEY, or pass the stored id (h.…) from `phpsess sessions`"
                    );
                }
            }
            if args.dry_run {
                // The index lists stored names: compare `except` in that form.
                let except = match args.except.as_deref() {
                    Some(e) if !is_hashed_id(e.as_bytes()) => {
                        Some(store.stored_id(e)?.into_owned())
                    }
                    other => other.map(str::to_owned),
                };
                store
                    .user_sessions(user.as_bytes())?
                    .into_iter()
                    .map(|s| s.id)
                    .filter(|id| Some(id) != except.as_ref())
                    .collect()
            } else {
                store.destroy_user_sessions(user.as_bytes(), args.except.as_deref())?
            }
        }
        (None, false) => {
            let mut gone = Vec::new();
            for id in &args.ids {
                let mut ended = end(&mut store, id, args.dry_run)?;
                if !ended && keyed && !is_hashed_id(id.as_bytes()) {
                    // Not under its hashed name: maybe under its own (no phpsess.hash_ids).
                    let options = store.options().clone().with_hash_ids(None);
                    let hashing = store.options().clone();
                    store.set_options(options);
                    ended = end(&mut store, id, args.dry_run)?;
                    store.set_options(hashing);
                }
                if ended {
                    gone.push(id.clone());
                } else if !keyed && !is_hashed_id(id.as_bytes()) {
                    eprintln!(
                        "no session {id}; if the fleet sets phpsess.hash_ids, sessions are stored \
                         under a keyed hash of their id: give --key-file or PHPSESS_KEY"
                    );
                }
            }
            gone
        }
        _ => bail!("give --user USER or session ids"),
    };
    if args.json {
        return output::json(
            &json!({"destroyed": destroyed, "dry_run": args.dry_run}),
            true,
        );
    }
    let verb = if args.dry_run { "would end" } else { "ended" };
    let mut text = String::new();
    for id in &destroyed {
        text.push_str(&format!("{verb} {id}\n"));
    }
    text.push_str(&format!("{verb} {} session(s)\n", destroyed.len()));
    output::bytes(text.as_bytes())
}

/// Ends (or with `dry_run` looks for) session `id`: true when it existed.
fn end(store: &mut SessionStore, id: &str, dry_run: bool) -> Result<bool> {
    Ok(if dry_run {
        store.inspect(id)?.is_some()
    } else {
        store.kill(id)?
    })
}
