//! The PHP value model: what `unserialize()` can produce, kept losslessly (byte strings, ordered
//! arrays with int|string keys, objects with mangled property names, `C:` payloads, enums and the
//! raw `r:`/`R:` back-reference numbers).

pub(crate) mod array;
mod borrowed;
mod object;
mod php_string;

pub use array::{Array, Key};
pub use borrowed::{BorrowedKey, BorrowedValue};
pub use object::{CustomObject, EnumCase, Object, PropertyName, Visibility};
pub use php_string::PhpString;

/// One PHP value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `N;`
    Null,
    /// `b:0;` / `b:1;`
    Bool(bool),
    /// `i:…;` (PHP's 64-bit `int`)
    Int(i64),
    /// `d:…;` including INF, -INF, NAN and -0.
    Float(f64),
    /// `s:…;` a byte string; PHP strings need not be UTF-8. Short ones are stored inline
    /// ([`PhpString`]).
    String(PhpString),
    /// `a:…{}` an ordered map.
    Array(Array),
    /// `O:…{}` an object with its properties in order.
    Object(Object),
    /// `C:…{}` a `Serializable` object with its opaque payload.
    Custom(CustomObject),
    /// `E:…;` an enum case.
    Enum(EnumCase),
    /// `r:N;` another handle to the object in value slot N (1-based, PHP's numbering).
    ObjectRef(u64),
    /// `R:N;` a PHP reference (`&`) to the value in slot N.
    Ref(u64),
}

impl Value {
    /// A string value from anything byte-like.
    pub fn string(bytes: impl Into<PhpString>) -> Self {
        Value::String(bytes.into())
    }

    /// The value as an `i64`, if it is an `Int`.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The bytes of a `String` value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// A `String` value as `&str`, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The array, if this is one.
    pub fn as_array(&self) -> Option<&Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The array, mutably, if this is one.
    pub fn as_array_mut(&mut self) -> Option<&mut Array> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// PHP's type name for the value, as `get_debug_type()` spells the scalar ones.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) | Value::Custom(_) => "object",
            Value::Enum(_) => "enum",
            Value::ObjectRef(_) => "object reference",
            Value::Ref(_) => "reference",
        }
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}
impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Float(f)
    }
}
impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(s.into())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s.into())
    }
}
impl From<Vec<u8>> for Value {
    fn from(s: Vec<u8>) -> Self {
        Value::String(s.into())
    }
}
impl From<Array> for Value {
    fn from(a: Array) -> Self {
        Value::Array(a)
    }
}

/// A byte as a human reads it in an error message: `'x'` or `0x07`.
pub(crate) fn display_byte(b: u8) -> String {
    if b.is_ascii_graphic() || b == b' ' {
        format!("'{}'", b as char)
    } else {
        format!("0x{b:02x}")
    }
}
