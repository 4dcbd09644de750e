"""Concurrent claims by separate sessions never hand out the same workflow event, the same event dispatch
(claim_event_dispatches()), or the same run (claim_runs() for the recovery tick, take_run() for an invocation).

Every claim_workflow_events(), claim_event_dispatches() and claim_runs() transaction here is rolled back, so
events, dispatches and runs the tests do not own (if any are due in a shared database) end up untouched; the
take_run() race commits on a run of its own.
"""

from __future__ import annotations

import json
import threading
import time
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


# -- durable runs: claim_runs() and take_run() ----------------------------------------------------------

def _make_due_runs(url: str, user_id: str, count: int) -> set[str]:
    """Commits `count` running runs whose lease expired, older than anything else in the database."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "insert into public.workflow_executions (user_id, status, attempt, lease_until, executed_at)"
            " select %s, 'running', 1, now() - interval '1 minute', now() - interval '1 day' - make_interval(secs => g)"
            " from generate_series(1, %s) g returning id::text", [user_id, count]).fetchall()
    return {r[0] for r in rows}


def _claim_runs(conn: psycopg.Connection, limit: int) -> list[tuple[str, str]]:
    return conn.execute("select id::text, action from public.claim_runs(%s, 60000, 5)", [limit]).fetchall()


def test_second_session_skips_runs_claimed_by_an_open_transaction(schema_db_url, schema_user):
    mine = _make_due_runs(schema_db_url, schema_user(), 6)
    with ExitStack() as stack:
        first = stack.enter_context(_service_session(schema_db_url))
        second = stack.enter_context(_service_session(schema_db_url))

        claimed_first = _claim_runs(first, 2)  # not committed: its row locks stay held
        claimed_second = _claim_runs(second, 1000)  # would block or duplicate without skip locked

        ids_first = {r[0] for r in claimed_first}
        ids_second = {r[0] for r in claimed_second}
        assert ids_first <= mine and len(ids_first) == 2, "the first claim takes the two oldest runs"
        assert ids_first.isdisjoint(ids_second), "a run was handed to both sessions"
        assert mine <= ids_first | ids_second, "every due run was handed to one of them"
        assert {action for _, action in claimed_first + claimed_second} == {"resume"}
        first.rollback()
        second.rollback()


def _user_session(url: str, user_id: str) -> psycopg.Connection:
    """A session acting as a signed-in user, the way PostgREST sets up a request."""
    conn = psycopg.connect(url)
    conn.execute("set local role authenticated")
    conn.execute("select set_config('request.jwt.claims', %s, true)",
                 [json.dumps({"sub": user_id, "role": "authenticated"})])
    conn.execute("set local statement_timeout = '10s'")
    return conn


def test_two_takes_of_the_same_attempt_hand_the_run_to_one(schema_db_url, schema_user):
    user_id = schema_user()
    with psycopg.connect(schema_db_url, autocommit=True) as conn:
        run_id = conn.execute("insert into public.workflow_executions (user_id, status) values (%s, 'queued')"
                              " returning id::text", [user_id]).fetchone()[0]
    take = "select attempt from public.take_run(%s, 0, 60000)"
    with ExitStack() as stack:
        first = stack.enter_context(_user_session(schema_db_url, user_id))
        second = stack.enter_context(_user_session(schema_db_url, user_id))
        second_pid = second.info.backend_pid
        assert first.execute(take, [run_id]).fetchall() == [(1,)]

        result: list = []
        errors: list[BaseException] = []

        def take_second() -> None:
            try:
                result.extend(second.execute(take, [run_id]).fetchall())
                second.commit()
            except BaseException as exc:  # surfaced in the main thread
                errors.append(exc)

        thread = threading.Thread(target=take_second)
        thread.start()
        # The second take waits on the first's row lock; commit the first only once it does.
        with psycopg.connect(schema_db_url, autocommit=True) as watcher:
            deadline = time.monotonic() + 10
            while not watcher.execute("select wait_event_type = 'Lock' from pg_stat_activity where pid = %s",
                                      [second_pid]).fetchone()[0]:
                assert time.monotonic() < deadline, "the second take_run() never waited for the first"
                time.sleep(0.02)
        first.commit()
        thread.join(timeout=15)
        assert not errors, errors
        assert result == [], "the second take of attempt 0 must find the run already taken"
    with psycopg.connect(schema_db_url, autocommit=True) as conn:
        assert conn.execute("select status, attempt from public.workflow_executions where id = %s",
                            [run_id]).fetchone() == ("running", 1)


# -- event dispatches: claim_event_dispatches() ---------------------------------------------------------

def _contact_workflows(url: str, user_id: str, count: int) -> set[str]:
    """Commits `count` active contact_update workflows of the user."""
    nodes = json.dumps([{"id": "trigger-1", "type": "trigger", "position": {"x": 0, "y": 0},
                         "data": {"triggerType": "contact_update", "config": {}}}])
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "insert into public.workflows (user_id, name, is_active, nodes) select %s, 'on update ' || g, true, %s"
            " from generate_series(1, %s) g returning id::text", [user_id, nodes, count]).fetchall()
    return {r[0] for r in rows}


def _commit_dispatches(url: str, user_id: str) -> set[int]:
    """What a committed claim leaves for the user's events: one due pending dispatch per event and workflow, the
    events done. Written by hand, so no claim commits on rows the tests do not own."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "insert into public.workflow_event_dispatches (event_id, workflow_id, user_id)"
            " select e.id, w.id, w.user_id from public.workflow_events e"
            " join public.workflows w on w.user_id = e.user_id where e.user_id = %s returning id", [user_id]).fetchall()
        conn.execute("update public.workflow_events set status = 'done', processed_at = now() where user_id = %s",
                     [user_id])
    return {r[0] for r in rows}


