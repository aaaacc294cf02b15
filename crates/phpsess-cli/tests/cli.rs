//! The `phpsess` binary end to end: decode/encode round trips of bytes real PHP wrote (the
//! committed fixtures), exact error lines and exit codes, stdin, and a reader that goes away
//! mid-output. Nothing here runs PHP: what needs it is in the compat suite
//! (`tests/tests/format/cli_sessions_php.rs`).

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

const BIN: &str = env!("CARGO_BIN_EXE_phpsess");

/// Run `phpsess args…` with `stdin` as its input.
fn phpsess(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn phpsess");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    // A separate writer so a large input cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let out = child.wait_with_output().expect("wait for phpsess");
    writer.join().unwrap();
    out
}

/// Run and expect success; return stdout.
fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = phpsess(args, stdin);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "phpsess {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Run and expect failure with exactly `code` and the one stderr line `line`, nothing on stdout.
fn fails(args: &[&str], stdin: &[u8], code: i32, line: &str) {
    let out = phpsess(args, stdin);
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!("{line}\n"),
        "phpsess {args:?}"
    );
    assert_eq!(out.status.code(), Some(code), "phpsess {args:?}");
    assert!(out.stdout.is_empty(), "phpsess {args:?} wrote to stdout");
}

fn fixture(name: &str) -> serde_json::Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (regenerate with `make fixtures`)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    BASE64.decode(v.as_str().unwrap()).unwrap()
}

/// `decode --lossless` then `encode` must give back the bytes, in each way of asking.
fn assert_round_trip(bytes: &[u8], decode_format: &str, what: &str) {
    let doc = ok(&["decode", "--format", decode_format, "--lossless"], bytes);
    let back = ok(&["encode"], &doc);
    assert!(
        back == bytes,
        "{what} (--format {decode_format}): {:?} came back as {:?} via {}",
        String::from_utf8_lossy(bytes),
        String::from_utf8_lossy(&back),
        String::from_utf8_lossy(&doc)
    );
}

#[test]
fn every_fixture_value_round_trips() {
    let values = fixture("values.json");
    let mut checked = 0;
    for entry in values["values"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        let bytes = b64(&entry["serialized_b64"]);
        assert_round_trip(&bytes, "value", name);
        assert_round_trip(&bytes, "auto", name);
        checked += 1;
    }
    assert!(checked >= 90, "only {checked} fixture values");
}

#[test]
fn every_session_php_wrote_round_trips() {
    let sessions = fixture("sessions.json");
    let mut checked = 0;
    for entry in sessions["sessions"].as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        for (format, written) in entry["formats"].as_object().unwrap() {
            // null: PHP could not write this session in this format (fixtures/README.md).
            if written["written_b64"].is_null() {
                continue;
            }
            let bytes = b64(&written["written_b64"]);
            assert_round_trip(&bytes, format, &format!("{name}/{format}"));
            assert_round_trip(&bytes, "auto", &format!("{name}/{format}"));
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} fixture sessions");
}

#[test]
fn decode_prints_friendly_json() {
    let bytes = b"a:4:{s:1:\"f\";d:1;s:1:\"l\";a:2:{i:0;d:0.1;i:1;d:1.0E+25;}s:1:\"u\";\
        O:4:\"User\":2:{s:4:\"name\";s:3:\"ann\";s:7:\"\0*\0role\";s:5:\"admin\";}s:1:\"b\";s:1:\"\xff\";}";
    assert_eq!(
        String::from_utf8(ok(&["decode", "--compact"], bytes)).unwrap(),
        "{\"f\":1,\"l\":[0.1,1.0e+25],\"u\":{\"$class\":\"User\",\"name\":\"ann\",\"role\":\"admin\"},\
         \"b\":{\"$base64\":\"/w==\"}}\n"
    );
    assert_eq!(
        String::from_utf8(ok(&["decode"], b"a:1:{i:0;a:0:{}}")).unwrap(),
        "[\n  []\n]\n"
    );
    // A session, detected and explicit.
    let session = b"user|s:3:\"ann\";n|i:2;";
    let want = "{\"user\":\"ann\",\"n\":2}\n";
    assert_eq!(
        String::from_utf8(ok(&["decode", "--compact"], session)).unwrap(),
        want
    );
    assert_eq!(
        String::from_utf8(ok(&["decode", "--compact", "--format", "php"], session)).unwrap(),
        want
    );
    assert_eq!(
        String::from_utf8(ok(&["decode", "--compact", "--lossless"], session)).unwrap(),
        "{\"$session\":\"php\",\"$vars\":{\"user\":\"ann\",\"n\":2}}\n"
    );
}

