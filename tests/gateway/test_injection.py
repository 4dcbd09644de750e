"""SQL injection attempts through values and identifiers are rejected or harmless.

PostgREST binds every value and quotes every identifier (docs: explanations/security,
references/api/url_grammar); the gateway must too. Each test also checks the table survived.
"""

from __future__ import annotations

import urllib.parse

import pytest

EVIL = "x'); drop table public.gw_items; --"


def table_intact(db) -> bool:
    return db.execute("select to_regclass('public.gw_items') is not null").fetchone()[0]


@pytest.mark.parametrize("query", [
    f"name=eq.{EVIL}",
    f"name=like.{EVIL}",
    f"name=in.({EVIL},\"{EVIL}\")",
    f"or=(name.eq.{EVIL},qty.eq.1)",
    "name=eq.' or '1'='1",
])
def test_values_are_bound(rest, alice, items, db, query):
    key, _, value = query.partition("=")
    res = rest("GET", f"gw_items?{key}={urllib.parse.quote(value, safe='')}", token=alice.token)
    assert res.status_code in (200, 400)
    if res.status_code == 200:
        assert [r for r in res.json() if r["qty"] != 1] == []
    assert table_intact(db)


@pytest.mark.parametrize("path, status", [
    ("gw_items?select=name;drop table public.gw_items", 400),
    ("gw_items?select=name,(select 1)", 400),
    ('gw_items?select=name::text);drop table public.gw_items;--', 400),
    ('gw_items?name"=eq.x', 400),
    ("gw_items?order=name;drop table public.gw_items", 400),
    ("gw_items?order=name.desc;drop", 400),
    ("gw_items;drop table public.gw_items", 404),
    ('gw_items"', 404),
    ("rpc/gw_add(1,2);drop table public.gw_items", 404),
    ("pg_catalog.pg_roles", 404),
])
def test_identifiers_are_validated(rest, alice, items, db, path, status):
    res = rest("GET", urllib.parse.quote(path, safe="/?=&"), token=alice.token)
    assert res.status_code == status, res.text
    assert table_intact(db)


def test_json_keys_are_validated(rest, alice, items, db):
    res = rest("POST", "gw_items", token=alice.token, json={'name") values (1); drop table public.gw_items; --': "x"})
    assert res.status_code == 400
    res = rest("PATCH", "gw_items?name=eq.apple", token=alice.token, json={"name = 'x', qty": 1})
    assert res.status_code == 400
    res = rest("POST", "gw_items?on_conflict=sku);drop table public.gw_items;--", token=alice.token,
               headers={"Prefer": "resolution=merge-duplicates"}, json={"name": "n", "sku": "s"})
    assert res.status_code == 400
    assert table_intact(db)


def test_rpc_argument_names_and_values(rest, alice, items, db):
    res = rest("POST", "rpc/gw_add", token=alice.token, json={"a := 1, b := 2); drop table public.gw_items; --": 1})
    assert res.status_code == 404
    res = rest("POST", "rpc/gw_echo", token=alice.token, json={"payload": EVIL, "labels": [EVIL]})
    assert res.status_code == 200 and res.json()["payload"] == EVIL
    assert table_intact(db)


def test_role_claim_is_quoted(rest, alice, items, mint, db):
    res = rest("GET", "gw_items", token=mint(alice.id, role='authenticated"; drop table public.gw_items; --'))
    assert res.status_code == 401
    assert table_intact(db)
