//! The `php` session format (PHP's default handler): `name|value` for each variable, names up to
//! the first `|`, values in `serialize()` format numbered with one shared `var_hash`.

use super::{display_name, name_bytes, write_var_value, Vars};
use crate::decode::Builder;
use crate::error::{DecodeReason, Error, Result};
use crate::value::Array;

/// Decode `name|value…`. Like PHP 8.2, a name runs to the first `|` and may hold any other byte;
/// unlike PHP (which fails without saying where), errors carry the offset.
pub(super) fn decode(input: &[u8]) -> Result<Array> {
    let mut vars = Vars::new();
    let mut builder = Builder::new();
    let mut pos = 0;
    while pos < input.len() {
        let Some(bar) = input[pos..].iter().position(|&b| b == b'|') else {
            return Err(Error::decode(
                pos,
                DecodeReason::Session("session variable name without '|'"),
            ));
        };
        let name = &input[pos..pos + bar];
        let (value, end) = builder.value_at(input, pos + bar + 1)?;
        vars.add(name, value, pos);
        pos = end;
    }
    vars.finish()
}

/// Encode `name|value…`. A name holding `|` could not be read back; PHP then writes an empty
/// session, we refuse.
pub(super) fn encode(vars: &Array) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (key, value) in vars.iter() {
        let name = name_bytes(key);
        if name.contains(&b'|') {
            return Err(Error::Encode(format!(
                "session variable name {} contains '|', which the php format cannot store \
                 (PHP would write an empty session)",
                display_name(&name)
            )));
        }
        out.extend_from_slice(&name);
        out.push(b'|');
        write_var_value(&mut out, value, &name)?;
    }
    Ok(out)
}
