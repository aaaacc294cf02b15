//! `phpsess::session` against real PHP 8.2, in one PHP process (`tests/php/session_oracle.php`):
//!
//! - sessions PHP fills and writes in each format: we decode them to the structure PHP had
//!   (`serialize($_SESSION)`), re-encode them byte for byte, and encode PHP's structure to the
//!   bytes PHP wrote (or refuse where PHP silently loses data);
//! - sessions we encode, their every truncation, and hand-made edge and malformed sessions: PHP
//!   reads each with `session_start()` and writes it back; we must accept exactly what PHP
//!   accepts (except the documented stricter cases), decode the same structure, and write the
//!   same bytes back.

use phpsess::session::{decode, encode, Format};
use phpsess::{serialize, unserialize, Array, CustomObject, EnumCase, Error, Key, Object, Value};
use phpsess_compat::fixtures::escape_bytes;
use phpsess_compat::php::{php_script, run_php};

const FORMATS: [Format; 3] = [Format::Php, Format::PhpSerialize, Format::PhpBinary];

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("oracle prints hex"))
        .collect()
}

fn show(bytes: &[u8]) -> String {
    escape_bytes(bytes, 160)
}

/// PHP's `serialize($_SESSION)` with its keys normalised as our `Array` keeps them (PHP reads
/// the session name `5` as a string key, which its own `unserialize()` would make the int 5).
fn normalised(php_serialized: &[u8]) -> Vec<u8> {
    serialize(&unserialize(php_serialized).expect("PHP's serialize() output decodes"))
}

fn structure(vars: &Array) -> Vec<u8> {
    serialize(&Value::Array(vars.clone()))
}

/// What we expect of one session sent to PHP.
#[derive(Clone, Copy, PartialEq)]
enum Expect {
    /// Accept exactly when PHP accepts.
    Agree,
    /// PHP accepts it, we refuse on purpose (documented in `session/mod.rs`).
    Stricter,
}

fn s(name: &str) -> Key {
    Key::Str(name.into())
}

/// A session built in Rust with every value type, references numbered as in
/// `serialize($_SESSION)` (slot 1 is the session array; the slots are counted in the comments).
fn rust_built_session() -> Array {
    let point = Object {
        class: b"Point".to_vec(),
        properties: vec![
            (s("x"), Value::Int(5)),                 // 13
            (s("\0*\0y"), Value::from("protected")), // 14
            (s("\0Point\0z"), Value::Null),          // 15
        ],
    };
    let mut list = Array::new();
    list.push(Value::Int(1)); // 9
    list.push(Value::Array(
        [(Key::Int(0), Value::Int(2))].into_iter().collect(),
    )); // 10, 11
    let entries = vec![
        (s("n"), Value::Null),                        // 2
        (s("b"), Value::Bool(false)),                 // 3
        (s("i"), Value::Int(i64::MIN)),               // 4
        (s("f"), Value::Float(-0.0)),                 // 5
        (s("nan"), Value::Float(f64::NAN)),           // 6
        (s("s"), Value::string(&b"\0\xff|;\"}"[..])), // 7
        (s("list"), Value::Array(list)),              // 8
        (s("obj"), Value::Object(point)),             // 12
        (s("again"), Value::ObjectRef(12)),           // 16
        (
            s("enum"),
            Value::Enum(EnumCase {
                class: b"Suit".to_vec(),
                case: b"Spades".to_vec(),
            }),
        ), // 17
        (
            s("legacy"),
            Value::Custom(CustomObject {
                class: b"Legacy".to_vec(),
                data: b"xyz".to_vec(),
            }),
        ), // 18
        (s("target"), Value::Int(3)),                 // 19
        (s("ref"), Value::Ref(19)),                   // no slot
        (Key::Int(42), Value::from("forty-two")),     // 20
        (s("a\0b"), Value::Float(1.5)),               // 21
        (s(""), Value::Array(Array::new())),          // 22
        (Key::Str(b"\xff".into()), Value::Ref(21)),   // no slot
    ];
    entries.into_iter().collect()
}

