"""Function calls: POST /rest/v1/rpc/<fn> with named arguments.

References (PostgREST docs): references/api/functions ("Calling functions with a single
JSON/named parameters", "Functions that return a table", scalar results), references/errors (PGRST202).
"""

from __future__ import annotations


def test_scalar_with_named_args(rest, alice, schema):
    res = rest("POST", "rpc/gw_add", token=alice.token, json={"b": 2, "a": 40})
    assert res.status_code == 200 and res.json() == 42


def test_json_and_array_args_keep_their_types(rest, alice, schema):
    payload = {"nested": {"x": [1, 2]}, "s": "it's"}
    res = rest("POST", "rpc/gw_echo", token=alice.token, json={"payload": payload, "labels": ["a", "b,c"]})
    assert res.status_code == 200
    assert res.json() == {"payload": payload, "labels": ["a", "b,c"], "n": 2}


def test_setof_table_rows_respect_rls(rest, alice, bob, items):
    res = rest("POST", "rpc/gw_items_min", token=alice.token, json={"min_qty": 5})
    assert res.status_code == 200
    assert [r["name"] for r in res.json()] == ["banana", "Date, dried"]
    # Default argument may be omitted.
    res = rest("POST", "rpc/gw_items_min", token=bob.token, json={})
    assert [r["name"] for r in res.json()] == ["bob-secret", "bob-other"]
    assert rest("POST", "rpc/gw_items_min", json={}).json() == []  # anon: nothing


def test_returns_table_is_an_array_of_objects(rest, alice, bob, items):
    res = rest("POST", "rpc/gw_item_totals", token=alice.token, json={"names": ["banana", "apple", "bob-secret"]})
    assert res.status_code == 200, res.text
    assert res.json() == [{"name": "apple", "total": 3}, {"name": "banana", "total": 7}]  # bob's row: RLS
    assert rest("POST", "rpc/gw_item_totals", token=bob.token, json={"names": ["apple"]}).json() == []
    res = rest("POST", "rpc/gw_item_totals", token=alice.token, json={"names": ["apple"]},
               headers={"Accept": "application/vnd.pgrst.object+json"})
    assert res.status_code == 200 and res.json() == {"name": "apple", "total": 3}, res.text


def test_single_composite_is_an_object(rest, alice, items):
    res = rest("POST", "rpc/gw_first_item", token=alice.token)
    assert res.status_code == 200 and res.json()["name"] == "apple"


def test_get_rpc_with_query_args(rest, alice, schema):
    res = rest("GET", "rpc/gw_add?a=1&b=2", token=alice.token)
    assert res.status_code == 200 and res.json() == 3


def test_void_function_is_204(rest, alice, schema):
    res = rest("POST", "rpc/gw_noop", token=alice.token, json={})
    assert res.status_code == 204 and res.content == b""


def test_unknown_function_or_argument_is_404_pgrst202(rest, alice, schema):
    res = rest("POST", "rpc/gw_missing", token=alice.token, json={"a": 1})
    assert res.status_code == 404
    body = res.json()
    assert body["code"] == "PGRST202"
    assert body["message"] == "Could not find the function public.gw_missing(a) in the schema cache"
    res = rest("POST", "rpc/gw_add", token=alice.token, json={"a": 1, "c": 2})
    assert res.status_code == 404 and res.json()["code"] == "PGRST202"


def test_bad_argument_value_is_400(rest, alice, schema):
    res = rest("POST", "rpc/gw_add", token=alice.token, json={"a": "one", "b": 2})
    assert res.status_code == 400 and res.json()["code"] == "22P02"


def test_rpc_rejects_patch(rest, alice, schema):
    res = rest("PATCH", "rpc/gw_add", token=alice.token, json={"a": 1, "b": 2})
    assert res.status_code == 405 and res.json()["code"] == "PGRST101"
