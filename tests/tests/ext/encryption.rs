//! Encryption at rest (`phpsess.encryption`, `phpsess.encryption_key`, `phpsess.previous_keys`) in
//! the real PHP CLI against a real redis-server: the raw bytes in Redis hold none of the session,
//! a value moved under another key or with one bit flipped is treated as absent with a warning
//! and kept, rotation keeps sessions readable and re-encrypts them on write, `migrate` reads
//! plaintext and `on` refuses it, and the key appears in no warning and no phpinfo output.
//! Runs `tests/php/ext_encryption.php`.

use base64::Engine;
use phpsess::store::{envelope_key_id, AtRestKey, Compression};
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::json;

use crate::support::{warnings, Php};

const SCRIPT: &str = "ext_encryption.php";
const MARKER: &str = "PLAINTEXT-MARKER-4f1d";

fn key_text(byte: u8) -> String {
    format!(
        "base64:{}",
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    )
}

fn key_id(byte: u8) -> String {
    AtRestKey::from_bytes([byte; 32]).id().to_string()
}

fn php(server: &RedisServer, mode: &str, key: u8) -> Php {
    Php::standalone(&server.addr())
        .ini("phpsess.encryption", mode)
        .ini("phpsess.encryption_key", &key_text(key))
}

fn raw(server: &RedisServer, id: &str) -> Vec<u8> {
    server
        .connection()
        .get(format!("PHPREDIS_SESSION:{id}"))
        .unwrap()
}

