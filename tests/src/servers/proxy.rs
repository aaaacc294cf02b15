//! `Proxy`: a userspace TCP proxy on a free loopback port that forwards bytes both ways, delays every
//! server reply by a configurable time (there is no netem on the test machines) and counts round trips.
//! `Proxy::blackhole()` accepts connections and never answers, for timeout tests.
//!
//! A round trip is counted when the first bytes from the server arrive after the client has sent
//! bytes: one "turn" from client-sending to server-replying. A request, or a pipeline written at once,
//! is one turn however many commands and reply chunks it has; connecting is not a turn, but the
//! connection setup a client pipelines after connecting (AUTH, HELLO, CLIENT SETINFO...) is. The count
//! is exact when the server has received a whole pipeline before it replies to its first command,
//! which holds for single commands of any size and for pipelines that reach the server in one read
//! (Redis reads 16 KiB at a time, more for one large argument); a pipeline of several commands that
//! together exceed that could be answered in two parts and be counted twice.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bytes read per chunk in each direction; large, so a client's pipeline is forwarded in one write.
const BUF_SIZE: usize = 256 * 1024;

/// How long the proxy waits for the upstream server to accept a connection.
const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Options for [`Proxy`]; see [`Proxy::builder`].
#[derive(Debug, Clone)]
pub struct ProxyBuilder {
    upstream: String,
    delay: Duration,
    handshake_delay: Option<Duration>,
}

impl ProxyBuilder {
    /// Every chunk from the server reaches the client this much later than the proxy received it
    /// (a one-way delay; the client-to-server direction is not delayed). Default zero.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Extra delay on the first reply of each new connection, standing in for the TCP handshake's
    /// round trip, which the kernel completes instantly on loopback. Defaults to `delay`.
    pub fn handshake_delay(mut self, delay: Duration) -> Self {
        self.handshake_delay = Some(delay);
        self
    }

    /// Starts listening on a free loopback port.
    pub fn start(self) -> Proxy {
        let upstream = self
            .upstream
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| {
                panic!("proxy upstream {:?} is not a socket address", self.upstream)
            });
        Proxy::spawn(
            Some(upstream),
            self.delay,
            self.handshake_delay.unwrap_or(self.delay),
        )
    }
}

