"""Root of the Python suites: scripts/ (tokens, stack, gateway) and tests/ (the ``support`` package) on the
import path, and the shared fixtures of ``support.fixtures`` for every suite."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
for path in (TESTS.parent / "scripts", TESTS):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

# Plain asserts in the helpers report their operands, as in test modules.
pytest.register_assert_rewrite("support")
pytest_plugins = ("support.fixtures",)