def _claim_dispatches(conn: psycopg.Connection, limit: int) -> list[tuple[int, int, str, int]]:
    return conn.execute(
        "select dispatch_id, event_id, workflow_id::text, attempts from public.claim_event_dispatches(%s)",
        [limit]).fetchall()


def test_second_session_skips_dispatches_claimed_by_an_open_transaction(schema_db_url, schema_user):
    user_id = schema_user()
    _contact_workflows(schema_db_url, user_id, 2)
    _make_events(schema_db_url, user_id, 6)
    mine = _commit_dispatches(schema_db_url, user_id)
    assert len(mine) == 12, "fixture: two dispatches per event"
    with ExitStack() as stack:
        first = stack.enter_context(_service_session(schema_db_url))
        second = stack.enter_context(_service_session(schema_db_url))

        claimed_first = _claim_dispatches(first, 5)  # not committed: its row locks stay held
        claimed_second = _claim_dispatches(second, 1000)  # would block or duplicate without skip locked

        ids_first = {r[0] for r in claimed_first}
        ids_second = {r[0] for r in claimed_second}
        assert len(claimed_first) == 5
        assert ids_first.isdisjoint(ids_second), "a dispatch was handed to both sessions"
        assert mine <= ids_first | ids_second, "every due dispatch was handed to one of them"
        assert all(attempts == 1 for dispatch_id, *_, attempts in claimed_first + claimed_second if dispatch_id in mine)
        first.rollback()
        second.rollback()


def test_many_simultaneous_dispatch_claims_are_disjoint(schema_db_url, schema_user):
    # Committed dispatches to hand out, and pending events each session may turn into dispatches of its own.
    user_id = schema_user()
    workflows = _contact_workflows(schema_db_url, user_id, 2)
    _make_events(schema_db_url, user_id, 6)
    committed = _commit_dispatches(schema_db_url, user_id)
    with psycopg.connect(schema_db_url, autocommit=True) as conn:
        conn.execute("update public.contacts set name = 'changed again' where user_id = %s", [user_id])
        pending = {r[0] for r in conn.execute(
            "select id from public.workflow_events where user_id = %s and status = 'pending'", [user_id]).fetchall()}
    assert len(pending) == 6
    sessions = 4
    barrier = threading.Barrier(sessions)
    done = threading.Barrier(sessions)
    results: dict[int, list[tuple[int, int, str, int]]] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            with _service_session(schema_db_url) as conn:
                barrier.wait(timeout=10)  # fire the claims together
                results[n] = _claim_dispatches(conn, 6)
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

    rows = [row for claimed in results.values() for row in claimed]
    ids = [r[0] for r in rows]
    pairs = [(r[1], r[2]) for r in rows]
    assert len(ids) == len(set(ids)), f"a dispatch was handed out twice: {results}"
    assert len(pairs) == len(set(pairs)), f"an event was dispatched to a workflow twice: {results}"
    # Due committed dispatches come first (oldest due first), and 4 x 6 slots exceed the 12 of them.
    assert committed <= set(ids)
    assert {workflow_id for _, event_id, workflow_id, _ in rows if event_id in pending} <= workflows


def test_rolled_back_dispatch_claims_leave_events_pending_and_no_dispatch(schema_db_url, schema_user):
    user_id = schema_user()
    _contact_workflows(schema_db_url, user_id, 2)
    mine = _make_events(schema_db_url, user_id, 3)
    with _service_session(schema_db_url) as conn:
        claimed = _claim_dispatches(conn, 1000)
        assert mine <= {r[1] for r in claimed}, "the claim turned the events into dispatches and handed them out"
        conn.rollback()
    with psycopg.connect(schema_db_url, autocommit=True) as conn:
        events = conn.execute("select status, attempts from public.workflow_events where user_id = %s",
                              [user_id]).fetchall()
        dispatches = conn.execute("select count(*) from public.workflow_event_dispatches where user_id = %s",
                                  [user_id]).fetchone()[0]
    assert events == [("pending", 0)] * 3
    assert dispatches == 0
