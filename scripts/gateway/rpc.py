"""Function calls (/rest/v1/rpc/<fn>) with named arguments, as PostgREST makes them.

Docs: references/api/functions. Arguments travel as one JSON parameter and are typed by
``json_to_record`` with the function's own declared argument types, so Postgres converts
JSON arrays and objects exactly as PostgREST's generated call does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from psycopg import sql

from . import grammar
from .errors import ApiError, invalid_body, singular
from .exchange import JSON_TYPE, OBJECT_TYPE, Request, Response

_PROCS = """
SELECT p.proretset, p.pronargdefaults,
       p.prorettype = 'void'::regtype,
       (t.typtype = 'c' OR p.prorettype = 'record'::regtype),
       coalesce((
         SELECT json_agg(json_build_array(a.name, format_type(a.typ, NULL)) ORDER BY a.ord)
         FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
                     coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[p.pronargs::int])),
                     coalesce(p.proargnames, array_fill(''::text, ARRAY[coalesce(array_length(p.proallargtypes, 1), p.pronargs)::int])))
              WITH ORDINALITY AS a(typ, mode, name, ord)
         WHERE a.mode IN ('i', 'b', 'v')), '[]')::text
FROM pg_catalog.pg_proc p
JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
JOIN pg_catalog.pg_type t ON t.oid = p.prorettype
WHERE n.nspname = 'public' AND p.proname = %s AND p.prokind = 'f'
"""


@dataclass(frozen=True)
class Function:
    returns_set: bool
    n_defaults: int
    is_void: bool
    is_composite: bool
    args: list[tuple[str, str]]  # (name, type) of the input arguments, in order

    def accepts(self, keys: set[str]) -> bool:
        names = [name for name, _ in self.args]
        required = names[: len(names) - self.n_defaults]
        return keys <= set(names) and set(required) <= keys


def not_found(name: str, keys: list[str]) -> ApiError:
    func = f"public.{name}"
    if keys:
        message = f"Could not find the function {func}({', '.join(keys)}) in the schema cache"
        plural = "s" if len(keys) > 1 else ""
        details = f"Searched for the function {func} with parameter{plural} {', '.join(keys)}"
    else:
        message = f"Could not find the function {func} without parameters in the schema cache"
        details = f"Searched for the function {func} without parameters"
    details += " or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache."
    return ApiError(404, "PGRST202", message, details)


def find(cur, name: str, keys: set[str]) -> Function:
    if grammar.IDENT.match(name):
        cur.execute(_PROCS, [name])
        candidates = [Function(r[0], r[1], r[2], r[3], [tuple(a) for a in json.loads(r[4])]) for r in cur.fetchall()]
        matches = [f for f in candidates if f.accepts(keys)]
        if matches:
            return max(matches, key=lambda f: len(f.args))
    raise not_found(name, sorted(keys))


def _args(req: Request) -> dict:
    if req.method == "GET":
        return {k: v for k, v in req.params if k not in grammar.RESERVED_PARAMS}
    payload = req.json_body(empty={})
    if not isinstance(payload, dict):
        raise invalid_body()
    return payload


def call(cur, req: Request) -> Response:
    args = _args(req)
    fn = find(cur, req.name, set(args))
    target = sql.Identifier("public", req.name)
    used = [(n, t) for n, t in fn.args if n in args]
    scalar = not fn.is_composite
    alias = sql.SQL("pgrst_call(pgrst_scalar)" if scalar else "pgrst_call")
    if used:
        # Types come from the catalog (format_type), never from the request.
        coldefs = sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in used)
        named = sql.SQL(", ").join(sql.SQL("{} := pgrst_args.{}").format(sql.Identifier(n), sql.Identifier(n)) for n, _ in used)
        source = sql.SQL("json_to_record(%s::json) AS pgrst_args({}), LATERAL {}({}) AS {}").format(coldefs, target, named, alias)
        params = [json.dumps(args)]
    else:
        source, params = sql.SQL("{}() AS {}").format(target, alias), []
    value = sql.SQL("pgrst_call.pgrst_scalar" if scalar else "pgrst_call")
    if fn.is_void:
        cur.execute(sql.SQL("SELECT 1 FROM {}").format(source), params)
        return Response(204)
    if fn.returns_set:
        cur.execute(sql.SQL("SELECT coalesce(json_agg({}), '[]')::text, count(*) FROM {}").format(value, source), params)
        rows_json, n = cur.fetchone()
        if req.singular:
            if n != 1:
                raise singular(n)
            return Response(200, json.dumps(json.loads(rows_json)[0]).encode(), {"Content-Type": OBJECT_TYPE})
        return Response(200, rows_json.encode(), {"Content-Type": JSON_TYPE, "Content-Range": grammar.content_range(0, n, None)})
    cur.execute(sql.SQL("SELECT to_json({})::text FROM {}").format(value, source), params)
    row = cur.fetchone()
    body = row[0] if row and row[0] is not None else "null"
    return Response(200, body.encode(), {"Content-Type": OBJECT_TYPE if req.singular else JSON_TYPE})