fn numeric_names_session() -> Array {
    [
        (Key::Int(5), Value::from("five")),
        (s("05"), Value::Int(1)),
        (Key::Int(-3), Value::Int(2)),
        (s("-0"), Value::Int(3)),
    ]
    .into_iter()
    .collect()
}

fn corpus() -> Vec<(Format, Vec<u8>, Expect)> {
    use Expect::*;
    use Format::*;
    let mut out: Vec<(Format, Vec<u8>, Expect)> = Vec::new();
    for vars in [rust_built_session(), numeric_names_session(), Array::new()] {
        for format in FORMATS {
            let bytes = encode(&vars, format).expect("Rust-built sessions encode");
            // Every truncation, so PHP and we must agree on each way of ending early.
            for end in 0..bytes.len() {
                out.push((format, bytes[..end].to_vec(), Agree));
            }
            out.push((format, bytes, Agree));
        }
    }
    let n127 = "n".repeat(127);
    let edge: Vec<(Format, Vec<u8>, Expect)> = vec![
        (Php, b"!a|i:1;a!|i:2;".to_vec(), Agree),
        (Php, b"!a|".to_vec(), Agree),
        (Php, b"!a|b|i:1;".to_vec(), Agree),
        (Php, b"|i:1;\n|i:2;".to_vec(), Agree),
        (Php, b"a|i:1;b".to_vec(), Agree),
        (Php, b"a|i:1;\n".to_vec(), Agree),
        (Php, b"a|i:1;a|i:2;".to_vec(), Agree),
        (Php, b"a|i:1;b|R:1;a|i:2;".to_vec(), Stricter),
        (Php, b"a|i:1;a|i:2;b|R:2;".to_vec(), Stricter),
        (Php, b"a|i:1;a|i:2;b|R:1;".to_vec(), Stricter),
        (Php, b"a|R:1;".to_vec(), Agree),
        (Php, b"a|i:1;b|r:1;".to_vec(), Agree),
        (
            Php,
            b"o|O:3:\"Foo\":1:{s:1:\"x\";i:1;}p|r:1;".to_vec(),
            Agree,
        ),
        // An unknown class: PHP keeps exactly the properties given (a known class would gain its
        // defaults, which we cannot know).
        (
            Php,
            b"o|O:3:\"Foo\":1:{s:1:\"x\";a:1:{i:0;R:2;}}".to_vec(),
            Agree,
        ),
        (Php, format!("{n127}|i:1;").into_bytes(), Agree),
        (PhpBinary, b"\x81ai:1;".to_vec(), Agree),
        (PhpBinary, b"\x80i:1;\x01ai:2;".to_vec(), Agree),
        (PhpBinary, format!("\x7f{n127}i:1;").into_bytes(), Agree),
        (PhpBinary, b"\x01ai:1;\x01".to_vec(), Agree),
        (PhpBinary, b"\x01ai:1;\x05bi:2;".to_vec(), Agree),
        (PhpBinary, b"\x01ai:1;\x01ai:2;".to_vec(), Agree),
        (PhpBinary, b"\x01ai:1;\x01ai:2;\x01bR:2;".to_vec(), Stricter),
        (PhpBinary, b"\x00".to_vec(), Agree),
        (PhpBinary, b"\xff".to_vec(), Agree),
        (PhpSerialize, b"N;".to_vec(), Agree),
        (PhpSerialize, b"a:1:{s:1:\"5\";i:1;}".to_vec(), Agree),
        (
            PhpSerialize,
            b"a:2:{s:1:\"a\";i:1;s:1:\"a\";i:2;}".to_vec(),
            Agree,
        ),
        (PhpSerialize, b"a:1:{s:1:\"a\";i:1;}junk".to_vec(), Stricter),
        (PhpSerialize, b"a:0:{}\n".to_vec(), Stricter),
        (PhpSerialize, b"i:1;".to_vec(), Stricter),
        (PhpSerialize, b"b:0;".to_vec(), Stricter),
        (PhpSerialize, b"s:1:\"a\";".to_vec(), Stricter),
        (
            PhpSerialize,
            b"O:8:\"stdClass\":1:{s:1:\"a\";i:1;}".to_vec(),
            Stricter,
        ),
        (PhpSerialize, b"a:1:{s:1:\"a\";X;}".to_vec(), Agree),
    ];
    out.extend(edge);
    out
}

