# The project's entry points. `make dev` and `make test` are the two
# commands of the README's quick start; CI runs `make test`.
SHELL := /bin/bash
PY := .local/venv/bin/python
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export WRANGLER_SEND_METRICS := false

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

## Benchmarks: engine overhead per step (native), end-to-end latency
## through the worker and the step journal's cost (journal on vs off) on a
## throwaway stack, and form-hook throughput (every run checked in the
## database). Prints the figures.
bench: build
	cargo bench --bench engine
	$(PY) scripts/stack.py run -- bash -c '$(PY) scripts/bench-e2e.py && $(PY) scripts/bench-journal.py && $(PY) scripts/bench-hooks.py'
