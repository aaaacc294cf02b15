//! The Redis half of `phpsess doctor`: is this server fit to hold sessions? Each [`Check`] says
//! ok / warn / fail, what was found, and the configuration line that fixes it. The rules: sessions
//! must survive a restart (AOF, fsync every second or always), must never be evicted while alive
//! (no `allkeys-*` policy), must not fill the machine (a `maxmemory`), must not be readable by
//! anyone who reaches the port (a password, not bound to the world), and must expire (a TTL on
//! every session key).

use super::census::Tally;
use super::server_facts::ServerFacts;

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Verdict {
    /// Nothing to do.
    Ok,
    /// Works, but something is at risk or already went wrong once.
    Warn,
    /// Sessions are lost, evicted, exposed or immortal with this setting.
    Fail,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Verdict::Ok => "ok",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        })
    }
}

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// A stable name (`persistence`, `eviction-policy`, …).
    pub name: &'static str,
    /// The server it is about (`tcp://10.0.0.5:6379`), or `php` for the PHP side.
    pub target: String,
    /// The outcome.
    pub verdict: Verdict,
    /// What was found, in words.
    pub found: String,
    /// The line that fixes it (a redis.conf or php.ini line), when not ok.
    pub fix: Option<String>,
}

impl Check {
    /// A check result.
    pub fn new(
        name: &'static str,
        target: &str,
        verdict: Verdict,
        found: impl Into<String>,
        fix: Option<&str>,
    ) -> Self {
        Check {
            name,
            target: target.to_owned(),
            verdict,
            found: found.into(),
            fix: if verdict == Verdict::Ok {
                None
            } else {
                fix.map(str::to_owned)
            },
        }
    }
}

