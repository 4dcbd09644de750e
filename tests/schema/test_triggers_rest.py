"""The trigger calls and the causing run as clients make them through /rest/v1 (the local gateway, as PostgREST):
a write sent by a run carries ``x-edgeflow-execution: <run id>``, which the outbox triggers read from
``request.headers``; ``rotate_trigger_key`` with a user's token; ``hook_target`` and ``finish_event_dispatch``
with the service role key, refused to everyone else.

No call here commits a claim (claim_event_dispatches() would take events of other suites' users too).
"""

from __future__ import annotations

import uuid

import pytest
import requests

HEADER = "x-edgeflow-execution"


def _nodes(trigger_type: str) -> list[dict]:
    return [{"id": "trigger-1", "type": "trigger", "position": {"x": 0, "y": 0},
             "data": {"triggerType": trigger_type, "config": {}}}]


@pytest.fixture
def caller(stack_env, make_user, mint):
    """``caller()``: a fresh user (id, call) whose ``call(method, path, **kw)`` sends their token to /rest/v1."""
    def make():
        uid = make_user()
        token = mint(uid)

        def call(method: str, path: str, headers: dict | None = None, **kwargs) -> requests.Response:
            hdrs = {"apikey": stack_env.anon_key, "Authorization": f"Bearer {token}", **(headers or {})}
            return requests.request(method, f"{stack_env.rest_url}/{path}", headers=hdrs, timeout=30, **kwargs)
        return uid, call
    return make


@pytest.fixture
def service(stack_env):
    """The dispatcher: the service role key as apikey and bearer."""
    def call(method: str, path: str, **kwargs) -> requests.Response:
        hdrs = {"apikey": stack_env.service_key, "Authorization": f"Bearer {stack_env.service_key}"}
        return requests.request(method, f"{stack_env.rest_url}/{path}", headers=hdrs, timeout=30, **kwargs)
    return call


def _created(res: requests.Response) -> dict:
    assert res.status_code == 201, res.text
    return res.json()[0]


def _workflow(call, trigger_type: str, active: bool = True) -> dict:
    return _created(call("POST", "workflows", json={"name": f"On {trigger_type}", "is_active": active,
                                                    "nodes": _nodes(trigger_type)},
                         headers={"Prefer": "return=representation"}))


def _run(call, workflow_id: str) -> dict:
    return _created(call("POST", "workflow_executions", json={"workflow_id": workflow_id, "status": "running"},
                         headers={"Prefer": "return=representation"}))


def _events(db, user_id: str) -> list[tuple]:
    return db.execute("select event_type, new_record ->> 'name', caused_by_execution::text, chain_depth"
                      " from public.workflow_events where user_id = %s order by id", [user_id]).fetchall()


def test_an_update_sent_by_a_run_records_the_run_on_its_event(caller, db):
    a_id, a = caller()
    _, b = caller()
    run = _run(a, _workflow(a, "contact_update")["id"])
    b_run = _run(b, _workflow(b, "contact_update")["id"])
    contact = _created(a("POST", "contacts", json={"email": "lead@acme.example", "name": "Lead"},
                         headers={"Prefer": "return=representation"}))

    def patch(name: str, header: str | None) -> None:
        res = a("PATCH", f"contacts?id=eq.{contact['id']}", json={"name": name},
                headers={HEADER: header} if header is not None else {})
        assert res.status_code == 204, res.text

    patch("by the run", run["id"])
    patch("by a person", None)
    patch("naming B's run", b_run["id"])
    patch("naming nothing", "not-a-uuid")
    patch("naming no run", str(uuid.uuid4()))
    assert _events(db, a_id) == [
        ("contact_update", "by the run", run["id"], 1),
        ("contact_update", "by a person", None, 0),
        ("contact_update", "naming B's run", None, 0),
        ("contact_update", "naming nothing", None, 0),
        ("contact_update", "naming no run", None, 0),
    ]


def test_a_deal_won_by_a_child_run_is_one_deeper(caller, db):
    a_id, a = caller()
    workflow = _workflow(a, "deal_won")
    parent = _run(a, workflow["id"])
    # The worker names only the parent; the database derives the depth, whatever the client sends.
    child = _created(a("POST", "workflow_executions",
                       json={"workflow_id": workflow["id"], "parent_execution_id": parent["id"], "chain_depth": 0},
                       headers={"Prefer": "return=representation"}))
    assert (child["parent_execution_id"], child["chain_depth"]) == (parent["id"], 1)
    res = a("POST", "deals", json={"title": "Big one", "stage": "won"}, headers={HEADER: child["id"]})
    assert res.status_code == 201, res.text
    rows = db.execute("select event_type, caused_by_execution::text, chain_depth from public.workflow_events"
                      " where user_id = %s", [a_id]).fetchall()
    assert rows == [("deal_won", child["id"], 2)]


