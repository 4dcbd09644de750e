"""The statistics and retention calls as the worker and a scheduled job make them, through the local gateway:
POST (or GET) /rest/v1/rpc/workflow_stats and all_workflow_stats with a user's token, prune_executions with the
service role's key.

What the worker relies on: workflow_stats answers the JSON object itself, or a bare ``null`` for a workflow the
caller cannot see (its 404); all_workflow_stats answers an array; a p_days out of 1..365 is PostgREST's 400 with
code 22023. The values themselves are checked field by field in supabase/tests/15_live_feedback.sql.
"""

from __future__ import annotations

import pytest
import requests

SUMMARY_KEYS = {"runs", "succeeded", "failed", "success_rate", "duration_ms", "last_run_at", "by_day"}


@pytest.fixture
def rest(stack_env):
    """``rest(bearer)(method, path, **kw)``: calls /rest/v1 with the anon key and that bearer token (or none)."""
    def as_(bearer: str | None):
        def call(method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
            hdrs = {"apikey": stack_env.anon_key, **({"Authorization": f"Bearer {bearer}"} if bearer else {}),
                    **(headers or {})}
            return requests.request(method, f"{stack_env.rest_url}/{path}", headers=hdrs, timeout=30, **kwargs)
        return call
    return as_


@pytest.fixture
def owner(rest, make_user, mint):
    """A user with workflow "Stats" and three runs of it: succeeded 100 ms, failed 300 ms, still running."""
    uid = make_user()
    call = rest(mint(uid))
    res = call("POST", "workflows", json={"name": "Stats"}, headers={"Prefer": "return=representation"})
    assert res.status_code == 201, res.text
    workflow_id = res.json()[0]["id"]
    runs = [{"workflow_id": workflow_id, "status": "succeeded", "execution_time_ms": 100},
            {"workflow_id": workflow_id, "status": "failed", "execution_time_ms": 300},
            {"workflow_id": workflow_id, "status": "running"}]
    for run in runs:
        assert call("POST", "workflow_executions", json=run).status_code == 201
    return uid, call, workflow_id


def test_workflow_stats_answers_the_object(owner):
    _, call, workflow_id = owner
    res = call("POST", "rpc/workflow_stats", json={"p_workflow_id": workflow_id})
    assert res.status_code == 200, res.text
    body = res.json()
    assert set(body) == SUMMARY_KEYS | {"by_node"}
    assert (body["runs"], body["succeeded"], body["failed"]) == (3, 1, 1)
    assert body["success_rate"] == pytest.approx(1 / 3)
    assert body["duration_ms"] == {"p50": 100, "p95": 300, "max": 300}
    assert body["by_node"] == [] and [d["runs"] for d in body["by_day"]] == [3]


def test_workflow_stats_is_readable_with_get(owner):
    # Stable, so PostgREST may run it in a read-only transaction.
    _, call, workflow_id = owner
    res = call("GET", f"rpc/workflow_stats?p_workflow_id={workflow_id}&p_days=7")
    assert res.status_code == 200 and res.json()["runs"] == 3, res.text


def test_someone_elses_workflow_is_null(owner, rest, make_user, mint):
    _, _, workflow_id = owner
    other = rest(mint(make_user()))
    res = other("POST", "rpc/workflow_stats", json={"p_workflow_id": workflow_id})
    assert res.status_code == 200 and res.text == "null", res.text
    assert other("POST", "rpc/all_workflow_stats", json={}).json() == []


def test_days_out_of_range_is_400_22023(owner):
    _, call, workflow_id = owner
    for days in (0, 366):
        res = call("POST", "rpc/workflow_stats", json={"p_workflow_id": workflow_id, "p_days": days})
        assert res.status_code == 400 and res.json()["code"] == "22023", res.text
        res = call("POST", "rpc/all_workflow_stats", json={"p_days": days})
        assert res.status_code == 400 and res.json()["code"] == "22023", res.text


def test_all_workflow_stats_answers_one_summary_per_workflow(owner):
    _, call, workflow_id = owner
    assert call("POST", "workflows", json={"name": "Another"}).status_code == 201
    res = call("POST", "rpc/all_workflow_stats", json={})
    assert res.status_code == 200, res.text
    body = res.json()
    assert [(s["name"], s["runs"]) for s in body] == [("Another", 0), ("Stats", 3)]
    assert all(set(s) == SUMMARY_KEYS | {"workflowId", "name"} for s in body)
    assert body[1]["workflowId"] == workflow_id


def test_the_statistics_are_refused_to_anon(rest):
    res = rest(None)("POST", "rpc/all_workflow_stats", json={})
    assert res.status_code == 401 and res.json()["code"] == "42501", res.text


def test_prune_executions_is_for_the_service_role(owner, rest, stack_env, db):
    uid, call, workflow_id = owner
    args = {"p_days": 36500, "p_limit": 100}
    res = call("POST", "rpc/prune_executions", json=args)
    assert res.status_code == 403 and res.json()["code"] == "42501", res.text
    res = rest(None)("POST", "rpc/prune_executions", json=args)
    assert res.status_code == 401 and res.json()["code"] == "42501", res.text

    # Older than any other test's rows, so pruning past 100 years touches this one run only.
    ancient = db.execute(
        "insert into public.workflow_executions (workflow_id, user_id, status, executed_at, finished_at)"
        " values (%s, %s, 'succeeded', now() - interval '40000 days', now() - interval '40000 days') returning id",
        [workflow_id, uid]).fetchone()[0]
    service = rest(stack_env.service_key)
    res = service("POST", "rpc/prune_executions", json={"p_days": 0, "p_limit": 100})
    assert res.status_code == 200 and res.json() == 0, res.text
    res = service("POST", "rpc/prune_executions", json=args)
    assert res.status_code == 200 and res.json() == 1, res.text
    assert db.execute("select count(*) from public.workflow_executions where id = %s", [ancient]).fetchone()[0] == 0
    assert db.execute("select count(*) from public.workflow_executions where user_id = %s", [uid]).fetchone()[0] == 3
