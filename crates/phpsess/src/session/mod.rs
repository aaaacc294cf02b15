//! Session encodings: `php`, `php_serialize` and `php_binary` (`session.serialize_handler`), each
//! decoded to and encoded from one ordered [`Array`] of session variables.
//!
//! | format | layout | written by PHP for `['a' => 1]` |
//! |---|---|---|
//! | `php` | `name\|value` repeated | `a\|i:1;` |
//! | `php_serialize` | one `serialize()`d array | `a:1:{s:1:"a";i:1;}` |
//! | `php_binary` | length byte, name, value, repeated | `\x01ai:1;` |
//!
//! # One numbering for references
//!
//! PHP decodes all variables of a `php` or `php_binary` session with one shared `var_hash`, so
//! `R:`/`r:` slot numbers continue from one variable to the next, slot 1 being the first
//! variable's value (`b|i:1;a|R:1;` is `$_SESSION['a'] = &$_SESSION['b']`). In
//! `php_serialize` slot 1 is the session array itself and the first variable is slot 2.
//!
//! The [`Array`] returned by [`decode`] always uses the `php_serialize` numbering, whatever the
//! format: `serialize(&Value::Array(session))` is byte for byte PHP's `serialize($_SESSION)`,
//! the same session decodes to equal arrays in every format, and converting a session between
//! formats is `decode` then `encode`. For `php` and `php_binary`, [`decode`] adds one to every
//! reference number and [`encode`] subtracts it again, which is why a reference to slot 1 (the
//! session array itself) cannot be encoded in those formats.
//!
//! # PHP 8.2's behaviour, measured, and where we differ
//!
//! Measured with `php -n` 8.2 through `session_encode()`, `session_decode()`, the files save
//! handler and a save handler that records what PHP writes (`tests/php/session_oracle.php`
//! re-checks these facts on every test run):
//!
//! - **Empty session.** PHP writes `""` for `php` and `php_binary` and `a:0:{}` for
//!   `php_serialize`; `""` decodes to no variables in every format. So does `N;` in
//!   `php_serialize` (re-encoded as `a:0:{}`).
//! - **Names.** Any bytes but `|` in `php` (NUL, non-UTF-8, empty, `!`); any bytes in
//!   `php_binary`, at most 127 of them. PHP 5's "undefined variable" markers are gone: `!a|i:1;`
//!   is the variable `!a` and `!a|` fails; in `php_binary` PHP masks the length byte's high
//!   bit (`0x81` reads as length 1) and still reads a value. We do the same, so such input
//!   re-encodes without the bit: it is the one `php_binary` input PHP accepts that does not round
//!   trip byte for byte. PHP never writes it.
//! - **Names PHP cannot write.** `php` with a `|` in any name: PHP's encoder fails and the save
//!   handler writes an *empty* session, silently dropping everything. `php_binary` with a name
//!   longer than 127 bytes: PHP drops that variable without a word. [`encode`] returns
//!   [`Error::Encode`] naming the variable in both cases instead of losing data.
//! - **Numeric names.** PHP skips int keys (`$_SESSION[5]`, `$_SESSION["5"]`) with the warning
//!   "Skipping numeric key 5" when writing `php` or `php_binary`, but it *reads* a name `5` from
//!   storage as a string key and writes it back. An [`Array`] cannot tell the two apart (keys are
//!   normalised the way PHP normalises them, so the name `5` decodes to the int key 5), so
//!   [`encode`] writes int keys as their decimal names: every session PHP wrote round-trips, and
//!   nothing is dropped. (PHP then sees the variable in `foreach` but not as `$_SESSION[5]`.)
//! - **Repeated names** (`a|i:1;a|i:2;`): the last value wins at the first position, as in PHP.
//!   When the session also holds `r:`/`R:` references we refuse it, because PHP can point a
//!   reference at the overwritten value, which the array no longer holds.
//! - **Nesting.** [`crate::MAX_DEPTH`] applies to each `php`/`php_binary` variable separately,
//!   as in PHP (4096 nested arrays in every variable are fine, 4097 fail); in `php_serialize`
//!   the session array itself is one of the levels.
//! - **Malformed data.** PHP's `session_decode()` fails as a whole and keeps nothing: a `php`
//!   name without `|` up to the end (`a|i:1;b`), a bad value, a `php_binary` length past the
//!   end. `session_start()` then destroys the stored session. We return [`Error::Decode`] with
//!   the offset into the whole session buffer ("session variable name without '|' at byte 6").
//! - **Stricter than PHP, on purpose:** `php_serialize` data with bytes after the array (PHP
//!   ignores them and drops them on the next write) and `php_serialize` data that is a scalar or
//!   an object (PHP makes `$_SESSION` that scalar and then cannot write the session) are errors.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use crate::error::{DecodeReason, Error, Result};
use crate::value::{Array, Key, Value};

pub use find::find;

mod find;
mod php;
mod php_binary;
mod php_serialize;
mod sizes;

pub use sizes::{variable_sizes, VariableSize};

