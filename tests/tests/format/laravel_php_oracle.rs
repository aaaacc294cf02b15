//! The Rust laravel module against Laravel 8.83's own functions, in one PHP process
//! (`tests/php/laravel_oracle.php`): payloads each side encrypts the other decrypts, for all four
//! ciphers; cookie prefixes; `Str::slug`; and the json session layer against PHP's
//! `json_encode`/`json_decode` on every value fixture and a table of edge cases.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use phpsess::laravel::{
    cookie, slug, AppKey, Cipher, Encoding, Encrypter, LaravelSession, Serialization,
};
use phpsess::{serialize, Array, Value};
use phpsess_compat::fixtures::{b64, to_b64, value_fixtures, workspace_root};
use phpsess_compat::php::php_binary;
use serde_json::{json, Value as Json};

/// Ask the oracle every request in one process; one answer per request.
fn ask(requests: &[Json]) -> Vec<Json> {
    let script = workspace_root().join("tests/php/laravel_oracle.php");
    let mut child = Command::new(php_binary())
        .args(["-d", "zend.assertions=1", "-d", "assert.exception=1"])
        .args(["-d", "display_errors=stderr"])
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {} (PHP 8.2 CLI needed): {e}",
                php_binary().display()
            )
        });
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let payload: String = requests
        .iter()
        .map(|r| format!("{}\n", to_b64(r.to_string().as_bytes())))
        .collect();
    // Write from another thread: PHP answers while we still feed it.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(payload.as_bytes());
    });
    let stdout = child.stdout.take().expect("stdout was piped");
    let answers: Vec<Json> = BufReader::new(stdout)
        .lines()
        .map(|l| serde_json::from_str(&l.expect("reading PHP")).expect("oracle answers JSON"))
        .collect();
    let out = child.wait_with_output().expect("waiting for PHP");
    writer.join().expect("writer thread");
    assert!(
        out.status.success(),
        "laravel_oracle.php failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(answers.len(), requests.len(), "one answer per request");
    answers
}

const KEY_256: &str = "base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI=";
const KEY_128: &str = "base64:BaBAJlO7ojpTgUyostkuJA==";

fn key_for(cipher: Cipher) -> &'static str {
    if cipher.key_len() == 16 {
        KEY_128
    } else {
        KEY_256
    }
}

fn plaintexts() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"x".to_vec(),
        b"exactly 16 bytes".to_vec(),
        br#"a:1:{s:6:"_token";s:40:"0123456789abcdefghijABCDEFGHIJ0123456789";}"#.to_vec(),
        (0u8..=255).collect(),
    ];
    v.push("h\u{e9}llo \u{1f600}".repeat(300).into_bytes());
    v
}

