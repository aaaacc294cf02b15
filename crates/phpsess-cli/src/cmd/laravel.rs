//! `phpsess laravel show|ls`: Laravel's sessions in Redis, from the app's `APP_KEY` and the
//! Redis it uses — decrypt the session cookie, find the key, read the session and the user id.

use std::io::{IsTerminal, Write};

use anyhow::{bail, Context, Result};
use phpsess::laravel::{
    cookie, AppKey, Cipher, Encrypter, KeyLayout, LaravelConfig, LaravelStore, ScanEvent, Skeleton,
    StoredSession, UserId,
};
use phpsess::store::Topology;
use serde_json::json;

use crate::output;

/// `phpsess laravel …`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: LaravelCommand,
}

#[derive(Debug, clap::Subcommand)]
enum LaravelCommand {
    /// Show one session, from its cookie or its id.
    Show(ShowArgs),
    /// List the app's sessions: id, user id, TTL, size.
    Ls(LsArgs),
}

/// What identifies the app: its key, its Redis and where it keeps sessions there.
#[derive(Debug, clap::Args)]
struct AppArgs {
    /// `APP_KEY` (`base64:…` or the raw key).
    #[arg(long, value_name = "KEY")]
    app_key: String,
    /// Earlier keys (`APP_PREVIOUS_KEYS`), tried for decryption after APP_KEY.
    #[arg(long = "previous-key", value_name = "KEY")]
    previous_keys: Vec<String>,
    /// `app.cipher`: aes-256-cbc (default), aes-128-cbc, aes-256-gcm, aes-128-gcm.
    #[arg(long, default_value = "aes-256-cbc")]
    cipher: String,
    /// The Redis Laravel's session store uses, as a phpsess save_path (`tcp://h:6379?database=0&auth=…`,
    /// `redis://…`, `sentinel://…`, or with --cluster the `seed[]=…` syntax).
    #[arg(long, value_name = "SAVE_PATH")]
    save_path: String,
    /// The Redis is a cluster.
    #[arg(long)]
    cluster: bool,
    #[command(flatten)]
    credentials: crate::credentials::Credentials,
    /// The whole key prefix before the session id (connection prefix + cache prefix), e.g.
    /// `laravel_database_laravel_cache:`.
    #[arg(long, value_name = "FULL_KEY_PREFIX", conflicts_with_all = ["laravel_version", "app_name"])]
    prefix: Option<String>,
    /// The Laravel version whose default prefixes and cookie name apply (8, 9, 10, 11, 12, 12.1, 13).
    #[arg(long, value_name = "N", requires = "app_name")]
    laravel_version: Option<String>,
    /// `APP_NAME`, from which those defaults are derived.
    #[arg(long, value_name = "NAME", requires = "laravel_version")]
    app_name: Option<String>,
    /// `session.cookie`, when it is not the version's default.
    #[arg(long, value_name = "NAME")]
    cookie_name: Option<String>,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    #[command(flatten)]
    app: AppArgs,
    /// The session cookie's value as the browser sends it (URL-encoded or not).
    #[arg(
        long,
        value_name = "VALUE",
        required_unless_present = "id",
        conflicts_with = "id"
    )]
    cookie: Option<String>,
    /// The 40-character session id.
    #[arg(long, value_name = "ID")]
    id: Option<String>,
    /// Print one JSON object: id, key, ttl, bytes, user_id, data.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct LsArgs {
    #[command(flatten)]
    app: AppArgs,
    /// Keys per SCAN step.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// One JSON object per line: id, user_id, ttl, bytes (or error).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        LaravelCommand::Show(a) => show(a),
        LaravelCommand::Ls(a) => ls(a),
    }
}

fn open(app: &AppArgs) -> Result<LaravelStore> {
    let key = AppKey::parse(&app.app_key).context("--app-key")?;
    let cipher: Cipher = app.cipher.parse().context("--cipher")?;
    let previous = app
        .previous_keys
        .iter()
        .map(|k| AppKey::parse(k))
        .collect::<Result<Vec<_>, _>>()
        .context("--previous-key")?;
    let encrypter = Encrypter::new(key, cipher)?.with_previous_keys(previous)?;
    let mut config = match (&app.prefix, &app.laravel_version, &app.app_name) {
        (Some(prefix), _, _) => LaravelConfig::new(
            encrypter,
            "laravel_session",
            KeyLayout::from_full_prefix(prefix.as_bytes().to_vec()),
        ),
        (None, Some(version), Some(name)) => {
            let skeleton: Skeleton = version.parse().context("--laravel-version")?;
            LaravelConfig::defaults(encrypter, skeleton, name)?
        }
        _ => bail!(
            "give --prefix, or --laravel-version with --app-name, to say where the sessions are"
        ),
    };
    if let Some(name) = &app.cookie_name {
        config.cookie_name = name.clone();
    }
    let auth = app.credentials.auth()?;
    let store = match (app.cluster, auth) {
        (true, auth) => LaravelStore::new(
            Topology::from_cluster_save_path_with_auth(&app.save_path, auth.as_ref())?,
            config,
        ),
        (false, None) => LaravelStore::open(&app.save_path, config)?,
        (false, Some(auth)) => {
            // `open` checks the save_path names one server (it opens no connection); the store
            // then gets the same topology with the outside credentials.
            let checked = LaravelStore::open(&app.save_path, config.clone())?;
            drop(checked);
            LaravelStore::new(
                Topology::from_save_path_with_auth(&app.save_path, Some(&auth))?,
                config,
            )
        }
    };
    Ok(store)
}