/// State shared between the proxy handle and its threads.
#[derive(Debug)]
struct Shared {
    /// `None`: blackhole.
    upstream: Option<SocketAddr>,
    delay_nanos: AtomicU64,
    handshake_nanos: AtomicU64,
    round_trips: AtomicU64,
    connections: AtomicU64,
    stop: AtomicBool,
    next_id: AtomicU64,
    /// Sockets of open connections (clones), so drop and `disconnect_all` can shut them down.
    open: Mutex<HashMap<u64, Vec<TcpStream>>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    fn open(&self) -> MutexGuard<'_, HashMap<u64, Vec<TcpStream>>> {
        // A thread that panicked while holding the lock leaves a usable map behind.
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a socket of connection `id`; shuts it down at once if the proxy is stopping, so a
    /// connection accepted during drop cannot block a thread forever.
    fn register(&self, id: u64, stream: &TcpStream) {
        let mut open = self.open();
        match stream.try_clone() {
            Ok(clone) if !self.stop.load(Ordering::SeqCst) => {
                open.entry(id).or_default().push(clone);
            }
            _ => {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
    }

    fn forget(&self, id: u64) {
        self.open().remove(&id);
    }

    fn shutdown_all(&self) {
        for (_, streams) in self.open().drain() {
            for s in streams {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }

    fn spawn(&self, name: String, f: impl FnOnce() + Send + 'static) {
        match thread::Builder::new().name(name).spawn(f) {
            Ok(handle) => {
                let mut threads = self.threads.lock().unwrap_or_else(|p| p.into_inner());
                // A finished thread keeps its stack until it is joined or detached: drop (detach)
                // the handles of finished ones, or a client opening a connection per request
                // (phpredis without `persistent`) exhausts memory after some 10,000 connections.
                threads.retain(|h| !h.is_finished());
                threads.push(handle);
            }
            Err(e) => panic!("proxy cannot start a thread: {e}"),
        }
    }

    fn delay(&self) -> Duration {
        Duration::from_nanos(self.delay_nanos.load(Ordering::SeqCst))
    }

    fn handshake_delay(&self) -> Duration {
        Duration::from_nanos(self.handshake_nanos.load(Ordering::SeqCst))
    }
}

/// A TCP proxy on 127.0.0.1; stops, closes every connection and joins its threads on drop.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept_thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Proxies to `upstream` ("127.0.0.1:PORT"), delaying each reply by `delay` (and the first reply
    /// of each connection by another `delay` for the handshake). `Duration::ZERO` for no delay.
    pub fn start(upstream: impl Into<String>, delay: Duration) -> Proxy {
        Proxy::builder(upstream).delay(delay).start()
    }

    /// Options: delay, handshake delay.
    pub fn builder(upstream: impl Into<String>) -> ProxyBuilder {
        ProxyBuilder {
            upstream: upstream.into(),
            delay: Duration::ZERO,
            handshake_delay: None,
        }
    }

    /// Accepts connections, reads and discards what clients send, never answers.
    pub fn blackhole() -> Proxy {
        Proxy::spawn(None, Duration::ZERO, Duration::ZERO)
    }

    fn spawn(upstream: Option<SocketAddr>, delay: Duration, handshake: Duration) -> Proxy {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .unwrap_or_else(|e| panic!("proxy cannot bind 127.0.0.1:0: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("proxy cannot read its listening address: {e}"));
        let shared = Arc::new(Shared {
            upstream,
            delay_nanos: AtomicU64::new(nanos(delay)),
            handshake_nanos: AtomicU64::new(nanos(handshake)),
            round_trips: AtomicU64::new(0),
            connections: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            open: Mutex::new(HashMap::new()),
            threads: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept_thread = thread::Builder::new()
            .name(format!("proxy-accept-{}", addr.port()))
            .spawn(move || accept_loop(listener, accept_shared))
            .unwrap_or_else(|e| panic!("proxy cannot start its accept thread: {e}"));
        Proxy {
            addr,
            shared,
            accept_thread: Some(accept_thread),
        }
    }

    /// `"127.0.0.1:PORT"` to connect clients to.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Round trips (client-send then server-reply turns) over all connections since start or
    /// [`Proxy::reset`]. Counted when the reply reaches the proxy, so it is up to date as soon as
    /// the client has its reply.
    pub fn round_trips(&self) -> u64 {
        self.shared.round_trips.load(Ordering::SeqCst)
    }

    /// Connections accepted since start or [`Proxy::reset`].
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Connections currently open.
    pub fn open_connections(&self) -> usize {
        self.shared.open().len()
    }

    /// Zeroes the round-trip and connection counters.
    pub fn reset(&self) {
        self.shared.round_trips.store(0, Ordering::SeqCst);
        self.shared.connections.store(0, Ordering::SeqCst);
    }

    /// Changes the reply delay for chunks received from now on (the handshake delay stays).
    pub fn set_delay(&self, delay: Duration) {
        self.shared
            .delay_nanos
            .store(nanos(delay), Ordering::SeqCst);
    }

    /// Closes every open connection (both sides), as a network failure or server restart would: the
    /// client's next read sees the connection closed. New connections are still accepted.
    pub fn disconnect_all(&self) {
        let streams: Vec<TcpStream> = self.shared.open().drain().flat_map(|(_, s)| s).collect();
        for s in streams {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept thread, blocked in accept(); it sees `stop` and returns.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(handle) = self.accept_thread.take() {
            let _ = handle.join();
        }
        self.shared.shutdown_all();
        let threads = std::mem::take(
            &mut *self
                .shared
                .threads
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for handle in threads {
            let _ = handle.join();
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stop.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = stream else {
            continue;
        };
        shared.connections.fetch_add(1, Ordering::SeqCst);
        let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
        shared.register(id, &client);
        let conn_shared = Arc::clone(&shared);
        let name = format!("proxy-conn-{id}");
        match shared.upstream {
            None => shared.spawn(name, move || blackhole(id, client, conn_shared)),
            Some(upstream) => {
                shared.spawn(name, move || forward(id, client, upstream, conn_shared))
            }
        }
    }
}

fn blackhole(id: u64, mut client: TcpStream, shared: Arc<Shared>) {
    let mut buf = vec![0u8; BUF_SIZE];
    while matches!(client.read(&mut buf), Ok(n) if n > 0) {}
    shared.forget(id);
}

/// What the reply reader hands to the client writer.
enum ToClient {
    Chunk { due: Instant, bytes: Vec<u8> },
    Eof,
}

/// Runs one proxied connection: this thread writes (delayed) replies to the client; one helper
/// forwards client bytes upstream, another reads replies and counts turns.
fn forward(id: u64, mut client: TcpStream, upstream: SocketAddr, shared: Arc<Shared>) {
    let server = match TcpStream::connect_timeout(&upstream, UPSTREAM_CONNECT_TIMEOUT) {
        Ok(s) => s,
        Err(_) => {
            // The server is down: the client sees its connection closed.
            let _ = client.shutdown(Shutdown::Both);
            shared.forget(id);
            return;
        }
    };
    shared.register(id, &server);
    // Replies must not wait for Nagle: the delay is the only latency we want.
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(client_reader), Ok(mut server_writer), Ok(mut server_reader)) =
        (client.try_clone(), server.try_clone(), server.try_clone())
    else {
        let _ = client.shutdown(Shutdown::Both);
        let _ = server.shutdown(Shutdown::Both);
        shared.forget(id);
        return;
    };

    // Set by the client->server pump before it forwards bytes, cleared by the reply reader when the
    // first reply bytes of that turn arrive.
    let awaiting_reply = Arc::new(AtomicBool::new(false));

    let awaiting = Arc::clone(&awaiting_reply);
    shared.spawn(format!("proxy-c2s-{id}"), move || {
        let mut client_reader = client_reader;
        let mut buf = vec![0u8; BUF_SIZE];
        loop {
            match client_reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    awaiting.store(true, Ordering::SeqCst);
                    if server_writer.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = server_writer.shutdown(Shutdown::Write);
    });

    let (tx, rx) = mpsc::channel::<ToClient>();
    let reader_shared = Arc::clone(&shared);
    shared.spawn(format!("proxy-s2c-{id}"), move || {
        let mut buf = vec![0u8; BUF_SIZE];
        let mut first = true;
        loop {
            match server_reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let received = Instant::now();
                    if awaiting_reply.swap(false, Ordering::SeqCst) {
                        reader_shared.round_trips.fetch_add(1, Ordering::SeqCst);
                    }
                    let mut delay = reader_shared.delay();
                    if first {
                        delay += reader_shared.handshake_delay();
                        first = false;
                    }
                    let chunk = ToClient::Chunk {
                        due: received + delay,
                        bytes: buf[..n].to_vec(),
                    };
                    if tx.send(chunk).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = tx.send(ToClient::Eof);
    });

    // Each chunk leaves at its own due time, so the delay adds latency without capping throughput.
    for item in rx {
        match item {
            ToClient::Chunk { due, bytes } => {
                let now = Instant::now();
                if due > now {
                    thread::sleep(due - now);
                }
                if client.write_all(&bytes).is_err() {
                    break;
                }
            }
            ToClient::Eof => break,
        }
    }
    // The server closed (or the client is gone): close both sides, as the kernel would for a
    // client talking to the server directly, so the client->server pump ends too.
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    shared.forget(id);
}
