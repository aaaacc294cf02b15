//! `phpsess show` against a real redis-server: finds a session where the PHP handler would, prints
//! data, TTL, size, host and lock holder; a missing session exits non-zero with a clear message.

use phpsess_compat::cli::run_phpsess;
use phpsess_compat::servers::RedisServer;
use redis::Commands;

fn show(args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["show"];
    all.extend_from_slice(args);
    run_phpsess(&all)
}

#[test]
fn show_prints_the_session_as_php_stored_it() {
    let server = RedisServer::builder().password("pw").start();
    let mut c = server.connection();
    let id = "k3vq5ctk0nb0gq3s6bqvkbmc4m";
    let stored = "user|a:2:{s:2:\"id\";i:42;s:4:\"name\";s:5:\"alice\";}n|i:3;";
    let _: () = c
        .set_ex(format!("PHPREDIS_SESSION:{id}"), stored, 1440)
        .unwrap();
    let _: () = c
        .set_ex(format!("PHPREDIS_SESSION:{id}_LOCK"), "web01|4242", 30)
        .unwrap();
    let save_path = format!("tcp://{}?auth=pw", server.addr());

    let (code, out, err) = show(&["--save-path", &save_path, "--json", id]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(
        v["data"],
        serde_json::json!({"user": {"id": 42, "name": "alice"}, "n": 3})
    );
    let ttl = v["ttl"].as_i64().expect("ttl is an integer");
    assert!((1430..=1440).contains(&ttl), "{ttl}");
    assert_eq!(v["bytes"], stored.len());
    assert_eq!(v["host"], format!("tcp://{}", server.addr()));
    assert_eq!(v["key"], format!("PHPREDIS_SESSION:{id}"));
    assert_eq!(v["lock"], "web01|4242");
    assert_eq!(v["format"], "php");

    let (code, out, _) = show(&["--save-path", &save_path, id]);
    assert_eq!(code, 0);
    assert!(out.contains("lock:   web01|4242"), "{out}");
    assert!(out.contains("\"name\": \"alice\""), "{out}");

    let (code, out, _) = show(&["--save-path", &save_path, "--raw", id]);
    assert_eq!(code, 0);
    assert!(out.starts_with("user|a:2:{"), "{out}");
}

#[test]
fn show_follows_phpredis_host_choice_and_prefixes() {
    let a = RedisServer::start();
    let b = RedisServer::start();
    // Write the session where phpredis would put it (its host choice, that entry's prefix) and
    // check that `show` finds it there.
    let save_path = format!("tcp://{}?prefix=A:, tcp://{}?prefix=B:", a.addr(), b.addr());
    let id = "bbcd0000000000000000000000";
    let host = phpsess::store::pick_host(id.as_bytes(), &[1, 1]).unwrap();
    let (server, prefix) = if host == 0 { (&a, "A:") } else { (&b, "B:") };
    let _: () = server
        .connection()
        .set_ex(format!("{prefix}{id}"), "x|i:1;", 100)
        .unwrap();
    let (code, out, err) = show(&["--save-path", &save_path, "--json", id]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["host"], format!("tcp://{}", server.addr()));
    assert_eq!(v["data"], serde_json::json!({"x": 1}));
}

#[test]
fn a_missing_session_or_a_bad_save_path_exits_non_zero_with_one_line() {
    let server = RedisServer::start();
    let save_path = format!("tcp://{}", server.addr());
    let (code, out, err) = show(&["--save-path", &save_path, "nosuchsession0000000000"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(
        err.trim_end(),
        format!("phpsess: no session nosuchsession0000000000 at tcp://{0} (key PHPREDIS_SESSION:nosuchsession0000000000); if the fleet sets phpsess.hash_ids, sessions are stored under a keyed hash of their id: give --key-file or PHPSESS_KEY", server.addr())
    );
    assert_eq!(err.lines().count(), 1);
    let (code, _, err) = show(&["--save-path", "tcp://h:6379?weight=0", "x"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("phpsess: invalid save_path entry"), "{err}");
}

#[test]
fn show_takes_the_password_from_the_environment_or_a_file_not_argv() {
    let server = RedisServer::builder().password("pw").start();
    let id = "k3vq5ctk0nb0gq3s6bqvkbmc4m";
    let _: () = server
        .connection()
        .set_ex(format!("PHPREDIS_SESSION:{id}"), "n|i:3;", 1440)
        .unwrap();
    let save_path = format!("tcp://{}", server.addr());
    let run = |extra: &[&str], env: Option<&str>| {
        let mut cmd = std::process::Command::new(phpsess_compat::cli::phpsess_bin());
        cmd.args(["show", "--save-path", &save_path, "--json"])
            .args(extra)
            .arg(id)
            .env_remove("PHPSESS_AUTH");
        if let Some(v) = env {
            cmd.env("PHPSESS_AUTH", v);
        }
        let out = cmd.output().expect("run phpsess");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[], Some("pw"));
    assert_eq!(code, 0, "PHPSESS_AUTH: {err}");
    assert!(out.contains("\"n\": 3") || out.contains("\"n\":3"), "{out}");

    let file = server.dir().join("auth");
    std::fs::write(&file, "pw\n").unwrap();
    let file = file.display().to_string();
    let (code, _, err) = run(&["--auth-file", &file], Some("wrong"));
    assert_eq!(code, 0, "--auth-file wins over PHPSESS_AUTH: {err}");

    let (code, _, err) = run(&[], None);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        format!("phpsess: a password is required and none was given on tcp://{} for session k3vq5c…: NOAUTH Authentication required.\n", server.addr())
    );
}

/// Sessions the handler stored compressed (each algorithm, as phpredis frames it) are shown with
/// `--compression`; without it the message says to give it. A value over the size limit fails
/// with the limit named rather than being decompressed.
#[test]
fn show_reads_compressed_sessions_with_compression() {
    use phpsess::store::Compression;
    let server = RedisServer::start();
    let mut c = server.connection();
    let save_path = format!("tcp://{}", server.addr());
    let plain = format!("user|s:5:\"alice\";pad|s:400:\"{}\";", "ab".repeat(200));
    let algos = [
        ("lzf", Compression::Lzf),
        ("zstd", Compression::Zstd { level: 3 }),
        ("lz4", Compression::Lz4 { level: 3 }),
    ];
    for (i, (name, algo)) in algos.into_iter().enumerate() {
        let id = format!("cmpr{i}000000000000000000000");
        let stored = algo.compress(plain.as_bytes()).into_owned();
        assert!(stored.len() < plain.len(), "{name}");
        let _: () = c
            .set_ex(format!("PHPREDIS_SESSION:{id}"), &stored, 1440)
            .unwrap();

        let (code, out, err) = show(&[
            "--save-path",
            &save_path,
            "--compression",
            name,
            "--json",
            &id,
        ]);
        assert_eq!(code, 0, "{name}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
        assert_eq!(v["data"]["user"], "alice", "{name}");
        assert_eq!(v["bytes"], stored.len(), "{name}");
        assert_eq!(v["compression"], name);

        let (code, out, _) = show(&[
            "--save-path",
            &save_path,
            "--compression",
            name,
            "--raw",
            &id,
        ]);
        assert_eq!(code, 0, "{name}");
        assert_eq!(out, plain, "{name}");

        let (code, out, _) = show(&["--save-path", &save_path, "--compression", name, &id]);
        assert_eq!(code, 0, "{name}");
        let bytes = format!(
            "bytes:  {} ({name}, {} decompressed)",
            stored.len(),
            plain.len()
        );
        assert!(out.contains(&bytes), "{name}: {out}");

        let (code, _, err) = show(&["--save-path", &save_path, &id]);
        assert_eq!(code, 1, "{name}");
        assert!(
            err.contains(
                "(compression none; if the handler compresses sessions, give --compression"
            ) || err.contains(
                "(compression none); if the handler compresses sessions, give --compression"
            ),
            "{name}: {err}"
        );
    }

    // A zstd frame announcing 64 MiB: refused by the size limit, not decompressed.
    let id = "cmprbomb0000000000000000000";
    let bomb = Compression::Zstd { level: 3 }
        .compress(&vec![0u8; 64 << 20])
        .into_owned();
    let _: () = c.set(format!("PHPREDIS_SESSION:{id}"), &bomb).unwrap();
    let (code, out, err) = show(&["--save-path", &save_path, "--compression", "zstd", id]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert_eq!(
        err.trim_end(),
        format!(
            "phpsess: read of session cmprbo… (PHPREDIS_SESSION:cmprbo… on tcp://{}) refused: zstd \
             data of {} bytes decompresses to more than the limit of 16777216 bytes \
             (phpsess.max_session_bytes)",
            server.addr(),
            bomb.len()
        )
    );
}
