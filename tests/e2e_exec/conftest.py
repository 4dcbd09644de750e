"""Users of the execution and action suite and extra workers with other settings (the shared fixtures, the
recording ``target`` among them, are in tests/support/fixtures.py)."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

import stack
from support.api import RUN_TIMEOUT_S, Person
from support.targets import Target


@pytest.fixture(scope="session")
def owner(new_person) -> Person:
    """User A: owns every workflow the suite runs."""
    return new_person(timeout_s=RUN_TIMEOUT_S)


@pytest.fixture(scope="session")
def stranger(new_person) -> Person:
    """User B: must never see or run A's workflows."""
    return new_person(timeout_s=RUN_TIMEOUT_S)


@pytest.fixture(scope="session")
def signing_secret(owner) -> str:
    """The owner's Standard Webhooks secret, to verify what their webhook_call nodes sign."""
    return owner.api.webhook_secret()["secret"]


def _extra_worker(name: str, overrides: dict):
    env = dict(os.environ)
    log = Path(env.get("STACK_DIR") or stack.LOCAL) / f"{name}.log"
    try:
        url, proc = stack.start_extra_worker(env, overrides, log)
    except stack.StackError as err:
        pytest.fail(f"{name}: {err}", pytrace=False)
    return url, proc


@pytest.fixture
def extra_worker():
    """``extra_worker(name, overrides) -> (url, proc)``: workers with other settings, stopped after the test
    (a test may also kill one itself with ``stack.kill_extra_worker``)."""
    started = []

    def start(name: str, overrides: dict):
        url, proc = _extra_worker(name, overrides)
        started.append(proc)
        return url, proc

    yield start
    for proc in started:
        stack.stop_extra_worker(proc)


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
