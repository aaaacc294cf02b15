//! The serde `Serializer`: writes PHP `serialize()` bytes directly (no [`crate::Value`] in between),
//! with the same byte-level helpers as [`crate::serialize`], so numbers and strings come out as PHP
//! writes them.

use serde::ser::{self, Impossible, Serialize};

use super::{ENUM_TOKEN, OBJECT_TOKEN};
use crate::error::{Error, Result};
use crate::reader::valid_class_name;
use crate::serialize::{write_float, write_int, write_name, write_str, write_uint};
use crate::value::Key;

/// A serde serializer appending PHP `serialize()` bytes to a buffer.
///
/// ```
/// use serde::Serialize;
/// #[derive(Serialize)]
/// struct Cart { items: Vec<&'static str>, total: f64 }
///
/// let mut out = b"cart|".to_vec();
/// Cart { items: vec!["tea"], total: 2.5 }.serialize(&mut phpsess::php_serde::Serializer::new(&mut out))?;
/// assert_eq!(out, br#"cart|a:2:{s:5:"items";a:1:{i:0;s:3:"tea";}s:5:"total";d:2.5;}"#);
/// # Ok::<(), phpsess::Error>(())
/// ```
pub struct Serializer<'a> {
    out: &'a mut Vec<u8>,
}

impl<'a> Serializer<'a> {
    /// A serializer appending to `out`.
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        Serializer { out }
    }

    /// Write `a:` / `O:…:` counts: the count now if known, else remember where it goes.
    fn open(&mut self, len: Option<usize>) -> Option<usize> {
        let count_at = match len {
            Some(n) => {
                write_uint(self.out, n as u64);
                None
            }
            None => Some(self.out.len()),
        };
        self.out.extend_from_slice(b":{");
        count_at
    }

    fn array(&mut self, len: Option<usize>, keys: Keys) -> Compound<'_, 'a> {
        self.out.extend_from_slice(b"a:");
        let count_at = self.open(len);
        Compound {
            ser: self,
            count_at,
            declared: len,
            written: 0,
            keys,
            variant: false,
        }
    }

    /// `a:1:{s:N:"Variant";` before a variant's data.
    fn variant_key(&mut self, variant: &str) {
        self.out.extend_from_slice(b"a:1:{");
        write_array_key(self.out, variant.as_bytes());
    }
}

/// Serialize `value` to PHP `serialize()` bytes.
///
/// ```
/// use std::collections::BTreeMap;
/// let m = BTreeMap::from([("id", 7)]);
/// assert_eq!(phpsess::php_serde::to_bytes(&m)?, br#"a:1:{s:2:"id";i:7;}"#);
/// # Ok::<(), phpsess::Error>(())
/// ```
pub fn to_bytes<T: ?Sized + Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(64);
    value.serialize(&mut Serializer::new(&mut out))?;
    Ok(out)
}

/// A string array key the way PHP stores it: canonical decimal strings become int keys (PHP never
/// writes `s:1:"5"` as an array key).
fn write_array_key(out: &mut Vec<u8>, s: &[u8]) {
    if let Some(b'0'..=b'9' | b'-') = s.first() {
        if let Key::Int(i) = Key::from_php_string(s) {
            write_int_value(out, i);
            return;
        }
    }
    write_str(out, b's', s);
}

fn write_int_value(out: &mut Vec<u8>, i: i64) {
    out.extend_from_slice(b"i:");
    write_int(out, i);
    out.push(b';');
}

fn int_from<T: Copy + std::fmt::Display + TryInto<i64>>(v: T) -> Result<i64> {
    v.try_into().map_err(|_| {
        Error::Encode(format!(
            "integer {v} does not fit PHP's int (64-bit signed)"
        ))
    })
}

/// An `f32` as the `f64` with the same shortest decimal form, so `0.1f32` is written `d:0.1;`
/// rather than `d:0.10000000149011612;`.
fn widen_f32(v: f32) -> f64 {
    v.to_string().parse().unwrap_or(f64::from(v))
}

/// Methods of a `Serializer` that refuse the value, naming what it was.
macro_rules! refuse {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $ret:ty = $kind:expr;)*) => {$(
        fn $method(self, $($arg: $ty),*) -> Result<$ret> {
            let _ = ($($arg,)*);
            Err(self.refuse($kind))
        }
    )*};
}

