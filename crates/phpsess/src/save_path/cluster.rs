//! The `rediscluster` handler's save_path: one query string (`seed[]=host:port&timeout=2&...`),
//! read as phpredis's `PS_OPEN_FUNC(rediscluster)` and `get_valid_seeds` read it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::params::{self, shown, Bad};
use super::query::{decode, QValue};
use super::redis::{host_name, is_tls_scheme};
use super::{
    opt_bytes, redact_query, Address, Auth, DEFAULT_CLUSTER_PREFIX, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
};
use crate::error::{Error, Result};

/// Which nodes may answer reads (phpredis's `failover` parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Failover {
    /// Masters only (phpredis's default).
    #[default]
    None,
    /// Masters, and replicas when the master cannot be reached (`failover=error`).
    Error,
    /// Masters and replicas at random (`failover=distribute`).
    Distribute,
}

/// A parsed `session.save_path` for phpredis's `rediscluster` handler, each parameter as written
/// (`None` = not given).
///
/// Effective values, with our defaults where phpredis's are unsafe:
///
/// | value | method | default here | phpredis default |
/// |---|---|---|---|
/// | `timeout` (connect) | [`connect_timeout`](Self::connect_timeout) | **2 s** (also for `timeout=0`) | PHP's `default_socket_timeout`, 60 s (also for 0) |
/// | `read_timeout` | [`effective_read_timeout`](Self::effective_read_timeout) | **5 s** (also for 0) | `default_socket_timeout`, 60 s (also for 0) |
/// | `persistent` | [`effective_persistent`](Self::effective_persistent) | false | false |
/// | `prefix` | [`effective_prefix`](Self::effective_prefix) | [`DEFAULT_CLUSTER_PREFIX`] | `PHPREDIS_CLUSTER_SESSION:` |
/// | `failover` | the field | `none` | `none` |
///
/// ```
/// use phpsess::save_path::{Address, ClusterSavePath, Failover};
/// let sp = ClusterSavePath::parse("seed[]=10.0.0.1:7000&seed[]=tls://10.0.0.2:7001&failover=error&timeout=1.5")?;
/// assert_eq!(sp.seeds[0], Address::Tcp { host: "10.0.0.1".into(), port: 7000 });
/// assert!(sp.seeds[1].is_tls());
/// assert_eq!(sp.failover, Failover::Error);
/// assert_eq!(sp.connect_timeout(), std::time::Duration::from_millis(1500));
/// # Ok::<(), phpsess::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ClusterSavePath {
    /// `seed[]`: nodes to learn the cluster layout from, duplicates removed, in the order written.
    /// A `host:port` seed is TLS (`ssl`) when `stream[...]` options are given, as in phpredis.
    pub seeds: Vec<Address>,
    /// `timeout`: connect timeout in seconds; phpredis reads 0 as "not set".
    pub timeout: Option<f64>,
    /// `read_timeout`: read timeout in seconds; phpredis reads 0 as "not set".
    pub read_timeout: Option<f64>,
    /// `failover`: which nodes may answer reads.
    pub failover: Failover,
    /// `persistent`: reuse connections across requests.
    pub persistent: Option<bool>,
    /// `auth`.
    pub auth: Option<Auth>,
    /// `prefix`: the key prefix (URL-decoded bytes; may be empty).
    #[serde(serialize_with = "opt_bytes")]
    pub prefix: Option<Vec<u8>>,
    /// `stream[option]=value`: PHP `ssl` stream-context options.
    pub stream: BTreeMap<String, String>,
    /// Parameters phpredis does not read for this handler (`database`, `weight`, typos...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
}

/// Parameters the `rediscluster` handler reads.
pub(crate) const KNOWN: &[&str] = &[
    "seed",
    "timeout",
    "read_timeout",
    "failover",
    "persistent",
    "auth",
    "prefix",
    "stream",
];

