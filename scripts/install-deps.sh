#!/usr/bin/env bash
# Installs the system packages phpsess builds and tests against (Debian 12).
# A no-op when everything is already there; `apt-get update` runs only when something is missing.
# Arguments name extra packages a single target needs (`make bench-callgrind` adds valgrind).
set -euo pipefail

packages=(
  php8.2-cli php8.2-fpm php8.2-dev php-redis php-igbinary php-msgpack
  php-laravel-framework redis-server redis-tools nginx libfcgi-bin
  clang libclang-dev pkg-config zstd
  curl openssl
  xz-utils  # scripts/php-session-tests.sh unpacks php8.2's source tarball
  "$@"
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
# Debian starts services on install; we never rely on them, every test starts its own servers.
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
