//! PHP arrays: ordered maps whose keys are ints or byte strings, normalised the way PHP's
//! hash tables do it (the string "5" is the int key 5).

use super::{PhpString, Value};
use crate::key_set::{KeySet, KeyView, StoredKeys};

/// An array key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Key {
    /// An integer key.
    Int(i64),
    /// A string key (never a canonical decimal integer inside an [`Array`]); short ones inline.
    Str(PhpString),
}

impl Key {
    /// The key PHP's array would store for `bytes`: canonical decimal integers
    /// (`0`, `-7`, `42`, but not `07`, `-0` or out-of-range ones) become int keys.
    pub fn from_php_string(bytes: &[u8]) -> Key {
        match numeric_key(bytes) {
            Some(i) => Key::Int(i),
            None => Key::Str(bytes.into()),
        }
    }

    /// The key as the key set compares it (normalised keys only: `"5"` must be `Int(5)` already).
    pub(crate) fn view(&self) -> KeyView<'_> {
        match self {
            Key::Int(i) => KeyView::Int(*i),
            Key::Str(s) => KeyView::Str(s),
        }
    }

    /// The key as bytes, the way PHP prints it (`5`, `name`).
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Key::Int(i) => i.to_string().into_bytes(),
            Key::Str(s) => s.to_vec(),
        }
    }
}

impl From<i64> for Key {
    fn from(i: i64) -> Self {
        Key::Int(i)
    }
}
impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Key::from_php_string(s.as_bytes())
    }
}
impl From<&[u8]> for Key {
    fn from(s: &[u8]) -> Self {
        Key::from_php_string(s)
    }
}

/// PHP's `ZEND_HANDLE_NUMERIC_STR`: is this string a canonical integer that fits in an `i64`?
#[inline]
pub(crate) fn numeric_key(s: &[u8]) -> Option<i64> {
    // Most keys are names: one byte rules them out.
    match s.first() {
        Some(b'0'..=b'9' | b'-') => numeric_key_digits(s),
        _ => None,
    }
}

fn numeric_key_digits(s: &[u8]) -> Option<i64> {
    let digits = match s.first()? {
        b'-' => &s[1..],
        _ => s,
    };
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // "0" is canonical; "00", "01" and "-0" are strings.
    if digits[0] == b'0' && (digits.len() > 1 || s[0] == b'-') {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse::<i64>().ok()
}

/// An ordered PHP array.
///
/// Entries keep insertion order; inserting an existing key replaces its value in place, as PHP does.
/// Lookups are linear, which is what session-sized arrays want; decoding and collecting
/// ([`FromIterator`]) check repeated keys with a hash set instead (`crate::key_set`), so they are
/// linear in the number of entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Array {
    entries: Vec<(Key, Value)>,
    /// PHP's `nNextFreeElement`: one past the largest int key, negative ones included (measured:
    /// `unserialize('a:1:{i:-5;…}')` then `$a[] = …` appends at -4); `None` before any int key.
    next_index: Option<i64>,
}

impl Array {
    /// An empty array.
    pub fn new() -> Self {
        Array::default()
    }

    /// An empty array with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Array {
            entries: Vec::with_capacity(n),
            next_index: None,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the array has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Key, &Value)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    /// Entries in order, values mutable.
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = (&Key, &mut Value)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The value stored under `key`.
    pub fn get(&self, key: impl Into<Key>) -> Option<&Value> {
        let key = key.into();
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The value stored under `key`, mutably.
    pub fn get_mut(&mut self, key: impl Into<Key>) -> Option<&mut Value> {
        let key = key.into();
        self.entries
            .iter_mut()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v)
    }

    /// Set `key` to `value`: replaces in place if present, appends otherwise. Returns the old value.
    pub fn insert(&mut self, key: impl Into<Key>, value: Value) -> Option<Value> {
        let key = normalise(key.into());
        if let Some(slot) = self.get_mut(key.clone()) {
            return Some(std::mem::replace(slot, value));
        }
        self.push_new(key, value);
        None
    }

    /// Append with the next integer key, like `$a[] = $value`. Returns false, changing nothing,
    /// when that key is taken (after an `i64::MAX` key, where PHP throws "Cannot add element to the
    /// array as the next element is already occupied").
    pub fn push(&mut self, value: Value) -> bool {
        let key = Key::Int(self.next_index.unwrap_or(0));
        if self.get(key.clone()).is_some() {
            return false;
        }
        self.push_new(key, value);
        true
    }

    /// Remove `key`, keeping the order of the others.
    pub fn remove(&mut self, key: impl Into<Key>) -> Option<Value> {
        let key = key.into();
        let pos = self.entries.iter().position(|(k, _)| *k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// True when the keys are exactly 0, 1, 2, … in order (PHP's `array_is_list`).
    pub fn is_list(&self) -> bool {
        self.entries
            .iter()
            .enumerate()
            .all(|(i, (k, _))| *k == Key::Int(i as i64))
    }

    /// Append a key known not to be present (the decoder checks duplicates itself).
    pub(crate) fn push_new(&mut self, key: Key, value: Value) {
        if let Key::Int(i) = key {
            if self.next_index.is_none_or(|n| i >= n) {
                self.next_index = Some(i.saturating_add(1));
            }
        }
        self.entries.push((key, value));
    }

    /// An array from entries whose keys are known to be distinct and normalised (the decoder's).
    pub(crate) fn from_unique_entries(entries: Vec<(Key, Value)>) -> Self {
        let next_index = entries
            .iter()
            .filter_map(|(k, _)| match k {
                Key::Int(i) => Some(i.saturating_add(1)),
                Key::Str(_) => None,
            })
            .max();
        Array {
            entries,
            next_index,
        }
    }

    pub(crate) fn entries_mut(&mut self) -> &mut Vec<(Key, Value)> {
        &mut self.entries
    }
}

fn normalise(key: Key) -> Key {
    match key {
        Key::Str(s) => match numeric_key(&s) {
            Some(i) => Key::Int(i),
            None => Key::Str(s),
        },
        k => k,
    }
}

/// An array's entries, as the key set reads them back.
impl StoredKeys for [(Key, Value)] {
    fn key_at(&self, pos: usize) -> KeyView<'_> {
        self[pos].0.view()
    }
    fn positions(&self) -> impl Iterator<Item = usize> + '_ {
        0..self.len()
    }
}

