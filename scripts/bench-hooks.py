"""Form hook throughput (`make bench`): 16 concurrent posters for 20 s against one active `form_submit`
workflow (trigger -> send_notification) through the real worker, then every accepted post is checked in the
database: none lost (each executionId is a run that succeeded) and none doubled (one run per post, one
notification per run). Prints accepted posts per second, latency p50/p95, and how long the queue took to drain.

Runs inside `stack.py run` (WORKER_URL, DEMO_TOKEN, DATABASE_URL from the environment).
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time

import psycopg
import requests

POSTERS = int(os.environ.get("BENCH_HOOK_POSTERS", "16"))
SECONDS = float(os.environ.get("BENCH_HOOK_SECONDS", "20"))
DRAIN_S = 300


def main() -> int:
    base = os.environ["WORKER_URL"].rstrip("/")
    auth = {"Authorization": f"Bearer {os.environ['DEMO_TOKEN']}"}
    doc = {"name": "hook bench", "is_active": True,
           "nodes": [{"id": "t", "type": "trigger", "data": {"triggerType": "form_submit", "config": {}}},
                     {"id": "n", "type": "action", "data": {"actionId": "send_notification",
                                                            "config": {"title": "lead {{trigger.n}}"}}}],
           "edges": [{"id": "e", "source": "t", "target": "n"}]}
    wf = requests.post(f"{base}/api/workflows", json=doc, headers=auth, timeout=30).json()["workflow"]
    hook = f"{base}/api/hooks/{wf['trigger_key']}"
    accepted: list[str] = []
    latencies: list[float] = []
    refused: list[int] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + SECONDS

    def poster(i: int) -> None:
        session = requests.Session()
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            start = time.perf_counter()
            r = session.post(hook, json={"n": f"{i}-{n}"}, timeout=30)
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                if r.status_code == 202:
                    accepted.append(r.json()["executionId"])
                    latencies.append(elapsed)
                else:
                    refused.append(r.status_code)

    threads = [threading.Thread(target=poster, args=(i,)) for i in range(POSTERS)]
    started = time.monotonic()
    [t.start() for t in threads]
    [t.join() for t in threads]
    posting_s = time.monotonic() - started
    latencies.sort()
    print(f"form hook: {POSTERS} concurrent posters for {SECONDS:.0f} s through wrangler dev")
    print(f"  accepted {len(accepted)} posts ({len(accepted) / posting_s:.1f}/s), refused {len(refused)}")
    print(f"  latency p50 {statistics.median(latencies):.1f} ms, p95 {latencies[int(len(latencies) * 0.95) - 1]:.1f} ms")

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as db:
        deadline = time.monotonic() + DRAIN_S
        while True:
            done = db.execute("select count(*) from public.workflow_executions where workflow_id = %s"
                              " and status in ('succeeded', 'failed')", [wf["id"]]).fetchone()[0]
            if done >= len(accepted) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        drained_s = time.monotonic() - started
        rows = db.execute("select id::text, status from public.workflow_executions where workflow_id = %s",
                          [wf["id"]]).fetchall()
        notes = db.execute("select count(*) from public.notifications where title like 'lead %%' and user_id = %s"
                           " and created_at >= now() - interval '1 hour'", [wf["user_id"]]).fetchone()[0]
    runs = {r[0]: r[1] for r in rows}
    lost = [e for e in accepted if runs.get(e) != "succeeded"]
    doubled = len(rows) - len(set(accepted))
    print(f"  queue drained {drained_s:.1f} s after the first post: {len(rows)} runs,"
          f" {sum(1 for s in runs.values() if s == 'succeeded')} succeeded ({len(rows) / drained_s:.1f} runs/s end to end)")
    print(f"  checked in the database: {len(lost)} lost, {doubled} doubled, {notes} notifications for {len(accepted)} posts")
    return 0 if not lost and doubled == 0 and not refused and notes == len(accepted) else 1


if __name__ == "__main__":
    sys.exit(main())
