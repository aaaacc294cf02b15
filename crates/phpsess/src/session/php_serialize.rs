//! The `php_serialize` session format: the whole `$_SESSION` array as one `serialize()` value.

use crate::error::{DecodeReason, Error, Result};
use crate::serialize::{write_int, write_str, write_uint};
use crate::value::{Array, Key, Value};

/// Decode one serialized array. `""` and `N;` are the empty session, as in PHP; trailing bytes
/// and non-array values are errors (PHP ignores the first and cannot write the second back).
pub(super) fn decode(input: &[u8]) -> Result<Array> {
    if input.is_empty() {
        return Ok(Array::new());
    }
    match crate::unserialize(input)? {
        Value::Array(a) => Ok(a),
        Value::Null => Ok(Array::new()),
        _ => Err(Error::decode(
            0,
            DecodeReason::Session("php_serialize session is not an array"),
        )),
    }
}

/// Encode as `serialize($_SESSION)`; every array can be written, so this cannot fail.
pub(super) fn encode(vars: &Array) -> Vec<u8> {
    // The same bytes as `serialize(&Value::Array(vars.clone()))`, without copying the session.
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"a:");
    write_uint(&mut out, vars.len() as u64);
    out.extend_from_slice(b":{");
    for (key, value) in vars.iter() {
        match key {
            Key::Int(i) => {
                out.extend_from_slice(b"i:");
                write_int(&mut out, *i);
                out.push(b';');
            }
            Key::Str(s) => write_str(&mut out, b's', s),
        }
        crate::serialize_into(&mut out, value);
    }
    out.push(b'}');
    out
}
