//! A Laravel session as stored: the cache layer's PHP string wrapping (`s:N:"...";`), optional
//! encryption (`session.encrypt`), and the attributes serialized with `php` (`serialize()`) or
//! `json` (`json_encode()`); and [`LaravelSession`], the attributes with helpers for what apps
//! need (user id per guard, CSRF token, previous URL, flash data).
//!
//! | config | Redis value |
//! |---|---|
//! | plain, php | `s:N:"a:K:{...}";` |
//! | plain, json | `s:N:"{...}";` |
//! | encrypted | `s:N:"<Encrypter payload>";`, whose plaintext is `s:M:"a:K:{...}";` or `s:M:"{...}";` |
//!
//! Reading detects the layers from the bytes, so the caller need not know `session.encrypt` or
//! `session.serialization`; writing uses what was read ([`LaravelSession::encoding`]).

use std::borrow::Cow;
use std::fmt;

use sha1::{Digest, Sha1};

use super::encrypter::{hex, Encrypter};
use super::error::LaravelError;
use super::json_mode;
use crate::error::{Error, Result};
use crate::session::{Format, VariableSize};
use crate::value::{Array, Key, Value};

/// FQCN of Laravel's stock session guard; `SessionGuard::getName()` hashes it.
pub const SESSION_GUARD_CLASS: &str = "Illuminate\\Auth\\SessionGuard";

/// `session.serialization`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Serialization {
    /// `serialize()` (the framework default in every version).
    #[default]
    Php,
    /// `json_encode()` (9.0+; the 13.x skeleton's default).
    Json,
}

impl Serialization {
    /// `php` or `json`, as in `config/session.php`.
    pub fn name(self) -> &'static str {
        match self {
            Serialization::Php => "php",
            Serialization::Json => "json",
        }
    }
}

impl fmt::Display for Serialization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Serialization {
    type Err = LaravelError;

    fn from_str(s: &str) -> Result<Self, LaravelError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "php" => Ok(Serialization::Php),
            "json" => Ok(Serialization::Json),
            _ => Err(LaravelError::Unsupported {
                what: format!("session serialization {s:?}: use php or json"),
            }),
        }
    }
}

/// How a session's payload is written: encrypted or not, php or json.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Encoding {
    /// `session.encrypt`.
    pub encrypted: bool,
    /// `session.serialization`.
    pub serialization: Serialization,
}

/// A user id as `SessionGuard` stores it: `getAuthIdentifier()`, an int for auto-increment keys,
/// a string for UUID/ULID keys.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UserId {
    /// An integer id (`i:42;`, JSON `42`).
    Int(i64),
    /// A string id (`s:36:"...";`, JSON `"..."`).
    Str(String),
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserId::Int(i) => write!(f, "{i}"),
            UserId::Str(s) => f.write_str(s),
        }
    }
}

impl UserId {
    /// A user id typed on a command line or taken from a URL: an integer when the text is one as
    /// PHP would print it (`42`, `-1`; not `042` or `+4`), else a string.
    pub fn parse(text: &str) -> UserId {
        match text.parse::<i64>() {
            Ok(i) if i.to_string() == text => UserId::Int(i),
            _ => UserId::Str(text.to_owned()),
        }
    }

    /// Whether `self` and `other` name the same user as Laravel sees it: equal as text, so
    /// `Int(42)` and `Str("42")` match. A session can hold either form for the same user (an app
    /// that casts its key, or a provider returning the id as a string); the user provider looks
    /// both up the same way (`where id = ?`), so both are that user's sessions.
    pub fn same_user(&self, other: &UserId) -> bool {
        match (self, other) {
            (UserId::Int(a), UserId::Int(b)) => a == b,
            (UserId::Str(a), UserId::Str(b)) => a == b,
            (UserId::Int(i), UserId::Str(s)) | (UserId::Str(s), UserId::Int(i)) => {
                *s == i.to_string()
            }
        }
    }
}

impl From<UserId> for Value {
    fn from(id: UserId) -> Value {
        match id {
            UserId::Int(i) => Value::Int(i),
            UserId::Str(s) => Value::String(s.into()),
        }
    }
}

