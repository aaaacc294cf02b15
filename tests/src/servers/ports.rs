//! Free loopback ports for test servers: picked by binding port 0, never handed out twice per process.
//!
//! Binding port 0 and closing the socket again leaves a window in which another process could take
//! the port; the servers retry their start on "Address already in use" for that reason. Within this
//! process, a registry makes sure two tests running in parallel never receive the same port, even when
//! the kernel offers a recently released one again.

use std::collections::HashSet;
use std::net::{Ipv4Addr, TcpListener};
use std::sync::{Mutex, OnceLock};

/// Offset of the Redis Cluster bus port from the client port (Redis's default `cluster-port` rule).
pub const CLUSTER_BUS_OFFSET: u16 = 10_000;

/// Highest client port whose bus port (`port + 10000`) is still a valid port number.
pub const MAX_CLUSTER_PORT: u16 = u16::MAX - CLUSTER_BUS_OFFSET;

/// How many candidate ports we try before giving up (each try is one bind of port 0).
const ATTEMPTS: usize = 1_000;

fn handed_out() -> &'static Mutex<HashSet<u16>> {
    static PORTS: OnceLock<Mutex<HashSet<u16>>> = OnceLock::new();
    PORTS.get_or_init(|| Mutex::new(HashSet::new()))
}

/// Asks the kernel for a free port on 127.0.0.1 (binding port 0), and releases it again.
fn kernel_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap_or_else(|e| panic!("cannot bind 127.0.0.1:0 to pick a free port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("bound 127.0.0.1:0 but cannot read its address: {e}"))
        .port()
}

/// True if nobody listens on, or holds, 127.0.0.1:`port` right now.
pub fn is_free(port: u16) -> bool {
    port != 0 && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
}

/// A free port on 127.0.0.1 that this process has not handed out before.
pub fn free_port() -> u16 {
    for _ in 0..ATTEMPTS {
        let port = kernel_port();
        let mut taken = handed_out().lock().unwrap_or_else(|p| p.into_inner());
        if taken.insert(port) {
            return port;
        }
    }
    panic!("no free loopback port found in {ATTEMPTS} attempts");
}

/// A free port for a Redis Cluster node: the port and its bus port `port + 10000` are both free,
/// both are valid (port <= 55535), and neither was handed out before by this process.
pub fn free_cluster_port() -> u16 {
    for _ in 0..ATTEMPTS {
        let port = kernel_port();
        if port > MAX_CLUSTER_PORT {
            continue;
        }
        let bus = port + CLUSTER_BUS_OFFSET;
        let mut taken = handed_out().lock().unwrap_or_else(|p| p.into_inner());
        if taken.contains(&port) || taken.contains(&bus) || !is_free(bus) {
            continue;
        }
        taken.insert(port);
        taken.insert(bus);
        return port;
    }
    panic!("no free loopback port pair (port, port+10000) found in {ATTEMPTS} attempts");
}

/// A port on which nothing listens, for "connection refused" tests. It is reserved in this process
/// so no test server is started on it later; another process could still take it, which is why
/// such tests should also accept a timeout.
pub fn unused_port() -> u16 {
    free_port()
}
