//! `phpsess ls`: one line per session (id, host, TTL, bytes, and the user when `--user-key`
//! names the `$_SESSION` entry that holds it), streamed as the scan goes, with filters on size,
//! remaining lifetime and user; `--user U` alone reads the per-user index instead of scanning.
//! Laravel's sessions (`--laravel`, `--app-key`) show the user logged in with the `web` guard.

use std::io::Write;

use anyhow::{bail, Result};
use phpsess::laravel::{LaravelSession, UserId};
use phpsess::session;
use phpsess::store::{
    KeyKind, ScanEvent, ScanOptions, ScannedKey, SessionStore, StoreOptions,
    DEFAULT_MAX_SESSION_BYTES,
};
use serde_json::json;

use crate::cmd::show::ShowCompression;
use crate::output;
use crate::progress::ScanProgress;
use crate::target::{LaravelTarget, TargetArgs};

/// `phpsess ls [--save-path SP] [--cluster] [--min-bytes N] [--max-ttl S] [--user-key K [--user U]] [--json]`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// Only sessions of at least N bytes (as stored).
    #[arg(long, value_name = "N")]
    min_bytes: Option<u64>,
    /// Only sessions that expire within S seconds (sessions without TTL are never shown then).
    #[arg(long, value_name = "S")]
    max_ttl: Option<u64>,
    /// The top-level `$_SESSION` entry that holds the user (e.g. `user_id`): shown per session
    /// (sessions are then read and decoded).
    #[arg(long, value_name = "KEY")]
    user_key: Option<String>,
    /// Only sessions of this user: from the per-user index (`phpsess.user_key`), or with
    /// --user-key from that entry of each session, or for Laravel's sessions the user logged in
    /// with the `web` guard.
    #[arg(long, value_name = "U")]
    user: Option<String>,
    /// How the handler compresses sessions (to decode them for --user-key).
    #[arg(long, value_enum, default_value = "none")]
    compression: ShowCompression,
    #[command(flatten)]
    keys: crate::credentials::AtRestKeys,
    /// Keys per SCAN step.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    count: usize,
    /// One JSON object per line: `id`, `host`, `ttl_ms`, `bytes`, `key_id` (encrypted sessions,
    /// else null), `plain_bytes` (with a key: decrypted and decompressed), `user` (with
    /// --user-key, and for Laravel's sessions), `error` (a session that cannot be read).
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let target = args.target.resolve(false)?;
    if target.laravel.is_some() && args.user_key.is_some() {
        bail!("--user-key is for PHP's sessions: Laravel's user is the web guard's login entry");
    }
    if let (Some(user), None, None) = (&args.user, &args.user_key, &target.laravel) {
        return indexed(&args, &target, user);
    }
    let mut scanner = target.scanner()?;
    let labels: Vec<String> = scanner.servers()?.iter().map(|s| s.label.clone()).collect();
    let keys = args.keys.encryption()?;
    // With a key every session is read (its size decrypted); else only its head (the key id).
    let options = ScanOptions::default()
        .with_count(args.count)
        .with_memory(false)
        .with_values(args.user_key.is_some() || keys.is_some() || target.laravel.is_some())
        .with_heads(true);
    let compression = args.compression.compression();
    let mut progress = ScanProgress::new();
    let mut failure: Option<anyhow::Error> = None;
    let (mut shown, mut total) = (0u64, 0u64);
    let scanned = scanner.scan(&options, |event| {
        progress.on_event(&event, |i| labels.get(i).cloned().unwrap_or_default());
        let ScanEvent::Key(k) = event else { return };
        if k.kind != KeyKind::Session || failure.is_some() {
            return;
        }
        total += 1;
        if args.min_bytes.is_some_and(|min| k.bytes < min) {
            return;
        }
        if let Some(max) = args.max_ttl {
            if k.ttl_ms.is_none_or(|ms| ms > max * 1000) {
                return;
            }
        }
        let key_id = k.head.as_deref().and_then(phpsess::store::envelope_key_id);
        // Decrypted (with a key) and decompressed: the session as PHP gets it.
        let plain = keys.as_ref().map(|keys| {
            crate::credentials::open_stored(
                Some(keys),
                &k.key,
                k.value.as_deref().unwrap_or_default(),
            )
            .and_then(|s| {
                compression
                    .decompress(&s, DEFAULT_MAX_SESSION_BYTES)
                    .map(|d| d.into_owned())
                    .map_err(|e| e.to_string())
            })
        });
        let user = match &target.laravel {
            Some(laravel) => Some(laravel_user_of(k, laravel)),
            None => args.user_key.as_deref().map(|key| match &plain {
                Some(Ok(data)) => user_in(data, key),
                Some(Err(e)) => Err(e.clone()),
                None => user_of(k, key, compression),
            }),
        };
        if let Some(want) = &args.user {
            let found = user
                .as_ref()
                .and_then(|u| u.as_ref().ok())
                .and_then(Option::as_ref);
            let same = match (&target.laravel, found) {
                // 42 and "42" are the same user to Laravel's user provider.
                (Some(_), Some(u)) => UserId::parse(u).same_user(&UserId::parse(want)),
                (None, Some(u)) => u == want,
                (_, None) => false,
            };
            if !same {
                return;
            }
        }
        shown += 1;
        let host = labels.get(k.server).map_or("", String::as_str);
        let line = if args.json {
            let mut v = json!({
                "id": k.id, "host": host, "ttl_ms": k.ttl_ms, "bytes": k.bytes,
                "key_id": key_id.map(|id| id.to_string()),
            });
            match &plain {
                Some(Ok(data)) => v["plain_bytes"] = json!(data.len()),
                Some(Err(e)) => v["error"] = json!(e),
                None => {}
            }
            match &user {
                Some(Ok(u)) => v["user"] = json!(u),
                Some(Err(e)) => v["error"] = json!(e),
                None => {}
            }
            v.to_string()
        } else {
            let ttl = k
                .ttl_ms
                .map_or("no-ttl".to_owned(), |ms| format!("{}s", ms.div_ceil(1000)));
            let user = match &user {
                Some(Ok(Some(u))) => format!("  user {u}"),
                Some(Ok(None)) => "  user -".to_owned(),
                Some(Err(e)) => format!("  unreadable: {e}"),
                None => String::new(),
            };
            let at_rest = match (&plain, key_id) {
                (Some(Ok(data)), _)
                    if key_id.is_some() || compression != phpsess::store::Compression::None =>
                {
                    format!("  ({} B as PHP reads it)", data.len())
                }
                (Some(Err(e)), _) => format!("  {e}"),
                (None, Some(id)) => format!("  encrypted (key id {id}; give --key-file to read)"),
                _ => String::new(),
            };
            format!(
                "{}  {host}  ttl {ttl:>7}  {:>9} B{at_rest}{user}",
                k.id, k.bytes
            )
        };
        // Print as we go: a large store shows its sessions without waiting for the end.
        if let Err(e) = output::bytes(format!("{line}\n").as_bytes()) {
            failure = Some(e);
        }
    });
    progress.finish();
    scanned?;
    if let Some(e) = failure {
        return Err(e);
    }
    if !args.json {
        let _ = writeln!(std::io::stderr(), "{shown} of {total} sessions shown");
    }
    Ok(())
}

