//! `phpsess sessions` and `phpsess kill`: a user's sessions from the per-user index (the one the
//! extension keeps with `phpsess.user_key` or `phpsess_set_user()`), and ending sessions so they
//! stay ended (data, lock and binding deleted: a request in flight cannot write them back).

use anyhow::{bail, Result};
use phpsess::store::{SessionStore, StoreOptions};
use serde_json::json;

use crate::output;
use crate::target::TargetArgs;

/// A store over the target that reads the per-user index.
fn store(target: &TargetArgs) -> Result<SessionStore> {
    let topology = target.resolve(false)?.topology()?;
    Ok(SessionStore::new(
        topology,
        StoreOptions::default().with_user_index(true),
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
    let mut store = store(&args.target)?;
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
    /// Session ids to end.
    #[arg(value_name = "ID")]
    ids: Vec<String>,
}

pub fn kill(args: KillArgs) -> Result<()> {
    let mut store = store(&args.target)?;
    let destroyed: Vec<String> = match (&args.user, args.ids.is_empty()) {
        (Some(user), true) => {
            if args.dry_run {
                store
                    .user_sessions(user.as_bytes())?
                    .into_iter()
                    .map(|s| s.id)
                    .filter(|id| Some(id) != args.except.as_ref())
                    .collect()
            } else {
                store.destroy_user_sessions(user.as_bytes(), args.except.as_deref())?
            }
        }
        (None, false) => {
            let mut gone = Vec::new();
            for id in &args.ids {
                let ended = if args.dry_run {
                    store.inspect(id)?.is_some()
                } else {
                    store.kill(id)?
                };
                if ended {
                    gone.push(id.clone());
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
