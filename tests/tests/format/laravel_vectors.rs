//! Every vector in `fixtures/laravel/laravel-vectors.json` (made with real Laravel, see the README
//! there) checked byte for byte: Encrypter payloads decrypt to Laravel's plaintext and re-encrypt to
//! Laravel's exact payload with the same IV, cookies give the session id, keys match the stored
//! keys per Laravel version, stored values decode and re-encode to the same bytes.

use phpsess::laravel::{
    cookie, login_key, AppKey, Cipher, Encoding, Encrypter, Envelope, KeyLayout, LaravelError,
    LaravelSession, Serialization, Skeleton, UserId,
};
use phpsess::{Error, Value};
use phpsess_compat::fixtures::{b64, workspace_root};
use serde_json::Value as Json;

fn vectors() -> Json {
    let path = workspace_root().join("fixtures/laravel/laravel-vectors.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn s<'a>(j: &'a Json, field: &str) -> &'a str {
    j[field]
        .as_str()
        .unwrap_or_else(|| panic!("field {field} is not a string in {j}"))
}

fn hex_decode(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).expect("hex"))
        .collect()
}

fn encrypter(app_key: &str, cipher: Cipher) -> Encrypter {
    Encrypter::new(AppKey::parse(app_key).unwrap(), cipher).unwrap()
}

/// The IV of a payload, to re-encrypt with it.
fn iv_of(payload: &str) -> Vec<u8> {
    let env = Envelope::parse(payload.as_bytes()).unwrap();
    b64(&env.iv, "iv")
}

#[test]
fn app_key_and_login_key() {
    let v = vectors();
    let key = AppKey::parse(s(&v, "app_key")).unwrap();
    assert_eq!(key.as_bytes(), hex_decode(s(&v, "app_key_raw_hex")));
    assert_eq!(login_key("web"), s(&v, "login_session_key_web"));
}

