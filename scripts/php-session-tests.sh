#!/usr/bin/env bash
# PHP's own ext/session tests (PHP 8.2) run twice with PHP's run-tests.php: once with the `files`
# handler, once with `session.save_handler = phpsess` against a private redis-server on a free
# loopback port. Every test that passes with `files` must pass with phpsess, except those listed in
# tests/php-session-tests.exclude (tests about the files handler or user handlers themselves).
#
# The tests are not ours, so they are never committed: they are fetched from Debian's php8.2 source
# package (a private apt sources list with deb-src lines; the system's apt configuration is left
# alone), with php-cgi from php8.2-cgi for the --COOKIE--/--GET-- tests, and cached under
# $PHP_SESSION_TESTS_CACHE (default: <target dir>/php-session-tests).
#
# Environment: PHPSESS_EXT (the extension to load; default: `cargo build -p phpsess-ext`),
# PHP (default php), JOBS (run-tests.php -j, default 2), KEEP=1 keeps the run directory.
# Exit status: 0 when every test that passes with files passes with phpsess (exclusions aside).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
cache="${PHP_SESSION_TESTS_CACHE:-$target/php-session-tests}"
php="${PHP:-php}"
jobs="${JOBS:-2}"
exclude_file="$root/tests/php-session-tests.exclude"
start_time=$(date +%s)

log() { echo "php-session-tests: $*" >&2; }

# --- 1. PHP's tests and php-cgi, fetched once ----------------------------------------------------
fetch() {
  local apt="$cache/apt" dl="$cache/download"
  mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dl"
  cat >"$apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian-security bookworm-security main
deb-src http://deb.debian.org/debian-security bookworm-security main
EOF
  local opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1
    -o Acquire::Languages=none -qq)
  log "fetching Debian's php8.2 source package (private apt lists in $apt)"
  apt-get "${opts[@]}" update
  # The newest version listed may not be on the mirror yet: take the newest that downloads.
  local versions version=""
  versions=$(apt-cache "${opts[@]}" showsrc php8.2 | sed -n 's/^Version: //p' | sort -rV | uniq)
  for v in $versions; do
    if (cd "$dl" && apt-get "${opts[@]}" source --download-only "php8.2=$v" >/dev/null 2>&1); then
      version=$v
      break
    fi
  done
  [ -n "$version" ] || { log "no php8.2 source package could be downloaded"; exit 1; }
  local upstream=${version%%-*}
  log "php8.2 source $version"
  rm -rf "$cache/src.tmp" && mkdir -p "$cache/src.tmp"
  tar -xJf "$dl/php8.2_$upstream.orig.tar.xz" -C "$cache/src.tmp" --strip-components=1 \
    --wildcards "php-$upstream/ext/session/tests/*" "php-$upstream/run-tests.php" \
    "php-$upstream/sapi/cgi/tests/include.inc"
  # php-cgi: the version that matches the installed CLI when the mirror has it.
  local cli_version
  cli_version=$(dpkg-query -W -f='${Version}' php8.2-cli 2>/dev/null || true)
  (cd "$dl" && rm -f php8.2-cgi_*.deb &&
    { apt-get "${opts[@]}" download "php8.2-cgi=$cli_version" >/dev/null 2>&1 ||
      apt-get "${opts[@]}" download php8.2-cgi >/dev/null; })
  rm -rf "$cache/cgi" && dpkg -x "$dl"/php8.2-cgi_*.deb "$cache/cgi"
  echo "$version" >"$cache/src.tmp/VERSION"
  rm -rf "$cache/src" && mv "$cache/src.tmp" "$cache/src"
  rm -rf "$dl"/*.orig.tar.xz "$apt/cache/archives"/*.deb
}
if [ ! -f "$cache/src/VERSION" ] || [ ! -f "$cache/src/sapi/cgi/tests/include.inc" ] ||
  [ ! -x "$cache/cgi/usr/bin/php-cgi8.2" ]; then
  fetch
fi
src="$cache/src"
php_cgi="$cache/cgi/usr/bin/php-cgi8.2"
log "PHP's ext/session tests from php8.2 $(cat "$src/VERSION"), $("$php" -n -r 'echo PHP_VERSION;') CLI"

# --- 2. the extension ------------------------------------------------------------------------------
if [ -n "${PHPSESS_EXT:-}" ]; then
  ext="$(cd "$root" && realpath "$PHPSESS_EXT")"
else
  (cd "$root" && cargo build -q -p phpsess-ext)
  ext="$target/debug/libphpsess_ext.so"
fi
[ -f "$ext" ] || { log "extension $ext missing"; exit 1; }

# --- 3. a private redis-server on a free loopback port ---------------------------------------------
run="$(mktemp -d "${TMPDIR:-/tmp}/php-session-tests.XXXXXX")"
redis_pid=""
cleanup() {
  if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then log "kept $run"; else rm -rf "$run"; fi
}
trap cleanup EXIT
for _ in 1 2 3 4 5; do
  port=$("$php" -n -r '$s = stream_socket_server("tcp://127.0.0.1:0"); echo parse_url("tcp://" . stream_socket_get_name($s, false), PHP_URL_PORT);')
  [ "$port" != 6379 ] || continue
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$run" \
    --logfile "$run/redis.log" &
  redis_pid=$!
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
done
[ -n "$redis_pid" ] || { log "redis-server did not start"; cat "$run/redis.log" >&2 || true; exit 1; }
save_path="tcp://127.0.0.1:$port"

# --- 4. the two copies of the tests ----------------------------------------------------------------
# files: as shipped. phpsess: each test's --INI-- section names phpsess instead of files and the
# Redis address instead of the default (empty) save_path, and where the expected output prints
# that configuration (var_dump of the handler name; "session.save_path: , handler:" in PHP's own
# warnings) it says phpsess and the Redis address; skipif.inc, which skips when the save_path is not
# a writable directory, becomes a no-op. Nothing else in a test is changed.
#
# Each copy keeps the source tree's layout: some tests include ../../../sapi/cgi/tests/include.inc.
for h in files phpsess; do
  mkdir -p "$run/$h/ext/session" "$run/$h/sapi/cgi"
  cp -r "$src/ext/session/tests" "$run/$h/ext/session/"
  cp -r "$src/sapi/cgi/tests" "$run/$h/sapi/cgi/"
done
echo '<?php // phpsess: session.save_path is a Redis address, not a directory' \
  >"$run/phpsess/ext/session/tests/skipif.inc"
"$php" -n -r '
  [$dir, $path] = [$argv[1], $argv[2]];
  foreach (glob("$dir/*.phpt") as $file) {
      $text = file_get_contents($file);
      $new = preg_replace_callback("/^--INI--\n(.*?)(?=^--[A-Z_]+--$)/ms", function ($m) use ($path) {
          $ini = preg_replace("/^session\.save_handler[ \t]*=[ \t]*\"?files\"?[ \t]*$/m", "session.save_handler=phpsess", $m[1]);
          $ini = preg_replace("/^session\.save_path[ \t]*=[ \t]*(\"\")?[ \t]*$/m", "session.save_path=$path", $ini);
          return "--INI--\n" . $ini;
      }, $text, 1);
      // Not in tests that choose files themselves at run time (session_module_name("files")).
      $chooses_files = preg_match("/^--FILE--\n.*[\"\x27]files[\"\x27].*^--EXPECT/ms", $text);
      $new = preg_replace_callback("/^(--EXPECTF?--\n)(.*)$/ms", fn ($m) => $m[1] . strtr($m[2], $chooses_files ? [] : [
          "string(5) \"files\"" => "string(7) \"phpsess\"",
          "(session.save_path: , handler:" => "(session.save_path: $path, handler:",
      ]), $new, 1);
      if ($new !== $text) {
          file_put_contents($file, $new);
      }
  }' "$run/phpsess/ext/session/tests" "$save_path"

# --- 5. run-tests.php, once per handler -------------------------------------------------------------
# php and php-cgi side by side, where sapi/cgi/tests/include.inc looks for php-cgi.
mkdir -p "$run/bin"
ln -s "$(command -v "$php")" "$run/bin/php"
ln -s "$php_cgi" "$run/bin/php-cgi"
run_suite() { # handler save_path dir
  local handler=$1 path=$2 dir=$3
  log "running $(ls "$dir"/*.phpt | wc -l) tests with session.save_handler=$handler"
  (cd "$run" && TEST_PHP_CGI_EXECUTABLE="$run/bin/php-cgi" TEST_PHP_EXECUTABLE="$run/bin/php" \
    "$php" -n "$src/run-tests.php" -q -n --no-color --no-progress -j"$jobs" --set-timeout 60 -W "$run/$handler.list" \
      -p "$run/bin/php" \
      -d "extension=$ext" -d "session.save_handler=$handler" -d "session.save_path=$path" \
      "$dir" >"$run/$handler.out" 2>&1) || true
  # One line per test: STATUS name.phpt (run-tests.php's own list, -W).
  sed -E 's#^([A-Z]+)\t.*/([^/]+\.phpt)$#\1 \2#' "$run/$handler.list" | sort -k2 >"$run/$handler.results"
}
run_suite files "" "$run/files/ext/session/tests"
run_suite phpsess "$save_path" "$run/phpsess/ext/session/tests"

