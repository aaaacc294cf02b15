#!/usr/bin/env bash
# The format benchmark side by side with PHP, in one run:
#   1. write the payloads with PHP's own serialize() (bench/payloads.php, deterministic),
#   2. time phpsess::unserialize / serialize on them (criterion, crates/phpsess/benches/format.rs),
#   3. time PHP's unserialize() / serialize() on the same files (bench/php_format.php), once
#      before and once after criterion,
#   4. print one markdown table of means and ratios (PHP time / phpsess time), taking for PHP the
#      faster of its two runs, and how much the two PHP runs differed.
# The machines are noisy: compare ratios from one run, not absolute numbers across runs.
#
# Environment: PHPSESS_BENCH_PAYLOADS (default target/bench-payloads), PHP_SECONDS (measuring time
# per PHP payload and operation and run, default 2), CRITERION_ARGS (default: 1 s warm-up, 3 s measurement).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
export PHPSESS_BENCH_PAYLOADS=${PHPSESS_BENCH_PAYLOADS:-$root/target/bench-payloads}
# Criterion writes here (it would pick $CARGO_TARGET_DIR/criterion too); pinned so we know where to read.
export CRITERION_HOME=$target/criterion
PHP_SECONDS=${PHP_SECONDS:-2}
read -r -a criterion_args <<<"${CRITERION_ARGS:---warm-up-time 1 --measurement-time 3}"

php -n bench/payloads.php "$PHPSESS_BENCH_PAYLOADS"

# Build first so compile time never eats into a measurement and a build failure stops us early.
cargo bench -p phpsess --bench format --no-run

php_before=$(mktemp)
php_after=$(mktemp)
trap 'rm -f "$php_before" "$php_after"' EXIT
php -n bench/php_format.php "$PHPSESS_BENCH_PAYLOADS" --seconds="$PHP_SECONDS" >"$php_before"

started=$(date +%s)
cargo bench -p phpsess --bench format -- "${criterion_args[@]}"

php -n bench/php_format.php "$PHPSESS_BENCH_PAYLOADS" --seconds="$PHP_SECONDS" >"$php_after"

echo
echo "## Format benchmark: phpsess vs PHP $(php -n -r 'echo PHP_VERSION;')"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(rustc --version); PHP run as \`php -n\`;" \
  "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
echo
php -n bench/table.php "$CRITERION_HOME" "$started" "$php_before" "$php_after"
echo
echo "Reproduce: make bench   (or scripts/bench-format.sh)"
