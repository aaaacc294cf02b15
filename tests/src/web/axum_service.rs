//! [`AxumService`]: the `phpsess-axum-example` binary on a free loopback port, Drop-guarded like
//! the other daemons (its output is shown when a test fails), ready once it accepts connections.

use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use super::process::Daemon;
use super::HttpClient;
use crate::artifacts::axum_example_bin;
use crate::servers::ports::free_port;
use crate::servers::wait_until;

/// A running `phpsess-axum-example`.
pub struct AxumService {
    daemon: Daemon,
    addr: String,
}

impl AxumService {
    /// Starts the service with `args` (everything but `--listen`) and waits until it listens.
    pub fn start(args: &[&str]) -> AxumService {
        AxumService::start_with_env(args, &[])
    }

    /// [`Self::start`] with variables set in the service's environment.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> AxumService {
        let addr = format!("127.0.0.1:{}", free_port());
        let mut daemon = Daemon::prepare("axum", format!("phpsess-axum-example {addr}"))
            .expect("temporary directory for the axum service");
        let mut command = Command::new(axum_example_bin());
        command.arg("--listen").arg(&addr).args(args);
        // APP_KEY must come from the arguments (or `env`), never from the test runner's environment.
        command.env_remove("APP_KEY");
        command.envs(env.iter().copied());
        daemon.spawn(command).unwrap_or_else(|e| panic!("{e}"));
        let mut service = AxumService { daemon, addr };
        let ready = wait_until(
            "the axum service to listen",
            Duration::from_secs(10),
            || TcpStream::connect(&service.addr).map_err(|e| e.to_string()),
        );
        if let Err(e) = ready {
            let running = service.daemon.is_running();
            service
                .daemon
                .fail(&format!("not listening (running: {running}): {e}"));
        }
        service
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// A client with an empty cookie jar.
    pub fn client(&self) -> HttpClient {
        HttpClient::new(self.addr.clone())
    }

    /// Whether the process still runs (a panic would have ended it).
    pub fn is_running(&mut self) -> bool {
        self.daemon.is_running()
    }

    /// What it printed.
    pub fn logs(&self) -> String {
        self.daemon.logs()
    }
}