#[test]
fn reads_files_and_stdin() {
    let dir = std::env::temp_dir().join(format!("phpsess-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("value.ser");
    std::fs::write(&file, b"a:1:{s:1:\"a\";i:1;}").unwrap();
    let path = file.to_str().unwrap();
    let from_file = ok(&["decode", "--compact", path], b"");
    let from_stdin = ok(&["decode", "--compact", "-"], b"a:1:{s:1:\"a\";i:1;}");
    let implicit_stdin = ok(&["decode", "--compact"], b"a:1:{s:1:\"a\";i:1;}");
    assert_eq!(from_file, b"{\"a\":1}\n");
    assert_eq!(from_stdin, from_file);
    assert_eq!(implicit_stdin, from_file);
    let json = dir.join("value.json");
    std::fs::write(&json, b"{\"a\":{\"$float\":\"0.5\"}}").unwrap();
    assert_eq!(
        ok(&["encode", json.to_str().unwrap()], b""),
        b"a:1:{s:1:\"a\";d:0.5;}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn encode_converts_and_checks_the_target() {
    let doc = br#"{"a":1,"b":"x"}"#;
    assert_eq!(
        ok(&["encode"], doc),
        b"a:2:{s:1:\"a\";i:1;s:1:\"b\";s:1:\"x\";}"
    );
    assert_eq!(
        ok(&["encode", "--format", "php"], doc),
        b"a|i:1;b|s:1:\"x\";"
    );
    assert_eq!(
        ok(&["encode", "--format", "php_binary"], doc),
        b"\x01ai:1;\x01bs:1:\"x\";"
    );
    let session = br#"{"$session":"php_binary","$vars":{"a":1}}"#;
    assert_eq!(ok(&["encode"], session), b"\x01ai:1;");
    assert_eq!(
        ok(&["encode", "--format", "value"], session),
        b"a:1:{s:1:\"a\";i:1;}"
    );
}

#[test]
fn bad_input_gives_one_line_and_exit_code() {
    // (args, stdin, exit code, the one stderr line)
    let cases: &[(&[&str], &[u8], i32, &str)] = &[
        (
            &["decode", "--format", "value"],
            b"a:1:{s:1:\"a\";",
            1,
            "phpsess: serialized value: unexpected end of input in value at byte 13",
        ),
        (
            &["decode"],
            b"a:1:{s:1:\"a\";",
            1,
            "phpsess: serialized value: unexpected end of input in value at byte 13",
        ),
        (
            &["decode"],
            b"s:5:\"ab",
            1,
            "phpsess: serialized value: string declares 5 but only 2 bytes remain at byte 5",
        ),
        (
            &["decode", "--format", "value"],
            b"i:1;x",
            1,
            "phpsess: serialized value: trailing bytes after the value at byte 4",
        ),
        (
            &["decode"],
            b"a|i:1;b",
            1,
            "phpsess: php session (detected): session variable name without '|' at byte 6",
        ),
        (
            &["decode", "--format", "php"],
            b"a|x:1;",
            1,
            "phpsess: php session: unknown type tag 'x' at byte 2",
        ),
        (
            &["encode"],
            b"{\"a\": ",
            1,
            "phpsess: invalid JSON: EOF while parsing a value at line 1 column 6",
        ),
        (
            &["encode"],
            b"[1, {\"$float\": \"x\"}]",
            1,
            "phpsess: at $[1].$float: invalid float \"x\"",
        ),
        (
            &["encode"],
            b"{\"$session\": \"php\", \"$vars\": {\"a|b\": 1}}",
            1,
            "phpsess: php session: cannot encode: session variable name \"a|b\" contains '|', which the php format cannot store (PHP would write an empty session)",
        ),
        (
            &["encode", "--format", "php"],
            b"5",
            2,
            "phpsess: --format php needs session variables (an array or a {\"$session\": …} document), found int",
        ),
        (
            &["decode", "--format", "json"],
            b"",
            2,
            "phpsess: invalid value 'json' for '--format <FORMAT>' [possible values: auto, value, php, php_serialize, php_binary] (see phpsess --help)",
        ),
        (
            &["decode", "--bogus"],
            b"",
            2,
            "phpsess: unexpected argument '--bogus' found (see phpsess --help)",
        ),
        (
            &["decode", "/nonexistent/phpsess-input"],
            b"",
            1,
            "phpsess: cannot read /nonexistent/phpsess-input: No such file or directory (os error 2)",
        ),
    ];
    for (args, stdin, code, line) in cases {
        fails(args, stdin, *code, line);
    }
}

#[test]
fn deep_nesting_round_trips_without_overflow() {
    // 4096 levels is what unserialize() accepts; objects take three JSON levels each.
    let levels = phpsess::MAX_DEPTH;
    let mut bytes = Vec::new();
    for _ in 0..levels {
        bytes.extend_from_slice(b"O:1:\"A\":1:{s:1:\"a\";");
    }
    bytes.extend_from_slice(b"N;");
    bytes.extend(std::iter::repeat_n(b'}', levels));
    assert_round_trip(&bytes, "value", "4096 nested objects");
    // Indenting 4096 levels would print ~400 MB of spaces: deep documents come out on one line.
    let friendly = ok(&["decode"], &bytes);
    assert!(friendly.starts_with(b"{\"$class\":\"A\",\"a\":{\"$class\":\"A\""));
    assert_eq!(friendly.iter().filter(|&&b| b == b'\n').count(), 1);
    // A JSON bomb is refused before parsing, not by running out of stack.
    let bomb = "[".repeat(1_000_000);
    fails(
        &["encode"],
        bomb.as_bytes(),
        1,
        "phpsess: invalid JSON: nested deeper than 12290 levels at byte 12290",
    );
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    // About 3 MB of JSON, far more than a pipe buffer holds.
    let mut bytes = b"a:100000:{".to_vec();
    for i in 0..100_000 {
        bytes.extend_from_slice(format!("i:{i};s:20:\"abcdefghijabcdefghij\";").as_bytes());
    }
    bytes.push(b'}');
    let mut child = Command::new(BIN)
        .args(["decode", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let mut head = [0u8; 10];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // stdout is dropped here: the next write gets EPIPE.
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(&head, b"[\n  \"abcde");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn save_path_prints_the_parsed_configuration() {
    let out = ok(
        &[
            "save-path",
            "--compact",
            "tcp://10.0.0.1:6379?weight=2&prefix=app_",
        ],
        b"",
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let host = &doc["hosts"][0];
    assert_eq!(doc["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(
        host["address"],
        serde_json::json!({"type": "tcp", "host": "10.0.0.1", "port": 6379})
    );
    assert_eq!(host["weight"], 2);
    assert_eq!(host["prefix"], "app_");
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1, "--compact");

    let out = ok(
        &[
            "save-path",
            "--cluster",
            "seed[]=10.0.0.1:7000&seed[]=10.0.0.2:7000&failover=error",
        ],
        b"",
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(doc["seeds"].as_array().unwrap().len(), 2);
    assert_eq!(doc["seeds"][1]["host"], "10.0.0.2");
    assert_eq!(doc["failover"], "error");
    assert!(out.starts_with(b"{\n  \"seeds\": ["), "indented by default");

    // phpsess's own Sentinel form, which the store accepts, is printed too.
    let out = ok(
        &[
            "save-path",
            "--compact",
            "sentinel://10.0.0.1:26379,[::1]:26380/mymaster?auth=pw&database=2&wait_replicas=0",
        ],
        b"",
    );
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        doc["sentinels"],
        serde_json::json!([["10.0.0.1", 26379], ["::1", 26380]])
    );
    assert_eq!(doc["master_name"], "mymaster");
    assert_eq!(doc["database"], 2);
    assert_eq!(doc["wait_replicas"], 0);
    assert!(
        !String::from_utf8_lossy(&out).contains("\"pw\""),
        "the password is not printed: {}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn bad_save_paths_exit_1_with_the_parser_error() {
    fails(
        &["save-path", "host:6379?weight=2"],
        b"",
        1,
        "phpsess: invalid save_path entry host:6379?weight=2 at offset 0: 'host:6379' needs the \
         tcp:// scheme when parameters follow: phpredis reads 'host' as a URL scheme here; write \
         tcp://host:6379?...",
    );
    fails(
        &["save-path", "--cluster", "timeout=2"],
        b"",
        1,
        "phpsess: invalid save_path entry timeout=2 at offset 0: no seeds: give the cluster's nodes \
         as seed[]=host:port&seed[]=host:port",
    );
    fails(
        &["save-path", "sentinel://10.0.0.1:26379"],
        b"",
        1,
        "phpsess: invalid save_path entry sentinel://10.0.0.1:26379 at offset 0: expected '/MASTER_NAME' \
         after the sentinel addresses",
    );
    fails(
        &["save-path"],
        b"",
        2,
        "phpsess: the following required arguments were not provided: <STRING> (see phpsess --help)",
    );
}