def test_rotate_trigger_key_answers_the_workflow_with_a_new_key(caller, service):
    _, a = caller()
    _, b = caller()
    workflow = _workflow(a, "form_submit")
    found = service("POST", "rpc/hook_target", json={"p_trigger_key": workflow["trigger_key"]})
    target = [{"workflow_id": workflow["id"], "user_id": workflow["user_id"]}]
    assert found.status_code == 200 and found.json() == target

    assert b("POST", "rpc/rotate_trigger_key", json={"p_workflow_id": workflow["id"]}).json() == []
    res = a("POST", "rpc/rotate_trigger_key", json={"p_workflow_id": workflow["id"]})
    assert res.status_code == 200, res.text
    [row] = res.json()
    assert row["id"] == workflow["id"] and row["trigger_key"] != workflow["trigger_key"]
    assert len(row["trigger_key"]) == 64
    assert service("POST", "rpc/hook_target", json={"p_trigger_key": workflow["trigger_key"]}).json() == []
    assert service("POST", "rpc/hook_target", json={"p_trigger_key": row["trigger_key"]}).json() == target


def test_hook_target_finds_only_active_form_workflows(caller, service):
    _, a = caller()
    for workflow in (_workflow(a, "form_submit", active=False), _workflow(a, "contact_update")):
        assert service("POST", "rpc/hook_target", json={"p_trigger_key": workflow["trigger_key"]}).json() == []
    assert service("POST", "rpc/hook_target", json={"p_trigger_key": "x" * 64}).json() == []


@pytest.mark.parametrize(("function", "args"), [
    ("hook_target", {"p_trigger_key": "x" * 64}),
    ("claim_event_dispatches", {"p_limit": 10}),
    ("finish_event_dispatch", {"p_dispatch_id": 1, "p_status": "started", "p_execution_id": None, "p_error": None}),
])
def test_the_dispatcher_calls_are_refused_to_users_and_anon(caller, stack_env, function, args):
    _, a = caller()
    res = a("POST", f"rpc/{function}", json=args)
    assert res.status_code == 403 and res.json()["code"] == "42501", res.text
    res = requests.post(f"{stack_env.rest_url}/rpc/{function}", json=args, headers={"apikey": stack_env.anon_key},
                        timeout=30)
    assert res.status_code == 401 and res.json()["code"] == "42501", res.text


def test_finish_event_dispatch_with_the_service_key_and_the_owner_reading_it(caller, service, db):
    a_id, a = caller()
    _, b = caller()
    workflow = _workflow(a, "contact_update")
    contact = _created(a("POST", "contacts", json={"email": "x@acme.example"},
                         headers={"Prefer": "return=representation"}))
    assert a("PATCH", f"contacts?id=eq.{contact['id']}", json={"name": "changed"}).status_code == 204
    # What a claim would have left (written by hand: a committed claim would take other suites' events).
    dispatch_id = db.execute(
        "insert into public.workflow_event_dispatches (event_id, workflow_id, user_id, attempts)"
        " select e.id, %s, e.user_id, 1 from public.workflow_events e where e.user_id = %s returning id",
        [workflow["id"], a_id]).fetchone()[0]

    res = service("POST", "rpc/finish_event_dispatch",
                  json={"p_dispatch_id": dispatch_id, "p_status": "retry", "p_execution_id": None, "p_error": "boom"})
    assert res.status_code == 200, res.text
    [row] = res.json()
    assert (row["id"], row["status"], row["attempts"], row["last_error"]) == (dispatch_id, "pending", 1, "boom")

    run = _run(a, workflow["id"])
    res = service("POST", "rpc/finish_event_dispatch",
                  json={"p_dispatch_id": dispatch_id, "p_status": "started", "p_execution_id": run["id"],
                        "p_error": None})
    assert [(r["status"], r["execution_id"]) for r in res.json()] == [("started", run["id"])]

    mine = a("GET", "workflow_event_dispatches?select=id,workflow_id,status,execution_id").json()
    assert mine == [{"id": dispatch_id, "workflow_id": workflow["id"], "status": "started", "execution_id": run["id"]}]
    assert b("GET", "workflow_event_dispatches").json() == []
    res = a("PATCH", f"workflow_event_dispatches?id=eq.{dispatch_id}", json={"status": "pending"})
    assert res.status_code == 403 and res.json()["code"] == "42501", res.text
