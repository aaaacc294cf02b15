//! Laravel's encrypted cookies (`EncryptCookies` + `CookieValuePrefix`): from a `laravel_session`
//! cookie to the session id, and from an id to the cookie value Laravel accepts.
//!
//! Laravel sets the cookie to `encryptString(HMAC-SHA1(name . "v2") . "|" . id)` (hex HMAC keyed
//! with the raw APP_KEY, 41 bytes with the `|`), and Symfony `rawurlencode`s it on the wire, so the
//! trailing `=` arrive as `%3D`.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha1::Sha1;

use super::app_key::AppKey;
use super::encrypter::{hex, random_bytes, Encrypter};
use super::error::LaravelError;
use crate::error::Result;

/// Length of a Laravel session id (`Str::random(40)`; `Session\Store::isValidId`).
pub const SESSION_ID_LEN: usize = 40;

/// Length of the cookie value prefix: 40 hex digits of HMAC-SHA1 and `|`.
pub const COOKIE_PREFIX_LEN: usize = 41;

/// `CookieValuePrefix::create($name, $key)`: lowercase hex `HMAC-SHA1(key, name . "v2")` and `|`.
pub fn cookie_prefix(cookie_name: &str, key: &AppKey) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = <Hmac<Sha1> as hmac::KeyInit>::new_from_slice(key.as_bytes()) else {
        return String::new();
    };
    mac.update(cookie_name.as_bytes());
    mac.update(b"v2");
    let mut prefix = hex(&mac.finalize().into_bytes());
    prefix.push('|');
    prefix
}

/// Undo the URL encoding a cookie has on the wire (`%3D` → `=`), as PHP does for `$_COOKIE`. A
/// value without `%` is returned as it is.
pub fn url_decode(value: &str) -> Cow<'_, [u8]> {
    // As `percent_decode` (a `%` not followed by two hex digits stays as it is), but a span at a
    // time: a Laravel cookie is 300+ bytes with one escape at its end, and decoding it byte by
    // byte was a tenth of opening it.
    let mut rest = value.trim().as_bytes();
    if memchr::memchr(b'%', rest).is_none() {
        return Cow::Borrowed(rest);
    }
    let mut out = Vec::with_capacity(rest.len());
    while let Some(at) = memchr::memchr(b'%', rest) {
        out.extend_from_slice(&rest[..at]);
        let digit = |i: usize| rest.get(i).and_then(|&b| char::from(b).to_digit(16));
        match (digit(at + 1), digit(at + 2)) {
            (Some(high), Some(low)) => {
                // Two hex digits: at most 0xff.
                out.push(u8::try_from(high * 16 + low).unwrap_or(0));
                rest = &rest[at + 3..];
            }
            _ => {
                out.push(b'%');
                rest = &rest[at + 1..];
            }
        }
    }
    out.extend_from_slice(rest);
    Cow::Owned(out)
}

/// PHP's `rawurlencode`: everything but `A-Za-z0-9-_.~` as `%XX` (how Symfony writes cookie values).
const RAWURLENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A cookie value as it goes on the wire (`Set-Cookie`), from its decoded form.
pub fn url_encode(value: &str) -> String {
    utf8_percent_encode(value, RAWURLENCODE).to_string()
}

/// Decrypt cookie `name` (URL-encoded or not) and strip its `HMAC-SHA1(name."v2")|` prefix,
/// accepting a prefix made with any of the Encrypter's keys (Laravel 11+ `CookieValuePrefix::validate`).
pub fn decrypt_cookie(encrypter: &Encrypter, name: &str, value: &str) -> Result<Vec<u8>> {
    let plain = decrypt_cookie_plain(encrypter, value)?;
    match strip_any_prefix(encrypter, name, &plain) {
        Some(rest) => Ok(rest.to_vec()),
        None => Err(LaravelError::CookiePrefix {
            name: name.to_owned(),
        }
        .into()),
    }
}

/// The plaintext after the `HMAC-SHA1(name."v2")|` prefix of any of the Encrypter's keys.
fn strip_any_prefix<'p>(encrypter: &Encrypter, name: &str, plain: &'p [u8]) -> Option<&'p [u8]> {
    encrypter
        .keys()
        .find_map(|key| plain.strip_prefix(cookie_prefix(name, key).as_bytes()))
}

