"""`supabase db push` against an up-to-date database is a no-op: it says so and changes nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "supabase" / "migrations"


def _cli_url(url: str) -> str:
    """The CLI needs sslmode=disable for a local cluster without TLS."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("sslmode", "disable")
    return urlunsplit(parts._replace(query=urlencode(query)))


def _pg_dump() -> str:
    found = shutil.which("pg_dump")
    return found or "/usr/lib/postgresql/15/bin/pg_dump"


def _schema_dump(url: str) -> str:
    """Everything the migrations own: tables, functions, policies, grants, comments in public."""
    out = subprocess.run([_pg_dump(), "--schema-only", "--schema=public", "--dbname", url],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    # pg_dump 15.14+ brackets its output with a random \restrict key.
    return "\n".join(line for line in out.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def _applied_versions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("select version from supabase_migrations.schema_migrations order by version").fetchall()
    return [r[0] for r in rows]


def _push(url: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=f"{ROOT / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(["supabase", "db", "push", "--yes", "--db-url", _cli_url(url)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def test_every_migration_is_applied(schema_db_url):
    files = sorted(p.name.split("_", 1)[0] for p in MIGRATIONS.glob("*.sql"))
    assert files, "no migrations found"
    assert _applied_versions(schema_db_url) == files


def test_second_push_is_a_no_op(schema_db_url):
    before = _schema_dump(schema_db_url)
    versions_before = _applied_versions(schema_db_url)

    result = _push(schema_db_url)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "Remote database is up to date" in output, output
    assert "Applying migration" not in output, output

    assert _applied_versions(schema_db_url) == versions_before
    assert _schema_dump(schema_db_url) == before
