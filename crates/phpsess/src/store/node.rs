//! One Redis server as the store sees it: a lazily opened, reused connection to an
//! [`Endpoint`]. A connection that broke while idle is noticed on use and, where the caller says the
//! command is safe to repeat, reopened and the command sent once more.

use std::time::{Duration, Instant};

use redis::{ConnectionAddr, ConnectionInfo, Pipeline, Value};

use super::endpoint::{Endpoint, TlsFiles};
use super::redact::redact_key;
use super::stats::StoreStats;
use crate::error::{Error, Result};

/// Context for error messages.
pub(crate) struct Op<'a> {
    pub op: &'static str,
    pub key: &'a [u8],
    pub id: &'a str,
}

impl Op<'_> {
    /// This operation failed on `host` (never safe to retry blindly: the caller decides that).
    pub fn error(&self, host: String, detail: String) -> Error {
        self.error_from(host, detail, None)
    }

    /// [`Self::error`] keeping the redis crate's error as the source.
    pub fn error_from(
        &self,
        host: String,
        detail: String,
        source: Option<redis::RedisError>,
    ) -> Error {
        Error::Redis {
            host,
            key: redact_key(self.key, self.id),
            op: self.op,
            detail,
            retry_safe: false,
            source: source.map(|e| Box::new(e) as _),
        }
    }
}
/// One server's connection: opened on first use, kept between requests, dropped when its reply
/// stream can no longer be trusted (an I/O error or a timeout).
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
            None => redis::Client::open(info).map_err(|e| {
                self.endpoint
                    .connect_error_from(id, &e.to_string(), Some(e))
            })?,
            Some(files) => self.tls_client(id, info, files)?,
        };
        let mut conn = client
            .get_connection_with_timeout(self.endpoint.connect_timeout)
            .map_err(|e| self.endpoint.connect_failed(id, e))?;
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

    /// Send `pipe` without reading its replies ([`recv_only`](Self::recv_only) reads them), so
    /// that the server works on it while the caller reads an earlier pipeline's replies. Opens
    /// the connection if needed; never retries (a scan that breaks fails with its error).
    pub fn send_only(
        &mut self,
        pipe: &Pipeline,
        ctx: &Op<'_>,
        stats: &mut StoreStats,
    ) -> Result<()> {
        self.timed_out = false;
        if self.conn.is_none() {
            self.open(ctx.id, stats)?;
        }
        stats.round_trips += 1;
        stats.commands += pipe.len() as u64;
        let sent = match self.conn.as_mut() {
            Some(conn) => conn.send_packed_command(&pipe.get_packed_pipeline()),
            None => Err(redis::RedisError::from((
                redis::ErrorKind::Io,
                "not connected",
            ))),
        };
        sent.map_err(|e| self.fail(e, ctx))
    }

    /// Read `n` replies of pipelines sent with [`send_only`](Self::send_only), in order.
    pub fn recv_only(&mut self, n: usize, ctx: &Op<'_>) -> Result<Vec<Value>> {
        let mut replies = Vec::with_capacity(n);
        for _ in 0..n {
            let got = match self.conn.as_mut() {
                Some(conn) => conn.recv_response(),
                None => Err(redis::RedisError::from((
                    redis::ErrorKind::Io,
                    "not connected",
                ))),
            };
            match got {
                Ok(v) => replies.push(v),
                Err(e) => return Err(self.fail(e, ctx)),
            }
        }
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
        ctx.error_from(self.endpoint.label.clone(), detail, Some(e))
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