fn set_raw(server: &RedisServer, id: &str, value: &[u8]) {
    let _: () = server
        .connection()
        .set(format!("PHPREDIS_SESSION:{id}"), value)
        .unwrap();
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// Reads `ids` in one PHP process; returns (sessions, warnings).
fn read(php: &Php, ids: &[&str]) -> (Vec<serde_json::Value>, Vec<String>) {
    let mut args = vec!["read"];
    args.extend_from_slice(ids);
    let v = php.json(SCRIPT, &args);
    let sessions = v["sessions"].as_array().unwrap().clone();
    (sessions, warnings(&v))
}

#[test]
fn stored_bytes_hold_no_plaintext_and_read_back() {
    let server = RedisServer::start();
    for compression in ["none", "zstd", "lzf", "lz4"] {
        let id = format!("enc{compression}{}", "a".repeat(24));
        let p = php(&server, "on", 1).ini("phpsess.compression", compression);
        let v = p.json(SCRIPT, &["write", &id, "secret", &MARKER.repeat(20)]);
        assert_eq!(v["ok"], json!(true), "{v}");
        assert_eq!(warnings(&v), Vec::<String>::new());
        let stored = raw(&server, &id);
        assert!(
            stored.starts_with(b"\xFFPSE\x01"),
            "{compression}: {stored:?}"
        );
        assert!(!contains(&stored, MARKER), "{compression}: marker in Redis");
        assert!(!contains(&stored, "secret"), "{compression}: name in Redis");
        // Compressed before sealing: 20 repeats shrink below their length under a real codec.
        if compression != "none" {
            assert!(
                stored.len() < MARKER.len() * 20,
                "{compression}: {}",
                stored.len()
            );
        }
        assert_eq!(envelope_key_id(&stored).unwrap().to_string(), key_id(1));
        let (sessions, warns) = read(&p, &[&id]);
        assert_eq!(sessions[0]["session"], json!({"secret": MARKER.repeat(20)}));
        assert_eq!(warns, Vec::<String>::new());
    }
}

#[test]
fn a_value_moved_to_another_key_is_absent_warned_and_kept() {
    let server = RedisServer::start();
    let p = php(&server, "on", 1);
    let from = "movefrom0000000000000000000";
    let to = "moveto000000000000000000000";
    p.json(SCRIPT, &["write", from, "user", "alice"]);
    let stolen = raw(&server, from);
    set_raw(&server, to, &stolen);
    let (sessions, warns) = read(&p, &[to]);
    assert_eq!(sessions[0]["ok"], json!(true), "a new session starts");
    assert_eq!(sessions[0]["session"], json!([]));
    assert_eq!(
        warns,
        vec![format!(
            "session_start(): phpsess: session moveto… is treated as absent (a new, empty \
             session): it does not authenticate under key id {} (altered, or copied from \
             another key); the stored value is kept until the session is written",
            key_id(1)
        )]
    );
    assert_eq!(
        raw(&server, to),
        stolen,
        "an unchanged session does not erase it"
    );
    // Written with data by the application: replaced by a value of its own.
    let v = p.json(SCRIPT, &["write", to, "user", "mallory"]);
    assert_eq!(v["before"], json!([]));
    assert_ne!(raw(&server, to), stolen);
    let (sessions, warns) = read(&p, &[to, from]);
    assert_eq!(sessions[0]["session"], json!({"user": "mallory"}));
    assert_eq!(sessions[1]["session"], json!({"user": "alice"}));
    assert_eq!(warns, Vec::<String>::new());
}

#[test]
fn one_flipped_bit_anywhere_fails_cleanly() {
    let server = RedisServer::start();
    let p = php(&server, "on", 1);
    let id = "flip000000000000000000000000";
    p.json(SCRIPT, &["write", id, "a", "1"]);
    let sealed = raw(&server, id);
    let ids: Vec<String> = (0..sealed.len())
        .map(|i| format!("flip{i:03}{}", "b".repeat(21)))
        .collect();
    // Each id gets the value sealed for its own key with one bit flipped (a different bit at each
    // position, so every bit index is exercised): the flip is the only thing wrong with it.
    let p_seal = phpsess::store::Encryption::new(
        phpsess::store::EncryptionMode::On,
        AtRestKey::from_bytes([1; 32]),
    );
    for (i, flipped) in ids.iter().enumerate() {
        let mut good = p_seal
            .seal(
                format!("PHPREDIS_SESSION:{flipped}").as_bytes(),
                b"a|s:1:\"1\";",
            )
            .unwrap();
        good[i] ^= 1 << (i % 8);
        set_raw(&server, flipped, &good);
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let (sessions, warns) = read(&p, &refs);
    for (i, s) in sessions.iter().enumerate() {
        assert_eq!(s["ok"], json!(true), "byte {i}: {s}");
        assert_eq!(s["session"], json!([]), "byte {i}: {s}");
    }
    assert_eq!(warns.len(), ids.len(), "{warns:#?}");
    for w in &warns {
        assert!(w.contains("is treated as absent"), "{w}");
    }
    // The unflipped control reads.
    let (sessions, _) = read(&p, &[id]);
    assert_eq!(sessions[0]["session"], json!({"a": "1"}));
}

#[test]
fn rotation_keeps_sessions_and_re_encrypts_on_write() {
    let server = RedisServer::start();
    let id = "rotate00000000000000000000";
    let untouched = "rotate11111111111111111111";
    php(&server, "on", 1).json(SCRIPT, &["write", id, "user", "alice"]);
    php(&server, "on", 1).json(SCRIPT, &["write", untouched, "user", "bob"]);
    let rotated = php(&server, "on", 2).ini("phpsess.previous_keys", &key_text(1));
    let v = rotated.json(SCRIPT, &["write", id, "seen", "yes"]);
    assert_eq!(
        v["before"],
        json!({"user": "alice"}),
        "still logged in: {v}"
    );
    assert_eq!(warnings(&v), Vec::<String>::new());
    let stored = raw(&server, id);
    assert_eq!(envelope_key_id(&stored).unwrap().to_string(), key_id(2));
    let (sessions, warns) = rotated.read_pair(id, untouched);
    assert_eq!(
        sessions[0]["session"],
        json!({"user": "alice", "seen": "yes"})
    );
    assert_eq!(sessions[1]["session"], json!({"user": "bob"}));
    assert_eq!(warns, Vec::<String>::new());
    // Read unchanged, not written: still under the old key.
    assert_eq!(
        envelope_key_id(&raw(&server, untouched))
            .unwrap()
            .to_string(),
        key_id(1)
    );
    // Key 1 dropped: the session under it is absent, with its key id in the warning.
    let (sessions, warns) = read(&php(&server, "on", 2), &[untouched]);
    assert_eq!(sessions[0]["session"], json!([]));
    assert_eq!(warns.len(), 1);
    assert!(
        warns[0].contains(&format!(
            "encrypted under key id {}, which is neither",
            key_id(1)
        )),
        "{warns:?}"
    );
}

trait ReadPair {
    fn read_pair(&self, a: &str, b: &str) -> (Vec<serde_json::Value>, Vec<String>);
}

impl ReadPair for Php {
    fn read_pair(&self, a: &str, b: &str) -> (Vec<serde_json::Value>, Vec<String>) {
        read(self, &[a, b])
    }
}

#[test]
fn migrate_reads_plaintext_and_writes_encrypted_on_refuses_plaintext() {
    let server = RedisServer::start();
    let plain = "plain0000000000000000000000";
    let zstd_plain = "plainz000000000000000000000";
    set_raw(&server, plain, b"user|s:5:\"alice\";");
    let compressed = Compression::Zstd { level: 3 }.compress(b"user|s:3:\"bob\";");
    set_raw(&server, zstd_plain, &compressed);

    // on: plaintext is absent, warned, and kept.
    let (sessions, warns) = read(&php(&server, "on", 1), &[plain]);
    assert_eq!(sessions[0]["session"], json!([]));
    assert_eq!(
        warns,
        vec![
            "session_start(): phpsess: session plain0… is treated as absent (a new, empty \
              session): it is stored unencrypted and phpsess.encryption=on; the stored value is \
              kept until the session is written"
                .to_owned()
        ]
    );
    assert_eq!(raw(&server, plain), b"user|s:5:\"alice\";");

    // migrate: plaintext (compressed too) reads; a write encrypts.
    let migrate = php(&server, "migrate", 1).ini("phpsess.compression", "zstd");
    let (sessions, warns) = read(&migrate, &[plain, zstd_plain]);
    assert_eq!(sessions[0]["session"], json!({"user": "alice"}));
    assert_eq!(sessions[1]["session"], json!({"user": "bob"}));
    assert_eq!(warns, Vec::<String>::new());
    let v = migrate.json(SCRIPT, &["write", plain, "n", "1"]);
    assert_eq!(v["before"], json!({"user": "alice"}));
    let stored = raw(&server, plain);
    assert!(stored.starts_with(b"\xFFPSE"), "{stored:?}");
    assert!(!contains(&stored, "alice"));
    let (sessions, _) = read(
        &php(&server, "on", 1).ini("phpsess.compression", "zstd"),
        &[plain],
    );
    assert_eq!(sessions[0]["session"], json!({"user": "alice", "n": "1"}));
}

#[test]
fn the_key_is_never_shown() {
    let server = RedisServer::start();
    let key = key_text(7);
    let secret = key.trim_start_matches("base64:");
    let p = php(&server, "on", 7).ini("phpsess.previous_keys", &key_text(8));
    let v = p.json(SCRIPT, &["info"]);
    let phpinfo = v["phpinfo"].as_str().unwrap();
    assert!(!phpinfo.contains(secret), "{phpinfo}");
    assert!(!phpinfo.contains(key_text(8).trim_start_matches("base64:")));
    assert_eq!(
        v["info"]["Effective encryption"],
        json!(format!(
            "on: key set, key id {}; previous key ids: {}",
            key_id(7),
            key_id(8)
        ))
    );
    assert_eq!(
        v["info"]["phpsess.encryption_key"],
        json!("(hidden; see Effective encryption) => (hidden; see Effective encryption)")
    );
    let ri = p.output(&["--ri", "phpsess"]);
    assert!(!String::from_utf8_lossy(&ri.stdout).contains(secret));

    // Refused keys: the session does not open (never plaintext where encryption was asked
    // for) and the message names the setting, not the key.
    let short = format!(
        "base64:{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 31])
    );
    for (mode, key, expect) in [
        (
            "on",
            short.as_str(),
            "phpsess: phpsess.encryption_key refused: the key has 31 bytes; AES-256 needs exactly 32; sessions are not opened",
        ),
        (
            "on",
            secret,
            "phpsess: phpsess.encryption_key refused: a key is given as base64:<32 bytes in base64> or file:<path>; sessions are not opened",
        ),
        (
            "on",
            "",
            "phpsess: phpsess.encryption is on but phpsess.encryption_key is empty; sessions are not opened",
        ),
    ] {
        let p = Php::standalone(&server.addr())
            .ini("phpsess.encryption", mode)
            .ini("phpsess.encryption_key", key);
        let (sessions, warns) = read(&p, &["refused000000000000000000"]);
        assert_eq!(sessions[0]["ok"], json!(false), "{key}");
        assert!(warns.iter().any(|w| w.contains(expect)), "{warns:#?}");
        for w in &warns {
            assert!(!w.contains(secret) && !w.contains(&short[7..]), "{w}");
        }
    }
    assert!(!format!("{:?}", AtRestKey::parse(&key).unwrap()).contains(secret));
}

#[test]
fn hashed_ids_show_in_phpinfo_and_refuse_to_open_without_a_key() {
    let server = RedisServer::start();
    let key = key_text(7);
    let secret = key.trim_start_matches("base64:");
    let p = php(&server, "on", 7).ini("phpsess.hash_ids", "1");
    let v = p.json(SCRIPT, &["info"]);
    let phpinfo = v["phpinfo"].as_str().unwrap();
    assert!(!phpinfo.contains(secret), "{phpinfo}");
    assert_eq!(
        v["info"]["Effective encryption"],
        json!(format!(
            "on: key set, key id {}; previous key ids: none; ids hashed (phpsess.hash_ids, a key derived from phpsess.encryption_key)",
            key_id(7)
        ))
    );
    // Written and read back under the stored name; nothing under the id itself.
    let id = "hashedcli0000000000000000";
    let v = p.json(SCRIPT, &["write", id, "n", "1"]);
    assert_eq!(v["ok"], json!(true), "{v}");
    let stored = phpsess::store::IdHasher::new(&AtRestKey::from_bytes([7; 32])).stored_id(id);
    assert!(raw(&server, &stored).starts_with(b"\xFFPSE"));
    assert!(raw(&server, id).is_empty());
    let (sessions, warns) = read(&p, &[id]);
    assert_eq!(sessions[0]["session"], json!({"n": "1"}), "{warns:?}");

    // Without a usable key the session does not open: never stored under its plain id.
    let short = format!(
        "base64:{}",
        base64::engine::general_purpose::STANDARD.encode([7u8; 31])
    );
    for (key, expect) in [
        (
            "",
            "phpsess: phpsess.hash_ids is on but neither phpsess.id_key nor phpsess.encryption_key is set (the id hash key is derived from one); sessions are not opened",
        ),
        (
            short.as_str(),
            "phpsess: phpsess.encryption_key refused: the key has 31 bytes; AES-256 needs exactly 32; sessions are not opened",
        ),
    ] {
        let p = Php::standalone(&server.addr())
            .ini("phpsess.hash_ids", "1")
            .ini("phpsess.encryption_key", key);
        let (sessions, warns) = read(&p, &["refusedhash0000000000000"]);
        assert_eq!(sessions[0]["ok"], json!(false), "{key}");
        assert!(warns.iter().any(|w| w.contains(expect)), "{warns:#?}");
        for w in &warns {
            assert!(!w.contains(&short[7..]), "{w}");
        }
    }
    assert!(raw(&server, "refusedhash0000000000000").is_empty());
}

/// With `phpsess.id_key` the stored names do not depend on the encryption key: rotating
/// `phpsess.encryption_key` (the old one in `phpsess.previous_keys`) keeps every session, and
/// the id key is as hidden as the others.
#[test]
fn an_id_key_of_its_own_lets_the_encryption_key_rotate_under_hashed_ids() {
    let server = RedisServer::start();
    let id_key = key_text(3);
    let before = php(&server, "on", 7)
        .ini("phpsess.hash_ids", "1")
        .ini("phpsess.id_key", &id_key);
    let id = "idkeyrotation000000000000";
    let v = before.json(SCRIPT, &["write", id, "n", "5"]);
    assert_eq!(v["ok"], json!(true), "{v}");
    let stored = phpsess::store::IdHasher::new(&AtRestKey::from_bytes([3; 32])).stored_id(id);
    assert_eq!(
        envelope_key_id(&raw(&server, &stored)).unwrap().to_string(),
        key_id(7)
    );
    let after = php(&server, "on", 8)
        .ini("phpsess.previous_keys", &key_text(7))
        .ini("phpsess.hash_ids", "1")
        .ini("phpsess.id_key", &id_key);
    let (sessions, warns) = read(&after, &[id]);
    assert_eq!(sessions[0]["session"], json!({"n": "5"}), "{warns:?}");
    let v = after.json(SCRIPT, &["info"]);
    let phpinfo = v["phpinfo"].as_str().unwrap();
    assert!(
        !phpinfo.contains(id_key.trim_start_matches("base64:")),
        "{phpinfo}"
    );
    assert!(
        v["info"]["Effective encryption"]
            .as_str()
            .unwrap()
            .ends_with("ids hashed (phpsess.hash_ids, a key derived from phpsess.id_key)"),
        "{v}"
    );
    // The CLI finds it with --id-key-file (or PHPSESS_ID_KEY) beside the encryption keys.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let (k8, k7, k3) = (
        write("k8", &key_text(8)),
        write("k7", &key_text(7)),
        write("k3", &id_key),
    );
    let save_path = format!("tcp://{}", server.addr());
    let show = |extra: &[&str]| {
        let mut args = vec!["show", "--save-path", &save_path, "--json"];
        args.extend_from_slice(extra);
        args.push(id);
        phpsess_compat::cli::run_phpsess(&args)
    };
    let (code, out, err) = show(&["--key-file", &k8, "--key-file", &k7, "--id-key-file", &k3]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"], json!({"n": "5"}), "{v}");
    assert_eq!(v["key_id"], json!(key_id(7)));
    let (code, _, err) = show(&["--key-file", &k8, "--key-file", &k7]);
    assert_eq!(code, 1, "the id hash of key 8 names another key");
    assert!(err.contains("no session"), "{err}");

    let bad = Php::standalone(&server.addr())
        .ini("phpsess.hash_ids", "1")
        .ini("phpsess.id_key", "base64:c2hvcnQ=");
    let (sessions, warns) = read(&bad, &[id]);
    assert_eq!(sessions[0]["ok"], json!(false));
    assert!(
        warns.iter().any(|w| w.contains(
            "phpsess: phpsess.id_key refused: the key has 5 bytes; AES-256 needs exactly 32; sessions are not opened"
        )),
        "{warns:#?}"
    );
}
