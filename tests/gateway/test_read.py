"""Reads: GET /rest/v1/<table> with PostgREST's grammar and answers.

References (PostgREST docs): references/api/tables_views ("Horizontal Filtering", "Operators",
"Logical operators", "Vertical Filtering", "Ordering"), references/api/pagination_count
("Limits and Pagination", "Exact Count"), references/api/resource_representation
("Singular or Plural"), references/errors (PGRST116, PGRST205, 42703).
"""

from __future__ import annotations

import urllib.parse

import pytest


def names(res) -> list[str]:
    assert res.status_code in (200, 206), res.text
    return [row["name"] for row in res.json()]


def q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def test_anon_sees_nothing_under_rls(rest, items):
    # RLS filters rows silently: an empty array, not an error.
    res = rest("GET", "gw_items")
    assert res.status_code == 200 and res.json() == []


def test_user_sees_only_own_rows(rest, alice, bob, items):
    assert sorted(names(rest("GET", "gw_items?select=name", token=alice.token))) == \
        ["Date, dried", "apple", "banana", "carrot"]
    assert sorted(names(rest("GET", "gw_items?select=name", token=bob.token))) == ["bob-other", "bob-secret"]
    # Asking for bob's row by id still yields nothing for alice.
    res = rest("GET", f"gw_items?id=eq.{items['bob-secret']}", token=alice.token)
    assert res.status_code == 200 and res.json() == []


def test_select_columns_alias_and_cast(rest, alice, items):
    res = rest("GET", "gw_items?select=name,amount:qty,qty::text&name=eq.apple", token=alice.token)
    assert res.json() == [{"name": "apple", "amount": 3, "qty": "3"}]
    full = rest("GET", "gw_items?name=eq.apple", token=alice.token).json()[0]
    assert {"id", "user_id", "name", "qty", "done", "sku", "tags", "meta", "created_at"} == set(full)
    assert full["tags"] == ["red", "fruit"] and full["meta"] == {"kind": "fruit"}


def test_unknown_column_is_400(rest, alice, items):
    res = rest("GET", "gw_items?select=nope", token=alice.token)
    assert res.status_code == 400 and res.json()["code"] == "42703"


@pytest.mark.parametrize("query, expected", [
    ("name=eq.apple", ["apple"]),
    ("name=neq.apple", ["Date, dried", "banana", "carrot"]),
    ("qty=gt.3", ["Date, dried", "banana"]),
    ("qty=gte.7", ["Date, dried", "banana"]),
    ("qty=lt.7", ["apple"]),
    ("qty=lte.7", ["apple", "banana"]),
    ("name=in.(apple,carrot)", ["apple", "carrot"]),
    ('name=in.(apple,"Date, dried")', ["Date, dried", "apple"]),
    ("qty=is.null", ["carrot"]),
    ("qty=not.is.null", ["Date, dried", "apple", "banana"]),
    ("done=is.true", ["Date, dried", "banana"]),
    ("done=is.false", ["apple", "carrot"]),
    ("name=like.*an*", ["banana"]),
    ("name=ilike.d*", ["Date, dried"]),
    ("name=not.eq.apple", ["Date, dried", "banana", "carrot"]),
    ("name=not.in.(apple,banana)", ["Date, dried", "carrot"]),
    ("tags=cs.{fruit}", ["apple", "banana"]),
    ("meta=cs." + '{"kind":"snack"}', ["Date, dried"]),
    ("or=(qty.lt.4,name.eq.carrot)", ["apple", "carrot"]),
    ("qty=gte.3&qty=lte.7", ["apple", "banana"]),
    ("id=in.()", []),
])
def test_filter_operators(rest, alice, items, query, expected):
    encoded = "&".join(f"{k}={q(v)}" for k, v in (p.split("=", 1) for p in query.split("&")))
    res = rest("GET", f"gw_items?select=name&{encoded}", token=alice.token)
    assert sorted(names(res)) == sorted(expected)


def test_bad_operator_is_400_pgrst100(rest, alice, items):
    res = rest("GET", "gw_items?qty=between.1", token=alice.token)
    assert res.status_code == 400 and res.json()["code"] == "PGRST100"


def test_order(rest, alice, items):
    res = rest("GET", "gw_items?select=name&order=qty.desc.nullslast", token=alice.token)
    assert names(res) == ["Date, dried", "banana", "apple", "carrot"]
    res = rest("GET", "gw_items?select=name&order=qty.asc.nullsfirst", token=alice.token)
    assert names(res) == ["carrot", "apple", "banana", "Date, dried"]
    res = rest("GET", "gw_items?select=name&order=done.desc,name.asc", token=alice.token)
    assert names(res) == ["Date, dried", "banana", "apple", "carrot"]


