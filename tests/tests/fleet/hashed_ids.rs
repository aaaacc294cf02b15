//! Hashed ids at rest (`phpsess.hash_ids = 1`) as users and operators meet them: php-fpm pools
//! behind nginx with encryption on, the per-user index and strict mode. A whole Redis dump holds
//! no cookie's id (nor the session's data; user ids are in the index, in clear, by design); a stored name pasted as a cookie opens nothing;
//! login (regenerate), "log out everywhere else", session_destroy() and phpsess_destroy_session()
//! work; the CLI finds sessions by id with the key and says what is missing without it; the key
//! shows up in no warning or CLI message. Pairs with `tests/php/fleet_users.php`.

use base64::Engine;
use phpsess::store::{is_hashed_id, AtRestKey, IdHasher};
use phpsess_compat::cli::run_phpsess;
use phpsess_compat::servers::RedisServer;
use phpsess_compat::web::{FpmPool, HttpClient, Site};
use redis::Commands;
use serde_json::{json, Value};

const APP: &str = "/fleet_users.php";
const PREFIX: &str = "PHPREDIS_SESSION:";

fn key_text() -> String {
    format!(
        "base64:{}",
        base64::engine::general_purpose::STANDARD.encode([9u8; 32])
    )
}

fn stored(id: &str) -> String {
    IdHasher::new(&AtRestKey::from_bytes([9; 32])).stored_id(id)
}

fn site(redis: &RedisServer) -> Site {
    let pool = FpmPool::builder("hashed")
        .workers(2)
        .admin_value("session.save_handler", "phpsess")
        .admin_value("session.save_path", format!("tcp://{}", redis.addr()))
        .admin_value("session.use_strict_mode", "1")
        .admin_value("phpsess.user_key", "user_id")
        .admin_value("phpsess.encryption", "on")
        .admin_value("phpsess.encryption_key", key_text())
        .admin_value("phpsess.hash_ids", "1");
    Site::start(vec![pool.start()])
}

fn log_in(site: &Site, user: &str) -> (HttpClient, String) {
    let mut client = site.client();
    let r = site.ok_json(
        "login",
        client.post_form(&format!("{APP}?do=login"), &[("user", user)]),
    );
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(client.cookie("PHPSESSID"), Some(id.as_str()));
    (client, id)
}

fn whoami(site: &Site, client: &mut HttpClient) -> Value {
    site.ok_json("whoami", client.get(&format!("{APP}?do=whoami")))["session"]["user_id"].clone()
}

