"""Users of the API suite (the shared fixtures are in tests/support/fixtures.py)."""

from __future__ import annotations

import pytest

from support.api import Person


@pytest.fixture(scope="session")
def alice(new_person) -> Person:
    return new_person()


@pytest.fixture(scope="session")
def bob(new_person) -> Person:
    return new_person()
