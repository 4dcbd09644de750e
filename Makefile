# The project's entry points. `make dev` and `make test` are the two
# commands of the README's quick start; CI runs `make test`.
SHELL := /bin/bash
PY := .local/venv/bin/python
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export WRANGLER_SEND_METRICS := false
export BENCH_RESULTS := $(CURDIR)/target/bench/results.json

.PHONY: setup build dev test lint unit demo bench

## Install whatever is missing (idempotent).
setup:
	@bash scripts/setup.sh

## Build the wasm worker into build/.
build: setup
	bash scripts/build-worker.sh

## Local stack in the foreground: Postgres, gateway, worker on :8787.
dev: setup
	$(PY) scripts/stack.py up

## Formatting and lints (host and wasm32).
lint: setup
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings

## Native unit and scenario tests.
unit: setup
	cargo test

## The whole suite.
test: setup
	bash scripts/test.sh

## The main job, non-interactively: stack up, sample workflow created and
## run once, execution printed, stack down; exits 0 only if the run succeeded.
demo: build
	$(PY) scripts/stack.py run -- $(PY) scripts/demo.py

## Benchmarks (not part of `make test`): the native micro and engine
## benchmarks (`cargo bench --bench engine`), then on a throwaway stack the
## runtime's floor, step overhead, fan-out, the journal's cost and round
## trips, throughput against /health (every run checked in the database),
## wasm size and cold start, and a perf profile (`scripts/bench/`). Prints
## median and spread of every figure and writes target/bench/results.json.
bench: build
	rm -f $(BENCH_RESULTS)
	cargo bench --bench engine
	$(PY) scripts/stack.py run -- env PYTHONPATH=scripts $(PY) -m bench
