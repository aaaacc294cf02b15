//! The `redis` handler's save_path: host entries separated by whitespace or commas, each a URL
//! read as phpredis's `PS_OPEN_FUNC(redis)` reads it, or a standard `redis://` / `rediss://` URL.

use std::collections::BTreeMap;
use std::time::Duration;

use super::params::{self, shown, Bad};
use super::query::{decode, raw_url_decode, Decoded};
use super::url::{parse_url, PhpUrl};
use super::{is_c_space, opt_bytes, redact_entry, Address, Auth, DEFAULT_PORT, DEFAULT_PREFIX};
use crate::error::{Error, Result};

/// A parsed `session.save_path` for phpredis's `redis` handler: the hosts sessions are spread
/// over, in the order written (phpredis picks a host by weight, see [`crate::store`]).
///
/// ```
/// use phpsess::save_path::{Address, SavePath};
/// let sp = SavePath::parse("tcp://10.0.0.1:6379?weight=2&auth=s3cret, unix:///run/redis.sock?database=3")?;
/// assert_eq!(sp.hosts.len(), 2);
/// assert_eq!(sp.hosts[0].address, Address::Tcp { host: "10.0.0.1".into(), port: 6379 });
/// assert_eq!(sp.hosts[0].effective_weight(), 2);
/// assert_eq!(sp.hosts[1].offset, 42);
/// assert_eq!(sp.hosts[1].effective_database(), 3);
/// # Ok::<(), phpsess::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct SavePath {
    /// The host entries, in save_path order.
    pub hosts: Vec<HostEntry>,
}

/// One host entry of a `redis` save_path, with each parameter as written (`None` = not given).
///
/// Effective values, with our defaults where phpredis's are unsafe:
///
/// | value | method | default here | phpredis default |
/// |---|---|---|---|
/// | `weight` | [`effective_weight`](Self::effective_weight) | 1 | 1 |
/// | `timeout` (connect) | [`connect_timeout`](Self::connect_timeout) | **2 s** | 86400 s (a down host hangs a request for the OS TCP timeout) |
/// | `read_timeout` | [`effective_read_timeout`](Self::effective_read_timeout) | **5 s** (also for `read_timeout=0`) | PHP's `default_socket_timeout`, 60 s (also for 0) |
/// | `persistent` | [`effective_persistent`](Self::effective_persistent) | false | false |
/// | `prefix` | [`effective_prefix`](Self::effective_prefix) | [`DEFAULT_PREFIX`] | `PHPREDIS_SESSION:` |
/// | `database` | [`effective_database`](Self::effective_database) | 0 (no `SELECT`) | -1 = none; phpredis 6 sends `SELECT` only for a non-zero number |
/// | `retry_interval` | [`effective_retry_interval`](Self::effective_retry_interval) | 0 ms | 0 ms |
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct HostEntry {
    /// Where the server is.
    pub address: Address,
    /// `weight`: this host's share of the session ids.
    pub weight: Option<u32>,
    /// `timeout`: connect timeout in seconds.
    pub timeout: Option<f64>,
    /// `read_timeout`: per-read timeout in seconds; phpredis reads 0 as "not set".
    pub read_timeout: Option<f64>,
    /// `persistent`: reuse connections across requests.
    pub persistent: Option<bool>,
    /// `persistent_id`: names the persistent connection (phpredis uses it only with `persistent`).
    #[serde(serialize_with = "opt_bytes")]
    pub persistent_id: Option<Vec<u8>>,
    /// `prefix`: the key prefix for sessions on this host (URL-decoded bytes; may be empty).
    #[serde(serialize_with = "opt_bytes")]
    pub prefix: Option<Vec<u8>>,
    /// `auth` (or the user info of a `redis://` URL).
    pub auth: Option<Auth>,
    /// `database` (or the path of a `redis://` URL): the database to `SELECT`.
    pub database: Option<u32>,
    /// `retry_interval`: base of the reconnect back-off, in milliseconds.
    pub retry_interval_ms: Option<u64>,
    /// `stream[option]=value`: PHP `ssl` stream-context options (`verify_peer`, `cafile`, ...).
    pub stream: BTreeMap<String, String>,
    /// Parameters phpredis does not read (it ignores them; so do we, but `phpsess doctor` can
    /// point at typos such as `db=`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<String>,
    /// Byte offset of the entry in the save_path string.
    pub offset: usize,
}

/// Parameters the `redis` handler reads.
pub(crate) const KNOWN: &[&str] = &[
    "weight",
    "timeout",
    "read_timeout",
    "persistent",
    "persistent_id",
    "prefix",
    "auth",
    "database",
    "retry_interval",
    "stream",
];

