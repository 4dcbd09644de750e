"""Table requests (GET/HEAD/POST/PATCH/DELETE on /rest/v1/<table>) as PostgREST builds them.

Docs: references/api/tables_views (reads, inserts, upserts, updates, deletes),
pagination_count, preferences (return, count, resolution), resource_representation (singular).
"""

from __future__ import annotations

import json

from psycopg import sql

from . import grammar
from .errors import ApiError, invalid_body, singular, table_not_found
from .exchange import JSON_TYPE, OBJECT_TYPE, Request, Response

_AGG = "SELECT coalesce(json_agg(_pgrst_t), '[]')::text, count(*) FROM ({}) _pgrst_t"


def table_ident(cur, name: str) -> sql.Composed:
    """``public.<name>`` if the table or view exists (PGRST205 otherwise); only ``public`` is exposed."""
    if grammar.IDENT.match(name):
        cur.execute(
            "SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relname = %s AND c.relkind IN ('r', 'v', 'm', 'f', 'p')", [name])
        if cur.fetchone():
            return sql.Identifier("public", name)
    raise table_not_found(name)


def _body(req: Request, rows_json: str, n: int, status: int, headers: dict) -> Response:
    if req.singular:
        if n != 1:
            raise singular(n)
        return Response(status, json.dumps(json.loads(rows_json)[0]).encode(), {"Content-Type": OBJECT_TYPE, **headers})
    return Response(status, rows_json.encode(), {"Content-Type": JSON_TYPE, **headers})


def _applied(req: Request, *names: str) -> dict:
    applied = [f"{k}={req.prefer[k]}" for k in names if k in req.prefer]
    return {"Preference-Applied": ", ".join(applied)} if applied else {}


def read(cur, req: Request) -> Response:
    table = table_ident(cur, req.name)
    select = grammar.parse_select(req.query.get("select"))
    where, params = grammar.parse_filters(req.params)
    order = grammar.parse_order(req.query.get("order"))
    rng = grammar.requested_range(req.headers.get("range"), req.query)
    inner = sql.SQL("SELECT {} FROM {} WHERE {}").format(select, table, where)
    if order is not None:
        inner += sql.SQL(" ORDER BY {}").format(order)
    page_params = []
    if rng.limit is not None:
        inner += sql.SQL(" LIMIT %s")
        page_params.append(rng.limit)
    if rng.offset:
        inner += sql.SQL(" OFFSET %s")
        page_params.append(rng.offset)
    cur.execute(sql.SQL(_AGG).format(inner), params + page_params)
    rows_json, n = cur.fetchone()
    total = None
    if req.prefer.get("count") in ("exact", "planned", "estimated"):
        cur.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(table, where), params)
        total = cur.fetchone()[0]
        if rng.offset > total:
            raise ApiError(416, "PGRST103", "Requested range not satisfiable",
                           f"An offset of {rng.offset} was requested, but there are only {total} rows.")
    headers = {"Content-Range": grammar.content_range(rng.offset, n, total), **_applied(req, "count")}
    resp = _body(req, rows_json, n, grammar.range_status(rng.offset, n, total), headers)
    if req.method == "HEAD":
        resp.body = b""
    return resp


def _mutate(cur, req: Request, stmt: sql.Composable, params: list, status_min: int, status_rep: int,
            content_range: str | None = None) -> Response:
    """Run an INSERT/UPDATE/DELETE; with return=representation, the rows shaped by ``select=``."""
    if req.representation:
        select = grammar.parse_select(req.query.get("select"))
        query = sql.SQL("WITH pgrst_source AS ({} RETURNING *) " + _AGG).format(
            stmt, sql.SQL("SELECT {} FROM pgrst_source").format(select))
        cur.execute(query, params)
        rows_json, n = cur.fetchone()
    else:
        cur.execute(stmt, params)
        rows_json, n = None, max(cur.rowcount, 0)
    if req.singular and n != 1:
        raise singular(n)  # raised inside the transaction, so the change is rolled back as in PostgREST
    span = content_range or grammar.content_range(0, n, None)
    headers = {"Content-Range": span, **_applied(req, "return", "resolution", "missing")}
    if rows_json is None:
        return Response(status_min, b"", headers)
    return _body(req, rows_json, n, status_rep, headers)


