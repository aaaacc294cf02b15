//! phpredis `session.save_path` syntaxes (`redis` and `rediscluster` handlers) parsed into typed configuration.
//!
//! - [`SavePath`]: the `redis` handler. Entries separated by any C `isspace()` byte or `,`, each
//!   a URL: `tcp://host:port?params`, `tls://…` / `ssl://…` / `tlsv1.2://…`, `host:port`, `host`,
//!   `unix:///path.sock?params`, `unix:/path.sock`, `/path.sock?params`, `tcp://[::1]:6379`, and
//!   the standard `redis://[[user]:password@]host[:port][/db][?params]` and `rediss://…` (TLS).
//!   Parameters: `weight`, `timeout`, `read_timeout`, `persistent`, `persistent_id`, `prefix`,
//!   `auth` (`auth=pw`, `auth[]=user&auth[]=pw`, `auth[user]=…&auth[pass]=…`), `database`,
//!   `retry_interval`, `stream[option]=value`.
//! - [`ClusterSavePath`]: the `rediscluster` handler, one query string:
//!   `seed[]=host:port&…&timeout=2&read_timeout=2&failover=error&persistent=1&auth=pw&prefix=x&stream[verify_peer]=0`.
//!
//! Every entry is split and decoded with reproductions of PHP's own code: [`php::parse_url`]
//! (`php_url_parse_ex2`), [`php::parse_str`] (`treat_data(PARSE_STRING)`: `&`, `+` and `%XX`,
//! `name[]` and `name[key]`, `.` and space in names becoming `_`, ...) and [`php::parse_number`]
//! (`is_numeric()`), each tested against real PHP 8.2 (`tests/save_path_php.rs`). So a value
//! accepted here is the value phpredis uses, byte for byte: same prefix, same password, same host
//! choice.
//!
//! # Where we differ from phpredis
//!
//! We refuse, with an error naming the entry (or, for the cluster syntax, the `name=value` pair)
//! and its byte offset, every save_path that phpredis would refuse, and also those that phpredis
//! accepts but then silently misreads:
//!
//! | input | phpredis | here |
//! |---|---|---|
//! | an unparseable entry, no host and no path, `weight <= 0`, `timeout <= 0` | "Failed to parse session.save_path (error at offset N, url was '…')" | error, same offset |
//! | empty save_path | silent failure | error "no hosts" |
//! | `host:6379?weight=2` (no scheme, with a query) | reads `host` as a scheme and dials host `6379` | error: write `tcp://host:6379?…` |
//! | `TCP://h`, `udp://h`, `unix://h`, any unknown scheme | dials an unknown or wrong transport | error |
//! | `unix:relative.sock` | dials TCP host `relative.sock` | error: the path must be absolute |
//! | `tcp://user:pass@h`, `tcp://h/2` | ignores the user info / the path | error: use `auth=` / `database=` |
//! | a number PHP does not call numeric (`weight=2x`, `timeout=2s`, `database=abc`) | reads the numeric prefix (`2`, `2`, `0`) | error |
//! | a fraction for an integer (`weight=1.5`) | truncates | error |
//! | `weight`, `database` over 2147483647 | truncated into a C `int` (`redis_conf_int`) | error |
//! | `timeout`/`read_timeout` over 2147483647 s (`1e999` is INF), under 1 µs (rounds to 0 = "no timeout"), or `read_timeout < 0` | passed on as is | error |
//! | `database < 0` | means "no database" | error |
//! | `persistent=on` (anything but `1`/`true`/`yes`/`0`/`false`/`no`/empty) | false | error |
//! | `prefix[]=x` and other arrays where one value is expected | uses the string `Array` | error |
//! | `auth=` (empty), empty user or password | sends `AUTH ""` (fails on most servers) | error |
//! | `auth[]` with 0 or 3+ elements, or without a password (`auth[user]=u` alone) | warning or nothing, then no AUTH | error |
//! | `auth[username]=u&auth[pass]=p` (2 elements, no user found) | `AUTH p`, user dropped | error |
//! | `stream=x`, `stream[0]=x`, `stream[a][b]=x` | ignored / partly ignored | error |
//! | a rediscluster seed without `:`, or with a port that is not 1..65535 in digits | warning and seed skipped / port read by `atoi` (`7000x` is 7000, `x` is 6379) | error |
//! | `failover=distribute_slaves` or another unknown word | none | error |
//! | more than 1000 parameters, or nesting deeper than 64 | PHP drops the rest | error |
//! | a NUL byte | ends the string | error |
//! | `timeout=1,5` (a `,` or whitespace inside a value, measured) | ends the entry: `5` becomes a second host | error when what is left is no host name (a word such as `b` is a host name to both) |
//! | no `timeout` | 86400 s (`redis`), 60 s (`rediscluster`) | **2 s** |
//! | no `read_timeout`, or 0 | PHP's `default_socket_timeout`, 60 s | **5 s** |
//! | `redis://` / `rediss://` URLs | cannot connect | standard meaning (user info, `/db`) plus the parameters above |
//!
//! Unknown parameters are ignored by both, and listed in `ignored` so a typo (`db=2`) can be shown.
//! phpredis 5.3.7 ignores `stream[...]` for the `redis` handler; we read it as phpredis 6 does.
//!
//! # Bytes
//!
//! `prefix`, `persistent_id` and `auth` are URL-decoded, so they may hold any bytes (`%FF`) and
//! are kept as `Vec<u8>`: the prefix is part of every Redis key and must match phpredis byte for
//! byte, which a lossy `String` could not promise. In JSON (serde) they are strings when they are
//! UTF-8 and `{"$base64": "…"}` otherwise, as in `phpsess::json`. Passwords are never shown:
//! `Debug` and serde print `<redacted: N bytes>`, and error messages replace them with `***`.
//! Host names, socket paths and `stream` options are `String`s: they come from the save_path text
//! undecoded, or must be UTF-8 for the TLS layer.