def test_limit_offset_and_content_range(rest, alice, items):
    # Every read answers with Content-Range; the total is "*" unless a count is asked for.
    res = rest("GET", "gw_items?select=name&order=name&limit=2&offset=1", token=alice.token)
    assert names(res) == ["apple", "banana"]
    assert res.status_code == 200 and res.headers["Content-Range"] == "1-2/*"


def test_range_header(rest, alice, items):
    # What the postgrest crate sends for .limit(n) / .range(a, b).
    headers = {"Range-Unit": "items", "Range": "0-1"}
    res = rest("GET", "gw_items?select=name&order=name", token=alice.token, headers=headers)
    assert names(res) == ["Date, dried", "apple"] and res.headers["Content-Range"] == "0-1/*"
    res = rest("GET", "gw_items?select=name&order=name", token=alice.token, headers={"Range": "2-"})
    assert names(res) == ["banana", "carrot"] and res.headers["Content-Range"] == "2-3/*"


def test_range_lower_above_upper_is_416(rest, alice, items):
    res = rest("GET", "gw_items", token=alice.token, headers={"Range": "3-1"})
    assert res.status_code == 416 and res.json()["code"] == "PGRST103"


def test_count_exact(rest, alice, items):
    # "Prefer: count=exact" adds the total; a partial page is 206 Partial Content.
    headers = {"Prefer": "count=exact", "Range": "0-1"}
    res = rest("GET", "gw_items?select=name&order=name", token=alice.token, headers=headers)
    assert res.status_code == 206 and res.headers["Content-Range"] == "0-1/4"
    res = rest("GET", "gw_items?select=name", token=alice.token, headers={"Prefer": "count=exact"})
    assert res.status_code == 200 and res.headers["Content-Range"] == "0-3/4"
    res = rest("GET", "gw_items?name=eq.none", token=alice.token, headers={"Prefer": "count=exact"})
    assert res.status_code == 200 and res.headers["Content-Range"] == "*/0" and res.json() == []


def test_offset_beyond_total_with_count_is_416(rest, alice, items):
    res = rest("GET", "gw_items?offset=10", token=alice.token, headers={"Prefer": "count=exact"})
    assert res.status_code == 416 and res.json()["code"] == "PGRST103"


def test_head_has_headers_but_no_body(rest, alice, items):
    res = rest("HEAD", "gw_items", token=alice.token, headers={"Prefer": "count=exact"})
    assert res.status_code == 200 and res.content == b"" and res.headers["Content-Range"] == "0-3/4"


def test_singular_object(rest, alice, items):
    accept = {"Accept": "application/vnd.pgrst.object+json"}
    res = rest("GET", "gw_items?select=name,qty&name=eq.apple", token=alice.token, headers=accept)
    assert res.status_code == 200 and res.json() == {"name": "apple", "qty": 3}
    assert res.headers["Content-Type"].startswith("application/vnd.pgrst.object+json")


@pytest.mark.parametrize("query, n", [("name=eq.nothing", 0), ("done=is.true", 2)])
def test_singular_with_zero_or_many_rows_is_406(rest, alice, items, query, n):
    res = rest("GET", f"gw_items?{query}", token=alice.token, headers={"Accept": "application/vnd.pgrst.object+json"})
    assert res.status_code == 406
    assert res.json() == {"code": "PGRST116", "message": "JSON object requested, multiple (or no) rows returned",
                          "details": f"The result contains {n} rows", "hint": None}


def test_unknown_table_is_404(rest, alice):
    res = rest("GET", "no_such_table", token=alice.token)
    assert res.status_code == 404
    assert res.json()["code"] == "PGRST205"
    assert res.json()["message"] == "Could not find the table 'public.no_such_table' in the schema cache"


def test_other_schemas_are_not_exposed(rest, stack_env):
    # Only `public` is exposed: auth.users is not reachable, even for the service role.
    res = rest("GET", "auth.users", apikey=stack_env.service_key, token=stack_env.service_key)
    assert res.status_code == 404


def test_permission_denied_is_403_with_token_401_without(rest, alice, schema):
    # 42501: "if authenticated 403, else 401" (references/errors, HTTP Status Codes).
    res = rest("GET", "gw_locked", token=alice.token)
    assert res.status_code == 403 and res.json()["code"] == "42501"
    res = rest("GET", "gw_locked")
    assert res.status_code == 401 and res.json()["code"] == "42501"


def test_invalid_uuid_value_is_400(rest, alice, items):
    res = rest("GET", "gw_items?id=eq.not-a-uuid", token=alice.token)
    assert res.status_code == 400 and res.json()["code"] == "22P02"
