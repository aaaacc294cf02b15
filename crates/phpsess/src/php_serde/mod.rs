//! serde over PHP's serialize format: typed Rust structs from and to PHP bytes.
//!
//! [`from_bytes`] drives serde visitors straight from the same tokenizer that [`crate::unserialize`]
//! uses (no [`Value`] tree in between; `&str` and `&[u8]` fields borrow from the input), and
//! [`to_bytes`] writes bytes directly, byte-identical to what PHP's `serialize()` gives for the
//! equivalent PHP value. Use [`Value`] when you need everything PHP can write; this layer is for
//! the typed case.
//!
//! ```
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize, Debug, PartialEq)]
//! struct User<'a> { id: u64, name: &'a str, roles: Vec<String>, last_seen: Option<f64> }
//!
//! // php -n -r 'echo serialize(["id"=>7,"name"=>"Ann","roles"=>["admin"],"last_seen"=>null]);'
//! let php = br#"a:4:{s:2:"id";i:7;s:4:"name";s:3:"Ann";s:5:"roles";a:1:{i:0;s:5:"admin";}s:9:"last_seen";N;}"#;
//! let user: User = phpsess::php_serde::from_bytes(php)?;
//! assert_eq!(user, User { id: 7, name: "Ann", roles: vec!["admin".into()], last_seen: None });
//! assert_eq!(phpsess::php_serde::to_bytes(&user)?, php);
//! # Ok::<(), phpsess::Error>(())
//! ```
//!
//! # Mapping
//!
//! | Rust (serde data model) | deserializes from | serializes to |
//! |---|---|---|
//! | `bool` | `b:` | `b:0;` / `b:1;` |
//! | `i8`…`i128`, `u8`…`u128` | `i:`; out of range is an error naming the value | `i:`; beyond `i64` is an error |
//! | `f32`, `f64` | `d:`, and `i:` (PHP code often stores `3` for `3.0`) | `d:` as PHP prints it (`f32` by its shortest form) |
//! | `char`, `String`, `&str` | `s:` (and `S:`) holding UTF-8; otherwise an error at the bad byte | `s:` |
//! | byte buffers (`deserialize_bytes`, e.g. `serde_bytes`) | `s:` with any bytes | `s:` |
//! | `Option<T>` | `N;` is `None`, anything else `Some` | `N;` or the value |
//! | `()`, unit struct | `N;` | `N;` |
//! | newtype struct | its content | its content |
//! | `Vec`, tuples, tuple structs | an array whose keys are `0..n` in order (else an error at the key) | `a:n:{i:0;…}` |
//! | maps | arrays and `O:` objects (property names unmangled) | `a:` with PHP's key normalisation (`"5"` becomes `i:5`) |
//! | structs | arrays with string keys, and `O:` objects of any class: `\0*\0x` (protected) and `\0Class\0x` (private) are read as field `x` | `a:` with string keys, like `$_SESSION['user'] = ['id' => 1]` |
//! | [`PhpObject<T>`] | an `O:` object only, with its class name | `O:` with the given class, public property names |
//! | unit enum variants | a string, or an `E:` enum case by case name (the PHP class is not checked) | a string |
//! | [`PhpEnum<T>`] | an `E:` case only, with its class name | `E:"Class:Case"` |
//! | variants with data | a single-key array `[Variant => data]` | `a:1:{s:7:"Variant";…}` |
//! | map keys | `i:` keys give integers to integer key types and their decimal text to string key types; `s:` keys in canonical decimal form (`"5"`) give integers too | integers and strings only |
//!
//! `deserialize_any` (for `serde_json::Value` and other dynamic targets, untagged and internally
//! tagged enums): `N;` unit, `b:` bool, `i:` i64, `d:` f64, `s:` a string (bytes if not UTF-8),
//! arrays whose keys are `0..n` in order a sequence (checked by scanning the keys ahead, so a
//! dynamic target over nested lists reads them once per level), other arrays and objects maps,
//! `E:` the string `Class:Case`. Object class names are dropped here; use [`PhpObject`] to keep one.
//!
//! References: `r:N;` (a second handle to an object) and `R:N;` (a PHP `&` reference) deserialize
//! as a copy of value slot N, read again from its bytes (typed data has no sharing), found by a
//! scan that runs only once an input has a reference. A reference to a value that contains it (a
//! cycle) is an error, and so is re-reading more than [`REFERENCE_REPLAY_LIMIT`] bytes for
//! references in one call (exponential copies). As in [`crate::unserialize()`], an input with both
//! references and a repeated key (which PHP never writes) is refused. The serializer never writes references: a value
//! reachable twice is written twice, as PHP does for arrays.
//!
//! Not supported, with an error naming the problem and its offset: `C:` custom-serialized objects
//! (decode those to [`Value`]), cyclic references, and nesting past [`SERDE_MAX_DEPTH`]. Errors
//! never quote string contents (sessions hold secrets); an error inside a referenced value points
//! at that value's bytes.
//!
//! [`from_value`] / [`to_value`] convert between [`Value`] and typed data by going through the
//! bytes: simple and exact, not the fastest possible.

