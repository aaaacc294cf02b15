//! Reading a [`Document`]: [`ValueRef`] is a copyable handle to one value, [`View`] what it is,
//! [`Entries`] an array's or object's entries in order.

use std::fmt;

use super::Document;
use crate::decode::{Cell, Tag};
use crate::key_set::KeyView;
use crate::value::{Key, PropertyName, Value};

/// One value in a [`Document`]. Cheap to copy; strings borrow from the document.
#[derive(Clone, Copy)]
pub struct ValueRef<'d> {
    doc: &'d Document<'d>,
    at: usize,
}

/// What a [`ValueRef`] is, for matching; the same variants as [`Value`].
#[derive(Debug, Clone)]
pub enum View<'d> {
    /// `N;`
    Null,
    /// `b:…;`
    Bool(bool),
    /// `i:…;`
    Int(i64),
    /// `d:…;`
    Float(f64),
    /// `s:…;` (or `S:`, unescaped)
    String(&'d [u8]),
    /// `a:…{}`: entries in order, keys distinct, numeric strings stored as ints.
    Array(Entries<'d>),
    /// `O:…{}`
    Object {
        /// The class name.
        class: &'d [u8],
        /// Properties in order, names as serialized (mangled for private and protected).
        properties: Entries<'d>,
    },
    /// `C:…{}`
    Custom {
        /// The class name.
        class: &'d [u8],
        /// The `Serializable` payload.
        data: &'d [u8],
    },
    /// `E:…;`
    Enum {
        /// The enum's class.
        class: &'d [u8],
        /// The case name.
        case: &'d [u8],
    },
    /// `r:N;`
    ObjectRef(u64),
    /// `R:N;`
    Ref(u64),
}

/// A key of an array entry or an object property.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntryKey<'d> {
    /// An int key.
    Int(i64),
    /// A string key (for properties, the mangled name as serialized).
    Str(&'d [u8]),
}

impl EntryKey<'_> {
    /// The owned key.
    pub fn to_key(self) -> Key {
        match self {
            EntryKey::Int(i) => Key::Int(i),
            EntryKey::Str(s) => Key::Str(s.into()),
        }
    }
}

/// The entries of an array or object, in order.
#[derive(Clone)]
pub struct Entries<'d> {
    doc: &'d Document<'d>,
    /// The key cell of the next entry.
    next: usize,
    left: usize,
}

impl<'d> ValueRef<'d> {
    pub(super) fn new(doc: &'d Document<'d>, at: usize) -> Self {
        ValueRef { doc, at }
    }

    fn cell(&self) -> Cell {
        self.doc.tape.cells[self.at]
    }