/// The session key holding the user id of `guard` with the stock `SessionGuard`:
/// `login_<guard>_<sha1("Illuminate\Auth\SessionGuard")>` (`login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d`).
pub fn login_key(guard: &str) -> String {
    // The class hash is the same for every guard: hashed once per process, not per lookup (a
    // service asking every request for its user does this on each one).
    static CLASS_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = CLASS_HASH.get_or_init(|| hex(&Sha1::digest(SESSION_GUARD_CLASS.as_bytes())));
    format!("login_{guard}_{hash}")
}

/// [`login_key`]`("web")`, built once: the key a service looks up on every request.
pub(crate) fn web_login_key() -> &'static str {
    static WEB: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    WEB.get_or_init(|| login_key("web"))
}

/// The same for a guard class of your own (`SessionGuard::getName()` hashes `static::class`).
pub fn login_key_for(guard: &str, guard_class: &str) -> String {
    format!(
        "login_{guard}_{}",
        hex(&Sha1::digest(guard_class.as_bytes()))
    )
}

/// The attributes of one Laravel session and how they were (or will be) stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LaravelSession {
    attributes: Array,
    encoding: Encoding,
}

impl LaravelSession {
    /// An empty session to be stored with `encoding`.
    pub fn new(encoding: Encoding) -> LaravelSession {
        LaravelSession {
            attributes: Array::new(),
            encoding,
        }
    }

    /// Attributes decoded elsewhere in the crate (the lazy session), with their encoding.
    #[cfg(feature = "axum")]
    pub(crate) fn from_parts(attributes: Array, encoding: Encoding) -> LaravelSession {
        LaravelSession {
            attributes,
            encoding,
        }
    }

    /// Decode a Redis value as `RedisStore` wrote it (`s:N:"...";` around the session payload).
    /// `encrypter` is needed only for encrypted sessions; without one they fail with
    /// [`LaravelError::Unsupported`].
    pub fn from_cache_value(
        stored: &[u8],
        encrypter: Option<&Encrypter>,
    ) -> Result<LaravelSession> {
        let payload = unwrap_php_string(stored, "cache value")?;
        LaravelSession::from_payload(&payload, encrypter)
    }

    /// Decode a session payload without the cache layer (`Store::save()`'s output: what the
    /// `database` driver keeps base64-encoded and the `file` driver keeps as is).
    pub fn from_payload(payload: &[u8], encrypter: Option<&Encrypter>) -> Result<LaravelSession> {
        let (plain, encoding) = plaintext(payload, encrypter)?;
        Ok(LaravelSession {
            attributes: decode_attributes(&plain, encoding.serialization)?,
            encoding,
        })
    }

    /// The size of each top-level attribute of a Redis value as `RedisStore` wrote it, in stored
    /// order, measured in the serialized attributes (after decryption): for `php` the
    /// serialized key and value as they are in the payload (the decoder's own offsets,
    /// [`crate::session::variable_sizes`]); for `json` the attribute's `"key":value` as
    /// Laravel's `json_encode()` writes it. What makes a session large, whatever its envelope.
    pub fn attribute_sizes(
        stored: &[u8],
        encrypter: Option<&Encrypter>,
    ) -> Result<(Encoding, Vec<VariableSize>)> {
        let payload = unwrap_php_string(stored, "cache value")?;
        let (plain, encoding) = plaintext(&payload, encrypter)?;
        let sizes = match encoding.serialization {
            Serialization::Php => crate::session::variable_sizes(&plain, Format::PhpSerialize)
                .map_err(|e| LaravelError::BadPayload {
                    what: "php session",
                    detail: e.to_string(),
                })?,
            Serialization::Json => {
                let attributes = decode_attributes(&plain, Serialization::Json)?;
                let mut sizes = Vec::with_capacity(attributes.len());
                for (key, value) in attributes.iter() {
                    let name = String::from_utf8_lossy(&key.to_bytes()).into_owned();
                    let key_json = json_mode::encode(&Value::string(name.as_str()));
                    let (Ok(k), Ok(v)) = (key_json, json_mode::encode(value)) else {
                        return Err(LaravelError::BadPayload {
                            what: "json session",
                            detail: format!("attribute {name:?} does not encode as JSON"),
                        }
                        .into());
                    };
                    sizes.push(VariableSize {
                        name,
                        bytes: k.len() + 1 + v.len(),
                    });
                }
                sizes
            }
        };
        Ok((encoding, sizes))
    }

