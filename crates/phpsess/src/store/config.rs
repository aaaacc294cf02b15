//! From a `session.save_path` string to a [`Topology`]: the parsed save_path (see
//! [`crate::save_path`]) turned into endpoints with their logins, timeouts and TLS settings.

use std::path::PathBuf;
use std::time::Duration;

use redis::ConnectionAddr;

use super::cluster::{ClusterSpec, ReadFrom};
use super::keys::DEFAULT_PREFIX;
use super::node::{Endpoint, TlsFiles};
use super::sentinel::SentinelSpec;
use super::topology::{HostSpec, Topology};
use crate::error::{Error, Result};
use crate::save_path::{Address, Auth, ClusterSavePath, Failover, HostEntry, SavePath};
use crate::value::Value;

impl Topology {
    /// A topology from a phpredis `redis` save_path (`tcp://10.0.0.5:6379?weight=2&auth=pw, ...`,
    /// unix sockets, `redis://`/`rediss://` URLs). Opens no connection.
    pub fn from_save_path(save_path: &str) -> Result<Topology> {
        let trimmed = save_path.trim_start();
        if trimmed.len() >= SENTINEL_SCHEME.len()
            && trimmed[..SENTINEL_SCHEME.len()].eq_ignore_ascii_case(SENTINEL_SCHEME)
        {
            return Topology::sentinel(sentinel_spec(save_path)?);
        }
        let parsed = SavePath::parse(save_path)?;
        Topology::hosts(parsed.hosts.iter().map(host_spec).collect())
    }

    /// A topology from a phpredis `rediscluster` save_path (`seed[]=h:7000&seed[]=h:7001&...`).
    pub fn from_cluster_save_path(save_path: &str) -> Result<Topology> {
        let parsed = ClusterSavePath::parse(save_path)?;
        Topology::cluster(cluster_spec(&parsed))
    }
}

/// The Sentinel form of a `phpsess` save_path (phpredis has none):
///
/// `sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME[?auth=...&database=N&prefix=...&timeout=S&read_timeout=S&sentinel_auth=...]`
///
/// The whole string is one entry (commas separate sentinels here, not hosts). `auth` takes the same
/// forms as in phpredis's syntax (`auth=pw`, `auth[]=user&auth[]=pw`); `sentinel_auth` is the
/// sentinels' own password, if they have one.
pub const SENTINEL_SCHEME: &str = "sentinel://";

fn sentinel_spec(save_path: &str) -> Result<SentinelSpec> {
    let offset = save_path.len() - save_path.trim_start().len();
    let text = save_path.trim();
    let bad = |reason: String| Error::SavePath {
        entry: text.to_owned(),
        offset,
        reason,
    };
    let rest = &text[SENTINEL_SCHEME.len()..];
    let (hosts, after) = rest
        .split_once('/')
        .ok_or_else(|| bad("expected '/MASTER_NAME' after the sentinel addresses".into()))?;
    let (name, query) = after.split_once('?').unwrap_or((after, ""));
    if name.is_empty() {
        return Err(bad("the master name after '/' is empty".into()));
    }
    let mut sentinels = Vec::new();
    for h in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let (host, port) = h
            .rsplit_once(':')
            .ok_or_else(|| bad(format!("sentinel '{h}' is not HOST:PORT")))?;
        let port: u16 = port
            .parse()
            .map_err(|_| bad(format!("sentinel '{h}' has an invalid port")))?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        sentinels.push((host.to_owned(), port));
    }
    if sentinels.is_empty() {
        return Err(bad("no sentinel addresses".into()));
    }
    let params = crate::save_path::php::parse_str(query.as_bytes());
    let text_param = |k: &str| {
        params
            .get(k)
            .and_then(|v| v.as_bytes())
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let seconds = |k: &str, default: Duration| -> Result<Duration> {
        match text_param(k) {
            None => Ok(default),
            Some(v) => match v.parse::<f64>() {
                Ok(s) if s > 0.0 && s < 1e9 => Ok(Duration::from_secs_f64(s)),
                _ => Err(bad(format!(
                    "{k} must be a positive number of seconds, got '{v}'"
                ))),
            },
        }
    };
    let (username, password) = match params.get("auth") {
        None => (None, None),
        Some(Value::Array(a)) if a.len() == 2 => {
            let mut it = a.iter().map(|(_, v)| {
                v.as_bytes()
                    .map(|b| String::from_utf8_lossy(b).into_owned())
            });
            (it.next().flatten(), it.next().flatten())
        }
        Some(Value::Array(a)) if a.len() == 1 => (
            None,
            a.iter()
                .next()
                .and_then(|(_, v)| v.as_bytes())
                .map(|b| String::from_utf8_lossy(b).into_owned()),
        ),
        Some(Value::String(pw)) => (None, Some(String::from_utf8_lossy(pw).into_owned())),
        Some(_) => return Err(bad("auth must be a password or [user, password]".into())),
    };
    let db = match text_param("database") {
        None => 0,
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|d| *d >= 0)
            .ok_or_else(|| bad(format!("database must be a number >= 0, got '{v}'")))?,
    };
    let mut master = Endpoint::tcp("sentinel-discovered", 0);
    master.label = format!("{SENTINEL_SCHEME}{hosts}/{name}");
    master.username = username;
    master.password = password;
    master.db = db;
    master.connect_timeout = seconds("timeout", crate::save_path::DEFAULT_CONNECT_TIMEOUT)?;
    master.read_timeout = seconds("read_timeout", crate::save_path::DEFAULT_READ_TIMEOUT)?;
    let prefix = params
        .get("prefix")
        .and_then(|v| v.as_bytes())
        .map(<[u8]>::to_vec)
        .unwrap_or_else(|| DEFAULT_PREFIX.as_bytes().to_vec());
    Ok(SentinelSpec {
        sentinels,
        master_name: name.to_owned(),
        sentinel_password: text_param("sentinel_auth"),
        master,
        prefix,
    })
}

