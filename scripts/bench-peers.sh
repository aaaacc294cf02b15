#!/usr/bin/env bash
# phpsess against every Rust crate that reads PHP's serialize format (bench/peers: phpserz,
# php_serde, serde_php, muesli, php-deserialize-core, versions pinned there), on the five payloads
# bench/payloads.php writes with real PHP, path by path:
#   typed_owned / typed_borrowed  serde into the payload's struct, String / &str fields
#   tree                          a tree of the whole value (phpsess: owned Value; muesli: its
#                                 borrowed tree; php-deserialize-core: its tree)
#   document                      phpsess's Document::parse against the peers' fastest full decode
#   encode                        a decoded tree back to bytes
# Prints two markdown tables: instructions per operation under callgrind (load-independent, the
# evidence), then criterion's mean times from one run (noisy on a shared machine: read the
# ratios). Ratio = best peer / phpsess: above 1, phpsess is faster. PHP's own unserialize() and
# serialize() are in the callgrind table as a yardstick.
#
# Environment: PHPSESS_BENCH_PAYLOADS (default target/bench-payloads), PEERS_CRITERION=0 to skip
# the timed run.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
# Absolute paths, exported: cargo builds bench/peers (its own workspace) into bench/peers/target
# unless told otherwise, and runs the criterion bench from bench/peers, where a relative
# CRITERION_HOME or payload directory names other directories than this script reads (the
# criterion table came out empty with a relative CARGO_TARGET_DIR).
target=$(realpath -m "${CARGO_TARGET_DIR:-$root/target}")
export CARGO_TARGET_DIR=$target
PHPSESS_BENCH_PAYLOADS=$(realpath -m "${PHPSESS_BENCH_PAYLOADS:-$root/target/bench-payloads}")
export PHPSESS_BENCH_PAYLOADS
export CRITERION_HOME=$target/criterion-peers
manifest=bench/peers/Cargo.toml
crates=(phpsess phpserz php_serde serde_php muesli php-deserialize-core)
paths=(typed_owned typed_borrowed tree document encode)
payloads=(laravel:2000 cart:50 objects:50 large:2 refs:2000)

php -n bench/payloads.php "$PHPSESS_BENCH_PAYLOADS" >/dev/null
cargo build --release -q --manifest-path "$manifest" --bin peer_loop
peer_loop=$target/release/peer_loop

instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

# per_op <n> <command...>: instructions of one operation: a run of n operations less a run of
# none (start-up alone). Not n against 2n as bench-callgrind.sh does: phpsess seeds its key-set hash
# per process, and the difference of two processes' seed-dependent costs would be amplified.
per_op() {
  local n=$1
  shift
  local a b
  a=$(instructions "$@" 0)
  b=$(instructions "$@" "$n")
  echo $(((b - a) / n))
}

ratio() { awk -v p="$1" -v o="$2" 'BEGIN { printf "%.2fx", p / o }'; }

echo "## phpsess and its peers: instructions per operation (callgrind)"
echo
echo "| path | payload | phpsess | best peer | ratio | PHP | all peers |"
echo "|---|---|---:|---|---:|---:|---|"
for path in "${paths[@]}"; do
  for spec in "${payloads[@]}"; do
    payload=${spec%%:*}
    n=${spec##*:}
    file=$PHPSESS_BENCH_PAYLOADS/$payload.ser
    # No struct is written for the 1 MB and references payloads: they are for trees and Document.
    if [[ $path == typed_* ]]; then
      case $payload in large | refs) continue ;; esac
    fi
    ours=
    best=
    best_name=
    all=()
    for krate in "${crates[@]}"; do
      # Exit 3: the crate has no such path or cannot read this payload.
      if ! "$peer_loop" "$krate" "$path" "$payload" "$file" 1 >/dev/null 2>&1; then
        continue
      fi
      count=$(per_op "$n" "$peer_loop" "$krate" "$path" "$payload" "$file")
      if [ "$krate" = phpsess ]; then
        ours=$count
      else
        all+=("$krate $count")
        if [ -z "$best" ] || [ "$count" -lt "$best" ]; then
          best=$count
          best_name=$krate
        fi
      fi
    done
    php=
    case $path in
      tree | document) php=$(per_op "$n" php -n bench/php_loop.php unserialize "$file") ;;
      encode) php=$(per_op "$n" php -n bench/php_loop.php serialize "$file") ;;
    esac
    if [ -n "$best" ]; then
      echo "| $path | $payload | $ours | $best_name $best | $(ratio "$best" "$ours") | $php | $(IFS=,; echo "${all[*]}") |"
    else
      echo "| $path | $payload | $ours | none | | $php | |"
    fi
  done
done
echo
echo "Instructions per operation ($(valgrind --version); PHP $(php -n -r 'echo PHP_VERSION;') as \`php -n\`)."

[ "${PEERS_CRITERION:-1}" = 0 ] && exit 0

cargo bench -q --manifest-path "$manifest" --bench peers >/dev/null
echo
echo "## phpsess and its peers: criterion mean times, one run"
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(rustc --version);" \
  "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores)"
echo
php -n -r '
  [$_, $home] = $argv;
  $paths = ["typed_owned", "typed_borrowed", "tree", "document", "encode"];
  $payloads = ["laravel", "cart", "objects", "large", "refs"];
  $crates = ["phpsess", "phpserz", "php_serde", "serde_php", "muesli", "php-deserialize-core"];
  $fmt = fn(float $ns) => $ns >= 1e6 ? sprintf("%.2f ms", $ns / 1e6)
      : ($ns >= 1e3 ? sprintf("%.1f µs", $ns / 1e3) : sprintf("%.0f ns", $ns));
  echo "| path | payload | phpsess | best peer | ratio |\n|---|---|---:|---|---:|\n";
  foreach ($paths as $path) {
    foreach ($payloads as $payload) {
      $t = [];
      foreach ($crates as $c) {
        $f = "$home/$path/$c/$payload/new/estimates.json";
        if (is_file($f)) {
          $t[$c] = json_decode(file_get_contents($f), true)["mean"]["point_estimate"];
        }
      }
      if (!isset($t["phpsess"])) {
        fwrite(STDERR, "no criterion result for phpsess $path $payload under $home\n");
        continue;
      }
      $peers = $t;
      unset($peers["phpsess"]);
      if ($peers === []) {
        printf("| %s | %s | %s | none | |\n", $path, $payload, $fmt($t["phpsess"]));
        continue;
      }
      asort($peers);
      $best = array_key_first($peers);
      printf("| %s | %s | %s | %s %s | %.2fx |\n", $path, $payload, $fmt($t["phpsess"]),
        $best, $fmt($peers[$best]), $peers[$best] / $t["phpsess"]);
    }
  }
' "$CRITERION_HOME"
echo
echo "Reproduce: make bench   (or scripts/bench-peers.sh)"
