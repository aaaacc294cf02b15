//! `phpsess doctor` and `phpsess redis-conf` against real redis-servers: a server started with
//! the config `redis-conf` prints passes every check (exit 0); a cache-style server (allkeys-lru,
//! no AOF, no password, evictions) fails the right checks (exit 1); the PHP side read through
//! `--php-ini` (save_path found there too); a server that cannot be reached exits 2.

use std::io::Write;

use phpsess_compat::cli::run_phpsess;
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::Value;

/// `doctor --json ARGS…`: exit code, the verdict of each check by name (and target), the JSON.
fn doctor(args: &[&str]) -> (i32, Vec<(String, String)>, Value) {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let (code, out, err) = run_phpsess(&all);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    let verdicts = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["verdict"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (code, verdicts, v)
}

fn verdict_of(verdicts: &[(String, String)], name: &str) -> String {
    verdicts
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no check {name} in {verdicts:?}"))
        .1
        .clone()
}

/// A redis-server started with the lines `phpsess redis-conf` prints (the harness keeps its own
/// port, bind address and directory; the password becomes the harness's).
fn server_from_redis_conf() -> RedisServer {
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, "s3cret-for-sessions\n").unwrap();
    let (code, conf, err) = run_phpsess(&[
        "redis-conf",
        "--maxmemory",
        "64mb",
        "--password-file",
        pw_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(conf.contains("maxmemory-policy volatile-lru\n"), "{conf}");
    let mut builder = RedisServer::builder().password("s3cret-for-sessions");
    for line in conf.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once(' ').unwrap_or((line, ""));
        match key {
            "requirepass" => assert_eq!(value, "s3cret-for-sessions"),
            "dir" | "port" | "bind" | "daemonize" => {}
            "save" => builder = builder.arg("save", ""),
            "appendonly" => builder = builder.appendonly(value == "yes"),
            _ => builder = builder.arg(key, value.trim_matches('"')),
        }
    }
    builder.start()
}

#[test]
fn doctor_passes_on_a_server_started_with_redis_conf() {
    let server = server_from_redis_conf();
    let mut c = server.connection();
    let _: () = c.set_ex("PHPREDIS_SESSION:abc", "user|i:1;", 1440).unwrap();
    let save_path = format!("tcp://{}?auth=s3cret-for-sessions", server.addr());
    let (code, verdicts, v) = doctor(&["--save-path", &save_path]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["verdict"], "ok", "{v:#}");
    for name in [
        "persistence",
        "eviction-policy",
        "maxmemory",
        "evictions",
        "auth",
        "network",
        "write-errors",
        "session-ttl",
    ] {
        assert_eq!(verdict_of(&verdicts, name), "ok", "{name}: {v:#}");
    }
    // The text form: one line per check, and the tally.
    let (code, out, _) = run_phpsess(&["doctor", "--save-path", &save_path]);
    assert_eq!(code, 0);
    assert!(out.contains("ok    persistence"), "{out}");
    assert!(out.ends_with("8 ok, 0 warn, 0 fail\n"), "{out}");
}

#[test]
fn doctor_fails_a_cache_configured_server() {
    let server = RedisServer::builder()
        .arg("maxmemory", "3mb")
        .arg("maxmemory-policy", "allkeys-lru")
        .start();
    let mut c = server.connection();
    // Fill past maxmemory so that keys are evicted; then a session without TTL and a key under
    // the prefix that is not a session.
    let blob = "x".repeat(64 * 1024);
    for i in 0..80 {
        let _: () = c.set(format!("cache:{i}"), &blob).unwrap();
    }
    let _: () = c.set("PHPREDIS_SESSION:immortal", "user|i:1;").unwrap();
    let _: () = c.set_ex("PHPREDIS_SESSION:fine", "user|i:2;", 600).unwrap();
    let _: () = c.set("PHPREDIS_SESSION:cache:config", "x").unwrap();
    let save_path = format!("tcp://{}", server.addr());
    let (code, verdicts, v) = doctor(&["--save-path", &save_path]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["verdict"], "fail");
    for (name, want) in [
        ("persistence", "fail"),
        ("eviction-policy", "fail"),
        ("auth", "fail"),
        ("evictions", "warn"),
        ("session-ttl", "fail"),
        ("prefix", "warn"),
        ("network", "ok"),
        ("write-errors", "ok"),
    ] {
        assert_eq!(verdict_of(&verdicts, name), want, "{name}: {v:#}");
    }
    let policy = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "eviction-policy")
        .unwrap();
    assert_eq!(policy["fix"], "maxmemory-policy volatile-lru");
    assert_eq!(policy["target"], format!("tcp://{}", server.addr()));
}

