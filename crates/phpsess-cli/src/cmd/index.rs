//! `phpsess index rebuild`: fill the per-user index from the sessions already stored, so a fleet
//! that turns `phpsess.user_key` on (or still has phpredis servers) does not wait a session
//! lifetime for "log out everywhere" to see every session. Scans every host or master, decodes
//! the user entry of each session, binds the ones not bound yet; safe to stop and run again.

use std::time::Instant;

use anyhow::Result;
use phpsess::session::{self, Format};
use phpsess::store::{
    user_in_session, KeyKind, ScanEvent, ScanOptions, SessionStore, StoreOptions,
    DEFAULT_MAX_SESSION_BYTES,
};
use serde_json::json;

use crate::cmd::show::ShowCompression;
use crate::output;
use crate::progress::ScanProgress;
use crate::target::TargetArgs;

/// `phpsess index …`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: IndexCommand,
}

#[derive(Debug, clap::Subcommand)]
enum IndexCommand {
    /// Bind every stored session whose data names a user (`--user-key`) and is not bound yet.
    Rebuild(RebuildArgs),
}

/// `phpsess index rebuild [--save-path SP] [--cluster] --user-key KEY [--json]`
#[derive(Debug, clap::Args)]
pub struct RebuildArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The top-level `$_SESSION` entry holding the user id (`phpsess.user_key`).
    #[arg(long, value_name = "KEY")]
    user_key: String,
    /// How the handler compresses sessions.
    #[arg(long, value_enum, default_value = "none")]
    compression: ShowCompression,
    #[command(flatten)]
    keys: crate::credentials::AtRestKeys,
    /// Keys per SCAN step, and sessions bound per round trip.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    count: usize,
    /// The most sessions the index keeps per user (`phpsess.user_index_max`).
    #[arg(long, default_value_t = phpsess::store::DEFAULT_USER_INDEX_MAX, value_name = "N")]
    max_per_user: usize,
    /// One JSON object: sessions, bound, without_user, unreadable, seconds, per_second.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        IndexCommand::Rebuild(a) => rebuild(a),
    }
}

fn rebuild(args: RebuildArgs) -> Result<()> {
    let target = args.target.resolve(false)?;
    let mut scanner = target.scanner()?;
    let labels: Vec<String> = scanner.servers()?.iter().map(|s| s.label.clone()).collect();
    let options = StoreOptions::default()
        .with_user_index(true)
        .with_user_index_max(args.max_per_user);
    let mut store = SessionStore::new(target.topology()?, options);
    let scan = ScanOptions::default()
        .with_count(args.count)
        .with_values(true);
    let compression = args.compression.compression();
    // Encrypted sessions (phpsess.encryption) are read with --key-file / PHPSESS_KEY; without a
    // key they count as unreadable. Under phpsess.hash_ids the scan yields stored ids, and the
    // index holds those, as the extension's.
    let keys = args.keys.encryption()?;
    let started = Instant::now();
    let mut progress = ScanProgress::new();
    let (mut sessions, mut bound, mut without_user, mut unreadable) = (0u64, 0u64, 0u64, 0u64);
    let mut batch: Vec<(String, Vec<u8>)> = Vec::with_capacity(args.count);
    let mut failure: Option<phpsess::Error> = None;
    let scanned = scanner.scan(&scan, |event| {
        progress.on_event(&event, |i| labels.get(i).cloned().unwrap_or_default());
        let ScanEvent::Key(k) = event else { return };
        if k.kind != KeyKind::Session || failure.is_some() {
            return;
        }
        sessions += 1;
        let stored = k.value.as_deref().unwrap_or_default();
        let user = crate::credentials::open_stored(keys.as_ref(), &k.key, stored)
            .ok()
            .and_then(|stored| {
                compression
                    .decompress(&stored, DEFAULT_MAX_SESSION_BYTES)
                    .ok()
                    .map(|d| d.into_owned())
            })
            .and_then(|data| {
                let format = session::detect(&data).unwrap_or(Format::Php);
                user_in_session(&data, format, &args.user_key).ok()
            });
        match user {
            None => unreadable += 1,
            Some(None) => without_user += 1,
            Some(Some(user)) => batch.push((k.id.clone(), user)),
        }
        if batch.len() >= args.count {
            match store.bind_existing(&batch) {
                Ok(n) => bound += n as u64,
                Err(e) => failure = Some(e),
            }
            batch.clear();
        }
    });
    progress.finish();
    scanned?;
    if let Some(e) = failure {
        return Err(e.into());
    }
    if !batch.is_empty() {
        bound += store.bind_existing(&batch)? as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_second = sessions as f64 / seconds.max(1e-9);
    if args.json {
        return output::json(
            &json!({
                "sessions": sessions, "bound": bound, "without_user": without_user,
                "unreadable": unreadable, "seconds": seconds, "per_second": per_second,
            }),
            true,
        );
    }
    let text = format!(
        "{sessions} sessions scanned in {seconds:.1} s ({per_second:.0}/s): {bound} bound now, \
         {} already bound (or ended meanwhile), {without_user} without a user in $_SESSION['{}'], {unreadable} unreadable\n",
        sessions - bound - without_user - unreadable,
        args.user_key
    );
    output::bytes(text.as_bytes())
}
