//! The phpsess extension as PHP sees it without any Redis: both save handlers registered, the
//! dependency on ext/session declared, the INI settings with their defaults (changeable per
//! script, booleans read as PHP reads its own), `php --ri` output, and no handlers under `dl()`.

use crate::support::{extension, Php};
use serde_json::json;

fn php() -> Php {
    Php::new("files", "")
}

fn stdout(args: &[&str]) -> String {
    let out = php().output(args);
    assert!(
        out.status.success(),
        "php {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn php_lists_both_save_handlers() {
    let info = stdout(&["-i"]);
    assert!(
        info.contains("Registered save handlers => files user phpsess phpsess_cluster"),
        "{info}"
    );
}

#[test]
fn reflection_shows_the_session_dependency_and_every_setting() {
    let re = stdout(&["--re", "phpsess"]);
    assert!(
        re.contains("Extension [ <persistent> extension #")
            && re.contains(&format!("phpsess version {} ]", env!("CARGO_PKG_VERSION"))),
        "{re}"
    );
    assert!(re.contains("Dependency [ session (Required) ]"), "{re}");
    for (name, default) in [
        ("phpsess.locking_enabled", "1"),
        ("phpsess.lock_expire", "0"),
        ("phpsess.lock_wait_timeout", "5000"),
        ("phpsess.lock_retry_interval", "20"),
        ("phpsess.early_refresh", "0"),
        ("phpsess.compression", "none"),
        ("phpsess.compression_level", "3"),
        ("phpsess.max_session_bytes", "16M"),
        ("phpsess.user_key", ""),
        ("phpsess.user_index", "0"),
        ("phpsess.user_index_max", "100"),
        ("phpsess.stats_interval", "0"),
        ("phpsess.lock_queue", "1"),
    ] {
        let entry = format!("Entry [ {name} <ALL> ]\n      Current = '{default}'");
        assert!(re.contains(&entry), "{entry} in:\n{re}");
    }
}

#[test]
fn php_ri_shows_version_effective_settings_and_counters() {
    let ri = stdout(&["--ri", "phpsess"]);
    let version = format!("Version => {}", env!("CARGO_PKG_VERSION"));
    for line in [
        "phpsess support => enabled",
        version.as_str(),
        "Save handlers => phpsess phpsess_cluster",
        "Effective locking => on: expire 60 s (default: max_execution_time counts CPU time, not wall clock), wait up to 5000 ms in a queue, retry every 20 ms",
        "Effective early refresh => off",
        "Effective compression => none",
        "Effective session TTL => 1440 s (session.gc_maxlifetime)",
        "Directive => Local Value => Master Value",
        "phpsess.locking_enabled => 1 => 1",
        "phpsess.lock_expire => 0 => 0",
        "phpsess.lock_wait_timeout => 5000 => 5000",
        "phpsess.lock_retry_interval => 20 => 20",
        "phpsess.early_refresh => 0 => 0",
        "phpsess.compression => none => none",
        "phpsess.compression_level => 3 => 3",
        "phpsess.max_session_bytes => 16M => 16M",
        "phpsess.user_index => 0 => 0",
        "phpsess.user_index_max => 100 => 100",
        "phpsess.lock_queue => 1 => 1",
        "Effective per-user index => off",
        "Requests => 0",
        "Round trips => 0",
        "Lock waits => 0",
        "Time waited for locks (ms) => 0",
        "Lock losses => 0",
        "Errors => 0",
        "Panics caught => 0",
    ] {
        assert!(ri.lines().any(|l| l == line), "{line:?} in:\n{ri}");
    }
    assert!(ri.contains("This worker => pid "), "{ri}");

    // Settings from php.ini / -d show up as the effective values.
    let out = php()
        .ini("phpsess.lock_expire", "12")
        .ini("phpsess.compression", "zstd")
        .ini("phpsess.compression_level", "9")
        .ini("phpsess.early_refresh", "on")
        .output(&["--ri", "phpsess"]);
    let ri = String::from_utf8_lossy(&out.stdout);
    for line in [
        "Effective locking => on: expire 12 s (phpsess.lock_expire), wait up to 5000 ms in a queue, retry every 20 ms",
        "Effective early refresh => on",
        "Effective compression => zstd (level 9)",
    ] {
        assert!(ri.lines().any(|l| l == line), "{line:?} in:\n{ri}");
    }
}

#[test]
fn every_setting_can_be_changed_per_script() {
    let v = php().json("ext_ini.php", &["settable"]);
    assert_eq!(v, json!({"count": 19, "warnings": []}));
}

#[test]
fn booleans_are_read_as_php_reads_its_own() {
    let values = [
        "1", "0", "", "On", "on", "off", "yes", "no", "true", "TRUE", "false", "2", "-1", "1abc",
        "abc", " 1", "on ", "0x1", " yes", "+1",
    ];
    let v = php().json("ext_ini.php", &[&["bools"][..], &values[..]].concat());
    // The PHP script asserts ours == PHP's for each; here, that PHP's answers are what we expect.
    let on: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[2] == json!(true))
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(
        on,
        ["1", "On", "on", "yes", "true", "TRUE", "2", "-1", "1abc", " 1", "+1"]
    );
}

#[test]
fn dl_loads_without_registering_handlers() {
    let so = extension();
    let dir = so.parent().unwrap().display().to_string();
    let name = so.file_name().unwrap().to_str().unwrap();
    let code = format!(
        "var_dump(dl('{name}'), extension_loaded('phpsess'), ini_get('phpsess.locking_enabled')); ob_start(); phpinfo(INFO_MODULES); echo preg_match('/Registered save handlers => (.*)/', ob_get_clean(), $m) ? $m[1] : '?';"
    );
    let out = std::process::Command::new(phpsess_compat::php::php_binary())
        .args(["-n", "-d", "enable_dl=1", "-d"])
        .arg(format!("extension_dir={dir}"))
        .args(["-d", "display_errors=stdout", "-r", &code])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Warning: dl(): phpsess: loaded with dl(), so the save handlers are not registered; load it from php.ini (extension=phpsess.so)"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("bool(true)\nbool(true)\nstring(1) \"1\"\nfiles user"),
        "the script goes on, without our handlers: {text}"
    );
}