impl SavePath {
    /// Parse a `redis` save_path. Fails on the first entry phpredis would refuse, and on entries
    /// phpredis would accept but misread (see the module docs); the error names the entry and its
    /// byte offset, as phpredis's "Failed to parse session.save_path" warning does.
    pub fn parse(save_path: &str) -> Result<SavePath> {
        super::check_nul(save_path, super::redact_save_path)?;
        let bytes = save_path.as_bytes();
        let mut hosts = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            while i < bytes.len() && (is_c_space(bytes[i]) || bytes[i] == b',') {
                i += 1;
            }
            let mut j = i;
            while j < bytes.len() && !is_c_space(bytes[j]) && bytes[j] != b',' {
                j += 1;
            }
            if i < j {
                // Both ends sit on an ASCII separator or an end of the string, so they are char
                // boundaries.
                hosts.push(parse_entry(&save_path[i..j], i)?);
            }
            i = j + 1;
        }
        if hosts.is_empty() {
            return Err(Error::SavePath {
                entry: save_path.to_string(),
                offset: 0,
                reason: "no hosts: the save_path is empty".into(),
            });
        }
        Ok(SavePath { hosts })
    }
}

impl std::str::FromStr for SavePath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        SavePath::parse(s)
    }
}

impl HostEntry {
    /// The weight (default 1).
    pub fn effective_weight(&self) -> u32 {
        self.weight.unwrap_or(1)
    }

    /// The connect timeout: `timeout`, or [`DEFAULT_CONNECT_TIMEOUT`](super::DEFAULT_CONNECT_TIMEOUT) (2 s; phpredis: 86400 s).
    pub fn connect_timeout(&self) -> Duration {
        params::connect_timeout(self.timeout)
    }

    /// The read timeout: `read_timeout` if given and not 0, else [`DEFAULT_READ_TIMEOUT`](super::DEFAULT_READ_TIMEOUT)
    /// (5 s; phpredis: PHP's `default_socket_timeout`, 60 s).
    pub fn effective_read_timeout(&self) -> Duration {
        params::read_timeout(self.read_timeout)
    }

    /// Whether connections persist across requests (default false).
    pub fn effective_persistent(&self) -> bool {
        self.persistent.unwrap_or(false)
    }

    /// The key prefix: `prefix`, or [`DEFAULT_PREFIX`].
    pub fn effective_prefix(&self) -> &[u8] {
        self.prefix.as_deref().unwrap_or(DEFAULT_PREFIX.as_bytes())
    }

    /// The database number (default 0). phpredis 6 sends `SELECT` only when it is not 0.
    pub fn effective_database(&self) -> u32 {
        self.database.unwrap_or(0)
    }

    /// The reconnect back-off base (default 0).
    pub fn effective_retry_interval(&self) -> Duration {
        Duration::from_millis(self.retry_interval_ms.unwrap_or(0))
    }
}

/// The parameters every entry form shares.
struct Common {
    weight: Option<u32>,
    timeout: Option<f64>,
    read_timeout: Option<f64>,
    persistent: Option<bool>,
    persistent_id: Option<Vec<u8>>,
    prefix: Option<Vec<u8>>,
    auth: Option<Auth>,
    database: Option<u32>,
    retry_interval_ms: Option<u64>,
    stream: BTreeMap<String, String>,
    ignored: Vec<String>,
}

fn common(d: &Decoded) -> Result<Common, Bad> {
    let arr = &d.root;
    Ok(Common {
        weight: params::weight(arr)?,
        timeout: params::seconds(arr, "timeout", false)?,
        read_timeout: params::seconds(arr, "read_timeout", true)?,
        persistent: params::boolean(arr, "persistent")?,
        persistent_id: params::bytes(arr, "persistent_id")?,
        prefix: params::bytes(arr, "prefix")?,
        auth: params::auth(arr)?,
        database: params::database(arr)?,
        retry_interval_ms: params::retry_interval(arr)?,
        stream: params::stream(arr)?,
        ignored: params::ignored(arr, KNOWN),
    })
}

fn text(b: &[u8]) -> String {
    // Pieces of a &str cut at ASCII bytes, with ASCII control bytes replaced: still UTF-8, so
    // this is lossless here.
    String::from_utf8_lossy(b).into_owned()
}

/// The TLS transports PHP's openssl extension registers (`stream_get_transports()`).
pub(crate) fn is_tls_scheme(s: &str) -> bool {
    matches!(
        s,
        "tls" | "ssl" | "tlsv1.0" | "tlsv1.1" | "tlsv1.2" | "tlsv1.3"
    )
}

