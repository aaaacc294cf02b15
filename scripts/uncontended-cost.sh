#!/usr/bin/env bash
# What the lock queue costs a request nobody contends for, measured so that the machine's load
# cannot hide it: instructions (valgrind's callgrind) executed by redis-server and by PHP per
# uncontended locked request (`bench/e2e/cli_loop.php`: session_start, count, write, close on one
# session), the Redis commands per request (INFO commandstats, the scripts' inner commands
# included), and an interleaved A/B of requests/s and CPU time per request — for a build from
# before the queue and for this one with `phpsess.lock_queue=1` and `=0`.
#
# usage: COST_BASE_EXT=/path/pre-queue/phpsess.so COST_EXT=/path/phpsess.so scripts/uncontended-cost.sh
# Environment: COST_N (requests per instruction count, default 2000), COST_ROUNDS (A/B rounds,
# default 7), COST_AB_COUNT (requests per A/B round, default 20000), COST_OTHER_EXT and COST_OTHER_NAME
# (one more build, with lock_queue=1). Needs valgrind, perf, redis-server, php, jq.
# Prints markdown to stdout, progress to stderr.
set -euo pipefail

cd "$(dirname "$0")/.."
base_ext=${COST_BASE_EXT:?the pre-queue build of the extension (.so)}
ext=${COST_EXT:?this build of the extension (.so)}
n=${COST_N:-2000}
rounds=${COST_ROUNDS:-7}
loop="$PWD/bench/e2e/cli_loop.php"
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    local p
    while :; do
        p=$(shuf -i 20000-60000 -n 1)
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

# start_redis PORT [valgrind args…]: a throwaway redis-server (no persistence, hz 1 so that its
# timer does little between requests), ready when it answers PING.
start_redis() {
    local port=$1
    shift
    "$@" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --hz 1 \
        --dir "$work" >"$work/redis-$port.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 1 600); do
        redis-cli -p "$port" ping >/dev/null 2>&1 && return
        sleep 0.1
    done
    echo "redis-server on $port did not start" >&2
    exit 1
}

# php_loop EXT LOCK_QUEUE PORT ID COUNT [valgrind args…]: COUNT requests in one PHP process.
php_loop() {
    local so=$1 queue=$2 port=$3 id=$4 count=$5
    shift 5
    "$@" php -n -d "extension=$so" -d session.save_handler=phpsess \
        -d "session.save_path=tcp://127.0.0.1:$port" -d "phpsess.lock_queue=$queue" \
        -d session.use_strict_mode=0 "$loop" "$id" count "$count" >/dev/null
}

