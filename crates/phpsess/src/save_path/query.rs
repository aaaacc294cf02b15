//! PHP's query-string decoder (`parse_str()`, `treat_data(PARSE_STRING)` in `main/php_variables.c`),
//! byte for byte as PHP 8.2 does it, keeping where in the input each value came from.
//!
//! The rules, each checked against real PHP by `tests/save_path_php.rs`:
//! - Only the bytes before a NUL are read (PHP walks a C string).
//! - `&` separates pairs; empty pairs are skipped. At most [`MAX_INPUT_VARS`] pairs are read
//!   (PHP warns and ignores the rest).
//! - A pair without `=` has the value `""`; the value is everything after the first `=`.
//! - Names and values are URL-decoded: `+` is a space, `%XX` (two hex digits) a byte, any other
//!   `%` stays. The decoded name ends at its first NUL; values keep NULs.
//! - Leading spaces of the name are dropped; then, up to the first `[`, `.` and space become `_`.
//!   An empty name drops the pair.
//! - `name[key]` and `name[]` build nested arrays (`name[]` appends). In `[`, one leading
//!   whitespace byte before `]` still means append (`a[ ]`); otherwise the key is taken as written
//!   (`a[ x]` is the key " x"). Text after a `]` that is not `[` is ignored (`a[b]c` is `a[b]`).
//! - A `[` without its `]`: at the first level the whole name becomes a plain name with the `[`
//!   and any later space, `.` or `[` turned into `_` (`a[b.c` is `a_b_c`); deeper, the rest is
//!   dropped (`a[b][c` is `a[b]`).
//! - More than [`MAX_INPUT_NESTING_LEVEL`] `[...]` groups removes the whole top-level variable.
//! - Keys are PHP array keys: canonical decimal integers become int keys (`"5"`, `"-3"`, not
//!   `"05"`); later pairs replace earlier ones in place; a scalar under a name that is later used
//!   as an array is replaced by an array, and the other way round.
//! - Appending uses PHP 8.2's next free index (after the largest int key so far, even a negative
//!   one: `a[-5]=x&a[]=y` gives `-4`); an append after key `PHP_INT_MAX` is dropped.

use std::ops::Range;

use crate::value::{Array, Key, Value};

/// PHP's default `max_input_vars`: pairs after this many are ignored.
pub const MAX_INPUT_VARS: usize = 1000;
/// PHP's default `max_input_nesting_level`: deeper variables are dropped.
pub const MAX_INPUT_NESTING_LEVEL: usize = 64;

/// Decode a query string exactly as PHP's `parse_str($input, $result)` does (with PHP's default
/// `max_input_vars` and `max_input_nesting_level`), giving `$result`.
///
/// ```
/// use phpsess::save_path::php::parse_str;
/// use phpsess::{serialize, Value};
/// let arr = parse_str(b"auth[]=bob&auth[]=s%23cret&a.b=1");
/// assert_eq!(
///     serialize(&Value::Array(arr)),
///     br#"a:2:{s:4:"auth";a:2:{i:0;s:3:"bob";i:1;s:6:"s#cret";}s:3:"a_b";s:1:"1";}"#
/// );
/// ```
pub fn parse_str(input: &[u8]) -> Array {
    decode(input).root.into_array()
}

/// What [`decode`] found: the variables, and whether PHP's limits dropped anything.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decoded {
    pub root: QArray,
    /// More than [`MAX_INPUT_VARS`] pairs: the rest were ignored.
    pub truncated: bool,
    /// A variable nested deeper than [`MAX_INPUT_NESTING_LEVEL`] was removed.
    pub too_deep: bool,
}

/// One decoded value and the input range of the `name=value` pair that set it (for an array, the
/// pair that created it).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QNode {
    pub value: QValue,
    pub pair: Range<usize>,
}

/// A decoded value: a byte string or a nested array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum QValue {
    Str(Vec<u8>),
    Array(QArray),
}

/// A PHP array as `parse_str()` builds it: ordered, with PHP's key rules and next free index.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct QArray {
    pub entries: Vec<(Key, QNode)>,
    /// PHP's `nNextFreeElement`; `None` while no int key was ever used (then appends start at 0).
    next_free: Option<i64>,
}