fn host_spec(entry: &HostEntry) -> HostSpec {
    let (username, password) = credentials(entry.auth.as_ref());
    let endpoint = Endpoint {
        label: entry.address.to_string(),
        addr: connection_addr(&entry.address, &entry.stream),
        username,
        password,
        db: i64::from(entry.effective_database()),
        connect_timeout: entry.connect_timeout(),
        read_timeout: entry.effective_read_timeout(),
        tls: tls_files(&entry.stream),
    };
    HostSpec {
        endpoint,
        weight: entry.effective_weight(),
        prefix: entry.effective_prefix().to_vec(),
    }
}

fn cluster_spec(sp: &ClusterSavePath) -> ClusterSpec {
    let (username, password) = credentials(sp.auth.as_ref());
    let seeds = sp
        .seeds
        .iter()
        .filter_map(|a| match (a.host(), a.port()) {
            (Some(h), Some(p)) if h.contains(':') => Some(format!("[{h}]:{p}")),
            (Some(h), Some(p)) => Some(format!("{h}:{p}")),
            _ => None,
        })
        .collect();
    let mut spec = ClusterSpec::new(seeds);
    spec.username = username;
    spec.password = password;
    spec.connect_timeout = sp.connect_timeout();
    spec.read_timeout = sp.effective_read_timeout();
    spec.prefix = sp.effective_prefix().to_vec();
    spec.tls = sp.uses_tls();
    // `failover=error` (replicas only when the master fails) has no direct equivalent in the
    // cluster client; reading from masters keeps its guarantee of fresh data.
    spec.read_from = match sp.failover {
        Failover::Distribute => ReadFrom::Distribute,
        _ => ReadFrom::Master,
    };
    spec
}

/// Redis credentials are text; a password with invalid UTF-8 is passed on lossily (Redis would
/// refuse it anyway, and the error then names the host).
fn credentials(auth: Option<&Auth>) -> (Option<String>, Option<String>) {
    match auth {
        None => (None, None),
        Some(a) => (
            a.user
                .as_deref()
                .map(|u| String::from_utf8_lossy(u).into_owned()),
            Some(String::from_utf8_lossy(&a.password).into_owned()),
        ),
    }
}

fn connection_addr(
    address: &Address,
    stream: &std::collections::BTreeMap<String, String>,
) -> ConnectionAddr {
    match address {
        Address::Tcp { host, port } => ConnectionAddr::Tcp(host.clone(), *port),
        Address::Tls { host, port, .. } => ConnectionAddr::TcpTls {
            host: host.clone(),
            port: *port,
            // PHP's `verify_peer=0` turns the certificate checks off. `verify_peer_name=0` only
            // skips the host name (the chain and signatures are still checked): see `tls_files`.
            insecure: stream.get("verify_peer").is_some_and(|v| is_off(v)),
            tls_params: None,
        },
        Address::Unix { path } => ConnectionAddr::Unix(PathBuf::from(path)),
    }
}

