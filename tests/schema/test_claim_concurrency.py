"""Concurrent claims of workflow events by separate sessions never hand out the same event.

Every claiming transaction here is rolled back, so events the tests do not own
(if any are pending in a shared database) end up untouched.
"""

from __future__ import annotations

import threading
from contextlib import ExitStack

import psycopg

EVENTS = 12


def _make_events(url: str, user_id: str, count: int) -> set[int]:
    """Commits `count` contact_update events for the user, written by the real trigger."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into public.contacts (user_id, email) select %s, 'c' || g || '@schema.test' "
            "from generate_series(1, %s) g", [user_id, count])
        conn.execute("update public.contacts set name = 'changed' where user_id = %s", [user_id])
        rows = conn.execute("select id from public.workflow_events where user_id = %s", [user_id]).fetchall()
    assert len(rows) == count, "fixture: one event per updated contact"
    return {r[0] for r in rows}


def _service_session(url: str) -> psycopg.Connection:
    """A session acting as the dispatcher; a claim that waited on another's lock would hit the timeout."""
    conn = psycopg.connect(url)
    conn.execute("set local role service_role")
    conn.execute("set local statement_timeout = '5s'")
    return conn


def _claim(conn: psycopg.Connection, limit: int) -> list[tuple[int, str, int]]:
    return conn.execute(
        "select id, status, attempts from public.claim_workflow_events(%s)", [limit]).fetchall()


def test_second_session_skips_events_claimed_by_an_open_transaction(schema_db_url, schema_user):
    mine = _make_events(schema_db_url, schema_user(), EVENTS)
    with ExitStack() as stack:
        first = stack.enter_context(_service_session(schema_db_url))
        second = stack.enter_context(_service_session(schema_db_url))

        claimed_first = _claim(first, 5)  # not committed: its row locks stay held
        claimed_second = _claim(second, 1000)  # would block or duplicate without skip locked

        ids_first = {r[0] for r in claimed_first}
        ids_second = {r[0] for r in claimed_second}
        assert len(claimed_first) == 5
        assert ids_first.isdisjoint(ids_second), "an event was handed to both sessions"
        assert mine <= ids_first | ids_second, "every pending event was claimed by one of them"
        assert all(status == "processing" and attempts >= 1 for _, status, attempts in claimed_first + claimed_second)
        first.rollback()
        second.rollback()


def test_many_simultaneous_claims_are_disjoint(schema_db_url, schema_user):
    mine = _make_events(schema_db_url, schema_user(), EVENTS)
    sessions = 4
    barrier = threading.Barrier(sessions)
    done = threading.Barrier(sessions)
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with _service_session(schema_db_url) as conn:
                barrier.wait(timeout=10)  # fire the claims together
                results[n] = [r[0] for r in _claim(conn, 4)]
                done.wait(timeout=10)  # hold every lock until all have claimed
                conn.rollback()
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
            barrier.abort()
            done.abort()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert len(results) == sessions

    claimed = [event_id for ids in results.values() for event_id in ids]
    assert len(claimed) == len(set(claimed)), f"an event was claimed twice: {results}"
    # 4 sessions x 4 = 16 >= the 12 events: all of them are claimed, each once
    # (unless more than 4 other events happen to be pending in the database).
    assert EVENTS <= len(claimed) <= sessions * 4
    assert mine <= set(claimed)


def test_rolled_back_claims_leave_events_pending(schema_db_url, schema_user):
    user_id = schema_user()
    mine = _make_events(schema_db_url, user_id, 3)
    with _service_session(schema_db_url) as conn:
        assert mine <= {r[0] for r in _claim(conn, 1000)}
        conn.rollback()
    with psycopg.connect(schema_db_url, autocommit=True) as conn:
        rows = conn.execute("select status, attempts, claimed_at from public.workflow_events where user_id = %s",
                            [user_id]).fetchall()
    assert rows == [("pending", 0, None)] * 3
