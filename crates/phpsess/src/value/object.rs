//! Objects as `serialize()` writes them: `O:` with properties (names mangled for private and
//! protected members), `C:` with a `Serializable` payload, and `E:` enum cases.

use super::{Key, Value};

/// An `O:` object. Property keys are kept exactly as serialized (a class with `__serialize()` may
/// use int keys), so re-encoding gives back the same bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Object {
    /// The class name, as written (PHP class names are case-insensitive but keep their case).
    pub class: Vec<u8>,
    /// Properties in order: mangled names (`\0Class\0name`, `\0*\0name`) or `__serialize()` keys.
    pub properties: Vec<(Key, Value)>,
}

impl Object {
    /// A new object of `class` with no properties.
    pub fn new(class: impl Into<Vec<u8>>) -> Self {
        Object {
            class: class.into(),
            properties: Vec::new(),
        }
    }

    /// The class name as `&str` (lossy for non-UTF-8 names).
    pub fn class_name(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.class)
    }

    /// The property whose unmangled name is `name`, whatever its visibility.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.properties.iter().find_map(|(k, v)| match k {
            Key::Str(s) if PropertyName::parse(s).name == name.as_bytes() => Some(v),
            Key::Int(i) if i.to_string() == name => Some(v),
            _ => None,
        })
    }
}

/// A `C:` object: a class implementing `Serializable`, whose payload only the class understands.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomObject {
    /// The class name.
    pub class: Vec<u8>,
    /// The bytes `Serializable::serialize()` returned.
    pub data: Vec<u8>,
}

/// An `E:` enum case: `E:11:"Suit:Hearts";`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnumCase {
    /// The enum's class name.
    pub class: Vec<u8>,
    /// The case name.
    pub case: Vec<u8>,
}

/// Who may see a property, from its mangled name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// A plain name.
    Public,
    /// `\0*\0name`
    Protected,
    /// `\0Class\0name`
    Private,
}

/// A property name split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PropertyName<'a> {
    /// Public, protected or private.
    pub visibility: Visibility,
    /// The declaring class, for private properties.
    pub class: Option<&'a [u8]>,
    /// The bare property name.
    pub name: &'a [u8],
}

impl<'a> PropertyName<'a> {
    /// Unmangle a serialized property name. Names that start with NUL but do not follow the
    /// mangling scheme are treated as public, as `zend_unmangle_property_name` does.
    pub fn parse(raw: &'a [u8]) -> Self {
        let public = PropertyName {
            visibility: Visibility::Public,
            class: None,
            name: raw,
        };
        if raw.first() != Some(&0) {
            return public;
        }
        let Some(end) = raw[1..].iter().position(|&b| b == 0) else {
            return public;
        };
        let class = &raw[1..1 + end];
        let name = &raw[2 + end..];
        if class == b"*" {
            PropertyName {
                visibility: Visibility::Protected,
                class: None,
                name,
            }
        } else {
            PropertyName {
                visibility: Visibility::Private,
                class: Some(class),
                name,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn property_names_unmangle() {
        let p = PropertyName::parse(b"\0*\0id");
        assert_eq!((p.visibility, p.name), (Visibility::Protected, &b"id"[..]));
        let p = PropertyName::parse(b"\0App\\User\0secret");
        assert_eq!(p.visibility, Visibility::Private);
        assert_eq!(p.class, Some(&b"App\\User"[..]));
        assert_eq!(p.name, b"secret");
        let p = PropertyName::parse(b"name");
        assert_eq!((p.visibility, p.name), (Visibility::Public, &b"name"[..]));
        let p = PropertyName::parse(b"\0broken");
        assert_eq!(p.visibility, Visibility::Public);
    }
}
