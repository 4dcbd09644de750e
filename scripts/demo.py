"""The main job: create the sample lead-intake workflow for the demo user, activate it, and start it the way a
website would: a form post to its public hook (no token). The run goes through the RUNS queue; this waits for it.
Then the same with a workflow made from a template with a delay (`demo-meeting-reminder`): the run waits until
the reminder time a few seconds ahead (status `waiting`, no invocation meanwhile) and is continued by its delayed
queue message.

Runs against a live stack (WORKER_URL and DEMO_TOKEN from the environment, as `stack.py` exports them). Prints a
curl line for the form hook, then the execution: its status and each node's result. Exits 0 only if the run
succeeded.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import requests

SAMPLE = Path(__file__).resolve().parent / "sample-workflow.json"
TRIGGER = {
    "name": "Ada Lovelace",
    "email": "ada@analytical-engines.example",
    "company": "Analytical Engines Ltd",
    "title": "CEO",
    "source": "referral",
}


def wait_for(base: str, headers: dict, execution_id: str, deadline_s: float = 60) -> dict:
    """Polls the run until it is final; prints each status it goes through."""
    deadline = time.monotonic() + deadline_s
    seen = []
    while True:
        got = requests.get(f"{base}/api/executions/{execution_id}", headers=headers, timeout=30)
        got.raise_for_status()
        ex = got.json()["execution"]
        if not seen or seen[-1] != ex["status"]:
            seen.append(ex["status"])
            extra = f" until {ex['resume_at']}" if ex["status"] == "waiting" else ""
            print(f"  status {ex['status']}{extra}")
        if ex["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return ex
        time.sleep(0.2)


def show(ex: dict) -> None:
    print(f"execution {ex['id']}: {ex['status']} in {ex['execution_time_ms']} ms, {ex['error_count']} error(s)")
    for r in ex["results"]:
        line = f"  {r['nodeId']:<20} {r['type']:<9} {r.get('actionId') or '':<17} {r['status']:<9} attempts={r['attempts']}"
        if r.get("error"):
            line += f"  error: {r['error']}"
        elif r.get("output") is not None:
            out = json.dumps(r["output"], separators=(",", ":"))
            line += f"  output: {out[:100]}{'...' if len(out) > 100 else ''}"
        print(line)


def template_with_a_delay(base: str, headers: dict) -> dict | None:
    """Instantiates the demo-booking template, activates it, books a demo whose reminder is due in 3 s, and
    waits for the run: it waits (no invocation meanwhile), then its delayed queue message finishes it."""
    made = requests.post(f"{base}/api/templates/demo-meeting-reminder/instantiate", json={}, headers=headers,
                         timeout=30)
    if made.status_code != 201:
        print(f"instantiating the template failed: {made.status_code} {made.text}", file=sys.stderr)
        return None
    wf = made.json()["workflow"]
    activated = requests.put(f"{base}/api/workflows/{wf['id']}", json={"is_active": True}, headers=headers, timeout=30)
    if not activated.ok:
        print(f"activating it failed: {activated.status_code} {activated.text}", file=sys.stderr)
        return None
    wf = activated.json()["workflow"]
    print(f"\nworkflow {wf['id']} \"{wf['name']}\" from the template demo-meeting-reminder")
    now = time.time()
    stamp = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    booking = {"name": "Ada Lovelace", "email": TRIGGER["email"], "meeting_at": stamp(now + 3600),
               "remind_at": stamp(now + 3)}
    posted = requests.post(f"{base}/api/hooks/{wf['trigger_key']}", data=booking, timeout=30)
    if posted.status_code != 202:
        print(f"booking failed: {posted.status_code} {posted.text}", file=sys.stderr)
        return None
    print(f"demo booked, reminder due at {booking['remind_at']}: execution {posted.json()['executionId']}")
    return wait_for(base, headers, posted.json()["executionId"])


def main() -> int:
    base = os.environ["WORKER_URL"].rstrip("/")
    headers = {"Authorization": f"Bearer {os.environ['DEMO_TOKEN']}"}
    doc = {**json.loads(SAMPLE.read_text()), "is_active": True}

    # Reuse the sample if it exists (make dev keeps its database between runs).
    listing = requests.get(f"{base}/api/workflows", params={"limit": 200}, headers=headers, timeout=30)
    listing.raise_for_status()
    existing = [w for w in listing.json()["workflows"] if w["name"] == doc["name"]]
    if existing:
        workflow = requests.put(f"{base}/api/workflows/{existing[0]['id']}", json=doc, headers=headers, timeout=30)
    else:
        workflow = requests.post(f"{base}/api/workflows", json=doc, headers=headers, timeout=30)
    if not workflow.ok:
        print(f"saving the sample workflow failed: {workflow.status_code} {workflow.text}", file=sys.stderr)
        return 1
    wf = workflow.json()["workflow"]
    print(f"workflow {wf['id']} \"{wf['name']}\" (form hook key {wf['trigger_key'][:8]}...)")

    hook = f"{base}/api/hooks/{wf['trigger_key']}"
    print("post the form yourself with:")
    print(f"  curl -s -X POST {shlex.quote(hook)} -d {shlex.quote(urlencode(TRIGGER))}")
    posted = requests.post(hook, data=TRIGGER, timeout=30)
    if posted.status_code != 202:
        print(f"form post failed: {posted.status_code} {posted.text}", file=sys.stderr)
        return 1
    execution_id = posted.json()["executionId"]
    print(f"form post accepted: execution {execution_id} queued")
    ex = wait_for(base, headers, execution_id)
    show(ex)
    if ex["status"] != "succeeded":
        return 1
    delayed = template_with_a_delay(base, headers)
    if delayed is None:
        return 1
    show(delayed)
    waited = any(r["type"] == "delay" and r["status"] == "succeeded" for r in delayed["results"])
    return 0 if delayed["status"] == "succeeded" and waited else 1


if __name__ == "__main__":
    sys.exit(main())
