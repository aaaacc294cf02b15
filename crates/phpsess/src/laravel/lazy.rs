//! [`LazySession`]: a Laravel session read from Redis and fully checked, but decoded into a
//! tree only when something asks for one. A service that only wants to know who the request's
//! user is (the axum `LaravelSession` extractor) then pays for one validating pass over the bytes
//! and one key lookup, not for a tree of allocations it throws away.

use std::sync::OnceLock;

use super::encrypter::Encrypter;
use super::error::LaravelError;
use super::payload::{
    decode_attributes, plaintext, unwrap_php_string, web_login_key, Encoding, LaravelSession,
    Serialization, UserId,
};
use crate::decode::{self, Tape};
use crate::error::Result;
use crate::value::Value;

/// A checked session whose tree is built on first use.
#[derive(Clone)]
pub(crate) struct LazySession {
    /// The buffer holding the serialized attributes: the Redis value itself (plaintext sessions)
    /// or the decrypted payload.
    bytes: Vec<u8>,
    /// Where the attributes are in `bytes`.
    start: usize,
    end: usize,
    encoding: Encoding,
    /// The validated `php` attributes' tape (`None` for `json`, decoded at once).
    tape: Option<Tape>,
    web_user: Option<UserId>,
    tree: OnceLock<LaravelSession>,
}

impl LazySession {
    /// Check a Redis value as [`LaravelSession::from_cache_value`] does (same errors, same
    /// verdicts), keeping the `web` guard's user id and leaving the tree for later.
    pub(crate) fn from_cache_value(stored: Vec<u8>, encrypter: Option<&Encrypter>) -> Result<Self> {
        let payload = unwrap_php_string(&stored, "cache value")?;
        let (attributes, encoding) = plaintext(&payload, encrypter)?;
        // Plaintext attributes are usually a span of the Redis value: keep the value rather
        // than a copy. Anything else (decrypted, or unescaped from an `S:` string) is its own.
        let span = span_in(&stored, &attributes);
        let (bytes, start, end) = match span {
            Some(range) => {
                drop(attributes);
                drop(payload);
                (stored, range.start, range.end)
            }
            None => {
                let own = attributes.into_owned();
                let end = own.len();
                (own, 0, end)
            }
        };
        let attributes = &bytes[start..end];
        let tree = OnceLock::new();
        let (tape, web_user) = match encoding.serialization {
            Serialization::Php => {
                let doc =
                    crate::Document::parse(attributes).map_err(|e| LaravelError::BadPayload {
                        what: "php session",
                        detail: e.to_string(),
                    })?;
                let root = doc.root();
                if !matches!(root.view(), crate::document::View::Array(_)) {
                    return Err(LaravelError::BadPayload {
                        what: "php session",
                        detail: format!("the attributes are {}, not an array", root.type_name()),
                    }
                    .into());
                }
                let login = root.get_str(web_login_key().as_bytes());
                let web_user = login.and_then(|v| match v.as_int() {
                    Some(i) => Some(UserId::Int(i)),
                    None => v
                        .as_bytes()
                        .map(|s| UserId::Str(String::from_utf8_lossy(s).into_owned())),
                });
                (Some(doc.into_tape()), web_user)
            }
            Serialization::Json => {
                let attributes = decode_attributes(attributes, Serialization::Json)?;
                let session = LaravelSession::from_parts(attributes, encoding);
                let web_user = session.user_id("web");
                let _ = tree.set(session);
                (None, web_user)
            }
        };
        Ok(LazySession {
            bytes,
            start,
            end,
            encoding,
            tape,
            web_user,
            tree,
        })
    }

    fn attributes(&self) -> &[u8] {
        &self.bytes[self.start..self.end]
    }

    /// The id of the user logged in with the `web` guard.
    pub(crate) fn web_user_id(&self) -> Option<UserId> {
        self.web_user.clone()
    }

    /// The whole session, decoded on first use from the tape checked when it was read.
    pub(crate) fn session(&self) -> &LaravelSession {
        self.tree.get_or_init(|| {
            let attributes = match &self.tape {
                Some(tape) => match decode::tree_at(self.attributes(), tape, 0) {
                    Value::Array(a) => a,
                    // Checked to be an array when read.
                    _ => crate::Array::new(),
                },
                None => crate::Array::new(),
            };
            LaravelSession::from_parts(attributes, self.encoding)
        })
    }
}

/// Where `inner` stands in `outer`, when it is a part of it.
fn span_in(outer: &[u8], inner: &[u8]) -> Option<std::ops::Range<usize>> {
    // Addresses compared as numbers: `inner` is either a subslice of `outer` or of another
    // buffer, and only the first can lie within `outer`'s range.
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    let end = start.checked_add(inner.len())?;
    (end <= outer.len()).then_some(start..end)
}
