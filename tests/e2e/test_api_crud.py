"""Workflow CRUD through the real worker, as one user: create, read, list with pagination, both update and delete forms."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest

from support.contract import UUID_RE, assert_error, detail_field
from support.documents import sample

TRIGGER_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_create_returns_the_stored_row(alice, workflow_row):
    res = alice.api.post("/api/workflows", json=sample(name="Lead intake", description="from the site"))
    assert res.status_code == 201, res.text
    wf = res.json()["workflow"]
    assert UUID_RE.match(wf["id"])
    assert wf["user_id"] == alice.id
    assert wf["name"] == "Lead intake"
    assert wf["description"] == "from the site"
    assert wf["is_active"] is False
    assert [n["id"] for n in wf["nodes"]] == ["trigger-1", "action-1", "cond-1", "action-2"]
    assert [e["id"] for e in wf["edges"]] == ["e1", "e2", "e3"]
    assert TRIGGER_KEY_RE.match(wf["trigger_key"]), wf["trigger_key"]
    assert wf["created_at"] and wf["updated_at"]

    stored = workflow_row(wf["id"])
    assert stored is not None
    assert stored["user_id"] == alice.id
    assert stored["nodes"] == wf["nodes"] and stored["edges"] == wf["edges"]
    assert stored["trigger_key"] == wf["trigger_key"]


def test_create_with_only_a_name_gets_defaults(alice):
    wf = alice.api.create("  Just a name  ")
    assert wf["name"] == "Just a name"  # trimmed
    assert wf["nodes"] == [] and wf["edges"] == []
    assert wf["description"] == ""
    assert wf["is_active"] is False


def test_create_ignores_a_user_id_in_the_body(alice, bob, workflow_row):
    wf = alice.api.create("not a gift", user_id=bob.id)
    assert wf["user_id"] == alice.id
    assert workflow_row(wf["id"])["user_id"] == alice.id


def test_create_active_valid_workflow(alice, workflow_row):
    wf = alice.api.create("active from the start", nodes=sample()["nodes"], edges=sample()["edges"], is_active=True)
    assert wf["is_active"] is True
    assert workflow_row(wf["id"])["is_active"] is True


def test_get_returns_the_workflow(alice):
    created = alice.api.create("to read", nodes=sample()["nodes"], edges=sample()["edges"])
    res = alice.api.get(f"/api/workflows/{created['id']}")
    assert res.status_code == 200, res.text
    assert res.json()["workflow"] == created


def test_get_missing_workflow_is_404(alice):
    assert_error(alice.api.get(f"/api/workflows/{uuid.uuid4()}"), 404, "not_found")


def test_list_is_newest_updated_first_and_paginates(new_person):
    carol = new_person()
    first, second, third = (carol.api.create(n)["id"] for n in ("first", "second", "third"))
    assert carol.api.list_ids() == [third, second, first]

    # Touching the oldest moves it to the front.
    res = carol.api.put(f"/api/workflows/{first}", json={"description": "touched"})
    assert res.status_code == 200, res.text
    assert carol.api.list_ids() == [first, third, second]

    res = carol.api.get("/api/workflows", params={"limit": 2})
    assert res.status_code == 200, res.text
    page = res.json()
    assert [w["id"] for w in page["workflows"]] == [first, third]
    assert page["limit"] == 2 and page["offset"] == 0 and page["total"] == 3
    assert carol.api.list_ids(limit=2, offset=2) == [second]
    assert carol.api.list_ids(limit=2, offset=3) == []
    assert carol.api.list_ids(limit=200) == [first, third, second]


def test_offset_past_the_end_is_an_empty_page(new_person):
    # PostgREST answers 416 (PGRST103) when the offset exceeds the row count; a caller paging past the end
    # expects an empty page, not an upstream error.
    frank = new_person()
    frank.api.create("only one")
    res = frank.api.get("/api/workflows", params={"offset": 10})
    assert res.status_code == 200, res.text
    assert res.json()["workflows"] == []


def test_list_rows_are_full_workflows(new_person):
    dave = new_person()
    created = dave.api.create("full row", nodes=sample()["nodes"], edges=sample()["edges"])
    res = dave.api.get("/api/workflows")
    assert res.status_code == 200
    assert res.json()["workflows"] == [created]


def test_list_default_page_is_50(new_person, db):
    erin = new_person()
    db.execute("insert into public.workflows (user_id, name) select %s, 'bulk ' || g from generate_series(1, 55) g",
               [erin.id])
    assert len(erin.api.list_ids()) == 50
    assert len(erin.api.list_ids(offset=50)) == 5


@pytest.mark.parametrize("params, field", [
    ({"limit": 201}, "limit"),
    ({"limit": 0}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"limit": "1.5"}, "limit"),
    ({"limit": -1}, "limit"),
    ({"offset": "x"}, "offset"),
    ({"offset": -5}, "offset"),
])
def test_bad_pagination_is_400_naming_the_field(alice, params, field):
    body = assert_error(alice.api.get("/api/workflows", params=params), 400)
    assert detail_field(body) == field, body


def test_update_by_path(alice, workflow_row):
    wf = alice.api.create("before")
    res = alice.api.put(f"/api/workflows/{wf['id']}", json={
        "name": "after", "description": "changed", "nodes": sample()["nodes"], "edges": sample()["edges"]})
    assert res.status_code == 200, res.text
    updated = res.json()["workflow"]
    assert updated["id"] == wf["id"]
    assert updated["name"] == "after" and updated["description"] == "changed"
    assert len(updated["nodes"]) == 4 and len(updated["edges"]) == 3
    assert updated["trigger_key"] == wf["trigger_key"]
    assert updated["created_at"] == wf["created_at"]
    assert ts(updated["updated_at"]) > ts(wf["updated_at"])
    stored = workflow_row(wf["id"])
    assert stored["name"] == "after" and stored["description"] == "changed"
    assert stored["nodes"] == updated["nodes"]


def test_update_seed_form_with_id_in_body(alice, workflow_row):
    wf = alice.api.create("seed before")
    res = alice.api.put("/api/workflows", json={"id": wf["id"], "name": "seed after", "is_active": False})
    assert res.status_code == 200, res.text
    assert res.json()["workflow"]["name"] == "seed after"
    assert workflow_row(wf["id"])["name"] == "seed after"


def test_update_keeps_fields_not_sent(alice, workflow_row):
    wf = alice.api.create("partial", description="keep me", nodes=sample()["nodes"], edges=sample()["edges"])
    res = alice.api.put(f"/api/workflows/{wf['id']}", json={"name": "partial 2"})
    assert res.status_code == 200, res.text
    stored = workflow_row(wf["id"])
    assert stored["description"] == "keep me"
    assert stored["nodes"] == wf["nodes"] and stored["edges"] == wf["edges"]


def test_update_cannot_reassign_the_owner(alice, bob, workflow_row):
    wf = alice.api.create("mine")
    res = alice.api.put(f"/api/workflows/{wf['id']}", json={"name": "still mine", "user_id": bob.id})
    assert res.status_code == 200, res.text
    assert workflow_row(wf["id"])["user_id"] == alice.id


def test_activation_and_deactivation(alice, workflow_row):
    wf = alice.api.create("switch", nodes=sample()["nodes"], edges=sample()["edges"])
    res = alice.api.put(f"/api/workflows/{wf['id']}", json={"is_active": True})
    assert res.status_code == 200, res.text
    assert workflow_row(wf["id"])["is_active"] is True
    res = alice.api.put("/api/workflows", json={"id": wf["id"], "is_active": False})
    assert res.status_code == 200, res.text
    assert workflow_row(wf["id"])["is_active"] is False


def test_seed_update_without_id_is_400(alice):
    body = assert_error(alice.api.put("/api/workflows", json={"name": "no id"}), 400)
    assert detail_field(body) == "id"


def test_update_missing_workflow_is_404(alice):
    assert_error(alice.api.put(f"/api/workflows/{uuid.uuid4()}", json={"name": "ghost"}), 404, "not_found")
    assert_error(alice.api.put("/api/workflows", json={"id": str(uuid.uuid4()), "name": "ghost"}), 404, "not_found")


def test_delete_by_path(alice, workflow_row):
    wf = alice.api.create("doomed")
    res = alice.api.delete(f"/api/workflows/{wf['id']}")
    assert res.status_code == 200, res.text
    assert res.json() == {"deleted": wf["id"]}
    assert workflow_row(wf["id"]) is None
    assert_error(alice.api.get(f"/api/workflows/{wf['id']}"), 404, "not_found")
    assert_error(alice.api.delete(f"/api/workflows/{wf['id']}"), 404, "not_found")
    assert wf["id"] not in alice.api.list_ids(limit=200)


def test_delete_seed_form(alice, workflow_row):
    wf = alice.api.create("doomed seed")
    res = alice.api.delete("/api/workflows", params={"id": wf["id"]})
    assert res.status_code == 200, res.text
    assert res.json() == {"deleted": wf["id"]}
    assert workflow_row(wf["id"]) is None
    assert_error(alice.api.get(f"/api/workflows/{wf['id']}"), 404, "not_found")
    assert_error(alice.api.delete("/api/workflows", params={"id": wf["id"]}), 404, "not_found")


def test_delete_seed_form_without_id_is_400(alice):
    body = assert_error(alice.api.delete("/api/workflows"), 400)
    assert detail_field(body) == "id"
