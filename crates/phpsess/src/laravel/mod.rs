//! Laravel sessions from Rust: the Encrypter (AES-CBC + HMAC, AES-GCM, previous keys), the
//! encrypted session cookie, the Redis key names per Laravel version, the stored payload (cache
//! wrapping, optional encryption, `php` or `json` serialization) and a store that reads and writes
//! sessions so that the Laravel app sees the change on its next request. What it follows is in
//! laravel/framework's `Encryption/Encrypter.php`, `Cookie/Middleware/EncryptCookies.php` and
//! `Cookie/CookieValuePrefix.php`, `Session/Store.php` and `Session/EncryptedStore.php`,
//! `Cache/RedisStore.php`, and the skeleton's `config/*.php` in laravel/laravel; it was checked
//! against real Laravel 8.83 (and newer classes), whose byte vectors are in
//! `fixtures/laravel/laravel-vectors.json` (`fixtures/laravel/README.md` says how they were made).
//!
//! From a `laravel_session` cookie to the logged-in user's id:
//!
//! ```no_run
//! use phpsess::laravel::{AppKey, Cipher, Encrypter, LaravelConfig, LaravelStore, Skeleton};
//!
//! # fn cookie_from_request() -> String { String::new() }
//! let cookie: String = cookie_from_request(); // the `laravel_session` cookie, as the browser sent it
//! let key = AppKey::parse(&std::env::var("APP_KEY").unwrap_or_default())?;
//! let encrypter = Encrypter::new(key, Cipher::Aes256Cbc)?;
//! // Cookie name and key prefixes of a Laravel 10 app with APP_NAME=Laravel.
//! let config = LaravelConfig::defaults(encrypter, Skeleton::L10, "Laravel")?;
//! let mut store = LaravelStore::open("tcp://127.0.0.1:6379", config)?;
//! match store.load_from_cookie(&cookie)? {
//!     Some(found) => println!("user {:?}, {}s left", found.web_user_id(), found.ttl.unwrap_or(0)),
//!     None => println!("no such session (expired)"),
//! }
//! # Ok::<(), phpsess::Error>(())
//! ```
//!
//! The pieces work without Redis too; here the session id in a cookie Laravel 8.83 set:
//!
//! ```
//! use phpsess::laravel::{cookie, AppKey, Cipher, Encrypter};
//!
//! let key = AppKey::parse("base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=")?;
//! let encrypter = Encrypter::new(key, Cipher::Aes256Cbc)?;
//! let wire = "eyJpdiI6InptZjV3N2E1R29aZUg1RDFPUE9KalE9PSIsInZhbHVlIjoic0xEVCtXUGllWjZmYklGUjdQNGQweENjMEdNaGo0cHlNZGRzYjM3UDFOR2FPTnBDcFRlMGR4VmRSS1FDUW8wcXRpVWtwaGh0RUJXYzJtT0RiMjVKUTVIU1RNZ3hrODRMb2RsNmZ6Y2RxQlA5aFdOeUwzSm93RzMzbWg0eitUOWciLCJtYWMiOiIyMzA5NWJjMzlmMDA1NTA3ZmZmYWVjNTkyMWE3ZjA1OTMyMmVkYzYxN2E0NjBiZjA3Y2I0NDFmMzQwZWVjOTVlIiwidGFnIjoiIn0%3D";
//! let id = cookie::session_id_from_cookie(&encrypter, "laravel_session", wire)?;
//! assert_eq!(id, "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd");
//! # Ok::<(), phpsess::Error>(())
//! ```
//!
//! Errors are [`crate::Error::Laravel`] with a [`LaravelError`] saying which check failed (wrong
//! key or altered payload, truncated cookie, wrong cipher, bad base64 or JSON envelope, not a
//! session); nothing is ever returned half-decoded.

mod app_key;
#[cfg(feature = "tokio")]
mod async_store;
pub mod cookie;
mod encrypter;
mod error;
mod json_mode;
mod keys;
#[cfg(feature = "axum")]
mod lazy;
mod payload;
#[cfg(feature = "store")]
mod store;
#[cfg(test)]
mod tests;

pub use app_key::{AppKey, BASE64_PREFIX};
#[cfg(feature = "tokio")]
pub use async_store::AsyncLaravelStore;
pub use encrypter::{Cipher, Encrypter, Envelope, GCM_TAG_LEN};
pub use error::LaravelError;
pub use json_mode::MAX_JSON_DEPTH;
pub use keys::{slug, KeyLayout, Skeleton};
#[cfg(feature = "axum")]
pub(crate) use lazy::LazySession;
pub use payload::{
    login_key, login_key_for, Encoding, FlashKeys, LaravelSession, Serialization, UserId,
    SESSION_GUARD_CLASS,
};
#[cfg(feature = "store")]
pub use store::{
    LaravelConfig, LaravelStore, ScanEntry, ScanEvent, ScanSummary, StoredSession, UserSession,
    DEFAULT_SCAN_BATCH,
};
