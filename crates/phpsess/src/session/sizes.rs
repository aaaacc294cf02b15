//! Where a session's bytes go: the stored size of each top-level `$_SESSION` variable, for
//! `phpsess top` ("why is this session 400 KB": a cart of whole product objects instead of ids).

use crate::decode::Builder;
use crate::document::{Document, EntryKey};
use crate::error::{DecodeReason, Error, Result};

use super::Format;

/// One top-level session variable and the bytes it takes in the stored session.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VariableSize {
    /// The variable's name (`$_SESSION['cart']` is `cart`), lossy UTF-8.
    pub name: String,
    /// Its bytes in the session: name, separator and value as stored (`php`, `php_binary`), or
    /// the serialized key and value (`php_serialize`).
    pub bytes: usize,
}

/// The size of each top-level variable of `input` in `format`, in stored order. The sizes add up
/// to the input's length, except for `php_serialize`'s array header (`a:N:{…}`).
///
/// `php` and `php_binary` are walked value by value with the decoder's own end offsets (exact);
/// `php_serialize` is parsed with the fast decoder ([`Document`]) and each entry is measured as
/// PHP writes it, which equals the stored bytes for anything PHP wrote.
///
/// ```
/// use phpsess::session::{variable_sizes, Format};
/// let sizes = variable_sizes(b"user|i:42;cart|a:1:{i:0;s:3:\"tea\";}", Format::Php)?;
/// assert_eq!((sizes[1].name.as_str(), sizes[1].bytes), ("cart", 25));
/// # Ok::<(), phpsess::Error>(())
/// ```
pub fn variable_sizes(input: &[u8], format: Format) -> Result<Vec<VariableSize>> {
    match format {
        Format::Php => walk(input, |input, pos| {
            let bar = input[pos..]
                .iter()
                .position(|&b| b == b'|')
                .ok_or_else(|| {
                    Error::decode(
                        pos,
                        DecodeReason::Session("session variable name without '|'"),
                    )
                })?;
            Ok((pos, pos + bar, pos + bar + 1))
        }),
        Format::PhpBinary => walk(input, |input, pos| {
            let len = usize::from(input[pos] & 0x7f);
            let end = pos + 1 + len;
            if end > input.len() {
                return Err(Error::decode(
                    pos,
                    DecodeReason::LengthExceedsInput {
                        reading: "php_binary session variable name",
                        declared: len as u64,
                        remaining: input.len() - pos - 1,
                    },
                ));
            }
            Ok((pos + 1, end, end))
        }),
        Format::PhpSerialize => {
            let doc = Document::parse(input)?;
            let entries = doc.root().entries().ok_or_else(|| {
                Error::decode(
                    0,
                    DecodeReason::Session("php_serialize data is not an array"),
                )
            })?;
            Ok(entries
                .map(|(key, value)| {
                    let (name, key_bytes) = match key {
                        EntryKey::Int(i) => (i.to_string(), format!("i:{i};").len()),
                        EntryKey::Str(s) => (
                            String::from_utf8_lossy(s).into_owned(),
                            format!("s:{}:\"\";", s.len()).len() + s.len(),
                        ),
                    };
                    let value_bytes = crate::serialize(&value.to_value()).len();
                    VariableSize {
                        name,
                        bytes: key_bytes + value_bytes,
                    }
                })
                .collect())
        }
    }
}

/// Walk `name value` pairs: `name_at` gives the name's span and where its value starts.
fn walk(
    input: &[u8],
    name_at: impl Fn(&[u8], usize) -> Result<(usize, usize, usize)>,
) -> Result<Vec<VariableSize>> {
    let mut builder = Builder::new();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let (name_start, name_end, value_start) = name_at(input, pos)?;
        let (_, end) = builder.value_at(input, value_start)?;
        out.push(VariableSize {
            name: String::from_utf8_lossy(&input[name_start..name_end]).into_owned(),
            bytes: end - pos,
        });
        pos = end;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_add_up_in_every_format() {
        let vars = crate::session::decode(
            b"user|i:42;cart|a:2:{i:0;s:3:\"tea\";i:1;d:0.5;}empty|N;",
            Format::Php,
        )
        .unwrap();
        for format in Format::ALL {
            let bytes = crate::session::encode(&vars, format).unwrap();
            let sizes = variable_sizes(&bytes, format).unwrap();
            let names: Vec<&str> = sizes.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, ["user", "cart", "empty"], "{format}");
            let sum: usize = sizes.iter().map(|s| s.bytes).sum();
            let header = if format == Format::PhpSerialize { 6 } else { 0 };
            assert_eq!(sum + header, bytes.len(), "{format}");
        }
        let php = variable_sizes(b"user|i:42;cart|a:0:{}", Format::Php).unwrap();
        assert_eq!(php[0].bytes, "user|i:42;".len());
        assert_eq!(php[1].bytes, "cart|a:0:{}".len());
    }

    #[test]
    fn broken_sessions_say_where() {
        let e = variable_sizes(b"user|i:42;cart", Format::Php).unwrap_err();
        assert_eq!(
            e.to_string(),
            "session variable name without '|' at byte 10"
        );
        assert!(variable_sizes(b"i:1;", Format::PhpSerialize).is_err());
    }
}
