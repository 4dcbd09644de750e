"""A small client for the worker and the signed-up users that hold it."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import requests

# Bound on one API call: a hung worker fails the test instead of stalling the run.
TIMEOUT_S = 30
# A call that runs a workflow waits for every step, retries and held targets included.
RUN_TIMEOUT_S = 60
# Run states that change no more by themselves soon: the finished ones, and a run waiting on a delay.
SETTLED = ("succeeded", "failed", "cancelled", "waiting")


@dataclass(frozen=True)
class Api:
    """Calls ``base`` (the worker) with ``token`` as the bearer unless a call says otherwise."""

    base: str
    token: str | None = None
    timeout_s: float = TIMEOUT_S

    def as_(self, token: str | None) -> "Api":
        """The same worker, another bearer (None: anonymous)."""
        return replace(self, token=token)

    def at(self, base: str) -> "Api":
        """The same bearer, another worker (one started with other settings)."""
        return replace(self, base=base)

    def call(self, method: str, path: str, *, headers: dict | None = None, **kwargs) -> requests.Response:
        hdrs = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        hdrs.update(headers or {})
        return requests.request(method, f"{self.base}{path}", headers=hdrs, timeout=self.timeout_s, **kwargs)

    def get(self, path: str, **kw) -> requests.Response:
        return self.call("GET", path, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.call("POST", path, **kw)

    def put(self, path: str, **kw) -> requests.Response:
        return self.call("PUT", path, **kw)

    def delete(self, path: str, **kw) -> requests.Response:
        return self.call("DELETE", path, **kw)

    # -- workflows --------------------------------------------------------------------------

    def create(self, name: str, **fields) -> dict:
        """Creates a workflow and returns the stored row (asserting the 201)."""
        res = self.post("/api/workflows", json={"name": name, **fields})
        assert res.status_code == 201, f"create {name!r}: {res.status_code} {res.text}"
        return res.json()["workflow"]

    def save(self, doc: dict, name: str = "exec test") -> dict:
        """Creates a workflow from a ``{nodes, edges}`` document (see ``support.documents``)."""
        return self.create(**{"name": name, **doc})

    def list_ids(self, **params) -> list[str]:
        res = self.get("/api/workflows", params=params)
        assert res.status_code == 200, f"list: {res.status_code} {res.text}"
        return [w["id"] for w in res.json()["workflows"]]

    # -- templates --------------------------------------------------------------------------

    def template(self, template_id: str) -> dict:
        """One template of the library, as ``GET /api/templates/{id}`` serves it (asserting the 200)."""
        res = self.get(f"/api/templates/{template_id}")
        assert res.status_code == 200, f"template {template_id}: {res.status_code} {res.text}"
        return res.json()["template"]

    def instantiate(self, template_id: str, body: dict | None = None) -> dict:
        """A new workflow of the caller from a template; returns the stored row (asserting the 201)."""
        res = self.post(f"/api/templates/{template_id}/instantiate", json=body)
        assert res.status_code == 201, f"instantiate {template_id}: {res.status_code} {res.text}"
        return res.json()["workflow"]

    # -- executions -------------------------------------------------------------------------

    def execute(self, workflow_id: str, trigger_data: dict | None = None) -> requests.Response:
        body = {} if trigger_data is None else {"triggerData": trigger_data}
        return self.post(f"/api/workflows/{workflow_id}/execute", json=body)

    def run(self, doc: dict, trigger_data: dict | None = None) -> dict:
        """Saves ``doc``, executes it, asserts the 200 and returns the execution."""
        wf = self.save(doc)
        res = self.execute(wf["id"], trigger_data)
        assert res.status_code == 200, f"execute: {res.status_code} {res.text}"
        return res.json()["execution"]

    def run_unsaved(self, doc: dict, trigger_data: dict | None = None) -> dict:
        """Runs ``doc`` without saving it (the seed form's test run); asserts the 200."""
        res = self.post("/api/workflows/execute", json={"workflow": doc, "triggerData": trigger_data or {}})
        assert res.status_code == 200, f"execute unsaved: {res.status_code} {res.text}"
        return res.json()["execution"]

    def settled(self, execution_id: str, deadline_s: float = RUN_TIMEOUT_S) -> dict:
        """The execution once it stopped moving: finished, or ``waiting`` on a delay (a run that outgrew one
        invocation goes on through the queue after its execute answered). Polls ``GET /api/executions/{id}``."""
        end = time.monotonic() + deadline_s
        while True:
            res = self.get(f"/api/executions/{execution_id}")
            assert res.status_code == 200, f"execution {execution_id}: {res.status_code} {res.text}"
            ex = res.json()["execution"]
            if ex["status"] in SETTLED or time.monotonic() > end:
                assert ex["status"] in SETTLED, f"execution {execution_id} still {ex['status']}: {ex}"
                return ex
            time.sleep(0.2)

    # -- webhook signing ----------------------------------------------------------------------

    def webhook_secret(self) -> dict:
        """The caller's own signing secret, as ``GET /api/webhook-secret`` shows it."""
        res = self.get("/api/webhook-secret")
        assert res.status_code == 200, f"webhook secret: {res.status_code} {res.text}"
        return res.json()["webhookSecret"]


@dataclass(frozen=True)
class Person:
    """A signed-up user: their id, an HS256 access token and a client that sends it."""

    id: str
    token: str
    api: Api
