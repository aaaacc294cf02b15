//! Unit tests for the session encodings. Every byte string below was produced or checked by PHP
//! 8.2.36 (`php -n`, `session_decode()`/`session_encode()`/`serialize($_SESSION)`); the
//! integration test `tests/session_php.rs` re-runs PHP on a similar corpus.

use super::*;
use crate::{serialize, Value};

const PHP: Format = Format::Php;
const BIN: Format = Format::PhpBinary;
const SER: Format = Format::PhpSerialize;

/// A session with every value type, as PHP 8.2 wrote it in each format (`r` is the object `o`
/// again; `c` is a `Serializable` class, `e` a backed enum).
const ALL_TYPES_PHP: &[u8] = b"n|N;t|b:1;i|i:-7;f|d:0.1;s|s:3:\"h\xe9\x00\";l|a:2:{i:0;i:1;i:1;a:1:{i:0;i:2;}}o|O:2:\"Pt\":3:{s:1:\"x\";i:1;s:4:\"\x00*\x00y\";i:2;s:5:\"\x00Pt\x00z\";i:3;}e|E:11:\"Suit:Hearts\";c|C:2:\"Cs\":3:{abc}r|r:10;g|a:6:{i:0;d:-0;i:1;d:INF;i:2;d:-INF;i:3;d:NAN;i:4;d:1.0E+100;i:5;i:-9223372036854775808;}";
const ALL_TYPES_BIN: &[u8] = b"\x01nN;\x01tb:1;\x01ii:-7;\x01fd:0.1;\x01ss:3:\"h\xe9\x00\";\x01la:2:{i:0;i:1;i:1;a:1:{i:0;i:2;}}\x01oO:2:\"Pt\":3:{s:1:\"x\";i:1;s:4:\"\x00*\x00y\";i:2;s:5:\"\x00Pt\x00z\";i:3;}\x01eE:11:\"Suit:Hearts\";\x01cC:2:\"Cs\":3:{abc}\x01rr:10;\x01ga:6:{i:0;d:-0;i:1;d:INF;i:2;d:-INF;i:3;d:NAN;i:4;d:1.0E+100;i:5;i:-9223372036854775808;}";
const ALL_TYPES_SER: &[u8] = b"a:11:{s:1:\"n\";N;s:1:\"t\";b:1;s:1:\"i\";i:-7;s:1:\"f\";d:0.1;s:1:\"s\";s:3:\"h\xe9\x00\";s:1:\"l\";a:2:{i:0;i:1;i:1;a:1:{i:0;i:2;}}s:1:\"o\";O:2:\"Pt\":3:{s:1:\"x\";i:1;s:4:\"\x00*\x00y\";i:2;s:5:\"\x00Pt\x00z\";i:3;}s:1:\"e\";E:11:\"Suit:Hearts\";s:1:\"c\";C:2:\"Cs\":3:{abc}s:1:\"r\";r:11;s:1:\"g\";a:6:{i:0;d:-0;i:1;d:INF;i:2;d:-INF;i:3;d:NAN;i:4;d:1.0E+100;i:5;i:-9223372036854775808;}}";

