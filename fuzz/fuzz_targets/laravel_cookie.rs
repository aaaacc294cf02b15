//! Fuzz target: Laravel cookie and payload decryption with a fixed APP_KEY, as a request's
//! cookies reach it: `decrypt_cookie`, `session_id_from_cookie` (URL-decoding, the envelope's
//! base64 and JSON, MAC and tag checks, the `hash_hmac` prefix), and `Encrypter::decrypt_string`
//! and `Envelope::parse` on the raw bytes, for both CBC and GCM keys.
//!
//! An attacker cannot forge a MAC, so decryption past it is reached by a second property instead:
//! the input as plaintext, encrypted with the input's first 16 bytes as IV, decrypts to itself.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use phpsess::laravel::cookie::{decrypt_cookie, session_id_from_cookie};
use phpsess::laravel::{AppKey, Cipher, Encrypter, Envelope};

fn encrypters() -> &'static [Encrypter; 2] {
    static ENC: OnceLock<[Encrypter; 2]> = OnceLock::new();
    ENC.get_or_init(|| {
        let key = || {
            AppKey::parse("base64:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
                .expect("a 32-byte key")
        };
        [
            Encrypter::new(key(), Cipher::Aes256Cbc).expect("32-byte key"),
            Encrypter::new(key(), Cipher::Aes256Gcm).expect("32-byte key"),
        ]
    })
}

fuzz_target!(|data: &[u8]| {
    let _ = Envelope::parse(data);
    let text = String::from_utf8_lossy(data);
    for enc in encrypters() {
        let _ = enc.decrypt_string(data);
        let _ = decrypt_cookie(enc, "laravel_session", &text);
        let _ = session_id_from_cookie(enc, "laravel_session", &text);

        let iv_len = enc.cipher().iv_len();
        if data.len() >= iv_len {
            let (iv, plain) = data.split_at(iv_len);
            let payload = enc
                .encrypt_string_with_iv(plain, iv)
                .expect("any plaintext encrypts");
            let back = enc
                .decrypt_string(payload.as_bytes())
                .expect("what we encrypted decrypts");
            assert!(back == plain, "round trip changed the plaintext");
        }
    }
});
