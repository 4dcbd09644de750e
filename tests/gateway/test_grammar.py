"""Pure parsing of PostgREST's URL grammar and headers; needs no running stack.

References (PostgREST docs): references/api/url_grammar (quoting reserved characters in in.()),
references/api/pagination_count (Range, Content-Range), references/api/preferences (Prefer).
"""

from __future__ import annotations

import pytest
from psycopg import sql

from gateway import grammar
from gateway.errors import ApiError, pg_status


def render(fragment) -> str:
    return fragment.as_string(None) if isinstance(fragment, sql.Composable) else fragment


def test_in_list_honours_double_quotes_and_escapes():
    assert grammar.parse_in_list('(a,"b,c", "d\\"e")') == ["a", "b,c", 'd"e']
    assert grammar.parse_in_list("()") == []


def test_filter_values_are_parameters_never_sql_text():
    frag, params = grammar.parse_filter("name", "like.*'; drop*")
    assert params == ["%'; drop%"] and "drop" not in render(frag)
    frag, params = grammar.parse_filter("qty", "not.in.(1,2)")
    assert render(frag) == 'NOT ("qty" IN (%s, %s))' and params == ["1", "2"]


@pytest.mark.parametrize("column", ['na"me', "a b", "1abc", "x;drop", ""])
def test_bad_identifiers_are_rejected(column):
    with pytest.raises(ApiError) as err:
        grammar.parse_filter(column, "eq.1")
    assert err.value.status == 400 and err.value.code == "PGRST100"


def test_logic_tree_nests():
    frag, params = grammar.parse_logic("or", "(a.eq.1,and(b.gt.2,c.is.null))")
    assert render(frag) == '("a" = %s OR ("b" > %s AND "c" IS NULL))' and params == ["1", "2"]


def test_order_terms():
    assert render(grammar.parse_order("a.desc.nullslast,b")) == '"a" DESC NULLS LAST, "b"'
    with pytest.raises(ApiError):
        grammar.parse_order("a.sideways")


@pytest.mark.parametrize("header, query, expected", [
    (None, {}, grammar.Range(0, None)),
    ("0-9", {}, grammar.Range(0, 10)),
    ("5-", {}, grammar.Range(5, None)),
    ("0-9", {"limit": "3"}, grammar.Range(0, 3)),
    (None, {"limit": "2", "offset": "4"}, grammar.Range(4, 2)),
    ("garbage", {}, grammar.Range(0, None)),  # PostgREST ignores an unparseable Range
    (None, {"limit": "0"}, grammar.Range(0, 0)),
])
def test_requested_range(header, query, expected):
    assert grammar.requested_range(header, query) == expected


def test_content_range_and_status():
    assert grammar.content_range(0, 10, None) == "0-9/*"
    assert grammar.content_range(0, 10, 50) == "0-9/50"
    assert grammar.content_range(0, 0, 0) == "*/0"
    assert grammar.range_status(0, 10, 50) == 206
    assert grammar.range_status(0, 10, 10) == 200
    assert grammar.range_status(0, 10, None) == 200


def test_prefer_header():
    assert grammar.parse_prefer(["return=representation, count=exact", "resolution=merge-duplicates"]) == {
        "return": "representation", "count": "exact", "resolution": "merge-duplicates"}


@pytest.mark.parametrize("code, authed, status", [
    ("23505", True, 409), ("23503", False, 409), ("42501", True, 403), ("42501", False, 401),
    ("42P01", True, 404), ("23502", True, 400), ("22P02", True, 400), ("P0001", True, 400),
    ("PT402", True, 402), ("40001", True, 500), ("08006", True, 503),
])
def test_pg_error_status_mapping(code, authed, status):
    assert pg_status(code, "msg", authed) == status
