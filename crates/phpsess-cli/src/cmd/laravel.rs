//! `phpsess laravel show|ls|kill`: Laravel's sessions in Redis, from the app's `APP_KEY` and the
//! Redis it uses — decrypt the session cookie, find the key, read the session and the user id,
//! list or end a user's sessions. A lookup that finds nothing names the key (or pattern) it tried
//! and, when another Laravel version's layout has the sessions, says which.

use std::io::{IsTerminal, Write};

use anyhow::{bail, Context, Result};
use phpsess::laravel::{
    cookie, login_key, AppKey, Cipher, Encrypter, KeyLayout, LaravelConfig, LaravelStore,
    ScanEvent, ScanSummary, Skeleton, StoredSession, UserId, UserSession, DEFAULT_SCAN_BATCH,
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
    /// List the app's sessions: id, user id, TTL, size; with --user, that user's sessions only.
    Ls(LsArgs),
    /// End a user's sessions (all, or all but --except), as Laravel's logout does: delete them.
    Kill(KillArgs),
}

/// The app's key and which Laravel version's key layout it uses: shared by `laravel show|ls|kill`
/// and the Laravel mode of `stats`, `top`, `ls` and `exporter` (which find the Redis, and take
/// `--prefix`, as they do for PHP's sessions).
#[derive(Debug, Clone, clap::Args)]
pub struct LaravelArgs {
    /// `APP_KEY` (`base64:…` or the raw key): needed for encrypted sessions (`session.encrypt`)
    /// and cookies.
    #[arg(long, value_name = "KEY")]
    app_key: Option<String>,
    /// Earlier keys (`APP_PREVIOUS_KEYS`), tried for decryption after APP_KEY.
    #[arg(long = "previous-key", value_name = "KEY")]
    previous_keys: Vec<String>,
    /// `app.cipher`: aes-256-cbc (default), aes-128-cbc, aes-256-gcm, aes-128-gcm.
    #[arg(long, default_value = "aes-256-cbc")]
    cipher: String,
    /// The Laravel version whose default prefixes and cookie name apply (8, 9, 10, 11, 12, 12.1, 13).
    #[arg(
        long,
        value_name = "N",
        requires = "app_name",
        conflicts_with = "prefix"
    )]
    laravel_version: Option<String>,
    /// `APP_NAME`, from which those defaults are derived.
    #[arg(long, value_name = "NAME", requires = "laravel_version")]
    app_name: Option<String>,
}

impl LaravelArgs {
    /// Whether any of these options was given (the ops commands then read Laravel's sessions).
    pub fn given(&self) -> bool {
        self.app_key.is_some() || self.laravel_version.is_some() || !self.previous_keys.is_empty()
    }

    /// The Encrypter of `--app-key` (with `--previous-key`s), or `None` without a key.
    pub fn encrypter(&self) -> Result<Option<Encrypter>> {
        let Some(app_key) = &self.app_key else {
            if !self.previous_keys.is_empty() {
                bail!("--previous-key needs --app-key");
            }
            return Ok(None);
        };
        let key = AppKey::parse(app_key).context("--app-key")?;
        let cipher: Cipher = self.cipher.parse().context("--cipher")?;
        let previous = self
            .previous_keys
            .iter()
            .map(|k| AppKey::parse(k))
            .collect::<Result<Vec<_>, _>>()
            .context("--previous-key")?;
        Ok(Some(
            Encrypter::new(key, cipher)?.with_previous_keys(previous)?,
        ))
    }

    /// The Laravel version's skeleton, when `--laravel-version` and `--app-name` say it.
    fn skeleton(&self) -> Result<Option<(Skeleton, &str)>> {
        match (&self.laravel_version, &self.app_name) {
            (Some(version), Some(name)) => {
                let skeleton: Skeleton = version.parse().context("--laravel-version")?;
                Ok(Some((skeleton, name)))
            }
            _ => Ok(None),
        }
    }

