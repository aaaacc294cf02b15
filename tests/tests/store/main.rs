//! Test target `store`: the session store against real redis-servers (standalone, login, TLS,
//! cluster), the server harness those tests rely on, `phpsess show` from the CLI, and the ops
//! commands (`stats`, `top`, `ls`, `doctor`, `redis-conf`, `exporter`), and the axum write-back
//! extractor in process (`axum_extractors`: panics, dropped requests, lost locks).
//!
//! Run one module with `cargo test -p phpsess-compat --test store standalone::`, after
//! `cargo build --workspace --features phpsess-ext/test-panic` for `cli_show` (the `phpsess`
//! command, see `phpsess_compat::artifacts`).

mod async_store;
mod axum_extractors;
mod cli_show;
mod cli_users;
mod cluster;
mod encryption;
mod exporter;
mod harness;
mod lock_queue;
mod login;
mod ops_doctor;
mod ops_stats;
mod standalone;
mod tls;
mod user_index;
