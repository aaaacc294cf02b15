#!/usr/bin/env bash
# `make demo`: a PHP app on two web servers sharing its sessions through phpsess.
#
# Builds everything, then starts on free loopback ports, in a private temporary directory:
#   - a redis-server configured as a session store (AOF everysec, maxmemory + volatile-lru, a password),
#   - two php-fpm masters ("web1", "web2") with session.save_handler = phpsess,
#   - nginx balancing requests round-robin over them,
# and walks through a scripted visit with curl (log in on one server, seen on the other, counter
# kept, what Redis holds, log out), checking every step, then `phpsess stats` and `phpsess doctor`
# on its Redis. Then it keeps serving for a browser until
# Ctrl-C; DEMO_ONESHOT=1 exits after the walk-through. Everything it started stops on exit.
#
# Templates: demo/redis.conf, demo/php-fpm.conf, demo/nginx.conf; the app: demo/app/index.php.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
php_fpm=${PHP_FPM:-php-fpm8.2}
nginx=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

say() { printf '%s\n' "$*"; }
fail() { printf 'demo: %s\n' "$*" >&2; exit 1; }

say "== building (cargo build --release, make ext)"
make --no-print-directory build ext >/dev/null
target=${CARGO_TARGET_DIR:-$root/target}
phpsess_cli=$target/release/phpsess
ext=$root/target/php/phpsess.so
[ -f "$ext" ] || fail "$ext was not built"

