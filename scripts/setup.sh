#!/usr/bin/env bash
# Idempotent setup: installs whatever the build, the local stack and the test
# suite need and is missing; does nothing (quickly) when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
log() { printf '[setup] %s\n' "$*"; }

# Rust: the wasm target (rust-toolchain.toml names it; rustup installs lazily).
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

# worker-build, pinned.
if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION"; then
  log "installing worker-build $WORKER_BUILD_VERSION"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly
# (worker-build would otherwise download it, which is not possible here).
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB_VERSION\$"; then
  log "installing wasm-bindgen-cli $WB_VERSION"
  # --locked can name a dependency version the registry no longer serves;
  # then resolve afresh (the CLI version itself stays exact).
  cargo install wasm-bindgen-cli --version "=$WB_VERSION" --locked \
    || cargo install wasm-bindgen-cli --version "=$WB_VERSION"
fi

# Debian packages: pgTAP (pg_prove) for the SQL tests, Chromium for the
# browser CORS test.
missing=()
command -v pg_prove >/dev/null || missing+=(pgtap postgresql-15-pgtap)
[ -f /usr/share/postgresql/15/extension/pgtap.control ] || missing+=(postgresql-15-pgtap)
command -v chromium >/dev/null || missing+=(chromium)
# Debian's own python3 needs python3-venv for `python -m venv`.
python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# JavaScript tooling pinned in package-lock.json (wrangler 4, node 22, supabase CLI).
if [ ! -x node_modules/.bin/wrangler ] || [ ! -x node_modules/.bin/supabase ] || [ ! -x node_modules/.bin/node ] \
   || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages"
  npm ci --no-audit --no-fund
fi

# Python venv for the local gateway and the end-to-end harness.
if [ ! -x .local/venv/bin/python ]; then
  log "creating .local/venv"
  mkdir -p .local
  python3 -m venv .local/venv
fi
if ! cmp -s scripts/requirements.txt .local/venv/.requirements.txt; then
  log "installing Python packages"
  .local/venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
  cp scripts/requirements.txt .local/venv/.requirements.txt
fi
log "ready"
