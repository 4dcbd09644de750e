"""Bad input through the real worker: every malformed request gets a precise contract error and writes nothing."""

from __future__ import annotations

import json

import pytest

from support.contract import assert_error, detail_field
from support.documents import sample

ONE_MIB = 1024 * 1024


# -- JSON and field types -------------------------------------------------------------------

@pytest.mark.parametrize("raw", ['{"name": "x"', "not json", '{"name": "x",}', "\x00\x01"])
def test_malformed_json_on_create_is_invalid_json(alice, count_workflows, raw):
    before = count_workflows(alice.id)
    res = alice.api.post("/api/workflows", data=raw, headers={"Content-Type": "application/json"})
    assert_error(res, 400, "invalid_json")
    assert count_workflows(alice.id) == before


def test_malformed_json_on_update_is_invalid_json(alice, workflow_row):
    wf = alice.api.create("json target")
    res = alice.api.put(f"/api/workflows/{wf['id']}", data="{nope", headers={"Content-Type": "application/json"})
    assert_error(res, 400, "invalid_json")
    assert workflow_row(wf["id"])["name"] == "json target"


def test_empty_body_on_create_is_400(alice):
    res = alice.api.post("/api/workflows", data="", headers={"Content-Type": "application/json"})
    assert_error(res, 400, "invalid_json")


def test_body_that_is_not_an_object_is_400(alice):
    assert_error(alice.api.post("/api/workflows", json=["name", "x"]), 400)


@pytest.mark.parametrize("body", [
    {},
    {"description": "no name"},
    {"name": ""},
    {"name": "   "},
    {"name": 42},
    {"name": ["x"]},
    {"name": "x" * 201},
], ids=["missing", "missing-with-others", "empty", "blank", "number", "array", "too-long"])
def test_bad_name_on_create_names_the_field(alice, count_workflows, body):
    before = count_workflows(alice.id)
    res = alice.api.post("/api/workflows", json=body)
    assert detail_field(assert_error(res, 400)) == "name"
    assert count_workflows(alice.id) == before


def test_bad_name_on_update_names_the_field(alice, workflow_row):
    wf = alice.api.create("keep this name")
    for bad in ("", 7):
        res = alice.api.put(f"/api/workflows/{wf['id']}", json={"name": bad})
        assert detail_field(assert_error(res, 400)) == "name"
    assert workflow_row(wf["id"])["name"] == "keep this name"


@pytest.mark.parametrize("field, value", [
    ("nodes", {"id": "a"}),
    ("nodes", "[]"),
    ("nodes", 3),
    ("edges", {}),
    ("edges", "e1"),
    ("description", 5),
    ("is_active", "yes"),
    ("is_active", 1),
])
def test_wrong_field_types_name_the_field(alice, count_workflows, field, value):
    before = count_workflows(alice.id)
    res = alice.api.post("/api/workflows", json={"name": "typed", field: value})
    assert detail_field(assert_error(res, 400)) == field
    assert count_workflows(alice.id) == before


# -- structure on save, full validation on activation ----------------------------------------

def issue_locators(body: dict) -> list[dict]:
    details = body.get("details")
    assert isinstance(details, list) and details, body
    for issue in details:
        assert isinstance(issue, dict) and set(issue) <= {"nodeId", "edgeId", "field", "message"}, issue
        assert isinstance(issue.get("message"), str) and issue["message"], issue
    return details


def test_duplicate_node_ids_on_save_are_invalid_workflow(alice, count_workflows):
    nodes = sample()["nodes"] + [{"id": "action-1", "type": "action", "data": {"actionId": "ai_score"}}]
    before = count_workflows(alice.id)
    res = alice.api.post("/api/workflows", json={"name": "dup", "nodes": nodes, "edges": sample()["edges"]})
    details = issue_locators(assert_error(res, 400, "invalid_workflow"))
    assert any(i.get("nodeId") == "action-1" for i in details), details
    assert count_workflows(alice.id) == before


def test_edge_to_missing_node_on_save_is_invalid_workflow(alice, count_workflows):
    edges = sample()["edges"] + [{"id": "e-ghost", "source": "cond-1", "target": "nowhere", "sourceHandle": "false"}]
    before = count_workflows(alice.id)
    res = alice.api.post("/api/workflows", json={"name": "ghost edge", "nodes": sample()["nodes"], "edges": edges})
    details = issue_locators(assert_error(res, 400, "invalid_workflow"))
    assert any(i.get("edgeId") == "e-ghost" for i in details), details
    assert count_workflows(alice.id) == before


