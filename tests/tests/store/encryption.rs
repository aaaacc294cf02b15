//! Encryption at rest through the Rust store (`StoreOptions::with_encryption`) and `phpsess show`
//! against a real redis-server: what the store writes holds no plaintext and reads back, rotation
//! re-encrypts on write, an unreadable value reads as absent and is kept by an empty write, and
//! `show` reads encrypted sessions with `--key-file` or `PHPSESS_KEY` (never a key on argv).

use base64::Engine;
use phpsess::store::{
    envelope_key_id, AtRestKey, Encryption, EncryptionMode, SessionStore, StoreOptions, Topology,
};
use phpsess_compat::servers::RedisServer;
use redis::Commands;

const MARKER: &str = "STORE-MARKER-77a0";

fn key(b: u8) -> AtRestKey {
    AtRestKey::from_bytes([b; 32])
}

fn key_text(b: u8) -> String {
    format!(
        "base64:{}",
        base64::engine::general_purpose::STANDARD.encode([b; 32])
    )
}

fn store(server: &RedisServer, encryption: Option<Encryption>) -> SessionStore {
    let topology = Topology::from_save_path(&format!("tcp://{}", server.addr())).unwrap();
    SessionStore::new(
        topology,
        StoreOptions::default().with_encryption(encryption),
    )
}

fn raw(server: &RedisServer, id: &str) -> Vec<u8> {
    server
        .connection()
        .get(format!("PHPREDIS_SESSION:{id}"))
        .unwrap()
}

#[test]
fn store_encrypts_rotates_and_keeps_unreadable_values() {
    let server = RedisServer::start();
    let id = "storeenc00000000000000000";
    let on = |k: u8| Some(Encryption::new(EncryptionMode::On, key(k)));
    let mut a = store(&server, on(1));
    a.read(id).unwrap();
    let data = format!("m|s:{}:\"{MARKER}\";", MARKER.len());
    a.write(id, data.as_bytes()).unwrap();
    let stored = raw(&server, id);
    assert!(!stored.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()));
    assert_eq!(envelope_key_id(&stored), Some(key(1).id()));

    // Rotation: key 2 current, key 1 previous: readable, re-encrypted under 2 on write.
    let mut b = store(&server, on(2).map(|e| e.with_previous(vec![key(1)])));
    let read = b.read(id).unwrap();
    assert_eq!(read.data.as_deref(), Some(data.as_bytes()));
    assert_eq!(read.unreadable, None);
    b.write(id, data.as_bytes()).unwrap();
    assert_eq!(envelope_key_id(&raw(&server, id)), Some(key(2).id()));

    // Without key 2: absent, a reason naming the key id, and an empty write keeps the value.
    let before = raw(&server, id);
    let mut c = store(&server, on(3));
    let read = c.read(id).unwrap();
    assert_eq!(read.data, None);
    let why = read.unreadable.unwrap();
    assert!(why.contains(&key(2).id().to_string()), "{why}");
    assert!(why.contains("storee…"), "{why}");
    c.write(id, b"").unwrap();
    assert_eq!(
        raw(&server, id),
        before,
        "an empty write after an unreadable read keeps it"
    );
    // With data: written anew under key 3.
    c.read(id).unwrap();
    c.write(id, b"n|i:1;").unwrap();
    assert_eq!(envelope_key_id(&raw(&server, id)), Some(key(3).id()));

    // `inspect` (what `show` uses) says why, not a garbled session.
    let e = store(&server, on(1)).inspect(id).unwrap_err().to_string();
    assert!(
        e.contains("is unreadable: it is encrypted under key id"),
        "{e}"
    );
    assert!(!e.contains(&key_text(1)[7..]), "{e}");
}