    /// The session payload (`Store::save()`'s output, without the cache layer).
    pub fn to_payload(&self, encrypter: Option<&Encrypter>) -> Result<Vec<u8>> {
        let serialized = match self.encoding.serialization {
            Serialization::Php => crate::serialize(&Value::Array(self.attributes.clone())),
            Serialization::Json => json_mode::encode(&Value::Array(self.attributes.clone()))
                .map_err(|detail| LaravelError::Unencodable {
                    format: "json",
                    detail,
                })?,
        };
        if !self.encoding.encrypted {
            return Ok(serialized);
        }
        let Some(enc) = encrypter else {
            return Err(LaravelError::Unsupported {
                what: "the session is to be encrypted (session.encrypt) and no APP_KEY was given"
                    .into(),
            }
            .into());
        };
        Ok(enc.encrypt(&Value::String(serialized.into()))?.into_bytes())
    }

    /// The Redis value `RedisStore` would write for this session (`s:N:"<payload>";`).
    pub fn to_cache_value(&self, encrypter: Option<&Encrypter>) -> Result<Vec<u8>> {
        Ok(crate::serialize(&Value::String(
            self.to_payload(encrypter)?.into(),
        )))
    }

    /// How the session is stored.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// Store it differently from now on (say, after the app switched to `session.encrypt`).
    pub fn set_encoding(&mut self, encoding: Encoding) {
        self.encoding = encoding;
    }

    /// The attributes as friendly JSON (`json_encode()`-like, see [`crate::json`]): an object of
    /// attribute names, `{}` when empty.
    pub fn to_friendly_json(&self) -> serde_json::Value {
        crate::json::session_to_friendly_json(&self.attributes)
    }

    /// All attributes, in order.
    pub fn attributes(&self) -> &Array {
        &self.attributes
    }

    /// All attributes, to change freely.
    pub fn attributes_mut(&mut self) -> &mut Array {
        &mut self.attributes
    }

    /// `$session->get($key)`: the attribute `key`, or with dots a nested one (`_previous.url`),
    /// as Laravel's `Arr::get` (an exact key wins over the dotted path).
    pub fn get(&self, key: &str) -> Option<&Value> {
        if let Some(v) = self.attributes.get(key) {
            return Some(v);
        }
        let mut parts = key.split('.');
        let mut cur = self.attributes.get(parts.next()?)?;
        for part in parts {
            cur = cur.as_array()?.get(part)?;
        }
        Some(cur)
    }

    /// `$session->has($key)`-like: is the attribute there (null counts as there, unlike Laravel's
    /// `has`; see [`get`](Self::get)).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `$session->put($key, $value)`: set `key`; with dots, nested arrays are created (and
    /// non-array values on the way replaced), as Laravel's `Arr::set`.
    pub fn put(&mut self, key: &str, value: Value) {
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop().unwrap_or(key);
        let mut cur = &mut self.attributes;
        for part in parts {
            let k = Key::from(part);
            if !matches!(cur.get(k.clone()), Some(Value::Array(_))) {
                cur.insert(k.clone(), Value::Array(Array::new()));
            }
            cur = match cur.get_mut(k) {
                Some(Value::Array(a)) => a,
                // Just made sure it is an array.
                _ => return,
            };
        }
        cur.insert(last, value);
    }

    /// `$session->forget($key)`: remove `key` (exact, or the dotted path), returning what was there.
    pub fn forget(&mut self, key: &str) -> Option<Value> {
        if let Some(v) = self.attributes.remove(key) {
            return Some(v);
        }
        let mut parts: Vec<&str> = key.split('.').collect();
        let last = parts.pop()?;
        let mut cur = &mut self.attributes;
        for part in parts {
            cur = cur.get_mut(part)?.as_array_mut()?;
        }
        cur.remove(last)
    }