/// URL-decode and decrypt a cookie value, prefix still on.
fn decrypt_cookie_plain(encrypter: &Encrypter, value: &str) -> Result<Vec<u8>> {
    let trimmed = value.trim().as_bytes();
    let n = trimmed.len();
    if (n >= 1 && trimmed[n - 1] == b'%') || (n >= 2 && trimmed[n - 2] == b'%') {
        return Err(LaravelError::Truncated {
            what: "cookie",
            detail: "it ends inside a %XX escape".into(),
        }
        .into());
    }
    let raw = url_decode(value);
    encrypter.decrypt_string(&raw)
}

/// Encrypt `plaintext` as the value of cookie `name` (prefix with the current key, then
/// `encryptString`). Returns the decoded form; [`url_encode`] gives the wire form.
pub fn encrypt_cookie(encrypter: &Encrypter, name: &str, plaintext: &[u8]) -> Result<String> {
    let mut plain = cookie_prefix(name, encrypter.key()).into_bytes();
    plain.extend_from_slice(plaintext);
    encrypter.encrypt_string(&plain)
}

/// The session id held by the encrypted session cookie `name` (`laravel_session`,
/// `laravel-session`...), checked to be an id Laravel would use.
///
/// A bare id is not accepted here, even though an app that lists its session cookie in
/// `EncryptCookies::$except` sends one: the first 40 characters of an encrypted cookie are also
/// 40 `[A-Za-z0-9]`, so a truncated cookie would pass for an id. Such apps pass the cookie value
/// to [`check_session_id`] and use it as the id.
pub fn session_id_from_cookie(encrypter: &Encrypter, name: &str, value: &str) -> Result<String> {
    let plain = decrypt_cookie(encrypter, name, value)?;
    let id = String::from_utf8(plain).map_err(|_| LaravelError::InvalidSessionId {
        reason: "the cookie holds bytes that are not text".into(),
    })?;
    check_session_id(&id)?;
    Ok(id)
}

/// [`session_id_from_cookie`] with the cookie's prefixes computed once (`prefixes`: the
/// [`cookie_prefix`] of the cookie's name under each of the Encrypter's keys, in
/// [`Encrypter::keys`] order), for a service that opens many cookies of one name: the HMAC-SHA1
/// per key and request is then saved.
pub fn session_id_from_cookie_with_prefixes(
    encrypter: &Encrypter,
    name: &str,
    prefixes: &[String],
    value: &str,
) -> Result<String> {
    let plain = decrypt_cookie_plain(encrypter, value)?;
    let Some(rest) = prefixes
        .iter()
        .find_map(|p| plain.strip_prefix(p.as_bytes()))
    else {
        return Err(LaravelError::CookiePrefix {
            name: name.to_owned(),
        }
        .into());
    };
    let id = std::str::from_utf8(rest).map_err(|_| LaravelError::InvalidSessionId {
        reason: "the cookie holds bytes that are not text".into(),
    })?;
    check_session_id(id)?;
    Ok(id.to_owned())
}

/// [`session_id_from_cookie`] when the cookie name is not known for sure: tries each of `names`
/// (say `laravel_session` and `laravel-session`, the defaults before and after laravel/laravel
/// v12.1.0) and returns the one whose prefix the cookie carries, with the id. The cookie is
/// decrypted once.
pub fn session_id_from_cookie_names(
    encrypter: &Encrypter,
    names: &[&str],
    value: &str,
) -> Result<(String, String)> {
    let plain = decrypt_cookie_plain(encrypter, value)?;
    for name in names {
        if let Some(rest) = strip_any_prefix(encrypter, name, &plain) {
            let id =
                String::from_utf8(rest.to_vec()).map_err(|_| LaravelError::InvalidSessionId {
                    reason: "the cookie holds bytes that are not text".into(),
                })?;
            check_session_id(&id)?;
            return Ok(((*name).to_owned(), id));
        }
    }
    Err(LaravelError::CookiePrefix {
        name: names.join(" or "),
    }
    .into())
}