#[test]
fn show_reads_encrypted_sessions_with_key_file_or_env() {
    let server = RedisServer::start();
    let id = "showenc000000000000000000";
    let mut s = store(&server, Some(Encryption::new(EncryptionMode::On, key(5))));
    s.read(id).unwrap();
    s.write(id, b"n|i:3;").unwrap();
    let save_path = format!("tcp://{}", server.addr());
    let run = |extra: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(phpsess_compat::cli::phpsess_bin());
        cmd.args(["show", "--save-path", &save_path])
            .args(extra)
            .arg(id)
            .env_remove("PHPSESS_KEY")
            .env_remove("PHPSESS_AUTH");
        if let Some(v) = env {
            cmd.env("PHPSESS_KEY", v);
        }
        let out = cmd.output().expect("run phpsess");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let kid = key(5).id().to_string();
    let (code, _, err) = run(&[], None);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!("phpsess: session {id} is encrypted (phpsess.encryption) under key id {kid}; give --key-file or PHPSESS_KEY\n")
    );
    let (code, out, err) = run(
        &["--json"],
        Some(&format!("{},{}", key_text(9), key_text(5))),
    );
    assert_eq!(code, 0, "PHPSESS_KEY: {err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["data"], serde_json::json!({"n": 3}));
    assert_eq!(v["key_id"], serde_json::json!(kid));

    let file = server.dir().join("key");
    std::fs::write(&file, format!("{}\n", key_text(5))).unwrap();
    let file = file.display().to_string();
    let (code, out, err) = run(&["--key-file", &file], Some(&key_text(9)));
    assert_eq!(code, 0, "--key-file wins over PHPSESS_KEY: {err}");
    assert!(out.contains(&format!("key id: {kid} (encrypted)")), "{out}");

    // The wrong key: the reason names key ids, never a key.
    let (code, _, err) = run(&[], Some(&key_text(9)));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("encrypted under key id {kid}")),
        "{err}"
    );
    assert!(
        !err.contains(&key_text(9)[7..]) && !err.contains(&key_text(5)[7..]),
        "{err}"
    );
}

/// The lock queue hands the holder's written value to the waiter: sealed like any stored value,
/// the waiter opens it with the keys it has (and warns without them), never sees ciphertext.
#[test]
fn a_lock_hand_off_carries_the_sealed_session() {
    let server = RedisServer::start();
    let id = "handoffenc000000000000000";
    let on = |k: u8| Some(Encryption::new(EncryptionMode::On, key(k)));
    for (waiter_key, expect) in [(1u8, Some(&b"n|i:1;"[..])), (2, None)] {
        let mut first = store(&server, on(1));
        first.read(id).unwrap();
        let addr = server.addr();
        let waiter = std::thread::spawn(move || {
            let topology = Topology::from_save_path(&format!("tcp://{addr}")).unwrap();
            let mut second = SessionStore::new(
                topology,
                StoreOptions::default().with_encryption(on(waiter_key)),
            );
            let read = second.read(id).unwrap();
            second.close().unwrap();
            (read, second.stats().lock_waits)
        });
        std::thread::sleep(std::time::Duration::from_millis(300));
        first.write(id, b"n|i:1;").unwrap();
        let (read, waits) = waiter.join().unwrap();
        assert_eq!(waits, 1, "the waiter waited");
        assert_eq!(read.data.as_deref(), expect, "waiter with key {waiter_key}");
        assert_eq!(read.unreadable.is_some(), expect.is_none(), "{read:?}");
    }
}