/// Every key of the server with every byte it holds (strings, sorted-set members, list items).
fn dump(redis: &RedisServer) -> Vec<(String, Vec<u8>)> {
    let mut c = redis.connection();
    let keys: Vec<String> = c
        .scan::<String>()
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for k in keys {
        let kind: String = redis::cmd("TYPE").arg(&k).query(&mut c).unwrap();
        let bytes: Vec<u8> = match kind.as_str() {
            "string" => c.get(&k).unwrap(),
            "zset" => {
                let m: Vec<Vec<u8>> = c.zrange(&k, 0, -1).unwrap();
                m.concat()
            }
            "list" => {
                let m: Vec<Vec<u8>> = c.lrange(&k, 0, -1).unwrap();
                m.concat()
            }
            _ => Vec::new(),
        };
        out.push((k, bytes));
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

fn exists(redis: &RedisServer, key: &str) -> bool {
    redis.connection().exists(key).unwrap()
}

#[test]
fn a_redis_dump_yields_no_cookie_and_every_session_feature_works() {
    let redis = RedisServer::start();
    let site = site(&redis);
    let secret = key_text();
    let secret = secret.trim_start_matches("base64:").to_owned();
    let ann = "ann".to_owned();
    let (mut phone, phone_id) = log_in(&site, &ann);
    let (mut laptop, laptop_id) = log_in(&site, &ann);
    let (_, bob_id) = log_in(&site, "bob");

    // The dump: session keys are h.<hex>, and no key or value holds an id or the data.
    let all = dump(&redis);
    assert!(!all.is_empty());
    for (k, v) in &all {
        for id in [&phone_id, &laptop_id, &bob_id] {
            assert!(!k.contains(id.as_str()), "{k} holds a cookie's id");
            assert!(!contains(v, id), "{k}'s value holds a cookie's id");
        }
        // Session data is encrypted; the per-user index names users in clear, by design.
        if is_hashed_id(k.trim_start_matches(PREFIX).as_bytes()) {
            assert!(v.starts_with(b"\xFFPSE"), "{k}");
            assert!(!contains(v, "user_id"), "{k}'s value holds session data");
        }
    }
    let sessions: Vec<&str> = all
        .iter()
        .filter_map(|(k, _)| k.strip_prefix(PREFIX))
        .filter(|rest| is_hashed_id(rest.as_bytes()))
        .collect();
    assert_eq!(sessions.len(), 3, "{all:?}");
    for id in [&phone_id, &laptop_id, &bob_id] {
        assert!(exists(&redis, &format!("{PREFIX}{}", stored(id))));
        assert!(exists(&redis, &format!("{PREFIX}{}_USER", stored(id))));
    }
    // The index holds stored ids.
    let mut index: Vec<String> = redis
        .connection()
        .zrange(format!("{PREFIX}_user:{ann}"), 0, -1)
        .unwrap();
    index.sort();
    let mut want = vec![stored(&phone_id), stored(&laptop_id)];
    want.sort();
    assert_eq!(index, want);

    // Strict mode: a stored name from the dump, or an unknown id, opens nothing.
    for cookie in [stored(&laptop_id), "unknown0000000000000000000".to_owned()] {
        let mut thief = site.client();
        thief.set_cookie("PHPSESSID", &cookie);
        let r = thief.get(&format!("{APP}?do=whoami")).unwrap().json();
        assert_eq!(r["session"], json!([]), "{cookie}: {r}");
        assert_eq!(r["errors"], json!([]), "{cookie}: {r}");
        assert_ne!(r["id"], json!(cookie), "{cookie}: a new id is made");
    }
    assert_eq!(whoami(&site, &mut phone), json!(ann));
    assert_eq!(whoami(&site, &mut laptop), json!(ann));

    // phpsess_user_sessions(): stored ids, `current` marks this request's.
    let listed =
        site.ok_json("sessions", laptop.get(&format!("{APP}?do=sessions")))["result"].clone();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for s in listed {
        assert!(is_hashed_id(s["id"].as_str().unwrap().as_bytes()), "{s}");
        let current = s["id"] == json!(stored(&laptop_id));
        assert_eq!(s["current"], json!(current), "{s}");
    }

    // Regenerate: the new id's stored name holds the session, the old one is gone.
    let r = site.ok_json("regen", laptop.get(&format!("{APP}?do=regen")));
    let new_laptop = r["id"].as_str().unwrap().to_owned();
    assert_ne!(new_laptop, laptop_id);
    assert!(!exists(&redis, &format!("{PREFIX}{}", stored(&laptop_id))));
    assert!(exists(&redis, &format!("{PREFIX}{}", stored(&new_laptop))));
    assert_eq!(whoami(&site, &mut laptop), json!(ann));

    // The CLI: show by id with the key; without it, a message saying what is missing.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, key_text()).unwrap();
    let key_file = key_file.to_str().unwrap();
    let sp = format!("tcp://{}", redis.addr());
    let (code, out, err) = run_phpsess(&[
        "show",
        "--save-path",
        &sp,
        "--key-file",
        key_file,
        "--json",
        &new_laptop,
    ]);
    assert_eq!(code, 0, "{err}");
    let shown: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["data"]["user_id"], json!(ann), "{shown}");
    assert_eq!(
        shown["key"],
        json!(format!("{PREFIX}{}", stored(&new_laptop)))
    );
    let (code, out, err) = run_phpsess(&["show", "--save-path", &sp, &new_laptop]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("phpsess.hash_ids") && err.contains("--key-file or PHPSESS_KEY"),
        "{err}"
    );
    // A stored name as `ls` lists it needs no key to be found (its data does, to be read).
    let (code, out, err) = run_phpsess(&["ls", "--save-path", &sp, "--json"]);
    assert_eq!(code, 0, "{err}");
    let ls: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    // The three users' sessions and the two empty ones strict mode made for the "thieves".
    assert_eq!(ls.len(), 5, "{ls:?}");
    for id in [&phone_id, &new_laptop, &bob_id] {
        assert!(ls.contains(&stored(id)), "{ls:?}");
    }
    assert!(ls.iter().all(|id| is_hashed_id(id.as_bytes())), "{ls:?}");
    let (code, out, err) = run_phpsess(&["sessions", "--save-path", &sp, "--user", &ann, "--json"]);
    assert_eq!(code, 0, "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 2, "{listed}");
    // kill --user --except with a session id but no key would end the kept session too: refused.
    let (code, _, err) = run_phpsess(&[
        "kill",
        "--save-path",
        &sp,
        "--user",
        &ann,
        "--except",
        &new_laptop,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("--key-file or PHPSESS_KEY"), "{err}");
    assert!(exists(&redis, &format!("{PREFIX}{}", stored(&phone_id))));
    // kill by id with the key ends the phone's session.
    let (code, out, err) = run_phpsess(&[
        "kill",
        "--save-path",
        &sp,
        "--key-file",
        key_file,
        &phone_id,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ended 1 session(s)"), "{out}");
    assert_eq!(whoami(&site, &mut phone), Value::Null, "the phone is out");
    for text in [&out, &err] {
        assert!(!text.contains(&secret));
    }

    // Log out everywhere else: the phone logs in again, the laptop ends it.
    let (mut phone, phone_id) = log_in(&site, &ann);
    let r = site.ok_json("others", laptop.get(&format!("{APP}?do=others")));
    assert_eq!(r["result"], json!(1), "{r}");
    assert_eq!(whoami(&site, &mut phone), Value::Null);
    assert!(!exists(&redis, &format!("{PREFIX}{}", stored(&phone_id))));
    assert_eq!(whoami(&site, &mut laptop), json!(ann), "the laptop stays");

    // phpsess_destroy_session() with a stored id from the listing.
    let (_, bob2) = log_in(&site, "bob");
    let r = site.ok_json(
        "kill",
        laptop.post_form(&format!("{APP}?do=kill"), &[("id", &stored(&bob2))]),
    );
    assert_eq!(r["result"], json!(true), "{r}");
    assert!(!exists(&redis, &format!("{PREFIX}{}", stored(&bob2))));

    // session_destroy(): data and binding go.
    let r = site.ok_json("destroy", laptop.get(&format!("{APP}?do=destroy")));
    assert_eq!(r["result"], json!(true), "{r}");
    assert!(!exists(&redis, &format!("{PREFIX}{}", stored(&new_laptop))));
    assert!(!exists(
        &redis,
        &format!("{PREFIX}{}_USER", stored(&new_laptop))
    ));

    assert!(!site.php_errors().contains(&secret));
}