/// `ls --user U` from the per-user index: no scan, one round trip per host for the index and
/// one for the sessions.
fn indexed(args: &Args, target: &crate::target::Target, user: &str) -> Result<()> {
    let mut store = SessionStore::new(target.topology()?, StoreOptions::default());
    let found = store.user_sessions(user.as_bytes())?;
    let mut text = String::new();
    let mut shown = 0;
    for s in &found {
        let ttl_ms = u64::try_from(s.ttl).ok().map(|t| t * 1000);
        if args.min_bytes.is_some_and(|min| s.bytes < min) {
            continue;
        }
        if let Some(max) = args.max_ttl {
            if ttl_ms.is_none_or(|ms| ms > max * 1000) {
                continue;
            }
        }
        shown += 1;
        if args.json {
            let v = json!({"id": s.id, "host": s.host, "ttl_ms": ttl_ms, "bytes": s.bytes, "user": user});
            text += &format!("{v}\n");
        } else {
            let ttl = ttl_ms.map_or("no-ttl".to_owned(), |ms| format!("{}s", ms / 1000));
            text += &format!(
                "{}  {}  ttl {ttl:>7}  {:>9} B  user {user}\n",
                s.id, s.host, s.bytes
            );
        }
    }
    output::bytes(text.as_bytes())?;
    if !args.json {
        let _ = writeln!(
            std::io::stderr(),
            "{shown} of {} indexed sessions of user {user} shown",
            found.len()
        );
    }
    Ok(())
}

/// The user logged in with Laravel's `web` guard (`login_web_…`) as text (`None`: nobody), or
/// why the session cannot be read.
fn laravel_user_of(
    k: &ScannedKey,
    laravel: &LaravelTarget,
) -> std::result::Result<Option<String>, String> {
    let stored = k.value.as_deref().unwrap_or_default();
    let session = LaravelSession::from_cache_value(stored, laravel.encrypter.as_ref())
        .map_err(|e| e.to_string())?;
    Ok(session.user_id("web").map(|u| u.to_string()))
}

/// The value of `$_SESSION[key]` as text (`None`: no such entry), or why it cannot be read.
fn user_of(
    k: &ScannedKey,
    key: &str,
    compression: phpsess::store::Compression,
) -> std::result::Result<Option<String>, String> {
    let stored = k.value.as_deref().unwrap_or_default();
    // No key given: an envelope is named by its key id, not decoded as garbage.
    let stored = crate::credentials::open_stored(None, &k.key, stored)?;
    let data = compression
        .decompress(&stored, DEFAULT_MAX_SESSION_BYTES)
        .map_err(|e| e.to_string())?;
    user_in(&data, key)
}

/// The value of `$_SESSION[key]` in session bytes as PHP reads them.
fn user_in(data: &[u8], key: &str) -> std::result::Result<Option<String>, String> {
    let format = session::detect(data).ok_or("not a PHP session (compressed?)")?;
    let vars = session::decode(data, format).map_err(|e| e.to_string())?;
    Ok(vars.get(key).map(|v| match v {
        phpsess::Value::String(s) => String::from_utf8_lossy(s).into_owned(),
        other => phpsess::json::to_friendly_json(other).to_string(),
    }))
}
