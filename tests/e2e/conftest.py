"""Fixtures for the end-to-end suite: callers of the real worker (anonymous and signed-in users) and row snapshots."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from e2e_api import Api  # noqa: E402


@dataclass(frozen=True)
class Person:
    """A signed-up user: their id, an HS256 access token and a client that sends it."""

    id: str
    token: str
    api: Api


@pytest.fixture(scope="session")
def anon(worker_url) -> Api:
    """The worker without credentials."""
    return Api(worker_url)


@pytest.fixture(scope="session")
def new_person(worker_url, make_user, mint):
    """``new_person()``: a fresh user with no workflows (for tests that look at whole listings)."""

    def make() -> Person:
        uid = make_user()
        token = mint(uid)
        return Person(uid, token, Api(worker_url, token))

    return make


@pytest.fixture(scope="session")
def alice(new_person) -> Person:
    return new_person()


@pytest.fixture(scope="session")
def bob(new_person) -> Person:
    return new_person()


@pytest.fixture(scope="session")
def workflow_row(db):
    """``workflow_row(id)``: the stored row as a dict (None when absent), read as superuser behind RLS's back."""

    def read(workflow_id: str) -> dict | None:
        cur = db.execute("select id::text, user_id::text, name, description, nodes, edges, is_active, trigger_key,"
                         " created_at, updated_at from public.workflows where id = %s", [workflow_id])
        row = cur.fetchone()
        if row is None:
            return None
        return dict(zip([c.name for c in cur.description], row))

    return read


@pytest.fixture(scope="session")
def count_workflows(db):
    """``count_workflows(user_id)``: how many workflows the user owns in the database."""

    def count(user_id: str) -> int:
        return db.execute("select count(*) from public.workflows where user_id = %s", [user_id]).fetchone()[0]

    return count