#[test]
fn cookie_prefixes() {
    let v = vectors();
    let key = AppKey::parse(s(&v, "app_key")).unwrap();
    let prefixes = v["cookie_value_prefixes"].as_object().unwrap();
    assert_eq!(prefixes.len(), 4);
    for (name, want) in prefixes {
        assert_eq!(
            cookie::cookie_prefix(name, &key),
            want.as_str().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn encrypter_vectors_decrypt_and_reencrypt_exactly() {
    let v = vectors();
    let vectors = v["encrypter_vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 8, "4 ciphers x encrypt/encryptString");
    for vec in vectors {
        let cipher: Cipher = s(vec, "cipher").parse().unwrap();
        let key = AppKey::from_bytes(b64(s(vec, "key_base64"), "key"));
        let enc = Encrypter::new(key, cipher).unwrap();
        let payload = s(vec, "payload");
        let plaintext = s(vec, "aes_plaintext").as_bytes();
        let what = format!("{cipher} serialize={}", vec["serialize"]);
        // The outer base64 holds exactly Laravel's JSON.
        assert_eq!(
            b64(payload, "payload"),
            s(vec, "payload_json").as_bytes(),
            "{what}"
        );
        assert_eq!(
            enc.decrypt_string(payload.as_bytes()).unwrap(),
            plaintext,
            "{what}"
        );
        let again = enc
            .encrypt_string_with_iv(plaintext, &iv_of(payload))
            .unwrap();
        assert_eq!(again, payload, "{what}: re-encrypted with the same IV");
        if vec["serialize"] == Json::Bool(true) {
            // decrypt() unserializes: the plaintext is one PHP string.
            let inner = b"a:1:{s:6:\"_token\";s:40:\"0123456789abcdefghijABCDEFGHIJ0123456789\";}";
            assert_eq!(
                enc.decrypt(payload.as_bytes()).unwrap(),
                Value::string(inner.to_vec())
            );
        }
        // The same payload under the other ciphers fails with a typed error, never a panic.
        for other in Cipher::ALL.into_iter().filter(|c| *c != cipher) {
            let k = AppKey::from_bytes(vec![7u8; other.key_len()]);
            let e = Encrypter::new(k, other).unwrap();
            let err = e.decrypt_string(payload.as_bytes()).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Laravel(
                        LaravelError::CipherMismatch { .. }
                            | LaravelError::MacMismatch { .. }
                            | LaravelError::TagMismatch { .. }
                    )
                ),
                "{what} under {other}: {err}"
            );
        }
    }
}

#[test]
fn previous_key_vector_needs_rotation() {
    let v = vectors();
    let pk = &v["previous_key_vector"];
    let payload = s(pk, "payload_encrypted_with_previous_key").as_bytes();
    let current = encrypter(s(pk, "current_app_key"), Cipher::Aes256Cbc);
    assert_eq!(
        current.decrypt_string(payload).unwrap_err().to_string(),
        "laravel: MAC mismatch under all 1 key(s): wrong APP_KEY (or a previous key missing), or the payload was altered"
    );
    let rotated = current
        .clone()
        .with_previous_keys(AppKey::parse_list(s(pk, "app_previous_keys")).unwrap())
        .unwrap();
    assert_eq!(
        rotated.decrypt_string(payload).unwrap(),
        s(pk, "aes_plaintext").as_bytes()
    );
    assert_eq!(
        rotated.decrypt(payload).unwrap(),
        Value::string(b"from-old-key".to_vec())
    );
    // Encryption uses the current key only: the current key alone opens what rotation writes.
    let fresh = rotated.encrypt_string(b"new").unwrap();
    assert_eq!(current.decrypt_string(fresh.as_bytes()).unwrap(), b"new");
}

#[test]
fn cookie_sample_gives_the_id_and_is_reproduced() {
    let v = vectors();
    let c = &v["cookie_sample"];
    let enc = encrypter(s(&v, "app_key"), Cipher::Aes256Cbc);
    let decoded = s(c, "cookie_value_urldecoded");
    let id = s(c, "session_id");
    assert_eq!(
        cookie::session_id_from_cookie(&enc, "laravel_session", decoded).unwrap(),
        id
    );
    let header = s(c, "set_cookie_header");
    let wire = header
        .strip_prefix("laravel_session=")
        .and_then(|h| h.split(';').next())
        .unwrap();
    assert_eq!(cookie::url_encode(decoded), wire);
    assert_eq!(
        cookie::session_id_from_cookie(&enc, "laravel_session", wire).unwrap(),
        id
    );
    let plain = format!(
        "{}{id}",
        cookie::cookie_prefix("laravel_session", enc.key())
    );
    assert_eq!(
        enc.encrypt_string_with_iv(plain.as_bytes(), &iv_of(decoded))
            .unwrap(),
        decoded
    );
}

/// The skeleton each scenario reproduces, and whether its RedisStore adds ':'.
fn scenario_layout(name: &str) -> (Option<Skeleton>, bool) {
    match name {
        "l8-plain" | "l8-encrypted" => (Some(Skeleton::L8), true),
        "l9-plain" => (Some(Skeleton::L9), true),
        "l11-plain" => (Some(Skeleton::L11), false),
        "l12-1-plain" | "l12-1-encrypted" => (Some(Skeleton::L12_1), false),
        "noprefix-plain" => (None, false),
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn session_scenarios_cookie_key_and_value() {
    let v = vectors();
    let scenarios = v["session_scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 7);
    for sc in scenarios {
        let name = s(sc, "scenario");
        let enc = encrypter(s(sc, "app_key"), Cipher::Aes256Cbc);
        let cookie_name = s(sc, "cookie_name");
        let (skeleton, colon) = scenario_layout(name);

        // Cookie -> id, from the decoded value and from the Set-Cookie header's wire form.
        let id = cookie::session_id_from_cookie(
            &enc,
            cookie_name,
            s(sc, "final_cookie_value_urldecoded"),
        )
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let header = s(sc, "final_set_cookie_header");
        let wire = header
            .strip_prefix(&format!("{cookie_name}="))
            .and_then(|h| h.split(';').next())
            .unwrap();
        assert_eq!(
            cookie::session_id_from_cookie(&enc, cookie_name, wire).unwrap(),
            id
        );

        // Id -> key, from explicit prefixes and from the version's defaults.
        let stored = &sc["redis"][0];
        let key = s(stored, "key");
        let layout = KeyLayout::new(
            s(sc, "redis_prefix").as_bytes(),
            s(sc, "cache_prefix").as_bytes(),
            colon,
        );
        assert_eq!(layout.key(&id), key.as_bytes(), "{name}");
        if let Some(sk) = skeleton {
            assert_eq!(
                sk.default_layout("Laravel").unwrap().key(&id),
                key.as_bytes(),
                "{name}"
            );
            assert_eq!(
                sk.default_cookie_name("Laravel").unwrap(),
                cookie_name,
                "{name}"
            );
        }
        assert_eq!(stored["ttl"], 7200);

        // The stored value decodes to the logged-in session and re-encodes to the same bytes.
        let value = hex_decode(s(stored, "value_hex"));
        assert_eq!(value, s(stored, "value").as_bytes());
        let session = LaravelSession::from_cache_value(&value, Some(&enc))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let encrypted = sc["session_encrypt"] == Json::Bool(true);
        assert_eq!(
            session.encoding(),
            Encoding {
                encrypted,
                serialization: Serialization::Php
            },
            "{name}"
        );
        assert_eq!(session.user_id("web"), Some(UserId::Int(42)), "{name}");
        assert_eq!(session.user_id("admin"), None);
        assert_eq!(session.csrf_token().map(str::len), Some(40), "{name}");
        assert_eq!(
            session.previous_url(),
            Some("http://localhost/home"),
            "{name}"
        );
        assert!(session.flashed().is_empty());
        assert_eq!(
            session.get("password_hash_web").and_then(Value::as_str),
            Some("$2y$04$3z9fOX/.dqylETmu60Nl/eXjcV13V15jE08LwssOiub/ZsGUbFaPS")
        );
        if encrypted {
            // Re-encrypting the same plaintext with the stored IV gives the stored payload back.
            let payload = match phpsess::unserialize(&value).unwrap() {
                Value::String(p) => p.into_vec(),
                other => panic!("{name}: {other:?}"),
            };
            let payload = String::from_utf8(payload).unwrap();
            let plain = enc.decrypt_string(payload.as_bytes()).unwrap();
            assert_eq!(
                enc.encrypt_string_with_iv(&plain, &iv_of(&payload))
                    .unwrap(),
                payload
            );
            // And the plaintext is our php serialization wrapped in one PHP string.
            let mut plain_session = session.clone();
            plain_session.set_encoding(Encoding::default());
            let inner = plain_session.to_payload(None).unwrap();
            assert_eq!(plain, phpsess::serialize(&Value::string(inner)), "{name}");
        } else {
            assert_eq!(session.to_cache_value(Some(&enc)).unwrap(), value, "{name}");
        }
        // A round trip through our own encryption reads back the same attributes.
        let again = session.to_cache_value(Some(&enc)).unwrap();
        assert_eq!(
            LaravelSession::from_cache_value(&again, Some(&enc)).unwrap(),
            session
        );
    }
}

#[test]
fn json_serialization_vectors() {
    let v = vectors();
    let enc = encrypter(s(&v, "app_key"), Cipher::Aes256Cbc);
    let plain = s(&v, "json_serialization_plain_payload").as_bytes();
    let session = LaravelSession::from_payload(plain, None).unwrap();
    assert_eq!(
        session.encoding(),
        Encoding {
            encrypted: false,
            serialization: Serialization::Json
        }
    );
    assert_eq!(session.user_id("web"), Some(UserId::Int(42)));
    assert_eq!(
        session.csrf_token(),
        Some("AAAAAAAAAABBBBBBBBBBCCCCCCCCCCDDDDDDDDDD")
    );
    assert_eq!(session.previous_url(), Some("http://localhost/home"));
    assert_eq!(
        session.get("greeting").and_then(Value::as_str),
        Some("h\u{e9}llo / w\u{f6}rld")
    );
    let flashed: Vec<(String, Value)> = session
        .flashed()
        .into_iter()
        .map(|(k, v)| (k, v.clone()))
        .collect();
    assert_eq!(
        flashed,
        vec![("status".to_owned(), Value::string(b"ok".to_vec()))]
    );
    // json_encode() with default flags, byte for byte (\/ and \u00e9 escapes).
    assert_eq!(session.to_payload(None).unwrap(), plain);

    let encrypted = s(&v, "json_serialization_encrypted_payload").as_bytes();
    let session2 = LaravelSession::from_payload(encrypted, Some(&enc)).unwrap();
    assert_eq!(
        session2.encoding(),
        Encoding {
            encrypted: true,
            serialization: Serialization::Json
        }
    );
    assert_eq!(session2.user_id("web"), Some(UserId::Int(42)));
    let inner = enc.decrypt(encrypted).unwrap();
    let mut as_plain = session2.clone();
    as_plain.set_encoding(Encoding {
        encrypted: false,
        serialization: Serialization::Json,
    });
    assert_eq!(
        Value::string(as_plain.to_payload(None).unwrap()),
        inner,
        "EncryptedStore's plaintext is serialize(json_encode(attributes))"
    );
}
