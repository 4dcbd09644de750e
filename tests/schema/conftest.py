"""Fixtures for the schema tests: a migrated database (DATABASE_URL); test_rest_hardening also calls it through the
gateway (SUPABASE_URL) as a client would. None of them needs the worker."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest


@pytest.fixture(scope="session")
def schema_db_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.fail("DATABASE_URL is not set: run inside the stack, e.g. `.local/venv/bin/python scripts/stack.py run "
                    "--no-worker -- .local/venv/bin/python -m pytest tests/schema`", pytrace=False)
    return url


@pytest.fixture
def schema_user(schema_db_url: str) -> Iterator[Callable[[], str]]:
    """Creates committed users in auth.users; deleting them at the end cascades to all their rows and events."""
    created: list[str] = []

    def make() -> str:
        user_id = str(uuid.uuid4())
        with psycopg.connect(schema_db_url, autocommit=True) as conn:
            conn.execute("insert into auth.users (id, email) values (%s, %s)", [user_id, f"{user_id}@schema.test"])
        created.append(user_id)
        return user_id

    yield make
    with psycopg.connect(schema_db_url, autocommit=True) as conn:
        for user_id in created:
            conn.execute("delete from auth.users where id = %s", [user_id])
