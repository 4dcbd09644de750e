"""Fixtures for the execution and action suite: users, recording HTTP targets and extra workers with other settings."""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent / "scripts"))
import stack  # noqa: E402
from exec_api import Client  # noqa: E402
from exec_targets import Target  # noqa: E402


@dataclass(frozen=True)
class Person:
    id: str
    token: str
    api: Client


@pytest.fixture(scope="session")
def new_person(worker_url, make_user, mint):
    def make() -> Person:
        uid = make_user()
        token = mint(uid)
        return Person(uid, token, Client(worker_url, token))

    return make


@pytest.fixture(scope="session")
def owner(new_person) -> Person:
    """User A: owns every workflow the suite runs."""
    return new_person()


@pytest.fixture(scope="session")
def stranger(new_person) -> Person:
    """User B: must never see or run A's workflows."""
    return new_person()


@pytest.fixture(scope="session")
def signing_secret() -> str:
    value = os.environ.get("WEBHOOK_SIGNING_SECRET", "")
    if not value:
        pytest.fail("WEBHOOK_SIGNING_SECRET is not exported: run inside `scripts/stack.py run`", pytrace=False)
    return value


@pytest.fixture
def target():
    """A fresh recording HTTP server on 127.0.0.1, closed after the test."""
    t = Target()
    yield t
    t.close()


@pytest.fixture(scope="session")
def execution_row(db):
    """``execution_row(id)``: the stored run log row as a dict (superuser read), or None."""

    def read(execution_id: str) -> dict | None:
        cur = db.execute("select id::text, workflow_id::text, user_id::text, status, success, error_count,"
                         " execution_time_ms, executed_at, finished_at, trigger_type, trigger_data, results"
                         " from public.workflow_executions where id = %s", [execution_id])
        row = cur.fetchone()
        return None if row is None else dict(zip([c.name for c in cur.description], row))

    return read


def _extra_worker(name: str, overrides: dict):
    env = dict(os.environ)
    log = Path(env.get("STACK_DIR") or stack.LOCAL) / f"{name}.log"
    try:
        url, proc = stack.start_extra_worker(env, overrides, log)
    except stack.StackError as err:
        pytest.fail(f"{name}: {err}", pytrace=False)
    return url, proc


@pytest.fixture(scope="module")
def strict_worker():
    """The worker with ALLOW_PRIVATE_TARGETS=false, as deployed."""
    url, proc = _extra_worker("worker-strict", {"ALLOW_PRIVATE_TARGETS": "false"})
    try:
        yield url
    finally:
        stack.stop_extra_worker(proc)


@dataclass(frozen=True)
class Services:
    """A worker whose action endpoints (email API, scoring service, CRM) all point at ``target``."""

    url: str
    target: Target
    email_key: str


@pytest.fixture(scope="module")
def services():
    t = Target()
    email_key = "local-email-key-" + secrets.token_hex(16)  # generated per run, never stored
    overrides = {"EMAIL_API_URL": t.url("/email/send"), "EMAIL_API_KEY": email_key,
                 "EMAIL_FROM": "crm@edgeflow.test", "AI_SCORE_URL": t.url("/api/datapizza/score-lead"),
                 "CRM_API_URL": t.url("/crm")}
    try:
        url, proc = _extra_worker("worker-services", overrides)
    except BaseException:
        t.close()
        raise
    try:
        yield Services(url, t, email_key)
    finally:
        stack.stop_extra_worker(proc)
        t.close()
