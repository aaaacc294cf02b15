//! One top-level session variable without decoding the others: the extension looks up the user
//! id (`phpsess.user_key`) in every session it writes, and most sessions hold far more than that.
//! The other variables are skipped by their lengths, not built; anything the skipper does not
//! recognise falls back to the full decoder, so the answer is always the full decoder's.

use super::{decode, Format};
use crate::document::Document;
use crate::error::Result;
use crate::value::{Key, Value};
use crate::MAX_DEPTH;

/// The value of the top-level session variable `name`, or `None` when the session has no such
/// variable. Errors are the full decoder's, for a session it would refuse.
///
/// ```
/// use phpsess::session::{find, Format};
/// use phpsess::Value;
/// let data = b"cart|a:2:{i:0;s:1:\"x\";i:1;s:1:\"y\";}user_id|i:42;";
/// assert_eq!(find(data, Format::Php, b"user_id")?, Some(Value::Int(42)));
/// assert_eq!(find(data, Format::Php, b"nobody")?, None);
/// # Ok::<(), phpsess::Error>(())
/// ```
pub fn find(input: &[u8], format: Format, name: &[u8]) -> Result<Option<Value>> {
    let fast = match format {
        Format::PhpSerialize => {
            return match Document::parse(input) {
                Ok(doc) => Ok(doc.root().get(Key::from(name)).map(|v| v.to_value())),
                Err(_) => slow(input, format, name),
            };
        }
        Format::Php => walk(input, name, |input, pos| {
            let bar = input[pos..].iter().position(|&b| b == b'|')?;
            Some((pos, pos + bar, pos + bar + 1))
        }),
        Format::PhpBinary => walk(input, name, |input, pos| {
            let len = usize::from(input[pos] & 0x7f);
            let end = pos + 1 + len;
            (end <= input.len()).then_some((pos + 1, end, end))
        }),
    };
    match fast {
        Some(Some(at)) => match crate::unserialize_prefix(&input[at..]) {
            // A reference's number counts across variables: only the full decoder resolves it.
            Ok((v, _)) if !matches!(v, Value::Ref(_)) => Ok(Some(v)),
            _ => slow(input, format, name),
        },
        Some(None) => Ok(None),
        None => slow(input, format, name),
    }
}

fn slow(input: &[u8], format: Format, name: &[u8]) -> Result<Option<Value>> {
    Ok(decode(input, format)?.get(Key::from(name)).cloned())
}

/// Walk `name value` pairs (`header` gives a pair's name span and where its value starts):
/// `Some(Some(offset))` of the value of the last variable called `name` (PHP: the last one
/// wins), `Some(None)` when there is none, `None` when the skipper cannot tell.
fn walk(
    input: &[u8],
    name: &[u8],
    header: impl Fn(&[u8], usize) -> Option<(usize, usize, usize)>,
) -> Option<Option<usize>> {
    let mut pos = 0;
    let mut found = None;
    while pos < input.len() {
        let (start, end, value) = header(input, pos)?;
        if &input[start..end] == name {
            found = Some(value);
        }
        pos = skip(input, value, 0)?;
    }
    Some(found)
}

/// The offset just after the value at `pos`, or `None` for anything unusual (the caller then
/// asks the full decoder, which says exactly what is wrong).
fn skip(input: &[u8], pos: usize, depth: usize) -> Option<usize> {
    if depth > MAX_DEPTH {
        return None;
    }
    let tag = *input.get(pos)?;
    match tag {
        b'N' => (input.get(pos + 1) == Some(&b';')).then_some(pos + 2),
        b'b' | b'i' | b'd' | b'r' | b'R' => {
            (input.get(pos + 1) == Some(&b':')).then_some(())?;
            let semi = input[pos + 2..].iter().position(|&b| b == b';')?;
            Some(pos + 2 + semi + 1)
        }
        b's' => {
            let (len, at) = number(input, pos + 2)?;
            let end = at.checked_add(2)?.checked_add(len)?;
            (input.get(at..at + 2) == Some(b":\"") && input.get(end..end + 2) == Some(b"\";"))
                .then_some(end + 2)
        }
        b'a' => {
            let (n, at) = number(input, pos + 2)?;
            (input.get(at..at + 2) == Some(b":{")).then_some(())?;
            entries(input, at + 2, n.checked_mul(2)?, depth)
        }
        b'O' => {
            let (len, at) = number(input, pos + 2)?;
            let class_end = at.checked_add(2)?.checked_add(len)?;
            (input.get(at..at + 2) == Some(b":\"")
                && input.get(class_end..class_end + 2) == Some(b"\":"))
            .then_some(())?;
            let (n, at) = number(input, class_end + 2)?;
            (input.get(at..at + 2) == Some(b":{")).then_some(())?;
            entries(input, at + 2, n.checked_mul(2)?, depth)
        }
        // `C:` (Serializable), `E:` (enums), `S:` and anything else: the full decoder.
        _ => None,
    }
}

fn entries(input: &[u8], mut pos: usize, count: usize, depth: usize) -> Option<usize> {
    for _ in 0..count {
        pos = skip(input, pos, depth + 1)?;
    }
    (input.get(pos) == Some(&b'}')).then_some(pos + 1)
}

/// Decimal digits at `pos` (after `X:`), then the offset of what follows them.
fn number(input: &[u8], pos: usize) -> Option<(usize, usize)> {
    let digits = input
        .get(pos..)?
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 10 {
        return None;
    }
    let n = std::str::from_utf8(&input[pos..pos + digits])
        .ok()?
        .parse()
        .ok()?;
    Some((n, pos + digits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::encode;
    use crate::value::Array;

    fn session() -> Array {
        let mut vars = Array::new();
        let mut cart = Array::new();
        cart.insert(Key::Int(0), Value::from("x|y;\"}"));
        cart.insert(Key::from("n"), Value::Float(1.5));
        cart.insert(Key::from("nested"), Value::Array(Array::new()));
        vars.insert(Key::from("cart"), Value::Array(cart));
        vars.insert(Key::from("flag"), Value::Bool(true));
        vars.insert(Key::from("none"), Value::Null);
        vars.insert(Key::from("user_id"), Value::Int(42));
        vars.insert(Key::from("email"), Value::from("ann@example.org"));
        vars
    }

    #[test]
    fn finds_what_the_full_decoder_finds_in_every_format() {
        let vars = session();
        for format in Format::ALL {
            let bytes = encode(&vars, format).unwrap();
            for name in ["user_id", "email", "cart", "flag", "none", "missing"] {
                assert_eq!(
                    find(&bytes, format, name.as_bytes()).unwrap(),
                    vars.get(name).cloned(),
                    "{format} {name}"
                );
            }
        }
    }

    #[test]
    fn falls_back_for_references_and_refuses_what_decode_refuses() {
        // `a` is a reference to `b`'s value: only the full decoder resolves it.
        let data = b"b|i:7;a|R:1;";
        assert_eq!(
            find(data, Format::Php, b"a").unwrap(),
            decode(data, Format::Php).unwrap().get("a").cloned()
        );
        assert!(find(b"a|i:1;b", Format::Php, b"a").is_err());
        assert!(find(b"a|s:5:\"abc\";", Format::Php, b"a").is_err());
        assert_eq!(find(b"", Format::Php, b"a").unwrap(), None);
        assert_eq!(find(b"a:0:{}", Format::PhpSerialize, b"a").unwrap(), None);
    }
}
