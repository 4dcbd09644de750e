"""PostgREST's error answers: the ``{code, message, details, hint}`` body and its status mapping."""

from __future__ import annotations

import json

import psycopg


class ApiError(Exception):
    """An error answer. ``body`` overrides the PostgREST shape (Supabase's gateway uses its own)."""

    def __init__(self, status: int, code: str | None, message: str, details=None, hint=None,
                 headers: dict | None = None, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.hint = hint
        self.headers = headers or {}
        self._body = body

    def body(self) -> bytes:
        payload = self._body if self._body is not None else {
            "code": self.code, "details": self.details, "hint": self.hint, "message": self.message,
        }
        return json.dumps(payload).encode()


def pg_status(sqlstate: str, message: str, authed: bool) -> int:
    """HTTP status for a PostgreSQL error, per PostgREST's table (docs: references/errors, "HTTP Status Codes")."""
    exact = {
        "23503": 409, "23505": 409, "25006": 405, "53400": 500, "57P01": 503,
        "P0001": 400, "42883": 404, "42P01": 404, "42P17": 500,
    }
    if sqlstate == "42501":
        return 403 if authed else 401
    if sqlstate == "22023" and message.startswith("role") and message.endswith("does not exist"):
        return 401  # a JWT naming a role that does not exist
    if sqlstate == "21000":
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate in exact:
        return exact[sqlstate]
    if sqlstate.startswith("PT") and sqlstate[2:].isdigit():
        return int(sqlstate[2:])
    prefixes = {
        "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500,
        "38": 500, "39": 500, "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500,
        "57": 500, "58": 500, "F0": 500, "HV": 500, "P0": 500, "XX": 500,
    }
    return prefixes.get(sqlstate[:2], 400)


def from_pg(err: psycopg.Error, authed: bool) -> ApiError:
    """Translate a database error the way PostgREST forwards it."""
    diag = err.diag
    sqlstate = diag.sqlstate or ""
    if not sqlstate:
        return ApiError(503, "PGRST001", "Database client error. Retrying the connection.", str(err))
    message = diag.message_primary or str(err)
    return ApiError(pg_status(sqlstate, message, authed), sqlstate, message, diag.message_detail, diag.message_hint)


def invalid_token(code: str, message: str, details=None) -> ApiError:
    """401 with the ``WWW-Authenticate`` header PostgREST sends for a bad JWT."""
    header = 'Bearer error="invalid_token", error_description=' + json.dumps(message)
    return ApiError(401, code, message, details, None, headers={"WWW-Authenticate": header})


def query_param_error(message: str, details: str) -> ApiError:
    return ApiError(400, "PGRST100", message, details)


def invalid_body(message: str = "Empty or invalid json") -> ApiError:
    return ApiError(400, "PGRST102", message)


def table_not_found(table: str) -> ApiError:
    return ApiError(404, "PGRST205", f"Could not find the table 'public.{table}' in the schema cache")


def singular(rows: int) -> ApiError:
    # PostgREST v12 wording (v13 rephrased the message, same code and status).
    return ApiError(406, "PGRST116", "JSON object requested, multiple (or no) rows returned",
                    f"The result contains {rows} rows")