def test_structural_error_on_update_writes_nothing(alice, workflow_row):
    wf = alice.api.create("structure", nodes=sample()["nodes"], edges=sample()["edges"])
    edges = [{"id": "e1", "source": "trigger-1", "target": "missing-node"}]
    res = alice.api.put(f"/api/workflows/{wf['id']}", json={"edges": edges})
    details = issue_locators(assert_error(res, 400, "invalid_workflow"))
    assert any(i.get("edgeId") == "e1" for i in details), details
    assert workflow_row(wf["id"])["edges"] == wf["edges"]


def test_inactive_incomplete_workflow_can_be_saved(alice):
    # A draft on the canvas: well-formed but no trigger yet. Only activation needs full validity.
    wf = alice.api.create("draft", nodes=[{"id": "a", "type": "action", "data": {"actionId": "send_email"}}])
    assert wf["is_active"] is False


def test_activating_an_invalid_workflow_on_create_writes_nothing(alice, count_workflows):
    nodes = [{"id": "a", "type": "action", "data": {"actionId": "ai_score", "config": {"email": "x@example.com"}}}]
    before = count_workflows(alice.id)
    res = alice.api.post("/api/workflows", json={"name": "no trigger", "nodes": nodes, "is_active": True})
    issue_locators(assert_error(res, 400, "invalid_workflow"))
    assert count_workflows(alice.id) == before


def test_activating_an_invalid_workflow_on_update_writes_nothing(alice, workflow_row):
    nodes = [{"id": "a", "type": "action", "data": {"actionId": "ai_score", "config": {"email": "x@example.com"}}}]
    wf = alice.api.create("draft to activate", nodes=nodes)
    before = workflow_row(wf["id"])
    for path, body in ((f"/api/workflows/{wf['id']}", {"is_active": True, "name": "renamed"}),
                       ("/api/workflows", {"id": wf["id"], "is_active": True})):
        issue_locators(assert_error(alice.api.put(path, json=body), 400, "invalid_workflow"))
    assert workflow_row(wf["id"]) == before


def test_breaking_an_active_workflow_is_refused(alice, workflow_row):
    wf = alice.api.create("live", nodes=sample()["nodes"], edges=sample()["edges"], is_active=True)
    without_trigger = [n for n in sample()["nodes"] if n["type"] != "trigger"]
    edges = [e for e in sample()["edges"] if e["source"] != "trigger-1"]
    res = alice.api.put(f"/api/workflows/{wf['id']}", json={"nodes": without_trigger, "edges": edges})
    assert_error(res, 400, "invalid_workflow")
    assert workflow_row(wf["id"])["nodes"] == wf["nodes"]


# -- size, routing, ids -------------------------------------------------------------------------

def test_body_over_one_mib_is_413(alice, count_workflows):
    before = count_workflows(alice.id)
    big = json.dumps({"name": "huge", "description": "x" * (ONE_MIB + 10)})
    res = alice.api.post("/api/workflows", data=big, headers={"Content-Type": "application/json"})
    assert_error(res, 413, "payload_too_large")
    assert count_workflows(alice.id) == before


def test_body_over_one_mib_on_update_is_413(alice, workflow_row):
    wf = alice.api.create("small")
    big = json.dumps({"description": "y" * (ONE_MIB + 10)})
    res = alice.api.put(f"/api/workflows/{wf['id']}", data=big, headers={"Content-Type": "application/json"})
    assert_error(res, 413, "payload_too_large")
    assert workflow_row(wf["id"])["description"] == ""


def test_body_just_under_the_limit_is_accepted(alice):
    # The limit is about bytes on the wire; a big but legal document still saves.
    padding = ONE_MIB - 200
    res = alice.api.post("/api/workflows", json={"name": "big but fine", "description": "z" * padding})
    assert res.status_code == 201, res.text[:300]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/nope"),
    ("GET", "/nope"),
    ("POST", "/api/workflow"),
    ("GET", "/api/workflows/6f1c2d3e-4b5a-4789-9abc-def012345678/a/b/c"),
])
def test_unknown_route_is_404(alice, method, path):
    assert_error(alice.api.call(method, path), 404, "not_found")


def test_unknown_route_without_token_is_still_404(anon):
    assert_error(anon.get("/api/definitely-not-here"), 404, "not_found")


