//! Fuzz target: Laravel session payloads as `RedisStore` stores them, decoded by
//! `LaravelSession::from_cache_value` and `from_payload`: `serialize()`d or JSON
//! (`session.serialization = json`) attributes, plain or encrypted (`session.encrypt`, with a fixed
//! APP_KEY).
//!
//! Properties beyond "no panic": a payload that decodes re-encodes (same encoding, same key) to a
//! payload that decodes to the same attributes: byte for byte as `serialize()` writes them, or,
//! for JSON sessions, as PHP's own `json_encode`/`json_decode` round trip gives them (an integral
//! float comes back as an int: see `common/json_round_trip.rs`).
#![no_main]

#[path = "common/json_round_trip.rs"]
mod json_round_trip;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phpsess::laravel::{AppKey, Cipher, Encrypter, LaravelSession, Serialization};
use phpsess::Value;

fn encrypter() -> &'static Encrypter {
    static ENC: OnceLock<Encrypter> = OnceLock::new();
    ENC.get_or_init(|| {
        let key = AppKey::parse("base64:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
            .expect("a 32-byte key");
        Encrypter::new(key, Cipher::Aes256Cbc).expect("AES-256-CBC takes a 32-byte key")
    })
}

fuzz_target!(|data: &[u8]| {
    let enc = Some(encrypter());
    for session in [
        LaravelSession::from_payload(data, enc),
        LaravelSession::from_cache_value(data, enc),
    ]
    .into_iter()
    .flatten()
    {
        let Ok(payload) = session.to_payload(enc) else {
            continue;
        };
        let back = LaravelSession::from_payload(&payload, enc).unwrap_or_else(|e| {
            panic!(
                "re-encoded payload does not decode: {e}\ninput: {}\npayload: {}",
                data.escape_ascii(),
                payload.escape_ascii()
            )
        });
        assert_eq!(back.encoding(), session.encoding());
        let before = Value::Array(session.attributes().clone());
        let after = Value::Array(back.attributes().clone());
        let same = match session.encoding().serialization {
            Serialization::Json => json_round_trip::same_after_json_round_trip(&before, &after),
            // serialize() bytes, not `==`: NAN != NAN.
            _ => phpsess::serialize(&before) == phpsess::serialize(&after),
        };
        assert!(same, "attributes changed\ninput: {}", data.escape_ascii());
    }
});
