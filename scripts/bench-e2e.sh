#!/usr/bin/env bash
# The end-to-end benchmark: phpsess vs phpredis 5.3.7 on one redis-server, same 1 KiB session,
# locking on and off, in a PHP CLI loop and in php-fpm behind nginx under a load generator, on
# loopback and through a proxy delaying every Redis reply by 1 ms. Prints a markdown table
# (requests/s, p50/p99, Redis commands and round trips per request) and whether the goals are met;
# progress goes to stderr. Takes about 5 minutes with the defaults.
#
# Environment (see tests/src/bin/bench-e2e.rs): BENCH_SECONDS, BENCH_WARMUP, BENCH_ROUNDS,
# BENCH_WORKERS, BENCH_CONNECTIONS, BENCH_DELAY_MS, BENCH_COUNT, BENCH_RUNNERS, and
# BENCH_PHPSESS_INI="name=value,..." for phpsess's rows (e.g. phpsess.lock_queue=0).
# The machines are shared and noisy: compare the ratios of one run, not numbers across runs.
set -euo pipefail

cd "$(dirname "$0")/.."

# Build first, so compile time never eats into a measurement and a failure stops us early.
make --no-print-directory ext >&2
cargo build --release -q -p phpsess-compat --bin bench-e2e
PHPSESS_EXT="$PWD/target/php/phpsess.so" exec "${CARGO_TARGET_DIR:-target}/release/bench-e2e"