mod cluster;
mod number;
mod params;
mod query;
mod redis;
mod sentinel;
mod url;

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

use serde::ser::SerializeMap;
use serde::Serializer;

pub use cluster::{ClusterSavePath, Failover};
pub use redis::{HostEntry, SavePath};
pub use sentinel::{SentinelSavePath, SENTINEL_SCHEME};

use crate::error::{Error, Result};

/// PHP's own decoders, reproduced exactly (PHP 8.2) and exposed so they can be reused and tested
/// against real PHP.
pub mod php {
    pub use super::number::{parse_number, PhpNumber};
    pub use super::query::{parse_str, MAX_INPUT_NESTING_LEVEL, MAX_INPUT_VARS};
    pub use super::url::{parse_url, PhpUrl};
}

/// phpredis's key prefix for the `redis` handler.
pub const DEFAULT_PREFIX: &str = "PHPREDIS_SESSION:";
/// phpredis's key prefix for the `rediscluster` handler.
pub const DEFAULT_CLUSTER_PREFIX: &str = "PHPREDIS_CLUSTER_SESSION:";
/// The port phpredis dials when none (or 0) is given.
pub const DEFAULT_PORT: u16 = 6379;
/// Our connect timeout when none is given (phpredis: 86400 s for `redis`, 60 s for `rediscluster`).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Our read timeout when none (or 0) is given (phpredis: PHP's `default_socket_timeout`, 60 s).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Where a Redis server is.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
#[non_exhaustive]
pub enum Address {
    /// Plain TCP (`tcp://`, no scheme, `redis://`).
    Tcp {
        /// Host name or IP address; an IPv6 address without brackets.
        host: String,
        /// Port (6379 when none or 0 was given).
        port: u16,
    },
    /// TLS (`tls://`, `ssl://`, `tlsv1.x://`, `rediss://`, or a plain host given `stream[...]`
    /// options where phpredis then dials `ssl://`).
    Tls {
        /// The scheme as written (PHP's transport name, or `rediss`).
        scheme: String,
        /// Host name or IP address; an IPv6 address without brackets.
        host: String,
        /// Port (6379 when none or 0 was given).
        port: u16,
    },
    /// A unix socket (`unix:///path`, `unix:/path`, `/path`).
    Unix {
        /// Absolute path of the socket.
        path: String,
    },
}

impl Address {
    /// The host name or IP address, unless this is a unix socket.
    pub fn host(&self) -> Option<&str> {
        match self {
            Address::Tcp { host, .. } | Address::Tls { host, .. } => Some(host),
            Address::Unix { .. } => None,
        }
    }

    /// The TCP port, unless this is a unix socket.
    pub fn port(&self) -> Option<u16> {
        match self {
            Address::Tcp { port, .. } | Address::Tls { port, .. } => Some(*port),
            Address::Unix { .. } => None,
        }
    }

    /// Whether the connection uses TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, Address::Tls { .. })
    }
}

