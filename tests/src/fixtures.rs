//! The golden fixtures in `fixtures/` (made by `fixtures/generate.php` from real PHP 8.2), loaded
//! into plain structs with the base64 fields decoded.

use std::path::PathBuf;

use base64::Engine as _;
use serde::Deserialize;

/// The workspace root (the directory holding `fixtures/` and `tests/`).
pub fn workspace_root() -> PathBuf {
    // CARGO_MANIFEST_DIR is `<root>/tests` for this crate.
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("tests/ has no parent directory"))
}

/// `<root>/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    workspace_root().join("fixtures")
}

/// Decode standard base64, panicking with `what` on malformed fixture data.
pub fn b64(text: &str, what: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("{what}: bad base64: {e}"))
}

/// Encode bytes as standard base64.
pub fn to_b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn read_json<T: for<'de> Deserialize<'de>>(file: &str) -> T {
    let path = fixtures_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e} (run `make fixtures`)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One value from `fixtures/values.json`.
#[derive(Debug, Clone)]
pub struct ValueFixture {
    /// Unique name, e.g. `float_0_1`.
    pub name: String,
    /// The PHP expression (or a description of the code) that built the value.
    pub php: String,
    /// PHP's `get_debug_type()` of the value.
    pub php_type: String,
    /// PHP's `serialize()` of the value.
    pub serialized: Vec<u8>,
    /// PHP's `json_encode($v, JSON_PRESERVE_ZERO_FRACTION)`, or `None` where it fails
    /// (INF/NAN, invalid UTF-8, recursion, pure enums).
    pub json: Option<String>,
    /// For floats: the IEEE 754 bits PHP holds (`bin2hex(pack('E', $f))`).
    pub f64_bits: Option<u64>,
}

#[derive(Deserialize)]
struct ValuesFile {
    php_version: String,
    values: Vec<RawValue>,
}

#[derive(Deserialize)]
struct RawValue {
    name: String,
    php: String,
    #[serde(rename = "type")]
    php_type: String,
    serialized: Option<String>,
    serialized_b64: String,
    json: Option<String>,
    f64_bits: Option<String>,
}

/// Every value fixture, in file order, and the PHP version that made them.
pub fn value_fixtures() -> (String, Vec<ValueFixture>) {
    let file: ValuesFile = read_json("values.json");
    let values = file
        .values
        .into_iter()
        .map(|raw| {
            let serialized = b64(&raw.serialized_b64, &raw.name);
            // The readable copy must say the same thing as the base64 (it is there for humans).
            if let Some(text) = &raw.serialized {
                assert_eq!(
                    text.as_bytes(),
                    &serialized[..],
                    "{}: serialized text",
                    raw.name
                );
            }
            let f64_bits = raw.f64_bits.map(|hex| {
                u64::from_str_radix(&hex, 16)
                    .unwrap_or_else(|e| panic!("{}: bad f64_bits {hex}: {e}", raw.name))
            });
            ValueFixture {
                name: raw.name,
                php: raw.php,
                php_type: raw.php_type,
                serialized,
                json: raw.json,
                f64_bits,
            }
        })
        .collect();
    (file.php_version, values)
}

/// One session of `fixtures/sessions.json`: the same `$_SESSION` written in every format.
#[derive(Debug, Clone)]
pub struct SessionFixture {
    /// Unique name, e.g. `refs_between_vars`.
    pub name: String,
    /// What the session holds, for humans.
    pub description: String,
    /// `serialize($_SESSION)` right after filling it.
    pub vars_serialized: Vec<u8>,
    /// Per format (`php`, `php_serialize`, `php_binary`), in that order.
    pub formats: Vec<(String, SessionFormatFixture)>,
}