impl<'s, 'a> ser::Serializer for &'s mut Serializer<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'s, 'a>;
    type SerializeTuple = Compound<'s, 'a>;
    type SerializeTupleStruct = TupleStruct<'s, 'a>;
    type SerializeTupleVariant = Compound<'s, 'a>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Compound<'s, 'a>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out
            .extend_from_slice(if v { b"b:1;" } else { b"b:0;" });
        Ok(())
    }

    fn serialize_i8(self, v: i8) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        write_int_value(self.out, v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.serialize_i64(int_from(v)?)
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.serialize_i64(int_from(v)?)
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.serialize_i64(int_from(v)?)
    }

    fn serialize_f32(self, v: f32) -> Result<()> {
        self.serialize_f64(widen_f32(v))
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        self.out.extend_from_slice(b"d:");
        write_float(self.out, v);
        self.out.push(b';');
        Ok(())
    }

    fn serialize_char(self, v: char) -> Result<()> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        write_str(self.out, b's', v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        write_str(self.out, b's', v);
        Ok(())
    }

    fn serialize_none(self) -> Result<()> {
        self.serialize_unit()
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.out.extend_from_slice(b"N;");
        Ok(())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<()> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.variant_key(variant);
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }

    fn serialize_seq(self, len: Option<usize>) -> Result<Compound<'s, 'a>> {
        Ok(self.array(len, Keys::List))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'s, 'a>> {
        Ok(self.array(Some(len), Keys::List))
    }
    fn serialize_tuple_struct(self, name: &'static str, len: usize) -> Result<TupleStruct<'s, 'a>> {
        if name == OBJECT_TOKEN || name == ENUM_TOKEN {
            return Ok(TupleStruct(TupleStructKind::Wrapper {
                ser: self,
                object: name == OBJECT_TOKEN,
                class: None,
            }));
        }
        Ok(TupleStruct(TupleStructKind::Seq(
            self.array(Some(len), Keys::List),
        )))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'s, 'a>> {
        self.variant_key(variant);
        let mut c = self.array(Some(len), Keys::List);
        c.variant = true;
        Ok(c)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'s, 'a>> {
        Ok(self.array(len, Keys::Array))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'s, 'a>> {
        Ok(self.array(Some(len), Keys::Array))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Compound<'s, 'a>> {
        self.variant_key(variant);
        let mut c = self.array(Some(len), Keys::Array);
        c.variant = true;
        Ok(c)
    }
}

/// How a container writes its keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keys {
    /// `i:0;`, `i:1;`, … before each element.
    List,
    /// Map keys and struct field names, normalised as PHP arrays store them.
    Array,
    /// Property names of an `O:` object: strings as given.
    Properties,
}

/// An array or object being written.
pub struct Compound<'s, 'a> {
    ser: &'s mut Serializer<'a>,
    /// Where the entry count goes, when it was not known up front.
    count_at: Option<usize>,
    declared: Option<usize>,
    written: usize,
    keys: Keys,
    /// Close a variant's `a:1:{…}` wrapper too.
    variant: bool,
}

impl Compound<'_, '_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        write_int_value(self.ser.out, self.written as i64);
        self.written += 1;
        value.serialize(&mut *self.ser)
    }

    fn field<T: ?Sized + Serialize>(&mut self, name: &str, value: &T) -> Result<()> {
        match self.keys {
            Keys::Properties => write_str(self.ser.out, b's', name.as_bytes()),
            _ => write_array_key(self.ser.out, name.as_bytes()),
        }
        self.written += 1;
        value.serialize(&mut *self.ser)
    }

    fn finish(self) -> Result<()> {
        let out = &mut *self.ser.out;
        out.push(b'}');
        if self.variant {
            out.push(b'}');
        }
        if let Some(at) = self.count_at {
            let mut digits = Vec::with_capacity(20);
            write_uint(&mut digits, self.written as u64);
            out.splice(at..at, digits);
        }
        match self.declared {
            Some(n) if n != self.written => Err(Error::Encode(format!(
                "a container declared {n} entries but serialized {}",
                self.written
            ))),
            _ => Ok(()),
        }
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeTupleVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        self.element(value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<()> {
        key.serialize(MapKeySerializer {
            out: self.ser.out,
            properties: self.keys == Keys::Properties,
        })?;
        self.written += 1;
        Ok(())
    }
    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        value.serialize(&mut *self.ser)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

impl ser::SerializeStructVariant for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<()> {
        self.field(key, value)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A tuple struct: an ordinary one is a list; `PhpObject`/`PhpEnum` are a class name then content.
pub struct TupleStruct<'s, 'a>(TupleStructKind<'s, 'a>);

enum TupleStructKind<'s, 'a> {
    Seq(Compound<'s, 'a>),
    Wrapper {
        ser: &'s mut Serializer<'a>,
        object: bool,
        class: Option<String>,
    },
}

impl ser::SerializeTupleStruct for TupleStruct<'_, '_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<()> {
        match &mut self.0 {
            TupleStructKind::Seq(c) => c.element(value),
            TupleStructKind::Wrapper {
                class: class @ None,
                ..
            } => {
                let name = value.serialize(NameCapture("a PHP class name"))?;
                if name.is_empty() || name.starts_with('\\') || !valid_class_name(name.as_bytes()) {
                    return Err(Error::Encode(format!("invalid PHP class name {name:?}")));
                }
                *class = Some(name);
                Ok(())
            }
            TupleStructKind::Wrapper {
                ser,
                object: true,
                class: Some(class),
            } => value.serialize(ObjectSerializer { ser, class }),
            TupleStructKind::Wrapper {
                ser,
                object: false,
                class: Some(class),
            } => {
                let case = value.serialize(NameCapture("an enum case name"))?;
                let out = &mut *ser.out;
                out.extend_from_slice(b"E:");
                write_uint(out, (class.len() + 1 + case.len()) as u64);
                out.extend_from_slice(b":\"");
                out.extend_from_slice(class.as_bytes());
                out.push(b':');
                out.extend_from_slice(case.as_bytes());
                out.extend_from_slice(b"\";");
                Ok(())
            }
        }
    }

    fn end(self) -> Result<()> {
        match self.0 {
            TupleStructKind::Seq(c) => c.finish(),
            TupleStructKind::Wrapper { .. } => Ok(()),
        }
    }
}

/// Writes one array key (`i:` or `s:`), or one property name.
struct MapKeySerializer<'o> {
    out: &'o mut Vec<u8>,
    properties: bool,
}

impl MapKeySerializer<'_> {
    fn refuse(&self, kind: &str) -> Error {
        Error::Encode(format!(
            "PHP array keys must be integers or strings, found {kind}"
        ))
    }

    fn int(self, i: i64) -> Result<()> {
        write_int_value(self.out, i);
        Ok(())
    }
}

impl ser::Serializer for MapKeySerializer<'_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_i8(self, v: i8) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<()> {
        self.int(v)
    }
    fn serialize_i128(self, v: i128) -> Result<()> {
        self.int(int_from(v)?)
    }
    fn serialize_u8(self, v: u8) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<()> {
        self.int(i64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<()> {
        self.int(int_from(v)?)
    }
    fn serialize_u128(self, v: u128) -> Result<()> {
        self.int(int_from(v)?)
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        if self.properties {
            write_str(self.out, b's', v);
        } else {
            write_array_key(self.out, v);
        }
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<()> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<()> {
        Err(self.refuse("an option"))
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(self.refuse("an enum variant with data"))
    }

    refuse! {
        serialize_bool(v: bool) -> () = "a bool";
        serialize_f32(v: f32) -> () = "a float";
        serialize_f64(v: f64) -> () = "a float";
        serialize_none() -> () = "an option";
        serialize_unit() -> () = "unit";
        serialize_unit_struct(name: &'static str) -> () = "a unit struct";
        serialize_seq(len: Option<usize>) -> Self::SerializeSeq = "a sequence";
        serialize_tuple(len: usize) -> Self::SerializeTuple = "a tuple";
        serialize_tuple_struct(name: &'static str, len: usize) -> Self::SerializeTupleStruct = "a tuple struct";
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeTupleVariant = "an enum variant with data";
        serialize_map(len: Option<usize>) -> Self::SerializeMap = "a map";
        serialize_struct(name: &'static str, len: usize) -> Self::SerializeStruct = "a struct";
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeStructVariant = "an enum variant with data";
    }
}

/// Captures a name (class or enum case) from a string or a unit variant.
struct NameCapture(&'static str);

impl NameCapture {
    fn refuse(&self, kind: &str) -> Error {
        Error::Encode(format!("expected {}, found {kind}", self.0))
    }
}

impl ser::Serializer for NameCapture {
    type Ok = String;
    type Error = Error;
    type SerializeSeq = Impossible<String, Error>;
    type SerializeTuple = Impossible<String, Error>;
    type SerializeTupleStruct = Impossible<String, Error>;
    type SerializeTupleVariant = Impossible<String, Error>;
    type SerializeMap = Impossible<String, Error>;
    type SerializeStruct = Impossible<String, Error>;
    type SerializeStructVariant = Impossible<String, Error>;

    fn serialize_str(self, v: &str) -> Result<String> {
        Ok(v.to_owned())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<String> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String> {
        value.serialize(self)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, _value: &T) -> Result<String> {
        Err(self.refuse("an option"))
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String> {
        Err(self.refuse("an enum variant with data"))
    }

    refuse! {
        serialize_bool(v: bool) -> String = "a bool";
        serialize_i8(v: i8) -> String = "an integer";
        serialize_i16(v: i16) -> String = "an integer";
        serialize_i32(v: i32) -> String = "an integer";
        serialize_i64(v: i64) -> String = "an integer";
        serialize_u8(v: u8) -> String = "an integer";
        serialize_u16(v: u16) -> String = "an integer";
        serialize_u32(v: u32) -> String = "an integer";
        serialize_u64(v: u64) -> String = "an integer";
        serialize_f32(v: f32) -> String = "a float";
        serialize_f64(v: f64) -> String = "a float";
        serialize_char(v: char) -> String = "a char";
        serialize_bytes(v: &[u8]) -> String = "bytes";
        serialize_none() -> String = "an option";
        serialize_unit() -> String = "unit";
        serialize_unit_struct(name: &'static str) -> String = "a unit struct";
        serialize_seq(len: Option<usize>) -> Self::SerializeSeq = "a sequence";
        serialize_tuple(len: usize) -> Self::SerializeTuple = "a tuple";
        serialize_tuple_struct(name: &'static str, len: usize) -> Self::SerializeTupleStruct = "a tuple struct";
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeTupleVariant = "an enum variant with data";
        serialize_map(len: Option<usize>) -> Self::SerializeMap = "a map";
        serialize_struct(name: &'static str, len: usize) -> Self::SerializeStruct = "a struct";
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeStructVariant = "an enum variant with data";
    }
}

/// The content of a `PhpObject`: a struct or map written as `O:` with public property names.
struct ObjectSerializer<'s, 'a> {
    ser: &'s mut Serializer<'a>,
    class: &'s str,
}

impl<'s, 'a> ObjectSerializer<'s, 'a> {
    fn refuse(&self, kind: &str) -> Error {
        Error::Encode(format!(
            "the value of a PhpObject must be a struct or a map, found {kind}"
        ))
    }

    fn open(self, len: Option<usize>) -> Compound<'s, 'a> {
        let ser = self.ser;
        ser.out.extend_from_slice(b"O:");
        write_name(ser.out, self.class.as_bytes());
        ser.out.push(b':');
        let count_at = ser.open(len);
        Compound {
            ser,
            count_at,
            declared: len,
            written: 0,
            keys: Keys::Properties,
            variant: false,
        }
    }
}

impl<'s, 'a> ser::Serializer for ObjectSerializer<'s, 'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Compound<'s, 'a>;
    type SerializeStruct = Compound<'s, 'a>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn serialize_map(self, len: Option<usize>) -> Result<Compound<'s, 'a>> {
        Ok(self.open(len))
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Compound<'s, 'a>> {
        Ok(self.open(Some(len)))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<()> {
        Err(self.refuse("an enum variant"))
    }

    refuse! {
        serialize_bool(v: bool) -> () = "a bool";
        serialize_i8(v: i8) -> () = "an integer";
        serialize_i16(v: i16) -> () = "an integer";
        serialize_i32(v: i32) -> () = "an integer";
        serialize_i64(v: i64) -> () = "an integer";
        serialize_u8(v: u8) -> () = "an integer";
        serialize_u16(v: u16) -> () = "an integer";
        serialize_u32(v: u32) -> () = "an integer";
        serialize_u64(v: u64) -> () = "an integer";
        serialize_f32(v: f32) -> () = "a float";
        serialize_f64(v: f64) -> () = "a float";
        serialize_char(v: char) -> () = "a char";
        serialize_str(v: &str) -> () = "a string";
        serialize_bytes(v: &[u8]) -> () = "bytes";
        serialize_none() -> () = "none";
        serialize_unit() -> () = "unit";
        serialize_unit_struct(name: &'static str) -> () = "a unit struct";
        serialize_unit_variant(name: &'static str, index: u32, variant: &'static str) -> () = "an enum variant";
        serialize_seq(len: Option<usize>) -> Self::SerializeSeq = "a sequence";
        serialize_tuple(len: usize) -> Self::SerializeTuple = "a tuple";
        serialize_tuple_struct(name: &'static str, len: usize) -> Self::SerializeTupleStruct = "a tuple struct";
        serialize_tuple_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeTupleVariant = "an enum variant";
        serialize_struct_variant(name: &'static str, index: u32, variant: &'static str, len: usize) -> Self::SerializeStructVariant = "an enum variant";
    }
}