fn n127() -> Vec<u8> {
    vec![b'n'; 127]
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// (format, session bytes PHP wrote, PHP's `serialize($_SESSION)` after `session_decode()`).
/// PHP's `session_encode()` gave the input back for each (FALSE for the empty `php`/`php_binary`
/// session, whose save handler then writes `""`).
fn round_trips() -> Vec<(Format, Vec<u8>, Vec<u8>)> {
    let v = |f: Format, input: &[u8], ser: &[u8]| (f, input.to_vec(), ser.to_vec());
    vec![
        v(PHP, b"", b"a:0:{}"),
        v(BIN, b"", b"a:0:{}"),
        v(SER, b"a:0:{}", b"a:0:{}"),
        v(PHP, b"a|i:1;", b"a:1:{s:1:\"a\";i:1;}"),
        v(PHP, ALL_TYPES_PHP, ALL_TYPES_SER),
        v(BIN, ALL_TYPES_BIN, ALL_TYPES_SER),
        v(SER, ALL_TYPES_SER, ALL_TYPES_SER),
        // $_SESSION['b'] = 1; $_SESSION['a'] = &$_SESSION['b'];
        v(
            PHP,
            b"b|i:1;a|R:1;",
            b"a:2:{s:1:\"b\";i:1;s:1:\"a\";R:2;}",
        ),
        v(
            BIN,
            b"\x01bi:1;\x01aR:1;",
            b"a:2:{s:1:\"b\";i:1;s:1:\"a\";R:2;}",
        ),
        v(
            SER,
            b"a:2:{i:5;i:1;s:1:\"b\";R:2;}",
            b"a:2:{i:5;i:1;s:1:\"b\";R:2;}",
        ),
        // One object in three variables: slot numbers continue across variables.
        v(
            PHP,
            b"x|a:2:{i:0;i:1;i:1;i:2;}o|O:8:\"stdClass\":0:{}p|r:4;q|a:2:{i:0;r:4;s:1:\"k\";r:4;}",
            b"a:4:{s:1:\"x\";a:2:{i:0;i:1;i:1;i:2;}s:1:\"o\";O:8:\"stdClass\":0:{}s:1:\"p\";r:5;s:1:\"q\";a:2:{i:0;r:5;s:1:\"k\";r:5;}}",
        ),
        // $arr[2] = &$arr[0]; $_SESSION['x'] = $arr; $_SESSION['z'] = &$_SESSION['x'][1];
        v(
            PHP,
            b"x|a:3:{i:0;i:1;i:1;i:2;i:2;R:2;}y|i:5;z|R:3;",
            b"a:3:{s:1:\"x\";a:3:{i:0;i:1;i:1;i:2;i:2;R:3;}s:1:\"y\";i:5;s:1:\"z\";R:4;}",
        ),
        // $_SESSION['s'] = &$_SESSION;
        v(
            PHP,
            b"s|a:1:{s:1:\"s\";R:1;}",
            b"a:1:{s:1:\"s\";a:1:{s:1:\"s\";R:2;}}",
        ),
        v(
            PHP,
            b"!a|i:1;z|i:2;",
            b"a:2:{s:2:\"!a\";i:1;s:1:\"z\";i:2;}",
        ),
        v(PHP, b"a!|i:1;", b"a:1:{s:2:\"a!\";i:1;}"),
        v(
            PHP,
            b"a\x00b|i:1;z|i:2;",
            b"a:2:{s:3:\"a\x00b\";i:1;s:1:\"z\";i:2;}",
        ),
        v(PHP, b"\xff\xfe|i:1;", b"a:1:{s:2:\"\xff\xfe\";i:1;}"),
        v(
            PHP,
            b"|i:1;z|i:2;",
            b"a:2:{s:0:\"\";i:1;s:1:\"z\";i:2;}",
        ),
        v(PHP, b"\x0aa|i:1;", b"a:1:{s:2:\"\x0aa\";i:1;}"),
        (
            PHP,
            cat(&[&n127(), b"|i:1;"]),
            cat(&[b"a:1:{s:127:\"", &n127(), b"\";i:1;}"]),
        ),
        v(
            BIN,
            b"\x03a|bi:1;\x01zi:2;",
            b"a:2:{s:3:\"a|b\";i:1;s:1:\"z\";i:2;}",
        ),
        v(BIN, b"\x02!ai:1;", b"a:1:{s:2:\"!a\";i:1;}"),
        v(BIN, b"\x03a\x00bi:1;", b"a:1:{s:3:\"a\x00b\";i:1;}"),
        v(BIN, b"\x00i:1;", b"a:1:{s:0:\"\";i:1;}"),
        (
            BIN,
            cat(&[b"\x7f", &n127(), b"i:1;"]),
            cat(&[b"a:1:{s:127:\"", &n127(), b"\";i:1;}"]),
        ),
    ]
}

#[test]
fn php_written_sessions_round_trip_and_match_serialize_of_session() {
    for (format, input, php_serialized) in round_trips() {
        let shown = String::from_utf8_lossy(&input).into_owned();
        let vars = decode(&input, format).unwrap_or_else(|e| panic!("{format} {shown:?}: {e}"));
        assert_eq!(
            String::from_utf8_lossy(&serialize(&Value::Array(vars.clone()))),
            String::from_utf8_lossy(&php_serialized),
            "{format} {shown:?}: decoded structure"
        );
        let encoded = encode(&vars, format).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&encoded),
            shown,
            "{format}: re-encoded"
        );
        assert_eq!(encoded, input, "{format} {shown:?}: bytes");
    }
}