# --- 6. compare ---------------------------------------------------------------------------------------
declare -A excluded=()
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  excluded[${line%% *}]=1
done <"$exclude_file"

count() { awk -v s="$1" '$1 == s' "$2" | wc -l; }
summary() { # results file
  awk '{n[$1]++} END {printf "%d tests: %d passed, %d failed, %d skipped", NR, n["PASSED"], n["FAILED"], n["SKIPPED"];
    for (s in n) if (s != "PASSED" && s != "FAILED" && s != "SKIPPED") printf ", %d %s", n[s], tolower(s); print ""}' "$1"
}
for h in files phpsess; do log "$h: $(summary "$run/$h.results")"; done

declare -A phpsess_status=()
while read -r status test; do phpsess_status[$test]=$status; done <"$run/phpsess.results"
regressions=()
excluded_count=0
while read -r status test; do
  [ "$status" = PASSED ] || continue
  if [ -n "${excluded[$test]:-}" ]; then excluded_count=$((excluded_count + 1)); continue; fi
  [ "${phpsess_status[$test]:-MISSING}" = PASSED ] || regressions+=("$test")
done <"$run/files.results"
for t in "${!excluded[@]}"; do
  [ -f "$run/files/ext/session/tests/$t" ] || log "warning: excluded test $t is not in this version of the suite"
done

elapsed=$(( $(date +%s) - start_time ))
if [ ${#regressions[@]} -eq 0 ]; then
  log "ok: every test that passes with files passes with phpsess ($excluded_count excluded), ${elapsed}s"
  exit 0
fi
log "${#regressions[@]} tests pass with files and not with phpsess (${elapsed}s):"
for t in "${regressions[@]}"; do
  echo "--- ${phpsess_status[$t]:-MISSING} $t" >&2
  diff_file="$run/phpsess/ext/session/tests/${t%.phpt}.diff"
  if [ -f "$diff_file" ]; then head -n 20 "$diff_file" >&2; echo >&2; fi
done
exit 1
