"""The pytest fixtures every suite gets (tests/conftest.py loads this plugin): the running stack, its database,
users and their tokens, callers of the worker, rows read as superuser behind RLS's back, a recording target."""

from __future__ import annotations

import os
import uuid

import psycopg
import pytest

import tokens
from support import env
from support.api import TIMEOUT_S, Api, Person
from support.targets import Target


@pytest.fixture(scope="session")
def stack_env() -> env.StackEnv:
    missing = env.missing()
    if missing:
        pytest.fail(f"stack environment missing ({', '.join(missing)}): {env.HOW}", pytrace=False)
    return env.read()


@pytest.fixture(scope="session")
def worker_url(stack_env) -> str:
    if not stack_env.worker_url:
        pytest.fail("WORKER_URL is empty: the stack was started with --no-worker", pytrace=False)
    return stack_env.worker_url


@pytest.fixture(scope="session")
def db(stack_env):
    """A superuser connection (autocommit) for setting up and inspecting data behind the API's back."""
    with psycopg.connect(stack_env.database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def make_user(db):
    """Creates users in auth.users (as Supabase Auth would on sign-up); removed at the end of the session."""
    created: list[str] = []

    def make(email: str | None = None) -> str:
        user_id = str(uuid.uuid4())
        db.execute("INSERT INTO auth.users (id, email) VALUES (%s, %s)",
                   [user_id, email or f"user-{user_id[:8]}@example.test"])
        created.append(user_id)
        return user_id

    yield make
    for user_id in created:
        try:
            db.execute("DELETE FROM auth.users WHERE id = %s", [user_id])
        except psycopg.Error:
            pass  # still referenced by rows a suite chose to keep


@pytest.fixture(scope="session")
def mint(stack_env):
    """``mint(sub, alg=..., exp_in=..., **claim_overrides)``: access tokens signed with the stack's keys."""
    return tokens.mint


@pytest.fixture(scope="session")
def anon(worker_url) -> Api:
    """The worker without credentials."""
    return Api(worker_url)


@pytest.fixture(scope="session")
def new_person(worker_url, make_user, mint):
    """``new_person(timeout_s=...)``: a fresh user with no workflows, an HS256 token and a client that sends it."""

    def make(timeout_s: float = TIMEOUT_S) -> Person:
        uid = make_user()
        token = mint(uid)
        return Person(uid, token, Api(worker_url, token, timeout_s))

    return make


def _row(cur) -> dict | None:
    row = cur.fetchone()
    return None if row is None else dict(zip([c.name for c in cur.description], row))


@pytest.fixture(scope="session")
def workflow_row(db):
    """``workflow_row(id)``: the stored workflow as a dict (None when absent)."""

    def read(workflow_id: str) -> dict | None:
        return _row(db.execute("select id::text, user_id::text, name, description, nodes, edges, is_active,"
                               " trigger_key, created_at, updated_at from public.workflows where id = %s",
                               [workflow_id]))

    return read


@pytest.fixture(scope="session")
def count_workflows(db):
    """``count_workflows(user_id)``: how many workflows the user owns in the database."""

    def count(user_id: str) -> int:
        return db.execute("select count(*) from public.workflows where user_id = %s", [user_id]).fetchone()[0]

    return count


@pytest.fixture(scope="session")
def execution_row(db):
    """``execution_row(id)``: the stored run log row as a dict (None when absent)."""

    def read(execution_id: str) -> dict | None:
        return _row(db.execute("select id::text, workflow_id::text, user_id::text, status, success, error_count,"
                               " execution_time_ms, executed_at, finished_at, trigger_type, trigger_data, results"
                               " from public.workflow_executions where id = %s", [execution_id]))

    return read


@pytest.fixture
def target():
    """A fresh recording HTTP server on 127.0.0.1, closed after the test."""
    t = Target()
    yield t
    t.close()
