//! The crate's one error type. Format errors carry the byte offset where decoding stopped, so a
//! message can say what was being read and where ("expected ';' after integer at byte 17").

use std::fmt;

/// Everything that can go wrong in the `phpsess` core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bytes that are not valid PHP `serialize()` or session-encoded data.
    #[error("{reason} at byte {offset}")]
    Decode {
        /// Offset into the whole input where the problem was found.
        offset: usize,
        /// What was wrong there.
        reason: DecodeReason,
    },

    /// A value that the requested encoding cannot represent.
    #[error("cannot encode: {0}")]
    Encode(String),

    /// A `session.save_path` that phpredis (or we) would refuse.
    #[error("invalid save_path entry {entry} at offset {offset}: {reason}")]
    SavePath {
        /// The offending entry, as written in the save_path.
        entry: String,
        /// Offset of the entry's first byte in the save_path string.
        offset: usize,
        /// What was wrong with it.
        reason: String,
    },

    /// A Redis host could not be reached (connect, TLS, AUTH or SELECT failed).
    #[error("cannot connect to {host} (timeout {timeout_secs}s) for session {id}: {detail}")]
    Connect {
        /// The host as written in the save_path.
        host: String,
        /// The connect timeout that applied, in seconds.
        timeout_secs: f64,
        /// The session id being served (truncated for display).
        id: String,
        /// What went wrong.
        detail: String,
        /// The redis crate's error behind this one, when there is one (a `redis::RedisError`:
        /// `downcast_ref` it for its kind, server error code and I/O cause; `detail` says the same
        /// in words). Boxed so that every `Result` of the format stays small.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },

    /// The server answered but will not serve us as configured: it refused the password (`AUTH`),
    /// wants one and none was given (`NOAUTH`), or refused the database (`SELECT`). Trying again
    /// does not help; the configuration must change.
    #[error("{reason} on {host} for session {id}: {reply}")]
    Refused {
        /// The host as written in the save_path.
        host: String,
        /// The session id being served (truncated for display).
        id: String,
        /// What was refused, in words: "authentication failed", "database 3 was refused", ...
        reason: String,
        /// The server's error reply as sent ("WRONGPASS invalid username-password pair ...").
        reply: String,
    },

    /// A setting outside the save_path that cannot be used (`phpsess.auth`, `--auth-file`).
    #[error("{name}: {reason}")]
    Setting {
        /// The setting's name.
        name: String,
        /// Why it cannot be used (never quoting a credential).
        reason: String,
    },

    /// A command failed on a reachable host (I/O error, timeout, error reply).
    #[error("{op} {key} on {host} failed: {detail}")]
    Redis {
        /// The host as written in the save_path.
        host: String,
        /// The key the command was for.
        key: String,
        /// Which store operation ran (read, write, lock, ...).
        op: &'static str,
        /// The Redis error or reply.
        detail: String,
        /// True when nothing was changed on the server, so the caller may try again.
        retry_safe: bool,
        /// The redis crate's error behind this one, when there is one (a `redis::RedisError`:
        /// `downcast_ref` it for its kind, server error code and I/O cause; `detail` says the same
        /// in words). Boxed so that every `Result` of the format stays small.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },

    /// The session lock stayed taken for the whole wait.
    #[error("session lock {key} on {host} is held by {holder}; gave up after {waited_ms} ms")]
    LockTimeout {
        /// The host holding the lock.
        host: String,
        /// The lock key.
        key: String,
        /// The lock's current value (`host|pid|...`), or "unknown".
        holder: String,
        /// How long we waited.
        waited_ms: u64,
    },

    /// The write was refused because our lock expired or was taken over.
    #[error("session lock {key} on {host} is no longer ours (holder: {holder}); write refused")]
    LockLost {
        /// The host.
        host: String,
        /// The lock key.
        key: String,
        /// Who holds it now (`host|pid|...`), or "nobody (it expired or was deleted)".
        holder: String,
    },

    /// A write (or TTL refresh) of a session this request never locked was refused because another
    /// request holds its lock.
    #[error("session lock {key} on {host} is held by {holder}; write of a session this request did not lock refused")]
    LockHeld {
        /// The host.
        host: String,
        /// The lock key.
        key: String,
        /// The lock's value (`host|pid|...`).
        holder: String,
    },

    /// The write was refused because reading this session failed earlier in the request, or the
    /// session was never read under the lock.
    #[error("write of session {id} refused: {reason}")]
    WriteRefused {
        /// The session id.
        id: String,
        /// Why.
        reason: &'static str,
    },

    /// A stored session over the size limit (`max_session_bytes`), as stored or once decompressed;
    /// the read fails and the stored value is left as it is.
    #[cfg(feature = "store")]
    #[error("read of session {id} ({key} on {host}) refused: {reason}")]
    SessionTooLarge {
        /// The host the session lives on.
        host: String,
        /// The data key (the id in it shortened).
        key: String,
        /// The session id, shortened.
        id: String,
        /// Which size was over the limit.
        reason: crate::store::TooLarge,
    },

    /// A stored session that encryption at rest refuses (`phpsess.encryption`): not
    /// authentic, under an unknown key, or plaintext under `on`. Says which key id, never the key.
    #[cfg(feature = "store")]
    #[error("session {key} on {host} is unreadable: {reason}")]
    Unreadable {
        /// The host the session lives on.
        host: String,
        /// The data key (the id in it shortened).
        key: String,
        /// Why, with the key id.
        reason: String,
    },

    /// A session id the store will not use.
    #[error("invalid session id {id:?}: {reason}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// A Laravel key, payload, cookie or stored session that was refused (see [`crate::laravel`]).
    #[cfg(feature = "laravel")]
    #[error("laravel: {0}")]
    Laravel(#[from] crate::laravel::LaravelError),

    /// A serde data-model mismatch (typed structs over PHP values).
    #[error("{0}")]
    Serde(String),

    /// JSON that is not a valid lossless document (see `phpsess::json`), with the JSON path of the
    /// offending value (`$.cart[2].id`).
    #[error("at {path}: {reason}")]
    Json {
        /// Where in the document, as a JSON path from `$`.
        path: String,
        /// What was wrong there.
        reason: String,
    },

    /// A serde data-model mismatch found while deserializing PHP bytes, at the offset of the value
    /// (or key) that did not fit ("expected u8, found string at byte 17").
    #[error("{message} at byte {offset}")]
    SerdeAt {
        /// Offset into the input of the value or key that did not fit.
        offset: usize,
        /// What was wrong there.
        message: String,
    },
}

impl Error {
    /// Build a decode error at `offset`.
    pub(crate) fn decode(offset: usize, reason: DecodeReason) -> Self {
        Error::Decode { offset, reason }
    }

    /// Whether the server cannot be used at all with this configuration (not reachable, or it
    /// refuses to log us in): later operations of the same request would fail the same way.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Error::Connect { .. } | Error::Refused { .. })
    }

    /// The byte offset of a decode error, if this is one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            Error::Decode { offset, .. } => Some(*offset),
            Error::SavePath { offset, .. } => Some(*offset),
            Error::SerdeAt { offset, .. } => Some(*offset),
            _ => None,
        }
    }
}