mod de;
mod ser;
mod utf8;

use std::fmt;

use serde::de::{Deserialize, DeserializeOwned, SeqAccess, Unexpected, Visitor};
use serde::ser::{Serialize, SerializeTupleStruct};

pub use de::{from_bytes, DeError, Deserializer, REFERENCE_REPLAY_LIMIT, SERDE_MAX_DEPTH};
pub use ser::{to_bytes, Compound, Serializer, TupleStruct};

use crate::error::{Error, Result};
use crate::Value;

/// Tuple-struct names by which [`PhpObject`] and [`PhpEnum`] ask this crate's serializer and
/// deserializer for `O:` and `E:`; any other format sees a plain `(class, content)` pair.
pub(crate) const OBJECT_TOKEN: &str = "$phpsess::serde::PhpObject";
pub(crate) const ENUM_TOKEN: &str = "$phpsess::serde::PhpEnum";

/// A PHP object of a named class: serializes as `O:` (properties under their plain, public names)
/// and deserializes only from `O:`, keeping the class name.
///
/// PHP's `unserialize()` files a public name under the property the class declares, whatever its
/// visibility (measured with PHP 8.2), so a plain name can fill a `private` or `protected` property.
/// Other serde formats see `PhpObject` as a pair `[class, value]`.
///
/// ```
/// use phpsess::php_serde::{to_bytes, PhpObject};
/// #[derive(serde::Serialize)]
/// struct Point { x: i32, y: i32 }
/// let bytes = to_bytes(&PhpObject::new("App\\Point", Point { x: 1, y: 2 }))?;
/// assert_eq!(bytes, br#"O:9:"App\Point":2:{s:1:"x";i:1;s:1:"y";i:2;}"#);
/// # Ok::<(), phpsess::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PhpObject<T> {
    /// The PHP class name, namespace included (`App\Models\User`).
    pub class: String,
    /// The properties: a struct or a map.
    pub value: T,
}

impl<T> PhpObject<T> {
    /// An object of `class` with `value`'s fields as properties.
    pub fn new(class: impl Into<String>, value: T) -> Self {
        PhpObject {
            class: class.into(),
            value,
        }
    }
}

/// A PHP enum case: serializes as `E:` (`E:11:"Suit:Hearts";`) and deserializes only from `E:`.
/// `T` is a string or a Rust enum of unit variants named like the cases.
///
/// A plain Rust enum already deserializes from `E:` by case name; `PhpEnum` is for writing `E:` and
/// for reading the class name.
#[derive(Debug, Clone, PartialEq)]
pub struct PhpEnum<T> {
    /// The PHP enum's class name.
    pub class: String,
    /// The case.
    pub case: T,
}

