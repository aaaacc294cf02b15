//! Credentials outside the save_path (`phpsess.auth`, `PHP_INI_SYSTEM`), through real PHP against
//! a redis-server with a password: PHP prints `session.save_path` in its own warnings, so the
//! password can live in php.ini, or in a file the setting points at, instead.

use crate::support::{warnings, Php};
use phpsess_compat::servers::RedisServer;
use serde_json::json;

const SCRIPT: &str = "ext_session.php";

#[test]
fn phpsess_auth_logs_in_where_the_save_path_has_no_password() {
    let server = RedisServer::builder()
        .password("s3cret")
        .acl_user("alice", "wonder")
        .start();
    let addr = server.addr();

    // The password from the setting: a session is written and read back.
    let php = Php::standalone(&addr).ini("phpsess.auth", "s3cret");
    let v = php.json(SCRIPT, &["new", "carol"]);
    let id = v["id"].as_str().expect("id").to_owned();
    let v = php.json(SCRIPT, &["read", &id]);
    assert_eq!(v["session"], json!({"user": "carol"}), "{v}");

    // USER:PASSWORD, and from a file.
    let file = server.dir().join("redis.pass");
    std::fs::write(&file, "alice:wonder\n").expect("write the password file");
    for value in [
        "alice:wonder".to_owned(),
        format!("file:{}", file.display()),
    ] {
        let v = Php::standalone(&addr)
            .ini("phpsess.auth", &value)
            .json(SCRIPT, &["read", &id]);
        assert_eq!(v["session"], json!({"user": "carol"}), "{value}: {v}");
    }

    // The save_path's own auth wins over the setting.
    let v = Php::new("phpsess", &format!("tcp://{addr}?auth=wrong"))
        .ini("phpsess.auth", "s3cret")
        .json(SCRIPT, &["start"]);
    assert_eq!(v["ok"], json!(false));
    assert_eq!(
        warnings(&v)[0],
        format!("session_start(): phpsess: authentication failed on tcp://{addr} for session {}: WRONGPASS invalid username-password pair or user is disabled.", short(&warnings(&v)[0]))
    );

    // An unreadable file is named, its contents never.
    let v = Php::standalone(&addr)
        .ini("phpsess.auth", "file:/nonexistent/redis.pass")
        .json(SCRIPT, &["start"]);
    assert_eq!(v["ok"], json!(false));
    assert_eq!(
        warnings(&v)[0],
        "session_start(): phpsess: phpsess.auth: cannot read the password file /nonexistent/redis.pass: No such file or directory (os error 2) (handler phpsess)"
    );
}

/// The shortened session id a warning shows (`abcdef…`).
fn short(warning: &str) -> String {
    warning
        .split("for session ")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .unwrap_or_default()
        .to_owned()
}

/// `phpsess.auth` holds the Redis password: phpinfo() (often left reachable on a status page)
/// and `php --ri phpsess` show that it is set, never the password; a `file:` path is no secret
/// but is hidden the same way, so the displayer need not read the value.
#[test]
fn phpsess_auth_is_never_shown_by_phpinfo() {
    let server = RedisServer::builder().password("pw-Zq81xK").start();
    let p = Php::standalone(&server.addr()).ini("phpsess.auth", "default:pw-Zq81xK");
    let v = p.json("ext_encryption.php", &["info"]);
    let phpinfo = v["phpinfo"].as_str().unwrap();
    assert!(!phpinfo.contains("pw-Zq81xK"), "{phpinfo}");
    assert_eq!(
        v["info"]["phpsess.auth"],
        json!("(hidden) => (hidden)"),
        "{phpinfo}"
    );
    let ri = p.output(&["--ri", "phpsess"]);
    let ri = String::from_utf8_lossy(&ri.stdout);
    assert!(
        !ri.contains("pw-Zq81xK") && ri.contains("phpsess.auth"),
        "{ri}"
    );
    // Still logs in with it.
    let v = p.json(SCRIPT, &["new", "dora"]);
    assert!(v["id"].is_string() && warnings(&v).is_empty(), "{v}");
}
