//! phpsess's own Sentinel form of the `redis` handler's save_path (phpredis has none):
//! `sentinel://HOST:PORT[,HOST:PORT...]/MASTER_NAME[?params]`, read with the same parameter rules
//! as phpredis's syntax, so `auth` takes the same forms and a bad value the same error text. Its own
//! parameters: `sentinel_auth` (the sentinels' password) and `wait_replicas` (replicas that must
//! confirm a session write, default 1, 0 = off; see `store::SentinelSpec`).

use std::time::Duration;

use super::params::{self, shown, Bad};
use super::query::{decode, QValue};
use super::redis::host_name;
use super::{opt_bytes, redact_entry, Auth, DEFAULT_PREFIX};
use crate::error::{Error, Result};

/// The scheme that selects the Sentinel form (any case, after leading whitespace).
pub const SENTINEL_SCHEME: &str = "sentinel://";

/// Parameters the Sentinel form reads.
pub(crate) const KNOWN: &[&str] = &[
    "auth",
    "sentinel_auth",
    "database",
    "prefix",
    "timeout",
    "read_timeout",
    "wait_replicas",
];

/// A parsed `sentinel://` save_path: the sentinels to ask, the master's name, and how to log in
/// to the master they name.
///
/// ```
/// use phpsess::save_path::SentinelSavePath;
/// let sp = SentinelSavePath::parse("sentinel://10.0.0.1:26379,[::1]:26380/mymaster?auth=pw&database=2")?;
/// assert_eq!(sp.sentinels, vec![("10.0.0.1".to_string(), 26379), ("::1".to_string(), 26380)]);
/// assert_eq!(sp.master_name, "mymaster");
/// assert_eq!(sp.effective_database(), 2);
/// # Ok::<(), phpsess::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct SentinelSavePath {
    /// The sentinels, `(host, port)`, in the order written; an IPv6 host without brackets.
    pub sentinels: Vec<(String, u16)>,
    /// The name the sentinels monitor the master under.
    pub master_name: String,
    /// `auth`: how to log in to the master (same forms as phpredis's `auth`).
    pub auth: Option<Auth>,
    /// `sentinel_auth`: the sentinels' own password, if they have one.
    pub sentinel_auth: Option<Auth>,
    /// `database`.
    pub database: Option<u32>,
    /// `prefix` (URL-decoded bytes; may be empty).
    #[serde(serialize_with = "opt_bytes")]
    pub prefix: Option<Vec<u8>>,
    /// `timeout`: connect timeout in seconds.
    pub timeout: Option<f64>,
    /// `read_timeout` in seconds; 0 means "not set".
    pub read_timeout: Option<f64>,
    /// `wait_replicas`: replicas that must confirm a session write (`WAIT`); `None` = the store's
    /// default (1), 0 switches the check off.
    pub wait_replicas: Option<u32>,
    /// Parameters this form does not read (typos such as `databse`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// Byte offset of `sentinel://` in the save_path (after leading whitespace).
    pub offset: usize,
}

impl SentinelSavePath {
    /// Whether `save_path` is in the Sentinel form (starts with `sentinel://`, any case).
    pub fn matches(save_path: &str) -> bool {
        // Compared as bytes: the save_path is user input, and a byte offset into it may fall
        // inside a multibyte character ("tcp://h:12é").
        save_path
            .trim_start()
            .as_bytes()
            .get(..SENTINEL_SCHEME.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(SENTINEL_SCHEME.as_bytes()))
    }

