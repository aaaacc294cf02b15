//! From a `session.save_path` string to a [`Topology`]: the parsed save_path (see
//! [`crate::save_path`]) turned into endpoints with their logins, timeouts and TLS settings.

use std::path::PathBuf;

use redis::ConnectionAddr;

use super::cluster::{ClusterSpec, ReadFrom};
use super::endpoint::{Endpoint, TlsFiles};
use super::sentinel::SentinelSpec;
use super::topology::{HostSpec, Topology};
use crate::error::Result;
use crate::save_path::{
    Address, Auth, ClusterSavePath, Failover, HostEntry, SavePath, SentinelSavePath,
};

impl Topology {
    /// A topology from a phpredis `redis` save_path (`tcp://10.0.0.5:6379?weight=2&auth=pw, ...`,
    /// unix sockets, `redis://`/`rediss://` URLs). Opens no connection.
    pub fn from_save_path(save_path: &str) -> Result<Topology> {
        if SentinelSavePath::matches(save_path) {
            return Topology::sentinel(sentinel_spec(&SentinelSavePath::parse(save_path)?));
        }
        let parsed = SavePath::parse(save_path)?;
        Topology::hosts(parsed.hosts.iter().map(host_spec).collect())
    }

    /// A topology from a phpredis `rediscluster` save_path (`seed[]=h:7000&seed[]=h:7001&...`).
    pub fn from_cluster_save_path(save_path: &str) -> Result<Topology> {
        let parsed = ClusterSavePath::parse(save_path)?;
        Topology::cluster(cluster_spec(&parsed))
    }

    /// [`Topology::from_save_path`] with credentials for every entry whose save_path gives none
    /// (the extension's `phpsess.auth`, the CLI's `PHPSESS_AUTH`): passwords need not be written
    /// into the save_path, which PHP itself prints in its warnings.
    pub fn from_save_path_with_auth(save_path: &str, auth: Option<&Auth>) -> Result<Topology> {
        let Some(auth) = auth else {
            return Topology::from_save_path(save_path);
        };
        if SentinelSavePath::matches(save_path) {
            let mut sp = SentinelSavePath::parse(save_path)?;
            sp.auth.get_or_insert_with(|| auth.clone());
            return Topology::sentinel(sentinel_spec(&sp));
        }
        let mut parsed = SavePath::parse(save_path)?;
        for h in &mut parsed.hosts {
            h.auth.get_or_insert_with(|| auth.clone());
        }
        Topology::hosts(parsed.hosts.iter().map(host_spec).collect())
    }

    /// [`Topology::from_cluster_save_path`] with credentials when the save_path gives none.
    pub fn from_cluster_save_path_with_auth(
        save_path: &str,
        auth: Option<&Auth>,
    ) -> Result<Topology> {
        let mut parsed = ClusterSavePath::parse(save_path)?;
        if let Some(auth) = auth {
            parsed.auth.get_or_insert_with(|| auth.clone());
        }
        Topology::cluster(cluster_spec(&parsed))
    }
}

/// The scheme of phpsess's Sentinel save_path form (see [`SentinelSavePath`]).
pub use crate::save_path::SENTINEL_SCHEME;

pub(super) fn sentinel_spec(sp: &SentinelSavePath) -> SentinelSpec {
    let (username, password) = credentials(sp.auth.as_ref());
    let mut master = Endpoint::tcp("sentinel-discovered", 0);
    master.label = sp.label();
    master.username = username;
    master.password = password;
    master.db = i64::from(sp.effective_database());
    master.connect_timeout = sp.connect_timeout();
    master.read_timeout = sp.effective_read_timeout();
    SentinelSpec {
        sentinels: sp.sentinels.clone(),
        master_name: sp.master_name.clone(),
        sentinel_password: credentials(sp.sentinel_auth.as_ref()).1,
        master,
        prefix: sp.effective_prefix().to_vec(),
        wait_replicas: sp
            .wait_replicas
            .unwrap_or(super::sentinel::DEFAULT_WAIT_REPLICAS),
    }
}

