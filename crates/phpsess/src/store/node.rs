//! One Redis server as the store sees it: where it is, how to log in, and a lazily opened,
//! reused connection. A connection that broke while idle is noticed on use and, where the caller
//! says the command is safe to repeat, reopened and the command sent once more.

use std::time::{Duration, Instant};

use redis::{
    ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisConnectionInfo, Value,
};

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

/// A password in `Debug` output: `Some(<redacted: N bytes>)`, as [`crate::save_path::Auth`] shows
/// it. `Debug` output ends up in logs and panic messages.
pub(crate) struct RedactedPassword<'a>(pub &'a Option<String>);

impl std::fmt::Debug for RedactedPassword<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(p) => write!(f, "Some(<redacted: {} bytes>)", p.len()),
            None => f.write_str("None"),
        }
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
    fn connection_info(&self) -> Result<ConnectionInfo> {
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
        Error::Connect {
            host: self.label.clone(),
            timeout_secs: self.connect_timeout.as_secs_f64(),
            id: short_id(id),
            detail: e.to_string(),
        }
    }

    /// A failed connect attempt in words: a timeout says so (the redis crate's text for it is
    /// "Connection timed out- IoError"-style), anything else keeps the system's message.
    fn connect_failed(&self, id: &str, e: &redis::RedisError) -> Error {
        if e.is_timeout() {
            self.connect_error(id, &"no answer within the connect timeout")
        } else {
            self.connect_error(id, e)
        }
    }

    /// `AUTH` and `SELECT` on a fresh connection, pipelined, each reply awaited only until
    /// `deadline` (the connect timeout covers connect, TLS, AUTH and SELECT together, as a user
    /// reading `timeout=2` expects). A refusal keeps the server's own reply in the message.
    fn login(
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
            .map_err(|e| self.connect_failed(id, &e))?;
        conn.send_packed_command(&pipe.get_packed_pipeline())
            .map_err(|e| match e.is_timeout() {
                true => no_reply(steps[0]),
                false => self.connect_failed(id, &e),
            })?;
        for step in steps {
            conn.set_read_timeout(left(step)?)
                .map_err(|e| self.connect_failed(id, &e))?;
            let reply = conn.recv_response().map_err(|e| match e.is_timeout() {
                true => no_reply(step),
                false => self.connect_failed(id, &e),
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

    fn certificates(&self) -> std::io::Result<redis::TlsCertificates> {
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

/// A key for an error message, with the session id in it shortened (see [`short_id`]): warnings end
/// up in logs, and a whole id there is a usable credential.
pub(crate) fn redact_key(key: &[u8], id: &str) -> String {
    let text = String::from_utf8_lossy(key);
    if id.len() > 8 {
        text.replace(id, &short_id(id))
    } else {
        text.into_owned()
    }
}

/// Session ids are secrets; messages show enough to find one, not enough to use it.
pub(crate) fn short_id(id: &str) -> String {
    if id.len() > 8 {
        format!("{}…", id.get(..6).unwrap_or(id))
    } else {
        id.to_owned()
    }
}

/// What one store has done since it was made ([`SessionStore::stats`](super::SessionStore::stats)).
/// The PHP extension adds up its stores' counters per worker process and shows them in
/// `phpinfo()` (`php --ri phpsess`, the "This worker" table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreStats {
    /// Round trips to Redis (pipelines count once; connection handshakes count once).
    pub round_trips: u64,
    /// Commands sent.
    pub commands: u64,
    /// Connections opened.
    pub connects: u64,
    /// Reads that had to wait for another request's lock.
    pub lock_waits: u64,
    /// Total time spent waiting for locks, in milliseconds.
    pub lock_wait_ms: u64,
    /// Writes refused because the lock was lost.
    pub lock_losses: u64,
    /// Operations that returned an error.
    pub errors: u64,
}

/// Context for error messages.
pub(crate) struct Op<'a> {
    pub op: &'static str,
    pub key: &'a [u8],
    pub id: &'a str,
}

impl Op<'_> {
    /// This operation failed on `host` (never safe to retry blindly: the caller decides that).
    pub fn error(&self, host: String, detail: String) -> Error {
        Error::Redis {
            host,
            key: redact_key(self.key, self.id),
            op: self.op,
            detail,
            retry_safe: false,
        }
    }
}

pub(crate) struct Node {
    pub endpoint: Endpoint,
    conn: Option<redis::Connection>,
    /// False once the server said it does not know GETEX (Redis < 6.2).
    pub getex: bool,
    /// The last [`Node::run`] failed because no reply came within the read timeout (the Redis
    /// cluster router stops routing to a silent node on this, without asking it again).
    pub timed_out: bool,
}

impl Node {
    pub fn new(endpoint: Endpoint) -> Self {
        Node {
            endpoint,
            conn: None,
            getex: true,
            timed_out: false,
        }
    }

    fn open(&mut self, id: &str, stats: &mut StoreStats) -> Result<()> {
        let deadline = Instant::now() + self.endpoint.connect_timeout;
        let info = self.endpoint.connection_info()?;
        let client = match &self.endpoint.tls {
            None => redis::Client::open(info).map_err(|e| self.endpoint.connect_error(id, &e))?,
            Some(files) => self.tls_client(id, info, files)?,
        };
        let mut conn = client
            .get_connection_with_timeout(self.endpoint.connect_timeout)
            .map_err(|e| self.endpoint.connect_failed(id, &e))?;
        stats.connects += 1;
        self.endpoint.login(&mut conn, deadline, id, stats)?;
        let t = Some(self.endpoint.read_timeout.max(Duration::from_millis(1)));
        conn.set_read_timeout(t)
            .map_err(|e| self.endpoint.connect_error(id, &e))?;
        conn.set_write_timeout(t)
            .map_err(|e| self.endpoint.connect_error(id, &e))?;
        self.conn = Some(conn);
        Ok(())
    }

    /// A client with PHP's TLS checks: roots and client certificate from `files`, and with
    /// `verify_peer_name=0` the redis crate's verifier that checks chain and signatures but
    /// not the host name.
    fn tls_client(
        &self,
        id: &str,
        info: ConnectionInfo,
        files: &TlsFiles,
    ) -> Result<redis::Client> {
        let fail = |e: &dyn std::fmt::Display| self.endpoint.connect_error(id, e);
        if let ConnectionAddr::TcpTls { host, insecure, .. } = info.addr() {
            if let Some(reason) = files.refused(host, *insecure) {
                return Err(fail(&reason));
            }
        }
        let certs = files.certificates().map_err(|e| fail(&e))?;
        let client = redis::Client::build_with_tls(info, certs).map_err(|e| fail(&e))?;
        if files.check_name {
            return Ok(client);
        }
        let info = client.get_connection_info().clone();
        let mut addr = info.addr().clone();
        addr.set_danger_accept_invalid_hostnames(true);
        redis::Client::open(info.set_addr(addr)).map_err(|e| fail(&e))
    }

    /// Send `pipe` and return one reply per command (error replies included as `Value::ServerError`).
    /// With `retry_safe`, a connection found broken on use is reopened and the pipeline sent again once.
    pub fn run(
        &mut self,
        pipe: &Pipeline,
        retry_safe: bool,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<Vec<Value>> {
        self.timed_out = false;
        let reused = self.conn.is_some();
        if !reused {
            self.open(ctx.id, stats)?;
        }
        let replies = match self.send(pipe, stats) {
            Ok(v) => v,
            Err(e) if reused && retry_safe && broken(&e) => {
                self.conn = None;
                self.open(ctx.id, stats)?;
                self.send(pipe, stats).map_err(|e| self.fail(e, ctx))?
            }
            Err(e) => return Err(self.fail(e, ctx)),
        };
        // A server with a password, and none configured: say so once, in words, instead of
        // leaving each command's NOAUTH reply to be reported as a failed read or lock.
        let noauth = replies.iter().find_map(|r| match r {
            Value::ServerError(e) if e.code() == "NOAUTH" => Some(e),
            _ => None,
        });
        if let Some(e) = noauth {
            let err = self.endpoint.refused(
                ctx.id,
                "a password is required and none was given".into(),
                e,
            );
            self.conn = None;
            return Err(err);
        }
        Ok(replies)
    }

    fn send(&mut self, pipe: &Pipeline, stats: &mut StoreStats) -> redis::RedisResult<Vec<Value>> {
        let Some(conn) = self.conn.as_mut() else {
            return Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "not connected",
            )));
        };
        stats.round_trips += 1;
        stats.commands += pipe.len() as u64;
        // Send the whole pipeline, then read reply by reply and stop at the first I/O error or
        // timeout: `Pipeline::query` keeps reading after a timeout, so a silent server would cost
        // one read timeout per command instead of one in all. Error replies come back as
        // `Value::ServerError` in their slot.
        conn.send_packed_command(&pipe.get_packed_pipeline())?;
        let mut replies = Vec::with_capacity(pipe.len());
        for _ in 0..pipe.len() {
            replies.push(conn.recv_response()?);
        }
        Ok(replies)
    }

    fn fail(&mut self, e: redis::RedisError, ctx: &Op<'_>) -> Error {
        if broken(&e) || e.is_timeout() {
            // The reply stream may be out of step now; never reuse this socket.
            self.conn = None;
        }
        let detail = if e.is_timeout() {
            self.timed_out = true;
            format!(
                "no reply within the read timeout ({}s)",
                self.endpoint.read_timeout.as_secs_f64()
            )
        } else {
            e.to_string()
        };
        ctx.error(self.endpoint.label.clone(), detail)
    }

    /// Drop the connection (after fork, or when the caller knows it is stale).
    pub fn disconnect(&mut self) {
        self.conn = None;
    }
}

/// A connection that died while idle (reset, EOF, broken pipe): worth one reconnect. A timeout is
/// not: the server is there but slow or silent, and asking again would only double the wait.
fn broken(e: &redis::RedisError) -> bool {
    (e.is_connection_dropped() || e.is_io_error()) && !e.is_timeout()
}
