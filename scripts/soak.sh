#!/usr/bin/env bash
# The fault suite (issue 9): php-fpm behind nginx under load with many sessions while Redis stalls,
# restarts with AOF (SHUTDOWN and kill -9), fails over under Sentinel (planned and kill -9) and
# loses a Redis Cluster master (kill -9),
# plus a leak run; phpsess side by side with phpredis (no lock, lock) where phpredis can run the
# same scenario. Prints a markdown table; progress on stderr. Not part of `make test`.
#
# Environment (see tests/src/bin/soak.rs): SOAK_SESSIONS, SOAK_WORKERS, SOAK_CONNECTIONS,
# SOAK_AFTER, SOAK_LEAK_REQUESTS (200000 for a release check), SOAK_SCENARIOS.
set -euo pipefail

cd "$(dirname "$0")/.."

make --no-print-directory ext >&2
cargo build --release -q -p phpsess-compat --bin soak
PHPSESS_EXT="$PWD/target/php/phpsess.so" exec "${CARGO_TARGET_DIR:-target}/release/soak"