pub(super) fn host_spec(entry: &HostEntry) -> HostSpec {
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

pub(super) fn cluster_spec(sp: &ClusterSavePath) -> ClusterSpec {
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
    fn debug_output_never_shows_passwords() {
        let hosts =
            SavePath::parse("tcp://h:1?auth=s3cret, redis://u:s3cret@h2/1").expect("parses");
        let sentinel = SentinelSavePath::parse("sentinel://h:1/m?auth=s3cret&sentinel_auth=s3cret")
            .expect("parses");
        let cluster = ClusterSavePath::parse("seed[]=h:1&auth[]=u&auth[]=s3cret").expect("parses");
        let debug = [
            format!(
                "{:?}",
                hosts.hosts.iter().map(host_spec).collect::<Vec<_>>()
            ),
            format!("{:?}", sentinel_spec(&sentinel)),
            format!("{:?}", cluster_spec(&cluster)),
        ];
        for d in debug {
            assert!(!d.contains("s3cret"), "{d}");
            assert!(d.contains("<redacted: 6 bytes>"), "{d}");
        }
        let mut e = Endpoint::tcp("h", 1);
        e.password = Some("s3cret".into());
        assert!(format!("{e:?}").contains(r#"password: Some(<redacted: 6 bytes>)"#));
        let sp = SentinelSavePath::parse("sentinel://h:1/m?auth=s3cret&sentinel_auth=s3cret")
            .expect("parses");
        assert!(!format!("{sp:?}").contains("s3cret"));
    }

    #[test]
    fn credentials_outside_the_save_path_fill_entries_without_auth() {
        let outside = Auth::from_setting("app:pw:with:colons").expect("valid");
        assert_eq!(
            outside,
            Auth::new(Some(b"app".to_vec()), b"pw:with:colons".to_vec())
        );
        assert_eq!(
            Auth::from_setting(":file:x"),
            Ok(Auth::new(None, b"file:x".to_vec()))
        );
        assert_eq!(
            Auth::from_setting("u:"),
            Err("the password is empty".to_string())
        );
        assert_eq!(
            Auth::from_setting_or_file("file:relative"),
            Err("file: needs an absolute path, as in file:/etc/phpsess/redis.pass".to_string())
        );
        let path = std::env::temp_dir().join(format!("phpsess-auth-{}", std::process::id()));
        std::fs::write(&path, "s3cret\n").expect("write");
        let from_file = Auth::from_setting_or_file(&format!("file:{}", path.display()));
        let _ = std::fs::remove_file(&path);
        assert_eq!(from_file, Ok(Auth::new(None, b"s3cret".to_vec())));

        let mut sp = SavePath::parse("tcp://a:1, tcp://b:2?auth=own").expect("parses");
        for h in &mut sp.hosts {
            h.auth.get_or_insert_with(|| outside.clone());
        }
        let specs: Vec<HostSpec> = sp.hosts.iter().map(host_spec).collect();
        assert_eq!(specs[0].endpoint.username.as_deref(), Some("app"));
        assert_eq!(
            specs[0].endpoint.password.as_deref(),
            Some("pw:with:colons")
        );
        assert_eq!(specs[1].endpoint.username, None);
        assert_eq!(specs[1].endpoint.password.as_deref(), Some("own"));
        assert!(Topology::from_save_path_with_auth("sentinel://h:1/m", Some(&outside)).is_ok());
        assert!(Topology::from_cluster_save_path_with_auth("seed[]=h:1", Some(&outside)).is_ok());
    }

    #[test]
    fn bad_save_path_is_an_error_naming_the_entry() {
        let e = Topology::from_save_path("tcp://a:6379?weight=0")
            .err()
            .map(|e| e.to_string());
        assert!(e.as_deref().is_some_and(|e| e.contains("weight")), "{e:?}");
    }
}
