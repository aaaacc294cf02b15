//! Web-server harness: Drop-guarded php-fpm pools and nginx on free loopback ports, PHP CLI runs
//! with the session extensions, an HTTP client with a cookie jar, and a load generator.
//!
//! A "web server" of the fleet is an [`FpmPool`]; [`Nginx`] balances requests over several of
//! them round-robin. Every PHP process runs with `-n` (no php.ini) and loads igbinary, phpredis
//! and, unless a test asks for phpredis alone, our `phpsess.so` ([`ext::phpsess_extension`],
//! built before the tests). Which save handler a process uses is then only a matter
//! of INI settings, as in a fleet migrating from phpredis to phpsess.
//!
//! Binaries: `php`, `php-fpm8.2` and `nginx` from `PATH` (nginx also from /usr/sbin), or the
//! paths in `$PHP`, `$PHP_FPM` and `$NGINX`.

pub mod axum_service;
pub mod bench;
pub mod bench_shared;
pub mod ext;
pub mod fleet;
pub mod fpm;
pub mod http;
pub mod load;
pub mod nginx;
pub mod php_cli;
pub mod process;
pub mod site;

pub use axum_service::AxumService;
pub use ext::{phpsess_extension, Extensions};
pub use fleet::{new_session_id, Handler, SERIALIZERS};
pub use fpm::{FpmPool, FpmPoolBuilder};
pub use http::{HttpClient, Response};
pub use nginx::{Nginx, NginxBuilder};
pub use php_cli::{PhpCli, PhpOutput, PhpProcess};
pub use site::Site;
