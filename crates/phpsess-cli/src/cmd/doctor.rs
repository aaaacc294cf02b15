//! `phpsess doctor`: is this Redis (each host, each cluster master) fit to hold sessions, and is
//! the local PHP configured to use it safely? One line per check — ok / warn / fail, what was
//! found, the line that fixes it. Exit 0 when nothing fails, 1 when something fails, 2 when it
//! could not check (the Redis side from `phpsess::store::redis_checks`, the PHP side here).

use anyhow::Result;
use phpsess::store::{redis_checks, Check, ScanOptions, Tally, Verdict};
use serde_json::json;

use crate::cmd::stats::take_census;
use crate::output;
use crate::target::{PhpSettings, TargetArgs};
use crate::Outcome;

/// `phpsess doctor [--save-path SP] [--cluster] [--php-ini FILE | --php BINARY] [--json]`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    target: TargetArgs,
    /// One JSON object: `checks` (each `name`, `target`, `verdict`, `found`, `fix`) and `verdict`.
    #[arg(long)]
    json: bool,
}

/// The doctor could not reach or read a server: exit code 2.
#[derive(Debug)]
pub struct CouldNotCheck(pub String);

impl std::fmt::Display for CouldNotCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "could not check: {}", self.0)
    }
}

impl std::error::Error for CouldNotCheck {}

pub fn run(args: Args) -> Result<Outcome> {
    let want_php = args.target.php_requested();
    let target = args.target.resolve(want_php)?;
    let mut scanner = target.scanner()?;
    let census = take_census(&mut scanner, &ScanOptions::default().with_memory(false))
        .map_err(|e| CouldNotCheck(format!("{e:#}")))?;
    let mut checks = Vec::new();
    for srv in &census.servers {
        checks.extend(redis_checks(&srv.server, &srv.redis, &srv.tally));
    }
    // PHP's settings are there when the save_path came from PHP or --php-ini/--php was given.
    if let Some(php) = &target.php {
        checks.extend(php_checks(php, &census.total));
    }
    let worst = checks
        .iter()
        .map(|c| c.verdict)
        .max()
        .unwrap_or(Verdict::Ok);
    if args.json {
        output::json(&json!({"verdict": worst, "checks": checks}), true)?;
    } else {
        let mut text = String::new();
        for c in &checks {
            text += &format!(
                "{:<5} {:<16} {:<24} {}\n",
                c.verdict, c.name, c.target, c.found
            );
            if let Some(fix) = &c.fix {
                text += &format!("{:<5} {:<16} {:<24} fix: {fix}\n", "", "", "");
            }
        }
        let counts = |v| checks.iter().filter(|c| c.verdict == v).count();
        text += &format!(
            "\n{} ok, {} warn, {} fail\n",
            counts(Verdict::Ok),
            counts(Verdict::Warn),
            counts(Verdict::Fail)
        );
        output::bytes(text.as_bytes())?;
    }
    Ok(if worst == Verdict::Fail {
        Outcome::Failed
    } else {
        Outcome::Done
    })
}

