//! Fuzz target: Laravel session payloads as `RedisStore` stores them, decoded by
//! `LaravelSession::from_cache_value` and `from_payload`: `serialize()`d or JSON
//! (`session.serialization = json`) attributes, plain or encrypted (`session.encrypt`, with a fixed
//! APP_KEY).
//!
//! Properties beyond "no panic": a payload that decodes re-encodes (same encoding, same key) to a
//! payload that decodes to the same attributes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phpsess::laravel::{AppKey, Cipher, Encrypter, LaravelSession};

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
                "re-encoded payload does not decode: {e}\ninput: {:?}\npayload: {:?}",
                data.escape_ascii(),
                payload.escape_ascii()
            )
        });
        assert_eq!(back.encoding(), session.encoding());
        assert!(
            phpsess::serialize(&phpsess::Value::Array(back.attributes().clone()))
                == phpsess::serialize(&phpsess::Value::Array(session.attributes().clone())),
            "attributes changed\ninput: {:?}",
            data.escape_ascii()
        );
    }
});
