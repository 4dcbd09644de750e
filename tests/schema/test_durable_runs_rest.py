"""The durable-run calls as the worker makes them: POST /rest/v1/rpc/journal_steps, take_run and cancel_run with a
user's token through the local gateway (a jsonb argument, a table-returning and two setof-row functions), and the
step keys' 409 on a second insert.

What the worker relies on: every one of these answers a JSON array (one object per row, ``[]`` when nothing
matched); ``Accept: application/vnd.pgrst.object+json`` turns a one-row answer into the object itself and an empty
one into 406 PGRST116.
"""

from __future__ import annotations

import pytest
import requests

OBJECT = "application/vnd.pgrst.object+json"


@pytest.fixture
def caller(stack_env, make_user, mint):
    """``caller()``: a fresh user (id, call) whose ``call(method, path, **kw)`` sends their token to /rest/v1."""
    def make(token: str | None = "mint"):
        uid = make_user()
        bearer = mint(uid) if token == "mint" else token

        def call(method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
            hdrs = {"apikey": stack_env.anon_key, **({"Authorization": f"Bearer {bearer}"} if bearer else {}),
                    **(headers or {})}
            return requests.request(method, f"{stack_env.rest_url}/{path}", headers=hdrs, timeout=30, **kwargs)
        return uid, call
    return make


def _new_run(call, **row) -> dict:
    res = call("POST", "workflow_executions", json=row, headers={"Prefer": "return=representation"})
    assert res.status_code == 201, res.text
    return res.json()[0]


def _steps(db, execution_id: str) -> list[tuple]:
    return db.execute("select node_id, item_index, status, attempts, output, result from public.workflow_step_runs"
                      " where execution_id = %s order by node_id, item_index", [execution_id]).fetchall()


def test_journal_steps_takes_a_json_array_and_answers_the_runs_status(caller, db):
    _, a = caller()
    run = _new_run(a, status="running")
    steps = [
        {"node_id": "trigger", "status": "succeeded", "attempts": 1, "output": {"email": "x@acme.example"},
         "result": {"nodeId": "trigger", "status": "succeeded", "output": {"email": "x@acme.example"}},
         "started_at": "2026-12-01T10:00:00Z", "finished_at": "2026-12-01T10:00:01Z"},
        {"node_id": "loop", "item_index": 0, "status": "running", "attempts": 1, "result": {"nodeId": "loop"}},
    ]
    res = a("POST", "rpc/journal_steps", json={"p_execution_id": run["id"], "p_steps": steps, "p_lease_ms": 30000})
    assert res.status_code == 200, res.text
    body = res.json()
    assert [set(row) for row in body] == [{"status", "lease_until"}]
    assert body[0]["status"] == "running" and body[0]["lease_until"] is not None
    assert _steps(db, run["id"]) == [
        ("loop", 0, "running", 1, None, {"nodeId": "loop"}),
        ("trigger", -1, "succeeded", 1, {"email": "x@acme.example"}, steps[0]["result"]),
    ]

    # A resumed invocation reports the settled step again: nothing changes; the running one settles.
    again = [{**steps[0], "status": "failed", "error": "late", "result": {"late": True}},
             {**steps[1], "status": "succeeded", "output": [1], "result": {"nodeId": "loop", "done": True}}]
    res = a("POST", "rpc/journal_steps", json={"p_execution_id": run["id"], "p_steps": again, "p_lease_ms": 30000})
    assert res.status_code == 200, res.text
    assert _steps(db, run["id"]) == [
        ("loop", 0, "succeeded", 1, [1], {"nodeId": "loop", "done": True}),
        ("trigger", -1, "succeeded", 1, {"email": "x@acme.example"}, steps[0]["result"]),
    ]


def test_journal_steps_on_someone_elses_run_is_an_empty_array(caller, db):
    _, a = caller()
    _, b = caller()
    run = _new_run(a, status="running")
    res = b("POST", "rpc/journal_steps", json={
        "p_execution_id": run["id"], "p_lease_ms": 30000,
        "p_steps": [{"node_id": "evil", "status": "succeeded", "attempts": 1, "result": {}}]})
    assert res.status_code == 200 and res.json() == [], res.text
    assert _steps(db, run["id"]) == []
    assert b("GET", f"workflow_step_runs?execution_id=eq.{run['id']}").json() == []


def test_journal_steps_refuses_a_non_array_with_400(caller):
    _, a = caller()
    run = _new_run(a, status="running")
    res = a("POST", "rpc/journal_steps", json={"p_execution_id": run["id"], "p_steps": {"node_id": "x"},
                                               "p_lease_ms": 30000})
    assert res.status_code == 400 and res.json()["code"] == "22023", res.text


def test_take_run_answers_the_row_once_per_attempt(caller):
    _, a = caller()
    run = _new_run(a, status="queued")
    args = {"p_execution_id": run["id"], "p_expected_attempt": 0, "p_lease_ms": 60000}
    first = a("POST", "rpc/take_run", json=args)
    assert first.status_code == 200, first.text
    [row] = first.json()
    assert row["id"] == run["id"] and row["status"] == "running" and row["attempt"] == 1
    assert row["lease_until"] is not None and row["resume_at"] is None
    assert {"workflow_snapshot", "workflow_version", "stop_reason", "trigger_data"} <= set(row)

    redelivered = a("POST", "rpc/take_run", json=args)
    assert redelivered.status_code == 200 and redelivered.json() == [], redelivered.text
    # Asked for an object, the same miss is 406 PGRST116; a hit is the row itself.
    single = a("POST", "rpc/take_run", json=args, headers={"Accept": OBJECT})
    assert single.status_code == 406 and single.json()["code"] == "PGRST116", single.text
    single = a("POST", "rpc/take_run", json={**args, "p_expected_attempt": 1}, headers={"Accept": OBJECT})
    assert single.status_code == 200 and single.json()["attempt"] == 2, single.text


def test_cancel_run_answers_the_cancelled_row_then_nothing(caller):
    _, a = caller()
    _, b = caller()
    run = _new_run(a, status="running")
    assert b("POST", "rpc/cancel_run", json={"p_execution_id": run["id"]}).json() == []
    res = a("POST", "rpc/cancel_run", json={"p_execution_id": run["id"]})
    assert res.status_code == 200, res.text
    [row] = res.json()
    assert (row["status"], row["stop_reason"], row["success"], row["lease_until"]) == \
        ("cancelled", "cancelled by the user", False, None)
    assert row["finished_at"] is not None
    assert a("POST", "rpc/cancel_run", json={"p_execution_id": run["id"]}).json() == []
    res = a("POST", "rpc/journal_steps", json={"p_execution_id": run["id"], "p_steps": [], "p_lease_ms": 1000})
    assert res.json() == [{"status": "cancelled", "lease_until": None}]


def test_the_run_calls_are_post_only(caller):
    # Volatile: PostgREST runs GET in a read-only transaction.
    _, a = caller()
    run = _new_run(a, status="running")
    res = a("GET", f"rpc/cancel_run?p_execution_id={run['id']}")
    assert res.status_code == 405 and res.json()["code"] == "25006", res.text


def test_claim_runs_is_refused_to_users_and_anon(caller):
    _, a = caller()
    args = {"p_limit": 10, "p_lease_ms": 60000, "p_max_recoveries": 3}
    res = a("POST", "rpc/claim_runs", json=args)
    assert res.status_code == 403 and res.json()["code"] == "42501", res.text
    _, anon = caller(token=None)
    res = anon("POST", "rpc/claim_runs", json=args)
    assert res.status_code == 401 and res.json()["code"] == "42501", res.text


@pytest.mark.parametrize(("table", "row"), [
    ("deals", {"title": "Deal"}),
    ("notifications", {"title": "Hello"}),
    ("email_outbox", {"recipient": "lead@acme.example", "subject": "Hello", "body": "text"}),
])
def test_a_second_row_for_a_step_key_is_409_23505(caller, db, table, row):
    a_id, a = caller()
    _, b = caller()
    key = "3f0c1a52-0000-4000-8000-000000000001:node_1"
    first = a("POST", table, json={**row, "step_key": key}, headers={"Prefer": "return=representation"})
    assert first.status_code == 201, first.text
    second = a("POST", table, json={**row, "step_key": key})
    assert second.status_code == 409 and second.json()["code"] == "23505", second.text
    # The worker then reads the first row back by its key.
    found = a("GET", f"{table}?step_key=eq.{key}&select=id")
    assert found.json() == [{"id": first.json()[0]["id"]}]
    assert b("POST", table, json={**row, "step_key": key}).status_code == 201
    assert db.execute(f"select count(*) from public.{table} where user_id = %s", [a_id]).fetchone()[0] == 1
