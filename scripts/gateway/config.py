"""Gateway settings, read once from command-line flags with environment fallbacks."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Config:
    db_url: str  # logs in as `authenticator`
    jwt_secret: str
    anon_key: str
    service_key: str
    jwk_paths: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0
    pool_size: int = 8
    upstream: str | None = None  # base URL of a real PostgREST to proxy to
    stall_after_commit_ms: int = 0  # test-only, see ``stall``
    extra: dict = field(default_factory=dict)

    def __repr__(self) -> str:  # keep secrets out of logs
        return (f"Config(host={self.host!r}, port={self.port}, pool_size={self.pool_size}, upstream={self.upstream!r},"
                f" stall_after_commit_ms={self.stall_after_commit_ms})")


def parse(argv: list[str] | None = None) -> Config:
    env = os.environ
    jwk_default = os.pathsep.join(p for p in (env.get("LOCAL_JWK_PATH"), env.get("LOCAL_RSA_JWK_PATH")) if p)
    p = argparse.ArgumentParser(prog="gateway", description="PostgREST-compatible gateway for local runs")
    p.add_argument("--db-url", default=env.get("GATEWAY_DB_URL"), help="authenticator connection URL")
    p.add_argument("--jwt-secret", default=env.get("SUPABASE_JWT_SECRET"))
    p.add_argument("--anon-key", default=env.get("SUPABASE_ANON_KEY"))
    p.add_argument("--service-key", default=env.get("SUPABASE_SERVICE_ROLE_KEY"))
    p.add_argument("--jwk-paths", default=env.get("GATEWAY_JWK_PATHS", jwk_default),
                   help=f"private JWK files separated by '{os.pathsep}'")
    p.add_argument("--host", default=env.get("GATEWAY_HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(env.get("GATEWAY_PORT", "0")))
    p.add_argument("--pool-size", type=int, default=int(env.get("GATEWAY_POOL_SIZE", "8")))
    p.add_argument("--upstream", default=env.get("GATEWAY_UPSTREAM") or None,
                   help="real PostgREST base URL; /rest/v1 is proxied there")
    p.add_argument("--stall-after-commit-ms", type=int,
                   default=int(env.get("GATEWAY_STALL_AFTER_COMMIT_MS") or "0"),
                   help="test-only: answer the first committed insert carrying [stall-after-commit] this much later")
    a = p.parse_args(argv)
    needed = [("--anon-key", a.anon_key), ("--service-key", a.service_key)]
    if not a.upstream:  # a real PostgREST does its own JWT checks and database work
        needed += [("--db-url", a.db_url), ("--jwt-secret", a.jwt_secret)]
    missing = [name for name, value in needed if not value]
    if missing:
        p.error("missing " + ", ".join(missing))
    return Config(
        db_url=a.db_url or "", jwt_secret=a.jwt_secret or "", anon_key=a.anon_key or "",
        service_key=a.service_key or "",
        jwk_paths=tuple(x for x in (a.jwk_paths or "").split(os.pathsep) if x),
        host=a.host, port=a.port, pool_size=a.pool_size, upstream=a.upstream,
        stall_after_commit_ms=a.stall_after_commit_ms,
    )
