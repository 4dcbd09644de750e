"""Writes: POST (insert, upsert), PATCH and DELETE with PostgREST's preferences and status codes.

References (PostgREST docs): references/api/tables_views ("Insert", "Bulk Insert", "Update",
"Delete", "Upsert", "On Conflict"), references/api/preferences ("Return Representation"),
references/auth (RLS decides), references/errors (23505/23503 -> 409, 42501 -> 403/401,
23502 -> 400, PGRST102, PGRST116).
"""

from __future__ import annotations

import uuid

REP = {"Prefer": "return=representation"}
ONE = {"Accept": "application/vnd.pgrst.object+json"}


def count_rows(db, where: str = "true", params=()) -> int:
    return db.execute(f"select count(*) from public.gw_items where {where}", list(params)).fetchone()[0]


def test_insert_minimal_is_201_empty(rest, alice, items, db):
    res = rest("POST", "gw_items", token=alice.token, json={"name": "fig", "qty": 1})
    assert res.status_code == 201 and res.content == b""
    row = db.execute("select user_id::text, qty, done from public.gw_items where name = 'fig'").fetchone()
    assert row == (alice.id, 1, False)  # user_id from auth.uid(), done from its default


def test_insert_representation_is_201_with_rows(rest, alice, items):
    res = rest("POST", "gw_items", token=alice.token, headers=REP,
               json={"name": "grape", "tags": ["green", "fruit"], "meta": {"n": [1, 2]}})
    assert res.status_code == 201
    [row] = res.json()
    assert row["user_id"] == alice.id and row["tags"] == ["green", "fruit"] and row["meta"] == {"n": [1, 2]}
    assert row["qty"] is None and row["done"] is False and row["created_at"] and uuid.UUID(row["id"])


def test_insert_representation_honours_select_and_singular(rest, alice, items):
    res = rest("POST", "gw_items?select=name,qty", token=alice.token, headers={**REP, **ONE},
               json={"name": "kiwi", "qty": 4})
    assert res.status_code == 201 and res.json() == {"name": "kiwi", "qty": 4}


def test_bulk_insert(rest, alice, items, db):
    res = rest("POST", "gw_items?select=name", token=alice.token, headers=REP,
               json=[{"name": "l1", "qty": 1}, {"name": "l2", "qty": 2}])
    assert res.status_code == 201 and [r["name"] for r in res.json()] == ["l1", "l2"]
    assert count_rows(db, "name like 'l_'") == 2


def test_bulk_insert_keys_must_match(rest, alice, items):
    res = rest("POST", "gw_items", token=alice.token, json=[{"name": "a"}, {"name": "b", "qty": 1}])
    assert res.status_code == 400 and res.json()["code"] == "PGRST102"


def test_invalid_json_body_is_400(rest, alice, items):
    res = rest("POST", "gw_items", token=alice.token, data="{nope", headers={"Content-Type": "application/json"})
    assert res.status_code == 400 and res.json()["code"] == "PGRST102"


def test_not_null_violation_is_400(rest, alice, items):
    res = rest("POST", "gw_items", token=alice.token, json={"qty": 1})
    assert res.status_code == 400 and res.json()["code"] == "23502"


def test_unique_violation_is_409(rest, alice, items):
    res = rest("POST", "gw_items", token=alice.token, json={"name": "dup", "sku": "sku-apple"})
    assert res.status_code == 409
    body = res.json()
    # Postgres withholds the "Key (...)=(...)" detail on RLS tables, so only the message names the constraint.
    assert body["code"] == "23505" and "gw_items_sku_key" in body["message"]
    assert set(body) == {"code", "message", "details", "hint"}


def test_foreign_key_violation_is_409(rest, alice, items):
    res = rest("POST", "gw_notes", token=alice.token, json={"item_id": str(uuid.uuid4()), "body": "x"})
    assert res.status_code == 409 and res.json()["code"] == "23503"


def test_rls_insert_violation_is_403_with_token_401_anon(rest, alice, bob, items, db):
    # "new row violates row-level security policy" is 42501.
    res = rest("POST", "gw_items", token=alice.token, json={"name": "forged", "user_id": bob.id})
    assert res.status_code == 403 and res.json()["code"] == "42501"
    res = rest("POST", "gw_items", json={"name": "anon-row"})
    assert res.status_code == 401 and res.json()["code"] == "42501"
    assert count_rows(db, "name in ('forged', 'anon-row')") == 0


def test_upsert_merge_duplicates(rest, alice, items, db):
    # Prefer: resolution=merge-duplicates + on_conflict: existing row updated, new row inserted.
    res = rest("POST", "gw_items?on_conflict=sku&select=name,qty,sku", token=alice.token,
               headers={"Prefer": "resolution=merge-duplicates,return=representation"},
               json=[{"sku": "sku-apple", "name": "apple", "qty": 30}, {"sku": "sku-new", "name": "new", "qty": 1}])
    assert res.status_code == 201, res.text
    assert sorted((r["sku"], r["qty"]) for r in res.json()) == [("sku-apple", 30), ("sku-new", 1)]
    assert db.execute("select id::text, qty from public.gw_items where sku = 'sku-apple'").fetchone() == \
        (items["apple"], 30)
    assert count_rows(db) == 7