/// Hashed ids on a 6-node Redis Cluster: every key of a session (data, lock, binding, lock queue)
/// is named by its stored id and lives in one slot, so the lock and index scripts still run;
/// the user index lists stored ids and ends them.
#[test]
fn hashed_ids_on_a_cluster_keep_a_session_in_one_slot() {
    use phpsess::store::{slot, Binding, IdHasher, LockOptions};
    use phpsess_compat::servers::RedisCluster;
    let cluster = RedisCluster::start();
    let hasher = IdHasher::new(&key(3));
    let options = StoreOptions::default()
        .with_encryption(Some(Encryption::new(EncryptionMode::On, key(3))))
        .with_hash_ids(Some(hasher.clone()))
        .with_user_index(true)
        .with_lock(LockOptions::default());
    let topology = Topology::from_cluster_save_path(&cluster.seed_query()).unwrap();
    let mut s = SessionStore::new(topology, options.clone());
    let id = "clusterhash000000000000000";
    let stored = hasher.stored_id(id);
    assert_eq!(s.stored_id(id).unwrap(), stored);
    let keys = s.key(&stored);
    assert_eq!(slot(&keys.data), slot(&keys.lock));
    assert!(!keys.display().contains(id) && !keys.display_lock().contains(id));
    s.read(id).unwrap();
    s.bind(id, Some(Binding::explicit("dee")));
    s.write(id, format!("m|s:{}:\"{MARKER}\";", MARKER.len()).as_bytes())
        .unwrap();
    // Another worker reads it back by id.
    let mut t = SessionStore::new(
        Topology::from_cluster_save_path(&cluster.seed_query()).unwrap(),
        options,
    );
    let read = t.read(id).unwrap();
    assert_eq!(
        read.data.as_deref(),
        Some(format!("m|s:{}:\"{MARKER}\";", MARKER.len()).as_bytes())
    );
    t.touch(id).unwrap();
    let listed = t.user_sessions(b"dee").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, stored);
    assert!(!t.exists("clusterhash000000000000001").unwrap());
    assert!(t.exists(id).unwrap());
    // A stored name is never a session id: refused before any command.
    assert!(t.read(&stored).is_err());
    assert_eq!(
        t.destroy_user_sessions(b"dee", None).unwrap(),
        std::slice::from_ref(&stored)
    );
    assert!(!t.exists(id).unwrap());
}

/// `phpsess stats --key-ids`: sessions per key id and unencrypted, counted exactly (locks, index
/// keys and bindings are not sessions), in --json and in the text report.
#[test]
fn stats_counts_sessions_per_key_id() {
    use phpsess::store::{Binding, IdHasher};
    let server = RedisServer::start();
    let on = |k: u8| Some(Encryption::new(EncryptionMode::On, key(k)));
    let write = |s: &mut SessionStore, id: &str| {
        s.read(id).unwrap();
        s.write(id, b"n|i:1;").unwrap();
    };
    let mut old = store(&server, on(1));
    for i in 0..7 {
        write(&mut old, &format!("oldkey{i:020}"));
    }
    let mut new = store(&server, on(2).map(|e| e.with_previous(vec![key(1)])));
    for i in 0..5 {
        write(&mut new, &format!("newkey{i:020}"));
    }
    // One more under the new key with a hashed name and a user binding (not sessions: the
    // binding and the index key).
    let topology = Topology::from_save_path(&format!("tcp://{}", server.addr())).unwrap();
    let mut hashed = SessionStore::new(
        topology,
        StoreOptions::default()
            .with_encryption(on(2))
            .with_hash_ids(Some(IdHasher::new(&key(2))))
            .with_user_index(true),
    );
    hashed.read("hashedstats0000000000000").unwrap();
    hashed.bind("hashedstats0000000000000", Some(Binding::explicit("eve")));
    hashed.write("hashedstats0000000000000", b"n|i:1;").unwrap();
    let mut plain = store(&server, None);
    for i in 0..3 {
        write(&mut plain, &format!("plain{i:020}"));
    }
    // A lock held now is not a session either.
    plain.read("plain00000000000000000000").unwrap();

    let save_path = format!("tcp://{}", server.addr());
    let v = crate::ops_stats::json_of(&["stats", "--save-path", &save_path, "--json", "--key-ids"]);
    assert_eq!(v["total"]["sessions"], serde_json::json!(16), "{v}");
    assert_eq!(
        v["total"]["at_rest"],
        serde_json::json!({
            "plaintext": 3,
            "key_ids": {key(1).id().to_string(): 7, key(2).id().to_string(): 6},
            "unknown_envelope": 0,
        }),
        "{v}"
    );
    assert_eq!(v["servers"][0]["at_rest"], v["total"]["at_rest"]);
    let (code, out, err) =
        phpsess_compat::cli::run_phpsess(&["stats", "--save-path", &save_path, "--key-ids"]);
    assert_eq!(code, 0, "{err}");
    let (k1, k2) = (key(1).id().to_string(), key(2).id().to_string());
    let mut ids = [(k1, 7), (k2, 6)];
    ids.sort();
    let want = format!(
        "at rest: 3 unencrypted, key id {}: {}, key id {}: {}\n",
        ids[0].0, ids[0].1, ids[1].0, ids[1].1
    );
    assert!(out.contains(&want), "{out}");
    // Without --key-ids nothing is read for it.
    let v = crate::ops_stats::json_of(&["stats", "--save-path", &save_path, "--json"]);
    assert_eq!(v["total"]["at_rest"], serde_json::Value::Null, "{v}");
}

