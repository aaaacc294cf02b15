#!/usr/bin/env bash
# Instructions per operation, PHP against phpsess, counted by valgrind's callgrind: unlike
# wall-clock time these do not move with the machine's load, so they back the timed table of
# scripts/bench-format.sh. Each program runs twice (N and 2N iterations) and the difference
# divided by N is the cost of one operation, start-up cancelled out.
#
# Prints a markdown table: PHP unserialize vs Document::parse and unserialize (owned Value),
# PHP serialize vs serialize, with ratios (PHP instructions / ours: above 1, ours are fewer).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
payloads=${PHPSESS_BENCH_PAYLOADS:-$root/target/bench-payloads}

php -n bench/payloads.php "$payloads" >/dev/null
cargo build --release -q -p phpsess --example format_loop
rust_loop=$target/release/examples/format_loop

# instructions <command...>: total instructions callgrind counted.
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# per_op <n> <command...> (the command takes the iteration count last)
per_op() {
  local n=$1
  shift
  local a b
  a=$(instructions "$@" "$n")
  b=$(instructions "$@" "$((2 * n))")
  echo $(((b - a) / n))
}

ratio() { awk -v p="$1" -v o="$2" 'BEGIN { printf "%.2fx", p / o }'; }

echo "| payload | PHP unserialize | Document::parse | ratio | unserialize (owned) | ratio | PHP serialize | serialize | ratio |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for spec in laravel:2000 cart:50 large:2; do
  name=${spec%%:*}
  n=${spec##*:}
  file=$payloads/$name.ser
  php_dec=$(per_op "$n" php -n bench/php_loop.php unserialize "$file")
  doc=$(per_op "$n" "$rust_loop" document "$file")
  owned=$(per_op "$n" "$rust_loop" unserialize "$file")
  php_enc=$(per_op "$n" php -n bench/php_loop.php serialize "$file")
  enc=$(per_op "$n" "$rust_loop" serialize "$file")
  echo "| $name | $php_dec | $doc | $(ratio "$php_dec" "$doc") | $owned | $(ratio "$php_dec" "$owned") | $php_enc | $enc | $(ratio "$php_enc" "$enc") |"
done
echo
echo "Instructions per operation (callgrind, $(valgrind --version), PHP $(php -n -r 'echo PHP_VERSION;') as \`php -n\`)."
echo "Reproduce: make bench-callgrind   (or scripts/bench-callgrind.sh)"