#[test]
fn one_session_converts_between_formats() {
    let from_php = decode(ALL_TYPES_PHP, PHP).unwrap();
    let from_bin = decode(ALL_TYPES_BIN, BIN).unwrap();
    let from_ser = decode(ALL_TYPES_SER, SER).unwrap();
    // NAN != NAN, so compare bytes.
    for (f, want) in [
        (PHP, ALL_TYPES_PHP),
        (BIN, ALL_TYPES_BIN),
        (SER, ALL_TYPES_SER),
    ] {
        for vars in [&from_php, &from_bin, &from_ser] {
            assert_eq!(encode(vars, f).unwrap(), want, "{f}");
        }
    }
    // Reference numbers follow serialize($_SESSION) whatever the format.
    assert_eq!(from_php.get("r"), Some(&Value::ObjectRef(11)));
    assert_eq!(from_bin.get("r"), Some(&Value::ObjectRef(11)));
}

#[test]
fn numeric_names_decode_to_int_keys_and_write_back() {
    // PHP reads these names as string keys ('5'), which its serialize() shows as s:1:"5";
    // our Array normalises them like PHP's own unserialize() would.
    let input = b"5|i:1;b|i:2;-3|i:3;05|i:4;";
    let vars = decode(input, PHP).unwrap();
    assert_eq!(
        serialize(&Value::Array(vars.clone())),
        b"a:4:{i:5;i:1;s:1:\"b\";i:2;i:-3;i:3;s:2:\"05\";i:4;}"
    );
    assert_eq!(vars.get(5), Some(&Value::Int(1)));
    assert_eq!(encode(&vars, PHP).unwrap(), input);
    let vars = decode(b"\x015i:1;", BIN).unwrap();
    assert_eq!(vars.get(5), Some(&Value::Int(1)));
    assert_eq!(encode(&vars, BIN).unwrap(), b"\x015i:1;");
    // $_SESSION[5] built by hand: PHP would skip it with "Skipping numeric key 5"; we keep it.
    let mut vars = Array::new();
    vars.insert(5, Value::Int(1));
    vars.insert("z", Value::Int(2));
    assert_eq!(encode(&vars, PHP).unwrap(), b"5|i:1;z|i:2;");
    assert_eq!(encode(&vars, BIN).unwrap(), b"\x015i:1;\x01zi:2;");
    assert_eq!(encode(&vars, SER).unwrap(), b"a:2:{i:5;i:1;s:1:\"z\";i:2;}");
}

