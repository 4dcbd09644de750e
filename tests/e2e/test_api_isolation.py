"""Row Level Security end to end: one user's token never reads, changes or deletes another user's workflows.

Every call goes browser-style through worker -> gateway (PostgREST) -> Postgres with the caller's own token,
so these tests are the proof that authorization really is RLS along the whole chain.
"""

from __future__ import annotations

import uuid

import pytest

from support.contract import assert_error
from support.documents import sample


@pytest.fixture
def alices_workflow(alice, workflow_row):
    wf = alice.api.create("alice private", description="secret plan", nodes=sample()["nodes"],
                          edges=sample()["edges"])
    before = workflow_row(wf["id"])
    yield wf, before
    after = workflow_row(wf["id"])
    assert after == before, "another user's attempt changed the row"


def test_gateway_chain_token_for_user_a_cannot_read_rows_of_user_b(alice, bob):
    """Issue 2's done-when: worker -> gateway -> Postgres with B's token cannot read A's rows."""
    wf = alice.api.create("a's row, read through the whole chain")
    assert alice.api.get(f"/api/workflows/{wf['id']}").status_code == 200
    assert_error(bob.api.get(f"/api/workflows/{wf['id']}"), 404, "not_found")
    assert wf["id"] not in bob.api.list_ids(limit=200)


def test_other_user_gets_404_on_read(bob, alices_workflow):
    wf, _ = alices_workflow
    body = assert_error(bob.api.get(f"/api/workflows/{wf['id']}"), 404, "not_found")
    assert "secret" not in str(body)


def test_other_user_gets_404_on_update_by_path(bob, alices_workflow):
    wf, _ = alices_workflow
    assert_error(bob.api.put(f"/api/workflows/{wf['id']}", json={"name": "pwned"}), 404, "not_found")
    assert_error(bob.api.put(f"/api/workflows/{wf['id']}", json={"is_active": True}), 404, "not_found")


def test_other_user_gets_404_on_update_seed_form(bob, alices_workflow):
    wf, _ = alices_workflow
    assert_error(bob.api.put("/api/workflows", json={"id": wf["id"], "name": "pwned"}), 404, "not_found")


def test_other_user_gets_404_on_delete_by_path(bob, alices_workflow):
    wf, _ = alices_workflow
    assert_error(bob.api.delete(f"/api/workflows/{wf['id']}"), 404, "not_found")


def test_other_user_gets_404_on_delete_seed_form(bob, alices_workflow):
    wf, _ = alices_workflow
    assert_error(bob.api.delete("/api/workflows", params={"id": wf["id"]}), 404, "not_found")


def test_other_user_cannot_take_over_by_reassigning_owner(bob, alices_workflow):
    wf, _ = alices_workflow
    res = bob.api.put(f"/api/workflows/{wf['id']}", json={"user_id": bob.id, "name": "mine now"})
    assert_error(res, 404, "not_found")


def test_missing_and_foreign_workflows_look_the_same(alice, bob, alices_workflow):
    wf, _ = alices_workflow
    foreign = bob.api.get(f"/api/workflows/{wf['id']}")
    missing = bob.api.get(f"/api/workflows/{uuid.uuid4()}")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()


def test_lists_never_mix_users(new_person):
    a, b = new_person(), new_person()
    a_ids = {a.api.create(f"a{i}")["id"] for i in range(3)}
    b_ids = {b.api.create(f"b{i}")["id"] for i in range(2)}
    assert set(a.api.list_ids(limit=200)) == a_ids
    assert set(b.api.list_ids(limit=200)) == b_ids
    res = a.api.get("/api/workflows")
    assert all(w["user_id"] == a.id for w in res.json()["workflows"])
    assert res.json()["total"] == 3
