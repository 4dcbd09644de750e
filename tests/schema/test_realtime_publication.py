"""The `supabase_realtime` publication on scratch databases in the stack's cluster: the local bootstrap creates it
empty, as the platform does, and a second bootstrap keeps it; the live-feedback migration publishes the runs and the
journal whatever state a real project's publication is in (a table already added from the dashboard, a publication
for all tables, none at all).

Each case copies a template database holding the bootstrap and every migration before the live-feedback one, applies
that migration as `supabase db push` would (the file's text in one transaction) and reads the catalog.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "supabase" / "local" / "bootstrap.sql"
MIGRATIONS = ROOT / "supabase" / "migrations"
LIVE_FEEDBACK = "20261201000500"
PUBLISHED = ["public.workflow_executions", "public.workflow_step_runs"]


def _url(base: str, database: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{database}"))


def _apply(conn: psycopg.Connection, path: Path) -> None:
    with conn.transaction():
        conn.execute(path.read_text())


def _published(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute("select schemaname || '.' || tablename from pg_publication_tables"
                        " where pubname = 'supabase_realtime' order by 1").fetchall()
    return [r[0] for r in rows]


def _publication(conn: psycopg.Connection) -> tuple | None:
    return conn.execute("select oid, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate from pg_publication"
                        " where pubname = 'supabase_realtime'").fetchone()


@pytest.fixture(scope="module")
def template(schema_db_url: str) -> Iterator[str]:
    """A database with the bootstrap and every migration before live feedback applied, used as a template."""
    name = f"pub_template_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(schema_db_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(_url(schema_db_url, name), autocommit=True) as conn:
            conn.execute(BOOTSTRAP.read_text())
            for path in sorted(MIGRATIONS.glob("*.sql")):
                if path.name.split("_", 1)[0] < LIVE_FEEDBACK:
                    _apply(conn, path)
        yield name
    finally:
        with psycopg.connect(schema_db_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


@pytest.fixture
def scratch(schema_db_url: str, template: str) -> Iterator[Callable[[], psycopg.Connection]]:
    """``scratch()``: an autocommit connection to a fresh copy of the template, dropped afterwards."""
    name = f"pub_case_{uuid.uuid4().hex[:8]}"
    conns: list[psycopg.Connection] = []
    with psycopg.connect(schema_db_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {} template {}").format(sql.Identifier(name), sql.Identifier(template)))

    def connect() -> psycopg.Connection:
        conn = psycopg.connect(_url(schema_db_url, name), autocommit=True)
        conns.append(conn)
        return conn

    yield connect
    for conn in conns:
        conn.close()
    with psycopg.connect(schema_db_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def _live_feedback() -> Path:
    (path,) = MIGRATIONS.glob(f"{LIVE_FEEDBACK}_*.sql")
    return path


def test_bootstrap_creates_the_publication_empty_and_keeps_it(scratch):
    conn = scratch()
    publication = _publication(conn)
    assert publication is not None and publication[1:] == (False, True, True, True, True)
    assert _published(conn) == []

    conn.execute(BOOTSTRAP.read_text())
    assert _publication(conn) == publication, "a second bootstrap is a no-op"

    _apply(conn, _live_feedback())
    conn.execute(BOOTSTRAP.read_text())
    assert _publication(conn) == publication
    assert _published(conn) == PUBLISHED, "bootstrapping again keeps the published tables"


def test_a_table_already_published_is_left_alone(scratch):
    conn = scratch()
    conn.execute("alter publication supabase_realtime add table public.workflow_executions")
    _apply(conn, _live_feedback())
    assert _published(conn) == PUBLISHED


def test_a_publication_for_all_tables_is_left_alone(scratch):
    conn = scratch()
    conn.execute("drop publication supabase_realtime")
    conn.execute("create publication supabase_realtime for all tables")
    _apply(conn, _live_feedback())
    publication = _publication(conn)
    assert publication is not None and publication[1] is True
    assert set(PUBLISHED) <= set(_published(conn))


def test_a_missing_publication_is_created_as_the_platform_would(scratch):
    conn = scratch()
    conn.execute("drop publication supabase_realtime")
    _apply(conn, _live_feedback())
    publication = _publication(conn)
    assert publication is not None and publication[1:] == (False, True, True, True, True)
    assert _published(conn) == PUBLISHED