/// `phpsess ls`, `top` and `decode` with `--key-file`: encrypted sessions are read decrypted
/// (sizes as PHP reads them, the variables that make a session large); without a key each says
/// the session is encrypted and under which key id.
#[test]
fn ls_top_and_decode_read_encrypted_sessions_with_a_key() {
    let server = RedisServer::start();
    let mut s = store(&server, Some(Encryption::new(EncryptionMode::On, key(6))));
    let big = format!("cart|s:3000:\"{}\";n|i:1;", "x".repeat(3000));
    s.read("topenc0000000000000000000").unwrap();
    s.write("topenc0000000000000000000", big.as_bytes())
        .unwrap();
    let mut p = store(&server, None);
    p.read("topplain00000000000000000").unwrap();
    p.write("topplain00000000000000000", b"n|i:2;").unwrap();
    let save_path = format!("tcp://{}", server.addr());
    let file = server.dir().join("key");
    std::fs::write(&file, key_text(6)).unwrap();
    let file = file.display().to_string();
    let kid = key(6).id().to_string();
    let run = |args: &[&str], stdin: &[u8]| {
        let out = std::process::Command::new(phpsess_compat::cli::phpsess_bin())
            .args(args)
            .env_remove("PHPSESS_KEY")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write;
                c.stdin.take().unwrap().write_all(stdin)?;
                c.wait_with_output()
            })
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let lines = |out: &str| -> Vec<serde_json::Value> {
        out.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let by_id = |v: &[serde_json::Value], id: &str| {
        v.iter()
            .find(|s| s["id"] == serde_json::json!(id))
            .cloned()
            .unwrap()
    };

    // top: the cart is what makes it large, with the key; the key id without it.
    let (code, out, err) = run(
        &[
            "top",
            "--save-path",
            &save_path,
            "--json",
            "--key-file",
            &file,
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let enc = by_id(&lines(&out), "topenc0000000000000000000");
    assert_eq!(
        enc["variables"][0]["name"],
        serde_json::json!("cart"),
        "{enc}"
    );
    let (code, out, err) = run(&["top", "--save-path", &save_path, "--json"], b"");
    assert_eq!(code, 0, "{err}");
    let enc = by_id(&lines(&out), "topenc0000000000000000000");
    assert_eq!(
        enc["error"],
        serde_json::json!(format!(
            "encrypted (phpsess.encryption) under key id {kid}; give --key-file or PHPSESS_KEY"
        )),
        "{enc}"
    );
    assert_eq!(
        by_id(&lines(&out), "topplain00000000000000000")["variables"][0]["name"],
        serde_json::json!("n")
    );

    // ls: stored size, key id, and with the key the size PHP reads.
    let (code, out, err) = run(
        &[
            "ls",
            "--save-path",
            &save_path,
            "--json",
            "--key-file",
            &file,
        ],
        b"",
    );
    assert_eq!(code, 0, "{err}");
    let enc = by_id(&lines(&out), "topenc0000000000000000000");
    assert_eq!(enc["key_id"], serde_json::json!(kid));
    assert_eq!(enc["plain_bytes"], serde_json::json!(big.len()));
    assert_eq!(
        enc["bytes"],
        serde_json::json!(big.len() + phpsess::store::OVERHEAD)
    );
    let plain = by_id(&lines(&out), "topplain00000000000000000");
    assert_eq!(plain["key_id"], serde_json::Value::Null);
    assert_eq!(plain["plain_bytes"], serde_json::json!(6));
    let (code, out, err) = run(&["ls", "--save-path", &save_path], b"");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!(
            "encrypted (key id {kid}; give --key-file to read)"
        )),
        "{out}"
    );

    // decode: stdin holds the raw envelope; the Redis key it was stored under is needed.
    let raw = raw(&server, "topenc0000000000000000000");
    let (code, _, err) = run(&["decode"], &raw);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "under key id {kid}; give --key-file or PHPSESS_KEY"
        )),
        "{err}"
    );
    let (code, _, err) = run(&["decode", "--key-file", &file], &raw);
    assert_eq!(code, 1);
    assert!(err.contains("--redis-key"), "{err}");
    let (code, _, err) = run(
        &[
            "decode",
            "--key-file",
            &file,
            "--redis-key",
            "PHPREDIS_SESSION:other",
        ],
        &raw,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("does not authenticate under key id {kid}")),
        "{err}"
    );
    let (code, out, err) = run(
        &[
            "decode",
            "--key-file",
            &file,
            "--redis-key",
            "PHPREDIS_SESSION:topenc0000000000000000000",
            "--compact",
        ],
        &raw,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["n"], serde_json::json!(1));
    assert_eq!(v["cart"].as_str().unwrap().len(), 3000);
}