# The total instructions in a callgrind output file.
instructions() {
    awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

# Commands Redis ran since CONFIG RESETSTAT (the scripts' inner commands included), without the
# measurement's own CONFIG and INFO.
calls() {
    redis-cli -p "$1" info commandstats | tr -d '\r' |
        awk -F'[=,:]' '/^cmdstat_/ && !/^cmdstat_(config|info)/ { total += $3 } END { print total + 0 }'
}

configs=("pre-queue build|$base_ext|0")
if [ -n "${COST_OTHER_EXT:-}" ]; then
    configs+=("${COST_OTHER_NAME:-other build}|$COST_OTHER_EXT|1")
fi
configs+=("this build, lock_queue=0|$ext|0" "this build, lock_queue=1|$ext|1")

# Redis's side: one redis-server under callgrind; counters zeroed after a warm-up, dumped after
# N requests, so the figure is those N requests' work and nothing else.
vport=$(free_port)
echo "redis-server under callgrind on $vport" >&2
start_redis "$vport" valgrind --tool=callgrind --callgrind-out-file="$work/redis.out" -q
vpid=${pids[-1]}
# The plain server PHP's own measurement talks to.
pport=$(free_port)
start_redis "$pport"

declare -A redis_ir php_ir cmds
for cfg in "${configs[@]}"; do
    IFS='|' read -r name so queue <<<"$cfg"
    id="cost$RANDOM$RANDOM"
    echo "$name: redis-server side" >&2
    php_loop "$so" "$queue" "$vport" "$id" 50
    redis-cli -p "$vport" config resetstat >/dev/null
    callgrind_control -z "$vpid" >/dev/null
    php_loop "$so" "$queue" "$vport" "$id" "$n"
    before=$(ls "$work"/redis.out* | wc -l)
    callgrind_control -d "$vpid" >/dev/null
    for _ in $(seq 1 100); do
        [ "$(ls "$work"/redis.out* | wc -l)" -gt "$before" ] && break
        sleep 0.1
    done
    dump=$(ls -t "$work"/redis.out* | head -1)
    redis_ir[$name]=$(instructions "$dump")
    cmds[$name]=$(calls "$vport")
    echo "$name: PHP side" >&2
    php_loop "$so" "$queue" "$pport" "$id-p" 50
    php_loop "$so" "$queue" "$pport" "$id-p" "$n" valgrind --tool=callgrind -q \
        --callgrind-out-file="$work/php-1.out"
    php_loop "$so" "$queue" "$pport" "$id-p" $((2 * n)) valgrind --tool=callgrind -q \
        --callgrind-out-file="$work/php-2.out"
    php_ir[$name]=$(($(instructions "$work/php-2.out") - $(instructions "$work/php-1.out")))
done

echo "### Instructions per uncontended locked request ($n requests; \`$0\`)"
echo
echo "| build | redis-server instructions/req | vs pre-queue | PHP process instructions/req | vs pre-queue | Redis commands/req |"
echo "|---|---:|---:|---:|---:|---:|"
b_redis=$(( ${redis_ir["pre-queue build"]} / n ))
b_php=$(( ${php_ir["pre-queue build"]} / n ))
for cfg in "${configs[@]}"; do
    IFS='|' read -r name _ _ <<<"$cfg"
    r=$(( ${redis_ir[$name]} / n ))
    p=$(( ${php_ir[$name]} / n ))
    c=$(awk -v c="${cmds[$name]}" -v n="$n" 'BEGIN { printf "%.2f", c / n }')
    rv=$(awk -v a="$r" -v b="$b_redis" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }')
    pv=$(awk -v a="$p" -v b="$b_php" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }')
    echo "| $name | $r | $rv | $p | $pv | $c |"
done

# Wall clock and CPU time: the builds take turns, ROUNDS times, on one plain redis-server, each
# running COST_AB_COUNT requests. Requests/s moves with whatever else the machine runs; the CPU
# time each request costs (the PHP process's task-clock from `perf stat`, redis-server's user+sys
# from INFO cpu) moves much less, because waiting for a CPU is not counted.
ab_count=${COST_AB_COUNT:-20000}
redis_cpu() {
    redis-cli -p "$1" info cpu | tr -d '\r' |
        awk -F: '/^used_cpu_(user|sys):/ { t += $2 } END { printf "%.6f", t }'
}
echo >&2 "interleaved A/B: $rounds rounds of $ab_count requests"
declare -A rps php_us redis_us
for r in $(seq 1 "$rounds"); do
    for cfg in "${configs[@]}"; do
        IFS='|' read -r name so queue <<<"$cfg"
        id="ab$r$RANDOM"
        php_loop "$so" "$queue" "$pport" "$id" 50
        r0=$(redis_cpu "$pport")
        out=$(perf stat -x, -e task-clock -o "$work/time" php -n -d "extension=$so" \
            -d session.save_handler=phpsess -d "session.save_path=tcp://127.0.0.1:$pport" \
            -d "phpsess.lock_queue=$queue" "$loop" "$id" count "$ab_count")
        r1=$(redis_cpu "$pport")
        v=$(jq -r '.requests / .seconds' <<<"$out")
        p=$(awk -F, -v n="$ab_count" '/task-clock/ { printf "%.3f", $1 * 1e3 / n }' "$work/time")
        q=$(awk -v a="$r0" -v b="$r1" -v n="$ab_count" 'BEGIN { printf "%.3f", (b - a) * 1e6 / n }')
        rps[$name]="${rps[$name]:-} $v"
        php_us[$name]="${php_us[$name]:-} $p"
        redis_us[$name]="${redis_us[$name]:-} $q"
        echo "round $r $name: $v req/s, PHP $p us/req, redis $q us/req" >&2
    done
done
load=$(cut -d' ' -f1-3 /proc/loadavg)
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo
echo "### php-cli loop, loopback, $rounds interleaved rounds of $ab_count requests (load average at the end $load)"
echo
echo "| build | median req/s | min–max | vs pre-queue | median CPU µs/req, PHP | vs pre-queue | median CPU µs/req, redis-server | vs pre-queue |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
base_rps=$(median "${rps["pre-queue build"]}")
base_php=$(median "${php_us["pre-queue build"]}")
base_redis=$(median "${redis_us["pre-queue build"]}")
for cfg in "${configs[@]}"; do
    IFS='|' read -r name _ _ <<<"$cfg"
    m=$(median "${rps[$name]}")
    lo=$(tr ' ' '\n' <<<"${rps[$name]}" | grep . | sort -g | head -1)
    hi=$(tr ' ' '\n' <<<"${rps[$name]}" | grep . | sort -g | tail -1)
    p=$(median "${php_us[$name]}")
    q=$(median "${redis_us[$name]}")
    awk -v name="$name" -v m="$m" -v lo="$lo" -v hi="$hi" -v b="$base_rps" -v p="$p" -v bp="$base_php" \
        -v q="$q" -v bq="$base_redis" 'BEGIN {
            printf "| %s | %.0f | %.0f–%.0f | %+.1f%% | %.2f | %+.1f%% | %.2f | %+.1f%% |\n",
                name, m, lo, hi, (m / b - 1) * 100, p, (p / bp - 1) * 100, q, (q / bq - 1) * 100
        }'
done
