"""The running stack, read from the environment that `scripts/stack.py run` exports."""

from __future__ import annotations

import os
from dataclasses import dataclass

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


def missing() -> list[str]:
    """The required variables the environment lacks."""
    return [name for name in REQUIRED if not os.environ.get(name)]


def read() -> StackEnv:
    e = os.environ
    return StackEnv(e["SUPABASE_URL"].rstrip("/"), e["SUPABASE_ANON_KEY"], e["SUPABASE_SERVICE_ROLE_KEY"],
                    e["SUPABASE_JWT_SECRET"], e["JWT_ISSUER"], e["DATABASE_URL"], e["DEMO_USER_ID"],
                    e["DEMO_TOKEN"], e.get("WORKER_URL", "").rstrip("/"))


def allowed_origins() -> list[str]:
    """The worker's ALLOWED_ORIGINS as the stack set them, without trailing slashes."""
    return [o.strip().rstrip("/") for o in os.environ.get("ALLOWED_ORIGINS", "").split(",") if o.strip()]