/// The checks of one server, from what it says of itself and what a scan found on it.
pub fn redis_checks(target: &str, facts: &ServerFacts, tally: &Tally) -> Vec<Check> {
    let mut out = Vec::new();
    let check = |name, verdict, found: String, fix: Option<&str>| {
        Check::new(name, target, verdict, found, fix)
    };

    // Persistence: AOF with fsync every second (or always) loses at most a second of sessions.
    let fsync = facts.appendfsync.as_deref();
    out.push(match (facts.aof_enabled, fsync) {
        (true, Some("everysec" | "always")) => check(
            "persistence",
            Verdict::Ok,
            format!("appendonly yes, appendfsync {}", fsync.unwrap_or_default()),
            None,
        ),
        (true, None) => check(
            "persistence",
            Verdict::Ok,
            "appendonly yes (appendfsync unknown: CONFIG refused)".into(),
            None,
        ),
        (true, Some(other)) => check(
            "persistence",
            Verdict::Warn,
            format!("appendonly yes, appendfsync {other}: the OS decides when sessions reach the disk"),
            Some("appendfsync everysec"),
        ),
        (false, _) => check(
            "persistence",
            Verdict::Fail,
            match facts.save.as_deref() {
                Some("") | None => "appendonly no and no RDB snapshots: a restart loses every session".into(),
                Some(rules) => format!(
                    "appendonly no (RDB snapshots only, save \"{rules}\"): a restart loses the sessions since the last snapshot"
                ),
            },
            Some("appendonly yes  +  appendfsync everysec"),
        ),
    });

    // Eviction: an allkeys-* policy evicts live sessions when memory is full.
    let policy = facts.maxmemory_policy.as_str();
    out.push(if policy.starts_with("allkeys-") {
        check(
            "eviction-policy",
            Verdict::Fail,
            format!("maxmemory-policy {policy}: when memory is full, live sessions are evicted (users logged out)"),
            Some("maxmemory-policy volatile-lru"),
        )
    } else if policy.starts_with("volatile-") || policy == "noeviction" {
        check(
            "eviction-policy",
            Verdict::Ok,
            format!("maxmemory-policy {policy}"),
            None,
        )
    } else {
        check(
            "eviction-policy",
            Verdict::Warn,
            format!("maxmemory-policy {policy:?} is unknown to phpsess"),
            Some("maxmemory-policy volatile-lru"),
        )
    });

    out.push(if facts.maxmemory == 0 {
        check(
            "maxmemory",
            Verdict::Warn,
            format!(
                "no maxmemory (using {}): Redis grows until the machine runs out",
                human_bytes(facts.used_memory)
            ),
            Some("maxmemory 1gb   (what the machine can spare)"),
        )
    } else {
        let share = facts.used_memory.saturating_mul(100) / facts.maxmemory.max(1);
        check(
            "maxmemory",
            if share >= 90 {
                Verdict::Warn
            } else {
                Verdict::Ok
            },
            format!(
                "{} of {} used ({share}%)",
                human_bytes(facts.used_memory),
                human_bytes(facts.maxmemory)
            ),
            Some("raise maxmemory, or shorten session.gc_maxlifetime"),
        )
    });

    out.push(if facts.evicted_keys > 0 {
        check(
            "evictions",
            Verdict::Warn,
            format!(
                "{} keys evicted since the server started",
                facts.evicted_keys
            ),
            Some("raise maxmemory; with volatile-* policies only keys with a TTL are evicted"),
        )
    } else {
        check("evictions", Verdict::Ok, "no key evicted".into(), None)
    });

    let open_bind = facts.bind.as_deref().is_some_and(|b| {
        b.split_whitespace()
            .any(|a| matches!(a.trim_start_matches('-'), "0.0.0.0" | "*" | "::" | "::*"))
            || b.trim().is_empty()
    });
    out.push(match facts.password_required {
        Some(true) => check("auth", Verdict::Ok, "a password is required".into(), None),
        Some(false) => check(
            "auth",
            Verdict::Fail,
            "no password: anyone who reaches the port can read and forge sessions".into(),
            Some("requirepass <a long random secret>   (or an ACL user)"),
        ),
        None => check(
            "auth",
            Verdict::Warn,
            "could not tell (CONFIG and ACL refused)".into(),
            Some("requirepass <a long random secret>"),
        ),
    });

    out.push(match (&facts.bind, facts.protected_mode) {
        (None, _) => check(
            "network",
            Verdict::Warn,
            "could not tell (CONFIG refused)".into(),
            Some("bind 127.0.0.1 -::1   (or the private address the web servers use)"),
        ),
        (Some(bind), protected) if open_bind => {
            let unprotected = protected == Some(false) && facts.password_required != Some(true);
            check(
                "network",
                if unprotected {
                    Verdict::Fail
                } else {
                    Verdict::Warn
                },
                format!(
                    "bind {:?}{}: listening on every interface",
                    bind.trim(),
                    if unprotected {
                        ", protected-mode no, no password"
                    } else {
                        ""
                    }
                ),
                Some("bind 127.0.0.1 -::1   (or the private address the web servers use)"),
            )
        }
        (Some(bind), _) => check(
            "network",
            Verdict::Ok,
            format!("bind {}", bind.trim()),
            None,
        ),
    });

    let failed: Vec<String> = [
        ("aof_last_write_status", &facts.aof_last_write_status),
        (
            "aof_last_bgrewrite_status",
            &facts.aof_last_bgrewrite_status,
        ),
        ("rdb_last_bgsave_status", &facts.rdb_last_bgsave_status),
    ]
    .iter()
    .filter(|(_, v)| v.as_str() == "err")
    .map(|(k, v)| format!("{k}:{v}"))
    .collect();
    out.push(if failed.is_empty() {
        check(
            "write-errors",
            Verdict::Ok,
            "no AOF/RDB write error".into(),
            None,
        )
    } else {
        check(
            "write-errors",
            Verdict::Fail,
            failed.join(", "),
            Some("see the Redis log: disk full or not writable (dir, permissions)"),
        )
    });

    out.push(if tally.sessions_without_ttl > 0 {
        check(
            "session-ttl",
            Verdict::Fail,
            format!(
                "{} of {} sessions have no TTL and never expire",
                tally.sessions_without_ttl, tally.sessions
            ),
            Some("something other than the session handler writes them: find it; then EXPIRE them"),
        )
    } else {
        check(
            "session-ttl",
            Verdict::Ok,
            format!("all {} sessions expire", tally.sessions),
            None,
        )
    });

    if tally.foreign_keys > 0 {
        out.push(check(
            "prefix",
            Verdict::Warn,
            format!(
                "{} keys under the session prefix are not sessions (e.g. {})",
                tally.foreign_keys,
                tally.foreign_examples.first().map_or("", String::as_str)
            ),
            Some("give sessions a prefix of their own (save_path ?prefix=…) or another database"),
        ));
    }
    out
}

/// `1.5 MiB`-style sizes for messages.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> ServerFacts {
        ServerFacts {
            maxmemory: 1 << 30,
            used_memory: 1 << 20,
            maxmemory_policy: "volatile-lru".into(),
            aof_enabled: true,
            appendfsync: Some("everysec".into()),
            password_required: Some(true),
            bind: Some("127.0.0.1 -::1".into()),
            protected_mode: Some(true),
            aof_last_write_status: "ok".into(),
            ..ServerFacts::default()
        }
    }

    fn verdicts(facts: &ServerFacts) -> Vec<(&'static str, Verdict)> {
        redis_checks("tcp://h:1", facts, &Tally::default())
            .into_iter()
            .map(|c| (c.name, c.verdict))
            .collect()
    }

    #[test]
    fn a_good_server_passes_every_check() {
        assert!(verdicts(&good()).iter().all(|(_, v)| *v == Verdict::Ok));
    }

    #[test]
    fn a_cache_configuration_fails() {
        let bad = ServerFacts {
            maxmemory_policy: "allkeys-lru".into(),
            aof_enabled: false,
            password_required: Some(false),
            bind: Some("* -::*".into()),
            protected_mode: Some(false),
            evicted_keys: 3,
            ..good()
        };
        let v = verdicts(&bad);
        for (name, want) in [
            ("persistence", Verdict::Fail),
            ("eviction-policy", Verdict::Fail),
            ("auth", Verdict::Fail),
            ("network", Verdict::Fail),
            ("evictions", Verdict::Warn),
        ] {
            assert!(v.contains(&(name, want)), "{name}: {v:?}");
        }
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
