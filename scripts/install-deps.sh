#!/usr/bin/env bash
# Installs the system packages a make target needs (Debian 12), by mode:
#   build  what compiling the extension and the CLI needs (`make build`, `make ext`, `make install`):
#          PHP's headers and php-config, PHP itself (ext-php-rs reads `php -i`), clang for bindgen,
#          a C compiler for ext-php-rs's wrapper and zstd. Nothing that serves or stores sessions:
#          `make install` runs on web servers.
#   deb    build + what `make deb` packs and checks with (dpkg-shlibdeps, help2man, lintian).
#   test   build + the servers and PHP packages the compat suite, the demo and the benchmarks run
#          (redis-server, php-fpm, nginx, phpredis, Laravel, ...).
# Further arguments name extra packages a single target needs (`make bench-callgrind` adds valgrind).
# A no-op when everything is already there; `apt-get update` runs only when something is missing.
set -euo pipefail

mode="${1:-}"
case "$mode" in
  build | deb | test) shift ;;
  *)
    echo "usage: $0 build|deb|test [package...]" >&2
    exit 2
    ;;
esac

packages=(
  php8.2-cli php8.2-dev
  clang libclang-dev pkg-config gcc
)
case "$mode" in
  deb)
    packages+=(dpkg-dev binutils help2man lintian)
    ;;
  test)
    packages+=(
      php8.2-fpm php-redis php-igbinary php-msgpack php-laravel-framework
      redis-server redis-tools nginx libfcgi-bin
      zstd curl openssl
      prometheus # promtool and a real scraper for tests/tests/store/exporter.rs
      xz-utils # scripts/php-session-tests.sh unpacks php8.2's source tarball
    )
    ;;
esac
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps ($mode): installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
# Debian starts services on install; we never rely on them, every test starts its own servers.
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
