#!/usr/bin/env bash
# `make bench-axum`: the axum extractors under a closed-loop load generator. A private
# redis-server on loopback, a session logged in by real Laravel 8.83 (tests/laravel/app.php), and
# the release `phpsess-axum-example` serving it; wrk then alternates, in one run, between
#   baseline  GET /baseline?key=<the session's key>  one plain Redis GET over the same connection
#   me        GET /me with the Laravel cookie         decrypt + one GET + decode + user id
# BENCH_AXUM_ROUNDS rounds (default 5) of BENCH_AXUM_SECONDS (default 10) each, BENCH_AXUM_CONNECTIONS
# (default 32) connections on one wrk thread. Prints a markdown table on stdout (progress on
# stderr): requests/s (the rounds' median), p99 and max latency, and me/baseline (the median of
# the rounds' ratios), with `uptime`, and the service's CPU time per request (/proc/PID/stat),
# which a busy machine disturbs less than requests/s.
set -euo pipefail

cd "$(dirname "$0")/.."
rounds="${BENCH_AXUM_ROUNDS:-5}"
seconds="${BENCH_AXUM_SECONDS:-10}"
connections="${BENCH_AXUM_CONNECTIONS:-32}"
target="${CARGO_TARGET_DIR:-target}"
app_key="base64:TG23CjBnP0f0umrjyP4wJVoseQDrUVPlKRTDmnYlKjI="

command -v wrk >/dev/null || { echo "bench-axum: wrk is not installed (scripts/install-deps.sh test wrk)" >&2; exit 1; }
cargo build --release -q -p phpsess-axum-example
service="$target/release/phpsess-axum-example"

work="$(mktemp -d)"
port=""
service_pid=""
cleanup() {
  if [ -n "$service_pid" ]; then kill "$service_pid" 2>/dev/null || true; fi
  if [ -n "$port" ]; then redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    shuf -i 20000-60000 -n 1
}
port="$(free_port)"
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" \
  --logfile "$work/redis.log" --daemonize yes --pidfile "$work/redis.pid"
for _ in $(seq 50); do
  [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done

# A real Laravel login: the cookie as the browser sends it, and the session's Redis key.
login="$(php -d zend.assertions=1 -d assert.exception=1 tests/laravel/app.php \
  "{\"port\":$port,\"app_key\":\"$app_key\",\"cipher\":\"aes-256-cbc\",\"encrypt\":false,\"action\":\"login\",\"cookie\":null}")"
read -r cookie id < <(php -r '$j = json_decode($argv[1], true);
  $v = explode(";", substr($j["set_cookie"], strlen("laravel_session=")))[0];
  echo $v, " ", $j["session_id"], "\n";' "$login")
key="laravel_database_laravel_cache:$id"

hport="$(free_port)"
"$service" --listen "127.0.0.1:$hport" --save-path "tcp://127.0.0.1:$port" \
  --app-key "$app_key" --laravel-version 8 --app-name Laravel >"$work/service.log" 2>&1 &
service_pid=$!
for _ in $(seq 100); do
  curl -s -o /dev/null "http://127.0.0.1:$hport/baseline?key=x" && break
  sleep 0.05
done
me="$(curl -s -b "laravel_session=$cookie" "http://127.0.0.1:$hport/me")"
[ "$me" = '{"user_id":42}' ] || { echo "bench-axum: GET /me answered $me" >&2; cat "$work/service.log" >&2; exit 1; }
base="$(curl -s "http://127.0.0.1:$hport/baseline?key=$key")"
case "$base" in '{"bytes":'*) ;; *) echo "bench-axum: GET /baseline answered $base" >&2; exit 1 ;; esac

# wrk's Lua hook sets the cookie for /me; the baseline sends none.
cat >"$work/me.lua" <<EOF
wrk.headers["Cookie"] = "laravel_session=$cookie"
EOF