fn is_off(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "0" | "" | "false" | "no" | "off"
    )
}

/// PHP `ssl` context options beyond `verify_peer`: the CA bundle or directory, a client
/// certificate and key, `verify_peer_name`, and the two we cannot honour with the redis crate's
/// rustls verifier (`allow_self_signed`, a `peer_name` other than the host), which are refused at
/// connect time rather than silently ignored (see [`TlsFiles::refused`]).
fn tls_files(stream: &std::collections::BTreeMap<String, String>) -> Option<TlsFiles> {
    let on = |name: &str| stream.get(name).is_some_and(|v| !is_off(v));
    let files = TlsFiles {
        ca: stream.get("cafile").map(PathBuf::from),
        ca_dir: stream.get("capath").map(PathBuf::from),
        cert: stream.get("local_cert").map(PathBuf::from),
        key: stream.get("local_pk").map(PathBuf::from),
        check_name: !stream.get("verify_peer_name").is_some_and(|v| is_off(v)),
        peer_name: stream.get("peer_name").cloned(),
        allow_self_signed: on("allow_self_signed"),
    };
    (files != TlsFiles::default()).then_some(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_hosts_keep_order_weights_and_prefixes() {
        let t = Topology::from_save_path(
            "tcp://10.0.0.1:6379?weight=1&prefix=A:, tcp://10.0.0.2:6380?weight=2&auth=pw&database=3",
        )
        .unwrap();
        // "abcd": 1684234849 % 3 = 1 -> reverse list [B=[0,2), A=[2,3)] -> B.
        assert_eq!(t.label(b"abcd"), "tcp://10.0.0.2:6380");
        assert_eq!(t.key(b"abcd").data, b"PHPREDIS_SESSION:abcd");
        // "cbcd" = 0x64636263 = 1684234851 % 3 = 0 -> B as well; "bbcd" % 3 = 2 -> A.
        assert_eq!(t.label(b"bbcd"), "tcp://10.0.0.1:6379");
        assert_eq!(t.key(b"bbcd").data, b"A:bbcd");
    }

    #[test]
    fn cluster_save_path_becomes_seeds() {
        let t = Topology::from_cluster_save_path(
            "seed[]=127.0.0.1:7000&seed[]=127.0.0.1:7001&prefix=S:",
        )
        .unwrap();
        assert_eq!(t.label(b"x"), "cluster(127.0.0.1:7000,127.0.0.1:7001)");
        assert_eq!(t.key(b"x").data, b"S:x");
        assert_eq!(t.key(b"x").lock, b"{S:x}_LOCK");
    }

    #[test]
    fn sentinel_form_names_sentinels_master_and_login() {
        let t = Topology::from_save_path(
            "sentinel://10.0.0.1:26379,10.0.0.2:26379/mymaster?auth[]=app&auth[]=pw&database=2&prefix=S:",
        )
        .unwrap();
        assert_eq!(
            t.label(b"x"),
            "sentinel://mymaster@10.0.0.1:26379,10.0.0.2:26379"
        );
        assert_eq!(t.key(b"x").data, b"S:x");
        assert_eq!(t.key(b"x").lock, b"S:x_LOCK");
        let errors = [
            (
                "sentinel://10.0.0.1:26379",
                "expected '/MASTER_NAME' after the sentinel addresses",
            ),
            (
                "sentinel://10.0.0.1:26379/",
                "the master name after '/' is empty",
            ),
            (
                "sentinel://10.0.0.1/m",
                "sentinel '10.0.0.1' is not HOST:PORT",
            ),
            (
                "sentinel://h:1/m?timeout=0",
                "timeout must be a positive number of seconds, got '0'",
            ),
        ];
        for (sp, want) in errors {
            let e = Topology::from_save_path(sp)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.ends_with(want), "{sp}: {e}");
        }
    }

    #[test]
    fn bad_save_path_is_an_error_naming_the_entry() {
        let e = Topology::from_save_path("tcp://a:6379?weight=0")
            .err()
            .map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.contains("weight")), "{e:?}");
    }
}
