"""The main job: create the sample lead-intake workflow for the demo user, activate it, and start it the way a
website would: a form post to its public hook (no token). The run goes through the RUNS queue; this waits for it.

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
    deadline = time.monotonic() + 60
    while True:
        got = requests.get(f"{base}/api/executions/{execution_id}", headers=headers, timeout=30)
        got.raise_for_status()
        ex = got.json()["execution"]
        if ex["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    print(f"execution {ex['id']}: {ex['status']} in {ex['execution_time_ms']} ms, {ex['error_count']} error(s)")
    for r in ex["results"]:
        line = f"  {r['nodeId']:<10} {r['type']:<9} {r.get('actionId') or '':<17} {r['status']:<9} attempts={r['attempts']}"
        if r.get("error"):
            line += f"  error: {r['error']}"
        elif r.get("output") is not None:
            out = json.dumps(r["output"], separators=(",", ":"))
            line += f"  output: {out[:110]}{'...' if len(out) > 110 else ''}"
        print(line)
    return 0 if ex["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