impl QArray {
    pub fn get(&self, key: &[u8]) -> Option<&QNode> {
        let key = Key::from_php_string(key);
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    fn position(&self, key: &Key) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    fn note_int_key(&mut self, key: &Key) {
        if let Key::Int(i) = *key {
            if self.next_free.is_none_or(|n| i >= n) {
                // PHP stops at PHP_INT_MAX, so a later append finds that key taken and fails.
                self.next_free = Some(if i == i64::MAX { i } else { i + 1 });
            }
        }
    }

    /// `zend_symtable_update`: replace in place, or append.
    fn update(&mut self, key: Key, node: QNode) -> usize {
        match self.position(&key) {
            Some(pos) => {
                self.entries[pos].1 = node;
                pos
            }
            None => {
                self.note_int_key(&key);
                self.entries.push((key, node));
                self.entries.len() - 1
            }
        }
    }

    /// `zend_hash_next_index_insert`: `None` when the next index is already taken (only after
    /// `PHP_INT_MAX` was used as a key).
    fn append(&mut self, node: QNode) -> Option<usize> {
        let key = Key::Int(self.next_free.unwrap_or(0));
        if self.position(&key).is_some() {
            return None;
        }
        Some(self.update(key, node))
    }

    /// The array under `key`, creating it (or replacing a string there, in place) if needed.
    fn array_at(&mut self, key: Key, pair: &Range<usize>) -> usize {
        match self.position(&key) {
            Some(pos) if matches!(self.entries[pos].1.value, QValue::Array(_)) => pos,
            _ => self.update(key, QNode::new_array(pair)),
        }
    }

    fn child(&mut self, pos: usize) -> &mut QArray {
        match &mut self.entries[pos].1.value {
            QValue::Array(a) => a,
            // `array_at` and `append` of `new_array` only ever return positions of arrays.
            QValue::Str(_) => unreachable!("position {pos} holds an array by construction"),
        }
    }

    pub fn into_array(self) -> Array {
        let mut out = Array::with_capacity(self.entries.len());
        for (k, node) in self.entries {
            let v = match node.value {
                QValue::Str(s) => Value::String(s.into()),
                QValue::Array(a) => Value::Array(a.into_array()),
            };
            out.insert(k, v);
        }
        out
    }
}

impl QNode {
    fn new_array(pair: &Range<usize>) -> QNode {
        QNode {
            value: QValue::Array(QArray::default()),
            pair: pair.clone(),
        }
    }
}

/// PHP's `php_url_decode`: `+` is a space, `%XX` a byte, anything else as is.
pub(crate) fn url_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < s.len()
                && s[i + 1].is_ascii_hexdigit()
                && s[i + 2].is_ascii_hexdigit() =>
            {
                out.push(hex_val(s[i + 1]) << 4 | hex_val(s[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// `rawurldecode`: like [`url_decode`] but `+` stays `+` (for `redis://` user info).
pub(crate) fn raw_url_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%'
            && i + 2 < s.len()
            && s[i + 1].is_ascii_hexdigit()
            && s[i + 2].is_ascii_hexdigit()
        {
            out.push(hex_val(s[i + 1]) << 4 | hex_val(s[i + 2]));
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        // Callers only pass ASCII hex digits, so this arm is 'A'..='F'.
        _ => b.wrapping_sub(b'A').wrapping_add(10),
    }
}

/// C `isspace()` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Decode `input` into PHP's variables, remembering each value's pair.
pub(crate) fn decode(input: &[u8]) -> Decoded {
    let end = input.iter().position(|&b| b == 0).unwrap_or(input.len());
    let mut out = Decoded {
        root: QArray::default(),
        truncated: false,
        too_deep: false,
    };
    let mut count = 0;
    let mut pos = 0;
    while pos < end {
        let len = input[pos..end]
            .iter()
            .position(|&b| b == b'&')
            .unwrap_or(end - pos);
        let pair = pos..pos + len;
        pos += len + 1;
        if pair.is_empty() {
            continue; // strtok() skips empty tokens
        }
        count += 1;
        if count > MAX_INPUT_VARS {
            out.truncated = true;
            break;
        }
        let raw = &input[pair.clone()];
        let (name, value) = match raw.iter().position(|&b| b == b'=') {
            Some(eq) => (&raw[..eq], url_decode(&raw[eq + 1..])),
            None => (raw, Vec::new()),
        };
        let name = url_decode(name);
        if !register(&mut out.root, &name, value, pair) {
            out.too_deep = true;
        }
    }
    out
}

/// Where a pair's value goes: the top-level name, then one key per `[...]` (`None` = append).
enum Target {
    Dropped,
    Path(Vec<u8>, Vec<Option<Vec<u8>>>),
    TooDeep(Vec<u8>),
}

/// `php_register_variable_ex`'s reading of a decoded name.
fn target(name: &[u8]) -> Target {
    let name = match name.iter().position(|&b| b == 0) {
        Some(nul) => &name[..nul],
        None => name,
    };
    let skip = name.iter().take_while(|&&b| b == b' ').count();
    let name = &name[skip..];

    let mut var = Vec::with_capacity(name.len());
    let mut open = None;
    for (i, &b) in name.iter().enumerate() {
        match b {
            b' ' | b'.' => var.push(b'_'),
            b'[' => {
                open = Some(i);
                break;
            }
            _ => var.push(b),
        }
    }
    if var.is_empty() {
        return Target::Dropped;
    }
    let Some(mut open) = open else {
        return Target::Path(var, Vec::new());
    };

    let mut keys: Vec<Option<Vec<u8>>> = Vec::new();
    loop {
        if keys.len() + 1 > MAX_INPUT_NESTING_LEVEL {
            return Target::TooDeep(var);
        }
        let index_start = open + 1;
        let mut ip = index_start;
        if ip < name.len() && is_c_space(name[ip]) {
            ip += 1;
        }
        let close = if ip < name.len() && name[ip] == b']' {
            keys.push(None);
            ip
        } else {
            match name[ip..].iter().position(|&b| b == b']') {
                Some(rel) => {
                    let close = ip + rel;
                    keys.push(Some(name[index_start..close].to_vec()));
                    close
                }
                None => {
                    if keys.is_empty() {
                        // Not an index after all: the whole name is a plain variable name.
                        var.push(b'_');
                        var.extend(name[index_start..].iter().map(|&b| match b {
                            b' ' | b'.' | b'[' => b'_',
                            b => b,
                        }));
                    }
                    // Deeper, the unterminated rest is dropped and the last key holds the value.
                    return Target::Path(var, keys);
                }
            }
        };
        let next = close + 1;
        if next < name.len() && name[next] == b'[' {
            open = next;
        } else {
            return Target::Path(var, keys);
        }
    }
}

/// Store one pair. Returns false when the variable was removed for nesting too deep.
fn register(root: &mut QArray, name: &[u8], value: Vec<u8>, pair: Range<usize>) -> bool {
    let (var, keys) = match target(name) {
        Target::Dropped => return true,
        Target::TooDeep(var) => {
            let key = Key::from_php_string(&var);
            if let Some(pos) = root.position(&key) {
                root.entries.remove(pos);
            }
            return false;
        }
        Target::Path(var, keys) => (var, keys),
    };
    let leaf = QNode {
        value: QValue::Str(value),
        pair: pair.clone(),
    };
    let Some((last, inner)) = keys.split_last() else {
        root.update(Key::from_php_string(&var), leaf);
        return true;
    };
    let mut table = root;
    let pos = table.array_at(Key::from_php_string(&var), &pair);
    table = table.child(pos);
    for key in inner {
        let pos = match key {
            Some(k) => table.array_at(Key::from_php_string(k), &pair),
            None => match table.append(QNode::new_array(&pair)) {
                Some(pos) => pos,
                None => return true, // PHP drops the value when the append fails
            },
        };
        table = table.child(pos);
    }
    match last {
        Some(k) => {
            table.update(Key::from_php_string(k), leaf);
        }
        None => {
            let _ = table.append(leaf);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::serialize;

    fn php(input: &[u8]) -> String {
        String::from_utf8_lossy(&serialize(&Value::Array(parse_str(input)))).into_owned()
    }

    #[test]
    fn decodes_like_php() {
        // Expected values printed by PHP 8.2: serialize(parse_str($input)).
        let cases: &[(&[u8], &str)] = &[
            (
                b"a[ ]=1&b[\t]=2&c[  ]=3",
                r#"a:3:{s:1:"a";a:1:{i:0;s:1:"1";}s:1:"b";a:1:{i:0;s:1:"2";}s:1:"c";a:1:{s:2:"  ";s:1:"3";}}"#,
            ),
            (b"&&a=1&&b&=3&", r#"a:2:{s:1:"a";s:1:"1";s:1:"b";s:0:"";}"#),
            (b"a=1=2", r#"a:1:{s:1:"a";s:3:"1=2";}"#),
            (b"a[]=1&a=2&a[]=3", r#"a:1:{s:1:"a";a:1:{i:0;s:1:"3";}}"#),
            (b"a=1&a[x]=2", r#"a:1:{s:1:"a";a:1:{s:1:"x";s:1:"2";}}"#),
            (
                b"a[x]]=1&b[[x]=2&c[x][=3&d][=4",
                r#"a:4:{s:1:"a";a:1:{s:1:"x";s:1:"1";}s:1:"b";a:1:{s:2:"[x";s:1:"2";}s:1:"c";a:1:{s:1:"x";s:1:"3";}s:3:"d]_";s:1:"4";}"#,
            ),
            (
                b".a=1&a..b=2&a%5Bb%5D=3&=x&%20=y",
                r#"a:3:{s:2:"_a";s:1:"1";s:4:"a__b";s:1:"2";s:1:"a";a:1:{s:1:"b";s:1:"3";}}"#,
            ),
            (b"a[b]c[d]=1", r#"a:1:{s:1:"a";a:1:{s:1:"b";s:1:"1";}}"#),
            (
                b"a%00b[c]=1&c=%00x",
                "a:2:{s:1:\"a\";s:1:\"1\";s:1:\"c\";s:2:\"\0x\";}",
            ),
            (b"a[b%00c]=1", r#"a:1:{s:3:"a_b";s:1:"1";}"#),
            (
                b"a[]=1&a[5]=2&a[]=3&a[-9]=4&a[]=5",
                r#"a:1:{s:1:"a";a:5:{i:0;s:1:"1";i:5;s:1:"2";i:6;s:1:"3";i:-9;s:1:"4";i:7;s:1:"5";}}"#,
            ),
            (
                b"y[-5]=1&y[]=2",
                r#"a:1:{s:1:"y";a:2:{i:-5;s:1:"1";i:-4;s:1:"2";}}"#,
            ),
            (
                b"x[9223372036854775807]=1&x[]=2&x[-5]=3",
                r#"a:1:{s:1:"x";a:2:{i:9223372036854775807;s:1:"1";i:-5;s:1:"3";}}"#,
            ),
            (
                b"a+b=1&c%2Bd=2",
                r#"a:2:{s:3:"a_b";s:1:"1";s:3:"c+d";s:1:"2";}"#,
            ),
            (
                b"%41=1&a%=2&b=%&c=%2&d=%zz",
                r#"a:5:{s:1:"A";s:1:"1";s:2:"a%";s:1:"2";s:1:"b";s:1:"%";s:1:"c";s:2:"%2";s:1:"d";s:3:"%zz";}"#,
            ),
            (b"a[%5D=1", r#"a:1:{s:1:"a";a:1:{i:0;s:1:"1";}}"#),
            (
                b"f[x=4&g.h[i=5&j[k][l=6& m=7&%20n=8&[o]=9",
                r#"a:5:{s:3:"f_x";s:1:"4";s:5:"g_h_i";s:1:"5";s:1:"j";a:1:{s:1:"k";s:1:"6";}s:1:"m";s:1:"7";s:1:"n";s:1:"8";}"#,
            ),
        ];
        for (input, want) in cases {
            assert_eq!(php(input), *want, "{}", String::from_utf8_lossy(input));
        }
    }

    #[test]
    fn php_limits() {
        let many = "a[]=1&".repeat(1005);
        let d = decode(many.as_bytes());
        assert!(d.truncated);
        match &d.root.get(b"a").map(|n| &n.value) {
            Some(QValue::Array(a)) => assert_eq!(a.len(), MAX_INPUT_VARS),
            other => panic!("{other:?}"),
        }
        let deep = format!("y=2&x{}=1", "[a]".repeat(65));
        let d = decode(deep.as_bytes());
        assert!(d.too_deep);
        assert_eq!(php(deep.as_bytes()), r#"a:1:{s:1:"y";s:1:"2";}"#);
        let ok = format!("x{}=1", "[a]".repeat(64));
        assert!(!decode(ok.as_bytes()).too_deep);
    }

    #[test]
    fn pairs_keep_their_input_range() {
        let d = decode(b"a=1&&auth[]=u&auth[]=p");
        assert_eq!(d.root.get(b"a").map(|n| n.pair.clone()), Some(0..3));
        let auth = d.root.get(b"auth").expect("auth");
        assert_eq!(auth.pair, 5..13);
        match &auth.value {
            QValue::Array(a) => {
                assert_eq!(a.entries[1].1.pair, 14..22);
            }
            QValue::Str(_) => panic!("array expected"),
        }
    }
}
