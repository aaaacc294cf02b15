#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/, outside the workspace) for FUZZ_SECONDS each (default 60)
# and prints the executions per target. Seeds committed in fuzz/seeds/<target>/ are copied into a
# scratch corpus (fuzz/corpus/<target>/, not committed) that grows across runs; crashes land in
# fuzz/artifacts/<target>/. Exits non-zero if any target found a crash.
#
# Usage: scripts/fuzz.sh [target ...]     (default: all targets)
# Environment: FUZZ_SECONDS (per target), FUZZ_ARGS (extra libFuzzer flags, e.g. "-max_len=8192").
#
# Stable toolchain only on our machines: libFuzzer's flags (-Zsanitizer, sancov) are nightly-only,
# so RUSTC_BOOTSTRAP=1 unlocks them on stable.
set -euo pipefail

cd "$(dirname "$0")/../fuzz"
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
read -r -a extra_args <<<"${FUZZ_ARGS:-}"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz" >&2
  cargo install cargo-fuzz
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi

# Build every target once up front, so the runs below spend their time fuzzing, not compiling.
cargo fuzz build

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus=corpus/$t
  mkdir -p "$corpus"
  if [ -d "seeds/$t" ]; then
    cp -n seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  fi
  echo "fuzz: $t for ${FUZZ_SECONDS}s (corpus $corpus: $(ls "$corpus" | wc -l) inputs)" >&2
  status=0
  cargo fuzz run "$t" "$corpus" -- -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 \
    "${extra_args[@]}" >"$logs/$t" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t" | tail -n 1)
  if [ "$status" -eq 0 ]; then
    result=ok
  else
    result="CRASH (exit $status)"
    failed+=("$t")
    grep -E "panicked at|^SUMMARY|Test unit written to" "$logs/$t" | head -n 5 >&2 || true
    cp "$logs/$t" "artifacts/$t.log" 2>/dev/null || true
  fi
  summary+=("$(printf '%-16s %12s execs %8s exec/s  corpus %5s  %s' "$t" "${execs:-?}" "${rate:-?}" \
    "$(ls "$corpus" | wc -l)" "$result")")
done

echo
echo "fuzz: ${FUZZ_SECONDS}s per target"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]}; inputs in fuzz/artifacts/, logs in fuzz/artifacts/<target>.log" >&2
  exit 1
fi
