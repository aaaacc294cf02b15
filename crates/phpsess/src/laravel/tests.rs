//! Error cases of the Laravel layer, as tables with exact messages: wrong key, altered MAC,
//! ciphertext and tag, truncated cookies, wrong cipher, bad base64, bad JSON envelopes, payloads
//! that are not sessions; and the 8.54–8.55 GCM MAC against a payload made by Laravel v8.55.0.

use super::*;
use crate::value::Value;
use crate::Error;

const KEY: &str = "base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=";
const OTHER_KEY: &str = "base64:IirgctVZW+1jvrRNqS0eosvaOZ1C+MVw+bjbwcvYU5c=";
const PLAIN: &[u8] = br#"a:1:{s:6:"_token";s:40:"0123456789abcdefghijABCDEFGHIJ0123456789";}"#;

fn enc(key: &str, cipher: Cipher) -> Encrypter {
    Encrypter::new(AppKey::parse(key).unwrap(), cipher).unwrap()
}

fn err_text(r: crate::Result<impl std::fmt::Debug>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

/// `payload` with one envelope member rewritten by `f`.
fn edit(payload: &str, f: impl FnOnce(&mut Envelope)) -> String {
    let mut env = Envelope::parse(payload.as_bytes()).unwrap();
    f(&mut env);
    env.to_payload()
}

/// Replace the character at `at` of a base64 or hex string with a different one of the same kind.
fn flip(s: &mut String, at: usize) {
    let mut bytes = s.clone().into_bytes();
    bytes[at] = match bytes[at] {
        b'A' => b'B',
        b'0' => b'1',
        b'a' => b'b',
        _ => b'A',
    };
    *s = String::from_utf8(bytes).unwrap();
}

#[test]
fn altered_or_foreign_payloads_fail_with_the_reason() {
    let cbc = enc(KEY, Cipher::Aes256Cbc);
    let gcm = enc(KEY, Cipher::Aes256Gcm);
    let p_cbc = cbc.encrypt_string(PLAIN).unwrap();
    let p_gcm = gcm.encrypt_string(PLAIN).unwrap();
    let mac_err = "laravel: MAC mismatch under all 1 key(s): wrong APP_KEY (or a previous key missing), or the payload was altered";
    let tag_err = "laravel: AES-GCM tag mismatch under all 1 key(s): wrong APP_KEY (or a previous key missing), or the payload was altered";
    let b64 = |s: &str| crate::laravel::app_key::b64_encode(s.as_bytes());
    let cases: Vec<(&str, &Encrypter, String, String)> = vec![
        (
            "wrong key, CBC",
            &cbc,
            enc(OTHER_KEY, Cipher::Aes256Cbc).encrypt_string(PLAIN).unwrap(),
            mac_err.into(),
        ),
        (
            "wrong key, GCM",
            &gcm,
            enc(OTHER_KEY, Cipher::Aes256Gcm).encrypt_string(PLAIN).unwrap(),
            tag_err.into(),
        ),
        ("flipped MAC", &cbc, edit(&p_cbc, |e| flip(&mut e.mac, 5)), mac_err.into()),
        (
            "uppercase MAC (hash_equals is exact)",
            &cbc,
            edit(&p_cbc, |e| e.mac = e.mac.to_uppercase()),
            mac_err.into(),
        ),
        ("flipped CBC ciphertext", &cbc, edit(&p_cbc, |e| flip(&mut e.value, 3)), mac_err.into()),
        ("flipped CBC IV", &cbc, edit(&p_cbc, |e| flip(&mut e.iv, 0)), mac_err.into()),
        ("flipped GCM ciphertext", &gcm, edit(&p_gcm, |e| flip(&mut e.value, 3)), tag_err.into()),
        (
            "flipped GCM tag",
            &gcm,
            edit(&p_gcm, |e| flip(e.tag.as_mut().unwrap(), 2)),
            tag_err.into(),
        ),
        (
            "GCM payload, CBC app",
            &cbc,
            p_gcm.clone(),
            "laravel: payload does not fit the configured cipher aes-256-cbc: the IV is 12 bytes (an AES-GCM payload), aes-256-cbc uses 16".into(),
        ),
        (
            "CBC payload, GCM app",
            &gcm,
            p_cbc.clone(),
            "laravel: payload does not fit the configured cipher aes-256-gcm: the IV is 16 bytes (an AES-CBC payload), aes-256-gcm uses 12".into(),
        ),
        (
            "CBC payload with a tag",
            &cbc,
            edit(&p_cbc, |e| e.tag = Some("AAAAAAAAAAAAAAAAAAAAAA==".into())),
            "laravel: payload does not fit the configured cipher aes-256-cbc: it carries a GCM tag, CBC has none (Laravel: \"Unable to use tag\")".into(),
        ),
        (
            "GCM payload without a tag",
            &gcm,
            edit(&p_gcm, |e| e.tag = None),
            "laravel: payload does not fit the configured cipher aes-256-gcm: it has no tag (an AES-CBC payload?)".into(),
        ),
        (
            "short GCM tag",
            &gcm,
            edit(&p_gcm, |e| e.tag = Some("AAAA".into())),
            "laravel: not a Laravel encrypted payload: the GCM tag is 3 bytes, not 16".into(),
        ),
        (
            "bad base64 outside",
            &cbc,
            format!("eyJp*{}", &p_cbc[5..]),
            "laravel: payload is not base64: unexpected '*' at byte 4".into(),
        ),
        (
            "bad base64 IV",
            &cbc,
            edit(&p_cbc, |e| e.iv = "!!".into()),
            "laravel: iv is not base64: unexpected '!' at byte 0".into(),
        ),
        (
            "not JSON",
            &cbc,
            b64("hello"),
            "laravel: not a Laravel encrypted payload: the base64 does not hold JSON: expected value at line 1 column 1".into(),
        ),
        (
            "JSON array",
            &cbc,
            b64("[1,2]"),
            "laravel: not a Laravel encrypted payload: the JSON is not an object".into(),
        ),
        (
            "iv a number",
            &cbc,
            b64(r#"{"iv":1,"value":"","mac":""}"#),
            "laravel: not a Laravel encrypted payload: member \"iv\" is a number, not a string".into(),
        ),
        (
            "no mac",
            &cbc,
            b64(r#"{"iv":"","value":""}"#),
            "laravel: not a Laravel encrypted payload: member \"mac\" is missing".into(),
        ),
        ("empty", &cbc, String::new(), "laravel: payload is truncated: its JSON ends early (EOF while parsing a value at line 1 column 0)".into()),
    ];
    for (what, e, payload, want) in cases {
        assert_eq!(
            err_text(e.decrypt_string(payload.as_bytes())),
            want,
            "{what}"
        );
    }
}

#[test]
fn every_truncation_of_a_cookie_says_truncated() {
    let e = enc(KEY, Cipher::Aes256Cbc);
    let value = cookie::session_cookie_value(
        &e,
        "laravel_session",
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd",
    )
    .unwrap();
    let unpadded = value.trim_end_matches('=').len();
    for cut in 1..value.len() {
        match cookie::session_id_from_cookie(&e, "laravel_session", &value[..cut]) {
            Err(Error::Laravel(LaravelError::Truncated {
                what: "payload", ..
            })) if cut < unpadded => {}
            // Only '=' padding lost: every byte is still there (PHP decodes it too).
            Ok(id) if cut >= unpadded => assert_eq!(id, "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd"),
            other => panic!("cut at {cut} of {}: {other:?}", value.len()),
        }
    }
    // Cut on the wire, inside "%3D".
    let wire = cookie::url_encode(&value);
    let cut = &wire[..wire.len() - 2];
    assert_eq!(
        err_text(cookie::session_id_from_cookie(&e, "laravel_session", cut)),
        "laravel: cookie is truncated: it ends inside a %XX escape"
    );
}

#[test]
fn keys_must_fit_the_cipher() {
    let cases = [
        (
            KEY,
            Cipher::Aes128Cbc,
            "laravel: aes-128-cbc needs a 16-byte key, this APP_KEY has 32 bytes",
        ),
        (
            "0123456789abcdef",
            Cipher::Aes256Gcm,
            "laravel: aes-256-gcm needs a 32-byte key, this APP_KEY has 16 bytes",
        ),
    ];
    for (key, cipher, want) in cases {
        assert_eq!(
            err_text(Encrypter::new(AppKey::parse(key).unwrap(), cipher)),
            want
        );
    }
    let previous = AppKey::parse("0123456789abcdef").unwrap();
    assert_eq!(
        err_text(enc(KEY, Cipher::Aes256Cbc).with_previous_keys(vec![previous])),
        "laravel: aes-256-cbc needs a 32-byte key, this APP_KEY has 16 bytes"
    );
    assert_eq!(
        "AES-256-CBC".parse::<Cipher>().unwrap(),
        Cipher::Aes256Cbc,
        "case-insensitive, as Laravel since 8.58"
    );
    assert_eq!(
        "aes-192-cbc".parse::<Cipher>().unwrap_err().to_string(),
        "unsupported cipher \"aes-192-cbc\": Laravel supports aes-128-cbc, aes-256-cbc, aes-128-gcm, aes-256-gcm"
    );
    // A raw (not base64:) 32-character key works for AES-256.
    let raw = enc("0123456789abcdef0123456789abcdef", Cipher::Aes256Cbc);
    let p = raw.encrypt_string(b"x").unwrap();
    assert_eq!(raw.decrypt_string(p.as_bytes()).unwrap(), b"x");
}

#[test]
fn every_cipher_round_trips_with_rotation() {
    for cipher in Cipher::ALL {
        let old = AppKey::from_bytes(vec![1u8; cipher.key_len()]);
        let new = AppKey::from_bytes(vec![2u8; cipher.key_len()]);
        let before = Encrypter::new(old.clone(), cipher).unwrap();
        let after = Encrypter::new(new, cipher)
            .unwrap()
            .with_previous_keys(vec![old])
            .unwrap();
        let p = before.encrypt(&Value::string(b"v".to_vec())).unwrap();
        assert_eq!(
            after.decrypt(p.as_bytes()).unwrap(),
            Value::string(b"v".to_vec()),
            "{cipher}"
        );
        let q = after.encrypt_string(b"w").unwrap();
        let keys_tried = match before.decrypt_string(q.as_bytes()) {
            Err(Error::Laravel(LaravelError::MacMismatch { keys_tried }))
            | Err(Error::Laravel(LaravelError::TagMismatch { keys_tried })) => keys_tried,
            other => panic!("{cipher}: {other:?}"),
        };
        assert_eq!(keys_tried, 1);
        // A cookie prefixed with the old key still gives its id after rotation (Laravel 11+).
        let id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd";
        let c = cookie::session_cookie_value(&before, "laravel_session", id).unwrap();
        assert_eq!(
            cookie::session_id_from_cookie(&after, "laravel_session", &c).unwrap(),
            id
        );
    }
}

#[test]
fn gcm_mac_of_laravel_8_55() {
    // Made by laravel/framework v8.55.0's Encrypter (AES-256-GCM, encryptString) under PHP 8.2;
    // Laravel 8.83 decrypts it too (measured), ignoring the mac.
    let made_by_855 = "eyJpdiI6IlJiZmdoZ2R1d2ZiMTgvaGkiLCJ2YWx1ZSI6IkEvUXJxcnpBN1c3eHhYRE55SEUyMUFhN0hqY2lpZXRKeVNxSEJ2aVR5YnQveTc4ZWpFMWNraDRpQ2pXY2dGeHVmOS80aXpoSThvSWlZS29XQ1hxNVkxMnNzQT09IiwibWFjIjoiMTFhYTIwODE1NjBkM2NmMjFlNmJjYTkzMWY2NmUzOGQ5MDhkNjFiYTRhMWE5M2JhNjEzZDhlNzNlOTZiOWZhZSIsInRhZyI6IjFaSWlTV2RUNk9oMEFDOUsrM2NUTFE9PSJ9";
    let modern = enc(KEY, Cipher::Aes256Gcm);
    assert_eq!(
        modern.decrypt_string(made_by_855.as_bytes()).unwrap(),
        PLAIN
    );
    let iv = crate::laravel::app_key::b64_decode("iv", b"Rbfghgduwfb18/hi", false).unwrap();
    let legacy = modern.clone().with_gcm_mac(true);
    assert_eq!(
        legacy.encrypt_string_with_iv(PLAIN, &iv).unwrap(),
        made_by_855
    );
    // Without the option the mac is "", as 8.56+ writes it.
    let p = modern.encrypt_string_with_iv(PLAIN, &iv).unwrap();
    assert_eq!(Envelope::parse(p.as_bytes()).unwrap().mac, "");
    // An altered mac is refused (Laravel 8.56+ would ignore it; we do not accept altered payloads).
    let bad = edit(made_by_855, |e| flip(&mut e.mac, 0));
    assert_eq!(
        err_text(modern.decrypt_string(bad.as_bytes())),
        "laravel: MAC mismatch under all 1 key(s): wrong APP_KEY (or a previous key missing), or the payload was altered"
    );
}

#[test]
fn stored_values_that_are_not_sessions() {
    let e = enc(KEY, Cipher::Aes256Cbc);
    let cases: [(&[u8], &str); 6] = [
        (b"i:5;", "laravel: bad session payload (cache value): expected a PHP string (s:N:\"...\";), found int (not a session: the cache shares the prefix)"),
        (b"s:5:\"a:1:{\";", "laravel: bad session payload (php session): array declares 1 but only 0 bytes remain at byte 0"),
        (b"s:3:\"{x}\";", "laravel: bad session payload (json session): expected a string key in object: unexpected 'x' at byte 1"),
        (b"s:3:\"zzz\";", "laravel: not a Laravel encrypted payload: the base64 does not hold JSON: expected value at line 1 column 1"),
        (b"s:4:\"a:1:\";", "laravel: bad session payload (php session): unexpected end of input in array at byte 4"),
        (b"garbage", "laravel: bad session payload (cache value): not a PHP string: unknown type tag 'g' at byte 0"),
    ];
    for (stored, want) in cases {
        assert_eq!(
            err_text(LaravelSession::from_cache_value(stored, Some(&e))),
            want,
            "{}",
            String::from_utf8_lossy(stored)
        );
    }
    let encrypted = LaravelSession::new(Encoding {
        encrypted: true,
        serialization: Serialization::Php,
    })
    .to_cache_value(Some(&e))
    .unwrap();
    assert_eq!(
        err_text(LaravelSession::from_cache_value(&encrypted, None)),
        "unsupported: the session is encrypted (session.encrypt) and no APP_KEY was given"
            .replace("unsupported", "laravel: unsupported")
    );
    // An encrypted payload whose plaintext is not a session.
    let not_session = crate::serialize(&Value::String(
        e.encrypt(&Value::string(b"hello".to_vec()))
            .unwrap()
            .into_bytes()
            .into(),
    ));
    assert_eq!(
        err_text(LaravelSession::from_cache_value(&not_session, Some(&e))),
        "laravel: bad session payload (encrypted session): the decrypted payload starts with \"hello\", neither php (a:) nor json ({, [)"
    );
    let json_object = LaravelSession::new(Encoding {
        encrypted: false,
        serialization: Serialization::Json,
    });
    let mut s = json_object.clone();
    s.put("obj", Value::Object(crate::value::Object::new("App\\User")));
    assert_eq!(
        err_text(s.to_payload(None)),
        "laravel: cannot encode the session as json: $.obj is object, which a json session cannot hold"
    );
}

#[test]
fn attributes_helpers_follow_laravel() {
    let mut s = LaravelSession::new(Encoding::default());
    s.put("_previous.url", Value::string(b"http://x/".to_vec()));
    s.put("a.b.c", Value::Int(1));
    s.put("a.b.d", Value::Int(2));
    s.put("5", Value::Int(5));
    assert_eq!(s.previous_url(), Some("http://x/"));
    assert_eq!(s.get("a.b.d"), Some(&Value::Int(2)));
    assert_eq!(
        s.attributes().get(5i64),
        Some(&Value::Int(5)),
        "\"5\" is the int key 5, as in PHP"
    );
    s.set_user_id("web", UserId::Str("01HZY".into()));
    assert_eq!(s.user_id("web"), Some(UserId::Str("01HZY".into())));
    assert_eq!(
        crate::serialize(&Value::Array(s.attributes().clone())),
        br#"a:4:{s:9:"_previous";a:1:{s:3:"url";s:9:"http://x/";}s:1:"a";a:1:{s:1:"b";a:2:{s:1:"c";i:1;s:1:"d";i:2;}}i:5;i:5;s:50:"login_web_59ba36addc2b2f9401580f014c7f58ea4e30989d";s:5:"01HZY";}"#
    );
    assert!(s.logout("web"));
    assert!(!s.logout("web"));
    assert_eq!(s.forget("a.b.c"), Some(Value::Int(1)));
    assert_eq!(s.get("a.b.c"), None);
    // A string in the way of a dotted put is replaced by an array, as Arr::set does.
    s.put("5.x", Value::Null);
    assert_eq!(s.get("5.x"), Some(&Value::Null));

    // Flash for the next request: at rest Laravel keeps such keys in _flash.old.
    s.flash("status", Value::string(b"saved".to_vec()));
    s.flash("status", Value::string(b"saved again".to_vec()));
    assert_eq!(
        s.flash_keys(),
        FlashKeys {
            new: vec![],
            old: vec!["status".into()]
        }
    );
    assert_eq!(
        s.flashed(),
        vec![("status".to_owned(), &Value::string(b"saved again".to_vec()))]
    );
    assert_eq!(
        login_key_for("admin", "App\\Auth\\MyGuard"),
        format!(
            "login_admin_{}",
            crate::laravel::encrypter::hex(&{
                use sha1::Digest;
                sha1::Sha1::digest(b"App\\Auth\\MyGuard")
            })
        )
    );
}

#[test]
fn user_ids_match_as_text() {
    let cases = [
        ("42", UserId::Int(42)),
        ("-1", UserId::Int(-1)),
        ("042", UserId::Str("042".into())),
        ("+4", UserId::Str("+4".into())),
        (
            "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d",
            UserId::Str("9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d".into()),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(UserId::parse(text), want, "{text}");
    }
    let same = [
        (UserId::Int(42), UserId::Int(42)),
        (UserId::Int(42), UserId::Str("42".into())),
        (UserId::Str("42".into()), UserId::Int(42)),
        (UserId::Str("ab".into()), UserId::Str("ab".into())),
    ];
    for (a, b) in same {
        assert!(a.same_user(&b), "{a:?} {b:?}");
    }
    let different = [
        (UserId::Int(42), UserId::Int(4)),
        (UserId::Int(42), UserId::Str("042".into())),
        (UserId::Str("ab".into()), UserId::Str("AB".into())),
    ];
    for (a, b) in different {
        assert!(!a.same_user(&b), "{a:?} {b:?}");
    }
}

#[test]
fn attribute_sizes_see_through_every_envelope() {
    let key = "base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=";
    let e = enc(key, Cipher::Aes256Cbc);
    for serialization in [Serialization::Php, Serialization::Json] {
        for encrypted in [false, true] {
            let mut s = LaravelSession::new(Encoding {
                encrypted,
                serialization,
            });
            s.put("cart", Value::string(vec![b'x'; 3000]));
            s.put("n", Value::Int(7));
            let stored = s.to_cache_value(Some(&e)).unwrap();
            let (encoding, sizes) = LaravelSession::attribute_sizes(&stored, Some(&e)).unwrap();
            assert_eq!(encoding, s.encoding());
            let got: Vec<(&str, usize)> =
                sizes.iter().map(|v| (v.name.as_str(), v.bytes)).collect();
            let want = match serialization {
                // s:4:"cart";s:3000:"…";  s:1:"n";i:7;
                Serialization::Php => [("cart", 11 + 3000 + 10), ("n", 8 + 4)],
                // "cart":"…"  "n":7
                Serialization::Json => [("cart", 7 + 3002), ("n", 5)],
            };
            assert_eq!(got, want, "{serialization} encrypted={encrypted}");
        }
    }
    // Encrypted without the key: an error saying so, not sizes of ciphertext.
    let mut s = LaravelSession::new(Encoding {
        encrypted: true,
        serialization: Serialization::Php,
    });
    s.put("a", Value::Int(1));
    let stored = s.to_cache_value(Some(&e)).unwrap();
    assert!(err_text(LaravelSession::attribute_sizes(&stored, None)).contains("no APP_KEY"));
}

#[test]
fn cookie_prefixes_computed_once_open_the_same_cookies() {
    use super::cookie::{
        cookie_prefix, session_cookie_value, session_id_from_cookie,
        session_id_from_cookie_with_prefixes,
    };
    let key = AppKey::parse("base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=").unwrap();
    let enc = Encrypter::new(key.clone(), Cipher::Aes256Cbc).unwrap();
    let prefixes = vec![cookie_prefix("laravel_session", &key)];
    let id = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd";
    let value = session_cookie_value(&enc, "laravel_session", id).unwrap();
    assert_eq!(
        session_id_from_cookie_with_prefixes(&enc, "laravel_session", &prefixes, &value).unwrap(),
        session_id_from_cookie(&enc, "laravel_session", &value).unwrap()
    );
    // Another cookie's prefix is refused, as by session_id_from_cookie.
    let other = session_cookie_value(&enc, "other", id).unwrap();
    let err = session_id_from_cookie_with_prefixes(&enc, "laravel_session", &prefixes, &other)
        .unwrap_err();
    assert!(err.to_string().contains("laravel_session"), "{err}");
}

#[test]
fn url_decode_agrees_with_percent_decoding() {
    let mut rng = crate::test_rng::Rng(0x5eed_c00c);
    let alphabet = b"%%%0123456789abcdefABCDEFgz=+/ ";
    for _ in 0..20_000 {
        let len = rng.below(12);
        let text: String = (0..len)
            .map(|_| char::from(alphabet[rng.below(alphabet.len())]))
            .collect();
        let want: Vec<u8> = percent_encoding::percent_decode(text.trim().as_bytes()).collect();
        assert_eq!(
            cookie::url_decode(&text).as_ref(),
            want.as_slice(),
            "{text:?}"
        );
    }
}

/// The read-only extractor's lazy session gives what the eager decoder gives: the same errors,
/// the same `web` user, the same tree.
#[cfg(feature = "axum")]
#[test]
fn the_lazy_session_agrees_with_the_eager_one() {
    let e = enc(KEY, Cipher::Aes256Cbc);
    let web = login_key("web");
    let mut stored: Vec<Vec<u8>> = [
        b"i:5;".as_slice(),
        b"s:5:\"a:1:{\";",
        b"s:3:\"{x}\";",
        b"s:3:\"zzz\";",
        b"s:4:\"a:1:\";",
        b"garbage",
        b"s:6:\"a:0:{}\";",
        b"s:2:\"[]\";",
        b"s:10:\"O:1:\"A\":0:{}\";",
        b"s:12:\"a:1:{i:0;N;}\";",
    ]
    .iter()
    .map(|b| b.to_vec())
    .collect();
    for encrypted in [false, true] {
        for serialization in [Serialization::Php, Serialization::Json] {
            for user in [
                None,
                Some(Value::Int(42)),
                Some(Value::string("9f8e-uuid")),
                Some(Value::Float(1.5)),
            ] {
                let mut s = LaravelSession::new(Encoding {
                    encrypted,
                    serialization,
                });
                s.put(
                    "_token",
                    Value::string("KlwvjQE7LWt1p4nMT08mxICJ5HMhYjJlEtDq1ZLT"),
                );
                s.put("_previous.url", Value::string("http://localhost/home"));
                if let Some(u) = user {
                    s.put(&web, u);
                }
                stored.push(s.to_cache_value(Some(&e)).unwrap());
            }
        }
    }
    // The cache layer as an escaped `S:` string (no PHP writes one, anyone with Redis access can
    // store one): unescaped into a copy, never located in the input by address (fuzzing found
    // that mistake: an overflow, or garbage offsets in a release build).
    let attributes = format!("a:1:{{s:{n}:\"{web}\";i:7;}}", n = web.len());
    let escaped = format!("\\61{}", &attributes[1..]);
    let escaped = format!("S:{}:\"{escaped}\";", attributes.len()).into_bytes();
    let unescaped = LaravelSession::from_cache_value(&escaped, None).unwrap();
    assert_eq!(unescaped.user_id("web"), Some(UserId::Int(7)));
    stored.push(escaped);
    stored.push(b"S:107:\"a:4:{s:4:\"name\";s:13:\"J\xc3\xa9r\xc3\xb4me \xf0\x9f\x98\x80\";s:5:\"slash\";s:3:\"a/b\";s:3:\"neg\";d:-0;s:3:\"big\";i:9223372036\xc554\xa475807;}\";".to_vec());
    // A repeated key: PHP keeps the last value, and so must the lookup of the user.
    stored.push(crate::serialize(&Value::string(
        format!(
            "a:2:{{s:{n}:\"{web}\";i:1;s:{n}:\"{web}\";i:2;}}",
            n = web.len()
        )
        .into_bytes(),
    )));
    for value in stored {
        let eager = LaravelSession::from_cache_value(&value, Some(&e));
        let lazy = LazySession::from_cache_value(value.clone(), Some(&e));
        let value = &value;
        let shown = String::from_utf8_lossy(value).into_owned();
        match (eager, lazy) {
            (Ok(eager), Ok(lazy)) => {
                if value.starts_with(b"S:") {
                    assert_eq!(eager.user_id("web"), Some(UserId::Int(7)), "{shown}");
                }
                assert_eq!(lazy.web_user_id(), eager.user_id("web"), "{shown}");
                assert_eq!(lazy.session(), &eager, "{shown}");
            }
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{shown}"),
            (a, b) => panic!(
                "{shown}: eager {a:?}, lazy {:?}",
                b.map(|l| l.web_user_id())
            ),
        }
    }
}