    /// The id of the user logged in with `guard` (`web` for the default one), if any.
    pub fn user_id(&self, guard: &str) -> Option<UserId> {
        let found = if guard == "web" {
            self.attributes.get(web_login_key())
        } else {
            self.attributes.get(login_key(guard).as_str())
        };
        match found? {
            Value::Int(i) => Some(UserId::Int(*i)),
            Value::String(s) => Some(UserId::Str(String::from_utf8_lossy(s).into_owned())),
            _ => None,
        }
    }

    /// Log `id` in with `guard`, as `SessionGuard::updateSession` stores it. (Laravel also
    /// migrates the session to a new id on login; callers that need that must do it themselves.)
    pub fn set_user_id(&mut self, guard: &str, id: UserId) {
        self.attributes.insert(login_key(guard).as_str(), id.into());
    }

    /// Log the `guard` user out (remove the login key), returning whether one was logged in.
    pub fn logout(&mut self, guard: &str) -> bool {
        self.attributes.remove(login_key(guard).as_str()).is_some()
    }

    /// The CSRF token (`_token`).
    pub fn csrf_token(&self) -> Option<&str> {
        self.attributes.get("_token")?.as_str()
    }

    /// The URL of the last GET page (`_previous.url`).
    pub fn previous_url(&self) -> Option<&str> {
        self.get("_previous.url")?.as_str()
    }

