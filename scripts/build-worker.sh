#!/usr/bin/env bash
# Builds the wasm worker into build/ (the wrangler.toml build command).
# Uses the locally installed wasm-bindgen (pinned by scripts/setup.sh) and
# skips wasm-opt, so the build never downloads a binary.
set -euo pipefail
cd "$(dirname "$0")/.."
export WASM_BINDGEN_BIN="${WASM_BINDGEN_BIN:-$(command -v wasm-bindgen || echo "$HOME/.cargo/bin/wasm-bindgen")}"
exec "${WORKER_BUILD:-worker-build}" --release
