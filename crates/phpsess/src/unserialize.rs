//! `unserialize()`: bytes in PHP's serialize format to a [`Value`] tree.
//!
//! Accepts what PHP 8.2 accepts (see `reader` for the token grammar) with two deliberate
//! differences: trailing bytes after the value are an error here (PHP 8.2 ignores them silently,
//! 8.3 warns), and classes and enums need not exist (we have no class table; PHP makes unknown
//! `O:` classes `__PHP_Incomplete_Class` and refuses unknown enums).

use std::borrow::Cow;
use std::collections::HashSet;

use crate::error::{DecodeReason, Result};
use crate::reader::{Header, KeyRef, Reader, MAX_DEPTH};
use crate::value::{Array, CustomObject, EnumCase, Key, Object, Value};

/// Decode one complete value; bytes after it are an error.
///
/// ```
/// use phpsess::{unserialize, Value};
/// let v = unserialize(br#"a:1:{s:4:"user";i:42;}"#).unwrap();
/// assert_eq!(v.as_array().unwrap().get("user"), Some(&Value::Int(42)));
/// ```
pub fn unserialize(input: &[u8]) -> Result<Value> {
    let (value, used) = unserialize_prefix(input)?;
    let reader = Reader::new(input);
    if used != input.len() {
        let mut r = reader;
        r.skip_to(used);
        r.finish()?;
    }
    Ok(value)
}

/// Decode the value at the start of `input` and say how many bytes it used (what PHP 8.2's
/// `unserialize()` does with trailing data). Session decoders use this to walk `name|value…`.
pub fn unserialize_prefix(input: &[u8]) -> Result<(Value, usize)> {
    Builder::new().value_at(input, 0)
}

/// What each value slot (PHP's `var_hash` numbering) holds, to validate `r:` and `R:`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Object,
    Other,
}

/// Builds [`Value`] trees and numbers value slots the way PHP's `var_hash` does. One builder kept
/// across several [`Builder::value_at`] calls continues the numbering, as PHP's session decoders
/// do across session variables.
pub(crate) struct Builder {
    slots: Vec<Slot>,
}

impl Builder {
    /// A builder with an empty slot table: the next value decoded is slot 1.
    pub(crate) fn new() -> Self {
        Builder { slots: Vec::new() }
    }

    /// Decode one value starting at `offset` in `input`, continuing this builder's slot numbering.
    /// Returns the value and the offset just after it; error offsets are into the whole `input`.
    pub(crate) fn value_at(&mut self, input: &[u8], offset: usize) -> Result<(Value, usize)> {
        let mut reader = Reader::new(input);
        reader.skip_to(offset);
        let value = self.value(&mut reader, 0)?;
        Ok((value, reader.pos()))
    }

    fn value(&mut self, r: &mut Reader<'_>, depth: usize) -> Result<Value> {
        let start = r.pos();
        // Every value but `R:` takes a slot, numbered from 1, before it is parsed.
        let is_ref = r.peek_is(b'R');
        let slot = self.slots.len();
        if !is_ref {
            self.slots.push(Slot::Other);
        }
        let value = match r.header()? {
            Header::Null => Value::Null,
            Header::Bool(b) => Value::Bool(b),
            Header::Int(i) => Value::Int(i),
            Header::Float(f) => Value::Float(f),
            Header::Str(s) => Value::String(s.into_owned()),
            Header::Array(len) => {
                if len == 0 {
                    r.end_container("array")?;
                    Value::Array(Array::new())
                } else {
                    check_depth(r, start, depth)?;
                    let a = self.array(r, len, depth + 1)?;
                    r.end_container("array")?;
                    Value::Array(a)
                }
            }
            Header::Object { class, len } => {
                self.slots[slot] = Slot::Object;
                check_depth(r, start, depth)?;
                let properties = self.properties(r, len, depth + 1)?;
                r.end_container("object")?;
                Value::Object(Object {
                    class: class.to_vec(),
                    properties,
                })
            }
            Header::Custom { class, data } => {
                self.slots[slot] = Slot::Object;
                Value::Custom(CustomObject {
                    class: class.to_vec(),
                    data: data.to_vec(),
                })
            }
            Header::Enum { class, case } => {
                self.slots[slot] = Slot::Object;
                Value::Enum(EnumCase {
                    class: class.to_vec(),
                    case: case.to_vec(),
                })
            }
            Header::ObjectRef(n) => {
                // Must name an earlier object, never its own slot.
                let ok =
                    n >= 1 && (n as usize) <= slot && self.slots[n as usize - 1] == Slot::Object;
                if !ok {
                    return Err(crate::Error::decode(
                        start,
                        DecodeReason::InvalidReference(n),
                    ));
                }
                self.slots[slot] = Slot::Object;
                Value::ObjectRef(n)
            }
            Header::Ref(n) => {
                if n == 0 || n as usize > self.slots.len() {
                    return Err(crate::Error::decode(
                        start,
                        DecodeReason::InvalidReference(n),
                    ));
                }
                Value::Ref(n)
            }
        };
        Ok(value)
    }

