//! `Nginx`: an unprivileged nginx (`-p DIR -c FILE`, `daemon off;`) on a free loopback port that
//! passes `*.php` to one or more php-fpm pools, round-robin, like a load balancer in front of
//! several web servers.
//!
//! Each request opens a new FastCGI connection (no `fastcgi_keep_conn`): a php-fpm worker serves
//! one connection at a time, so kept-alive upstream connections would pin workers to nginx's idle
//! connections and starve the others.

use std::fmt::Write as _;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::fpm::test_docroot;
use super::process::Daemon;
use crate::servers::{ports, wait_until_fatal, NotYet};

/// The nginx binary: `$NGINX` if set, else `nginx` (Debian puts it in /usr/sbin).
pub fn nginx_bin() -> String {
    std::env::var("NGINX").unwrap_or_else(|_| {
        if Path::new("/usr/sbin/nginx").exists() {
            "/usr/sbin/nginx".to_owned()
        } else {
            "nginx".to_owned()
        }
    })
}

/// How long nginx may take from spawn to accepting connections.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts lost to another process taking the port between our probe and nginx's bind.
const PORT_RACE_ATTEMPTS: usize = 3;

/// Options for [`Nginx`]; see [`Nginx::builder`].
#[derive(Debug, Clone)]
pub struct NginxBuilder {
    upstreams: Vec<String>,
    root: PathBuf,
    read_timeout_secs: u64,
}

impl NginxBuilder {
    /// Adds a php-fpm pool ("127.0.0.1:PORT") to the round-robin upstream.
    pub fn upstream(mut self, addr: impl Into<String>) -> Self {
        self.upstreams.push(addr.into());
        self
    }

    /// The document root (`SCRIPT_FILENAME` = root + URI path). Default `tests/php`.
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = root.into();
        self
    }

    /// `fastcgi_read_timeout` in seconds (default 60).
    pub fn read_timeout_secs(mut self, secs: u64) -> Self {
        self.read_timeout_secs = secs;
        self
    }

    fn conf_text(&self, port: u16, dir: &Path) -> String {
        let dir = dir.display();
        let mut t = String::new();
        let _ = writeln!(t, "daemon off;");
        let _ = writeln!(t, "worker_processes 1;");
        let _ = writeln!(t, "pid {dir}/nginx.pid;");
        let _ = writeln!(t, "error_log {dir}/error.log warn;");
        let _ = writeln!(t, "events {{ worker_connections 4096; }}");
        let _ = writeln!(t, "http {{");
        let _ = writeln!(t, "  access_log off;");
        for temp in ["client_body", "fastcgi", "proxy", "uwsgi", "scgi"] {
            let _ = writeln!(t, "  {temp}_temp_path {dir}/tmp_{temp};");
        }
        let _ = writeln!(t, "  keepalive_requests 100000;");
        let _ = writeln!(t, "  upstream php_pools {{");
        for addr in &self.upstreams {
            // A failing pool is a test failure, not something to route around.
            let _ = writeln!(t, "    server {addr} max_fails=0;");
        }
        let _ = writeln!(t, "  }}");
        let _ = writeln!(t, "  server {{");
        let _ = writeln!(t, "    listen 127.0.0.1:{port} backlog=4096;");
        let _ = writeln!(t, "    root {};", self.root.display());
        let _ = writeln!(t, "    location ~ \\.php$ {{");
        let _ = writeln!(t, "      fastcgi_pass php_pools;");
        let _ = writeln!(t, "      fastcgi_next_upstream off;");
        let _ = writeln!(t, "      fastcgi_read_timeout {}s;", self.read_timeout_secs);
        let _ = writeln!(t, "      include /etc/nginx/fastcgi_params;");
        let _ = writeln!(
            t,
            "      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;"
        );
        let _ = writeln!(t, "    }}");
        let _ = writeln!(t, "  }}");
        let _ = writeln!(t, "}}");
        t
    }

    /// Starts nginx and waits until it accepts connections. Panics with its logs if it does not.
    pub fn start(self) -> Nginx {
        assert!(!self.upstreams.is_empty(), "nginx needs at least one pool");
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = ports::free_port();
            let label = format!("nginx 127.0.0.1:{port}");
            let mut daemon = Daemon::prepare("nginx", label)
                .unwrap_or_else(|e| panic!("cannot prepare a directory for nginx: {e}"));
            daemon.add_log("error.log");
            daemon.add_log("nginx.conf");
            // Started as root, nginx runs its worker as `nobody`, which must reach the temp dirs.
            std::fs::set_permissions(daemon.dir(), std::fs::Permissions::from_mode(0o755))
                .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", daemon.dir().display()));
            let conf = daemon.path("nginx.conf");
            std::fs::write(&conf, self.conf_text(port, daemon.dir()))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", conf.display()));
            let mut command = Command::new(nginx_bin());
            command
                .arg("-p")
                .arg(daemon.dir())
                .arg("-c")
                .arg(&conf)
                // The default error log (/var/log/nginx) may not be writable before the config
                // is read; send early messages to stderr instead.
                .arg("-e")
                .arg("stderr");
            if let Err(e) = daemon.spawn(command) {
                panic!("{e}");
            }
            let mut nginx = Nginx { daemon, port };
            match nginx.wait_ready() {
                Ok(()) => return nginx,
                Err(_) if attempt < PORT_RACE_ATTEMPTS && nginx.lost_port_race() => continue,
                Err(reason) => nginx.daemon.fail(&reason),
            }
        }
    }
}

/// A running nginx, stopped on drop.
pub struct Nginx {
    daemon: Daemon,
    port: u16,
}

impl std::fmt::Debug for Nginx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nginx")
            .field("addr", &self.addr())
            .field("dir", &self.daemon.dir())
            .finish()
    }
}

impl Nginx {
    /// Options: upstream pools, document root.
    pub fn builder() -> NginxBuilder {
        NginxBuilder {
            upstreams: Vec::new(),
            root: test_docroot(),
            read_timeout_secs: 60,
        }
    }

    /// `"127.0.0.1:PORT"`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `"http://127.0.0.1:PORT"`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// The error log and the config, for failure messages.
    pub fn logs(&self) -> String {
        self.daemon.logs()
    }

    fn lost_port_race(&self) -> bool {
        let stdio = std::fs::read_to_string(self.daemon.path("stdio.log")).unwrap_or_default();
        let log = std::fs::read_to_string(self.daemon.path("error.log")).unwrap_or_default();
        stdio.contains("Address already in use") || log.contains("Address already in use")
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let label = self.daemon.label().to_owned();
        let addr = self.addr();
        let result = wait_until_fatal(&label, READY_TIMEOUT, || {
            if !self.daemon.is_running() {
                return Err(NotYet::Fatal("nginx exited".to_owned()));
            }
            TcpStream::connect(&addr)
                .map(drop)
                .map_err(|e| NotYet::Retry(format!("connect {addr}: {e}")))
        });
        if result.is_err() {
            self.daemon.stop();
        }
        result
    }
}
