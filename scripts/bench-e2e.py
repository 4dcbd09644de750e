"""End-to-end latency through the real worker (`make bench`).

Runs inside `stack.py run`: creates the sample workflow for the demo user,
then measures, sequentially, N requests each of: GET /health, an
authenticated GET /api/workflows, and POST /api/workflows/{id}/execute of
the 5-node sample (3 actions writing to Postgres, 3 bookkeeping calls).
Prints p50/p95/max per kind and the execution's per-step figure.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

import requests

N = int(os.environ.get("BENCH_N", "100"))


def measure(fn, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def report(name: str, times: list[float], steps: int | None = None) -> None:
    times = sorted(times)
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    line = f"{name:<22} n={len(times):<4} p50={p50:7.2f} ms  p95={p95:7.2f} ms  max={times[-1]:7.2f} ms"
    if steps:
        line += f"  per step (p50)={p50 / steps:6.2f} ms"
    print(line)


def main() -> int:
    base = os.environ["WORKER_URL"].rstrip("/")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {os.environ['DEMO_TOKEN']}"
    doc = json.loads((Path(__file__).resolve().parent / "sample-workflow.json").read_text())
    wf = session.post(f"{base}/api/workflows", json=doc, timeout=30).json()["workflow"]
    trigger = {"triggerData": {"name": "Ada", "email": "ada@analytical.example", "company": "AE", "title": "CEO",
                               "source": "referral"}}

    def execute():
        r = session.post(f"{base}/api/workflows/{wf['id']}/execute", json=trigger, timeout=60)
        assert r.status_code == 200 and r.json()["execution"]["status"] == "succeeded", r.text

    measure(execute, 5)  # warm-up: isolate start, JWKS/connection setup
    print(f"end-to-end through wrangler dev (workerd) + gateway + Postgres on one machine, sequential, N={N}")
    report("GET /health", measure(lambda: session.get(f"{base}/health", timeout=30), N))
    report("GET /api/workflows", measure(lambda: session.get(f"{base}/api/workflows", timeout=30), N))
    report("execute (5 nodes)", measure(execute, N), steps=5)
    wasm = Path(__file__).resolve().parent.parent / "build" / "index_bg.wasm"
    if wasm.exists():
        print(f"worker bundle: {wasm.stat().st_size / 1e6:.2f} MB wasm")
    return 0


if __name__ == "__main__":
    sys.exit(main())
