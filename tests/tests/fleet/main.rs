//! Test target `fleet`: phpsess and phpredis side by side in php-fpm pools behind nginx (mixed
//! fleets, locks, session semantics, faults, the end-to-end benchmark's machinery), and Laravel
//! 8.83 driven for real next to the Rust reader (and ending its users' sessions).
//!
//! Run one module with `cargo build --workspace --features phpsess-ext/test-panic` (the extension
//! and the `phpsess` command, see `phpsess_compat::artifacts`), then
//! `cargo test -p phpsess-compat --test fleet locks::`.

mod axum_service;
mod bench;
mod faults;
mod hashed_ids;
mod laravel_compat;
mod laravel_ops;
mod laravel_users;
mod lock_queue;
mod locks;
mod mixed;
mod semantics;
mod user_index;
mod web;
