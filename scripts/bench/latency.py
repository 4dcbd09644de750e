"""Latency through the real worker, sequentially: GET /health (the local runtime's own floor for one request), an
authenticated GET /api/workflows (token check + one PostgREST call) and executing the 5-node sample (3 actions
writing to Postgres and the run's bookkeeping). Each figure is the median over BENCH_LATENCY_N requests (default
50) after the warm-up, with the /health median as the baseline it is read against."""

from __future__ import annotations

import json
import os

from . import lib

N = int(os.environ.get("BENCH_LATENCY_N", "50"))
TRIGGER = {"name": "Ada", "email": "ada@analytical.example", "company": "AE", "title": "CEO", "source": "referral"}


def run(ctx) -> None:
    doc = json.loads((lib.SCRIPTS / "sample-workflow.json").read_text())
    wf = ctx.workflow(doc)
    s, base = ctx.session, ctx.base
    health = lib.timed(lambda: s.get(f"{base}/health", timeout=30).raise_for_status(), runs=N)
    listing = lib.timed(lambda: s.get(f"{base}/api/workflows", timeout=30).raise_for_status(), runs=N)
    sample = lib.timed(lambda: ctx.execute(base, wf, TRIGGER), runs=N)
    print(f"sequential requests through wrangler dev, N={N} each after {lib.WARMUP} warm-up requests (ms)")
    lib.line("GET /health", str(health))
    lib.line("GET /api/workflows", f"{listing}   (+{lib.diff(listing, health):.2f} over /health)")
    lib.line("execute the 5-node sample", f"{sample}   (+{lib.diff(sample, health):.2f} over /health)")
    lib.record("latency", {"health_ms": health.json(), "list_workflows_ms": listing.json(),
                           "execute_sample_ms": sample.json(),
                           "list_over_health_ms": round(lib.diff(listing, health), 3),
                           "sample_over_health_ms": round(lib.diff(sample, health), 3)})
