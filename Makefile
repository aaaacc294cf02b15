# phpsess — the project's commands. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: deps build test lint unit fixtures bench fuzz demo clean

## Install missing system packages (a no-op when everything is there).
deps:
	@scripts/install-deps.sh

build: deps
	$(CARGO) build --workspace --release

## Format check, clippy -D warnings, then every test (unit, fixtures, differential vs real PHP).
test: deps lint
	$(CARGO) test --workspace

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Regenerate fixtures/ from real PHP 8.2.
fixtures: deps
	php -n fixtures/generate.php fixtures

## Criterion benchmarks side by side with PHP's own unserialize()/serialize().
bench: deps
	scripts/bench-format.sh

## Fuzz every decoder (FUZZ_SECONDS each, default 60).
fuzz: deps
	scripts/fuzz.sh

## A walk through the CLI on real PHP output.
demo: deps
	scripts/demo.sh

clean:
	$(CARGO) clean
