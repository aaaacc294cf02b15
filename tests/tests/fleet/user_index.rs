//! The per-user index as users meet it: php-fpm pools with phpsess behind nginx, two "devices"
//! (cookie jars) logged in as one user, "log out everywhere else", a request in flight on a
//! session that is ended (its final write is refused and the session stays gone), entries that
//! leave with logouts, regenerated and expired sessions, the explicit `phpsess_set_user()`, and
//! the PHP functions on three weighted hosts and a 6-node cluster. Pairs with
//! `tests/php/fleet_users.php`.

use std::thread;
use std::time::Duration;

use phpsess_compat::servers::{RedisCluster, RedisServer};
use phpsess_compat::web::{FpmPool, HttpClient, Site};
use redis::Commands;
use serde_json::{json, Value};

const APP: &str = "/fleet_users.php";

fn site(save_handler: &str, save_path: &str, extra: &[(&str, &str)]) -> Site {
    let mut pool = FpmPool::builder("users")
        .workers(3)
        .admin_value("session.save_handler", save_handler)
        .admin_value("session.save_path", save_path)
        .admin_value("session.use_strict_mode", "1");
    for (k, v) in extra {
        pool = pool.admin_value(*k, *v);
    }
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

fn index(redis: &RedisServer, user: &str) -> Vec<String> {
    let mut m: Vec<String> = redis
        .connection()
        .zrange(format!("PHPREDIS_SESSION:_user:{user}"), 0, -1)
        .unwrap();
    m.sort();
    m
}

#[test]
fn two_devices_list_their_sessions_and_log_out_everywhere_else() {
    let redis = RedisServer::start();
    let site = site(
        "phpsess",
        &format!("tcp://{}", redis.addr()),
        &[("phpsess.user_key", "user_id")],
    );
    let (mut phone, phone_id) = log_in(&site, "ann");
    let (mut laptop, laptop_id) = log_in(&site, "ann");
    let (_, bob_id) = log_in(&site, "bob");
    let mut both = vec![phone_id.clone(), laptop_id.clone()];
    both.sort();
    assert_eq!(
        index(&redis, "ann"),
        both,
        "login indexed, the pre-login ids are gone"
    );
    assert_eq!(index(&redis, "bob"), [bob_id.as_str()]);

    let listed =
        site.ok_json("sessions", laptop.get(&format!("{APP}?do=sessions")))["result"].clone();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "{listed:?}");
    for s in listed {
        let current = s["id"] == json!(laptop_id);
        assert_eq!(s["current"], json!(current), "{s}");
        assert!(s["ttl"].as_i64().unwrap() > 1000, "{s}");
        assert!(s["bytes"].as_i64().unwrap() > 0, "{s}");
        assert_eq!(s["host"], json!(format!("tcp://{}", redis.addr())));
    }

    let r = site.ok_json("others", laptop.get(&format!("{APP}?do=others")));
    assert_eq!(r["result"], json!(1), "one other session ended");
    assert_eq!(
        whoami(&site, &mut phone),
        Value::Null,
        "the phone is logged out"
    );
    assert_ne!(
        phone.cookie("PHPSESSID"),
        Some(phone_id.as_str()),
        "and got a new id"
    );
    assert_eq!(
        whoami(&site, &mut laptop),
        json!("ann"),
        "the laptop stays in"
    );
    assert_eq!(index(&redis, "ann"), [laptop_id.as_str()]);
    assert_eq!(index(&redis, "bob"), [bob_id], "other users untouched");

    // Logging out (the user_key entry removed) takes the session out of the index.
    site.ok_json("logout", laptop.get(&format!("{APP}?do=logout")));
    assert!(index(&redis, "ann").is_empty());
    let bound: bool = redis
        .connection()
        .exists(format!("PHPREDIS_SESSION:{laptop_id}_USER"))
        .unwrap();
    assert!(!bound, "the binding goes too");
}

#[test]
fn a_request_in_flight_cannot_write_back_a_session_that_was_ended() {
    let redis = RedisServer::start();
    let site = site(
        "phpsess",
        &format!("tcp://{}", redis.addr()),
        &[("phpsess.user_key", "user_id")],
    );
    let (mut desktop, _) = log_in(&site, "cy");
    let (mut tablet, tablet_id) = log_in(&site, "cy");
    // The tablet's long request holds its session for 1.5 s...
    let slow = {
        let mut tablet = site.client();
        tablet.set_cookie("PHPSESSID", &tablet_id);
        thread::spawn(move || tablet.get(&format!("{APP}?do=slow&ms=1500")))
    };
    thread::sleep(Duration::from_millis(500));
    // ...while the desktop logs out everywhere else.
    let r = site.ok_json("others", desktop.get(&format!("{APP}?do=others")));
    assert_eq!(r["result"], json!(1));
    let slow = slow.join().unwrap().unwrap();
    assert_eq!(slow.status, 200);
    let exists: bool = redis
        .connection()
        .exists(format!("PHPREDIS_SESSION:{tablet_id}"))
        .unwrap();
    assert!(
        !exists,
        "the long request's final write was refused: {}",
        slow.text()
    );
    let warned = slow.json()["errors"].to_string();
    assert!(
        warned.contains("no longer ours"),
        "the refusal is reported: {warned}"
    );
    assert_eq!(
        whoami(&site, &mut tablet),
        Value::Null,
        "the tablet stays logged out"
    );
    assert_eq!(whoami(&site, &mut desktop), json!("cy"));
}