/// A host as phpredis dials it: `[v6]` loses its brackets (we add them back when printing); a
/// bare name with `:` is an IPv6 address, which phpredis brackets itself.
pub(crate) fn host_name(raw: &str) -> Result<String, String> {
    // An IPv6 address, maybe with a zone ("fe80::1%eth0").
    let ipv6 = |a: &str| {
        let (addr, zone) = a.split_once('%').unwrap_or((a, "x"));
        addr.parse::<std::net::Ipv6Addr>().is_ok()
            && !zone.is_empty()
            && zone
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    };
    if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        if !ipv6(inner) {
            return Err(format!("invalid IPv6 address '{}'", shown(raw.as_bytes())));
        }
        return Ok(inner.to_string());
    }
    if raw.is_empty() {
        return Err("the host is empty".into());
    }
    if ipv6(raw) {
        return Ok(raw.to_string());
    }
    // A name of digits only is no host name ("5" would be dialled as 0.0.0.5); it is what is
    // left of "timeout=1,5".
    let digits_only = raw.bytes().all(|b| b.is_ascii_digit());
    if !digits_only
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
    {
        return Ok(raw.to_string());
    }
    let mut reason = format!("invalid host '{}'", shown(raw.as_bytes()));
    if raw.starts_with('[') {
        reason.push_str(": an IPv6 host with a port needs the scheme, as in tcp://[::1]:6379");
    } else if digits_only || raw.contains(['=', '&']) {
        // "timeout=1,5" splits into "…timeout=1" and a host "5&…".
        reason.push_str(
            ": a ',' or whitespace ends a save_path entry, even inside a parameter value (write %2C or %20)",
        );
    } else if raw.contains(['[', ']', ':']) {
        reason.push_str(": write IPv6 addresses in brackets, as in tcp://[::1]:6379");
    }
    Err(reason)
}

const SCHEMES: &str =
    "use tcp://, tls:// (or ssl://, tlsv1.2://, tlsv1.3://), unix:///path, redis:// or rediss://";

fn parse_entry(entry: &str, offset: usize) -> Result<HostEntry> {
    let fail = |reason: String| Error::SavePath {
        entry: redact_entry(entry),
        offset,
        reason,
    };
    // phpredis turns a leading "unix:" into "file:" before parsing, so unix:///p and unix:/p
    // give a path.
    let rewritten;
    let bytes = match entry.as_bytes().strip_prefix(b"unix:") {
        Some(rest) => {
            rewritten = [&b"file:"[..], rest].concat();
            &rewritten[..]
        }
        None => entry.as_bytes(),
    };
    let url = parse_url(bytes).ok_or_else(|| {
        fail("not a valid URL (PHP's parse_url(), which phpredis uses, rejects it: check the host and that the port is at most 65535)".into())
    })?;

    // phpredis reads parameters only when there is a query, and glues a fragment back on so a
    // '#' in a password survives.
    let decoded = match &url.query {
        None => decode(b""),
        Some(q) => {
            let mut query = q.clone();
            if let Some(f) = &url.fragment {
                query.push(b'#');
                query.extend_from_slice(f);
            }
            decode(&query)
        }
    };
    if decoded.truncated {
        return Err(fail(format!(
            "more than {} parameters (PHP's max_input_vars); phpredis would ignore the rest",
            super::query::MAX_INPUT_VARS
        )));
    }
    if decoded.too_deep {
        return Err(fail(format!(
            "a parameter nests more than {} levels of [...] (PHP drops it)",
            super::query::MAX_INPUT_NESTING_LEVEL
        )));
    }
    let c = common(&decoded).map_err(|b| fail(b.reason))?;

    let scheme = url.scheme.as_deref().map(text);
    let (address, auth, database) = match scheme.as_deref() {
        Some("redis" | "rediss") => redis_url(&url, &c).map_err(fail)?,
        _ => (
            phpredis_address(&url, scheme.as_deref(), !c.stream.is_empty()).map_err(fail)?,
            c.auth,
            c.database,
        ),
    };
    Ok(HostEntry {
        address,
        weight: c.weight,
        timeout: c.timeout,
        read_timeout: c.read_timeout,
        persistent: c.persistent,
        persistent_id: c.persistent_id,
        prefix: c.prefix,
        auth,
        database,
        retry_interval_ms: c.retry_interval_ms,
        stream: c.stream,
        ignored: c.ignored,
        offset,
    })
}

