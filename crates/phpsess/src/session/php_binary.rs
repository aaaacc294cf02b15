//! The `php_binary` session format: for each variable a length byte, that many name bytes, then
//! the value in `serialize()` format, numbered with one shared `var_hash` as in `php`.

use super::{display_name, name_bytes, write_var_value, Vars};
use crate::decode::Builder;
use crate::error::{DecodeReason, Error, Result};
use crate::value::Array;

/// PHP's `PS_BIN_MAX`: the longest name a length byte can declare.
pub(super) const MAX_NAME_LEN: usize = 127;

/// PHP's `PS_BIN_UNDEF`: PHP 5's "undefined variable" bit. PHP 8.2 masks it off and still reads
/// a value, and so do we.
const UNDEF_BIT: u8 = 0x80;

/// Decode length byte, name, value, repeated.
pub(super) fn decode(input: &[u8]) -> Result<Array> {
    let mut vars = Vars::new();
    let mut builder = Builder::new();
    let mut pos = 0;
    while let Some(&len_byte) = input.get(pos) {
        let name_len = usize::from(len_byte & !UNDEF_BIT);
        let name_start = pos + 1;
        let name_end = name_start + name_len;
        if name_end > input.len() {
            return Err(Error::decode(
                pos,
                DecodeReason::LengthExceedsInput {
                    reading: "php_binary session variable name",
                    declared: name_len as u64,
                    remaining: input.len() - name_start,
                },
            ));
        }
        let (value, end) = builder.value_at(input, name_end)?;
        vars.add(&input[name_start..name_end], value, pos);
        pos = end;
    }
    vars.finish()
}

/// Encode length byte, name, value, repeated. A name over 127 bytes has no length byte; PHP drops
/// such a variable silently, we refuse.
pub(super) fn encode(vars: &Array) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for (key, value) in vars.iter() {
        let name = name_bytes(key);
        let Ok(len_byte) = u8::try_from(name.len()) else {
            return Err(too_long(&name));
        };
        if usize::from(len_byte) > MAX_NAME_LEN {
            return Err(too_long(&name));
        }
        out.push(len_byte);
        out.extend_from_slice(&name);
        write_var_value(&mut out, value, &name)?;
    }
    Ok(out)
}

fn too_long(name: &[u8]) -> Error {
    Error::Encode(format!(
        "session variable name {} is longer than php_binary's {MAX_NAME_LEN}-byte limit \
         (PHP would drop the variable)",
        display_name(name)
    ))
}
