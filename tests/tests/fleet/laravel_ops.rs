//! `phpsess stats`, `top` and `ls` on Laravel's sessions (the `--laravel` options of `phpsess
//! laravel ls`), with real Laravel 8.83 (`tests/laravel/app.php`, see `laravel_compat`) writing
//! them: plain and `session.encrypt` sessions, a `->block()` lock, a cache entry under the same
//! prefix and a PHP session beside them. Every count and size is checked against what Redis
//! holds; `top` names the attribute that makes a session large, decrypted; `ls` shows who is
//! logged in.

use std::collections::BTreeMap;

use phpsess_compat::cli::run_phpsess;
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::{json, Value as Json};

use super::laravel_compat::{run_app, text, APP_KEY, PREFIX};

/// A session Laravel made: its id, and what Redis holds for it.
struct Made {
    id: String,
    bytes: u64,
}

/// Logs `user` in on a new device, putting `put` into the session; `encrypt`: `session.encrypt`.
fn login(server: &RedisServer, user: Json, encrypt: bool, put: Json) -> Made {
    let out = run_app(&json!({
        "port": server.port(), "app_key": APP_KEY, "cipher": "aes-256-cbc", "encrypt": encrypt,
        "action": "login", "cookie": null, "user": user, "put": put,
    }));
    assert_eq!(out["seen"]["user_id"], user, "{out}");
    let id = text(&out, "session_id").to_owned();
    let bytes: u64 = server.connection().strlen(format!("{PREFIX}{id}")).unwrap();
    assert!(bytes > 0, "Laravel stored no session {id}");
    Made { id, bytes }
}

/// `phpsess CMD --save-path … <the app's Laravel options> EXTRA…`: exit code, stdout, stderr.
fn phpsess(
    cmd: &str,
    server: &RedisServer,
    laravel: &[&str],
    extra: &[&str],
) -> (i32, String, String) {
    let save_path = format!("tcp://{}", server.addr());
    let mut args = vec![cmd, "--save-path", &save_path];
    args.extend_from_slice(laravel);
    args.extend_from_slice(extra);
    run_phpsess(&args)
}

/// The 8.x skeleton's layout for APP_NAME=Laravel, with the app's key.
const APP: [&str; 6] = [
    "--app-key",
    APP_KEY,
    "--laravel-version",
    "8",
    "--app-name",
    "Laravel",
];

fn json_lines(out: &str) -> Vec<Json> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// `s:4:"cart";s:N:"…";`: what the `cart` attribute takes in the serialized payload.
fn serialized_attribute(name: &str, value_len: usize) -> u64 {
    let key = format!("s:{}:\"{name}\";", name.len());
    let value = format!("s:{value_len}:\"\";");
    (key.len() + value.len() + value_len) as u64
}

