//! Where one Redis server is and how to log in to it: [`Endpoint`] (address, credentials, database,
//! timeouts) and [`TlsFiles`] (PHP's `ssl` stream context options), with the connection setup a
//! [`Node`](super::node::Node) runs on them (connect info, `AUTH` + `SELECT`, TLS roots).

use std::time::{Duration, Instant};

use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo, RedisConnectionInfo, Value};

use super::redact::{short_id, RedactedPassword};
use super::stats::StoreStats;
use crate::error::{Error, Result};

/// How to reach and log in to one Redis server. `Debug` shows the password's length only.
#[derive(Clone)]
#[non_exhaustive]
pub struct Endpoint {
    /// The host as the user wrote it, for messages (`tcp://10.0.0.5:6379`).
    pub label: String,
    /// Where to connect.
    pub addr: ConnectionAddr,
    /// ACL user, if any.
    pub username: Option<String>,
    /// Password (AUTH), if any.
    pub password: Option<String>,
    /// Database; SELECT is sent only when it is not 0.
    pub db: i64,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Read/write timeout per command.
    pub read_timeout: Duration,
    /// CA bundle and client certificate for TLS, from PHP's `stream[cafile]`, `stream[local_cert]`,
    /// `stream[local_pk]`.
    pub tls: Option<TlsFiles>,
}

/// How a TLS connection checks the server and presents itself, from PHP's `ssl` stream context
/// options, with PHP's meaning: the chain and the handshake signatures are checked unless
/// `verify_peer=0` (which the endpoint's address carries as `insecure`); `verify_peer_name=0`
/// skips only the host name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsFiles {
    /// PEM CA bundle to trust instead of the system roots (`cafile`).
    pub ca: Option<std::path::PathBuf>,
    /// Directory of PEM CA certificates to trust instead of the system roots (`capath`); every
    /// regular file in it that holds PEM certificates is read.
    pub ca_dir: Option<std::path::PathBuf>,
    /// PEM client certificate (`local_cert`).
    pub cert: Option<std::path::PathBuf>,
    /// PEM client key (`local_pk`; PHP allows it inside `local_cert`; then it is read from there).
    pub key: Option<std::path::PathBuf>,
    /// Check that the certificate is for the host (`verify_peer_name`, default on).
    pub check_name: bool,
    /// `peer_name`: the name to check instead of the host.
    pub peer_name: Option<String>,
    /// `allow_self_signed`.
    pub allow_self_signed: bool,
}

impl Default for TlsFiles {
    /// PHP's defaults: system roots, no client certificate, every check on.
    fn default() -> Self {
        TlsFiles {
            ca: None,
            ca_dir: None,
            cert: None,
            key: None,
            check_name: true,
            peer_name: None,
            allow_self_signed: false,
        }
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("label", &self.label)
            .field("addr", &self.addr)
            .field("username", &self.username)
            .field("password", &RedactedPassword(&self.password))
            .field("db", &self.db)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

impl Endpoint {
    /// A TCP endpoint with our defaults (2 s connect, 5 s read timeouts, no auth, db 0).
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        let host = host.into();
        Endpoint {
            label: format!("tcp://{host}:{port}"),
            addr: ConnectionAddr::Tcp(host, port),
            username: None,
            password: None,
            db: 0,
            connect_timeout: crate::save_path::DEFAULT_CONNECT_TIMEOUT,
            read_timeout: crate::save_path::DEFAULT_READ_TIMEOUT,
            tls: None,
        }
    }

    /// Where to connect, without credentials or database: `AUTH` and `SELECT` are sent by
    /// [`Endpoint::login`], which keeps the server's own words when it refuses them.
    pub(super) fn connection_info(&self) -> Result<ConnectionInfo> {
        let redis = RedisConnectionInfo::default().set_skip_set_lib_name();
        let info = self
            .addr
            .clone()
            .into_connection_info()
            .map_err(|e| self.connect_error("", &e))?;
        // Nagle's algorithm would hold back our pipelined commands; phpredis sets TCP_NODELAY too.
        let tcp = redis::io::tcp::TcpSettings::default().set_nodelay(true);
        Ok(info.set_redis_settings(redis).set_tcp_settings(tcp))
    }

    pub(crate) fn connect_error(&self, id: &str, e: &dyn std::fmt::Display) -> Error {
        self.connect_error_from(id, e, None)
    }

    /// [`Self::connect_error`] keeping the redis crate's error as the source.
    pub(crate) fn connect_error_from(
        &self,
        id: &str,
        e: &dyn std::fmt::Display,
        source: Option<redis::RedisError>,
    ) -> Error {
        Error::Connect {
            host: self.label.clone(),
            timeout_secs: self.connect_timeout.as_secs_f64(),
            id: short_id(id),
            detail: e.to_string(),
            source: source.map(|e| Box::new(e) as _),
        }
    }

    /// A failed connect attempt in words: a timeout says so (the redis crate's text for it is
    /// "Connection timed out- IoError"-style), anything else keeps the system's message.
    pub(super) fn connect_failed(&self, id: &str, e: redis::RedisError) -> Error {
        if e.is_timeout() {
            self.connect_error_from(id, &"no answer within the connect timeout", Some(e))
        } else {
            self.connect_error_from(id, &e.to_string(), Some(e))
        }
    }

    /// `AUTH` and `SELECT` on a fresh connection, pipelined, each reply awaited only until
    /// `deadline` (the connect timeout covers connect, TLS, AUTH and SELECT together, as a user
    /// reading `timeout=2` expects). A refusal keeps the server's own reply in the message.
    pub(super) fn login(
        &self,
        conn: &mut redis::Connection,
        deadline: Instant,
        id: &str,
        stats: &mut StoreStats,
    ) -> Result<()> {
        let mut steps = Vec::new();
        let mut pipe = redis::pipe();
        if let Some(pw) = &self.password {
            let auth = pipe.cmd("AUTH");
            if let Some(user) = &self.username {
                auth.arg(user);
            }
            auth.arg(pw);
            steps.push("AUTH");
        }
        if self.db != 0 {
            pipe.cmd("SELECT").arg(self.db);
            steps.push("SELECT");
        }
        if steps.is_empty() {
            return Ok(());
        }
        stats.round_trips += 1;
        let no_reply = |step: &str| {
            self.connect_error(
                id,
                &format!("connected, but no reply to {step} within the connect timeout"),
            )
        };
        let left = |step: &str| {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                Err(no_reply(step))
            } else {
                Ok(Some(left))
            }
        };
        conn.set_write_timeout(left(steps[0])?)
            .map_err(|e| self.connect_failed(id, e))?;
        conn.send_packed_command(&pipe.get_packed_pipeline())
            .map_err(|e| match e.is_timeout() {
                true => no_reply(steps[0]),
                false => self.connect_failed(id, e),
            })?;
        for step in steps {
            conn.set_read_timeout(left(step)?)
                .map_err(|e| self.connect_failed(id, e))?;
            let reply = conn.recv_response().map_err(|e| match e.is_timeout() {
                true => no_reply(step),
                false => self.connect_failed(id, e),
            })?;
            if let Value::ServerError(e) = reply {
                let reason = match (step, e.code()) {
                    (_, "NOAUTH") => "a password is required and none was given".to_owned(),
                    ("AUTH", _) => "authentication failed".to_owned(),
                    _ => format!("database {} was refused", self.db),
                };
                return Err(self.refused(id, reason, &e));
            }
        }
        Ok(())
    }