/// A `session.serialize_handler`: how session variables are laid out in the stored bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ::serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Format {
    /// `php` (PHP's default): `name|value` per variable.
    Php,
    /// `php_serialize`: the whole session as one `serialize()`d array.
    PhpSerialize,
    /// `php_binary`: a length byte, the name, then the value, per variable.
    PhpBinary,
}

impl Format {
    /// Every format, in the order [`detect`] tries them.
    pub const ALL: [Format; 3] = [Format::PhpSerialize, Format::Php, Format::PhpBinary];

    /// PHP's name for the format, as `session.serialize_handler` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Php => "php",
            Format::PhpSerialize => "php_serialize",
            Format::PhpBinary => "php_binary",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of PHP's session serialize handlers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown session format {0:?}: expected php, php_serialize or php_binary")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Parses PHP's names exactly (`php`, `php_serialize`, `php_binary`), as PHP's INI does.
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "php" => Ok(Format::Php),
            "php_serialize" => Ok(Format::PhpSerialize),
            "php_binary" => Ok(Format::PhpBinary),
            _ => Err(UnknownFormat(s.to_owned())),
        }
    }
}

/// Decode a stored session into its variables, in order.
///
/// Reference numbers in the result follow `serialize($_SESSION)` (see the module docs). Errors
/// carry the offset into `input`.
///
/// ```
/// use phpsess::session::{decode, Format};
/// use phpsess::Value;
/// let vars = decode(b"user|s:3:\"ann\";n|i:2;", Format::Php)?;
/// assert_eq!(vars.get("user"), Some(&Value::from("ann")));
/// assert_eq!(vars.get("n"), Some(&Value::Int(2)));
/// # Ok::<(), phpsess::Error>(())
/// ```
pub fn decode(input: &[u8], format: Format) -> Result<Array> {
    match format {
        Format::Php => php::decode(input),
        Format::PhpSerialize => php_serialize::decode(input),
        Format::PhpBinary => php_binary::decode(input),
    }
}

/// Encode session variables the way PHP's serialize handler writes them.
///
/// Fails with [`Error::Encode`] where PHP would silently lose data: a `|` in a `php` name, a
/// `php_binary` name over 127 bytes, or (in `php` and `php_binary`) a reference to the session
/// array itself.
///
/// ```
/// use phpsess::session::{encode, Format};
/// use phpsess::{Array, Value};
/// let mut vars = Array::new();
/// vars.insert("a", Value::Int(1));
/// assert_eq!(encode(&vars, Format::Php)?, b"a|i:1;");
/// assert_eq!(encode(&vars, Format::PhpBinary)?, b"\x01ai:1;");
/// assert_eq!(encode(&vars, Format::PhpSerialize)?, br#"a:1:{s:1:"a";i:1;}"#);
/// # Ok::<(), phpsess::Error>(())
/// ```
pub fn encode(vars: &Array, format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Php => php::encode(vars),
        Format::PhpSerialize => Ok(php_serialize::encode(vars)),
        Format::PhpBinary => php_binary::encode(vars),
    }
}

/// Guess the format of stored session bytes, for `phpsess decode --format auto`.
///
/// The heuristic: empty input is [`Format::Php`] (PHP writes an empty session as `""` in `php` and
/// `php_binary`, and every format decodes `""` to no variables). Otherwise the formats are tried
/// in the order of [`Format::ALL`] (`php_serialize`, `php`, `php_binary`) and the first that
/// decodes the *whole* input wins. If none does, the guess falls back to the shape of the first
/// bytes, so that decoding with the guess reports the error a human would expect: `a:` or `N;`
/// is `php_serialize`; a `|` before any `:` or `;` is `php`; a first byte below 0x20 or above
/// 0x7e (a plausible length byte, as names are rarely 32+ bytes long) is `php_binary`.
///
/// Limits: it is a guess. Crafted bytes can be valid in two formats (the order above decides);
/// a `php_binary` session whose first name is 32 to 126 bytes long starts with a printable
/// length byte and, if it is also malformed, is guessed as `php`; a lone `N;` is
/// `php_serialize`. `None` means the bytes look like no format at all.
pub fn detect(input: &[u8]) -> Option<Format> {
    if input.is_empty() {
        return Some(Format::Php);
    }
    if let Some(format) = Format::ALL.into_iter().find(|&f| decode(input, f).is_ok()) {
        return Some(format);
    }
    if input.starts_with(b"a:") || input.starts_with(b"N;") {
        return Some(Format::PhpSerialize);
    }
    let first_syntax = input.iter().position(|&b| matches!(b, b'|' | b':' | b';'));
    if first_syntax.is_some_and(|i| input[i] == b'|') {
        return Some(Format::Php);
    }
    if input[0] < 0x20 || input[0] > 0x7e {
        return Some(Format::PhpBinary);
    }
    None
}