#[test]
fn regenerated_and_expired_sessions_leave_the_index() {
    let redis = RedisServer::start();
    let site = site(
        "phpsess",
        &format!("tcp://{}", redis.addr()),
        &[
            ("phpsess.user_key", "user_id"),
            ("session.gc_maxlifetime", "2"),
        ],
    );
    let (mut a, first) = log_in(&site, "dee");
    let r = site.ok_json("regen", a.get(&format!("{APP}?do=regen")));
    let second = r["id"].as_str().unwrap().to_owned();
    assert_ne!(first, second);
    assert_eq!(
        index(&redis, "dee"),
        [second.as_str()],
        "the old id left with session_regenerate_id(true)"
    );
    thread::sleep(Duration::from_millis(3100));
    let (_, third) = log_in(&site, "dee");
    assert_eq!(
        index(&redis, "dee"),
        [third],
        "the expired one left at the user's next write"
    );
}

#[test]
fn an_explicit_binding_lasts_until_unbound_and_survives_regeneration() {
    let redis = RedisServer::start();
    let site = site(
        "phpsess",
        &format!("tcp://{}", redis.addr()),
        &[("phpsess.user_index", "1")],
    );
    let mut c = site.client();
    site.ok_json("first", c.get(&format!("{APP}?do=whoami")));
    let r = site.ok_json(
        "bind",
        c.post_form(&format!("{APP}?do=bind"), &[("user", "u-77")]),
    );
    let id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(index(&redis, "u-77"), [id.as_str()]);
    // Later requests make no call: the binding stays, and follows a new id.
    site.ok_json("again", c.get(&format!("{APP}?do=whoami")));
    let r = site.ok_json("regen", c.get(&format!("{APP}?do=regen")));
    let new_id = r["id"].as_str().unwrap().to_owned();
    assert_eq!(index(&redis, "u-77"), [new_id.as_str()]);
    let listed =
        site.ok_json("sessions", c.get(&format!("{APP}?do=sessions&user=u-77")))["result"].clone();
    assert_eq!(listed[0]["id"], json!(new_id));
    assert_eq!(listed[0]["current"], json!(true));
    // phpsess_destroy_session() by id from another client.
    let mut admin = site.client();
    let r = site.ok_json(
        "kill",
        admin.post_form(&format!("{APP}?do=kill"), &[("id", &new_id)]),
    );
    assert_eq!(r["result"], json!(true));
    assert!(index(&redis, "u-77").is_empty());
    let r = site.ok_json("after kill", c.get(&format!("{APP}?do=whoami")));
    assert_ne!(
        r["id"],
        json!(new_id),
        "strict mode: the ended id is not reused"
    );
}

/// The PHP functions on other topologies: php-cli, sessions created one by one, then listed and
/// ended through the functions.
fn functions_across(save_handler: &str, save_path: &str) {
    let ext = phpsess_compat::web::phpsess_extension();
    let script = r#"<?php
        ini_set('session.use_cookies', '0');
        ini_set('session.cache_limiter', '');
        $ids = [];
        for ($i = 0; $i < 12; $i++) {
            session_id(sprintf('fn%02dabcdefghijklmnopqrstuvw', $i));
            session_start();
            $_SESSION['user_id'] = 501;
            $ids[] = session_id();
            session_write_close();
        }
        $listed = array_column(phpsess_user_sessions(501), 'id');
        sort($listed);
        session_id($ids[0]);
        session_start();
        $killed = phpsess_destroy_user_sessions(501);
        $left = array_column(phpsess_user_sessions(501), 'id');
        session_write_close();
        echo json_encode(['ids' => $ids, 'listed' => $listed, 'killed' => $killed, 'left' => $left]), "\n";
    "#;
    let out = std::process::Command::new(phpsess_compat::php::php_binary())
        .args(["-n", "-d", &format!("extension={}", ext.display())])
        .args(["-d", &format!("session.save_handler={save_handler}")])
        .args(["-d", &format!("session.save_path=\"{save_path}\"")])
        .args([
            "-d",
            "phpsess.user_key=user_id",
            "-r",
            script.trim_start_matches("<?php"),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(v["listed"], v["ids"], "{v}");
    assert_eq!(v["killed"], json!(11), "{v}");
    assert_eq!(v["left"], json!([v["ids"][0]]), "{v}");
}

#[test]
fn the_php_functions_work_on_weighted_hosts_and_a_cluster() {
    let servers: Vec<RedisServer> = (0..3).map(|_| RedisServer::start()).collect();
    let hosts = format!(
        "tcp://{}?weight=1, tcp://{}?weight=2, tcp://{}?weight=3",
        servers[0].addr(),
        servers[1].addr(),
        servers[2].addr()
    );
    functions_across("phpsess", &hosts);
    let cluster = RedisCluster::start();
    functions_across("phpsess_cluster", &cluster.seed_query());
}