    /// Keys flashed for the next request (`_flash.new`) and still visible in this one
    /// (`_flash.old`), as stored.
    pub fn flash_keys(&self) -> FlashKeys {
        let list = |name: &str| -> Vec<String> {
            match self.get(name) {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|(_, v)| v.as_bytes())
                    .map(|b| String::from_utf8_lossy(b).into_owned())
                    .collect(),
                _ => Vec::new(),
            }
        };
        FlashKeys {
            new: list("_flash.new"),
            old: list("_flash.old"),
        }
    }

    /// The flash data the app's next request will see: every key listed in `_flash.old` or
    /// `_flash.new`, with its value (keys whose value is gone are skipped).
    pub fn flashed(&self) -> Vec<(String, &Value)> {
        let keys = self.flash_keys();
        let mut out: Vec<(String, &Value)> = Vec::new();
        for k in keys.old.into_iter().chain(keys.new) {
            if out.iter().any(|(seen, _)| *seen == k) {
                continue;
            }
            if let Some(v) = self.get(&k) {
                out.push((k, v));
            }
        }
        out
    }

    /// Flash `key` so that the app's next request sees it once (as `session()->flash()` would
    /// have, seen from storage: Laravel ages flash data when it saves, so a key flashed during a
    /// request rests in `_flash.old` until the next one ends). Dotted keys nest, as in [`put`](Self::put).
    pub fn flash(&mut self, key: &str, value: Value) {
        self.put(key, value);
        let new = self.flash_list("new", key);
        let mut old = self.flash_list("old", key);
        old.push(Value::String(key.into()));
        // `old` before `new`, the order Laravel's ageFlashData() creates them in.
        self.put("_flash.old", list(old));
        self.put("_flash.new", list(new));
    }

    /// The values of `_flash.<which>` except `key`.
    fn flash_list(&self, which: &str, key: &str) -> Vec<Value> {
        match self
            .attributes
            .get("_flash")
            .and_then(|f| f.as_array()?.get(which))
        {
            Some(Value::Array(a)) => a
                .iter()
                .map(|(_, v)| v.clone())
                .filter(|v| v.as_bytes() != Some(key.as_bytes()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// A PHP list (keys 0, 1, 2...).
fn list(values: Vec<Value>) -> Value {
    let mut a = Array::with_capacity(values.len());
    for v in values {
        a.push(v);
    }
    Value::Array(a)
}

/// The flash bookkeeping lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlashKeys {
    /// `_flash.new`: flashed during the current request.
    pub new: Vec<String>,
    /// `_flash.old`: flashed by the previous request, visible to this one.
    pub old: Vec<String>,
}

/// The bytes inside one PHP string `s:N:"...";` (the cache layer, or EncryptedStore's
/// plaintext), borrowed where they stand in `bytes` (a session is read without copying its
/// payload); an escaped `S:N:"...";`, which no PHP writes but anyone with Redis access can store,
/// is unescaped into a copy.
pub(crate) fn unwrap_php_string<'a>(bytes: &'a [u8], what: &'static str) -> Result<Cow<'a, [u8]>> {
    // What PHP writes, found by the decoder's own scanner without building anything; the rest
    // (and every error) through the document.
    if bytes.first() == Some(&b's') {
        if let Some((start, len, after)) = crate::decode::scan::string(bytes, 0) {
            if after == bytes.len() {
                return Ok(Cow::Borrowed(&bytes[start..start + len]));
            }
        }
    }
    let bad = |detail: String| Error::Laravel(LaravelError::BadPayload { what, detail });
    let doc = crate::Document::parse(bytes).map_err(|e| bad(format!("not a PHP string: {e}")))?;
    let root = doc.root();
    if let Some(span) = root.input_span() {
        return Ok(Cow::Borrowed(&bytes[span]));
    }
    match root.as_bytes() {
        Some(unescaped) => Ok(Cow::Owned(unescaped.to_vec())),
        None => Err(bad(format!(
            "expected a PHP string (s:N:\"...\";), found {} (not a session: the cache shares the prefix)",
            root.type_name()
        ))),
    }
}

/// The serialized attributes of a session payload (decrypted when it is encrypted) and how the
/// payload is encoded: borrowed from `payload` when it is plaintext.
pub(crate) fn plaintext<'a>(
    payload: &'a [u8],
    encrypter: Option<&Encrypter>,
) -> Result<(Cow<'a, [u8]>, Encoding)> {
    if let Some(serialization) = plain_format(payload) {
        let encoding = Encoding {
            encrypted: false,
            serialization,
        };
        return Ok((Cow::Borrowed(payload), encoding));
    }
    let Some(enc) = encrypter else {
        return Err(LaravelError::Unsupported {
            what: "the session is encrypted (session.encrypt) and no APP_KEY was given".into(),
        }
        .into());
    };
    // EncryptedStore: encrypt($data) with serialize = true, so the plaintext is one more PHP
    // string around the serialized attributes.
    let plain = enc.decrypt_string(payload)?;
    let inner = unwrap_php_string(&plain, "encrypted session")?;
    let serialization = plain_format(&inner).ok_or_else(|| LaravelError::BadPayload {
        what: "encrypted session",
        detail: format!(
            "the decrypted payload starts with {}, neither php (a:) nor json ({{, [)",
            head(&inner)
        ),
    })?;
    let encoding = Encoding {
        encrypted: true,
        serialization,
    };
    Ok((Cow::Owned(inner.into_owned()), encoding))
}

/// php or json, from the first byte of a plaintext payload; `None` for anything else (an
/// Encrypter payload starts with `eyJ`).
fn plain_format(payload: &[u8]) -> Option<Serialization> {
    match payload.first()? {
        b'a' if payload.get(1) == Some(&b':') => Some(Serialization::Php),
        b'{' | b'[' => Some(Serialization::Json),
        _ => None,
    }
}

pub(crate) fn decode_attributes(payload: &[u8], serialization: Serialization) -> Result<Array> {
    let (value, what) = match serialization {
        Serialization::Php => (
            crate::unserialize(payload).map_err(|e| LaravelError::BadPayload {
                what: "php session",
                detail: e.to_string(),
            })?,
            "php session",
        ),
        Serialization::Json => (
            json_mode::decode(payload).map_err(|detail| LaravelError::BadPayload {
                what: "json session",
                detail,
            })?,
            "json session",
        ),
    };
    match value {
        Value::Array(a) => Ok(a),
        other => Err(LaravelError::BadPayload {
            what,
            detail: format!("the attributes are {}, not an array", other.type_name()),
        }
        .into()),
    }
}

fn head(b: &[u8]) -> String {
    let n = b.len().min(8);
    format!("{:?}", String::from_utf8_lossy(&b[..n]))
}