work=$(mktemp -d "${TMPDIR:-/tmp}/phpsess-demo.XXXXXX")
# Started as root, nginx runs its worker as nobody, which must reach its temp dirs.
chmod 755 "$work"
pids=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # Newest first: nginx, then the web servers, then Redis (SIGTERM: it flushes the AOF).
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[i]}" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$status" -ne 0 ] && [ "$status" -ne 130 ]; then
    for log in "$work"/*.log; do
      [ -s "$log" ] && { say "----- $log"; tail -n 20 "$log"; }
    done
  fi
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'say ""; say "stopping"; exit 130' INT TERM

free_port() {
  php -n -r '$s = stream_socket_server("tcp://127.0.0.1:0", $e, $m) or exit(1);
             $n = stream_socket_get_name($s, false); echo substr($n, strrpos($n, ":") + 1);'
}

# render TEMPLATE OUT KEY=VALUE...: the template with every @KEY@ replaced. Bash 5.2 would put
# the matched text in place of each '&' of a value (a save_path has some); switch that off.
shopt -u patsub_replacement 2>/dev/null || true
render() {
  local template=$1 out=$2 text
  shift 2
  text=$(<"$template")
  for kv in "$@"; do
    text=${text//@${kv%%=*}@/${kv#*=}}
  done
  printf '%s\n' "$text" >"$out"
}

# wait_for WHAT COMMAND...: polls COMMAND every 50 ms for up to 10 s.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 200); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  fail "$what did not come up"
}

redis_port=$(free_port)
web1_port=$(free_port)
web2_port=$(free_port)
http_port=$(free_port)
password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
save_path="tcp://127.0.0.1:$redis_port?auth=$password&timeout=2"

render demo/redis.conf "$work/redis.conf" "PORT=$redis_port" "DIR=$work" "PASSWORD=$password"
redis-server "$work/redis.conf" &
pids+=($!)
(umask 077; printf "%s\n" "$password" >"$work/auth")
rcli() { redis-cli -p "$redis_port" --no-auth-warning -a "$password" "$@"; }
wait_for "redis-server" sh -c "[ \"\$(redis-cli -p $redis_port --no-auth-warning -a $password ping)\" = PONG ]"

for name in web1 web2; do
  port_var=${name}_port
  render demo/php-fpm.conf "$work/$name.conf" "NAME=$name" "PORT=${!port_var}" "DIR=$work" \
    "SAVE_PATH=$save_path"
  "$php_fpm" -n -d extension=igbinary -d extension=redis -d "extension=$ext" \
    -R -F -y "$work/$name.conf" -p "$work" &
  pids+=($!)
  wait_for "php-fpm $name" grep -q "ready to handle connections" "$work/$name.log"
done

render demo/nginx.conf "$work/nginx.conf" "PORT=$http_port" "DIR=$work" "ROOT=$root/demo/app" \
  "WEB1_PORT=$web1_port" "WEB2_PORT=$web2_port"
"$nginx" -p "$work" -c "$work/nginx.conf" -e stderr &
pids+=($!)
url="http://127.0.0.1:$http_port/"
wait_for "nginx" curl -sf -o /dev/null "$url"

say ""
say "phpsess demo: one PHP app on two web servers, one session store"
say ""
say "  Redis   127.0.0.1:$redis_port  AOF everysec, maxmemory 64mb volatile-lru, password"
say "  web1    php-fpm 127.0.0.1:$web1_port  session.save_handler = phpsess"
say "  web2    php-fpm 127.0.0.1:$web2_port  session.save_handler = phpsess"
say "  nginx   $url  round-robin over web1 and web2"
say "  save_path  tcp://127.0.0.1:$redis_port?auth=<password>&timeout=2"
say "  password   in $work/auth (phpsess --auth-file; README, \"A Rust service beside the app\")"
say ""

jar=$work/cookies.txt
step=0
# visit DESCRIPTION CURL-ARGS...: one request of the scripted visit (JSON view), its state in $state.
visit() {
  local what=$1
  shift
  step=$((step + 1))
  state=$(curl -sf -b "$jar" -c "$jar" "$@" "${url}?format=json") || fail "step $step ($what): request failed"
  printf '  %d. %-28s -> served by %s: %s\n' "$step" "$what" "$(field server)" "$(describe)"
}
field() {
  php -n -r '$s = json_decode($argv[1], true); $v = $s[$argv[2]] ?? null;
             echo is_array($v) ? json_encode($v) : var_export($v, true);' "$state" "$1" | tr -d "'"
}
describe() {
  if [ "$(field user)" = NULL ]; then
    echo "not logged in"
  else
    echo "logged in as $(field user) (on $(field logged_in_on)), counter $(field count)"
  fi
}
expect() {
  [ "$(field "$1")" = "$2" ] || fail "step $step: $1 is $(field "$1"), expected $2"
}

say "A scripted visit (curl with a cookie jar, as a browser):"
visit "log in as ada" -d action=login -d user=ada
expect user ada
expect count 0
first=$(field server)
visit "look at the page"
expect user ada
[ "$(field server)" != "$first" ] || fail "step $step: nginx sent both requests to $first"
session_id=$(field session_id)
for _ in 1 2 3; do
  visit "count" -d action=count
done
expect count 3
visit "look again"
expect count 3

key="PHPREDIS_SESSION:$session_id"
say ""
say "What Redis holds for this session (key PHPREDIS_SESSION:${session_id:0:6}..., TTL $(rcli TTL "$key") s):"
rcli --raw GET "$key" | head -c -1 | "$phpsess_cli" decode --format php --compact | sed 's/^/  /'
say "  lock keys held right now: $(rcli --scan --pattern '*_LOCK' | wc -l)"
say ""

say "A second device (another cookie jar) logs in as ada; the index knows both sessions:"
laptop=$jar
jar=$work/phone.txt
visit "phone: log in as ada" -d action=login -d user=ada
devices() { php -n -r 'echo count(json_decode($argv[1], true)["devices"]);' "$state"; }
[ "$(devices)" = 2 ] || fail "step $step: the index lists $(devices) sessions for ada, expected 2"
say "     ada's sessions: $(devices)   (phpsess sessions --user ada:)"
"$phpsess_cli" sessions --save-path "tcp://127.0.0.1:$redis_port" --auth-file "$work/auth" --user ada | sed 's/^/       /'
visit "phone: log out elsewhere" -d action=logout_others
expect ended 1
jar=$laptop
visit "laptop: look again"
expect user NULL
[ "$(rcli EXISTS "$key")" = 0 ] || fail "the laptop's session is still in Redis after 'log out everywhere else'"
jar=$work/phone.txt
visit "phone: log out" -d action=logout
expect user NULL
visit "phone: look again"
expect user NULL
say ""
say "Every step as expected: the session followed the visitor from one web server to the other,"
say "and 'log out everywhere else' ended the other device's session for good."

# What an operator sees: the store's numbers, and whether this Redis is fit to hold sessions.
visit "log in again, for the numbers below" -d action=login -d user=grace
expect user grace
say ""
say "== phpsess stats"
"$phpsess_cli" stats --save-path "$save_path" | sed 's/^/  /'
say ""
say "== phpsess doctor"
"$phpsess_cli" doctor --save-path "$save_path" | sed 's/^/  /' ||
  fail "phpsess doctor found a problem with the demo's Redis"

if [ "${DEMO_ONESHOT:-0}" = 1 ]; then
  exit 0
fi
say ""
say "Open $url in a browser (reload to see both servers). Ctrl-C stops everything."
wait
