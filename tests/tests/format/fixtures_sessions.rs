//! Golden session fixtures (`fixtures/sessions.json`, made by real PHP 8.2's session module):
//! every session PHP wrote, in `php`, `php_serialize` and `php_binary`, decodes to the variables
//! PHP reads back and re-encodes to the same bytes; our encoder writes what PHP writes, except
//! where PHP silently loses data (listed, with what we do instead); hand-written stored sessions
//! are accepted and refused as PHP's `session_start()` accepts and refuses them.

use phpsess::session::{decode, encode, Format};
use phpsess::{serialize, unserialize, Error, Value};
use phpsess_compat::fixtures::{escape_bytes, session_fixtures};

fn format(name: &str) -> Format {
    name.parse()
        .unwrap_or_else(|e| panic!("fixture format {name:?}: {e}"))
}

fn show(bytes: &[u8]) -> String {
    escape_bytes(bytes, 400)
}

#[test]
fn every_session_php_wrote_decodes_to_what_php_reads_and_round_trips() {
    let (sessions, _) = session_fixtures();
    assert!(sessions.len() >= 10, "only {} sessions", sessions.len());
    let mut checked = 0;
    for s in &sessions {
        assert_eq!(
            s.formats
                .iter()
                .map(|(f, _)| f.as_str())
                .collect::<Vec<_>>(),
            ["php", "php_serialize", "php_binary"],
            "{}",
            s.name
        );
        for (name, f) in &s.formats {
            let what = format!("{}/{name}", s.name);
            let written = f.written.as_deref().expect(&what);
            // PHP read back everything it wrote.
            assert_eq!(f.read_ok, Some(true), "{what}");
            let vars = decode(written, format(name))
                .unwrap_or_else(|e| panic!("{what}: {e}\n  stored: {}", show(written)));
            let php_read = f.read_serialized.as_deref().expect(&what);
            let ours = serialize(&Value::Array(vars.clone()));
            assert_eq!(show(&ours), show(php_read), "{what}: decoded structure");
            let again = encode(&vars, format(name)).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(show(&again), show(written), "{what}: re-encoded");
            checked += 1;
        }
    }
    assert_eq!(checked, sessions.len() * 3);
}