@pytest.mark.parametrize("method, path, expected", [
    ("PATCH", "/api/workflows", {"GET", "POST", "PUT", "DELETE"}),
    ("GET", "/api/workflows/validate", {"POST"}),
    ("POST", "/health", {"GET"}),
    ("DELETE", "/api/actions", {"GET"}),
    ("POST", "/api/workflows/6f1c2d3e-4b5a-4789-9abc-def012345678", {"GET", "PUT", "DELETE"}),
])
def test_wrong_method_is_405_with_allow(alice, method, path, expected):
    res = alice.api.call(method, path)
    assert_error(res, 405, "method_not_allowed")
    allow = {m.strip() for m in res.headers.get("Allow", "").split(",") if m.strip()}
    assert expected <= allow, res.headers.get("Allow")
    assert method not in allow


@pytest.mark.parametrize("bad_id", ["123", "not-a-uuid", "6f1c2d3e-4b5a-4789-9abc-def01234567Z",
                                    "%27%3B%20drop%20table%20workflows%3B--", "..%2F..%2Fhealth"])
def test_non_uuid_id_is_404_never_500(alice, bad_id):
    for method, kwargs in (("GET", {}), ("PUT", {"json": {"name": "x"}}), ("DELETE", {})):
        res = alice.api.call(method, f"/api/workflows/{bad_id}", **kwargs)
        assert_error(res, 404, "not_found")


@pytest.mark.parametrize("bad_id", ["123", "'; drop table workflows;--", ""])
def test_non_uuid_id_in_seed_forms_is_4xx_never_500(alice, bad_id):
    res = alice.api.delete("/api/workflows", params={"id": bad_id})
    assert res.status_code in (400, 404), res.text
    assert_error(res, res.status_code)
    res = alice.api.put("/api/workflows", json={"id": bad_id, "name": "x"})
    assert res.status_code in (400, 404), res.text
    assert_error(res, res.status_code)


def test_non_string_id_in_seed_update_names_the_field(alice):
    res = alice.api.put("/api/workflows", json={"id": 12, "name": "x"})
    assert detail_field(assert_error(res, 400)) == "id"


# -- POST /api/workflows/validate ----------------------------------------------------------------

def test_validate_accepts_the_contract_sample(alice):
    res = alice.api.post("/api/workflows/validate", json=sample())
    assert res.status_code == 200, res.text
    assert res.json() == {"valid": True}


def test_validate_accepts_a_wrapped_document(alice):
    res = alice.api.post("/api/workflows/validate", json={"workflow": sample()})
    assert res.status_code == 200, res.text
    assert res.json() == {"valid": True}


def test_validate_reports_a_cycle(alice):
    doc = sample()
    doc["edges"].append({"id": "e-back", "source": "action-2", "target": "action-1"})
    body = assert_error(alice.api.post("/api/workflows/validate", json=doc), 400, "invalid_workflow")
    details = issue_locators(body)
    assert any("cycle" in i["message"].lower() for i in details), details
    mentioned = " ".join(json.dumps(i) for i in details)
    assert "action-1" in mentioned and "action-2" in mentioned, details


def test_validate_reports_a_missing_trigger_and_unknown_action(alice):
    doc = sample()
    doc["nodes"][3]["data"]["actionId"] = "launch_rockets"
    doc["nodes"] = doc["nodes"][1:]
    doc["edges"] = doc["edges"][1:]
    details = issue_locators(assert_error(alice.api.post("/api/workflows/validate", json=doc), 400,
                                          "invalid_workflow"))
    assert any(i.get("nodeId") == "action-2" for i in details), details
    assert any("trigger" in i["message"].lower() for i in details), details


def test_validate_reports_a_missing_required_input(alice):
    doc = sample()
    del doc["nodes"][3]["data"]["config"]["subject"]
    details = issue_locators(assert_error(alice.api.post("/api/workflows/validate", json=doc), 400,
                                          "invalid_workflow"))
    assert any(i.get("nodeId") == "action-2" and "subject" in json.dumps(i) for i in details), details


def test_validate_malformed_json_is_invalid_json(alice):
    res = alice.api.post("/api/workflows/validate", data="{", headers={"Content-Type": "application/json"})
    assert_error(res, 400, "invalid_json")


def test_validate_writes_nothing(alice, count_workflows):
    before = count_workflows(alice.id)
    assert alice.api.post("/api/workflows/validate", json=sample()).status_code == 200
    assert count_workflows(alice.id) == before


def test_validate_needs_a_token(anon):
    res = anon.post("/api/workflows/validate", json=sample())
    assert_error(res, 401, "unauthorized")
    assert 'error="invalid_token"' in res.headers.get("WWW-Authenticate", "")
