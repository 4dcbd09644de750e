#!/usr/bin/env bash
# Runs inside `stack.py run`: the stack's variables are in the environment.
# pgTAP first, then every Python suite in one pytest run (its summary is the
# last line CI reads).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
printf '\n==> pgTAP\n'
bash scripts/db-tests.sh || status=1
printf '\n==> pytest\n'
.local/venv/bin/python -m pytest -q tests || status=1
exit $status
