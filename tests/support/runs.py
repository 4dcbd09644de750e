"""Following runs: polling an execution until it gets somewhere, and reading its step journal."""

from __future__ import annotations

import time

import requests


def poll(api, execution_id: str, until, deadline_s: float = 45, tick=None):
    """GETs the execution until ``until(execution)`` holds; returns every state seen (the last one satisfies it)."""
    seen = []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if tick:
            tick()
        res = api.get(f"/api/executions/{execution_id}")
        assert res.status_code == 200, res.text
        seen.append(res.json()["execution"])
        if until(seen[-1]):
            return seen
        time.sleep(0.2)
    raise AssertionError(f"execution {execution_id} never got there; last state: {seen[-1] if seen else None}")


def finished(ex: dict) -> bool:
    return ex["status"] in ("succeeded", "failed", "cancelled")


def journal(db, execution_id: str) -> list[tuple[str, str]]:
    return db.execute("select node_id, status from public.workflow_step_runs where execution_id = %s"
                      " order by created_at, id", [execution_id]).fetchall()


def tick(worker_url: str) -> None:
    """One scheduled run of the worker (cron), as Cloudflare would make it."""
    requests.get(f"{worker_url}/__scheduled", params={"cron": "* * * * *"}, timeout=60)
