"""The template library and the node-type catalog through the real worker: public listing with CORS, one
template by id, instantiation as the caller (an inactive workflow the caller owns and nobody else sees), the
contract's errors, and every template passing the worker's full validation."""

from __future__ import annotations

import pytest

from support.contract import UUID_RE, assert_error
from support.env import allowed_origins

TEMPLATE_KEYS = {"id", "name", "description", "category", "nodes", "edges"}
NODE_TYPES = ["trigger", "action", "condition", "delay", "loop", "split"]


@pytest.fixture(scope="module")
def library(anon) -> list[dict]:
    res = anon.get("/api/templates")
    assert res.status_code == 200, res.text
    return res.json()["templates"]


def test_the_library_lists_at_least_eight_templates_of_the_contracts_shape(library):
    assert len(library) >= 8
    ids = [t["id"] for t in library]
    assert len(set(ids)) == len(ids)
    for t in library:
        assert set(t) == TEMPLATE_KEYS, t["id"]
        assert t["name"] and t["description"] and t["category"]
        for node in t["nodes"]:
            assert {"id", "type", "position", "data"} <= set(node), (t["id"], node)
            assert isinstance(node["position"]["x"], (int, float)) and isinstance(node["position"]["y"], (int, float))
            assert node["data"]["label"], (t["id"], node["id"])


def test_the_library_is_granted_to_an_allowed_origin(anon):
    origin = next(o for o in allowed_origins() if o != "*")
    res = anon.get("/api/templates", headers={"Origin": origin})
    assert res.status_code == 200
    assert res.headers.get("Access-Control-Allow-Origin") == origin
    res = anon.get("/api/templates", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in res.headers


def test_a_category_lists_only_its_templates(anon, library):
    category = library[0]["category"]
    res = anon.get("/api/templates", params={"category": category})
    assert res.status_code == 200
    listed = res.json()["templates"]
    assert [t["id"] for t in listed] == [t["id"] for t in library if t["category"] == category]
    assert category in res.json()["categories"]


def test_one_template_by_id_and_an_unknown_one_is_404(anon, library):
    first = library[0]
    res = anon.get(f"/api/templates/{first['id']}")
    assert res.status_code == 200
    assert res.json()["template"] == first
    assert_error(anon.get("/api/templates/no-such-template"), 404, "not_found")


def test_the_node_types_describe_every_type_with_a_schema(anon):
    res = anon.get("/api/node-types")
    assert res.status_code == 200, res.text
    types = res.json()["nodeTypes"]
    assert [t["type"] for t in types] == NODE_TYPES
    by_type = {t["type"]: t for t in types}
    for t in types:
        assert t["data"]["type"] == "object" and t["data"]["required"], t["type"]
        assert t["example"]["type"] == t["type"]
    assert by_type["trigger"]["data"]["properties"]["triggerType"]["enum"] == \
        ["form_submit", "contact_update", "deal_won", "manual"]
    assert by_type["condition"]["edges"]["outgoing"] == {"sourceHandle": "required", "enum": ["true", "false"]}
    assert by_type["delay"]["data"]["properties"]["delay"]["oneOf"][0]["properties"]["ms"]["maximum"] \
        == 365 * 24 * 3600 * 1000
    loop = by_type["loop"]["data"]["properties"]["loop"]["properties"]
    assert (loop["concurrency"]["minimum"], loop["concurrency"]["maximum"], loop["concurrency"]["default"]) == (1, 6, 1)
    assert loop["maxItems"]["maximum"] == 1000
    variants = by_type["split"]["data"]["properties"]["split"]["properties"]["variants"]
    assert (variants["minItems"], variants["maxItems"]) == (2, 10)
    assert variants["items"]["properties"]["weight"]["maximum"] == 10000


def test_an_instantiated_template_is_an_inactive_workflow_of_the_caller_only(alice, bob, anon, library,
                                                                               workflow_row):
    template = library[0]
    wf = alice.api.instantiate(template["id"])
    assert UUID_RE.match(wf["id"])
    assert wf["user_id"] == alice.id and wf["is_active"] is False
    assert (wf["name"], wf["description"]) == (template["name"], template["description"])
    assert (wf["nodes"], wf["edges"]) == (template["nodes"], template["edges"])
    stored = workflow_row(wf["id"])
    assert stored["user_id"] == alice.id and stored["is_active"] is False and stored["nodes"] == template["nodes"]

    assert alice.api.get(f"/api/workflows/{wf['id']}").json()["workflow"]["id"] == wf["id"]
    assert wf["id"] in alice.api.list_ids()
    assert_error(bob.api.get(f"/api/workflows/{wf['id']}"), 404, "not_found")
    assert wf["id"] not in bob.api.list_ids()
    # The library is not changed by a copy.
    assert anon.get(f"/api/templates/{template['id']}").json()["template"] == template


def test_two_instantiations_are_two_workflows_and_the_body_may_rename(alice, library):
    template_id = library[1]["id"]
    first = alice.api.instantiate(template_id)
    second = alice.api.instantiate(template_id, {"name": "My copy", "description": "for the spring launch"})
    assert first["id"] != second["id"]
    assert (second["name"], second["description"]) == ("My copy", "for the spring launch")


def test_instantiation_errors_follow_the_contract(alice, anon, count_workflows, library):
    template_id = library[0]["id"]
    path = f"/api/templates/{template_id}/instantiate"
    before = count_workflows(alice.id)
    assert_error(anon.post(path), 401, "unauthorized")
    assert_error(alice.api.post("/api/templates/no-such-template/instantiate"), 404, "not_found")
    assert_error(alice.api.post(path, json={"name": 5}), 400, "invalid_request")
    assert_error(alice.api.post(path, json={"name": ""}), 400, "invalid_request")
    assert_error(alice.api.post(path, json={"is_active": True}), 400, "invalid_request")
    assert_error(alice.api.post(path, data="{not json", headers={"Content-Type": "application/json"}),
                 400, "invalid_json")
    assert_error(alice.api.get(path), 405, "method_not_allowed")
    assert count_workflows(alice.id) == before


def test_every_template_passes_the_workers_full_validation_and_can_be_activated(alice, library):
    for template in library:
        res = alice.api.post("/api/workflows/validate", json={"nodes": template["nodes"], "edges": template["edges"]})
        assert res.status_code == 200, f"{template['id']}: {res.text}"
        wf = alice.api.instantiate(template["id"])
        res = alice.api.put(f"/api/workflows/{wf['id']}", json={"is_active": True})
        assert res.status_code == 200, f"{template['id']}: {res.text}"
        assert res.json()["workflow"]["is_active"] is True
        # Active event-triggered workflows would start on this user's later changes.
        assert alice.api.delete(f"/api/workflows/{wf['id']}").status_code == 200
