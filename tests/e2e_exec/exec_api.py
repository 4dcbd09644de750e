"""Workflow builders and a small worker client for the execution suite."""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMEOUT_S = 60

EXECUTION_KEYS = {"id", "workflow_id", "status", "success", "error_count", "execution_time_ms", "executed_at",
                  "finished_at", "trigger_type", "trigger_data", "results"}
RESULT_KEYS = {"nodeId", "type", "status", "success", "attempts", "startedAt", "durationMs"}


# -- document builders ------------------------------------------------------------------

def trigger(node_id: str = "trigger", trigger_type: str = "manual") -> dict:
    return {"id": node_id, "type": "trigger", "position": {"x": 0, "y": 0},
            "data": {"triggerType": trigger_type, "label": "Start", "config": {}}}


def action(node_id: str, action_id: str, config: dict, **data) -> dict:
    """An action node; ``data`` adds ``retry``, ``timeoutMs``, ``onError``."""
    return {"id": node_id, "type": "action", "position": {"x": 0, "y": 100},
            "data": {"actionId": action_id, "config": config, **data}}


def webhook(node_id: str, url: str, body=None, **data) -> dict:
    config = {"url": url, "method": "POST"}
    if body is not None:
        config["body"] = body
    return action(node_id, "webhook_call", config, **data)


def condition(node_id: str, left, op: str, right=None) -> dict:
    cond = {"left": left, "op": op}
    if right is not None:
        cond["right"] = right
    return {"id": node_id, "type": "condition", "position": {"x": 0, "y": 200}, "data": {"condition": cond}}


def edge(source: str, target: str, handle: str | None = None) -> dict:
    e = {"id": f"{source}->{target}", "source": source, "target": target}
    if handle is not None:
        e["sourceHandle"] = handle
    return e


def chain(*nodes: dict) -> dict:
    """``{nodes, edges}`` linking the nodes one after another."""
    return {"nodes": list(nodes), "edges": [edge(a["id"], b["id"]) for a, b in zip(nodes, nodes[1:])]}


def by_node(execution: dict) -> dict:
    return {r["nodeId"]: r for r in execution["results"]}


# -- client ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Client:
    """Calls the worker at ``base`` as the holder of ``token``."""

    base: str
    token: str

    def at(self, base: str) -> "Client":
        return Client(base, self.token)

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.base}{path}", headers=headers, timeout=TIMEOUT_S, **kwargs)

    def save(self, doc: dict, name: str = "exec test") -> dict:
        res = self.call("POST", "/api/workflows", json={"name": name, **doc})
        assert res.status_code == 201, f"save: {res.status_code} {res.text}"
        return res.json()["workflow"]

    def execute(self, workflow_id: str, trigger_data: dict | None = None) -> requests.Response:
        body = {} if trigger_data is None else {"triggerData": trigger_data}
        return self.call("POST", f"/api/workflows/{workflow_id}/execute", json=body)

    def run(self, doc: dict, trigger_data: dict | None = None) -> dict:
        """Saves ``doc``, executes it, asserts the 200 and returns the execution."""
        wf = self.save(doc)
        res = self.execute(wf["id"], trigger_data)
        assert res.status_code == 200, f"execute: {res.status_code} {res.text}"
        return res.json()["execution"]

    def run_unsaved(self, doc: dict, trigger_data: dict | None = None) -> dict:
        res = self.call("POST", "/api/workflows/execute", json={"workflow": doc, "triggerData": trigger_data or {}})
        assert res.status_code == 200, f"execute unsaved: {res.status_code} {res.text}"
        return res.json()["execution"]


def assert_error(res: requests.Response, status: int, code: str | None = None) -> dict:
    """The contract's error body: ``{error, status, code, details?}`` with the expected status and code."""
    assert res.status_code == status, f"expected {status}, got {res.status_code}: {res.text[:500]}"
    body = res.json()
    assert set(body) <= {"error", "status", "code", "details"}, body
    assert isinstance(body["error"], str) and body["error"], body
    assert body["status"] == status, body
    if code is not None:
        assert body["code"] == code, body
    return body
