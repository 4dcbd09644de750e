"""Public routes of the real worker: health, the action catalog and the OpenAPI document (checked by a spec
validator and against what the worker actually serves)."""

from __future__ import annotations

import re
import uuid

import pytest
from openapi_spec_validator import validate

from support.contract import assert_error

ACTIONS = {"send_email", "ai_score", "create_deal", "update_contact", "send_notification", "webhook_call"}
# CONTRACT section 6, inputs marked * in section 5.
REQUIRED_INPUTS = {
    "send_email": {"to", "subject", "body"},
    "ai_score": {"email"},
    "create_deal": {"title"},
    "send_notification": {"title"},
    "webhook_call": {"url"},
}
# Every endpoint of CONTRACT section 6 (path templates); the first six are served since the API skeleton.
CONTRACT_PATHS = [
    ("/health", {"GET"}),
    ("/openapi.json", {"GET"}),
    ("/api/actions", {"GET"}),
    ("/api/workflows", {"GET", "POST", "PUT", "DELETE"}),
    ("/api/workflows/{id}", {"GET", "PUT", "DELETE"}),
    ("/api/workflows/validate", {"POST"}),
    ("/api/workflows/execute", {"POST"}),
    ("/api/workflows/{id}/execute", {"POST"}),
    ("/api/workflows/{id}/executions", {"GET"}),
    ("/api/executions/{id}", {"GET"}),
    ("/api/hooks/{trigger_key}", {"POST"}),
]
ALWAYS_SERVED = 6
# Routes anyone may call (CONTRACT sections 3 and 11, and the node-type catalog), hooks aside.
PUBLIC_PATHS = ("/health", "/openapi.json", "/api/actions", "/api/templates", "/api/templates/{id}", "/api/node-types")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def concrete(template: str) -> str:
    """A request path for a template: a random UUID (or key) for each parameter."""
    return re.sub(r"\{[^}]+\}", lambda m: uuid.uuid4().hex * 2 if "key" in m.group(0) else str(uuid.uuid4()),
                  template)


def shape(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", template)


def served_methods(anon, template: str) -> set[str] | None:
    """What the worker serves at a path: a method it serves nowhere (PATCH) gets 405 + Allow on a served
    path and 404 on an unknown one; routing happens before authentication, so no token is needed."""
    res = anon.call("PATCH", concrete(template))
    if res.status_code == 404:
        return None
    assert_error(res, 405, "method_not_allowed")
    return {m.strip() for m in res.headers["Allow"].split(",")} - {"OPTIONS", "HEAD"}


def test_health(anon):
    res = anon.get("/health")
    assert res.status_code == 200
    assert res.json() == {"status": "ok"}


def test_actions_lists_the_six_actions_with_input_schemas(anon):
    res = anon.get("/api/actions")
    assert res.status_code == 200, res.text
    actions = res.json()["actions"]
    assert isinstance(actions, list) and len(actions) == 6
    by_id = {a["id"]: a for a in actions}
    assert set(by_id) == ACTIONS
    for action in actions:
        assert {"id", "endpoint", "method", "requiresAuth", "description", "inputSchema"} <= set(action), action
        assert isinstance(action["requiresAuth"], bool)
        assert isinstance(action["description"], str) and action["description"]
        schema = action["inputSchema"]
        assert isinstance(schema, dict) and schema, action["id"]
        for name, spec in schema.items():
            assert {"type", "required", "description"} <= set(spec), (action["id"], name, spec)
            assert isinstance(spec["required"], bool)
    for action_id, required in REQUIRED_INPUTS.items():
        schema = by_id[action_id]["inputSchema"]
        assert {k for k, v in schema.items() if v["required"]} == required, action_id
    # update_contact needs `id` or `email`: both present, neither alone required.
    assert {"id", "email"} <= set(by_id["update_contact"]["inputSchema"])


def test_openapi_is_openapi_3(anon):
    res = anon.get("/openapi.json")
    assert res.status_code == 200
    doc = res.json()
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert "bearerAuth" in doc["components"]["securitySchemes"]


def test_openapi_passes_the_spec_validator(anon):
    # Checked against the schema of the OpenAPI version it declares, with every $ref resolved.
    res = anon.get("/openapi.json")
    assert res.status_code == 200
    validate(res.json())


def test_every_contract_route_already_built_is_served(anon):
    for template, methods in CONTRACT_PATHS[:ALWAYS_SERVED]:
        served = served_methods(anon, template)
        assert served is not None, f"{template} is not served"
        assert methods <= served, (template, served)


def test_openapi_documents_every_path_the_worker_serves(anon):
    documented = {shape(path): {m.upper() for m in item if m in HTTP_METHODS}
                  for path, item in anon.get("/openapi.json").json()["paths"].items()}
    for template, _ in CONTRACT_PATHS:
        served = served_methods(anon, template)
        if served is None:
            continue  # not built yet
        assert shape(template) in documented, f"{template} is served but not in /openapi.json"
        assert served <= documented[shape(template)], (template, served, documented[shape(template)])


def test_openapi_documents_nothing_the_worker_does_not_serve(anon):
    paths = anon.get("/openapi.json").json()["paths"]
    for path, item in paths.items():
        served = served_methods(anon, path)
        assert served is not None, f"{path} is documented but the worker answers 404"
        documented = {m.upper() for m in item if m in HTTP_METHODS}
        assert documented <= served, (path, documented, served)


def test_protected_operations_declare_bearer_auth(anon):
    paths = anon.get("/openapi.json").json()["paths"]
    for path, item in paths.items():
        for method, op in item.items():
            if method not in HTTP_METHODS:
                continue
            public = path in PUBLIC_PATHS or path.startswith("/api/hooks/")
            assert bool(op.get("security")) != public, (method, path)


@pytest.mark.parametrize("path", ["/health", "/api/actions", "/openapi.json", "/api/templates",
                                  "/api/templates/welcome-sequence", "/api/node-types"])
def test_public_routes_ignore_a_bad_token(anon, path):
    assert anon.get(path, headers={"Authorization": "Bearer garbage"}).status_code == 200