#[test]
fn encrypter_interop_both_ways() {
    let mut requests = Vec::new();
    let mut expected = Vec::new();
    for cipher in Cipher::ALL {
        let enc = Encrypter::new(AppKey::parse(key_for(cipher)).unwrap(), cipher).unwrap();
        for plain in plaintexts() {
            // Rust encrypts, Laravel decrypts (encryptString and encrypt).
            requests.push(
                json!({"op": "decrypt", "key": key_for(cipher), "cipher": cipher.name(),
                "payload": enc.encrypt_string(&plain).unwrap(), "unserialize": false}),
            );
            expected.push(json!({"plain_b64": to_b64(&plain)}));
            let value = Value::string(plain.clone());
            requests.push(
                json!({"op": "decrypt", "key": key_for(cipher), "cipher": cipher.name(),
                "payload": enc.encrypt(&value).unwrap(), "unserialize": true}),
            );
            expected.push(json!({"plain_b64": to_b64(&serialize(&value))}));
            // The 8.54-8.55 MAC on GCM payloads is ignored by 8.83, so such payloads still open.
            if cipher.is_aead() {
                let legacy = enc.clone().with_gcm_mac(true);
                requests.push(
                    json!({"op": "decrypt", "key": key_for(cipher), "cipher": cipher.name(),
                    "payload": legacy.encrypt_string(&plain).unwrap(), "unserialize": false}),
                );
                expected.push(json!({"plain_b64": to_b64(&plain)}));
            }
            // Laravel encrypts, Rust decrypts (checked below).
            requests.push(
                json!({"op": "encrypt", "key": key_for(cipher), "cipher": cipher.name(),
                "plain_b64": to_b64(&plain)}),
            );
            expected.push(Json::Null);
        }
    }
    // A payload Laravel must refuse: altered MAC.
    let enc = Encrypter::new(AppKey::parse(KEY_256).unwrap(), Cipher::Aes256Cbc).unwrap();
    let good = enc.encrypt_string(b"x").unwrap();
    let mut env = phpsess::laravel::Envelope::parse(good.as_bytes()).unwrap();
    env.mac = env.mac.replace(|c: char| c.is_ascii_digit(), "a");
    requests.push(
        json!({"op": "decrypt", "key": KEY_256, "cipher": "aes-256-cbc",
        "payload": env.to_payload(), "unserialize": false}),
    );
    expected.push(json!({"error": "The MAC is invalid."}));

    let answers = ask(&requests);
    let mut checked = 0;
    for ((req, want), got) in requests.iter().zip(&expected).zip(&answers) {
        if req["op"] == "encrypt" {
            let cipher: Cipher = req["cipher"].as_str().unwrap().parse().unwrap();
            let enc = Encrypter::new(AppKey::parse(key_for(cipher)).unwrap(), cipher).unwrap();
            let payload = got["payload"].as_str().unwrap();
            let plain = enc.decrypt_string(payload.as_bytes()).unwrap();
            assert_eq!(to_b64(&plain), req["plain_b64"], "{cipher}");
        } else {
            assert_eq!(got, want, "{req}");
        }
        checked += 1;
    }
    assert_eq!(checked, 4 * 6 * 3 + 2 * 6 + 1);
}

#[test]
fn cookie_prefixes_and_slugs_match_laravel() {
    let names = [
        "laravel_session",
        "laravel-session",
        "XSRF-TOKEN",
        "my_app_session",
        "remember_web_59ba36addc2b2f9401580f014c7f58ea4e30989d",
        "",
    ];
    let titles = [
        "Laravel",
        "My App",
        "Acme Shop 2",
        "  --a__b--  ",
        "foo@bar.com",
        "Hello,   World!!",
        "_-_",
        "UPPER lower 123",
        "tab\there",
        "a.b/c\\d",
        "",
        "@",
        "x@@y",
        "--lead and trail__",
    ];
    let mut requests = Vec::new();
    for name in names {
        for key in [KEY_256, KEY_128, "0123456789abcdef0123456789abcdef"] {
            requests.push(json!({"op": "prefix", "name": name, "key": key}));
        }
    }
    for title in titles {
        for sep in ["_", "-"] {
            requests.push(json!({"op": "slug", "title": title, "sep": sep}));
        }
    }
    let answers = ask(&requests);
    for (req, got) in requests.iter().zip(&answers) {
        if req["op"] == "prefix" {
            let key = AppKey::parse(req["key"].as_str().unwrap()).unwrap();
            let ours = cookie::cookie_prefix(req["name"].as_str().unwrap(), &key);
            assert_eq!(got["prefix"], ours, "{req}");
        } else {
            let sep = req["sep"].as_str().unwrap().chars().next().unwrap();
            let ours = slug(req["title"].as_str().unwrap(), sep).unwrap();
            assert_eq!(got["slug"], ours, "{req}");
        }
    }
}

/// Values a json session refuses by design (json_decode never gives them back).
fn holds_non_array_compound(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.iter().any(|(_, v)| holds_non_array_compound(v)),
        Value::Null | Value::Bool(_) | Value::Int(_) | Value::Float(_) | Value::String(_) => false,
        _ => true,
    }
}