impl ClusterSavePath {
    /// Parse a `rediscluster` save_path. Errors name the offending `name=value` pair and its byte
    /// offset (or the whole string at offset 0 when something is missing).
    pub fn parse(save_path: &str) -> Result<ClusterSavePath> {
        super::check_nul(save_path, redact_query)?;
        let whole = |reason: String| Error::SavePath {
            entry: redact_query(save_path),
            offset: 0,
            reason,
        };
        let at = |b: Bad| Error::SavePath {
            // Pairs are cut at '&' or the ends, which are char boundaries.
            entry: redact_query(save_path.get(b.pair.clone()).unwrap_or(save_path)),
            offset: b.pair.start,
            reason: b.reason,
        };
        let d = decode(save_path.as_bytes());
        if d.truncated {
            return Err(whole(format!(
                "more than {} parameters (PHP's max_input_vars); phpredis would ignore the rest",
                super::query::MAX_INPUT_VARS
            )));
        }
        if d.too_deep {
            return Err(whole(format!(
                "a parameter nests more than {} levels of [...] (PHP drops it)",
                super::query::MAX_INPUT_NESTING_LEVEL
            )));
        }
        let arr = &d.root;
        let stream = params::stream(arr).map_err(at)?;

        let Some(seed_node) = arr.get(b"seed") else {
            return Err(whole(
                "no seeds: give the cluster's nodes as seed[]=host:port&seed[]=host:port".into(),
            ));
        };
        let QValue::Array(seed_list) = &seed_node.value else {
            return Err(at(Bad {
                reason: "seeds must be given as seed[]=host:port, one seed[] per node".into(),
                pair: seed_node.pair.clone(),
            }));
        };
        let mut written: Vec<&[u8]> = Vec::new();
        let mut seeds = Vec::new();
        for (k, node) in &seed_list.entries {
            let QValue::Str(s) = &node.value else {
                return Err(at(Bad {
                    reason: format!(
                        "seed[{}] must be a single host:port, not an array",
                        params::key_text(k)
                    ),
                    pair: node.pair.clone(),
                }));
            };
            // phpredis drops repeated seeds.
            if written.contains(&s.as_slice()) {
                continue;
            }
            written.push(s);
            let address = seed(s, !stream.is_empty()).map_err(|reason| {
                at(Bad {
                    reason,
                    pair: node.pair.clone(),
                })
            })?;
            seeds.push(address);
        }

        Ok(ClusterSavePath {
            seeds,
            timeout: params::seconds(arr, "timeout", true).map_err(at)?,
            read_timeout: params::seconds(arr, "read_timeout", true).map_err(at)?,
            failover: params::failover(arr).map_err(at)?,
            persistent: params::boolean(arr, "persistent").map_err(at)?,
            auth: params::auth(arr).map_err(at)?,
            prefix: params::bytes(arr, "prefix").map_err(at)?,
            stream,
            ignored: params::ignored(arr, KNOWN),
        })
    }

    /// The connect timeout: `timeout` if given and not 0, else [`DEFAULT_CONNECT_TIMEOUT`]
    /// (2 s; phpredis: PHP's `default_socket_timeout`, 60 s).
    pub fn connect_timeout(&self) -> Duration {
        match self.timeout {
            // Parsing keeps timeouts within 1 µs..=i32::MAX s, which Duration holds.
            Some(t) if t > 0.0 => Duration::from_secs_f64(t),
            _ => DEFAULT_CONNECT_TIMEOUT,
        }
    }

    /// The read timeout: `read_timeout` if given and not 0, else [`DEFAULT_READ_TIMEOUT`]
    /// (5 s; phpredis: `default_socket_timeout`, 60 s).
    pub fn effective_read_timeout(&self) -> Duration {
        match self.read_timeout {
            Some(t) if t > 0.0 => Duration::from_secs_f64(t),
            _ => DEFAULT_READ_TIMEOUT,
        }
    }

    /// Whether connections persist across requests (default false).
    pub fn effective_persistent(&self) -> bool {
        self.persistent.unwrap_or(false)
    }

    /// The key prefix: `prefix`, or [`DEFAULT_CLUSTER_PREFIX`].
    pub fn effective_prefix(&self) -> &[u8] {
        self.prefix
            .as_deref()
            .unwrap_or(DEFAULT_CLUSTER_PREFIX.as_bytes())
    }

    /// Whether nodes are reached over TLS (a TLS seed, or `stream[...]` options).
    pub fn uses_tls(&self) -> bool {
        !self.stream.is_empty() || self.seeds.iter().any(Address::is_tls)
    }
}

impl std::str::FromStr for ClusterSavePath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ClusterSavePath::parse(s)
    }
}

/// One seed: `host:port` split at the last `:` (phpredis `cluster_init_seeds`), the host possibly
/// written `tls://host`. phpredis reads the port with `atoi` and dials 6379 for 0; we want
/// 1..=65535 written as digits.
fn seed(s: &[u8], has_stream: bool) -> Result<Address, String> {
    let Ok(s) = std::str::from_utf8(s) else {
        return Err(format!("seed '{}' is not valid UTF-8", shown(s)));
    };
    // A URL's `user:password@` is no seed form; the seed text would carry the password into
    // the message, so only what follows the last `@` is shown.
    if let Some((_, addr)) = s.rsplit_once('@') {
        return Err(format!(
            "seed '***@{}' has a user or password: give auth= in the save_path",
            shown(addr.as_bytes())
        ));
    }
    let Some((host_part, port)) = s.rsplit_once(':') else {
        return Err(format!(
            "seed '{}' is not in host:port format (phpredis ignores it with a warning)",
            shown(s.as_bytes())
        ));
    };
    let port = match port.parse::<u16>() {
        Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => p,
        _ => {
            return Err(format!(
                "seed '{}' has an invalid port '{}' (want 1 to 65535)",
                shown(s.as_bytes()),
                shown(port.as_bytes())
            ))
        }
    };
    let (scheme, host) = match host_part.split_once("://") {
        Some((scheme, host)) => (Some(scheme), host),
        None => (None, host_part),
    };
    let host = host_name(host).map_err(|e| format!("seed '{}': {e}", shown(s.as_bytes())))?;
    match scheme {
        None if has_stream => Ok(Address::Tls {
            scheme: "ssl".into(),
            host,
            port,
        }),
        None | Some("tcp") => Ok(Address::Tcp { host, port }),
        Some(t) if is_tls_scheme(t) => Ok(Address::Tls {
            scheme: t.to_string(),
            host,
            port,
        }),
        Some(other) => Err(format!(
            "seed '{}' has an unsupported scheme '{other}': use tcp://, tls:// or ssl://",
            shown(s.as_bytes())
        )),
    }
}