/// What our encoder does, per (session, format), where PHP's own writer loses data.
enum Expect {
    /// The same bytes PHP wrote.
    SameAsPhp,
    /// PHP warned "Skipping numeric key" and dropped int keys; we write them as decimal names.
    Bytes(&'static [u8]),
    /// PHP wrote an empty session (`|` in a `php` name) or dropped a variable silently (a
    /// `php_binary` name over 127 bytes); we refuse, naming the variable.
    Refused(&'static str),
}

fn expected(session: &str, format: &str) -> Expect {
    match (session, format) {
        ("name_with_pipe", "php") => Expect::Refused("\"p|q\""),
        ("long_names", "php_binary") => Expect::Refused("(128 bytes)"),
        ("numeric_names", "php") => {
            Expect::Bytes(b"7|s:3:\"int\";x|i:1;8|s:14:\"numeric string\";")
        }
        ("numeric_names", "php_binary") => {
            Expect::Bytes(b"\x017s:3:\"int\";\x01xi:1;\x018s:14:\"numeric string\";")
        }
        ("unusual_names", "php") => Expect::Bytes(
            b"n\0!|i:1;|i:2;\xff\xfe|i:3;a;b:c{}\"|i:4;!x|i:5;with space|i:6;\
              \xd0\xba\xd0\xbb\xd1\x8e\xd1\x87|i:7;\x7f|i:8;-5|i:9;05|i:10;",
        ),
        ("unusual_names", "php_binary") => Expect::Bytes(
            b"\x03n\0!i:1;\0i:2;\x02\xff\xfei:3;\x08a;b:c{}\"i:4;\x02!xi:5;\x0awith spacei:6;\
              \x08\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87i:7;\x01\x7fi:8;\x02-5i:9;\x0205i:10;",
        ),
        _ => Expect::SameAsPhp,
    }
}

/// The warnings PHP's writer raised, per (session, format); none elsewhere.
fn php_warnings(session: &str, format: &str) -> Vec<&'static str> {
    match (session, format) {
        ("numeric_names", "php" | "php_binary") => vec![
            "session_encode(): Skipping numeric key 7",
            "session_encode(): Skipping numeric key 8",
        ],
        ("unusual_names", "php" | "php_binary") => {
            vec!["session_encode(): Skipping numeric key -5"]
        }
        _ => vec![],
    }
}

#[test]
fn encoding_session_variables_writes_what_php_writes_unless_php_loses_data() {
    let (sessions, _) = session_fixtures();
    for s in &sessions {
        let Value::Array(vars) = unserialize(&s.vars_serialized).expect(&s.name) else {
            panic!("{}: $_SESSION is not an array", s.name)
        };
        for (name, f) in &s.formats {
            let what = format!("{}/{name}", s.name);
            let written = f.written.as_deref().expect(&what);
            // session_encode() and the save handler's write() agree, except where
            // session_encode() returns false (a `|` in a php name, and an empty session in php
            // and php_binary), which the handler gets as an empty session.
            match (&f.encoded, what.as_str()) {
                (None, "name_with_pipe/php" | "empty/php" | "empty/php_binary") => {
                    assert_eq!(written, b"", "{what}")
                }
                (encoded, _) => assert_eq!(encoded.as_deref(), Some(written), "{what}"),
            }
            assert_eq!(f.encode_warnings, php_warnings(&s.name, name), "{what}");
            let ours = encode(&vars, format(name));
            match (expected(&s.name, name), ours) {
                (Expect::SameAsPhp, Ok(ours)) => {
                    assert_eq!(show(&ours), show(written), "{what}")
                }
                (Expect::Bytes(want), Ok(ours)) => {
                    assert_ne!(want, written, "{what}: PHP no longer loses data here");
                    assert_eq!(show(&ours), show(want), "{what}");
                }
                (Expect::Refused(name_shown), Err(Error::Encode(msg))) => {
                    assert!(msg.contains(name_shown), "{what}: {msg}")
                }
                (_, other) => panic!("{what}: unexpected {other:?}"),
            }
        }
    }
}

/// How we differ from PHP on a hand-written stored session, where we do.
enum Stored {
    /// Same verdict, same variables (and, when accepted, re-encoding gives `reencoded`).
    LikePhp { reencoded: Option<&'static [u8]> },
    /// PHP accepts; we refuse on purpose (see `crates/phpsess/src/session/mod.rs`).
    Refused,
    /// PHP keeps the name `5` as a string key; our arrays normalise it to the int key 5.
    NumericName(&'static [u8]),
}

fn stored_expectation(name: &str) -> Stored {
    match name {
        // Canonical rewrites: what PHP would write back for the same variables.
        "php_serialize_empty" | "php_serialize_null" => Stored::LikePhp {
            reencoded: Some(b"a:0:{}"),
        },
        "php_repeated_name" => Stored::LikePhp {
            reencoded: Some(b"a|i:2;"),
        },
        "php_binary_high_bit_length" => Stored::LikePhp {
            reencoded: Some(b"\x01ai:1;"),
        },
        "php_serialize_scalar" | "php_serialize_trailing" | "php_repeated_name_with_ref" => {
            Stored::Refused
        }
        "php_numeric_name" => Stored::NumericName(b"a:1:{i:5;i:1;}"),
        _ => Stored::LikePhp { reencoded: None },
    }
}

#[test]
fn stored_sessions_are_read_as_php_reads_them() {
    let (_, stored) = session_fixtures();
    assert!(stored.len() >= 30, "only {} stored sessions", stored.len());
    for s in &stored {
        let what = format!("{} ({}: {})", s.name, s.format, show(&s.stored));
        let fmt = format(&s.format);
        let ours = decode(&s.stored, fmt);
        if !s.read_ok {
            assert_eq!(
                s.read_warnings,
                ["session_start(): Failed to decode session object. Session has been destroyed"],
                "{what}"
            );
            assert!(ours.is_err(), "{what}: PHP refuses, we decoded {ours:?}");
            continue;
        }
        let php = s.read_serialized.as_deref().expect(&what);
        match (stored_expectation(&s.name), ours) {
            (Stored::LikePhp { reencoded }, Ok(vars)) => {
                let ours = serialize(&Value::Array(vars.clone()));
                assert_eq!(show(&ours), show(php), "{what}");
                let again = encode(&vars, fmt).unwrap_or_else(|e| panic!("{what}: {e}"));
                assert_eq!(show(&again), show(reencoded.unwrap_or(&s.stored)), "{what}");
            }
            (Stored::Refused, Err(Error::Decode { .. })) => {}
            (Stored::NumericName(want), Ok(vars)) => {
                assert_eq!(show(&serialize(&Value::Array(vars))), show(want), "{what}");
                assert_ne!(want, php, "{what}: PHP now normalises too");
            }
            (_, other) => panic!("{what}: unexpected {other:?}\n  php read: {}", show(php)),
        }
    }
}
