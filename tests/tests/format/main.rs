//! Test target `format`: PHP's serialize format, the session encodings and Laravel's payloads,
//! checked against golden fixtures and against real PHP as an oracle (also the save_path
//! syntaxes, the serde layer, the friendly JSON and the command's session conversion). No Redis
//! server here. Every test that runs PHP lives in this suite, none in `crates/*/tests`.
//!
//! One test binary per area (`format`, `store`, `ext`, `fleet`) rather than one per file: each
//! binary links redis and phpsess, and linking is what a 2-core machine waits for.
//! Run one module with `cargo test -p phpsess-compat --test format differential::`.

mod cli_sessions_php;
mod differential;
mod fixtures_sessions;
mod fixtures_values;
mod friendly_json_php;
mod laravel_php_oracle;
mod laravel_vectors;
mod save_path_php;
mod serde_php;
mod session_php;