/// PHP's session settings against what a session store needs.
fn php_checks(php: &PhpSettings, found: &Tally) -> Vec<Check> {
    let on = |name: &str| matches!(php.get(name), "1" | "On" | "on" | "true" | "yes");
    let mut out = Vec::new();
    let mut add = |name, verdict, found: String, fix: &str| {
        out.push(Check::new(name, "php", verdict, found, Some(fix)));
    };
    let strict = on("session.use_strict_mode");
    add(
        "strict-mode",
        if strict { Verdict::Ok } else { Verdict::Fail },
        format!(
            "session.use_strict_mode = {}{}",
            u8::from(strict),
            if strict {
                ""
            } else {
                ": ids chosen by the client are accepted (session fixation)"
            }
        ),
        "session.use_strict_mode = 1",
    );
    for (name, ini, why) in [
        (
            "cookie-secure",
            "session.cookie_secure",
            "the cookie is also sent over plain HTTP",
        ),
        (
            "cookie-httponly",
            "session.cookie_httponly",
            "JavaScript can read the session cookie",
        ),
    ] {
        let set = on(ini);
        add(
            name,
            if set { Verdict::Ok } else { Verdict::Warn },
            format!(
                "{ini} = {}{}",
                u8::from(set),
                if set {
                    String::new()
                } else {
                    format!(": {why}")
                }
            ),
            &format!("{ini} = 1"),
        );
    }
    let samesite = php.get("session.cookie_samesite");
    add(
        "cookie-samesite",
        if samesite.is_empty() {
            Verdict::Warn
        } else {
            Verdict::Ok
        },
        format!(
            "session.cookie_samesite = {samesite:?}{}",
            if samesite.is_empty() {
                ": the cookie rides on cross-site requests"
            } else {
                ""
            }
        ),
        "session.cookie_samesite = Lax",
    );
    let lifetime: u64 = php.get("session.gc_maxlifetime").parse().unwrap_or(0);
    let longest = found.ttl_max_ms.div_ceil(1000);
    add(
        "lifetime",
        if longest > lifetime.max(1) {
            Verdict::Warn
        } else {
            Verdict::Ok
        },
        if longest > lifetime {
            format!(
                "session.gc_maxlifetime = {lifetime} s, but a session in Redis lives {longest} s more: \
                 another writer or an older setting"
            )
        } else {
            format!("session.gc_maxlifetime = {lifetime} s, no session lives longer")
        },
        "the same session.gc_maxlifetime on every server of the fleet",
    );
    if php.extensions.iter().any(|e| e == "phpsess") {
        let expire: u64 = php.get("phpsess.lock_expire").parse().unwrap_or(0);
        let max_exec: u64 = php.get("max_execution_time").parse().unwrap_or(0);
        let short = expire != 0 && max_exec != 0 && expire < max_exec;
        add(
            "lock-expire",
            if short { Verdict::Warn } else { Verdict::Ok },
            format!(
                "phpsess.lock_expire = {expire}, max_execution_time = {max_exec}{}",
                if short {
                    ": a long request loses its lock (and its write)"
                } else {
                    ""
                }
            ),
            "phpsess.lock_expire = 0   (max_execution_time, at least 60 s)",
        );
        let compression = php.get("phpsess.compression");
        let mixed =
            !matches!(compression, "" | "none") && php.extensions.iter().any(|e| e == "redis");
        add(
            "compression",
            if mixed { Verdict::Warn } else { Verdict::Ok },
            format!(
                "phpsess.compression = {}{}",
                if compression.is_empty() {
                    "none"
                } else {
                    compression
                },
                if mixed {
                    ": phpredis is loaded too, and phpredis 5.3.7/6.0 peers cannot read compressed sessions"
                } else {
                    ""
                }
            ),
            "phpsess.compression = none   (until no phpredis peer is left)",
        );
    }
    if let Some(in_path) = password_in_save_path(php) {
        add(
            "save-path-auth",
            if in_path { Verdict::Warn } else { Verdict::Ok },
            if in_path {
                "session.save_path holds the Redis password, and PHP prints the save_path in its \
                 own warnings (\"Failed to read session data: … (path: …)\") and in phpinfo()"
                    .into()
            } else {
                "no password in session.save_path".into()
            },
            "phpsess.auth = file:/etc/php/redis.pass   (PHP_INI_SYSTEM; the file's first line is \
             the password or USER:PASSWORD), and no auth in the save_path",
        );
    }
    out
}

/// Whether PHP's `session.save_path` names a Redis password (`auth=`, `auth[]=`, a URL's
/// `user:password@`, a cluster's `auth`), or `None` when it is not a phpredis/phpsess save_path
/// this can read. Only the answer leaves here, never the password.
fn password_in_save_path(php: &PhpSettings) -> Option<bool> {
    use phpsess::save_path::{ClusterSavePath, SavePath};
    let save_path = php.get("session.save_path");
    match php.get("session.save_handler") {
        "phpsess_cluster" | "rediscluster" => ClusterSavePath::parse(save_path)
            .ok()
            .map(|c| c.auth.is_some()),
        "phpsess" | "redis" => SavePath::parse(save_path)
            .ok()
            .map(|p| p.hosts.iter().any(|h| h.auth.is_some())),
        _ => None,
    }
}
