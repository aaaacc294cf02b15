//! Test target `ext`: the phpsess extension in the real PHP CLI and php-fpm, against real
//! redis-servers and next to phpredis, plus PHP's own `ext/session` test suite. [`support`] finds
//! the extension and runs `tests/php/ext_*.php` with it loaded.
//!
//! Run one module with `cargo build --workspace --features phpsess-ext/test-panic` (the extension
//! these tests load, see `phpsess_compat::artifacts`), then
//! `cargo test -p phpsess-compat --test ext session::`.

mod auth;
mod cluster;
mod encryption;
mod fpm;
mod php_session_suite;
mod phpredis;
mod phpredis_scenarios;
mod registration;
mod session;
mod size_cap;
mod stats_fn;
mod support;