    fn array(&mut self, r: &mut Reader<'_>, len: usize, depth: usize) -> Result<Array> {
        let mut array = Array::with_capacity(len);
        let mut seen = Seen::default();
        for _ in 0..len {
            let key = match r.key()? {
                KeyRef::Int(i) => Key::Int(i),
                KeyRef::Str(s) => Key::from_php_string(&s),
            };
            let value = self.value(r, depth)?;
            match seen.position(&key, &array) {
                // PHP keeps the first position and the last value for a repeated key.
                Some(i) => array.entries_mut()[i].1 = value,
                None => {
                    seen.add(&key, array.len());
                    array.push_new(key, value);
                }
            }
        }
        Ok(array)
    }

    fn properties(
        &mut self,
        r: &mut Reader<'_>,
        len: usize,
        depth: usize,
    ) -> Result<Vec<(Key, Value)>> {
        let mut props: Vec<(Key, Value)> = Vec::with_capacity(len);
        for _ in 0..len {
            let key = match r.key()? {
                KeyRef::Int(i) => Key::Int(i),
                KeyRef::Str(Cow::Borrowed(s)) => Key::Str(s.to_vec()),
                KeyRef::Str(Cow::Owned(s)) => Key::Str(s),
            };
            let value = self.value(r, depth)?;
            match props.iter().position(|(k, _)| *k == key) {
                Some(i) => props[i].1 = value,
                None => props.push((key, value)),
            }
        }
        Ok(props)
    }
}

fn check_depth(r: &Reader<'_>, start: usize, depth: usize) -> Result<()> {
    if depth >= MAX_DEPTH {
        let _ = r;
        return Err(crate::Error::decode(
            start,
            DecodeReason::TooDeep { limit: MAX_DEPTH },
        ));
    }
    Ok(())
}

/// Duplicate-key detection while decoding an array. Keys in increasing integer order (lists) never
/// need a lookup; small arrays scan; large ones with string or unordered keys use a hash set.
#[derive(Default)]
struct Seen {
    max_int: Option<i64>,
    hashed: Option<HashSet<Key>>,
}

const LINEAR_SCAN_MAX: usize = 16;

impl Seen {
    fn position(&mut self, key: &Key, array: &Array) -> Option<usize> {
        if let Key::Int(i) = key {
            if self.max_int.is_none_or(|m| *i > m) {
                return None;
            }
        }
        if array.len() > LINEAR_SCAN_MAX {
            let set = self
                .hashed
                .get_or_insert_with(|| array.iter().map(|(k, _)| k.clone()).collect());
            if !set.contains(key) {
                return None;
            }
        }
        array.iter().position(|(k, _)| k == key)
    }

    fn add(&mut self, key: &Key, _index: usize) {
        if let Key::Int(i) = key {
            if self.max_int.is_none_or(|m| *i > m) {
                self.max_int = Some(*i);
            }
        }
        if let Some(set) = &mut self.hashed {
            set.insert(key.clone());
        }
    }
}
