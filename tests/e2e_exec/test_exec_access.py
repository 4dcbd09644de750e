"""Who may run what, and how bad execute requests are answered: isolation between users, invalid documents, unsaved test runs."""

from __future__ import annotations

import uuid

import pytest

from support.contract import assert_error
from support.documents import action, by_node, chain, trigger, webhook


@pytest.fixture
def owned_run(owner, target):
    """A workflow of user A, run once by A: (workflow, execution)."""
    wf = owner.api.save(chain(trigger(), webhook("hook", target.url("/a"), {"who": "{{trigger.who}}"})))
    res = owner.api.execute(wf["id"], {"who": "a"})
    assert res.status_code == 200, res.text
    target.wait_for(1, "/a")
    return wf, res.json()["execution"]


def _runs_of(db, workflow_id: str) -> int:
    return db.execute("select count(*) from public.workflow_executions where workflow_id = %s",
                      [workflow_id]).fetchone()[0]


def test_another_user_cannot_execute_the_workflow(owned_run, stranger, target, db):
    wf, _ = owned_run
    assert_error(stranger.api.execute(wf["id"], {"who": "b"}), 404, "not_found")
    assert_error(stranger.api.call("POST", "/api/workflows/execute", json={"workflowId": wf["id"]}), 404, "not_found")
    assert _runs_of(db, wf["id"]) == 1
    assert [s.json() for s in target.requests("/a")] == [{"who": "a"}]


def test_another_user_cannot_read_the_executions(owned_run, owner, stranger):
    wf, ex = owned_run
    assert_error(stranger.api.call("GET", f"/api/executions/{ex['id']}"), 404, "not_found")
    assert_error(stranger.api.call("GET", f"/api/workflows/{wf['id']}/executions"), 404, "not_found")
    # The same reads succeed for the owner, so the 404s above are about ownership.
    assert owner.api.call("GET", f"/api/executions/{ex['id']}").status_code == 200
    assert [e["id"] for e in owner.api.call("GET", f"/api/workflows/{wf['id']}/executions").json()["executions"]] \
        == [ex["id"]]


def test_invalid_saved_workflow_is_refused_with_details(owner, target, db):
    doc = chain(trigger(), action("mystery", "no_such_action", {}), webhook("hook", target.url("/never"), {}))
    wf = owner.api.save(doc)  # saving checks only the shape; execution validates fully
    body = assert_error(owner.api.execute(wf["id"], {}), 400, "invalid_workflow")
    assert isinstance(body["details"], list) and body["details"]
    assert any(d.get("nodeId") == "mystery" and d.get("message") for d in body["details"]), body
    assert _runs_of(db, wf["id"]) == 0
    assert target.requests("/never") == []


def test_unsaved_document_runs_and_is_logged_without_workflow(owner, target, execution_row):
    doc = chain(trigger(), webhook("hook", target.url("/draft"), {"v": "{{trigger.v}}"}))
    ex = owner.api.run_unsaved(doc, {"v": [1, 2]})
    assert ex["workflow_id"] is None and ex["status"] == "succeeded"
    assert by_node(ex)["hook"]["status"] == "succeeded"
    assert [s.json() for s in target.wait_for(1, "/draft")] == [{"v": [1, 2]}]
    row = execution_row(ex["id"])
    assert row is not None and row["workflow_id"] is None and row["user_id"] == owner.id
    assert row["status"] == "succeeded" and row["trigger_data"] == {"v": [1, 2]}
    assert owner.api.call("GET", f"/api/executions/{ex['id']}").json()["execution"]["id"] == ex["id"]


@pytest.mark.parametrize("bad", [[1, 2], "text", 5, True])
def test_trigger_data_must_be_an_object(owner, target, bad):
    wf = owner.api.save(chain(trigger(), webhook("hook", target.url("/t"), {})))
    for res in (owner.api.call("POST", f"/api/workflows/{wf['id']}/execute", json={"triggerData": bad}),
                owner.api.call("POST", "/api/workflows/execute", json={"workflowId": wf["id"], "triggerData": bad})):
        body = assert_error(res, 400)
        assert body["details"] == {"field": "triggerData"}, body
        assert "triggerData" in body["error"]
    assert target.requests("/t") == []


@pytest.mark.parametrize("raw", ["not-a-uuid", "123", str(uuid.uuid4())])
def test_unknown_or_malformed_workflow_id_is_404(owner, raw):
    assert_error(owner.api.call("POST", "/api/workflows/execute", json={"workflowId": raw}), 404, "not_found")
