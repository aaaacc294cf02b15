#!/usr/bin/env bash
# `make deb`: builds target/deb/phpsess_<version>-1_<arch>.deb for the local PHP with dpkg-deb from a
# staged tree, then checks the package it built (scripts/deb.sh check FILE checks any such .deb):
#   - the file list, owners and modes (`dpkg-deb -c`), the control fields and conffiles;
#   - `php -n -d extension=<the packed .so> -m` lists phpsess, with nothing on stderr;
#   - the packed `phpsess` command runs;
#   - lintian reports no errors.
# The package holds the extension for one PHP API (one .so per PHP minor version): the PHP is the one
# `php-config` describes; PHP_CONFIG=/usr/bin/php-config8.3 builds against another installed minor
# (ext-php-rs reads PHP_CONFIG for headers and PHP, here php-config's --php-binary, for `php -i`).
# Maintainer scripts, copyright: scripts/deb/. Needs the packages of `scripts/install-deps.sh deb`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${PHP_CONFIG:-}" ]; then
  export PHP_CONFIG
  PHP="${PHP:-$("$PHP_CONFIG" --php-binary)}"
  export PHP
fi
php_config="${PHP_CONFIG:-php-config}"
php="${PHP:-php}"
phpapi="$("$php_config" --phpapi)"
ext_dir="$("$php_config" --extension-dir)"
php_version="$("$php_config" --version | cut -d. -f1,2)"
target_dir="${CARGO_TARGET_DIR:-target}"
cargo="${CARGO:-cargo}"
out_dir=target/deb
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

fail() {
  echo "deb: FAILED: $*" >&2
  exit 1
}

# The files the package must hold, nothing more (directories aside).
expected_files() {
  printf '%s\n' \
    "./etc/php/$php_version/mods-available/phpsess.ini" \
    "./usr/bin/phpsess" \
    ".$ext_dir/phpsess.so" \
    "./usr/share/doc/phpsess/README.md" \
    "./usr/share/doc/phpsess/changelog.Debian.gz" \
    "./usr/share/doc/phpsess/copyright" \
    "./usr/share/man/man1/phpsess.1.gz" | sort
}

build_deb() {
  # Two builds, not one with both -p flags: built together, cargo would unify the core crate's
  # features across both and rebuild what `make ext` already built.
  "$cargo" build --release -p phpsess-ext
  "$cargo" build --release -p phpsess-cli
  local version arch maintainer stage root
  version="$("$target_dir/release/phpsess" --version | awk '{print $2}')"
  [ -n "$version" ] || fail "no version from phpsess --version"
  deb_version="$version-1"
  arch="$(dpkg --print-architecture)"
  maintainer="${DEBFULLNAME:-$(git config user.name)} <${DEBEMAIL:-$(git config user.email)}>"

  stage="$work/stage"
  root="$stage/root"
  install -d -m 755 "$root/DEBIAN" "$root$ext_dir" "$root/etc/php/$php_version/mods-available" \
    "$root/usr/bin" "$root/usr/share/doc/phpsess" "$root/usr/share/man/man1"

  # Stripped as dh_strip does (lintian: unstripped-binary-or-object); the debug info stays in the
  # target dir's unstripped builds.
  install -m 644 "$target_dir/release/libphpsess_ext.so" "$root$ext_dir/phpsess.so"
  strip --remove-section=.comment --remove-section=.note --strip-unneeded "$root$ext_dir/phpsess.so"
  install -m 755 "$target_dir/release/phpsess" "$root/usr/bin/phpsess"
  strip --remove-section=.comment --remove-section=.note "$root/usr/bin/phpsess"
  install -m 644 php-ext/phpsess.ini "$root/etc/php/$php_version/mods-available/phpsess.ini"
  install -m 644 README.md "$root/usr/share/doc/phpsess/README.md"
  install -m 644 scripts/deb/copyright "$root/usr/share/doc/phpsess/copyright"
  {
    printf 'phpsess (%s) unstable; urgency=medium\n\n' "$deb_version"
    printf '  * Package built from git %s by scripts/deb.sh.\n\n' "$(git rev-parse --short HEAD)"
    printf ' -- %s  %s\n' "$maintainer" "$(date -R -d "@$(git log -1 --format=%ct)")"
  } | gzip -9n >"$root/usr/share/doc/phpsess/changelog.Debian.gz"
  chmod 644 "$root/usr/share/doc/phpsess/changelog.Debian.gz"
  # The manual page is the command's --help (help2man reads it; dated by the commit, not today).
  SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" help2man --no-info \
    --name='the ops command for PHP sessions in Redis' "$root/usr/bin/phpsess" |
    gzip -9n >"$root/usr/share/man/man1/phpsess.1.gz"
  chmod 644 "$root/usr/share/man/man1/phpsess.1.gz"

  local script
  for script in postinst prerm postrm; do
    sed "s/@PHP_VERSION@/$php_version/g" "scripts/deb/$script" >"$root/DEBIAN/$script"
    chmod 755 "$root/DEBIAN/$script"
  done
  printf '/etc/php/%s/mods-available/phpsess.ini\n' "$php_version" >"$root/DEBIAN/conffiles"
  (cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
    >"$root/DEBIAN/md5sums"
  chmod 644 "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

  # Library dependencies as Debian computes them; dpkg-shlibdeps wants a debian/control to stand
  # in. The extension's zend_* symbols come from the PHP binary that loads it, not from a library:
  # dpkg-shlibdeps' warnings about them are expected and silenced.
  mkdir -p "$stage/src/debian"
  printf 'Source: phpsess\n\nPackage: phpsess\nArchitecture: any\n' >"$stage/src/debian/control"
  local shlibs
  shlibs="$(cd "$stage/src" && dpkg-shlibdeps -O --warnings=0 \
    -e"$root/usr/bin/phpsess" -e"$root$ext_dir/phpsess.so" | sed -n 's/^shlibs:Depends=//p')"
  [ -n "$shlibs" ] || fail "dpkg-shlibdeps found no library dependencies"

  cat >"$root/DEBIAN/control" <<EOF
Package: phpsess
Version: $deb_version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -s -k --exclude=DEBIAN "$root" | cut -f1)
Pre-Depends: php-common (>= 2:69~)
Depends: phpapi-$phpapi, php$php_version-common, $shlibs
Section: php
Priority: optional
Description: Redis session save handlers for PHP, compatible with phpredis
 The PHP extension phpsess (for PHP $php_version) adds the session save handlers
 phpsess and phpsess_cluster: a drop-in replacement for phpredis's redis and
 rediscluster handlers, with the same keys, host choice and lock keys, so that
 both can run side by side during a migration. Locking is on by default, in
 fewer round trips; Redis Cluster with locking and Sentinel are supported.
 .
 The package also holds phpsess, a command for operators: decode and show
 stored sessions (PHP's session encodings, Laravel's), explain a save_path.
EOF
  chmod 644 "$root/DEBIAN/control"

  mkdir -p "$out_dir"
  deb_file="$out_dir/phpsess_${deb_version}_${arch}.deb"
  dpkg-deb --root-owner-group -Zxz --build "$root" "$deb_file"
}