    /// Where the sessions are: the version's default layout for the app name, or the whole
    /// prefix `prefix` (`--prefix`).
    pub fn layout(&self, prefix: Option<&str>) -> Result<KeyLayout> {
        match (prefix, self.skeleton()?) {
            (Some(prefix), _) => Ok(KeyLayout::from_full_prefix(prefix.as_bytes().to_vec())),
            (None, Some((skeleton, name))) => Ok(skeleton.default_layout(name)?),
            (None, None) => bail!(
                "give --prefix, or --laravel-version with --app-name, to say where the sessions are"
            ),
        }
    }
}

/// What identifies the app: its key, its Redis and where it keeps sessions there.
#[derive(Debug, clap::Args)]
struct AppArgs {
    #[command(flatten)]
    laravel: LaravelArgs,
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
    /// Only the sessions of this user id (the guard's `login_…` entry; `42` matches 42 and "42").
    #[arg(long, value_name = "USER")]
    user: Option<String>,
    /// The auth guard whose login entry --user is looked for in.
    #[arg(long, default_value = "web", requires = "user")]
    guard: String,
    /// One JSON object per line: id, user_id, ttl, bytes, and host with --user (or error).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct KillArgs {
    #[command(flatten)]
    app: AppArgs,
    /// The user whose sessions end (the guard's `login_…` entry; `42` matches 42 and "42").
    #[arg(long, value_name = "USER")]
    user: String,
    /// The auth guard whose login entry --user is looked for in.
    #[arg(long, default_value = "web")]
    guard: String,
    /// Keep this session (the 40-character id of the one to stay logged in).
    #[arg(long, value_name = "ID")]
    except: Option<String>,
    /// Say what would be destroyed, destroy nothing.
    #[arg(long)]
    dry_run: bool,
    /// Keys per SCAN step.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Print one JSON object: user_id, guard, destroyed (or would_destroy), kept.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        LaravelCommand::Show(a) => show(a),
        LaravelCommand::Ls(a) => match a.user.clone() {
            Some(user) => ls_user(a, &user),
            None => ls(a),
        },
        LaravelCommand::Kill(a) => kill(a),
    }
}