def _columns(req: Request, rows: list[dict], union: bool = False) -> list[str]:
    if "columns" in req.query:
        return [c.strip() for c in req.query["columns"].split(",") if c.strip()]
    if union:  # Prefer: missing=default lets objects carry different keys
        return list(dict.fromkeys(k for row in rows for k in row))
    keys = list(rows[0].keys()) if rows else []
    for row in rows[1:]:
        if set(row.keys()) != set(keys):
            raise invalid_body("All object keys must match")
    return keys


def _primary_key(cur, name: str) -> list[str]:
    cur.execute(
        "SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a"
        " ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = ('public.' || quote_ident(%s))::regclass AND i.indisprimary ORDER BY a.attnum", [name])
    return [r[0] for r in cur.fetchall()]


def _insert_with_defaults(table, names: list[str], cols: list, rows: list[dict]):
    """``Prefer: missing=default``: a key absent from an object means the column's DEFAULT, not NULL."""
    tuples, params = [], []
    for row in rows:
        cells = []
        for name, col in zip(names, cols):
            if name in row:
                cells.append(sql.SQL("(json_populate_record(NULL::{}, %s::json)).{}").format(table, col))
                params.append(json.dumps(row))
            else:
                cells.append(sql.SQL("DEFAULT"))
        tuples.append(sql.SQL("({})").format(sql.SQL(", ").join(cells)))
    stmt = sql.SQL("INSERT INTO {} ({}) VALUES {}").format(table, sql.SQL(", ").join(cols), sql.SQL(", ").join(tuples))
    return stmt, params


def insert(cur, req: Request) -> Response:
    table = table_ident(cur, req.name)
    payload = req.json_body()
    rows = [payload] if isinstance(payload, dict) else payload
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise invalid_body("All object keys must match" if isinstance(rows, list) else "Empty or invalid json")
    missing_default = req.prefer.get("missing") == "default"
    names = _columns(req, rows, union=missing_default)
    cols = [grammar.ident(c) for c in names]
    col_list = sql.SQL(", ").join(cols)
    if missing_default and cols and rows:
        stmt, params = _insert_with_defaults(table, names, cols, rows)
    else:
        source = sql.SQL("json_populate_recordset(NULL::{}, %s::json) _").format(table)
        if cols:
            stmt = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {}").format(table, col_list, col_list, source)
        else:  # every column takes its default
            stmt = sql.SQL("INSERT INTO {} SELECT FROM {}").format(table, source)
        params = [json.dumps(rows)]
    resolution = req.prefer.get("resolution")
    if resolution in ("merge-duplicates", "ignore-duplicates"):
        target = req.query.get("on_conflict")
        keys = [c.strip() for c in target.split(",")] if target else _primary_key(cur, req.name)
        if not keys:
            raise ApiError(400, "PGRST100", "\"failed to parse on_conflict\"", "no on_conflict columns and no primary key")
        stmt += sql.SQL(" ON CONFLICT ({})").format(sql.SQL(", ").join(grammar.ident(k) for k in keys))
        updates = [sql.SQL("{} = EXCLUDED.{}").format(c, c) for c in cols]
        if resolution == "merge-duplicates" and updates:
            stmt += sql.SQL(" DO UPDATE SET {}").format(sql.SQL(", ").join(updates))
        else:
            stmt += sql.SQL(" DO NOTHING")
    return _mutate(cur, req, stmt, params, 201, 201, content_range="*/*")


def update(cur, req: Request) -> Response:
    table = table_ident(cur, req.name)
    payload = req.json_body()
    if not isinstance(payload, dict):
        raise invalid_body()
    where, params = grammar.parse_filters(req.params)
    if not payload:  # nothing to change: PostgREST answers without touching the table
        if req.representation:
            return Response(200, b"[]", {"Content-Range": "*/*", "Content-Type": JSON_TYPE})
        return Response(204, b"", {"Content-Range": "*/*"})
    sets, set_params = [], []
    for key in payload:
        col = grammar.ident(key)
        sets.append(sql.SQL("{} = (SELECT {} FROM json_populate_record(NULL::{}, %s::json))").format(col, col, table))
        set_params.append(json.dumps(payload))
    stmt = sql.SQL("UPDATE {} SET {} WHERE {}").format(table, sql.SQL(", ").join(sets), where)
    return _mutate(cur, req, stmt, set_params + params, 204, 200)


def delete(cur, req: Request) -> Response:
    table = table_ident(cur, req.name)
    where, params = grammar.parse_filters(req.params)
    stmt = sql.SQL("DELETE FROM {} WHERE {}").format(table, where)
    return _mutate(cur, req, stmt, params, 204, 200)
