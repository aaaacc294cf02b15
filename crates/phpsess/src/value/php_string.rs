//! [`PhpString`]: the bytes of a PHP string value or array key, kept inline when short.
//!
//! An owned [`crate::Value`] tree used to hold every string and key in a `Vec<u8>`: one heap
//! allocation (and one free) each, which was most of the cost of decoding into a tree (cart
//! payload: ~600 allocations per decode). Session keys and most session strings are short, so
//! strings of up to [`PhpString::INLINE`] bytes live inside the value itself, in the 24 bytes a
//! `Vec<u8>` took; longer ones take one exactly-sized allocation. Safe Rust, no dependency: an
//! enum of the two forms.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

/// The bytes of a PHP string (PHP strings need not be UTF-8). Derefs to `[u8]`; build one with
/// `From` (`PhpString::from("abc")`, `b"abc".into()`, `vec.into()`), get a `Vec<u8>` back with
/// [`PhpString::into_vec`]. Compares, orders and hashes as its bytes.
#[derive(Clone)]
pub struct PhpString(Repr);

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        bytes: [u8; PhpString::INLINE],
    },
    Heap(Box<[u8]>),
}

// The same size as the `Vec<u8>` it replaces.
const _: () = assert!(std::mem::size_of::<PhpString>() == 24);

impl PhpString {
    /// The longest string kept without a heap allocation.
    pub const INLINE: usize = 22;

    /// The empty string.
    pub const fn new() -> Self {
        PhpString(Repr::Inline {
            len: 0,
            bytes: [0; PhpString::INLINE],
        })
    }

    /// The bytes.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            Repr::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Repr::Heap(b) => b,
        }
    }

    /// The bytes as `&str`, if they are UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    /// The bytes as a `Vec<u8>`, to edit them.
    pub fn into_vec(self) -> Vec<u8> {
        match self.0 {
            Repr::Inline { .. } => self.as_bytes().to_vec(),
            Repr::Heap(b) => b.into_vec(),
        }
    }
}

impl Default for PhpString {
    fn default() -> Self {
        PhpString::new()
    }
}

impl Deref for PhpString {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsRef<[u8]> for PhpString {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl Borrow<[u8]> for PhpString {
    fn borrow(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl From<&[u8]> for PhpString {
    #[inline]
    fn from(s: &[u8]) -> Self {
        if s.len() <= PhpString::INLINE {
            let mut bytes = [0; PhpString::INLINE];
            bytes[..s.len()].copy_from_slice(s);
            // At most INLINE (22) bytes: fits a u8.
            PhpString(Repr::Inline {
                len: s.len() as u8,
                bytes,
            })
        } else {
            PhpString(Repr::Heap(s.into()))
        }
    }
}

impl<const N: usize> From<&[u8; N]> for PhpString {
    fn from(s: &[u8; N]) -> Self {
        PhpString::from(&s[..])
    }
}

impl From<Vec<u8>> for PhpString {
    fn from(v: Vec<u8>) -> Self {
        if v.len() <= PhpString::INLINE {
            PhpString::from(v.as_slice())
        } else {
            PhpString(Repr::Heap(v.into_boxed_slice()))
        }
    }
}

impl From<&str> for PhpString {
    fn from(s: &str) -> Self {
        PhpString::from(s.as_bytes())
    }
}

impl From<String> for PhpString {
    fn from(s: String) -> Self {
        PhpString::from(s.into_bytes())
    }
}

impl From<std::borrow::Cow<'_, [u8]>> for PhpString {
    fn from(s: std::borrow::Cow<'_, [u8]>) -> Self {
        match s {
            std::borrow::Cow::Borrowed(b) => PhpString::from(b),
            std::borrow::Cow::Owned(v) => PhpString::from(v),
        }
    }
}

impl From<PhpString> for Vec<u8> {
    fn from(s: PhpString) -> Self {
        s.into_vec()
    }
}

impl fmt::Debug for PhpString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.as_bytes().escape_ascii())
    }
}

impl PartialEq for PhpString {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for PhpString {}

impl PartialOrd for PhpString {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PhpString {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

// As `[u8]` hashes, which `Borrow<[u8]>` requires.
impl Hash for PhpString {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

macro_rules! eq_bytes {
    ($($other:ty),*) => {$(
        impl PartialEq<$other> for PhpString {
            fn eq(&self, other: &$other) -> bool {
                self.as_bytes() == AsRef::<[u8]>::as_ref(other)
            }
        }
        impl PartialEq<PhpString> for $other {
            fn eq(&self, other: &PhpString) -> bool {
                AsRef::<[u8]>::as_ref(self) == other.as_bytes()
            }
        }
    )*};
}

eq_bytes!([u8], &[u8], Vec<u8>, str, &str, String);

impl<const N: usize> PartialEq<[u8; N]> for PhpString {
    fn eq(&self, other: &[u8; N]) -> bool {
        self.as_bytes() == other
    }
}

impl<const N: usize> PartialEq<&[u8; N]> for PhpString {
    fn eq(&self, other: &&[u8; N]) -> bool {
        self.as_bytes() == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_inline_and_all_compare_as_bytes() {
        for len in [0, 1, 21, 22, 23, 100] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let s = PhpString::from(bytes.as_slice());
            assert_eq!(matches!(s.0, Repr::Inline { .. }), len <= PhpString::INLINE);
            assert_eq!(s.as_bytes(), bytes.as_slice());
            assert_eq!(PhpString::from(bytes.clone()), s);
            assert_eq!(s.clone().into_vec(), bytes);
            assert_eq!(s, bytes);
        }
        assert_eq!(PhpString::from("abc"), "abc");
        let (short, long) = (PhpString::from("ab"), PhpString::from("abc"));
        assert!(short < long);
        assert_eq!(
            format!("{:?}", PhpString::from(&b"a\0\""[..])),
            r#"b"a\x00\"""#
        );
        let mut set = std::collections::HashSet::new();
        set.insert(PhpString::from("key"));
        assert!(set.contains(&b"key"[..]));
    }
}
