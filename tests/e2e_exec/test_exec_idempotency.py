"""Idempotent execute requests: a retried request with the same Idempotency-Key gets the first run back, never a second run."""

from __future__ import annotations

import uuid

import pytest

from support.contract import assert_error
from support.documents import chain, trigger, webhook


def _runs_with_key(db, key: str) -> int:
    return db.execute("select count(*) from public.workflow_executions where idempotency_key = %s",
                      [key]).fetchone()[0]


@pytest.fixture
def hook_workflow(owner, target):
    return owner.api.save(chain(trigger(), webhook("hook", target.url("/idem"), {"n": "{{trigger.n}}"})))


def test_a_retried_request_replays_the_first_run(owner, hook_workflow, target, db):
    key = f"order-{uuid.uuid4()}"
    headers = {"Idempotency-Key": key}
    first = owner.api.call("POST", f"/api/workflows/{hook_workflow['id']}/execute",
                           json={"triggerData": {"n": 1}}, headers=headers)
    assert first.status_code == 200, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = owner.api.call("POST", f"/api/workflows/{hook_workflow['id']}/execute",
                           json={"triggerData": {"n": 1}}, headers=headers)
    assert again.status_code == 200, again.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["execution"]["id"] == first.json()["execution"]["id"]
    assert _runs_with_key(db, key) == 1
    # The side effect happened once.
    assert len(target.requests("/idem")) == 1


def test_the_seed_form_honours_the_key_too(owner, hook_workflow, db):
    key = f"seed-{uuid.uuid4()}"
    ids = set()
    for _ in range(2):
        res = owner.api.call("POST", "/api/workflows/execute", json={"workflowId": hook_workflow["id"]},
                             headers={"Idempotency-Key": key})
        assert res.status_code == 200, res.text
        ids.add(res.json()["execution"]["id"])
    assert len(ids) == 1
    assert _runs_with_key(db, key) == 1


def test_a_key_reused_for_another_workflow_is_unprocessable(owner, hook_workflow, target, db):
    key = f"reuse-{uuid.uuid4()}"
    other = owner.api.save(chain(trigger(), webhook("hook", target.url("/other"))))
    ok = owner.api.call("POST", f"/api/workflows/{hook_workflow['id']}/execute", headers={"Idempotency-Key": key})
    assert ok.status_code == 200, ok.text
    clash = owner.api.call("POST", f"/api/workflows/{other['id']}/execute", headers={"Idempotency-Key": key})
    assert "another workflow" in assert_error(clash, 422, "idempotency_key_reused")["error"]
    assert target.requests("/other") == []
    assert _runs_with_key(db, key) == 1


def test_a_key_reused_with_other_trigger_data_is_unprocessable(owner, hook_workflow, target, db):
    key = f"retrigger-{uuid.uuid4()}"
    url = f"/api/workflows/{hook_workflow['id']}/execute"
    ok = owner.api.call("POST", url, json={"triggerData": {"n": 1}}, headers={"Idempotency-Key": key})
    assert ok.status_code == 200, ok.text
    clash = owner.api.call("POST", url, json={"triggerData": {"n": 2}}, headers={"Idempotency-Key": key})
    assert "other triggerData" in assert_error(clash, 422, "idempotency_key_reused")["error"]
    # Only the first request ran: one run with the key, one call of the hook.
    assert _runs_with_key(db, key) == 1
    assert len(target.requests("/idem")) == 1


def test_keys_are_per_user(owner, stranger, hook_workflow, target):
    key = f"shared-{uuid.uuid4()}"
    mine = stranger.api.save(chain(trigger(), webhook("hook", target.url("/b"))))
    a = owner.api.call("POST", f"/api/workflows/{hook_workflow['id']}/execute", headers={"Idempotency-Key": key})
    b = stranger.api.call("POST", f"/api/workflows/{mine['id']}/execute", headers={"Idempotency-Key": key})
    assert a.status_code == 200 and b.status_code == 200, (a.text, b.text)
    assert a.json()["execution"]["id"] != b.json()["execution"]["id"]


def test_an_overlong_key_is_refused(owner, hook_workflow, target):
    # (A blank key is refused the same way; HTTP clients will not send one, so the unit tests cover it.)
    res = owner.api.call("POST", f"/api/workflows/{hook_workflow['id']}/execute",
                         headers={"Idempotency-Key": "x" * 201})
    assert_error(res, 400, "invalid_request")
    assert res.json()["details"]["field"] == "Idempotency-Key"
    assert target.requests("/idem") == []