    /// The server refused us (`reason`), in its own words (`reply`).
    pub(crate) fn refused(&self, id: &str, reason: String, reply: &redis::ServerError) -> Error {
        Error::Refused {
            host: self.label.clone(),
            id: short_id(id),
            reason,
            reply: server_reply(reply),
        }
    }
}

/// An error reply as the server sent it: `WRONGPASS invalid username-password pair or user is
/// disabled.` (the redis crate's `Display` would show `"WRONGPASS": ...`).
pub(crate) fn server_reply(e: &redis::ServerError) -> String {
    match e.details() {
        Some(d) => format!("{} {d}", e.code()),
        None => e.code().to_owned(),
    }
}

impl TlsFiles {
    /// Why these options cannot be honoured for `host`, if so. The redis crate's rustls setup
    /// takes roots and a "skip the host name" switch, not a verifier of ours, so PHP's
    /// `allow_self_signed` (accept a certificate that signs itself) and a `peer_name` other than
    /// the host cannot be checked as PHP checks them; ignoring them would check something else
    /// than the user asked for, so the connection is refused with the way out.
    pub fn refused(&self, host: &str, insecure: bool) -> Option<String> {
        if insecure {
            // verify_peer=0: nothing is checked, so neither option changes anything.
            return None;
        }
        if self.allow_self_signed {
            return Some(
                "stream[allow_self_signed]=1 is not supported: give the self-signed certificate \
                 as stream[cafile] (it is then trusted, and only it)"
                    .into(),
            );
        }
        match &self.peer_name {
            Some(name) if self.check_name && !name.eq_ignore_ascii_case(host) => Some(format!(
                "stream[peer_name]={name} differs from the host {host}, which is not supported: \
                 connect to the host by that name, or set stream[verify_peer_name]=0 (the chain \
                 is still checked)"
            )),
            _ => None,
        }
    }

    /// The PEM roots: `cafile`, then every file in `capath` that holds PEM certificates.
    fn roots(&self) -> std::io::Result<Option<Vec<u8>>> {
        if self.ca.is_none() && self.ca_dir.is_none() {
            return Ok(None);
        }
        let mut pem = match &self.ca {
            Some(file) => std::fs::read(file)?,
            None => Vec::new(),
        };
        if let Some(dir) = &self.ca_dir {
            let mut files: Vec<_> = std::fs::read_dir(dir)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            for file in files {
                // OpenSSL's c_rehash directories also hold CRLs and other files: take only
                // certificates.
                let bytes = std::fs::read(&file)?;
                if bytes
                    .windows(27)
                    .any(|w| w == b"-----BEGIN CERTIFICATE-----")
                {
                    pem.push(b'\n');
                    pem.extend_from_slice(&bytes);
                }
            }
        }
        Ok(Some(pem))
    }

    pub(super) fn certificates(&self) -> std::io::Result<redis::TlsCertificates> {
        let root_cert = self.roots()?;
        let client_tls = match &self.cert {
            None => None,
            Some(cert) => {
                let client_cert = std::fs::read(cert)?;
                let client_key = match &self.key {
                    Some(k) => std::fs::read(k)?,
                    None => client_cert.clone(),
                };
                Some(redis::ClientTlsConfig {
                    client_cert,
                    client_key,
                })
            }
        };
        Ok(redis::TlsCertificates {
            client_tls,
            root_cert,
        })
    }
}
