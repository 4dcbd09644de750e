"""Shared pytest fixtures: the running stack, read from the environment that `scripts/stack.py run` exports."""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import tokens  # noqa: E402

REQUIRED = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET",
            "JWT_ISSUER", "DATABASE_URL", "LOCAL_JWK_PATH", "LOCAL_RSA_JWK_PATH", "DEMO_USER_ID", "DEMO_TOKEN")
HOW = ("run the suite inside the stack: `.local/venv/bin/python scripts/stack.py run [--no-worker] -- "
       ".local/venv/bin/python -m pytest tests/...` (or `make test`), or `set -a; source .local/stack.env` "
       "while `make dev` runs")


@dataclass(frozen=True)
class StackEnv:
    supabase_url: str
    anon_key: str
    service_key: str
    jwt_secret: str
    issuer: str
    database_url: str
    demo_user_id: str
    demo_token: str
    worker_url: str

    @property
    def rest_url(self) -> str:
        return f"{self.supabase_url}/rest/v1"


@pytest.fixture(scope="session")
def stack_env() -> StackEnv:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        pytest.fail(f"stack environment missing ({', '.join(missing)}): {HOW}", pytrace=False)
    e = os.environ
    return StackEnv(e["SUPABASE_URL"].rstrip("/"), e["SUPABASE_ANON_KEY"], e["SUPABASE_SERVICE_ROLE_KEY"],
                    e["SUPABASE_JWT_SECRET"], e["JWT_ISSUER"], e["DATABASE_URL"], e["DEMO_USER_ID"],
                    e["DEMO_TOKEN"], e.get("WORKER_URL", "").rstrip("/"))


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