    fn bytes_of(&self, cell: Cell) -> &'d [u8] {
        self.doc.tape.bytes(self.doc.input, cell)
    }

    /// What this value is.
    pub fn view(&self) -> View<'d> {
        let cell = self.cell();
        let next = || self.doc.tape.cells[self.at + 1];
        match cell.tag {
            Tag::Null => View::Null,
            Tag::Bool => View::Bool(cell.b != 0),
            Tag::Int => View::Int(cell.b as i64),
            Tag::Float => View::Float(f64::from_bits(cell.b)),
            Tag::Str | Tag::StrOwned => View::String(self.bytes_of(cell)),
            Tag::Array => View::Array(self.entries_unchecked()),
            Tag::Object => View::Object {
                class: self.bytes_of(next()),
                properties: self.entries_unchecked(),
            },
            Tag::Custom => View::Custom {
                class: self.bytes_of(cell),
                data: self.bytes_of(next()),
            },
            Tag::Enum => View::Enum {
                class: self.bytes_of(cell),
                case: self.bytes_of(next()),
            },
            Tag::ObjectRef => View::ObjectRef(cell.b),
            Tag::Ref => View::Ref(cell.b),
            // Handles only ever point at value cells.
            Tag::KeyInt | Tag::KeyStr | Tag::KeyStrOwned | Tag::Name => View::Null,
        }
    }

    fn entries_unchecked(&self) -> Entries<'d> {
        Entries {
            doc: self.doc,
            next: self.doc.tape.first_entry(self.at),
            left: self.cell().a as usize,
        }
    }

    /// PHP's type name, as [`Value::type_name`] gives it.
    pub fn type_name(&self) -> &'static str {
        match self.cell().tag {
            Tag::Null => "null",
            Tag::Bool => "bool",
            Tag::Int => "int",
            Tag::Float => "float",
            Tag::Str | Tag::StrOwned => "string",
            Tag::Array => "array",
            Tag::Object | Tag::Custom => "object",
            Tag::Enum => "enum",
            Tag::ObjectRef => "object reference",
            Tag::Ref => "reference",
            Tag::KeyInt | Tag::KeyStr | Tag::KeyStrOwned | Tag::Name => "key",
        }
    }

    /// True for `N;`.
    pub fn is_null(&self) -> bool {
        self.cell().tag == Tag::Null
    }

    /// The bool, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        let cell = self.cell();
        (cell.tag == Tag::Bool).then_some(cell.b != 0)
    }

    /// The int, if this is one.
    pub fn as_int(&self) -> Option<i64> {
        let cell = self.cell();
        (cell.tag == Tag::Int).then_some(cell.b as i64)
    }

    /// The float, if this is one.
    pub fn as_float(&self) -> Option<f64> {
        let cell = self.cell();
        (cell.tag == Tag::Float).then(|| f64::from_bits(cell.b))
    }

    /// The bytes of a string.
    pub fn as_bytes(&self) -> Option<&'d [u8]> {
        let cell = self.cell();
        matches!(cell.tag, Tag::Str | Tag::StrOwned).then(|| self.bytes_of(cell))
    }

    /// Where a string's bytes stand in the input: for a string read as written (`s:`); `None`
    /// for other values and for an `S:` string, whose bytes were unescaped into the document.
    #[cfg(feature = "laravel")]
    pub(crate) fn input_span(&self) -> Option<std::ops::Range<usize>> {
        let cell = self.cell();
        (cell.tag == Tag::Str).then(|| cell.a as usize..cell.a as usize + cell.b as usize)
    }

    /// A string as `&str`, if it is UTF-8.
    pub fn as_str(&self) -> Option<&'d str> {
        self.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
    }

    /// The entries of an array or the properties of an object.
    pub fn entries(&self) -> Option<Entries<'d>> {
        matches!(self.cell().tag, Tag::Array | Tag::Object).then(|| self.entries_unchecked())
    }

    /// The class of an object, `Serializable` object or enum case.
    pub fn class(&self) -> Option<&'d [u8]> {
        match self.view() {
            View::Object { class, .. } | View::Custom { class, .. } | View::Enum { class, .. } => {
                Some(class)
            }
            _ => None,
        }
    }

    /// The value under `key` in an array (`"5"` finds the int key 5, as in PHP).
    pub fn get(&self, key: impl Into<Key>) -> Option<ValueRef<'d>> {
        self.get_view(key.into().view())
    }

    /// [`Self::get`] for a string key without making a [`Key`] (no allocation): what a lookup
    /// on every request, such as the Laravel login key, uses.
    #[cfg(feature = "axum")]
    pub(crate) fn get_str(&self, key: &[u8]) -> Option<ValueRef<'d>> {
        match crate::value::array::numeric_key(key) {
            Some(i) => self.get_view(KeyView::Int(i)),
            None => self.get_view(KeyView::Str(key)),
        }
    }

    fn get_view(&self, key: KeyView<'_>) -> Option<ValueRef<'d>> {
        if self.cell().tag != Tag::Array {
            return None;
        }
        self.entries_unchecked()
            .find(|(k, _)| match (k, key) {
                (EntryKey::Int(a), KeyView::Int(b)) => *a == b,
                (EntryKey::Str(a), KeyView::Str(b)) => *a == b,
                _ => false,
            })
            .map(|(_, v)| v)
    }

    /// The property of an object whose unmangled name is `name`, whatever its visibility.
    pub fn property(&self, name: &str) -> Option<ValueRef<'d>> {
        if self.cell().tag != Tag::Object {
            return None;
        }
        self.entries_unchecked()
            .find(|(k, _)| match k {
                EntryKey::Str(s) => PropertyName::parse(s).name == name.as_bytes(),
                EntryKey::Int(i) => i.to_string() == name,
            })
            .map(|(_, v)| v)
    }

    /// Copy into an owned [`Value`]. Iterative: PHP's 4096 levels need no deep stack.
    pub fn to_value(&self) -> Value {
        crate::decode::tree_at(self.doc.input, &self.doc.tape, self.at)
    }

    /// This cell read as a key.
    fn key(&self) -> EntryKey<'d> {
        let cell = self.cell();
        match cell.tag {
            Tag::KeyInt => EntryKey::Int(cell.b as i64),
            _ => EntryKey::Str(self.bytes_of(cell)),
        }
    }
}

impl<'d> Iterator for Entries<'d> {
    type Item = (EntryKey<'d>, ValueRef<'d>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let key = ValueRef::new(self.doc, self.next).key();
        let value = ValueRef::new(self.doc, self.next + 1);
        self.left -= 1;
        if self.left > 0 {
            self.next = self.doc.tape.skip(self.next + 1);
        }
        Some((key, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Entries<'_> {}

impl fmt::Debug for Entries<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.clone()).finish()
    }
}

impl fmt::Debug for ValueRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.view().fmt(f)
    }
}

impl fmt::Debug for EntryKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryKey::Int(i) => write!(f, "{i}"),
            EntryKey::Str(s) => write!(f, "{:?}", String::from_utf8_lossy(s)),
        }
    }
}
