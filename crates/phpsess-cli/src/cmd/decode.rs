//! `phpsess decode`: serialized value or session bytes to friendly or lossless JSON.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use clap::ValueEnum;
use phpsess::session::{self, Format};
use phpsess::{json, unserialize, Array, Value};

use super::Layout;
use crate::{input, output};

/// `phpsess decode [--format …] [--lossless] [--compact] [FILE|-]`
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Friendly JSON (the default) is what PHP's json_encode() gives where it can represent the data; \
objects, enums, non-UTF-8 strings and INF/NAN are shown in a readable form with `$` keys. \
--lossless prints a tagged form that `phpsess encode` turns back into the same bytes.")]
pub struct Args {
    /// How the input is laid out; `auto` takes one serialized value if the whole input is one,
    /// else guesses the session encoding.
    #[arg(long, value_enum, default_value_t = DecodeFormat::Auto)]
    format: DecodeFormat,
    /// Print the lossless tagged form, which keeps everything `phpsess encode` needs.
    #[arg(long)]
    lossless: bool,
    /// Print the JSON on one line instead of indented (documents nested deeper than 64 levels
    /// always are: their indentation alone would dwarf the data).
    #[arg(long)]
    compact: bool,
    #[command(flatten)]
    keys: crate::credentials::AtRestKeys,
    /// The Redis key an encrypted value was stored under (`PHPREDIS_SESSION:<id>`, or
    /// `PHPREDIS_SESSION:h.…` under phpsess.hash_ids): the envelope authenticates it, so it is
    /// needed to decrypt a value given with --key-file.
    #[arg(long, value_name = "KEY")]
    redis_key: Option<String>,
    /// The input file; `-` reads stdin.
    #[arg(default_value = "-")]
    file: PathBuf,
}

/// `--format` for decode: a layout, or `auto`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DecodeFormat {
    /// A whole serialized value if the input is one, else the detected session encoding.
    Auto,
    /// One `serialize()`d value.
    Value,
    /// `session.serialize_handler = php`.
    Php,
    /// `session.serialize_handler = php_serialize`.
    #[value(name = "php_serialize")]
    PhpSerialize,
    /// `session.serialize_handler = php_binary`.
    #[value(name = "php_binary")]
    PhpBinary,
}

/// What the input decoded to.
enum Decoded {
    Value(Value),
    Session(Array, Format),
}

pub fn run(args: Args) -> Result<()> {
    let bytes = input::read_input(&args.file)?;
    let keys = args.keys.encryption()?;
    if phpsess::store::is_envelope(&bytes) && keys.is_some() && args.redis_key.is_none() {
        return Err(anyhow!(
            "the input is an encrypted session: decrypting it needs --redis-key, the Redis key it \
             was stored under (the envelope authenticates it)"
        ));
    }
    let redis_key = args.redis_key.as_deref().unwrap_or_default().as_bytes();
    let bytes = crate::credentials::open_stored(keys.as_ref(), redis_key, &bytes)
        .map_err(|e| anyhow!("the input is {e}"))?
        .into_owned();
    let decoded = match args.format {
        DecodeFormat::Auto => decode_auto(&bytes)?,
        DecodeFormat::Value => decode_layout(&bytes, Layout::Value)?,
        DecodeFormat::Php => decode_layout(&bytes, Layout::Php)?,
        DecodeFormat::PhpSerialize => decode_layout(&bytes, Layout::PhpSerialize)?,
        DecodeFormat::PhpBinary => decode_layout(&bytes, Layout::PhpBinary)?,
    };
    let doc = match (&decoded, args.lossless) {
        (Decoded::Value(v), false) => json::to_friendly_json(v),
        (Decoded::Value(v), true) => json::to_lossless_json(v),
        (Decoded::Session(vars, _), false) => json::session_to_friendly_json(vars),
        (Decoded::Session(vars, format), true) => json::session_to_lossless_json(vars, *format),
    };
    output::json(&doc, !args.compact)
}

fn decode_layout(bytes: &[u8], layout: Layout) -> Result<Decoded> {
    match layout.session_format() {
        None => unserialize(bytes)
            .map(Decoded::Value)
            .map_err(|e| anyhow!("serialized value: {e}")),
        Some(format) => session::decode(bytes, format)
            .map(|vars| Decoded::Session(vars, format))
            .map_err(|e| anyhow!("{format} session: {e}")),
    }
}

/// One serialized value if the whole input is one, else the session encoding `detect` guesses.
fn decode_auto(bytes: &[u8]) -> Result<Decoded> {
    let value_error = match unserialize(bytes) {
        Ok(v) => return Ok(Decoded::Value(v)),
        Err(e) => e,
    };
    match session::detect(bytes) {
        // php_serialize data is one serialized array: the value's error says it best.
        Some(Format::PhpSerialize) | None => Err(anyhow!("serialized value: {value_error}")),
        Some(format) => session::decode(bytes, format)
            .map(|vars| Decoded::Session(vars, format))
            .map_err(|e| anyhow!("{format} session (detected): {e}")),
    }
}