/// Where phpredis connects for this URL (`PS_OPEN_FUNC(redis)` + `redis_sock_connect`), refusing
/// the forms where it would silently connect somewhere else than the writer meant.
fn phpredis_address(
    url: &PhpUrl,
    scheme: Option<&str>,
    has_stream: bool,
) -> Result<Address, String> {
    if let Some(host) = &url.host {
        let scheme = scheme.unwrap_or("tcp");
        let tls_scheme = match scheme {
            "tcp" => None,
            s if is_tls_scheme(s) => Some(s.to_string()),
            "file" => {
                return Err(
                    "a unix socket needs an absolute path: unix:///path/to/redis.sock".into(),
                )
            }
            s => return Err(format!("unsupported scheme '{s}': {SCHEMES}")),
        };
        if url.user.is_some() || url.pass.is_some() {
            return Err("phpredis ignores user and password in the URL; use ?auth=PASSWORD or ?auth[]=USER&auth[]=PASSWORD (or a redis:// URL)".into());
        }
        if let Some(path) = url.path.as_deref().filter(|p| !p.is_empty() && *p != b"/") {
            return Err(format!(
                "phpredis ignores the path '{}' after the host; use ?database=N to choose a database",
                shown(path)
            ));
        }
        let host = host_name(&text(host))?;
        // phpredis dials port 6379 when none (or 0) is given.
        let port = match url.port {
            None | Some(0) => DEFAULT_PORT,
            Some(p) => p,
        };
        return Ok(match tls_scheme {
            None => Address::Tcp { host, port },
            Some(scheme) => Address::Tls { scheme, host, port },
        });
    }
    let Some(path) = url.path.as_deref().filter(|p| !p.is_empty()) else {
        return Err("no host and no socket path".into());
    };
    let path = text(path);
    match scheme {
        None | Some("file") if path.starts_with('/') => Ok(Address::Unix { path }),
        Some("file") => Err(format!(
            "a unix socket needs an absolute path, got '{path}' (phpredis would dial it as a TCP host name)"
        )),
        Some(s) if path.bytes().all(|b| b.is_ascii_digit()) => Err(format!(
            "'{s}:{path}' needs the tcp:// scheme when parameters follow: phpredis reads '{s}' as a URL scheme here; write tcp://{s}:{path}?..."
        )),
        Some(s) => Err(format!("unsupported scheme '{s}': {SCHEMES}")),
        None => {
            // A bare host name: phpredis dials it on port 6379, over SSL when stream options
            // were given (the address has no "scheme://", so redis_sock_connect picks "ssl").
            if path.contains('/') {
                return Err(format!("invalid host '{path}'"));
            }
            let host = host_name(&path)?;
            Ok(if has_stream {
                Address::Tls {
                    scheme: "ssl".into(),
                    host,
                    port: DEFAULT_PORT,
                }
            } else {
                Address::Tcp {
                    host,
                    port: DEFAULT_PORT,
                }
            })
        }
    }
}

/// `redis://[[user]:password@]host[:port][/db][?params]` and `rediss://` (TLS). phpredis cannot
/// read these at all; here the user info is percent-decoded (`+` stays `+`) and the phpredis
/// parameters may follow.
fn redis_url(url: &PhpUrl, c: &Common) -> Result<(Address, Option<Auth>, Option<u32>), String> {
    let scheme = url.scheme.as_deref().map(text).unwrap_or_default();
    let Some(host) = &url.host else {
        return Err(format!(
            "a {scheme}:// URL needs a host, as in {scheme}://localhost:6379/0"
        ));
    };
    let host = host_name(&text(host))?;
    let port = match url.port {
        None | Some(0) => DEFAULT_PORT,
        Some(p) => p,
    };
    let address = if scheme == "rediss" {
        Address::Tls { scheme, host, port }
    } else {
        Address::Tcp { host, port }
    };

    let url_auth = match (&url.user, &url.pass) {
        (None, None) => None,
        (Some(_), None) => {
            return Err("the URL has a user but no password; write redis://USER:PASSWORD@host (or redis://:PASSWORD@host)".into())
        }
        (user, Some(pass)) => {
            let password = raw_url_decode(pass);
            if password.is_empty() {
                return Err("the password in the URL is empty".into());
            }
            let user = user.as_deref().map(raw_url_decode).filter(|u| !u.is_empty());
            Some(Auth { user, password })
        }
    };
    let auth = match (url_auth, &c.auth) {
        (Some(_), Some(_)) => {
            return Err("auth is given twice: in the URL and as ?auth=".into());
        }
        (a, b) => a.or_else(|| b.clone()),
    };

    let url_db = match url.path.as_deref() {
        None | Some(b"") | Some(b"/") => None,
        Some(p) => {
            let digits = p.strip_prefix(b"/").unwrap_or(p);
            match std::str::from_utf8(digits).ok().and_then(|d| {
                if d.bytes().all(|b| b.is_ascii_digit()) {
                    d.parse::<u32>().ok().filter(|&n| n <= i32::MAX as u32)
                } else {
                    None
                }
            }) {
                Some(n) => Some(n),
                None => {
                    return Err(format!(
                        "the path of a redis:// URL is the database number, got '{}'",
                        shown(p)
                    ))
                }
            }
        }
    };
    let database = match (url_db, c.database) {
        (Some(_), Some(_)) => {
            return Err("database is given twice: in the URL path and as ?database=".into());
        }
        (a, b) => a.or(b),
    };
    Ok((address, auth, database))
}
