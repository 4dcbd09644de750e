"""HTTP helpers for the end-to-end suite: a small client for the worker and the contract's error-body check."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

import requests

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SNAKE_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
TIMEOUT_S = 30

# CONTRACT section 4, verbatim: the document every frontend starts from.
CONTRACT_SAMPLE = {
    "name": "Lead intake",
    "description": "",
    "is_active": False,
    "nodes": [
        {"id": "trigger-1", "type": "trigger", "position": {"x": 0, "y": 0},
         "data": {"triggerType": "form_submit", "label": "Website form", "config": {}}},
        {"id": "action-1", "type": "action", "position": {"x": 0, "y": 120},
         "data": {"actionId": "ai_score",
                  "config": {"email": "{{trigger.email}}", "company": "{{trigger.company}}"}}},
        {"id": "cond-1", "type": "condition",
         "data": {"condition": {"left": "{{nodes.action-1.output.score}}", "op": "gte", "right": 70}}},
        {"id": "action-2", "type": "action",
         "data": {"actionId": "send_email",
                  "config": {"to": "{{trigger.email}}", "subject": "Welcome", "body": "Hi {{trigger.name}}"},
                  "retry": {"maxAttempts": 3, "backoffMs": 500}, "timeoutMs": 10000, "onError": "continue"}},
    ],
    "edges": [
        {"id": "e1", "source": "trigger-1", "target": "action-1"},
        {"id": "e2", "source": "action-1", "target": "cond-1"},
        {"id": "e3", "source": "cond-1", "target": "action-2", "sourceHandle": "true"},
    ],
}


def sample(**changes) -> dict:
    """A deep copy of the contract's sample document with top-level fields replaced."""
    doc = copy.deepcopy(CONTRACT_SAMPLE)
    doc.update(changes)
    return doc


@dataclass(frozen=True)
class Api:
    """Calls ``base`` (the worker) with ``token`` as the bearer unless a call says otherwise."""

    base: str
    token: str | None = None

    def as_(self, token: str | None) -> "Api":
        return Api(self.base, token)

    def call(self, method: str, path: str, *, headers: dict | None = None, **kwargs) -> requests.Response:
        hdrs = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        hdrs.update(headers or {})
        return requests.request(method, f"{self.base}{path}", headers=hdrs, timeout=TIMEOUT_S, **kwargs)

    def get(self, path: str, **kw) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.call("POST", path, **kw)

    def put(self, path: str, **kw) -> requests.Response:
        return self.call("PUT", path, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.call("DELETE", path, **kw)

    def create(self, name: str, **fields) -> dict:
        """Creates a workflow and returns the stored row (asserting the 201)."""
        res = self.post("/api/workflows", json={"name": name, **fields})
        assert res.status_code == 201, f"create {name!r}: {res.status_code} {res.text}"
        return res.json()["workflow"]

    def list_ids(self, **params) -> list[str]:
        res = self.get("/api/workflows", params=params)
        assert res.status_code == 200, f"list: {res.status_code} {res.text}"
        return [w["id"] for w in res.json()["workflows"]]


def assert_error(res: requests.Response, status: int, code: str | None = None) -> dict:
    """Asserts the contract's error answer: the status, JSON ``{"error","status","code","details"?}``; returns it."""
    assert res.status_code == status, f"expected {status}, got {res.status_code}: {res.text[:500]}"
    assert res.headers.get("Content-Type", "").startswith("application/json"), res.headers
    body = res.json()
    assert isinstance(body, dict), body
    assert set(body) <= {"error", "status", "code", "details"}, f"unexpected keys in {body}"
    assert isinstance(body.get("error"), str) and body["error"].strip(), body
    assert body.get("status") == status, body
    assert isinstance(body.get("code"), str) and SNAKE_RE.match(body["code"]), body
    if code is not None:
        assert body["code"] == code, body
    return body


def detail_field(body: dict) -> str | None:
    """The field an invalid-request answer names (``details.field``)."""
    details = body.get("details")
    return details.get("field") if isinstance(details, dict) else None
