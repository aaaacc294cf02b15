//! `unserialize()`: bytes in PHP's serialize format to a [`Value`] tree.
//!
//! Accepts what PHP 8.2 accepts (see `reader` for the token grammar) with two deliberate
//! differences: trailing bytes after the value are an error here (PHP 8.2 ignores them silently,
//! 8.3 warns), and classes and enums need not exist (we have no class table; PHP makes unknown
//! `O:` classes `__PHP_Incomplete_Class` and refuses unknown enums).
//!
//! These are entry points only: the decoding is `crate::decode`'s, shared with [`crate::Document`].

use crate::decode::{self, Builder};
use crate::error::Result;
use crate::value::{BorrowedValue, Value};

/// Decode one complete value; bytes after it are an error.
///
/// ```
/// use phpsess::{unserialize, Value};
/// let v = unserialize(br#"a:1:{s:4:"user";i:42;}"#).unwrap();
/// assert_eq!(v.as_array().unwrap().get("user"), Some(&Value::Int(42)));
/// ```
pub fn unserialize(input: &[u8]) -> Result<Value> {
    decode::value(input, crate::MAX_DEPTH)
}

/// Decode the value at the start of `input` and say how many bytes it used (what PHP 8.2's
/// `unserialize()` does with trailing data). Session decoders use this to walk `name|value…`.
pub fn unserialize_prefix(input: &[u8]) -> Result<(Value, usize)> {
    Builder::new().value_at(input, 0)
}

/// Decode one complete value without copying: strings, keys and class names borrow from `input`.
/// [`crate::Document`] is faster still when you only read; [`BorrowedValue::to_owned`] gives a [`Value`].
///
/// ```
/// use phpsess::{unserialize_borrowed, BorrowedValue};
/// let input = br#"a:1:{s:4:"user";s:5:"alice";}"#;
/// let v = unserialize_borrowed(input).unwrap();
/// assert_eq!(v.get("user").and_then(BorrowedValue::as_bytes), Some(&b"alice"[..]));
/// ```
pub fn unserialize_borrowed(input: &[u8]) -> Result<BorrowedValue<'_>> {
    decode::value(input, crate::MAX_DEPTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MAX_DEPTH;

    /// Malformed input: what was being read and where, exactly.
    #[test]
    fn errors_name_what_was_read_and_the_offset() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "unexpected end of input in value at byte 0"),
            (b"x", "unknown type tag 'x' at byte 0"),
            (b"i:5", "unexpected end of input in integer at byte 3"),
            (b"i:5x", "expected ';' in integer at byte 3"),
            (b"b:2;", "expected 0 or 1 in bool at byte 2"),
            (b"d:1e;", "expected ';' in float at byte 3"),
            (b"s:3:\"abc\"x", "expected ';' in string at byte 9"),
            (
                b"a:1:{i:0;N;",
                "unexpected end of input in array at byte 11",
            ),
            (
                b"a:999999999:{",
                "array declares 999999999 but only 0 bytes remain at byte 0",
            ),
            (
                b"a:1:{a:0:{}i:1;}",
                "array key must be an integer or a string at byte 5",
            ),
            (b"O:3:\"a-b\":0:{}", "invalid class name at byte 2"),
            (
                b"E:3:\"abc\";",
                "enum name lacks the ':' between class and case at byte 0",
            ),
            (b"r:1;", "reference 1 points at no usable value at byte 0"),
            (
                b"a:1:{i:0;R:5;}",
                "reference 5 points at no usable value at byte 9",
            ),
            (
                b"C:3:\"Foo\":5:{ab}",
                "custom object declares 5 but only 3 bytes remain at byte 0",
            ),
            (
                b"S:1:\"\\zz\";",
                "invalid \\xx escape in S: string at byte 5",
            ),
            (b"N;N;", "trailing bytes after the value at byte 2"),
        ];
        for (input, want) in cases {
            let got = unserialize(input).err().map(|e| e.to_string());
            assert_eq!(
                got.as_deref(),
                Some(*want),
                "{}",
                String::from_utf8_lossy(input)
            );
            assert!(
                unserialize_borrowed(input).is_err(),
                "borrowed agrees: {}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn nesting_stops_at_php_s_limit_on_a_default_thread_stack() {
        let nested = |n: usize| [b"a:1:{i:0;".repeat(n), b"N;".to_vec(), b"}".repeat(n)].concat();
        // Run on the default stack of a spawned thread (2 MiB): decoding does not recurse, and
        // dropping the 4096-level tree fits.
        let (ok, err) = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || {
                let ok = unserialize_borrowed(&nested(MAX_DEPTH)).is_ok();
                let err = unserialize_borrowed(&nested(MAX_DEPTH + 1))
                    .err()
                    .map(|e| e.to_string());
                (ok, err)
            })
            .expect("thread")
            .join()
            .expect("no stack overflow");
        assert!(ok);
        assert_eq!(
            err.as_deref(),
            Some("nesting deeper than 4096 levels at byte 36864")
        );
    }

    /// Found by `cargo fuzz` (fuzz/regressions/): a repeated key plus a reference decoded to a
    /// value whose re-encoding did not decode. Such input is refused now, with the offset of the
    /// repeated key's value.
    #[test]
    fn repeated_keys_with_references_are_refused() {
        let fuzzed =
            include_bytes!("../../../fuzz/regressions/unserialize-repeated-key-with-reference");
        let cases: &[(&[u8], &str)] = &[
            (
                fuzzed,
                "repeated key in a value that also has r:/R: references (not supported) at byte 32",
            ),
            (
                b"a:3:{i:0;i:1;i:0;i:2;i:1;R:2;}",
                "repeated key in a value that also has r:/R: references (not supported) at byte 17",
            ),
            (
                b"a:2:{i:0;a:2:{i:1;i:1;i:1;i:3;}i:1;R:4;}",
                "repeated key in a value that also has r:/R: references (not supported) at byte 26",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                unserialize(input).err().map(|e| e.to_string()).as_deref(),
                Some(*want)
            );
            assert!(unserialize_borrowed(input).is_err());
        }
        // Repeated keys alone, and references alone, still decode as PHP decodes them.
        let v = unserialize(b"a:2:{i:0;i:1;i:0;i:2;}").unwrap();
        assert_eq!(crate::serialize(&v), b"a:1:{i:0;i:2;}");
        assert!(unserialize(br#"a:2:{i:0;O:8:"stdClass":0:{}i:1;r:2;}"#).is_ok());
    }

    #[test]
    fn borrowed_and_owned_decoders_agree() {
        let input =
            br#"a:4:{i:0;s:3:"abc";i:5;d:0.5;s:1:"o";O:8:"stdClass":1:{s:1:"p";b:1;}s:1:"r";r:4;}"#;
        let owned = unserialize(input).unwrap();
        let borrowed = unserialize_borrowed(input).unwrap();
        assert_eq!(borrowed.to_owned(), owned);
        assert_eq!(crate::serialize(&owned), input);
        assert_eq!(borrowed.get(5), Some(&BorrowedValue::Float(0.5)));
        assert_eq!(
            borrowed.get("5"),
            Some(&BorrowedValue::Float(0.5)),
            "\"5\" is the int key 5"
        );
    }
}
