//! `phpsess encode`: lossless JSON (as `phpsess decode --lossless` prints it) back to PHP's bytes.

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use phpsess::session::{self, Format};
use phpsess::{json, serialize, Array, Value};

use super::Layout;
use crate::{input, output, UsageError};

/// `phpsess encode [--format …] [FILE|-]`
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The bytes to write. Defaults to what the document is: the session encoding it records
    /// (`"$session"`), else one serialized value. Naming another session encoding converts.
    #[arg(long, value_enum)]
    format: Option<Layout>,
    /// The lossless JSON document; `-` reads stdin.
    #[arg(default_value = "-")]
    file: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let bytes = input::read_input(&args.file)?;
    let doc = input::parse_json(&bytes)?;
    let is_session = doc.as_object().is_some_and(|m| m.contains_key("$session"));
    let out = if is_session {
        let (vars, recorded) = json::session_from_lossless_json(&doc)?;
        match args.format {
            None => encode_session(&vars, recorded)?,
            // A session's variables as one value are serialize($_SESSION): the same numbering.
            Some(Layout::Value) => serialize(&Value::Array(vars)),
            Some(layout) => encode_session(&vars, session_format(layout))?,
        }
    } else {
        let value = json::from_lossless_json(&doc)?;
        match args.format {
            None | Some(Layout::Value) => serialize(&value),
            Some(layout) => {
                let format = session_format(layout);
                // An array value numbers its references as a decoded session does (the array
                // itself is value 1), so it can be written as the session's variables.
                let Value::Array(vars) = value else {
                    return Err(UsageError(format!(
                        "--format {format} needs session variables (an array or a \
                         {{\"$session\": …}} document), found {}",
                        value.type_name()
                    ))
                    .into());
                };
                encode_session(&vars, format)?
            }
        }
    };
    output::bytes(&out)
}

/// The session format of a layout other than `value` (callers match `value` first).
fn session_format(layout: Layout) -> Format {
    layout.session_format().unwrap_or(Format::PhpSerialize)
}

fn encode_session(vars: &Array, format: Format) -> Result<Vec<u8>> {
    session::encode(vars, format).map_err(|e| anyhow!("{format} session: {e}"))
}