/// The variables decoded so far from a `php` or `php_binary` session, with what is needed to
/// refuse repeated names that references could point behind.
struct Vars {
    array: Array,
    index: HashMap<Key, usize>,
    /// Offset of the first repeated name, if any.
    first_repeat: Option<usize>,
    /// Whether any value held an `r:` or `R:`.
    has_refs: bool,
}

impl Vars {
    fn new() -> Self {
        Vars {
            array: Array::new(),
            index: HashMap::new(),
            first_repeat: None,
            has_refs: false,
        }
    }

    /// Add the variable `name` (read at `offset`), its value numbered as PHP's shared `var_hash`
    /// numbered it; renumbers its references to the `php_serialize` numbering.
    fn add(&mut self, name: &[u8], mut value: Value, offset: usize) {
        self.has_refs |= shift_refs_up(&mut value);
        // PHP stores the name as a string key; our Array keys are normalised like PHP's
        // `$_SESSION["5"]` would be (see the module docs on numeric names).
        let key = Key::from_php_string(name);
        match self.index.get(&key) {
            Some(&i) => {
                self.first_repeat.get_or_insert(offset);
                self.array.entries_mut()[i].1 = value;
            }
            None => {
                self.index.insert(key.clone(), self.array.len());
                self.array.push_new(key, value);
            }
        }
    }

    fn finish(self) -> Result<Array> {
        match self.first_repeat {
            Some(offset) if self.has_refs => Err(Error::decode(
                offset,
                DecodeReason::Session(
                    "repeated session variable name in a session with references",
                ),
            )),
            _ => Ok(self.array),
        }
    }
}

/// Add one to every `r:`/`R:` number in `value` (from the per-variable numbering of `php` and
/// `php_binary` to the `php_serialize` one). Returns whether there were any.
fn shift_refs_up(value: &mut Value) -> bool {
    match value {
        Value::Ref(n) | Value::ObjectRef(n) => {
            // The decoder accepted n only if it named an earlier slot, so it is far below u64::MAX.
            *n = n.saturating_add(1);
            true
        }
        Value::Array(a) => a
            .iter_mut()
            .fold(false, |any, (_, v)| shift_refs_up(v) | any),
        Value::Object(o) => o
            .properties
            .iter_mut()
            .fold(false, |any, (_, v)| shift_refs_up(v) | any),
        _ => false,
    }
}

/// Whether `value` holds any `r:`/`R:`.
fn has_refs(value: &Value) -> bool {
    match value {
        Value::Ref(_) | Value::ObjectRef(_) => true,
        Value::Array(a) => a.iter().any(|(_, v)| has_refs(v)),
        Value::Object(o) => o.properties.iter().any(|(_, v)| has_refs(v)),
        _ => false,
    }
}

/// Subtract one from every `r:`/`R:` number in `value`, for writing `php` and `php_binary`.
/// Fails on numbers below 2, which name the session array itself (or nothing).
fn shift_refs_down(value: &mut Value, name: &[u8]) -> Result<()> {
    match value {
        Value::Ref(n) | Value::ObjectRef(n) if *n >= 2 => {
            *n -= 1;
            Ok(())
        }
        Value::Ref(n) | Value::ObjectRef(n) => {
            let n = *n;
            let tag = if matches!(value, Value::Ref(_)) {
                'R'
            } else {
                'r'
            };
            Err(Error::Encode(format!(
                "session variable {} holds {tag}:{n}, a reference to the session array \
                 itself (or to nothing), which only php_serialize can store",
                display_name(name)
            )))
        }
        Value::Array(a) => a.iter_mut().try_for_each(|(_, v)| shift_refs_down(v, name)),
        Value::Object(o) => o
            .properties
            .iter_mut()
            .try_for_each(|(_, v)| shift_refs_down(v, name)),
        _ => Ok(()),
    }
}

/// Append `value` to `out` with its references in the per-variable numbering of `php` and
/// `php_binary`. Copies the value only when it holds references.
fn write_var_value(out: &mut Vec<u8>, value: &Value, name: &[u8]) -> Result<()> {
    if has_refs(value) {
        let mut renumbered = value.clone();
        shift_refs_down(&mut renumbered, name)?;
        crate::serialize_into(out, &renumbered);
    } else {
        crate::serialize_into(out, value);
    }
    Ok(())
}

/// A session variable's name as the stored bytes spell it (`5` for the int key 5).
fn name_bytes(key: &Key) -> std::borrow::Cow<'_, [u8]> {
    match key {
        Key::Str(s) => std::borrow::Cow::Borrowed(s),
        Key::Int(i) => std::borrow::Cow::Owned(i.to_string().into_bytes()),
    }
}

/// A name for an error message: quoted, escaped, cut after 40 bytes.
fn display_name(name: &[u8]) -> String {
    const SHOWN: usize = 40;
    let mut s = String::from("\"");
    for &b in name.iter().take(SHOWN) {
        s.extend(std::ascii::escape_default(b).map(char::from));
    }
    s.push('"');
    if name.len() > SHOWN {
        s.push_str(&format!(" ({} bytes)", name.len()));
    }
    s
}

#[cfg(test)]
mod tests;
