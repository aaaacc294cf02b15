//! A Laravel user's sessions found and ended from Rust and from `phpsess laravel ls|kill --user`,
//! with real Laravel 8.83 (`tests/laravel/app.php`, see `laravel_compat`) as the judge: the app
//! logs users in on several "devices" (one session cookie each), Rust ends some of them, and the
//! app's next request on each device says who, if anyone, is still logged in.

use std::collections::BTreeSet;

use phpsess::laravel::{
    login_key, AppKey, Cipher, Encrypter, LaravelConfig, LaravelStore, Skeleton, UserId,
};
use phpsess_compat::cli::run_phpsess;
use phpsess_compat::servers::RedisServer;
use redis::Commands;
use serde_json::{json, Value as Json};

use super::laravel_compat::{run_app, text, APP_KEY, PREFIX};

/// One device: the session cookie Laravel gave it, and that session's id.
struct Device {
    cookie: String,
    id: String,
}

/// Logs `user` in with `guard` on a new device (no cookie yet).
fn login(port: u16, user: Json, guard: &str) -> Device {
    let out = run_app(&json!({
        "port": port, "app_key": APP_KEY, "cipher": "aes-256-cbc", "encrypt": false,
        "action": "login", "cookie": null, "user": user, "guard": guard,
    }));
    assert_eq!(out["seen"]["user_id"], user, "{out}");
    Device {
        cookie: text(&out, "cookie").to_owned(),
        id: text(&out, "session_id").to_owned(),
    }
}

/// Who the app sees logged in with `guard` on `device`'s next request (null: nobody).
fn who(port: u16, device: &Device, guard: &str) -> Json {
    let out = run_app(&json!({
        "port": port, "app_key": APP_KEY, "cipher": "aes-256-cbc", "encrypt": false,
        "action": "show", "cookie": device.cookie, "guard": guard,
    }));
    out["seen"]["user_id"].clone()
}

/// The store as the app is configured (8.x skeleton, APP_NAME=Laravel).
fn store(server: &RedisServer) -> LaravelStore {
    let encrypter = Encrypter::new(AppKey::parse(APP_KEY).unwrap(), Cipher::Aes256Cbc).unwrap();
    let config = LaravelConfig::defaults(encrypter, Skeleton::L8, "Laravel")
        .unwrap()
        // Small SCAN steps (and DEL batches) even for a handful of keys.
        .with_scan_batch(2);
    LaravelStore::open(&format!("tcp://127.0.0.1:{}", server.port()), config).unwrap()
}

fn ids<'a>(devices: impl IntoIterator<Item = &'a Device>) -> BTreeSet<String> {
    devices.into_iter().map(|d| d.id.clone()).collect()
}

#[test]
fn rust_ends_a_users_other_sessions_and_laravel_sees_them_logged_out() {
    let server = RedisServer::start();
    let port = server.port();
    let phone = login(port, json!(42), "web");
    let laptop = login(port, json!(42), "web");
    let tablet = login(port, json!(42), "web");
    let someone_else = login(port, json!(7), "web");
    // User 42 with another guard is another login: not touched through `web`.
    let admin = login(port, json!(42), "admin");

    let mut store = store(&server);
    let mut steps = Vec::new();
    let found = store
        .user_sessions(&UserId::Int(42), "web", |s| steps.push(s))
        .unwrap();
    assert_eq!(
        found.iter().map(|s| s.id.clone()).collect::<BTreeSet<_>>(),
        ids([&phone, &laptop, &tablet])
    );
    let mut redis = server.connection();
    for s in &found {
        assert_eq!(s.user, UserId::Int(42));
        assert_eq!(s.key, format!("{PREFIX}{}", s.id).into_bytes());
        let raw: Vec<u8> = redis.get(&s.key).unwrap();
        assert_eq!(s.bytes, raw.len());
        assert!(s.ttl.is_some_and(|t| (7100..=7200).contains(&t)), "{s:?}");
        assert!(s.host.contains(&port.to_string()), "{}", s.host);
    }
    // One report per SCAN step, totals only growing, the last one the whole scan's. (How many
    // steps is Redis's choice: COUNT is a hint, a step may return more keys than asked for.)
    let last = *steps.last().expect("at least one progress report");
    assert_eq!((last.sessions, last.errors), (5, 0));
    assert!(steps.windows(2).all(|w| w[0].keys_seen <= w[1].keys_seen));
    let admins = store
        .user_sessions(&UserId::Int(42), "admin", |_| {})
        .unwrap();
    assert_eq!(
        admins.iter().map(|s| s.id.clone()).collect::<BTreeSet<_>>(),
        ids([&admin])
    );

    // "Log out my other devices" from the laptop.
    let destroyed: BTreeSet<String> = store
        .destroy_user_sessions(&UserId::Int(42), "web", Some(&laptop.id), |_| {})
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(destroyed, ids([&phone, &tablet]));

    assert_eq!(who(port, &phone, "web"), Json::Null, "phone logged out");
    assert_eq!(who(port, &tablet, "web"), Json::Null, "tablet logged out");
    assert_eq!(who(port, &laptop, "web"), json!(42), "laptop kept");
    assert_eq!(
        who(port, &someone_else, "web"),
        json!(7),
        "user 7 untouched"
    );
    assert_eq!(
        who(port, &admin, "admin"),
        json!(42),
        "admin guard untouched"
    );

    // The logged-out devices' requests saved fresh sessions under their old ids (Laravel keeps a
    // valid id it does not find); none of them is user 42's.
    let left = store
        .user_sessions(&UserId::Int(42), "web", |_| {})
        .unwrap();
    assert_eq!(
        left.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        vec![laptop.id.clone()]
    );

    // Nothing left to end but the kept one: nothing destroyed, the laptop still in.
    let again = store
        .destroy_user_sessions(&UserId::Int(42), "web", Some(&laptop.id), |_| {})
        .unwrap();
    assert!(again.is_empty(), "{again:?}");
    // Without an exception the last one goes too.
    let all = store
        .destroy_user_sessions(&UserId::Str("42".into()), "web", None, |_| {})
        .unwrap();
    assert_eq!(all, vec![laptop.id.clone()]);
    assert_eq!(who(port, &laptop, "web"), Json::Null, "laptop logged out");
}

