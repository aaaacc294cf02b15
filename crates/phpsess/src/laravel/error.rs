//! [`LaravelError`]: what went wrong with a Laravel key, payload, cookie or stored session, as one
//! typed enum nested in the crate's [`crate::Error::Laravel`].

use super::encrypter::Cipher;

/// Why a Laravel key, Encrypter payload, cookie or stored session was refused.
///
/// Nothing is ever half-decoded: every function that returns one of these has produced no session.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LaravelError {
    /// An `APP_KEY` (or previous key) that cannot be a key.
    #[error("invalid APP_KEY: {reason}")]
    InvalidKey {
        /// What was wrong with it (never the key itself).
        reason: String,
    },

    /// A cipher name Laravel does not support.
    #[error("unsupported cipher {name:?}: Laravel supports aes-128-cbc, aes-256-cbc, aes-128-gcm, aes-256-gcm")]
    UnsupportedCipher {
        /// The name as given.
        name: String,
    },

    /// A key whose length does not fit the cipher (Laravel refuses it when it builds its Encrypter).
    #[error("{cipher} needs a {expected}-byte key, this APP_KEY has {found} bytes")]
    KeyLength {
        /// The configured cipher.
        cipher: Cipher,
        /// Bytes the cipher needs.
        expected: usize,
        /// Bytes the key has.
        found: usize,
    },

    /// Text that should be base64 and is not.
    #[error("{what} is not base64: unexpected {found} at byte {offset}")]
    BadBase64 {
        /// Which field (`payload`, `iv`, `value`, `tag`, `APP_KEY`).
        what: &'static str,
        /// Offset of the offending character in that field.
        offset: usize,
        /// The character, printed.
        found: String,
    },

    /// The input stops early: a cookie or payload cut short (a browser's 4 KB limit, a copy and
    /// paste that lost the end).
    #[error("{what} is truncated: {detail}")]
    Truncated {
        /// What was cut short.
        what: &'static str,
        /// Where it ended.
        detail: String,
    },

    /// A base64 payload whose JSON is not Laravel's `{"iv","value","mac","tag"}` envelope.
    #[error("not a Laravel encrypted payload: {reason}")]
    BadEnvelope {
        /// What was wrong.
        reason: String,
    },

    /// A payload made for another cipher (a GCM payload given to a CBC app, or the reverse).
    #[error("payload does not fit the configured cipher {configured}: {reason}")]
    CipherMismatch {
        /// The cipher we were told to use.
        configured: Cipher,
        /// What gave it away.
        reason: String,
    },

    /// The HMAC-SHA256 of an AES-CBC payload (or of an 8.54–8.55 GCM payload) matches under none of
    /// the keys. A wrong key and an altered payload look the same here, by design of the MAC.
    #[error("MAC mismatch under all {keys_tried} key(s): wrong APP_KEY (or a previous key missing), or the payload was altered")]
    MacMismatch {
        /// How many keys were tried (current + previous).
        keys_tried: usize,
    },

    /// The AES-GCM tag does not verify under any of the keys (wrong key, or altered payload).
    #[error("AES-GCM tag mismatch under all {keys_tried} key(s): wrong APP_KEY (or a previous key missing), or the payload was altered")]
    TagMismatch {
        /// How many keys were tried (current + previous).
        keys_tried: usize,
    },

    /// The MAC verified but AES could not decrypt (bad padding): a payload made by a key holder
    /// with a different cipher, or a bug on the writing side.
    #[error("MAC verified but {cipher} decryption failed: {reason}")]
    Decrypt {
        /// The cipher used.
        cipher: Cipher,
        /// What failed.
        reason: &'static str,
    },

    /// The cookie decrypted, but does not start with `HMAC-SHA1(name."v2")|` for this cookie name
    /// under any key: it was issued for another cookie name, or by an app older than 6.18.30/7.22.
    #[error(
        "cookie {name:?} decrypted but lacks the HMAC-SHA1 prefix for that name under any key"
    )]
    CookiePrefix {
        /// The cookie name we checked against.
        name: String,
    },

    /// Not a Laravel session id (40 characters `[A-Za-z0-9]`); Laravel would start a new session.
    #[error("invalid Laravel session id: {reason}")]
    InvalidSessionId {
        /// Why.
        reason: String,
    },

    /// A stored session whose layers do not decode (cache wrapping, serialization).
    #[error("bad session payload ({what}): {detail}")]
    BadPayload {
        /// Which layer (`cache value`, `php session`, `json session`, `encrypted session`).
        what: &'static str,
        /// What was wrong, with the byte offset where there is one.
        detail: String,
    },

    /// A value the chosen session serialization cannot hold (json mode: objects, non-UTF-8
    /// strings, INF/NAN; Laravel's `json_encode()` would fail the same way).
    #[error("cannot encode the session as {format}: {detail}")]
    Unencodable {
        /// `json` or `php`.
        format: &'static str,
        /// Which value and why.
        detail: String,
    },

    /// A write found the session gone (expired or destroyed since it was read); nothing was written.
    #[error(
        "session {key} no longer exists (expired or destroyed since it was read); nothing written"
    )]
    Gone {
        /// The Redis key.
        key: String,
    },

    /// Something this build or this topology cannot do.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What, and what to do instead.
        what: String,
    },
}