    /// Parse the Sentinel form. The whole string is one entry (commas separate sentinels here);
    /// errors name it with every credential replaced by `***`.
    pub fn parse(save_path: &str) -> Result<SentinelSavePath> {
        super::check_nul(save_path, redact_entry)?;
        let offset = save_path.len() - save_path.trim_start().len();
        let text = save_path.trim();
        let bad = |reason: String| Error::SavePath {
            entry: redact_entry(text),
            offset,
            reason,
        };
        if !Self::matches(text) {
            return Err(bad(format!(
                "expected {SENTINEL_SCHEME}HOST:PORT/MASTER_NAME"
            )));
        }
        // `matches` saw the ASCII scheme, so its end is a char boundary.
        let rest = text.get(SENTINEL_SCHEME.len()..).unwrap_or_default();
        let (hosts, after) = rest
            .split_once('/')
            .ok_or_else(|| bad("expected '/MASTER_NAME' after the sentinel addresses".into()))?;
        let (name, query) = after.split_once('?').unwrap_or((after, ""));
        if name.is_empty() {
            return Err(bad("the master name after '/' is empty".into()));
        }
        let mut sentinels = Vec::new();
        for h in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
            // A URL's `user:password@`: not part of this form, and the address text would carry
            // the password into the message; show only what follows the last `@`.
            if let Some((_, addr)) = h.rsplit_once('@') {
                return Err(bad(format!(
                    "sentinel '***@{}' has a user or password: give sentinel_auth= (and auth= for \
                     the master) in the query",
                    shown(addr.as_bytes())
                )));
            }
            let (host, port) = h.rsplit_once(':').ok_or_else(|| {
                bad(format!(
                    "sentinel '{}' is not HOST:PORT",
                    shown(h.as_bytes())
                ))
            })?;
            let port = match port.parse::<u16>() {
                Ok(p) if p > 0 && port.bytes().all(|b| b.is_ascii_digit()) => p,
                _ => {
                    return Err(bad(format!(
                        "sentinel '{}' has an invalid port '{}' (want 1 to 65535)",
                        shown(h.as_bytes()),
                        shown(port.as_bytes())
                    )))
                }
            };
            let host = host_name(host)
                .map_err(|e| bad(format!("sentinel '{}': {e}", shown(h.as_bytes()))))?;
            sentinels.push((host, port));
        }
        if sentinels.is_empty() {
            return Err(bad("no sentinel addresses".into()));
        }
        let d = decode(query.as_bytes());
        if d.truncated || d.too_deep {
            return Err(bad(format!(
                "more than {} parameters or more than {} levels of [...] (PHP drops the rest)",
                super::query::MAX_INPUT_VARS,
                super::query::MAX_INPUT_NESTING_LEVEL
            )));
        }
        let arr = &d.root;
        let checked = |b: Bad| bad(b.reason);
        let sentinel_auth = match arr.get(b"sentinel_auth") {
            None => None,
            Some(node) => match &node.value {
                QValue::Str(pw) if !pw.is_empty() => Some(Auth::new(None, pw.clone())),
                QValue::Str(_) => return Err(bad("sentinel_auth is empty".into())),
                QValue::Array(_) => {
                    return Err(bad(
                        "sentinel_auth must be a single value (the sentinels' password)".into(),
                    ))
                }
            },
        };
        Ok(SentinelSavePath {
            sentinels,
            master_name: name.to_owned(),
            auth: params::auth(arr).map_err(checked)?,
            sentinel_auth,
            database: params::database(arr).map_err(checked)?,
            prefix: params::bytes(arr, "prefix").map_err(checked)?,
            timeout: params::seconds(arr, "timeout", false).map_err(checked)?,
            read_timeout: params::seconds(arr, "read_timeout", true).map_err(checked)?,
            wait_replicas: params::wait_replicas(arr).map_err(checked)?,
            ignored: params::ignored(arr, KNOWN),
            offset,
        })
    }

    /// The connect timeout: `timeout`, or [`DEFAULT_CONNECT_TIMEOUT`](super::DEFAULT_CONNECT_TIMEOUT).
    pub fn connect_timeout(&self) -> Duration {
        params::connect_timeout(self.timeout)
    }

    /// The read timeout: `read_timeout` if given and not 0, else [`DEFAULT_READ_TIMEOUT`](super::DEFAULT_READ_TIMEOUT).
    pub fn effective_read_timeout(&self) -> Duration {
        params::read_timeout(self.read_timeout)
    }

    /// The database number (default 0).
    pub fn effective_database(&self) -> u32 {
        self.database.unwrap_or(0)
    }

    /// The key prefix: `prefix`, or [`DEFAULT_PREFIX`].
    pub fn effective_prefix(&self) -> &[u8] {
        self.prefix.as_deref().unwrap_or(DEFAULT_PREFIX.as_bytes())
    }

    /// The addresses and master name, for messages: `sentinel://h1:26379,h2:26379/mymaster`.
    pub fn label(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|(h, p)| {
                if h.contains(':') {
                    format!("[{h}]:{p}")
                } else {
                    format!("{h}:{p}")
                }
            })
            .collect();
        format!("{SENTINEL_SCHEME}{}/{}", hosts.join(","), self.master_name)
    }
}