/// The app's store; `scan_batch` keys per SCAN step for the user lookups.
fn open(app: &AppArgs, scan_batch: usize) -> Result<LaravelStore> {
    let Some(encrypter) = app.laravel.encrypter()? else {
        bail!("--app-key is required: give the app's APP_KEY");
    };
    let keys = app.laravel.layout(app.prefix.as_deref())?;
    let mut config = match (&app.prefix, app.laravel.skeleton()?) {
        (None, Some((skeleton, name))) => LaravelConfig::defaults(encrypter, skeleton, name)?,
        _ => LaravelConfig::new(encrypter, "laravel_session", keys),
    };
    if let Some(name) = &app.cookie_name {
        config.cookie_name = name.clone();
    }
    let config = config.with_scan_batch(scan_batch);
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
    let mut store = open(&args.app, DEFAULT_SCAN_BATCH)?;
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
        let hint = other_layout_hint(&mut store, &args.app, Some(&id))?;
        bail!(
            "no session under {} ({}){hint}",
            String::from_utf8_lossy(&store.key(&id)),
            layout_name(&args.app),
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
    let mut store = open(&args.app, args.batch)?;
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
            ScanEvent::Progress(s) => show_progress(progress, s),
            _ => {}
        })?;
    end_progress(progress);
    if let Some(e) = failure {
        return Err(e);
    }
    if summary.sessions == 0 {
        let hint = other_layout_hint(&mut store, &args.app, None)?;
        eprintln!(
            "no session under {} ({}){hint}",
            pattern_text(&store),
            layout_name(&args.app)
        );
        return Ok(());
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

/// `\rscanned N keys, M sessions` on stderr, when it is a terminal (`enabled`): a pipe or a log
/// file gets no carriage-return noise.
fn show_progress(enabled: bool, s: ScanSummary) {
    if enabled {
        let _ = write!(
            std::io::stderr(),
            "\rscanned {} keys, {} sessions",
            s.keys_seen,
            s.sessions
        );
    }
}

/// Ends the progress line, if one was drawn.
fn end_progress(enabled: bool) {
    if enabled {
        let _ = writeln!(std::io::stderr());
    }
}

/// The pattern a scan of the app's sessions uses, for messages (`laravel_database_laravel_cache:*`).
fn pattern_text(store: &LaravelStore) -> String {
    String::from_utf8_lossy(&store.config().keys.scan_pattern()).into_owned()
}

/// Where the key layout in use came from, for messages.
fn layout_name(app: &AppArgs) -> String {
    match (&app.laravel.laravel_version, &app.laravel.app_name) {
        (Some(version), Some(name)) => {
            format!("the Laravel {version} key layout for APP_NAME {name:?}")
        }
        _ => "the --prefix given".to_owned(),
    }
}

/// The other Laravel versions' default layouts for the same APP_NAME, one per distinct prefix,
/// each with the versions that share it (`["9", "10"]`). None for an explicit --prefix: its
/// APP_NAME is unknown.
fn other_layouts(app: &AppArgs, current: &KeyLayout) -> Vec<(Vec<&'static str>, KeyLayout)> {
    let Some(name) = &app.laravel.app_name else {
        return Vec::new();
    };
    let mut out: Vec<(Vec<&'static str>, KeyLayout)> = Vec::new();
    for skeleton in Skeleton::ALL {
        let Ok(layout) = skeleton.default_layout(name) else {
            continue;
        };
        if layout == *current {
            continue;
        }
        match out.iter_mut().find(|(_, l)| *l == layout) {
            Some((versions, _)) => versions.push(skeleton.name()),
            None => out.push((vec![skeleton.name()], layout)),
        }
    }
    out
}

/// For a lookup that found nothing: "; there is one under K: is this a Laravel 8 app? try
/// --laravel-version 8" when another version's layout holds session `id` (or, with no id, any
/// session), else an empty string.
fn other_layout_hint(store: &mut LaravelStore, app: &AppArgs, id: Option<&str>) -> Result<String> {
    let candidates = other_layouts(app, &store.config().keys);
    if candidates.is_empty() {
        return Ok(String::new());
    }
    let layouts: Vec<KeyLayout> = candidates.iter().map(|(_, l)| l.clone()).collect();
    let Some(i) = store
        .find_other_layout(&layouts, id)
        .context("looking for the sessions under other Laravel versions' key layouts")?
    else {
        return Ok(String::new());
    };
    let (versions, layout) = &candidates[i];
    let place = match id {
        Some(id) => format!(
            "there is one under {}",
            String::from_utf8_lossy(&layout.key(id))
        ),
        None => format!(
            "there are sessions under {}",
            String::from_utf8_lossy(&layout.scan_pattern())
        ),
    };
    Ok(format!(
        "; {place}: is this a Laravel {} app? try --laravel-version {}",
        versions.join(" or "),
        versions[0]
    ))
}

/// The JSON of one of a user's sessions (the same fields as `ls`, plus the host).
fn user_session_json(s: &UserSession) -> serde_json::Value {
    json!({
        "id": s.id,
        "user_id": user_json(Some(s.user.clone())),
        "ttl": s.ttl,
        "bytes": s.bytes,
        "host": s.host,
    })
}

/// One line of text for one of a user's sessions.
fn user_session_line(s: &UserSession) -> String {
    format!(
        "{}  user {:<12} ttl {:>7}  {:>7} B  {}\n",
        s.id,
        s.user.to_string(),
        s.ttl.map_or("none".to_owned(), |t| format!("{t}s")),
        s.bytes,
        s.host
    )
}

/// Finds `user`'s sessions by scan, with progress on a terminal; also returns the scan's totals.
fn find_user_sessions(
    store: &mut LaravelStore,
    user: &UserId,
    guard: &str,
) -> Result<(Vec<UserSession>, ScanSummary)> {
    let progress = std::io::stderr().is_terminal();
    let mut last = ScanSummary::default();
    let found = store.user_sessions(user, guard, |s| {
        last = s;
        show_progress(progress, s);
    });
    end_progress(progress);
    Ok((found?, last))
}

/// What a scan that matched nothing tried, on stderr: the user's login key, the key pattern and
/// its layout, and where the sessions are if another version's layout has them.
fn report_no_match(
    store: &mut LaravelStore,
    app: &AppArgs,
    user: &UserId,
    guard: &str,
    summary: ScanSummary,
) -> Result<()> {
    let hint = if summary.sessions == 0 {
        other_layout_hint(store, app, None)?
    } else {
        String::new()
    };
    let unreadable = if summary.errors > 0 {
        format!(
            ", {} of them unreadable (wrong APP_KEY or --previous-key missing?)",
            summary.errors
        )
    } else {
        String::new()
    };
    eprintln!(
        "no session of user {user} with guard {guard} (entry {}) among {} sessions{unreadable} under {} ({}){hint}",
        login_key(guard),
        summary.sessions,
        pattern_text(store),
        layout_name(app),
    );
    Ok(())
}

fn ls_user(args: LsArgs, user: &str) -> Result<()> {
    let user = UserId::parse(user);
    let mut store = open(&args.app, args.batch)?;
    let (found, summary) = find_user_sessions(&mut store, &user, &args.guard)?;
    for s in &found {
        if args.json {
            output::json(&user_session_json(s), false)?;
        } else {
            output::bytes(user_session_line(s).as_bytes())?;
        }
    }
    if found.is_empty() {
        report_no_match(&mut store, &args.app, &user, &args.guard, summary)?;
    }
    Ok(())
}

fn kill(args: KillArgs) -> Result<()> {
    if let Some(id) = &args.except {
        cookie::check_session_id(id).context("--except")?;
    }
    let user = UserId::parse(&args.user);
    let mut store = open(&args.app, args.batch)?;
    let except = args.except.as_deref();
    let (ids, summary, kept) = if args.dry_run {
        let (found, summary) = find_user_sessions(&mut store, &user, &args.guard)?;
        let kept = found.iter().any(|s| Some(s.id.as_str()) == except);
        let ids: Vec<String> = found
            .into_iter()
            .filter(|s| Some(s.id.as_str()) != except)
            .map(|s| s.id)
            .collect();
        (ids, summary, kept)
    } else {
        let progress = std::io::stderr().is_terminal();
        let mut last = ScanSummary::default();
        let mut kept = false;
        // destroy_user_sessions does not report the session it spared; one more look says
        // whether --except was one of this user's (a typo'd id would otherwise pass silently).
        let ids = store.destroy_user_sessions(&user, &args.guard, except, |s| {
            last = s;
            show_progress(progress, s);
        });
        end_progress(progress);
        let ids = ids?;
        if let Some(id) = except {
            kept = store.load(id)?.is_some_and(|s| {
                s.session
                    .user_id(&args.guard)
                    .is_some_and(|u| u.same_user(&user))
            });
        }
        (ids, last, kept)
    };
    let verb = if args.dry_run {
        "would destroy"
    } else {
        "destroyed"
    };
    if args.json {
        let field = if args.dry_run {
            "would_destroy"
        } else {
            "destroyed"
        };
        output::json(
            &json!({
                "user_id": user_json(Some(user.clone())),
                "guard": args.guard,
                field: ids,
                "kept": if kept { json!(except) } else { serde_json::Value::Null },
            }),
            false,
        )?;
    } else {
        for id in &ids {
            output::bytes(format!("{verb} {id}\n").as_bytes())?;
        }
    }
    if let (Some(id), false) = (except, kept) {
        eprintln!(
            "--except {id}: not a session of user {user} with guard {}",
            args.guard
        );
    }
    if ids.is_empty() && !kept {
        report_no_match(&mut store, &args.app, &user, &args.guard, summary)?;
    } else if !args.json {
        eprintln!(
            "{verb} {} session(s) of user {user}{}",
            ids.len(),
            if kept {
                format!(", kept {}", except.unwrap_or_default())
            } else {
                String::new()
            }
        );
    }
    Ok(())
}