#[test]
fn stats_top_and_ls_read_laravel_sessions_by_its_key_layout() {
    let server = RedisServer::start();
    let phone = login(&server, json!(42), false, json!({"cart": "p".repeat(300)}));
    let laptop = login(&server, json!(42), false, json!({}));
    let other = login(&server, json!(7), false, json!({"cart": "o".repeat(1500)}));
    // Encrypted (session.encrypt): the largest, and only readable with the key.
    let sealed = login(&server, json!(9), true, json!({"cart": "s".repeat(5000)}));
    let made = [&phone, &laptop, &other, &sealed];
    let mut c = server.connection();
    // The lock a `->block()` route holds (`RedisLock`: its owner's random string, 10 s), a cache
    // entry of the app under the same prefix, and a phpredis session elsewhere.
    let _: () = c
        .pset_ex(
            format!("{PREFIX}session:{}", other.id),
            "Qx7RkT2mB9zLp4Wc",
            10_000,
        )
        .unwrap();
    let _: () = c
        .set_ex(format!("{PREFIX}greeting"), "s:2:\"hi\";", 600)
        .unwrap();
    let _: () = c
        .set_ex("PHPREDIS_SESSION:abc", "user_id|i:1;", 600)
        .unwrap();

    // stats: counts and sizes exact, TTLs in Laravel's 120 minutes, the lock and its age.
    let (code, out, err) = phpsess("stats", &server, &APP, &["--json", "--lock-expire", "10"]);
    assert_eq!(code, 0, "{err}");
    let v: Json = serde_json::from_str(&out).unwrap();
    let t = &v["total"];
    let mut sizes: Vec<u64> = made.iter().map(|m| m.bytes).collect();
    sizes.sort_unstable();
    assert_eq!(v["servers"][0]["prefix"], PREFIX);
    assert_eq!(t["sessions"], 4, "{t}");
    assert_eq!(t["keys_under_prefix"], 6, "{t}");
    assert_eq!(t["bytes"]["total"], sizes.iter().sum::<u64>());
    assert_eq!(t["bytes"]["max"], sealed.bytes);
    assert_eq!(t["bytes"]["p50"], sizes[1], "nearest rank of 4: the 2nd");
    assert_eq!(t["sessions_without_ttl"], 0);
    // 120 minutes: every session in the "<= 4 h" bucket (above 1 h).
    let ttl_counts: Vec<u64> = t["ttl_seconds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .collect();
    assert_eq!(ttl_counts, [0, 0, 0, 0, 0, 4, 0, 0, 0], "{t}");
    assert!(t["ttl_max_ms"].as_u64().unwrap() <= 7_200_000);
    assert_eq!(t["foreign_keys"], 1, "{t}");
    assert!(
        t["foreign_examples"][0]
            .as_str()
            .unwrap()
            .starts_with(&format!("{PREFIX}greeting: not a Laravel session id")),
        "{t}"
    );
    assert_eq!(t["locks_held"], 1);
    let lock = &t["locks"][0];
    assert_eq!(lock["holder"], "Qx7RkT2mB9zLp4Wc");
    assert_eq!(lock["age_from"], "assumed_expire");
    let (age, ttl) = (
        lock["age_ms"].as_u64().unwrap(),
        lock["ttl_ms"].as_u64().unwrap(),
    );
    assert_eq!(age + ttl, 10_000, "{lock}");
    assert!(age < 5_000, "{lock}");

    // Without the key (plain sessions need none) and by prefix: the same figures.
    let (code, out, err) = phpsess(
        "stats",
        &server,
        &["--laravel", "--prefix", PREFIX],
        &["--json"],
    );
    assert_eq!(code, 0, "{err}");
    let v2: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(v2["total"]["sessions"], 4);
    assert_eq!(v2["total"]["bytes"], t["bytes"]);

    // top: largest first, the encrypted one decrypted, its cart named with its exact size.
    let (code, out, err) = phpsess("top", &server, &APP, &["-n", "2", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!(rows[0]["id"], sealed.id);
    assert_eq!(rows[0]["bytes"], sealed.bytes);
    assert_eq!(rows[0]["format"], "laravel php, encrypted");
    assert_eq!(rows[1]["id"], other.id);
    assert_eq!(rows[1]["format"], "laravel php");
    for (row, cart) in [(&rows[0], 5000), (&rows[1], 1500)] {
        let vars: BTreeMap<String, u64> = row["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["name"].as_str().unwrap().to_owned(),
                    v["bytes"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(vars["cart"], serialized_attribute("cart", cart), "{row}");
        assert_eq!(
            vars["from_php"],
            serialized_attribute("from_php", 5),
            "{row}"
        );
        assert!(vars.contains_key("_token"), "{row}");
        let biggest = vars.iter().max_by_key(|(_, b)| **b).unwrap().0;
        assert_eq!(biggest, "cart");
    }
    // The text form says the same.
    let (code, out, err) = phpsess("top", &server, &APP, &["-n", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&sealed.id) && out.contains("cart"), "{out}");

    // ls: one line per session with its user, size and TTL; --user keeps one user's.
    let (code, out, err) = phpsess("ls", &server, &APP, &["--json"]);
    assert_eq!(code, 0, "{err}");
    let rows = json_lines(&out);
    let listed: BTreeMap<String, (Json, u64)> = rows
        .iter()
        .map(|r| {
            assert!(r["ttl_ms"].as_u64().unwrap() <= 7_200_000, "{r}");
            (
                r["id"].as_str().unwrap().to_owned(),
                (r["user"].clone(), r["bytes"].as_u64().unwrap()),
            )
        })
        .collect();
    let want: BTreeMap<String, (Json, u64)> = [
        (&phone, "42"),
        (&laptop, "42"),
        (&other, "7"),
        (&sealed, "9"),
    ]
    .iter()
    .map(|(m, u)| (m.id.clone(), (json!(u), m.bytes)))
    .collect();
    assert_eq!(listed, want);
    let (code, out, err) = phpsess("ls", &server, &APP, &["--user", "42", "--json"]);
    assert_eq!(code, 0, "{err}");
    let mut ids: Vec<String> = json_lines(&out)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    let mut want_ids = vec![phone.id.clone(), laptop.id.clone()];
    want_ids.sort();
    assert_eq!(ids, want_ids);
    let (code, out, err) = phpsess(
        "ls",
        &server,
        &APP,
        &["--min-bytes", &sealed.bytes.to_string()],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.contains(&sealed.id) && out.contains("user 9"), "{out}");
    assert_eq!(err.trim(), "1 of 4 sessions shown");

    // A wrong key: the encrypted session cannot be read, said per session, nothing else fails.
    let wrong = "base64:BaBAJlO7ojpTgUyostkuJBaBAJlO7ojpTgUyostkuJA=";
    let mut app = APP;
    app[1] = wrong;
    let (code, out, err) = phpsess("top", &server, &app, &["-n", "1", "--json"]);
    assert_eq!(code, 0, "{err}");
    let row = &json_lines(&out)[0];
    assert_eq!(row["id"], sealed.id);
    assert!(
        row["error"].as_str().unwrap().starts_with("not readable: "),
        "{row}"
    );
    let (code, out, err) = phpsess("ls", &server, &app, &["--json"]);
    assert_eq!(code, 0, "{err}");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 4);
    let bad: Vec<&Json> = rows.iter().filter(|r| r.get("error").is_some()).collect();
    assert_eq!(bad.len(), 1, "{out}");
    assert_eq!(bad[0]["id"], sealed.id);
}

#[test]
fn laravel_options_that_cannot_work_are_one_line_and_exit_1() {
    let server = RedisServer::start();
    for (laravel, extra, want) in [
        (
            &["--laravel"][..],
            &[][..],
            "give --prefix, or --laravel-version with --app-name",
        ),
        (
            &APP[..],
            &["--user-key", "user_id"][..],
            "--user-key is for PHP's sessions",
        ),
        (
            &["--app-key", "base64:short", "--prefix", PREFIX][..],
            &[][..],
            "--app-key",
        ),
        (
            &["--laravel-version", "7", "--app-name", "Laravel"][..],
            &[][..],
            "Laravel version \"7\"",
        ),
    ] {
        let cmd = if extra.is_empty() { "stats" } else { "ls" };
        let (code, out, err) = phpsess(cmd, &server, laravel, extra);
        assert_eq!(code, 1, "{laravel:?}: {err}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("phpsess: ") && err.contains(want), "{err}");
    }
}
