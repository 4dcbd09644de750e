"""PostgREST's URL grammar (docs: references/api/tables_views, url_grammar, pagination_count, preferences).

Pure functions: text in, ``psycopg.sql`` fragments and bound parameters out. User text only
ever becomes a quoted ``sql.Identifier`` (after validation) or a bound parameter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from psycopg import sql

from .errors import ApiError, query_param_error

IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
RESERVED_PARAMS = {"select", "order", "limit", "offset", "on_conflict", "columns", "apikey"}

_COMPARE = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=",
            "like": "LIKE", "ilike": "ILIKE", "match": "~", "imatch": "~*",
            "cs": "@>", "cd": "<@", "ov": "&&", "isdistinct": "IS DISTINCT FROM"}
_FTS = {"fts": "to_tsquery", "plfts": "plainto_tsquery", "phfts": "phraseto_tsquery", "wfts": "websearch_to_tsquery"}
_IS = {"null": "NULL", "not_null": "NOT NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}

Fragment = tuple[sql.Composable, list]


def ident(name: str, what: str = "column") -> sql.Identifier:
    """A validated, quoted identifier."""
    if not IDENT.match(name):
        raise query_param_error(f"\"failed to parse {what} name ({name})\"", f"unexpected \"{name}\" expecting an identifier")
    return sql.Identifier(name)


def split_top(text: str, sep: str = ",") -> list[str]:
    """Split on ``sep`` outside double quotes and parentheses."""
    parts, buf, depth, quoted, escaped = [], [], 0, False, False
    for ch in text:
        if escaped:
            buf.append(ch)
            escaped = False
            continue
        if ch == "\\" and quoted:
            buf.append(ch)
            escaped = True
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf))
    return parts


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_select(text: str | None) -> sql.Composable:
    """``select=a,alias:b,c::text`` (``*`` by default). Embedding is not supported here."""
    if text is None or text.strip() in ("", "*"):
        return sql.SQL("*")
    items = []
    for raw in split_top(text):
        item = raw.strip()
        if item == "*":
            items.append(sql.SQL("*"))
            continue
        if "(" in item or "->" in item:
            raise query_param_error("\"failed to parse select parameter (" + text + ")\"",
                                    "resource embedding, aggregates and JSON paths are not supported by the local gateway")
        alias = None
        if ":" in item.replace("::", ""):
            alias, _, item = item.partition(":")
        column, _, cast = item.partition("::")
        expr = ident(column.strip())
        if cast:
            ident(cast.strip(), "type")  # validated, then inlined: type names like int are keywords, not quotable
            expr = sql.SQL("CAST({} AS {})").format(expr, sql.SQL(cast.strip()))
        if alias is not None:
            expr = sql.SQL("{} AS {}").format(expr, ident(alias.strip()))
        elif cast:
            expr = sql.SQL("{} AS {}").format(expr, ident(column.strip()))
        items.append(expr)
    return sql.SQL(", ").join(items)


def parse_in_list(value: str) -> list[str]:
    if not (value.startswith("(") and value.endswith(")")):
        raise query_param_error(f"\"failed to parse filter (in.{value})\"", "expecting \"(\"")
    inner = value[1:-1]
    if inner.strip() == "":
        return []
    return [unquote(v.strip()) for v in split_top(inner)]


def parse_filter(column: str, expr: str) -> Fragment:
    """One filter ``col=[not.]op.value`` as a boolean SQL fragment."""
    col = ident(column)
    negate = False
    if expr.startswith("not."):
        negate, expr = True, expr[4:]
    op, dot, value = expr.partition(".")
    lang = None
    m = re.match(r"^(fts|plfts|phfts|wfts)\(([A-Za-z_]+)\)$", op)
    if m:
        op, lang = m.group(1), m.group(2)
    if not dot:
        raise query_param_error(f"\"failed to parse filter ({expr})\"", "unexpected end of input expecting operator")
    if op in _COMPARE:
        if op in ("like", "ilike"):
            value = value.replace("*", "%")
        frag, params = sql.SQL("{} " + _COMPARE[op] + " %s").format(col), [value]
    elif op == "in":
        values = parse_in_list(value)
        if values:
            marks = sql.SQL(", ").join(sql.SQL("%s") for _ in values)
            frag, params = sql.SQL("{} IN ({})").format(col, marks), values
        else:
            frag, params = sql.SQL("FALSE"), []
    elif op == "is":
        if value.lower() not in _IS:
            raise query_param_error(f"\"failed to parse filter (is.{value})\"", "expecting null, not_null, true, false or unknown")
        frag, params = sql.SQL("{} IS " + _IS[value.lower()]).format(col), []
    elif op in _FTS:
        if lang:
            frag, params = sql.SQL("{} @@ " + _FTS[op] + "(%s::regconfig, %s)").format(col), [lang, value]
        else:
            frag, params = sql.SQL("{} @@ " + _FTS[op] + "(%s)").format(col), [value]
    else:
        raise query_param_error(f"\"failed to parse filter ({expr})\"", f"unknown operator \"{op}\"")
    if negate:
        frag = sql.SQL("NOT ({})").format(frag)
    return frag, params


def parse_logic(op: str, value: str, negate: bool = False) -> Fragment:
    """``or=(a.eq.1,and(b.gt.2,c.is.null))`` and ``and=(...)``."""
    if not (value.startswith("(") and value.endswith(")")):
        raise query_param_error(f"\"failed to parse logic tree ({value})\"", "expecting \"(\"")
    parts, params = [], []
    for item in split_top(value[1:-1]):
        item = item.strip()
        m = re.match(r"^(not\.)?(and|or)(\(.*\))$", item, re.S)
        if m:
            frag, p = parse_logic(m.group(2), m.group(3), bool(m.group(1)))
        else:
            column, dot, rest = item.partition(".")
            if not dot:
                raise query_param_error(f"\"failed to parse logic tree ({value})\"", f"unexpected \"{item}\"")
            frag, p = parse_filter(column, rest)
        parts.append(frag)
        params += p
    frag = sql.SQL("({})").format(sql.SQL(" OR " if op == "or" else " AND ").join(parts)) if parts else sql.SQL("TRUE")
    if negate:
        frag = sql.SQL("NOT {}").format(frag)
    return frag, params


def parse_filters(params: list[tuple[str, str]]) -> Fragment:
    """Every non-reserved query parameter is a filter; they are ANDed."""
    parts, values = [], []
    for key, value in params:
        if key in RESERVED_PARAMS:
            continue
        m = re.match(r"^(not\.)?(and|or)$", key)
        frag, p = parse_logic(m.group(2), value, bool(m.group(1))) if m else parse_filter(key, value)
        parts.append(frag)
        values += p
    if not parts:
        return sql.SQL("TRUE"), []
    return sql.SQL(" AND ").join(parts), values


def parse_order(text: str | None) -> sql.Composable | None:
    """``order=a.desc.nullslast,b`` as an ORDER BY list."""
    if not text:
        return None
    terms = []
    for item in text.split(","):
        column, *mods = item.strip().split(".")
        term = [ident(column)]
        for mod in mods:
            word = {"asc": "ASC", "desc": "DESC", "nullsfirst": "NULLS FIRST", "nullslast": "NULLS LAST"}.get(mod)
            if word is None:
                raise query_param_error(f"\"failed to parse order ({text})\"", f"unexpected \"{mod}\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"")
            term.append(sql.SQL(word))
        terms.append(sql.SQL(" ").join(term))
    return sql.SQL(", ").join(terms)


@dataclass(frozen=True)
class Range:
    offset: int
    limit: int | None  # None: unbounded


def requested_range(range_header: str | None, query: dict[str, str]) -> Range:
    """The Range header intersected with ``limit``/``offset`` (docs: pagination_count, "Limits and Pagination")."""
    lower, upper = 0, None
    if range_header:
        m = re.match(r"^(?:items=)?([0-9]+)-([0-9]*)$", range_header.strip())
        if m:  # PostgREST ignores an unparseable Range header
            lower = int(m.group(1))
            upper = int(m.group(2)) if m.group(2) else None
            if upper is not None and lower > upper:
                raise ApiError(416, "PGRST103", "Requested range not satisfiable",
                               "The lower boundary must be lower than or equal to the upper boundary in the Range header.")
    for name in ("limit", "offset"):
        if name in query and not re.match(r"^-?[0-9]+$", query[name]):
            raise query_param_error(f"\"failed to parse {name} ({query[name]})\"", "expecting an integer")
    if "offset" in query:
        lower = max(lower, int(query["offset"]))
    if "limit" in query:
        limit = int(query["limit"])
        if limit < 0:
            raise ApiError(416, "PGRST103", "Requested range not satisfiable", "Limit should be greater than or equal to zero.")
        top = lower + limit - 1
        upper = top if upper is None else min(upper, top)
    return Range(lower, None if upper is None else max(upper - lower + 1, 0))


def content_range(offset: int, rows: int, total: int | None) -> str:
    """``Content-Range`` as PostgREST writes it: ``0-9/*``, ``0-9/42`` or ``*/0``."""
    upper = offset + rows - 1
    span = f"{offset}-{upper}" if total != 0 and offset <= upper else "*"
    return f"{span}/{'*' if total is None else total}"


def range_status(offset: int, rows: int, total: int | None) -> int:
    """200, or 206 when a count shows the page is partial (416 is raised by the caller)."""
    if total is None:
        return 200
    return 206 if rows < total else 200


def parse_prefer(values: list[str]) -> dict[str, str]:
    """``Prefer: return=representation, count=exact`` -> {"return": ..., "count": ...}."""
    prefs: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            key, _, val = item.strip().partition("=")
            if key and key not in prefs:
                prefs[key] = val
    return prefs