def test_upsert_on_primary_key_by_default(rest, alice, items, db):
    res = rest("POST", "gw_items", token=alice.token, headers={"Prefer": "resolution=merge-duplicates"},
               json={"id": items["banana"], "name": "banana", "qty": 70})
    assert res.status_code == 201
    assert db.execute("select qty from public.gw_items where id = %s", [items["banana"]]).fetchone() == (70,)


def test_upsert_ignore_duplicates(rest, alice, items, db):
    res = rest("POST", "gw_items?on_conflict=sku", token=alice.token, headers={"Prefer": "resolution=ignore-duplicates"},
               json={"sku": "sku-apple", "name": "changed", "qty": 99})
    assert res.status_code == 201
    assert db.execute("select name, qty from public.gw_items where sku = 'sku-apple'").fetchone() == ("apple", 3)


def test_upsert_cannot_take_over_another_users_row(rest, alice, items, db):
    # The conflicting row belongs to bob: the update is checked by RLS and refused.
    res = rest("POST", "gw_items?on_conflict=sku", token=alice.token, headers={"Prefer": "resolution=merge-duplicates"},
               json={"sku": "sku-bob", "name": "stolen"})
    assert res.status_code in (403, 409), res.text
    assert db.execute("select name from public.gw_items where sku = 'sku-bob'").fetchone() == ("bob-secret",)


def test_patch_minimal_and_representation(rest, alice, items, db):
    res = rest("PATCH", "gw_items?name=eq.apple", token=alice.token, json={"qty": 4})
    assert res.status_code == 204 and res.content == b""
    res = rest("PATCH", "gw_items?done=is.true&select=name,qty", token=alice.token, headers=REP,
               json={"qty": 0, "tags": ["x"]})
    assert res.status_code == 200
    assert sorted(r["name"] for r in res.json()) == ["Date, dried", "banana"] and all(r["qty"] == 0 for r in res.json())
    assert db.execute("select qty from public.gw_items where id = %s", [items["apple"]]).fetchone() == (4,)


def test_patch_cannot_touch_other_users_rows(rest, alice, items, db):
    res = rest("PATCH", f"gw_items?id=eq.{items['bob-secret']}", token=alice.token, headers=REP, json={"name": "pwned"})
    assert res.status_code == 200 and res.json() == []
    res = rest("PATCH", "gw_items", token=alice.token, json={"qty": 1})  # no filter: all visible rows only
    assert res.status_code == 204
    assert db.execute("select name, qty from public.gw_items where id = %s", [items["bob-secret"]]).fetchone() == \
        ("bob-secret", 5)


def test_patch_singular_with_many_rows_is_406_and_rolled_back(rest, alice, items, db):
    res = rest("PATCH", "gw_items?done=is.true", token=alice.token, headers={**REP, **ONE}, json={"qty": 100})
    assert res.status_code == 406 and res.json()["code"] == "PGRST116"
    assert count_rows(db, "qty = 100") == 0


def test_delete_minimal_and_representation(rest, alice, items, db):
    res = rest("DELETE", "gw_items?name=eq.carrot", token=alice.token)
    assert res.status_code == 204 and res.content == b""
    res = rest("DELETE", "gw_items?name=eq.apple&select=name", token=alice.token, headers=REP)
    assert res.status_code == 200 and res.json() == [{"name": "apple"}]
    assert count_rows(db, "name in ('apple', 'carrot')") == 0


def test_delete_cannot_touch_other_users_rows(rest, alice, items, db):
    res = rest("DELETE", f"gw_items?id=eq.{items['bob-secret']}", token=alice.token, headers=REP)
    assert res.status_code == 200 and res.json() == []
    res = rest("DELETE", "gw_items", token=alice.token)
    assert res.status_code == 204
    assert count_rows(db, "user_id = %s", [alice.id]) == 0 and count_rows(db) == 2


def test_anon_cannot_change_anything(rest, items, db):
    assert rest("PATCH", "gw_items", json={"qty": 1}).status_code == 204
    assert rest("DELETE", "gw_items").status_code == 204
    assert count_rows(db) == 6 and count_rows(db, "qty = 1") == 0


def test_unsupported_method_is_405(rest, alice, items):
    res = rest("PUT", "gw_items", token=alice.token, json={"name": "x"})
    assert res.status_code == 405 and res.json()["code"] == "PGRST117"


def test_missing_default(rest, alice, items):
    # Prefer: missing=default (references/api/preferences): an absent key takes the column default, not NULL.
    res = rest("POST", "gw_items?select=name,done,qty", token=alice.token,
               headers={"Prefer": "missing=default, return=representation"},
               json=[{"name": "m1", "done": True}, {"name": "m2", "qty": 5}])
    assert res.status_code == 201, res.text
    assert res.json() == [{"name": "m1", "done": True, "qty": None}, {"name": "m2", "done": False, "qty": 5}]
    assert "missing=default" in res.headers["Preference-Applied"]
