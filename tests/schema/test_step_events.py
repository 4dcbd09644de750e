"""workflow_step_runs.seq beyond one session: journal_steps() calls for one run are serialized by the run lock before
they draw a value (so within a run seq order is commit order, and a stream that has seen seq n never later finds a
smaller one committed), calls for different runs are not; the migration numbers existing rows in journal order
without touching updated_at; and the stream's read (select seq, seq=gt.N, order=seq.asc) through the gateway.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
BOOTSTRAP = ROOT / "supabase" / "local" / "bootstrap.sql"
MIGRATIONS = ROOT / "supabase" / "migrations"
STEP_EVENTS = "20261201000600"
SEQUENCE = "public.workflow_step_runs_seq_seq"


def _run_of(db, user_id: str) -> str:
    row = db.execute("insert into public.workflow_executions (user_id, status) values (%s, 'running') returning id::text",
                     [user_id]).fetchone()
    return row[0]


def _as_user(url: str, user_id: str) -> psycopg.Connection:
    """A session acting as the user the way PostgREST does, in an open transaction."""
    conn = psycopg.connect(url)
    conn.execute("select set_config('role', 'authenticated', true),"
                 " set_config('request.jwt.claims', %s, true)",
                 [json.dumps({"sub": user_id, "role": "authenticated", "aud": "authenticated"})])
    return conn


def _journal(conn: psycopg.Connection, run: str, node: str, status: str = "running") -> None:
    steps = [{"node_id": node, "status": status, "attempts": 0, "result": {"nodeId": node, "status": status}}]
    conn.execute("select * from public.journal_steps(%s, %s::jsonb, 30000)", [run, json.dumps(steps)])


def _seq(db, run: str, node: str) -> int:
    return db.execute("select seq from public.workflow_step_runs where execution_id = %s and node_id = %s",
                      [run, node]).fetchone()[0]


def _last_drawn(db) -> int:
    return db.execute(f"select last_value from {SEQUENCE}").fetchone()[0]


def _waiting_on_a_lock(db, pid: int, deadline_s: float = 10) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        row = db.execute("select wait_event_type from pg_stat_activity where pid = %s", [pid]).fetchone()
        if row and row[0] == "Lock":
            return True
        time.sleep(0.02)
    return False


def test_a_second_write_of_the_same_run_waits_for_the_first_before_it_draws_a_seq(schema_db_url, db, schema_user):
    user = schema_user()
    run, other_run = _run_of(db, user), _run_of(db, user)
    with _as_user(schema_db_url, user) as first, _as_user(schema_db_url, user) as second, \
            _as_user(schema_db_url, user) as elsewhere:
        _journal(first, run, "a")  # not committed: holds the run's lock
        drawn = _last_drawn(db)

        # Another run of the same user is not held up.
        elsewhere.execute("set local lock_timeout = '2s'")
        _journal(elsewhere, other_run, "x")
        elsewhere.commit()
        drawn = _last_drawn(db)

        errors: list[BaseException] = []

        def write() -> None:
            try:
                _journal(second, run, "b")
                second.commit()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        second.execute("set local statement_timeout = '20s'")  # never hangs the suite
        thread = threading.Thread(target=write)
        thread.start()
        try:
            waited = _waiting_on_a_lock(db, second.info.backend_pid)
            drawn_while_waiting = _last_drawn(db)
        finally:
            first.commit()  # before anything else touches `second`, whose query holds its connection
            thread.join(timeout=30)
        assert not thread.is_alive() and not errors, errors
        assert waited, "the second write of the run did not wait"
        assert drawn_while_waiting == drawn, "the waiting write drew a seq before it had the run"
    assert _seq(db, run, "b") > _seq(db, run, "a"), "the write committed second is numbered after the first"


def test_the_stream_read_through_the_gateway(stack_env, make_user, mint, db):
    user = make_user()
    run = _run_of(db, user)

    def call(method: str, path: str, **kwargs) -> requests.Response:
        headers = {"apikey": stack_env.anon_key, "Authorization": f"Bearer {mint(user)}"}
        return requests.request(method, f"{stack_env.rest_url}/{path}", headers=headers, timeout=30, **kwargs)

    def journal(*steps: tuple[str, str]) -> None:
        body = [{"node_id": n, "status": s, "attempts": 0, "result": {"nodeId": n, "status": s}} for n, s in steps]
        res = call("POST", "rpc/journal_steps", json={"p_execution_id": run, "p_steps": body, "p_lease_ms": 30000})
        assert res.status_code == 200, res.text

    def read(after: int) -> list[tuple[str, str, int]]:
        res = call("GET", f"workflow_step_runs?select=node_id,status,seq&execution_id=eq.{run}"
                          f"&seq=gt.{after}&order=seq.asc")
        assert res.status_code == 200, res.text
        return [(r["node_id"], r["status"], r["seq"]) for r in res.json()]

    journal(("trigger", "succeeded"), ("s1", "running"))
    first = read(0)
    assert [(n, s) for n, s, _ in first] == [("trigger", "succeeded"), ("s1", "running")]
    assert all(isinstance(seq, int) for _, _, seq in first) and first[0][2] < first[1][2]
    last = first[-1][2]
    journal(("s1", "succeeded"), ("s2", "running"))
    later = read(last)
    assert [(n, s) for n, s, _ in later] == [("s1", "succeeded"), ("s2", "running")], \
        "above the last seq: the step that settled since, and the one that started"
    assert later[0][2] > last
    assert [(n, s) for n, s, _ in read(0)] == [("trigger", "succeeded"), ("s1", "succeeded"), ("s2", "running")], \
        "a full read holds each row once, in its current state, in seq order"


def _url(base: str, database: str) -> str:
    return urlunsplit(urlsplit(base)._replace(path=f"/{database}"))


@pytest.fixture
def before_step_events(schema_db_url: str) -> Iterator[psycopg.Connection]:
    """A scratch database with the bootstrap and every migration before this one, dropped afterwards."""
    name = f"seq_case_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(schema_db_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(_url(schema_db_url, name), autocommit=True) as conn:
            conn.execute(BOOTSTRAP.read_text())
            for path in sorted(MIGRATIONS.glob("*.sql")):
                if path.name.split("_", 1)[0] < STEP_EVENTS:
                    with conn.transaction():
                        conn.execute(path.read_text())
            yield conn
    finally:
        with psycopg.connect(schema_db_url, autocommit=True) as admin:
            admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_the_migration_numbers_existing_rows_in_journal_order(before_step_events):
    conn = before_step_events
    user = str(uuid.uuid4())
    conn.execute("insert into auth.users (id, email) values (%s, 'seq@schema.test')", [user])
    runs = [conn.execute("insert into public.workflow_executions (user_id, status) values (%s, 'succeeded')"
                         " returning id::text", [user]).fetchone()[0] for _ in range(2)]
    # Inserted out of journal order, with updated_at in the past.
    rows = [(runs[1], "late", "10:00:03"), (runs[0], "b", "10:00:02"), (runs[0], "a", "10:00:01"),
            (runs[1], "early", "10:00:00")]
    for run, node, at in rows:
        conn.execute("insert into public.workflow_step_runs (execution_id, user_id, node_id, status, result,"
                     " created_at, updated_at) values (%s, %s, %s, 'succeeded', '{}',"
                     " %s::timestamptz, %s::timestamptz)", [run, user, node, f"2026-11-30T{at}Z", f"2026-11-30T{at}Z"])
    before = dict(conn.execute("select node_id, updated_at from public.workflow_step_runs").fetchall())

    (path,) = MIGRATIONS.glob(f"{STEP_EVENTS}_*.sql")
    with conn.transaction():
        conn.execute(path.read_text())

    numbered = conn.execute("select node_id, seq from public.workflow_step_runs order by seq").fetchall()
    assert numbered == [("early", 1), ("a", 2), ("b", 3), ("late", 4)], "numbered by (created_at, id)"
    assert dict(conn.execute("select node_id, updated_at from public.workflow_step_runs").fetchall()) == before, \
        "numbering is not a change of the steps: updated_at stays"
    conn.execute("update public.workflow_executions set status = 'running' where id = %s", [runs[0]])
    conn.execute("select set_config('role', 'authenticated', false),"
                 " set_config('request.jwt.claims', %s, false)",
                 [json.dumps({"sub": user, "role": "authenticated", "aud": "authenticated"})])
    _journal(conn, runs[0], "c", "succeeded")
    conn.execute("reset role")
    assert _seq(conn, runs[0], "c") == 5, "new writes continue after the backfilled numbers"
