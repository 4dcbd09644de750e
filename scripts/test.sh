#!/usr/bin/env bash
# The whole test suite (`make test`): lints, native tests, the wasm build,
# then SQL and end-to-end tests against a throwaway local stack that
# scripts/stack.py starts on free ports and always tears down.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --check
step "clippy (host)"
cargo clippy --all-targets -- -D warnings
step "clippy (wasm32)"
cargo clippy --lib --target wasm32-unknown-unknown -- -D warnings
step "native tests"
cargo test
step "build the wasm worker"
bash scripts/build-worker.sh
step "stack tests (pgTAP, gateway, schema, end-to-end)"
# The browser test serves its page from an allowed origin on a free port.
BROWSER_ALLOWED_PORT=$(.local/venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export BROWSER_ALLOWED_PORT
export STACK_ALLOWED_ORIGINS="http://localhost:3000,http://127.0.0.1:${BROWSER_ALLOWED_PORT}"
# Test-only gateway switch: an insert marked [stall-after-commit] is committed,
# then answered 2.5 s late (once per body), so tests/e2e_exec/test_exactly_once.py
# can time out an attempt after its row exists. Nothing else sends the marker.
export GATEWAY_STALL_AFTER_COMMIT_MS="${GATEWAY_STALL_AFTER_COMMIT_MS:-2500}"
exec .local/venv/bin/python scripts/stack.py run -- bash scripts/stack-tests.sh