/// phpredis's connect string: `tcp://host:6379`, `tls://[::1]:6380`, `unix:///run/redis.sock`.
impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hostport = |f: &mut fmt::Formatter<'_>, scheme: &str, host: &str, port: u16| {
            if host.contains(':') {
                write!(f, "{scheme}://[{host}]:{port}")
            } else {
                write!(f, "{scheme}://{host}:{port}")
            }
        };
        match self {
            Address::Tcp { host, port } => hostport(f, "tcp", host, *port),
            Address::Tls { scheme, host, port } => hostport(f, scheme, host, *port),
            Address::Unix { path } => write!(f, "unix://{path}"),
        }
    }
}

/// Credentials for `AUTH`: `AUTH password`, or `AUTH user password` (Redis 6 ACL).
///
/// `Debug` and serde never show the password, only its length.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Auth {
    /// The ACL user, if given (`auth[]=user&auth[]=pass`, `auth[user]=…`, `redis://user:pass@`).
    #[serde(serialize_with = "opt_bytes")]
    pub user: Option<Vec<u8>>,
    /// The password (URL-decoded bytes; never empty).
    #[serde(serialize_with = "redacted")]
    pub password: Vec<u8>,
}

impl Auth {
    /// Credentials from parts (for tests and callers building configuration by hand).
    pub fn new(user: Option<Vec<u8>>, password: Vec<u8>) -> Self {
        Auth { user, password }
    }
}

impl Auth {
    /// Credentials given outside the save_path (the extension's `phpsess.auth`, the CLI's
    /// `PHPSESS_AUTH` / `--auth-file`): `PASSWORD`, `USER:PASSWORD`, or `:PASSWORD` for a password
    /// that itself holds a `:` (split at the first `:`, as the user info of a `redis://` URL, but
    /// not percent-decoded). Errors never quote the value.
    pub fn from_setting(value: &str) -> std::result::Result<Auth, String> {
        let (user, password) = match value.split_once(':') {
            Some(("", password)) => (None, password),
            Some((user, password)) => (Some(user.as_bytes().to_vec()), password),
            None => (None, value),
        };
        if password.is_empty() {
            return Err("the password is empty".into());
        }
        Ok(Auth::new(user, password.as_bytes().to_vec()))
    }

    /// [`Auth::from_setting`] of `value`, or of the first line of a file when `value` is
    /// `file:/absolute/path` (so the password is in neither php.ini nor phpinfo()). A password
    /// that starts with `file:` is written `:file:...`.
    pub fn from_setting_or_file(value: &str) -> std::result::Result<Auth, String> {
        match value.strip_prefix("file:") {
            Some(path) if path.starts_with('/') => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read the password file {path}: {e}"))?;
                let line = text.lines().next().unwrap_or_default();
                Auth::from_setting(line).map_err(|e| format!("{e} (in {path})"))
            }
            Some(_) => {
                Err("file: needs an absolute path, as in file:/etc/phpsess/redis.pass".into())
            }
            None => Auth::from_setting(value),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("user", &self.user.as_deref().map(String::from_utf8_lossy))
            .field(
                "password",
                &format_args!("<redacted: {} bytes>", self.password.len()),
            )
            .finish()
    }
}

/// Bytes as a JSON string when UTF-8, else `{"$base64": …}` (the convention of `phpsess::json`).
fn bytes_value<S: Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    use base64::Engine as _;
    match std::str::from_utf8(b) {
        Ok(text) => s.serialize_str(text),
        Err(_) => {
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry(
                "$base64",
                &base64::engine::general_purpose::STANDARD.encode(b),
            )?;
            map.end()
        }
    }
}

fn opt_bytes<S: Serializer>(b: &Option<Vec<u8>>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match b {
        Some(b) => bytes_value(b, s),
        None => s.serialize_none(),
    }
}

fn redacted<S: Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&format!("<redacted: {} bytes>", b.len()))
}

/// C `isspace()` in the "C" locale, which phpredis splits entries on.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// phpredis reads the save_path as a C string; a NUL would silently cut it short. `redact` hides
/// credentials in the whole string shown in the error.
fn check_nul(save_path: &str, redact: fn(&str) -> String) -> Result<()> {
    match save_path.find('\0') {
        None => Ok(()),
        Some(at) => Err(Error::SavePath {
            entry: redact(&save_path.replace('\0', "\\0")),
            offset: at,
            reason: format!("the save_path contains a NUL byte at offset {at}"),
        }),
    }
}

/// A whole `redis` save_path with [`redact_entry`] applied to each entry, separators kept.
fn redact_save_path(save_path: &str) -> String {
    let mut out = String::with_capacity(save_path.len());
    let mut entry_start = 0;
    for (i, c) in save_path.char_indices() {
        if c == ',' || (c.is_ascii() && is_c_space(c as u8)) {
            out.push_str(&redact_entry(&save_path[entry_start..i]));
            out.push(c);
            entry_start = i + 1;
        }
    }
    out.push_str(&redact_entry(&save_path[entry_start..]));
    out
}