/// One session written in one format, and read back.
#[derive(Debug, Clone)]
pub struct SessionFormatFixture {
    /// `session_encode()`'s result; `None` where it returned false.
    pub encoded: Option<Vec<u8>>,
    /// Warnings `session_encode()` raised.
    pub encode_warnings: Vec<String>,
    /// What the save handler's `write()` received at `session_write_close()`.
    pub written: Option<Vec<u8>>,
    /// Warnings raised while writing.
    pub write_warnings: Vec<String>,
    /// Whether `session_start()` could decode `written` again.
    pub read_ok: Option<bool>,
    /// `serialize($_SESSION)` after reading `written` back.
    pub read_serialized: Option<Vec<u8>>,
    /// Warnings raised while reading back.
    pub read_warnings: Vec<String>,
}

/// A hand-written stored session and what PHP's session module read from it.
#[derive(Debug, Clone)]
pub struct StoredSessionFixture {
    /// Unique name, e.g. `php_bang_name`.
    pub name: String,
    /// `php`, `php_serialize` or `php_binary`.
    pub format: String,
    /// The stored bytes handed to PHP.
    pub stored: Vec<u8>,
    /// Whether `session_start()` succeeded.
    pub read_ok: bool,
    /// `serialize($_SESSION)` afterwards, when it succeeded.
    pub read_serialized: Option<Vec<u8>>,
    /// Warnings PHP raised.
    pub read_warnings: Vec<String>,
}

#[derive(Deserialize)]
struct SessionsFile {
    sessions: Vec<RawSession>,
    stored_sessions: Vec<RawStored>,
}

#[derive(Deserialize)]
struct RawSession {
    name: String,
    description: String,
    vars_serialized_b64: String,
    formats: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawFormat {
    encoded_b64: Option<String>,
    encode_warnings: Vec<String>,
    written_b64: Option<String>,
    write_warnings: Vec<String>,
    read_ok: Option<bool>,
    read_serialized_b64: Option<String>,
    read_warnings: Vec<String>,
}

#[derive(Deserialize)]
struct RawStored {
    name: String,
    format: String,
    stored_b64: String,
    read_ok: bool,
    read_serialized_b64: Option<String>,
    read_warnings: Vec<String>,
}

/// Every session fixture and every stored-session fixture, in file order.
pub fn session_fixtures() -> (Vec<SessionFixture>, Vec<StoredSessionFixture>) {
    let file: SessionsFile = read_json("sessions.json");
    let opt = |s: &Option<String>, what: &str| s.as_deref().map(|s| b64(s, what));
    let sessions = file
        .sessions
        .into_iter()
        .map(|raw| {
            let formats = raw
                .formats
                .into_iter()
                .map(|(format, v)| {
                    let what = format!("{}/{format}", raw.name);
                    let f: RawFormat = serde_json::from_value(v)
                        .unwrap_or_else(|e| panic!("sessions.json {what}: {e}"));
                    let fixture = SessionFormatFixture {
                        encoded: opt(&f.encoded_b64, &what),
                        encode_warnings: f.encode_warnings,
                        written: opt(&f.written_b64, &what),
                        write_warnings: f.write_warnings,
                        read_ok: f.read_ok,
                        read_serialized: opt(&f.read_serialized_b64, &what),
                        read_warnings: f.read_warnings,
                    };
                    (format, fixture)
                })
                .collect();
            SessionFixture {
                vars_serialized: b64(&raw.vars_serialized_b64, &raw.name),
                name: raw.name,
                description: raw.description,
                formats,
            }
        })
        .collect();
    let stored = file
        .stored_sessions
        .into_iter()
        .map(|raw| StoredSessionFixture {
            stored: b64(&raw.stored_b64, &raw.name),
            read_serialized: opt(&raw.read_serialized_b64, &raw.name),
            name: raw.name,
            format: raw.format,
            read_ok: raw.read_ok,
            read_warnings: raw.read_warnings,
        })
        .collect();
    (sessions, stored)
}

/// Bytes as a Rust-ish escaped string for failure messages: printable ASCII kept, `\0`, `\n`,
/// `\xNN` otherwise; inputs longer than `max` bytes are cut with a note of the full length.
pub fn escape_bytes(bytes: &[u8], max: usize) -> String {
    let mut s = String::from("\"");
    for &b in bytes.iter().take(max) {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0 => s.push_str("\\0"),
            b'\n' => s.push_str("\\n"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    if bytes.len() > max {
        s.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    s
}
