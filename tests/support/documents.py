"""Workflow documents for the suites: the contract's sample and builders for nodes, edges and chains."""

from __future__ import annotations

import copy

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
    """An execution's results keyed by node id."""
    return {r["nodeId"]: r for r in execution["results"]}