check_deb() {
  local deb="$1" x listing files
  [ -f "$deb" ] || fail "$deb: no such file"
  echo "== checking $deb"
  x="$work/check"
  rm -rf "$x" && mkdir -p "$x"

  # Contents: exactly the expected files, all root:root; binaries 0755, the rest 0644.
  listing="$(dpkg-deb -c "$deb")"
  echo "$listing"
  files="$(awk '$1 !~ /^d/ {print $6}' <<<"$listing" | sort)"
  [ "$files" = "$(expected_files)" ] ||
    fail "contents differ from the expected list:$(diff <(expected_files) <(echo "$files") | sed 's/^/ /')"
  if awk '$2 != "root/root" {bad=1} END {exit !bad}' <<<"$listing"; then
    fail "a file not owned by root/root"
  fi
  local line mode path want
  while read -r mode _ _ _ _ path _; do
    case "$mode" in d*) continue ;; esac
    case "$path" in
      ./usr/bin/*) want=-rwxr-xr-x ;;
      *) want=-rw-r--r-- ;;
    esac
    [ "$mode" = "$want" ] || fail "$path has mode $mode, expected $want"
  done <<<"$listing"

  # Control: the PHP API this .so was built for, and the ini as a conffile.
  dpkg-deb -f "$deb" Depends | grep -q "phpapi-$phpapi" ||
    fail "Depends lacks phpapi-$phpapi: $(dpkg-deb -f "$deb" Depends)"
  dpkg-deb -e "$deb" "$x/DEBIAN"
  grep -qx "/etc/php/$php_version/mods-available/phpsess.ini" "$x/DEBIAN/conffiles" ||
    fail "mods-available/phpsess.ini is not a conffile"
  for line in postinst prerm postrm; do sh -n "$x/DEBIAN/$line" || fail "DEBIAN/$line: syntax"; done
  echo "Depends: $(dpkg-deb -f "$deb" Depends)"

  # The packed files work: PHP loads the .so (no warning), the ini loads it by name, the CLI runs.
  dpkg-deb -x "$deb" "$x/root"
  local modules errs
  modules="$("$php" -n -d "extension=$x/root$ext_dir/phpsess.so" -m 2>"$x/stderr")" ||
    fail "php -m with the packed .so: $(cat "$x/stderr")"
  errs="$(cat "$x/stderr")"
  [ -z "$errs" ] || fail "php -m with the packed .so printed: $errs"
  # PHP prints startup warnings (a .so it cannot load) on stdout with -n.
  if grep -qiE 'warning|error' <<<"$modules"; then fail "php -m with the packed .so: $modules"; fi
  grep -qx phpsess <<<"$modules" || fail "php -n -d extension=<packed .so> -m does not list phpsess"
  echo "php -n -d extension=$ext_dir/phpsess.so (packed) -m: lists phpsess"
  grep -qx 'extension=phpsess.so' "$x/root/etc/php/$php_version/mods-available/phpsess.ini" ||
    fail "phpsess.ini does not load phpsess.so"
  "$x/root/usr/bin/phpsess" --version || fail "the packed phpsess command does not run"

  # lintian: errors fail the build; warnings are printed (README: which ones and why).
  echo "== lintian $deb"
  local lintian_out rc=0
  lintian_out="$(lintian --fail-on error --tag-display-limit 0 "$deb" 2>&1)" || rc=$?
  [ -n "$lintian_out" ] && echo "$lintian_out"
  echo "lintian: $(grep -c '^E:' <<<"$lintian_out" || true) errors, $(grep -c '^W:' <<<"$lintian_out" || true) warnings"
  [ "$rc" -eq 0 ] || fail "lintian reports errors (exit $rc)"
  echo "deb: OK $deb"
}

case "${1:-build}" in
  build)
    build_deb
    check_deb "$deb_file"
    ;;
  check)
    [ $# -eq 2 ] || fail "usage: $0 check FILE.deb"
    check_deb "$2"
    ;;
  *) fail "usage: $0 [build | check FILE.deb]" ;;
esac