#[test]
fn accepted_like_php_but_normalised_on_encode() {
    let big = cat(&[b"\x80i:1;\xff", &[b'b'; 127], b"i:2;"]);
    let big_out = cat(&[b"\x00i:1;\x7f", &[b'b'; 127], b"i:2;"]);
    // (format, input, what PHP's session_encode() wrote after session_decode())
    let cases: Vec<(Format, &[u8], &[u8])> = vec![
        // php_binary's PHP 5 "undefined" bit is masked off; the value is still read.
        (BIN, b"\x81ai:1;", b"\x01ai:1;"),
        (BIN, &big, &big_out),
        // A repeated name keeps its first position and its last value.
        (PHP, b"a|i:1;b|i:2;a|i:3;", b"a|i:3;b|i:2;"),
        (BIN, b"\x01ai:1;\x01ai:2;", b"\x01ai:2;"),
        // php_serialize: N; is the empty session; "5" is the int key 5.
        (SER, b"N;", b"a:0:{}"),
        (SER, b"", b"a:0:{}"),
        (SER, b"a:1:{s:1:\"5\";i:1;}", b"a:1:{i:5;i:1;}"),
    ];
    for (format, input, want) in cases {
        let vars = decode(input, format).unwrap();
        assert_eq!(
            encode(&vars, format).unwrap(),
            want,
            "{format} {:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn malformed_sessions_fail_with_positioned_errors() {
    // PHP 8.2's session_decode() fails on every input here (and keeps nothing), except where
    // the comment says we are stricter.
    let cases: &[(Format, &[u8], &str)] = &[
        (
            PHP,
            b"a|i:1;b",
            "session variable name without '|' at byte 6",
        ),
        (
            PHP,
            b"a|i:1;\n",
            "session variable name without '|' at byte 6",
        ),
        (
            PHP,
            b"a|i:1;;",
            "session variable name without '|' at byte 6",
        ),
        (PHP, b"a", "session variable name without '|' at byte 0"),
        (
            PHP,
            b"a|i:1;b|",
            "unexpected end of input in value at byte 8",
        ),
        (
            PHP,
            b"a|i:1;|",
            "unexpected end of input in value at byte 7",
        ),
        (PHP, b"!a|", "unexpected end of input in value at byte 3"),
        (PHP, b"a|i:1;b|x", "unknown type tag 'x' at byte 8"),
        (PHP, b"a|i:1;b|X;c|i:3;", "unknown type tag 'X' at byte 8"),
        (
            PHP,
            b"a|i:1;b|i:2",
            "unexpected end of input in integer at byte 11",
        ),
        (PHP, b"a|b|i:1;", "expected ':' in bool at byte 3"),
        (
            PHP,
            b"a|R:1;",
            "reference 1 points at no usable value at byte 2",
        ),
        (
            PHP,
            b"a|i:1;b|R:2;",
            "reference 2 points at no usable value at byte 8",
        ),
        (
            PHP,
            b"a|i:1;b|r:1;",
            "reference 1 points at no usable value at byte 8",
        ),
        // Stricter: PHP accepts this (b becomes a reference to the second a).
        (
            PHP,
            b"a|i:1;a|i:2;b|R:2;",
            "repeated session variable name in a session with references at byte 6",
        ),
        (BIN, b"\x01a", "unexpected end of input in value at byte 2"),
        (BIN, b"\x00", "unexpected end of input in value at byte 1"),
        (
            BIN,
            b"\x01ai:1",
            "unexpected end of input in integer at byte 5",
        ),
        (BIN, b"\x01ai:1;\x01bX;", "unknown type tag 'X' at byte 8"),
        (
            BIN,
            b"\x01ai:1;\x05bi:2;",
            "unexpected end of input in value at byte 12",
        ),
        (
            BIN,
            b"\x01ai:1;\x01",
            "php_binary session variable name declares 1 but only 0 bytes remain at byte 6",
        ),
        (
            BIN,
            b"\x02abi:1;\x01",
            "php_binary session variable name declares 1 but only 0 bytes remain at byte 7",
        ),
        (
            BIN,
            b"\xffab",
            "php_binary session variable name declares 127 but only 2 bytes remain at byte 0",
        ),
        (
            BIN,
            b"\x01aR:1;",
            "reference 1 points at no usable value at byte 2",
        ),
        (
            SER,
            b"a:2:{s:1:\"a\";i:1;",
            "unexpected end of input in key at byte 17",
        ),
        (
            SER,
            b"a:1:{s:1:\"a\";X;}",
            "unknown type tag 'X' at byte 13",
        ),
        // Stricter: PHP ignores the trailing bytes (and drops them on the next write).
        (
            SER,
            b"a:1:{s:1:\"a\";i:1;}junk",
            "trailing bytes after the value at byte 18",
        ),
        // Stricter: PHP makes $_SESSION the scalar, then cannot write the session.
        (
            SER,
            b"i:1;",
            "php_serialize session is not an array at byte 0",
        ),
        (
            SER,
            b"O:8:\"stdClass\":1:{s:1:\"a\";i:1;}",
            "php_serialize session is not an array at byte 0",
        ),
    ];
    for (format, input, want) in cases {
        let got = decode(input, *format).map(|a| a.len());
        let err = got.expect_err(&format!("{format} {:?}", String::from_utf8_lossy(input)));
        assert_eq!(
            err.to_string(),
            *want,
            "{format} {:?}",
            String::from_utf8_lossy(input)
        );
        assert!(matches!(err, Error::Decode { .. }));
    }
}

#[test]
fn names_php_cannot_write_are_refused() {
    let mut bar = Array::new();
    bar.insert("ok", Value::Int(1));
    bar.insert("a|b", Value::Int(1));
    let mut long = Array::new();
    long.insert(vec![b'm'; 128].as_slice(), Value::Int(1));
    let mut self_ref = Array::new();
    self_ref.insert("s", Value::Ref(1));
    let mut obj_ref = Array::new();
    obj_ref.insert(
        "o",
        Value::Array([(Key::Int(0), Value::ObjectRef(0))].into_iter().collect()),
    );
    let cases: Vec<(Format, &Array, &str)> = vec![
        (
            PHP,
            &bar,
            "cannot encode: session variable name \"a|b\" contains '|', which the php format \
             cannot store (PHP would write an empty session)",
        ),
        (
            BIN,
            &long,
            "cannot encode: session variable name \"mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm\" \
             (128 bytes) is longer than php_binary's 127-byte limit (PHP would drop the variable)",
        ),
        (
            PHP,
            &self_ref,
            "cannot encode: session variable \"s\" holds R:1, a reference to the session array \
             itself (or to nothing), which only php_serialize can store",
        ),
        (
            BIN,
            &obj_ref,
            "cannot encode: session variable \"o\" holds r:0, a reference to the session array \
             itself (or to nothing), which only php_serialize can store",
        ),
    ];
    for (format, vars, want) in cases {
        let err = encode(vars, format).unwrap_err();
        assert!(matches!(err, Error::Encode(_)));
        assert_eq!(err.to_string(), want);
    }
    // The other formats store those names fine.
    assert_eq!(encode(&bar, BIN).unwrap(), b"\x02oki:1;\x03a|bi:1;");
    assert_eq!(encode(&self_ref, SER).unwrap(), b"a:1:{s:1:\"s\";R:1;}");
    let mut name = vec![b'n'; 127];
    assert!(encode(
        &[(Key::Str(name.clone().into()), Value::Null)]
            .into_iter()
            .collect(),
        BIN
    )
    .is_ok());
    name.push(b'n');
    assert!(encode(
        &[(Key::Str(name.into()), Value::Null)].into_iter().collect(),
        PHP
    )
    .is_ok());
}

#[test]
fn format_names_are_phps() {
    for (f, name) in [(PHP, "php"), (SER, "php_serialize"), (BIN, "php_binary")] {
        assert_eq!(f.to_string(), name);
        assert_eq!(name.parse::<Format>().unwrap(), f);
        assert_eq!(serde_json::to_string(&f).unwrap(), format!("\"{name}\""));
    }
    let err = "PHP".parse::<Format>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown session format \"PHP\": expected php, php_serialize or php_binary"
    );
    assert!("php ".parse::<Format>().is_err());
}

#[test]
fn detect_guesses_the_format() {
    let cases: &[(&[u8], Option<Format>)] = &[
        (b"", Some(PHP)),
        (ALL_TYPES_PHP, Some(PHP)),
        (ALL_TYPES_BIN, Some(BIN)),
        (ALL_TYPES_SER, Some(SER)),
        (b"a:0:{}", Some(SER)),
        (b"N;", Some(SER)),
        (b"\x00i:1;", Some(BIN)),
        (b"|i:1;", Some(PHP)),
        // Malformed: guessed from the first bytes, so decoding reports the real problem.
        (b"a:1:{s:1:\"a\";i:1;}junk", Some(SER)),
        (b"user|i:1;b", Some(PHP)),
        (b"\x04userX;", Some(BIN)),
        (b"hello", None),
        (b"x:1;", None),
    ];
    for (input, want) in cases {
        assert_eq!(detect(input), *want, "{:?}", String::from_utf8_lossy(input));
    }
}

#[test]
fn errors_are_offsets_into_the_whole_session() {
    // A bad value deep in the third variable: the offset counts from the buffer's start.
    let input = b"a|i:1;b|s:1:\"x\";c|a:1:{i:0;d:x;}";
    let err = decode(input, PHP).unwrap_err();
    assert_eq!(err.offset(), Some(29));
    assert_eq!(input[29], b'x');
}

#[test]
fn nesting_limit_applies_per_variable_like_php() {
    // PHP 8.2 accepts 4096 nested arrays in each of two php variables (the depth count restarts
    // with every variable) and in a php_serialize session, and refuses 4097.
    // The recursive decoder needs more than the 2 MB of a default test thread at this depth.
    let run = || {
        let nested = |n: usize| cat(&[&b"a:1:{i:0;".repeat(n), b"N;", &b"}".repeat(n)]);
        for (n, ok) in [(4096, true), (4097, false)] {
            let two_vars = cat(&[b"a|", &nested(n), b"b|", &nested(n)]);
            assert_eq!(decode(&two_vars, PHP).is_ok(), ok, "php {n}");
            assert_eq!(decode(&nested(n), SER).is_ok(), ok, "php_serialize {n}");
        }
        let err = decode(&cat(&[b"a|", &nested(4097)]), PHP).unwrap_err();
        assert_eq!(
            err.to_string(),
            "nesting deeper than 4096 levels at byte 36866"
        );
    };
    std::thread::Builder::new()
        .stack_size(32 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

/// Found by `cargo fuzz` (fuzz/regressions/): a `php` session with a repeated key inside a
/// variable and a reference in another decoded, but converting it to `php_serialize` gave bytes
/// that did not decode. The value decoder now refuses repeated keys together with references.
#[test]
fn fuzzed_repeated_key_with_reference_is_refused() {
    let input =
        include_bytes!("../../../../fuzz/regressions/session_decode-repeated-key-with-reference");
    let err = decode(input, Format::Php).unwrap_err().to_string();
    assert!(
        err.starts_with("repeated key in a value that also has r:/R: references"),
        "{err}"
    );
    for format in Format::ALL {
        if let Ok(vars) = decode(input, format) {
            let bytes = encode(&vars, format).unwrap();
            assert!(decode(&bytes, format).is_ok(), "{format} round trip");
        }
    }
}