struct Run {
    gen: Vec<Vec<String>>,
    dec: Vec<Vec<String>>,
}

fn ask_php(requests: &[(Format, Vec<u8>, Expect)]) -> Run {
    let mut input = String::new();
    for (format, bytes, _) in requests {
        input.push_str(&format!("{format} {}\n", hex(bytes)));
    }
    let oracle = php_script("session_oracle.php");
    let stdout = run_php(
        &[
            "-d",
            "zend.assertions=1",
            "-d",
            "assert.exception=1",
            "-d",
            "display_errors=stderr",
            &oracle.to_string_lossy(),
        ],
        input.as_bytes(),
    );
    let stdout = String::from_utf8(stdout).expect("oracle prints ASCII");
    let mut run = Run {
        gen: Vec::new(),
        dec: Vec::new(),
    };
    for line in stdout.lines() {
        let fields: Vec<String> = line.split(' ').map(str::to_owned).collect();
        match fields[0].as_str() {
            "gen" => run.gen.push(fields),
            "dec" => run.dec.push(fields),
            other => panic!("unexpected oracle line {other:?}"),
        }
    }
    run
}

#[test]
fn sessions_agree_with_php() {
    let requests = corpus();
    let run = ask_php(&requests);
    let mut problems: Vec<String> = Vec::new();
    check_generated(&run.gen, &mut problems);
    assert_eq!(run.dec.len(), requests.len(), "one answer per request");
    check_read_back(&requests, &run.dec, &mut problems);
    assert!(
        problems.is_empty(),
        "{} disagreements with PHP:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The corpus must have exercised both outcomes and every format.
    let accepted = run.dec.iter().filter(|f| f[2] == "ok").count();
    assert!(
        accepted > 50 && accepted < requests.len() - 50,
        "{accepted}"
    );
    assert_eq!(
        run.gen.len(),
        14 * FORMATS.len(),
        "14 scenarios in each format"
    );
}

/// Sessions PHP filled and wrote.
fn check_generated(gen: &[Vec<String>], problems: &mut Vec<String>) {
    for fields in gen {
        let [_, format, scenario, written, ser, warn] = &fields[..] else {
            panic!("bad gen line {fields:?}");
        };
        let format: Format = format.parse().expect("oracle names formats like PHP");
        let (written, ser, warn) = (unhex(written), unhex(ser), unhex(warn));
        let warn = String::from_utf8_lossy(&warn);
        let ctx = format!("gen {format} {scenario}");
        let Value::Array(php_vars) = unserialize(&ser).expect("serialize($_SESSION) decodes")
        else {
            panic!("{ctx}: $_SESSION is not an array");
        };
        // 1. Encoding PHP's structure gives PHP's bytes, except where PHP silently loses data.
        let ours = encode(&php_vars, format);
        let lossy = match (format, scenario.as_str()) {
            (Format::Php, "bar_name") => {
                expect_encode_error(&ours, "\"a|b\" contains '|'", &ctx, problems);
                true
            }
            (Format::PhpBinary, "long_name") => {
                expect_encode_error(&ours, "127-byte limit", &ctx, problems);
                true
            }
            (Format::Php | Format::PhpBinary, "int_keys") => {
                // PHP: "Skipping numeric key 5"; we write the name 5, which PHP reads back (see
                // numeric_names_session in the read-back corpus).
                if !warn.contains("Skipping numeric key 5")
                    || !warn.contains("Skipping numeric key 6")
                {
                    problems.push(format!("{ctx}: PHP no longer warns: {warn:?}"));
                }
                let want: &[u8] = if format == Format::Php {
                    b"5|s:4:\"five\";6|s:3:\"six\";ok|i:1;"
                } else {
                    b"\x015s:4:\"five\";\x016s:3:\"six\";\x02oki:1;"
                };
                match &ours {
                    Ok(bytes) if bytes == want => {}
                    other => problems.push(format!("{ctx}: encoded {other:?}")),
                }
                true
            }
            _ => {
                match &ours {
                    Ok(bytes) if *bytes == written => {}
                    Ok(bytes) => problems.push(format!(
                        "{ctx}: we encode\n  {}\nPHP wrote\n  {}",
                        show(bytes),
                        show(&written)
                    )),
                    Err(e) => problems.push(format!("{ctx}: encode failed: {e}")),
                }
                if !warn.is_empty() {
                    problems.push(format!("{ctx}: unexpected PHP warning {warn:?}"));
                }
                false
            }
        };
        // 2. What PHP wrote decodes to what PHP had and re-encodes byte for byte.
        match decode(&written, format) {
            Err(e) => problems.push(format!("{ctx}: decode failed: {e} in {}", show(&written))),
            Ok(vars) => {
                if !lossy && structure(&vars) != normalised(&ser) {
                    problems.push(format!(
                        "{ctx}: decoded\n  {}\nPHP had\n  {}",
                        show(&structure(&vars)),
                        show(&ser)
                    ));
                }
                match encode(&vars, format) {
                    Ok(again) if again == written => {}
                    other => problems.push(format!(
                        "{ctx}: re-encoded {:?}, PHP wrote {}",
                        other.map(|b| show(&b)),
                        show(&written)
                    )),
                }
            }
        }
    }
}

fn expect_encode_error(
    got: &Result<Vec<u8>, Error>,
    needle: &str,
    ctx: &str,
    problems: &mut Vec<String>,
) {
    match got {
        Err(e @ Error::Encode(msg)) if msg.contains(needle) => {
            let _ = e;
        }
        other => problems.push(format!(
            "{ctx}: expected an encode error with {needle:?}, got {other:?}"
        )),
    }
}

/// Sessions PHP read with `session_start()` and wrote back.
fn check_read_back(
    requests: &[(Format, Vec<u8>, Expect)],
    dec: &[Vec<String>],
    problems: &mut Vec<String>,
) {
    for ((format, input, expect), fields) in requests.iter().zip(dec) {
        let [_, php_format, status, written, ser, _warn] = &fields[..] else {
            panic!("bad dec line {fields:?}");
        };
        assert_eq!(php_format, format.as_str());
        let ctx = format!("dec {format} {}", show(input));
        let ours = decode(input, *format);
        match (status.as_str(), &ours, expect) {
            ("ok", Ok(vars), Expect::Agree) => {
                let (written, ser) = (unhex(written), unhex(ser));
                if structure(vars) != normalised(&ser) {
                    problems.push(format!(
                        "{ctx}: decoded\n  {}\nPHP had\n  {}",
                        show(&structure(vars)),
                        show(&ser)
                    ));
                }
                match encode(vars, *format) {
                    Ok(bytes) if bytes == written => {}
                    other => problems.push(format!(
                        "{ctx}: we write back {:?}, PHP wrote {}",
                        other.map(|b| show(&b)),
                        show(&written)
                    )),
                }
            }
            ("ok", Err(e), Expect::Agree) => {
                problems.push(format!("{ctx}: PHP accepts it, we refuse: {e}"))
            }
            ("ok", Err(Error::Decode { offset, .. }), Expect::Stricter)
                if *offset <= input.len() => {}
            ("ok", other, Expect::Stricter) => problems.push(format!(
                "{ctx}: expected our documented refusal, got {other:?}"
            )),
            ("fail", Ok(_), _) => problems.push(format!("{ctx}: PHP refuses it, we accept it")),
            ("fail", Err(Error::Decode { offset, .. }), Expect::Agree)
                if *offset <= input.len() => {}
            ("fail", other, _) => {
                problems.push(format!("{ctx}: PHP refuses it; we answer {other:?}"))
            }
            (other, _, _) => panic!("bad status {other:?}"),
        }
    }
}
