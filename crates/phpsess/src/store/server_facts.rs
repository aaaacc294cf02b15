//! [`ServerFacts`]: what a Redis server says about itself that matters to a session store —
//! memory and its limit, eviction policy and evictions, persistence and its errors, whether it
//! wants a password, what it listens on — from `INFO` and `CONFIG GET` in one round trip. A server
//! that refuses `CONFIG` (a managed Redis, a renamed command) leaves those fields `None`.

use std::collections::BTreeMap;

use redis::Value;

use super::scan::KeyScanner;
use crate::error::{Error, Result};

/// The `CONFIG GET` parameters asked, one command each (Redis < 7 takes one per call).
const CONFIG: [&str; 7] = [
    "appendonly",
    "appendfsync",
    "requirepass",
    "bind",
    "protected-mode",
    "save",
    "maxmemory-policy",
];

/// What one server says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ServerFacts {
    /// `redis_version`.
    pub version: String,
    /// `role` (master, slave).
    pub role: String,
    /// `used_memory` in bytes.
    pub used_memory: u64,
    /// `maxmemory` in bytes (0: no limit).
    pub maxmemory: u64,
    /// `maxmemory_policy`.
    pub maxmemory_policy: String,
    /// `evicted_keys` since the server started (or `CONFIG RESETSTAT`).
    pub evicted_keys: u64,
    /// `expired_keys` since the server started.
    pub expired_keys: u64,
    /// `INFO keyspace`: `db0` -> `keys=…,expires=…,avg_ttl=…`.
    pub keyspace: BTreeMap<String, String>,
    /// `aof_enabled`.
    pub aof_enabled: bool,
    /// `aof_last_write_status` (`ok` or `err`).
    pub aof_last_write_status: String,
    /// `aof_last_bgrewrite_status`.
    pub aof_last_bgrewrite_status: String,
    /// `rdb_last_bgsave_status`.
    pub rdb_last_bgsave_status: String,
    /// `CONFIG GET appendfsync` (`None`: CONFIG refused).
    pub appendfsync: Option<String>,
    /// `CONFIG GET save` (RDB snapshot rules; empty: none).
    pub save: Option<String>,
    /// Whether a client must log in: `requirepass` set, or the `default` ACL user off or with
    /// a password (`None`: CONFIG and ACL refused).
    pub password_required: Option<bool>,
    /// `CONFIG GET bind`.
    pub bind: Option<String>,
    /// `CONFIG GET protected-mode`.
    pub protected_mode: Option<bool>,
}

