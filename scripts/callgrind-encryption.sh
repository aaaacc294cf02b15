#!/usr/bin/env bash
# Instruction counts (valgrind --tool=callgrind) of encryption at rest in the PHP process: the
# benchmark's CLI loop (bench/e2e/cli_loop.php, 1 KiB session, locking on) for 1 and for N
# requests, phpsess plain, with phpsess.encryption=on, and with phpsess.hash_ids=1 too, against a redis-server on a free port.
# Prints instructions per request (the N-request run minus the 1-request run, over N-1) and the
# inclusive instructions per call of Encryption::seal and Encryption::open. Deterministic where
# req/s on a shared machine is not. Needs `make ext` (target/php/phpsess.so) and valgrind.
# usage: scripts/callgrind-encryption.sh [N]   (default 400)
set -euo pipefail
cd "$(dirname "$0")/.."
SO="$PWD/target/php/phpsess.so"
LOOP="$PWD/bench/e2e/cli_loop.php"
N="${1:-400}"
OUT="$(mktemp -d)"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --dir "$OUT" >"$OUT/redis.log" 2>&1 &
RPID=$!
trap 'kill $RPID; rm -rf "$OUT"' EXIT
for _ in $(seq 50); do redis-cli -p "$PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
KEY='base64:QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI='  # a benchmark's key, 32 bytes 0x42
common=(-n -d "extension=$SO" -d session.save_handler=phpsess
        -d "session.save_path=tcp://127.0.0.1:$PORT" -d phpsess.locking_enabled=1)
total() { grep -m1 '^summary:' "$1" | awk '{print $2}'; }
for mode in plain encrypted hashed_ids; do
  extra=()
  [ "$mode" != plain ] && extra=(-d phpsess.encryption=on -d "phpsess.encryption_key=\"$KEY\"")
  [ "$mode" = hashed_ids ] && extra+=(-d phpsess.hash_ids=1)
  for n in 1 "$N"; do
    valgrind -q --tool=callgrind --callgrind-out-file="$OUT/$mode.$n" \
      php "${common[@]}" "${extra[@]}" "$LOOP" "cg${mode//_/}" count "$n" >/dev/null
  done
  per=$(( ($(total "$OUT/$mode.$N") - $(total "$OUT/$mode.1")) / (N - 1) ))
  echo "$mode: $per instructions per request (PHP process)"
done
callgrind_annotate --inclusive=yes "$OUT/encrypted.$N" 2>/dev/null \
  | grep -E 'envelope::Encryption::(seal|open) ' \
  | awk -v n="$N" '{gsub(",","",$1); f=$(NF-1); sub(/^[?]+:/,"",f); print f ": " int($1 / n) " instructions per call"}'
