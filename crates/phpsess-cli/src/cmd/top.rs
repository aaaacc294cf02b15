//! `phpsess top`: the largest sessions, and in each the top-level `$_SESSION` variables that make
//! it large (bytes per variable, from the decoder's own offsets) — the answer to "why is this
//! session 400 KB". One SCAN with sizes keeps only the N largest in memory; only those N are
//! then read and decoded. Laravel's sessions (`--laravel`, `--app-key`) are unwrapped and
//! decrypted first: the sizes are the attributes' in the serialized payload.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use anyhow::Result;
use phpsess::laravel::LaravelSession;
use phpsess::session::{self, VariableSize};
use phpsess::store::{human_bytes, KeyKind, ScanEvent, ScanOptions, DEFAULT_MAX_SESSION_BYTES};
use serde_json::json;

use crate::cmd::show::ShowCompression;
use crate::output;
use crate::progress::ScanProgress;
use crate::target::{LaravelTarget, TargetArgs};

/// `phpsess top [--save-path SP] [--cluster] [-n 20] [--json]`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// How many sessions to show.
    #[arg(short = 'n', long = "number", default_value_t = 20, value_name = "N")]
    number: usize,
    /// How the handler compresses sessions (to decode them).
    #[arg(long, value_enum, default_value = "none")]
    compression: ShowCompression,
    #[command(flatten)]
    keys: crate::credentials::AtRestKeys,
    /// Keys per SCAN step.
    #[arg(long, default_value_t = 1000, value_name = "N")]
    count: usize,
    /// One JSON object per session, largest first: `id`, `host`, `bytes`, `ttl_ms`, `format`,
    /// `variables` (`name`, `bytes`), or `error`.
    #[arg(long)]
    json: bool,
}

/// A session among the largest: size first, so the heap orders by it.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Candidate {
    bytes: u64,
    server: usize,
    key: Vec<u8>,
    id: String,
    ttl_ms: Option<u64>,
}

pub fn run(args: Args) -> Result<()> {
    let target = args.target.resolve(false)?;
    let mut scanner = target.scanner()?;
    let labels: Vec<String> = scanner.servers()?.iter().map(|s| s.label.clone()).collect();
    let options = ScanOptions::default()
        .with_count(args.count)
        .with_memory(false);
    let keep = args.number.max(1);
    // A min-heap of the largest so far: memory stays at N sessions whatever the store holds.
    let mut heap: BinaryHeap<Reverse<Candidate>> = BinaryHeap::with_capacity(keep + 1);
    let mut progress = ScanProgress::new();
    let scanned = scanner.scan(&options, |event| {
        progress.on_event(&event, |i| labels.get(i).cloned().unwrap_or_default());
        if let ScanEvent::Key(k) = event {
            if k.kind != KeyKind::Session {
                return;
            }
            if heap.len() == keep && heap.peek().is_some_and(|Reverse(c)| c.bytes >= k.bytes) {
                return;
            }
            heap.push(Reverse(Candidate {
                bytes: k.bytes,
                server: k.server,
                key: k.key.clone(),
                id: k.id.clone(),
                ttl_ms: k.ttl_ms,
            }));
            if heap.len() > keep {
                heap.pop();
            }
        }
    });
    progress.finish();
    scanned?;
    let mut top: Vec<Candidate> = heap.into_iter().map(|Reverse(c)| c).collect();
    top.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.id.cmp(&b.id)));
    let compression = args.compression.compression();
    let keys = args.keys.encryption()?;
    let mut text = String::new();
    for (rank, c) in top.iter().enumerate() {
        let value = scanner
            .get_values(c.server, std::slice::from_ref(&c.key))?
            .pop()
            .flatten();
        let host = labels.get(c.server).cloned().unwrap_or_default();
        let decoded = match (value, &target.laravel) {
            (None, _) => Err("gone since the scan (expired or destroyed)".to_owned()),
            (Some(stored), Some(laravel)) => explain_laravel(&stored, laravel),
            (Some(stored), None) => explain(&stored, &c.key, keys.as_ref(), compression),
        };
        if args.json {
            let mut v = json!({
                "id": c.id, "host": host, "bytes": c.bytes, "ttl_ms": c.ttl_ms,
            });
            match &decoded {
                Ok((format, vars)) => {
                    v["format"] = json!(format);
                    v["variables"] = json!(vars);
                }
                Err(e) => v["error"] = json!(e),
            }
            output::bytes(format!("{v}\n").as_bytes())?;
            continue;
        }
        let ttl = c
            .ttl_ms
            .map_or("no TTL".to_owned(), |ms| format!("ttl {} s", ms / 1000));
        text += &format!(
            "{:>3}. {}  {}  {}  {ttl}\n",
            rank + 1,
            c.id,
            host,
            human_bytes(c.bytes)
        );
        match decoded {
            Ok((format, vars)) => {
                let total: usize = vars.iter().map(|v| v.bytes).sum::<usize>().max(1);
                let mut vars = vars;
                vars.sort_by_key(|v| Reverse(v.bytes));
                for v in vars.iter().take(5) {
                    text += &format!(
                        "       {:<24} {:>10} {:>4}%\n",
                        short_name(&v.name),
                        human_bytes(v.bytes as u64),
                        v.bytes * 100 / total
                    );
                }
                if vars.len() > 5 {
                    text += &format!("       … {} more variables ({format})\n", vars.len() - 5);
                }
            }
            Err(e) => text += &format!("       {e}\n"),
        }
    }
    if !args.json {
        if top.is_empty() {
            text += "no sessions\n";
        }
        output::bytes(text.as_bytes())?;
    }
    Ok(())
}

/// A variable's name cut to 24 characters (Laravel's `login_web_<sha1>`), so the columns stay
/// aligned; `--json` has the whole name.
fn short_name(name: &str) -> String {
    if name.chars().count() <= 24 {
        return name.to_owned();
    }
    let mut short: String = name.chars().take(23).collect();
    short.push('…');
    short
}

/// A Laravel session's encoding (`laravel php`, `laravel json, encrypted`) and its attributes'
/// sizes in the decrypted payload, or why it cannot be read.
fn explain_laravel(
    stored: &[u8],
    laravel: &LaravelTarget,
) -> std::result::Result<(String, Vec<VariableSize>), String> {
    let (encoding, sizes) = LaravelSession::attribute_sizes(stored, laravel.encrypter.as_ref())
        .map_err(|e| format!("not readable: {e}"))?;
    let encrypted = if encoding.encrypted {
        ", encrypted"
    } else {
        ""
    };
    Ok((
        format!("laravel {}{encrypted}", encoding.serialization),
        sizes,
    ))
}

/// The session's format and its variables' sizes, or why it cannot be read.
fn explain(
    stored: &[u8],
    redis_key: &[u8],
    keys: Option<&phpsess::store::Encryption>,
    compression: phpsess::store::Compression,
) -> std::result::Result<(String, Vec<VariableSize>), String> {
    let stored = crate::credentials::open_stored(keys, redis_key, stored)?;
    let data = compression
        .decompress(&stored, DEFAULT_MAX_SESSION_BYTES)
        .map_err(|e| format!("not readable: {e}"))?;
    let format = session::detect(&data).ok_or_else(|| {
        "not in any PHP session format (compressed? give --compression)".to_owned()
    })?;
    let vars = session::variable_sizes(&data, format)
        .map_err(|e| format!("does not decode as {format}: {e}"))?;
    Ok((format.to_string(), vars))
}