#[test]
fn doctor_reads_php_settings_and_the_save_path_from_php_ini() {
    let server = RedisServer::builder()
        .appendonly(true)
        .password("pw")
        .start();
    let mut c = server.connection();
    // One session lives far longer than this PHP's gc_maxlifetime.
    let _: () = c
        .set_ex("PHPREDIS_SESSION:long1", "a|i:1;", 90_000)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("php.ini");
    let mut f = std::fs::File::create(&ini).unwrap();
    writeln!(
        f,
        "session.save_handler = redis\nsession.save_path = \"tcp://{}?auth=pw\"\n\
         session.use_strict_mode = 0\nsession.cookie_httponly = 1\nsession.cookie_secure = 1\n\
         session.cookie_samesite = Lax\nsession.gc_maxlifetime = 1440",
        server.addr()
    )
    .unwrap();
    drop(f);
    // No --save-path: the save_path comes from PHP, read with this php.ini.
    let (code, verdicts, v) = doctor(&["--php-ini", ini.to_str().unwrap()]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(verdict_of(&verdicts, "strict-mode"), "fail");
    assert_eq!(verdict_of(&verdicts, "cookie-httponly"), "ok");
    assert_eq!(verdict_of(&verdicts, "cookie-secure"), "ok");
    assert_eq!(verdict_of(&verdicts, "cookie-samesite"), "ok");
    assert_eq!(verdict_of(&verdicts, "lifetime"), "warn");
    assert_eq!(verdict_of(&verdicts, "auth"), "ok");
    let strict = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "strict-mode")
        .unwrap();
    assert_eq!(strict["target"], "php");
    assert_eq!(strict["fix"], "session.use_strict_mode = 1");

    // `stats` finds the same Redis through PHP with no option at all but the ini.
    let (code, out, err) = run_phpsess(&["stats", "--php-ini", ini.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{err}");
    let stats: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(stats["total"]["sessions"], 1);
}

#[test]
fn doctor_exits_2_when_it_cannot_check() {
    let closed = phpsess_compat::servers::ports::unused_port();
    let (code, out, err) = run_phpsess(&[
        "doctor",
        "--save-path",
        &format!("tcp://127.0.0.1:{closed}?timeout=1"),
    ]);
    assert_eq!(code, 2, "{out} {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("phpsess: could not check: cannot connect to tcp://127.0.0.1:"),
        "{err}"
    );
    let server = RedisServer::builder().password("right").start();
    let (code, _, err) = run_phpsess(&[
        "doctor",
        "--save-path",
        &format!("tcp://{}?auth=wrong", server.addr()),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("authentication failed"), "{err}");
    // A save_path that does not parse is a usage problem: one line too.
    let (code, _, err) = run_phpsess(&["doctor", "--save-path", "tcp://:0:0"]);
    assert_ne!(code, 0);
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn redis_conf_refuses_what_redis_would_misread() {
    let (code, out, _) = run_phpsess(&["redis-conf", "--port", "7001"]);
    assert_eq!(code, 0);
    assert!(out.contains("\nport 7001\n"), "{out}");
    let pw = out
        .lines()
        .find_map(|l| l.strip_prefix("requirepass "))
        .unwrap();
    assert_eq!(pw.len(), 64, "a generated password: 32 random bytes in hex");
    let (code, _, err) = run_phpsess(&["redis-conf", "--maxmemory", "lots"]);
    assert_eq!(code, 1);
    assert!(err.contains("--maxmemory \"lots\""), "{err}");
}

/// PHP itself prints `session.save_path` in its warnings (`Failed to read session data: phpsess
/// (path: tcp://h:6379?auth=…)`) and phpinfo(): a password there ends up in every error log.
/// The doctor says so (warn, with the fix), and never prints the password while saying it.
#[test]
fn doctor_warns_of_a_password_in_the_save_path() {
    let server = RedisServer::builder().password("pw-9Xq").start();
    let dir = tempfile::tempdir().unwrap();
    let ini = dir.path().join("php.ini");
    let pass = dir.path().join("redis.pass");
    std::fs::write(&pass, "pw-9Xq\n").unwrap();
    for (save_path, extra, verdict) in [
        (
            format!("tcp://{}?auth=pw-9Xq", server.addr()),
            String::new(),
            "warn",
        ),
        (
            format!("tcp://{}?auth[]=default&auth[]=pw-9Xq", server.addr()),
            String::new(),
            "warn",
        ),
        (
            format!("tcp://{}", server.addr()),
            format!("phpsess.auth = \"file:{}\"\n", pass.display()),
            "ok",
        ),
    ] {
        std::fs::write(
            &ini,
            format!(
                "extension = {}\nsession.save_handler = phpsess\nsession.save_path = \"{save_path}\"\n{extra}",
                phpsess_compat::artifacts::phpsess_extension().display()
            ),
        )
        .unwrap();
        let (_, verdicts, v) = doctor(&["--php-ini", ini.to_str().unwrap()]);
        assert_eq!(verdict_of(&verdicts, "auth"), "ok", "{v:#}");
        assert_eq!(verdict_of(&verdicts, "save-path-auth"), verdict, "{v:#}");
        assert!(!v.to_string().contains("pw-9Xq"), "{v:#}");
        let (_, out, err) = run_phpsess(&["doctor", "--php-ini", ini.to_str().unwrap()]);
        assert!(
            !out.contains("pw-9Xq") && !err.contains("pw-9Xq"),
            "{out}{err}"
        );
        if verdict == "warn" {
            assert!(out.contains("phpsess.auth = file:"), "{out}");
        }
    }
}
