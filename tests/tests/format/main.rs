//! Test target `format`: PHP's serialize format, the session encodings and Laravel's payloads,
//! checked against golden fixtures and against real PHP as an oracle. No Redis server here.
//!
//! One test binary per area (`format`, `store`, `ext`, `fleet`) rather than one per file: each
//! binary links redis and phpsess, and linking is what a 2-core machine waits for.
//! Run one module with `cargo test -p phpsess-compat --test format differential::`.

mod differential;
mod fixtures_sessions;
mod fixtures_values;
mod laravel_php_oracle;
mod laravel_vectors;
