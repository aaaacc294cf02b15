# phpsess — the project's commands. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: deps build-deps build test lint unit fixtures bench bench-axum bench-e2e bench-callgrind bench-peers bench-stats fuzz soak demo clean php-session-tests

## Install missing system packages (a no-op when everything is there): `deps` everything the tests,
## the demo and the benchmarks run (redis-server, php-fpm, nginx, Laravel, ...); `build-deps` only
## what compiling needs (php8.2-dev, clang), for `make build`/`ext`/`install` on a web server.
deps:
	@scripts/install-deps.sh test

build-deps:
	@scripts/install-deps.sh build

build: build-deps
	$(CARGO) build --workspace --release

## Format check, clippy -D warnings, then every test (unit, fixtures, differential vs real PHP).
## The build first: the compat suite runs the `phpsess` command and loads the extension (with
## `test-panic`) from the target directory (tests/src/artifacts.rs). The build names the test
## targets too: dev-dependencies then take part in feature unification as in `cargo test` (without
## them serde, phpsess, ext-php-rs and the extension are compiled twice), and `cargo test` with the
## same features finds everything built.
## Most compat tests wait (for PHP, Redis, php-fpm, timeouts, the phpredis scenarios' sleeps)
## rather than compute, so 8 run at a time rather than one per core (ext: 250 s -> 50 s on 2 cores).
## --no-fail-fast: one run names every failing test binary, not only the first.
TEST_FEATURES = --features phpsess-ext/test-panic
RUST_TEST_THREADS ?= 8
test: deps lint
	$(CARGO) build --workspace --lib --bins --tests --examples $(TEST_FEATURES)
	RUST_TEST_THREADS=$(RUST_TEST_THREADS) $(CARGO) test --workspace --no-fail-fast $(TEST_FEATURES)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	@# Each feature set of the core compiles on its own (README, "Cargo features").
	$(CARGO) clippy -p phpsess --no-default-features --lib --tests -- -D warnings
	$(CARGO) clippy -p phpsess --no-default-features --features laravel --lib --tests -- -D warnings
	$(CARGO) clippy -p phpsess --no-default-features --features store --lib --tests -- -D warnings
	$(CARGO) clippy -p phpsess --no-default-features --features encryption --lib --tests -- -D warnings
	$(CARGO) clippy -p phpsess --no-default-features --features tokio --lib --tests -- -D warnings
	$(CARGO) clippy -p phpsess --no-default-features --features axum --lib --tests -- -D warnings

## PHP's own ext/session tests with the files handler and with phpsess (also part of `make test`,
## as tests/tests/ext/php_session_suite.rs); the tests are fetched from Debian's php8.2 source package.
php-session-tests: deps
	scripts/php-session-tests.sh

## Regenerate fixtures/ from real PHP 8.2.
fixtures: deps
	php -n fixtures/generate.php fixtures

## Criterion benchmarks side by side with PHP's own unserialize()/serialize(), the same
## operations' instruction counts (bench-callgrind), phpsess against the other Rust crates for
## PHP's format (bench-peers), then bench-e2e.
bench: deps
	scripts/bench-format.sh
	scripts/install-deps.sh test valgrind
	scripts/bench-callgrind.sh
	scripts/bench-peers.sh
	scripts/bench-e2e.sh
	scripts/install-deps.sh test wrk
	scripts/bench-axum.sh

## phpsess beside phpserz, php_serde, serde_php, muesli, php-deserialize-core (bench/peers, its own
## workspace, versions pinned): serde into structs, trees, Document, encode; callgrind + criterion.
bench-peers: deps
	scripts/install-deps.sh test valgrind
	scripts/bench-peers.sh

## Instructions per format operation, PHP against phpsess, under callgrind (load-independent).
bench-callgrind: deps
	scripts/install-deps.sh test valgrind
	scripts/bench-callgrind.sh

## End to end: phpsess vs phpredis sessions in php-cli and php-fpm+nginx, loopback and +1 ms.
bench-e2e: deps
	scripts/bench-e2e.sh

## The axum extractors under wrk: GET /me with a real Laravel cookie beside one plain Redis GET
## over the same connection, alternating in one run (scripts/bench-axum.sh).
bench-axum: deps
	scripts/install-deps.sh test wrk
	scripts/bench-axum.sh

## `phpsess stats` over 1,000,000 sessions beside `redis-cli --memkeys`, and `top -n 20`: time and
## peak RSS (BENCH_SESSIONS to change the count). Not part of `make test`.
bench-stats: deps
	scripts/bench-stats.sh

## The fault suite: php-fpm + nginx under load while Redis stalls, restarts, fails over; a leak
## run. phpsess beside phpredis; a markdown table on stdout (SOAK_* variables: scripts/soak.sh).
soak: deps
	scripts/soak.sh

## Fuzz every decoder (FUZZ_SECONDS each, default 60).
fuzz: deps
	scripts/fuzz.sh

## Redis + two php-fpm pools with phpsess behind nginx + a small app, a checked walk-through, then serve
## until Ctrl-C (DEMO_ONESHOT=1 exits after the walk-through).
demo: deps
	scripts/demo.sh

## The PHP extension, left at target/php/phpsess.so (release build; needs php8.2-dev and libclang).
.PHONY: ext install
PHP_EXT_BUILD = $(or $(CARGO_TARGET_DIR),target)/release/libphpsess_ext.so
ext: build-deps
	$(CARGO) build --release -p phpsess-ext
	@mkdir -p target/php
	@# Copy, strip the debug info the release profile keeps (38 MB -> 4 MB; the unstripped build
	@# stays in the target dir), then rename: a running PHP keeps its mapping of the old file.
	cp $(PHP_EXT_BUILD) target/php/.phpsess.so.tmp
	strip --strip-debug target/php/.phpsess.so.tmp
	mv -f target/php/.phpsess.so.tmp target/php/phpsess.so
	@echo "built target/php/phpsess.so"

## Install the extension into `php-config --extension-dir` and enable it the Debian way
## (mods-available/phpsess.ini + phpenmod) for the CLI and, if installed, FPM. Needs only the build
## dependencies; `make deb` packs the same files (and the CLI) for apt.
install: ext
	@set -e; \
	pc="$${PHP_CONFIG:-php-config}"; dir="$$($$pc --extension-dir)"; ver="$$($$pc --version | cut -d. -f1,2)"; \
	sudo=""; [ "$$(id -u)" -eq 0 ] || sudo=sudo; \
	$$sudo install -d "$$dir"; \
	$$sudo cp target/php/phpsess.so "$$dir/.phpsess.so.tmp"; \
	$$sudo mv -f "$$dir/.phpsess.so.tmp" "$$dir/phpsess.so"; \
	$$sudo install -m 644 php-ext/phpsess.ini "/etc/php/$$ver/mods-available/phpsess.ini"; \
	$$sudo phpenmod -v "$$ver" -s cli phpsess; \
	echo "installed $$dir/phpsess.so, enabled for cli"; \
	if [ -d "/etc/php/$$ver/fpm" ]; then \
	  $$sudo phpenmod -v "$$ver" -s fpm phpsess; \
	  echo "enabled for fpm: restart php$$ver-fpm to load it"; \
	fi

## target/deb/phpsess_<version>_<arch>.deb for the local PHP (PHP_CONFIG=php-configX.Y for another
## minor), built with dpkg-deb from a staged tree, then checked: contents, `php -n -d extension=... -m`
## with the packed .so, the packed CLI, lintian (no errors). Not part of `make test` (release build).
.PHONY: deb
deb:
	@scripts/install-deps.sh deb
	scripts/deb.sh

clean:
	$(CARGO) clean