impl ServerFacts {
    /// Ask server `server` of `scanner` (one round trip).
    pub fn read(scanner: &mut KeyScanner, server: usize) -> Result<ServerFacts> {
        let mut p = redis::pipe();
        p.cmd("INFO");
        p.cmd("INFO").arg("keyspace");
        for name in CONFIG {
            p.cmd("CONFIG").arg("GET").arg(name);
        }
        p.cmd("ACL").arg("GETUSER").arg("default");
        let replies = scanner.query(server, &p, "info")?;
        let info = match replies.first() {
            Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            Some(Value::VerbatimString { text, .. }) => text.clone(),
            other => {
                let label = scanner
                    .servers()?
                    .get(server)
                    .map(|s| s.label.clone())
                    .unwrap_or_default();
                return Err(Error::Redis {
                    host: label,
                    key: String::new(),
                    op: "info",
                    detail: match other {
                        Some(Value::ServerError(e)) => super::endpoint::server_reply(e),
                        other => format!("unexpected reply {other:?}"),
                    },
                    retry_safe: true,
                    source: None,
                });
            }
        };
        let keyspace = match replies.get(1) {
            Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
            Some(Value::VerbatimString { text, .. }) => text.clone(),
            _ => String::new(),
        };
        let fields = parse_info(&info);
        let get = |name: &str| fields.get(name).cloned().unwrap_or_default();
        let num = |name: &str| get(name).parse::<u64>().unwrap_or(0);
        let config: BTreeMap<&str, String> = CONFIG
            .iter()
            .zip(replies.iter().skip(2))
            .filter_map(|(name, reply)| config_value(reply).map(|v| (*name, v)))
            .collect();
        let acl_default = replies
            .get(2 + CONFIG.len())
            .and_then(acl_requires_password);
        let password_required = match config.get("requirepass") {
            Some(p) if !p.is_empty() => Some(true),
            Some(_) => Some(acl_default.unwrap_or(false)),
            None => acl_default,
        };
        Ok(ServerFacts {
            version: get("redis_version"),
            role: get("role"),
            used_memory: num("used_memory"),
            maxmemory: num("maxmemory"),
            maxmemory_policy: config
                .get("maxmemory-policy")
                .cloned()
                .unwrap_or_else(|| get("maxmemory_policy")),
            evicted_keys: num("evicted_keys"),
            expired_keys: num("expired_keys"),
            keyspace: parse_info(&keyspace)
                .into_iter()
                .filter(|(k, _)| k.starts_with("db"))
                .collect(),
            aof_enabled: get("aof_enabled") == "1",
            aof_last_write_status: get("aof_last_write_status"),
            aof_last_bgrewrite_status: get("aof_last_bgrewrite_status"),
            rdb_last_bgsave_status: get("rdb_last_bgsave_status"),
            appendfsync: config.get("appendfsync").cloned(),
            save: config.get("save").cloned(),
            password_required,
            bind: config.get("bind").cloned(),
            protected_mode: config.get("protected-mode").map(|v| v == "yes"),
        })
    }
}

/// `INFO` text: `name:value` lines, `#` section headers.
fn parse_info(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// `CONFIG GET name` answers `[name, value]` (RESP2) or a map (RESP3); an error when refused.
fn config_value(reply: &Value) -> Option<String> {
    let text = |v: &Value| match v {
        Value::BulkString(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    };
    match reply {
        Value::Array(parts) => parts.get(1).and_then(text),
        Value::Map(pairs) => pairs.first().and_then(|(_, v)| text(v)),
        _ => None,
    }
}

/// `ACL GETUSER default`: true when the user is off or has no `nopass` flag.
fn acl_requires_password(reply: &Value) -> Option<bool> {
    let Value::Array(parts) = reply else {
        return None;
    };
    let flags = parts
        .chunks(2)
        .find(|pair| matches!(&pair[0], Value::BulkString(b) if b == b"flags"))
        .and_then(|pair| pair.get(1))?;
    let Value::Array(flags) = flags else {
        return None;
    };
    let has = |f: &[u8]| flags.iter().any(|v| value_is(v, f));
    Some(has(b"off") || !has(b"nopass"))
}

fn value_is(v: &Value, f: &[u8]) -> bool {
    match v {
        Value::BulkString(b) => b == f,
        Value::SimpleString(s) => s.as_bytes() == f,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_become_fields() {
        let f = parse_info("# Memory\r\nused_memory:1024\r\nmaxmemory_policy:noeviction\r\n\r\n");
        assert_eq!(f["used_memory"], "1024");
        assert_eq!(f["maxmemory_policy"], "noeviction");
    }

    #[test]
    fn acl_flags_say_whether_a_password_is_needed() {
        let user = |flags: &[&str]| {
            Value::Array(vec![
                Value::BulkString(b"flags".to_vec()),
                Value::Array(
                    flags
                        .iter()
                        .map(|f| Value::SimpleString((*f).to_owned()))
                        .collect(),
                ),
            ])
        };
        assert_eq!(acl_requires_password(&user(&["on", "nopass"])), Some(false));
        assert_eq!(acl_requires_password(&user(&["on"])), Some(true));
        assert_eq!(acl_requires_password(&user(&["off", "nopass"])), Some(true));
    }
}