/// `entry` with credentials replaced by `***`: the password of URL user info, and the value of
/// every `auth...` parameter. For error messages, which end up in logs.
fn redact_entry(entry: &str) -> String {
    let mut out = String::with_capacity(entry.len());
    let mut rest = entry;
    if let Some(scheme_end) = rest.find("://") {
        let authority_start = scheme_end + 3;
        let authority_end = rest[authority_start..]
            .find(['/', '?', '#'])
            .map_or(rest.len(), |i| authority_start + i);
        let authority = &rest[authority_start..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            out.push_str(&rest[..authority_start]);
            match userinfo.find(':') {
                Some(colon) => {
                    out.push_str(&userinfo[..colon]);
                    out.push_str(":***");
                }
                // `redis://PASSWORD@host`: a lone user info is as often a password as a user.
                None => out.push_str("***"),
            }
            rest = &rest[authority_start + at..];
        }
    }
    match rest.find('?') {
        Some(q) => {
            out.push_str(&rest[..=q]);
            out.push_str(&redact_query(&rest[q + 1..]));
        }
        None => out.push_str(rest),
    }
    out
}

/// A query string with the value of every parameter whose name holds `auth` (`auth`, `auth[]`,
/// `sentinel_auth`, typos such as `xauth`) replaced by `***`, and in any other value the user
/// info before an `@` (a cluster seed written as a URL, `seed[]=user:password@host:port`).
fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => {
                let decoded = query::url_decode(name.as_bytes()).to_ascii_lowercase();
                if decoded.windows(4).any(|w| w == b"auth") {
                    format!("{name}=***")
                } else if let Some((_, host)) = value.rsplit_once('@') {
                    format!("{name}=***@{host}")
                } else {
                    pair.to_string()
                }
            }
            None => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// A parameter of a save_path that the handler does not read. phpredis ignores such parameters
/// silently and so does the store, but a typo (`databse=1`) sends every session to the wrong
/// database, so the extension warns with this.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownParameter {
    /// The entry it was found in, as the store dials it (`tcp://h:6379`); never a credential.
    pub entry: String,
    /// The parameter's name as PHP decoded it.
    pub name: String,
    /// A parameter the handler reads whose name is close (at most 2 edits away).
    pub did_you_mean: Option<&'static str>,
}

impl fmt::Display for UnknownParameter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown save_path parameter '{}' in {} is ignored",
            self.name, self.entry
        )?;
        match self.did_you_mean {
            Some(known) => write!(f, "; did you mean '{known}'?"),
            None => Ok(()),
        }
    }
}

/// The parameters of `save_path` that its handler does not read, with suggestions. `cluster`:
/// the `rediscluster` syntax; otherwise the `redis` syntax or the `sentinel://` form. A save_path
/// that does not parse has none (its error is reported elsewhere).
pub fn unknown_parameters(save_path: &str, cluster: bool) -> Vec<UnknownParameter> {
    let mut out = Vec::new();
    let mut add = |entry: String, ignored: &[String], known: &'static [&'static str]| {
        for name in ignored {
            out.push(UnknownParameter {
                entry: entry.clone(),
                name: name.clone(),
                did_you_mean: closest(name, known),
            });
        }
    };
    if cluster {
        if let Ok(sp) = ClusterSavePath::parse(save_path) {
            add(
                "the rediscluster save_path".into(),
                &sp.ignored,
                cluster::KNOWN,
            );
        }
    } else if SentinelSavePath::matches(save_path) {
        if let Ok(sp) = SentinelSavePath::parse(save_path) {
            add(sp.label(), &sp.ignored, sentinel::KNOWN);
        }
    } else if let Ok(sp) = SavePath::parse(save_path) {
        for h in &sp.hosts {
            add(h.address.to_string(), &h.ignored, redis::KNOWN);
        }
    }
    out
}

/// The known name closest to `name` by edit distance, if at most 2 edits (and fewer than the
/// name's length) away: `databse` -> `database`, `timout` -> `timeout`, not `db` -> `auth`.
fn closest(name: &str, known: &'static [&'static str]) -> Option<&'static str> {
    let name = name.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&name, k), *k))
        .filter(|&(d, _)| d <= 2 && d < name.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, k)| k)
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(cur).min(row[j])
            };
            prev = cur;
        }
    }
    row[b.len()]
}