/// Why a decode failed. `Display` reads as a phrase ("expected ';' after integer").
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeReason {
    /// The input ended while `reading` was incomplete.
    UnexpectedEnd {
        /// What was being read.
        reading: &'static str,
    },
    /// A specific byte was required.
    Expected {
        /// The byte (or token) that had to come next.
        expected: &'static str,
        /// What it was required for.
        reading: &'static str,
    },
    /// A byte that starts no PHP value.
    UnknownTag(u8),
    /// A number PHP would not parse.
    InvalidNumber {
        /// What was being read.
        reading: &'static str,
    },
    /// A declared element count or length larger than the input could hold.
    LengthExceedsInput {
        /// What the length was for.
        reading: &'static str,
        /// The declared length.
        declared: u64,
        /// Bytes left in the input.
        remaining: usize,
    },
    /// Nesting deeper than [`crate::MAX_DEPTH`].
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// An array or object key that is neither `i:` nor `s:`.
    InvalidKey,
    /// A class name PHP refuses (empty, leading `\` or NUL, or a byte outside `[A-Za-z0-9_\\\x80-\xff]`).
    InvalidClassName,
    /// An enum value without the `Class:Case` colon.
    InvalidEnum,
    /// `r:`/`R:` pointing at no earlier value, or `r:` at a non-object.
    InvalidReference(u64),
    /// A `S:` escaped string with a bad `\xx` escape.
    InvalidEscape,
    /// Bytes after a complete value.
    TrailingBytes,
    /// A key given twice in one array or object, in input that also has `r:`/`R:` references:
    /// PHP numbers references counting the replaced value, which the decoded tree no longer
    /// holds, so the references could not be kept meaningful.
    RepeatedKeyWithReferences,
    /// A session-level problem (a name without `|`, a php_binary length past the end...).
    Session(&'static str),
    /// An input longer than the decoder holds.
    TooLarge {
        /// The largest input accepted, in bytes.
        limit: u64,
    },
}

impl fmt::Display for DecodeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeReason::UnexpectedEnd { reading } => {
                write!(f, "unexpected end of input in {reading}")
            }
            DecodeReason::Expected { expected, reading } => {
                write!(f, "expected {expected} in {reading}")
            }
            DecodeReason::UnknownTag(b) => {
                write!(f, "unknown type tag {}", crate::value::display_byte(*b))
            }
            DecodeReason::InvalidNumber { reading } => write!(f, "invalid number in {reading}"),
            DecodeReason::LengthExceedsInput {
                reading,
                declared,
                remaining,
            } => write!(
                f,
                "{reading} declares {declared} but only {remaining} bytes remain"
            ),
            DecodeReason::TooDeep { limit } => write!(f, "nesting deeper than {limit} levels"),
            DecodeReason::InvalidKey => f.write_str("array key must be an integer or a string"),
            DecodeReason::InvalidClassName => f.write_str("invalid class name"),
            DecodeReason::InvalidEnum => {
                f.write_str("enum name lacks the ':' between class and case")
            }
            DecodeReason::InvalidReference(n) => {
                write!(f, "reference {n} points at no usable value")
            }
            DecodeReason::InvalidEscape => f.write_str("invalid \\xx escape in S: string"),
            DecodeReason::TrailingBytes => f.write_str("trailing bytes after the value"),
            DecodeReason::RepeatedKeyWithReferences => f.write_str(
                "repeated key in a value that also has r:/R: references (not supported)",
            ),
            DecodeReason::Session(what) => f.write_str(what),
            DecodeReason::TooLarge { limit } => write!(f, "input longer than {limit} bytes"),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