/// The value of session cookie `name` for `id` (decoded form; [`url_encode`] for the wire).
pub fn session_cookie_value(encrypter: &Encrypter, name: &str, id: &str) -> Result<String> {
    check_session_id(id)?;
    encrypt_cookie(encrypter, name, id.as_bytes())
}

/// `Session\Store::isValidId`: exactly 40 characters, all `[A-Za-z0-9]`.
pub fn check_session_id(id: &str) -> Result<(), LaravelError> {
    if id.len() != SESSION_ID_LEN {
        return Err(LaravelError::InvalidSessionId {
            reason: format!("{} characters, Laravel ids have {SESSION_ID_LEN}", id.len()),
        });
    }
    if let Some(at) = id.bytes().position(|b| !b.is_ascii_alphanumeric()) {
        return Err(LaravelError::InvalidSessionId {
            reason: format!("character at byte {at} is not [A-Za-z0-9]"),
        });
    }
    Ok(())
}

/// A fresh session id: 40 characters from `[A-Za-z0-9]`, uniformly, from the OS CSPRNG.
pub fn new_session_id() -> Result<String> {
    const ALPHABET: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut id = String::with_capacity(SESSION_ID_LEN);
    let mut buf = [0u8; 64];
    while id.len() < SESSION_ID_LEN {
        random_bytes(&mut buf)?;
        // 248 = 4 * 62: bytes at or above it are dropped so that every character is equally likely.
        for &b in buf.iter().filter(|&&b| b < 248) {
            if id.len() == SESSION_ID_LEN {
                break;
            }
            id.push(ALPHABET[usize::from(b % 62)] as char);
        }
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::laravel::Cipher;

    fn key() -> AppKey {
        AppKey::parse("base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=").unwrap()
    }

    #[test]
    fn prefixes_match_laravel() {
        // CookieValuePrefix::create() measured with Laravel 8.83 (fixtures/laravel/laravel-vectors.json).
        assert_eq!(
            cookie_prefix("laravel_session", &key()),
            "e7b2442a213b7b39aec3b198abf4942feee3c3a6|"
        );
        assert_eq!(
            cookie_prefix("XSRF-TOKEN", &key()),
            "cefe0b9e15bf1af60eff4532dc5bcca039d58e62|"
        );
    }

    #[test]
    fn round_trip_and_id_checks() {
        let enc = Encrypter::new(key(), Cipher::Aes256Cbc).unwrap();
        let id = new_session_id().unwrap();
        assert_eq!(id.len(), 40);
        check_session_id(&id).unwrap();
        let cookie = session_cookie_value(&enc, "laravel_session", &id).unwrap();
        assert_eq!(
            session_id_from_cookie(&enc, "laravel_session", &url_encode(&cookie)).unwrap(),
            id
        );
        let err = session_id_from_cookie(&enc, "other_cookie", &cookie).unwrap_err();
        assert_eq!(
            err.to_string(),
            "laravel: cookie \"other_cookie\" decrypted but lacks the HMAC-SHA1 prefix for that name under any key"
        );
        let cases = [
            (
                "abc",
                "invalid Laravel session id: 3 characters, Laravel ids have 40",
            ),
            (
                "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbC-",
                "invalid Laravel session id: character at byte 39 is not [A-Za-z0-9]",
            ),
        ];
        for (id, want) in cases {
            assert_eq!(check_session_id(id).unwrap_err().to_string(), want);
        }
        assert_eq!(url_encode("ab+/=="), "ab%2B%2F%3D%3D");
        let dashed = session_cookie_value(&enc, "laravel-session", &id).unwrap();
        let names = ["laravel_session", "laravel-session"];
        assert_eq!(
            session_id_from_cookie_names(&enc, &names, &dashed).unwrap(),
            ("laravel-session".to_owned(), id.clone())
        );
        assert_eq!(
            session_id_from_cookie_names(&enc, &names[..1], &dashed)
                .unwrap_err()
                .to_string(),
            "laravel: cookie \"laravel_session\" decrypted but lacks the HMAC-SHA1 prefix for that name under any key"
        );
    }
}