/// `phpsess index rebuild --key-file`: encrypted sessions under hashed ids are read with the key
/// and indexed under their stored ids; without the key they count as unreadable.
#[test]
fn index_rebuild_reads_encrypted_sessions_with_a_key() {
    use phpsess::store::IdHasher;
    let server = RedisServer::start();
    let options = StoreOptions::default()
        .with_encryption(Some(Encryption::new(EncryptionMode::On, key(4))))
        .with_hash_ids(Some(IdHasher::new(&key(4))));
    let topology = Topology::from_save_path(&format!("tcp://{}", server.addr())).unwrap();
    let mut s = SessionStore::new(topology, options);
    for id in ["rebuildenc000000000000001", "rebuildenc000000000000002"] {
        s.read(id).unwrap();
        s.write(id, b"user_id|s:3:\"fay\";").unwrap();
    }
    let save_path = format!("tcp://{}", server.addr());
    let file = server.dir().join("key");
    std::fs::write(&file, key_text(4)).unwrap();
    let file = file.display().to_string();
    let rebuild = |extra: &[&str]| {
        let mut args = vec![
            "index",
            "rebuild",
            "--save-path",
            &save_path,
            "--user-key",
            "user_id",
            "--json",
        ];
        args.extend_from_slice(extra);
        crate::ops_stats::json_of(&args)
    };
    let v = rebuild(&[]);
    assert_eq!(
        (v["unreadable"].as_u64(), v["bound"].as_u64()),
        (Some(2), Some(0)),
        "{v}"
    );
    let v = rebuild(&["--key-file", &file]);
    assert_eq!(
        (v["unreadable"].as_u64(), v["bound"].as_u64()),
        (Some(0), Some(2)),
        "{v}"
    );
    let mut listed: Vec<String> = s
        .user_sessions(b"fay")
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    listed.sort();
    let h = IdHasher::new(&key(4));
    let mut want = vec![
        h.stored_id("rebuildenc000000000000001"),
        h.stored_id("rebuildenc000000000000002"),
    ];
    want.sort();
    assert_eq!(listed, want);
}