/// Like [`Array::insert`] of each entry in turn (a repeated key keeps its first position and
/// takes the last value), in time linear in the entries.
impl FromIterator<(Key, Value)> for Array {
    fn from_iter<I: IntoIterator<Item = (Key, Value)>>(iter: I) -> Self {
        let iter = iter.into_iter();
        let expected = iter.size_hint().0;
        collect(iter, &mut KeySet::new(expected))
    }
}

fn collect<I: Iterator<Item = (Key, Value)>>(iter: I, keys: &mut KeySet) -> Array {
    let mut a = Array::with_capacity(iter.size_hint().0);
    for (k, v) in iter {
        let k = normalise(k);
        match keys.insert(k.view(), a.entries.len(), &a.entries[..]) {
            Some(i) => a.entries[i].1 = v,
            None => a.push_new(k, v),
        }
    }
    a
}

impl IntoIterator for Array {
    type Item = (Key, Value);
    type IntoIter = std::vec::IntoIter<(Key, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_keys_follow_php() {
        let cases: &[(&str, Option<i64>)] = &[
            ("0", Some(0)),
            ("5", Some(5)),
            ("-7", Some(-7)),
            ("9223372036854775807", Some(i64::MAX)),
            ("-9223372036854775808", Some(i64::MIN)),
            ("9223372036854775808", None),
            ("-0", None),
            ("05", None),
            ("", None),
            ("-", None),
            ("1.0", None),
            (" 1", None),
        ];
        for (s, want) in cases {
            assert_eq!(numeric_key(s.as_bytes()), *want, "{s:?}");
        }
    }

    /// 100k entries: the linear-scan insert this replaced made 5·10⁹ comparisons (minutes).
    #[test]
    fn collecting_is_linear_in_the_entries() {
        let n = 100_000i64;
        let entries = (0..n).map(|i| match i % 3 {
            0 => (Key::Int(n - i), Value::Int(i)),
            1 => (Key::Str(format!("key_{i}").into()), Value::Int(i)),
            // A repeat of the int key two entries back: first position, last value.
            _ => (Key::Str((n - i + 2).to_string().into()), Value::Int(i)),
        });
        let mut keys = KeySet::new(n as usize);
        let a = collect(entries, &mut keys);
        assert_eq!(a.len() as i64, n - n / 3);
        assert_eq!(a.get(n), Some(&Value::Int(2)), "replaced in place");
        assert_eq!(a.iter().next().map(|(k, _)| k.clone()), Some(Key::Int(n)));
        assert!(
            keys.probes < 4 * n as u64,
            "{} probes for {n} entries",
            keys.probes
        );
        let slow: Array = (0..300)
            .map(|i| (Key::Int(i % 100), Value::Int(i)))
            .collect();
        let mut fast = Array::new();
        for i in 0..300 {
            fast.insert(i % 100, Value::Int(i));
        }
        assert_eq!(slow, fast);
    }

    #[test]
    fn insert_replaces_in_place_and_push_continues_after_max() {
        let mut a = Array::new();
        a.insert("b", Value::Int(1));
        a.insert(10, Value::Int(2));
        a.insert("b", Value::Int(3));
        a.push(Value::Null);
        let keys: Vec<_> = a.iter().map(|(k, _)| k.clone()).collect();
        let mut neg = Array::new();
        neg.insert(-5, Value::Null);
        neg.push(Value::Null);
        assert_eq!(
            neg.iter().nth(1).map(|(k, _)| k.clone()),
            Some(Key::Int(-4)),
            "as PHP 8.2 measured"
        );
        let mut full = Array::new();
        full.insert(i64::MAX, Value::Null);
        assert!(!full.push(Value::Int(1)), "the next key is taken");
        assert_eq!(full.len(), 1);
        assert_eq!(keys, vec![Key::Str("b".into()), Key::Int(10), Key::Int(11)]);
        assert_eq!(a.get("b"), Some(&Value::Int(3)));
        assert_eq!(a.get("10"), Some(&Value::Int(2)));
        assert!(!a.is_list());
    }
}