fn user_json(id: Option<UserId>) -> serde_json::Value {
    match id {
        None => serde_json::Value::Null,
        Some(UserId::Int(i)) => json!(i),
        Some(UserId::Str(s)) => json!(s),
    }
}

fn show(args: ShowArgs) -> Result<()> {
    let mut store = open(&args.app)?;
    let id = match (&args.cookie, &args.id) {
        (Some(value), _) if args.app.prefix.is_some() && args.app.cookie_name.is_none() => {
            // Without a Laravel version the cookie's name is unknown; try the two defaults.
            let (_, id) = cookie::session_id_from_cookie_names(
                &store.config().encrypter,
                &["laravel_session", "laravel-session"],
                value,
            )?;
            id
        }
        (Some(value), _) => store.session_id_from_cookie(value)?,
        (None, Some(id)) => id.clone(),
        (None, None) => bail!("give --cookie or --id"),
    };
    let Some(found) = store.load(&id)? else {
        bail!(
            "no session {id} (key {})",
            String::from_utf8_lossy(&store.key(&id))
        );
    };
    print_session(&found, args.json)
}

fn print_session(found: &StoredSession, as_json: bool) -> Result<()> {
    let data = found.session.to_friendly_json();
    let user = found.web_user_id();
    if as_json {
        return output::json(
            &json!({
                "id": found.id,
                "key": String::from_utf8_lossy(&found.key),
                "ttl": found.ttl,
                "bytes": found.size,
                "user_id": user_json(user),
                "data": data,
            }),
            true,
        );
    }
    let header = format!(
        "id:      {}\nkey:     {}\nttl:     {}\nbytes:   {}\nuser_id: {}\n",
        found.id,
        String::from_utf8_lossy(&found.key),
        found.ttl.map_or("none".to_owned(), |t| format!("{t} s")),
        found.size,
        user.map_or("none (not logged in)".to_owned(), |u| u.to_string()),
    );
    output::bytes(header.as_bytes())?;
    output::json(&data, true)
}

fn ls(args: LsArgs) -> Result<()> {
    let mut store = open(&args.app)?;
    let progress = std::io::stderr().is_terminal();
    let mut out = Vec::new();
    let mut failure: Option<anyhow::Error> = None;
    let summary =
        store.scan(args.batch.max(1), |event| match event {
            ScanEvent::Session(entry) => {
                let line = match &entry.session {
                Ok(session) if args.json => json!({
                    "id": entry.id, "user_id": user_json(session.user_id("web")),
                    "ttl": entry.ttl, "bytes": entry.size,
                })
                .to_string(),
                Err(e) if args.json => json!({
                    "id": entry.id, "ttl": entry.ttl, "bytes": entry.size, "error": e.to_string(),
                })
                .to_string(),
                Ok(session) => format!(
                    "{}  user {:<12} ttl {:>7}  {:>7} B",
                    entry.id,
                    session.user_id("web").map_or("-".to_owned(), |u| u.to_string()),
                    entry.ttl.map_or("none".to_owned(), |t| format!("{t}s")),
                    entry.size
                ),
                Err(e) => format!("{}  unreadable: {e}", entry.id),
            };
                out.extend_from_slice(line.as_bytes());
                out.push(b'\n');
                // Print as we go: a large scan shows its sessions without waiting for the end.
                if failure.is_none() {
                    if let Err(e) = output::bytes(&out) {
                        failure = Some(e);
                    }
                }
                out.clear();
            }
            ScanEvent::Progress(s) if progress => {
                let _ = write!(
                    std::io::stderr(),
                    "\rscanned {} keys, {} sessions",
                    s.keys_seen,
                    s.sessions
                );
            }
            _ => {}
        })?;
    if progress {
        let _ = writeln!(std::io::stderr());
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let note = format!(
        "{} sessions ({} unreadable) among {} keys\n",
        summary.sessions, summary.errors, summary.keys_seen
    );
    if !args.json {
        let _ = std::io::stderr().write_all(note.as_bytes());
    }
    Ok(())
}