/// The app's options for the CLI, for the 8.x layout or the one of `version`.
fn app_args(port: u16, version: &str) -> Vec<String> {
    [
        "--app-key",
        APP_KEY,
        "--save-path",
        &format!("tcp://127.0.0.1:{port}"),
        "--laravel-version",
        version,
        "--app-name",
        "Laravel",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn phpsess(command: &[&str], app: &[String], extra: &[&str]) -> (i32, String, String) {
    let mut args: Vec<&str> = command.to_vec();
    args.extend(app.iter().map(String::as_str));
    args.extend_from_slice(extra);
    run_phpsess(&args)
}

fn json_lines(out: &str) -> Vec<Json> {
    out.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

#[test]
fn the_cli_lists_and_kills_a_users_sessions() {
    let server = RedisServer::start();
    let port = server.port();
    let phone = login(port, json!(42), "web");
    let laptop = login(port, json!(42), "web");
    // The same user stored as a string id: Laravel's provider finds user 42 from "42" too.
    let as_text = login(port, json!("42"), "web");
    let someone_else = login(port, json!(7), "web");
    let app = app_args(port, "8");

    let (code, out, err) = phpsess(&["laravel", "ls"], &app, &["--user", "42", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows = json_lines(&out);
    let listed: BTreeSet<String> = rows
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ids([&phone, &laptop, &as_text]));
    for r in &rows {
        let want = if r["id"] == json!(as_text.id) {
            json!("42")
        } else {
            json!(42)
        };
        assert_eq!(r["user_id"], want, "{r}");
        assert!(r["ttl"].as_u64().is_some_and(|t| t > 7000), "{r}");
        assert!(r["bytes"].as_u64().is_some_and(|b| b > 0), "{r}");
        assert_eq!(r["host"], json!(format!("tcp://127.0.0.1:{port}")), "{r}");
    }
    // The text form: one line per session, id first.
    let (code, out, err) = phpsess(&["laravel", "ls"], &app, &["--user", "7"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(&format!("{}  user 7 ", someone_else.id)),
        "{out}"
    );
    // Not a terminal: no progress on stderr.
    assert!(!err.contains("scanned"), "{err}");

    // A dry run names what would go and deletes nothing.
    let (code, out, err) = phpsess(
        &["laravel", "kill"],
        &app,
        &[
            "--user",
            "42",
            "--except",
            &laptop.id,
            "--dry-run",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let plan: Json = serde_json::from_str(&out).unwrap();
    let planned: BTreeSet<String> = plan["would_destroy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(planned, ids([&phone, &as_text]));
    assert_eq!(plan["kept"], json!(laptop.id));
    assert_eq!(
        who(port, &phone, "web"),
        json!(42),
        "dry run deleted nothing"
    );

    let (code, out, err) = phpsess(
        &["laravel", "kill"],
        &app,
        &["--user", "42", "--except", &laptop.id],
    );
    assert_eq!(code, 0, "{err}");
    let destroyed: BTreeSet<String> = out
        .lines()
        .map(|l| {
            l.strip_prefix("destroyed ")
                .unwrap_or_else(|| panic!("{l:?}"))
                .to_owned()
        })
        .collect();
    assert_eq!(destroyed, ids([&phone, &as_text]));
    assert_eq!(
        err.trim(),
        format!("destroyed 2 session(s) of user 42, kept {}", laptop.id)
    );
    assert_eq!(who(port, &phone, "web"), Json::Null);
    assert_eq!(who(port, &as_text, "web"), Json::Null);
    assert_eq!(who(port, &laptop, "web"), json!(42));
    assert_eq!(who(port, &someone_else, "web"), json!(7));

    let (code, out, err) = phpsess(&["laravel", "ls"], &app, &["--user", "42", "--json"]);
    assert_eq!(code, 0, "{err}");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1, "{out}");
    assert_eq!(rows[0]["id"], json!(laptop.id));

    // Nobody to kill: exit 0, and the message says what was looked for, and where.
    let (code, out, err) = phpsess(&["laravel", "kill"], &app, &["--user", "99", "--json"]);
    assert_eq!(code, 0, "{err}");
    let none: Json = serde_json::from_str(&out).unwrap();
    assert_eq!(none["destroyed"], json!([]));
    assert_eq!(
        err.trim(),
        format!(
            "no session of user 99 with guard web (entry {}) among 4 sessions under {PREFIX}* \
             (the Laravel 8 key layout for APP_NAME \"Laravel\")",
            login_key("web")
        )
    );

    // An --except that is not one of the user's sessions is said, not silently ignored.
    let (code, out, err) = phpsess(
        &["laravel", "kill"],
        &app,
        &["--user", "7", "--except", &laptop.id, "--dry-run"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), format!("would destroy {}", someone_else.id));
    assert!(
        err.starts_with(&format!(
            "--except {}: not a session of user 7 with guard web\n",
            laptop.id
        )),
        "{err}"
    );

    // Errors exit 1: an --except that cannot be a session id, a Redis that is not there.
    let (code, _, err) = phpsess(
        &["laravel", "kill"],
        &app,
        &["--user", "42", "--except", "short"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("--except"), "{err}");
    let nowhere = app_args(1, "8");
    let (code, _, err) = phpsess(&["laravel", "kill"], &nowhere, &["--user", "42"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(who(port, &laptop, "web"), json!(42));
}

#[test]
fn a_lookup_under_the_wrong_versions_layout_says_which_key_it_tried() {
    let server = RedisServer::start();
    let port = server.port();
    let device = login(port, json!(42), "web");
    // The app is 8.x; read it as a 10.x app, whose keys have `laravel_cache_:`.
    let as_10 = app_args(port, "10");
    let l10 = "laravel_database_laravel_cache_:";

    let (code, _, err) = phpsess(&["laravel", "show"], &as_10, &["--id", &device.id]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "phpsess: no session under {l10}{id} (the Laravel 10 key layout for APP_NAME \
             \"Laravel\"); there is one under {PREFIX}{id}: is this a Laravel 8 app? try \
             --laravel-version 8",
            id = device.id
        )
    );

    let want_scan_hint = format!(
        "under {l10}* (the Laravel 10 key layout for APP_NAME \"Laravel\"); there are sessions \
         under {PREFIX}*: is this a Laravel 8 app? try --laravel-version 8"
    );
    let (code, out, err) = phpsess(&["laravel", "ls"], &as_10, &["--user", "42"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert_eq!(
        err.trim(),
        format!(
            "no session of user 42 with guard web (entry {}) among 0 sessions {want_scan_hint}",
            login_key("web")
        )
    );
    let (code, out, err) = phpsess(&["laravel", "kill"], &as_10, &["--user", "42"]);
    assert_eq!((code, out.as_str()), (0, ""), "{err}");
    assert!(err.trim().ends_with(&want_scan_hint), "{err}");
    let (code, _, err) = phpsess(&["laravel", "ls"], &as_10, &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.trim(), format!("no session {want_scan_hint}"));
    assert_eq!(who(port, &device, "web"), json!(42), "nothing was killed");

    // Read as a 9.x app (the same layout as 10.x) the hint is the same; with the right version
    // the session is there; with an explicit wrong --prefix there is no APP_NAME to try others
    // with, so the message names the key alone.
    let (code, _, err) = phpsess(
        &["laravel", "show"],
        &app_args(port, "9"),
        &["--id", &device.id],
    );
    assert_eq!(code, 1);
    assert!(
        err.trim()
            .ends_with("is this a Laravel 8 app? try --laravel-version 8"),
        "{err}"
    );
    let (code, _, err) = phpsess(
        &["laravel", "show"],
        &app_args(port, "8"),
        &["--id", &device.id],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_phpsess(&[
        "laravel",
        "show",
        "--app-key",
        APP_KEY,
        "--save-path",
        &format!("tcp://127.0.0.1:{port}"),
        "--prefix",
        "myapp:",
        "--id",
        &device.id,
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        format!(
            "phpsess: no session under myapp:{} (the --prefix given)",
            device.id
        )
    );
}
