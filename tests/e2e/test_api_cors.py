"""CORS as a browser sees it from the wire: preflights and grants for ALLOWED_ORIGINS only, on errors too."""

from __future__ import annotations

import pytest

from support.contract import assert_error
from support.env import allowed_origins

DISALLOWED = ["http://evil.example", "http://localhost:3001", "null", "https://localhost:3000"]
REQUIRED_HEADERS = {"authorization", "content-type", "apikey", "idempotency-key"}


@pytest.fixture(scope="module")
def allowed_origin() -> str:
    origins = [o for o in allowed_origins() if o != "*"]
    assert origins, "the stack exports ALLOWED_ORIGINS"
    return origins[0]


def preflight(anon, path: str, origin: str, method: str = "POST"):
    return anon.call("OPTIONS", path, headers={
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, apikey, idempotency-key",
    })


def listed(value: str | None) -> set[str]:
    return {v.strip().lower() for v in (value or "").split(",") if v.strip()}


@pytest.mark.parametrize("path, method", [
    ("/api/workflows", "POST"),
    ("/api/workflows", "GET"),
    ("/api/workflows/6f1c2d3e-4b5a-4789-9abc-def012345678", "PUT"),
    ("/api/workflows/6f1c2d3e-4b5a-4789-9abc-def012345678", "DELETE"),
    ("/api/workflows/validate", "POST"),
])
def test_preflight_from_allowed_origin(anon, allowed_origin, path, method):
    res = preflight(anon, path, allowed_origin, method)
    assert res.status_code == 204, res.text
    assert res.headers.get("Access-Control-Allow-Origin") == allowed_origin
    assert REQUIRED_HEADERS <= listed(res.headers.get("Access-Control-Allow-Headers"))
    assert method.lower() in listed(res.headers.get("Access-Control-Allow-Methods"))
    assert "origin" in listed(res.headers.get("Vary"))
    assert res.content == b""


def test_preflight_max_age_is_bounded(anon, allowed_origin):
    res = preflight(anon, "/api/workflows", allowed_origin)
    assert 0 < int(res.headers["Access-Control-Max-Age"]) <= 86400


@pytest.mark.parametrize("origin", DISALLOWED)
def test_preflight_from_disallowed_origin_gets_no_grant(anon, origin):
    res = preflight(anon, "/api/workflows", origin)
    assert res.status_code < 500
    assert "Access-Control-Allow-Origin" not in res.headers
    assert "Access-Control-Allow-Headers" not in res.headers
    assert "Access-Control-Allow-Credentials" not in res.headers


def test_preflight_without_origin_gets_no_grant(anon):
    res = anon.call("OPTIONS", "/api/workflows")
    assert "Access-Control-Allow-Origin" not in res.headers


def test_actual_call_from_allowed_origin_is_granted(alice, allowed_origin):
    res = alice.api.get("/api/workflows", headers={"Origin": allowed_origin})
    assert res.status_code == 200
    assert res.headers.get("Access-Control-Allow-Origin") == allowed_origin


@pytest.mark.parametrize("origin", DISALLOWED)
def test_actual_call_from_disallowed_origin_gets_no_grant(alice, origin):
    res = alice.api.get("/api/workflows", headers={"Origin": origin})
    assert res.status_code == 200  # CORS is the browser's to enforce; the server just grants nothing
    assert "Access-Control-Allow-Origin" not in res.headers


def test_error_answers_carry_the_grant(anon, alice, allowed_origin):
    h = {"Origin": allowed_origin}
    errors = [
        (anon.get("/api/workflows", headers=h), 401),
        (alice.api.get("/api/nope", headers=h), 404),
        (alice.api.call("PATCH", "/api/workflows", headers=h), 405),
        (alice.api.post("/api/workflows", data="{", headers={**h, "Content-Type": "application/json"}), 400),
        (alice.api.get("/api/workflows/6f1c2d3e-4b5a-4789-9abc-def012345678", headers=h), 404),
        # Refused before the body is read: still granted, so the page can see the 413.
        (alice.api.post("/api/workflows", data=b"x" * (1024 * 1024 + 10),
                        headers={**h, "Content-Type": "application/json"}), 413),
    ]
    for res, status in errors:
        assert_error(res, status)
        assert res.headers.get("Access-Control-Allow-Origin") == allowed_origin, (status, dict(res.headers))


def test_public_routes_are_granted_too(anon, allowed_origin):
    for path in ("/health", "/api/actions", "/openapi.json"):
        res = anon.get(path, headers={"Origin": allowed_origin})
        assert res.status_code == 200
        assert res.headers.get("Access-Control-Allow-Origin") == allowed_origin, path