impl<T> PhpEnum<T> {
    /// The case `case` of enum `class`.
    pub fn new(class: impl Into<String>, case: T) -> Self {
        PhpEnum {
            class: class.into(),
            case,
        }
    }
}

fn serialize_pair<S: serde::Serializer, T: Serialize>(
    serializer: S,
    token: &'static str,
    class: &str,
    content: &T,
) -> Result<S::Ok, S::Error> {
    let mut pair = serializer.serialize_tuple_struct(token, 2)?;
    pair.serialize_field(class)?;
    pair.serialize_field(content)?;
    pair.end()
}

impl<T: Serialize> Serialize for PhpObject<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_pair(serializer, OBJECT_TOKEN, &self.class, &self.value)
    }
}

impl<T: Serialize> Serialize for PhpEnum<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_pair(serializer, ENUM_TOKEN, &self.class, &self.case)
    }
}

/// Reads the `(class, content)` pair of either wrapper.
struct PairVisitor<T>(&'static str, std::marker::PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for PairVisitor<T> {
    type Value = (String, T);

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let class = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        let content = seq
            .next_element()?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?;
        Ok((class, content))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PhpObject<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = PairVisitor("a PHP object", std::marker::PhantomData);
        let (class, value) = deserializer.deserialize_tuple_struct(OBJECT_TOKEN, 2, visitor)?;
        Ok(PhpObject { class, value })
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for PhpEnum<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let visitor = PairVisitor("a PHP enum case", std::marker::PhantomData);
        let (class, case) = deserializer.deserialize_tuple_struct(ENUM_TOKEN, 2, visitor)?;
        Ok(PhpEnum { class, case })
    }
}

/// Typed data from a [`Value`] (by way of its bytes). Error positions refer to no input the
/// caller has, so they are dropped.
///
/// ```
/// use phpsess::{Array, Value};
/// let mut a = Array::new();
/// a.insert("id", Value::Int(3));
/// let m: std::collections::BTreeMap<String, u8> = phpsess::php_serde::from_value(&Value::Array(a))?;
/// assert_eq!(m["id"], 3);
/// # Ok::<(), phpsess::Error>(())
/// ```
pub fn from_value<T: DeserializeOwned>(value: &Value) -> Result<T> {
    let bytes = crate::serialize(value);
    from_bytes(&bytes).map_err(|e| match e {
        Error::SerdeAt { message, .. } => Error::Serde(message),
        Error::Decode { reason, .. } => Error::Serde(reason.to_string()),
        e => e,
    })
}

/// A [`Value`] from typed data (by way of its bytes).
pub fn to_value<T: ?Sized + Serialize>(value: &T) -> Result<Value> {
    crate::unserialize(&to_bytes(value)?)
}

impl serde::de::Error for Error {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Error::Serde(msg.to_string())
    }

    // serde's own wording quotes the unexpected string ("invalid type: string \"…\""); ours names
    // only its type, since session strings can be secrets.
    fn invalid_type(unexpected: Unexpected, expected: &dyn serde::de::Expected) -> Self {
        Error::Serde(format!(
            "expected {expected}, found {}",
            unexpected_kind(unexpected)
        ))
    }

    fn invalid_value(unexpected: Unexpected, expected: &dyn serde::de::Expected) -> Self {
        Error::Serde(format!(
            "invalid value: {}, expected {expected}",
            unexpected_kind(unexpected)
        ))
    }
}

/// `Unexpected` without string or byte contents.
fn unexpected_kind(u: Unexpected) -> String {
    match u {
        Unexpected::Str(_) => "a string".into(),
        Unexpected::Bytes(_) => "a byte string".into(),
        Unexpected::Char(_) => "a character".into(),
        other => other.to_string(),
    }
}

impl serde::ser::Error for Error {
    fn custom<M: fmt::Display>(msg: M) -> Self {
        Error::Serde(msg.to_string())
    }
}

#[cfg(test)]
mod tests;