# run NAME PATH [LUA]: one wrk round; prints "rps p99_ms max_ms".
to_ms() { # 1.23ms / 456.00us / 1.20s -> milliseconds
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'
}
# CPU time (user + system, in clock ticks) the service has used so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$service_pid/stat"; }
run() {
  local path=$1 lua=${2:-}
  local out before after
  before="$(cpu_ticks)"
  out="$(wrk -t1 -c"$connections" -d"${seconds}s" --latency ${lua:+-s "$lua"} "http://127.0.0.1:$hport$path")"
  after="$(cpu_ticks)"
  if echo "$out" | grep -q "Non-2xx"; then echo "bench-axum: non-2xx answers on $path:" >&2; echo "$out" >&2; exit 1; fi
  local rps p99 max
  rps="$(echo "$out" | awk '/^Requests\/sec/ { print $2 }')"
  p99="$(echo "$out" | awk '$1 == "99%" { print $2 }')"
  max="$(echo "$out" | awk '$1 == "Latency" { print $4; exit }')"
  local requests cpu_us
  requests="$(echo "$out" | awk '/requests in/ { print $1 }')"
  cpu_us="$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"
  echo "$rps $(to_ms "$p99") $(to_ms "$max") $cpu_us"
}

echo "bench-axum: warm-up" >&2
wrk -t1 -c"$connections" -d2s "http://127.0.0.1:$hport/baseline?key=$key" >/dev/null
wrk -t1 -c"$connections" -d2s -s "$work/me.lua" "http://127.0.0.1:$hport/me" >/dev/null

declare -a base_rows me_rows
for r in $(seq "$rounds"); do
  echo "bench-axum: round $r/$rounds" >&2
  base_rows+=("$(run "/baseline?key=$key")")
  me_rows+=("$(run /me "$work/me.lua")")
done
load="$(uptime | sed 's/.*load average: //')"

# median of req/s and of p99 over the rounds; the worst max.
summary() {
  local rps p99 max
  rps="$(printf '%s\n' "$@" | awk '{ print $1 }' | sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", v[int((NR + 1) / 2)] }')"
  p99="$(printf '%s\n' "$@" | awk '{ print $2 }' | sort -n | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] }')"
  max="$(printf '%s\n' "$@" | awk '$3 > m { m = $3 } END { printf "%.2f", m }')"
  cpu="$(printf '%s\n' "$@" | awk '{ print $4 }' | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] }')"
  echo "$rps $p99 $max $cpu"
}
read -r b_rps b_p99 b_max b_cpu <<<"$(summary "${base_rows[@]}")"
read -r m_rps m_p99 m_max m_cpu <<<"$(summary "${me_rows[@]}")"
# The ratio per round (each /me round next to the baseline round just before it, so a load change
# on this shared machine moves both), then the median of those.
ratio="$(for i in "${!base_rows[@]}"; do
  awk -v m="${me_rows[$i]%% *}" -v b="${base_rows[$i]%% *}" 'BEGIN { printf "%.4f\n", m / b }'
done | sort -n | awk '{ r[NR] = $1 } END { printf "%.0f%%", 100 * r[int((NR + 1) / 2)] }')"
per_round="$(for i in "${!base_rows[@]}"; do
  awk -v m="${me_rows[$i]%% *}" -v b="${base_rows[$i]%% *}" 'BEGIN { printf "%.0f%% ", 100 * m / b }'
done)"

echo "| route | what it does | req/s (median of $rounds rounds) | p99 ms (median) | max ms (worst) | service CPU µs/request (median) |"
echo "|---|---|---:|---:|---:|---:|"
echo "| \`GET /baseline\` | one plain Redis \`GET\` of the session key, same connection | $b_rps | $b_p99 | $b_max | $b_cpu |"
echo "| \`GET /me\` (Laravel cookie) | \`LaravelSession\`: decrypt cookie, one \`GET\`, decode, \`web_user_id()\` | $m_rps | $m_p99 | $m_max | $m_cpu |"
echo
echo "\`/me\` = $ratio of the baseline's requests/s (median of the rounds' ratios: $per_round)."
echo "wrk 1 thread, $connections connections, $rounds x ${seconds}s per route, alternating; load average at the end: $load; $(nproc) cores."
echo "Rounds (req/s p99 max cpu): baseline ${base_rows[*]} | me ${me_rows[*]}" >&2