fn json_session(attributes: Array) -> LaravelSession {
    let mut s = LaravelSession::new(Encoding {
        encrypted: false,
        serialization: Serialization::Json,
    });
    *s.attributes_mut() = attributes;
    s
}

#[test]
fn json_layer_matches_json_encode_and_json_decode() {
    let (_, fixtures) = value_fixtures();
    let mut requests = Vec::new();
    let mut ours = Vec::new();
    for f in &fixtures {
        let value = phpsess::unserialize(&f.serialized).unwrap();
        if holds_non_array_compound(&value) {
            continue;
        }
        let mut attrs = Array::new();
        attrs.insert("v", value);
        let wrapped = serialize(&Value::Array(attrs.clone()));
        requests.push(json!({"op": "json_encode", "serialized_b64": to_b64(&wrapped)}));
        ours.push((f.name.clone(), json_session(attrs).to_payload(None).ok()));
    }
    assert!(ours.len() > 60, "only {} fixtures", ours.len());
    let answers = ask(&requests);
    let mut decode_inputs: Vec<String> = Vec::new();
    for ((name, ours), got) in ours.iter().zip(&answers) {
        let php = got["json"].as_str().map(str::to_owned);
        let ours = ours.as_ref().map(|b| String::from_utf8(b.clone()).unwrap());
        assert_eq!(ours, php, "json_encode of fixture {name}");
        if let Some(text) = php {
            decode_inputs.push(text);
        }
    }

    // json_decode: PHP's own output, and edge cases.
    for edge in [
        "[-0, -0.0, 0.0, 1E400, -1e400, 1e-400]",
        "[9223372036854775807, -9223372036854775808, -9223372036854775809, 18446744073709551616]",
        "{\"a\":1,\"a\":2,\"b\":3}",
        "{\"5\":1,\"05\":2,\"-5\":3,\"-0\":4,\"\":5}",
        "[\"\\u0000\\u001f\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\"]",
        "[\"\\ud800\"]",
        "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]",
        "[1,2",
        "[01]",
        "[1.]",
        "[.5]",
        "[1e]",
        "[\"\t\"]",
        "[\"\u{7f}\"]",
        "[tru]",
        "[true ,false, null ]",
        "{\"a\" : [ ] , \"b\":{ }}",
        "[1] ",
        "[1] x",
        "{\"a\":1,}",
        "[\"\\x\"]",
        "[\"\\u00e9\\u00E9\"]",
    ] {
        decode_inputs.push(edge.to_owned());
    }
    let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    decode_inputs.push(nested(511));
    decode_inputs.push(nested(512));
    let requests: Vec<Json> = decode_inputs
        .iter()
        .map(|t| json!({"op": "json_decode", "json": t}))
        .collect();
    let answers = ask(&requests);
    for (text, got) in decode_inputs.iter().zip(&answers) {
        let ours = LaravelSession::from_payload(text.as_bytes(), None)
            .map(|s| serialize(&Value::Array(s.attributes().clone())));
        match (&ours, got.get("serialized_b64")) {
            (Ok(bytes), Some(php)) => {
                assert_eq!(
                    String::from_utf8_lossy(bytes),
                    String::from_utf8_lossy(&b64(php.as_str().unwrap(), "php")),
                    "json_decode({text:?})"
                );
            }
            (Err(_), None) => {}
            _ => panic!(
                "json_decode({:?}): ours {:?}, PHP {got}",
                shorten(text),
                ours.map(|b| shorten(&String::from_utf8_lossy(&b)))
            ),
        }
    }
}

fn shorten(s: &str) -> String {
    if s.len() > 120 {
        format!("{}...({} bytes)", &s[..s.floor_char_boundary(120)], s.len())
    } else {
        s.to_owned()
    }
}
