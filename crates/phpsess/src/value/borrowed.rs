//! A zero-copy view of a serialized PHP value: strings, keys and class names borrow from the input
//! bytes. What [`crate::unserialize_borrowed`] returns; [`BorrowedValue::to_owned`] makes a [`Value`].
//!
//! It overlaps [`crate::Document`] and is kept on purpose (the README says why): a plain enum tree you
//! can match recursively and move subtrees out of, built by the same decode core. To read only,
//! [`crate::Document`] is faster.

use std::borrow::Cow;

use super::{Array, CustomObject, EnumCase, Key, Object, Value};

/// An array key borrowed from the input (`S:` escaped strings are the one owned case).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum BorrowedKey<'a> {
    /// An integer key (numeric strings in arrays are stored as ints, as PHP does).
    Int(i64),
    /// A string key.
    Str(Cow<'a, [u8]>),
}

impl BorrowedKey<'_> {
    /// The owned key.
    pub fn to_owned(&self) -> Key {
        match self {
            BorrowedKey::Int(i) => Key::Int(*i),
            BorrowedKey::Str(s) => Key::Str(s.as_ref().into()),
        }
    }
}

/// One PHP value, borrowing from the bytes it was decoded from. Same shape as [`Value`].
#[derive(Debug, Clone, PartialEq)]
pub enum BorrowedValue<'a> {
    /// `N;`
    Null,
    /// `b:…;`
    Bool(bool),
    /// `i:…;`
    Int(i64),
    /// `d:…;`
    Float(f64),
    /// `s:…;` (or `S:` with escapes, owned)
    String(Cow<'a, [u8]>),
    /// `a:…{}` entries in order; keys distinct.
    Array(Vec<(BorrowedKey<'a>, BorrowedValue<'a>)>),
    /// `O:…{}`
    Object {
        /// Class name.
        class: &'a [u8],
        /// Properties in order, names as serialized.
        properties: Vec<(BorrowedKey<'a>, BorrowedValue<'a>)>,
    },
    /// `C:…{}`
    Custom {
        /// Class name.
        class: &'a [u8],
        /// The `Serializable` payload.
        data: &'a [u8],
    },
    /// `E:…;`
    Enum {
        /// Enum class.
        class: &'a [u8],
        /// Case name.
        case: &'a [u8],
    },
    /// `r:N;`
    ObjectRef(u64),
    /// `R:N;`
    Ref(u64),
}

impl<'a> BorrowedValue<'a> {
    /// The bytes of a string value.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            BorrowedValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value under `key` in an array (numeric strings match int keys, as in PHP).
    pub fn get(&self, key: impl Into<Key>) -> Option<&BorrowedValue<'a>> {
        let BorrowedValue::Array(entries) = self else {
            return None;
        };
        let key = key.into();
        entries
            .iter()
            .find(|(k, _)| match (k, &key) {
                (BorrowedKey::Int(a), Key::Int(b)) => a == b,
                (BorrowedKey::Str(a), Key::Str(b)) => a.as_ref() == b.as_bytes(),
                _ => false,
            })
            .map(|(_, v)| v)
    }

    /// Copy into an owned [`Value`].
    pub fn to_owned(&self) -> Value {
        let entries = |e: &[(BorrowedKey<'a>, BorrowedValue<'a>)]| -> Vec<(Key, Value)> {
            e.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        };
        match self {
            BorrowedValue::Null => Value::Null,
            BorrowedValue::Bool(b) => Value::Bool(*b),
            BorrowedValue::Int(i) => Value::Int(*i),
            BorrowedValue::Float(f) => Value::Float(*f),
            BorrowedValue::String(s) => Value::String(s.as_ref().into()),
            BorrowedValue::Array(e) => Value::Array(Array::from_unique_entries(entries(e))),
            BorrowedValue::Object { class, properties } => Value::Object(Object {
                class: class.to_vec(),
                properties: entries(properties),
            }),
            BorrowedValue::Custom { class, data } => Value::Custom(CustomObject {
                class: class.to_vec(),
                data: data.to_vec(),
            }),
            BorrowedValue::Enum { class, case } => Value::Enum(EnumCase {
                class: class.to_vec(),
                case: case.to_vec(),
            }),
            BorrowedValue::ObjectRef(n) => Value::ObjectRef(*n),
            BorrowedValue::Ref(n) => Value::Ref(*n),
        }
    }
}
