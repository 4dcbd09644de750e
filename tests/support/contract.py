"""The contract's answer shapes (CONTRACT sections 3 and 6): the error body every non-2xx answer carries,
the Execution and NodeResult keys, id formats."""

from __future__ import annotations

import re

import requests

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SNAKE_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
ERROR_KEYS = {"error", "status", "code"}
EXECUTION_KEYS = {"id", "workflow_id", "status", "success", "error_count", "execution_time_ms", "executed_at",
                  "finished_at", "trigger_type", "trigger_data", "results"}
RESULT_KEYS = {"nodeId", "type", "status", "success", "attempts", "startedAt", "durationMs"}


def assert_error(res: requests.Response, status: int, code: str | None = None) -> dict:
    """Asserts the contract's error answer and returns its body: the HTTP status, a JSON object with exactly
    ``error`` (a non-blank message), ``status`` (the HTTP status again), ``code`` (snake_case, ``code`` when
    given) and optionally ``details``."""
    assert res.status_code == status, f"expected {status}, got {res.status_code}: {res.text[:500]}"
    assert res.headers.get("Content-Type", "").startswith("application/json"), res.headers
    body = res.json()
    assert isinstance(body, dict), body
    assert ERROR_KEYS <= set(body) <= ERROR_KEYS | {"details"}, f"keys {sorted(body)} in {body}"
    assert isinstance(body["error"], str) and body["error"].strip(), body
    assert body["status"] == status, body
    assert isinstance(body["code"], str) and SNAKE_RE.match(body["code"]), body
    if code is not None:
        assert body["code"] == code, body
    return body


def detail_field(body: dict) -> str | None:
    """The field an invalid-request answer names (``details.field``)."""
    details = body.get("details")
    return details.get("field") if isinstance(details, dict) else None
