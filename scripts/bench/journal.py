"""The step journal's cost: chains of 1, 10 and 100 `webhook_call` steps, run through two extra workers of the same
build in the same sitting, one with the journal (the default) and one with `RUN_JOURNAL=off`.

Per chain length: the median run with and without the journal, the journal's cost per step
((on - off) / steps), and the round trips one run makes to PostgREST, counted in the gateway's request log (one
line per request), by call. Against the instant target the journal write cannot hide behind the step; the 10-step
chain is also run against a target answering after 20 ms (a typical API call), which each write overlaps.
"""

from __future__ import annotations

import collections
import time
from pathlib import Path

from . import floor, lib


def gateway_calls(ctx, fn) -> dict[str, int]:
    """The requests the gateway logged while ``fn()`` ran, by method and path."""
    log = Path(ctx.env["GATEWAY_LOG"])
    size = log.stat().st_size
    fn()
    time.sleep(0.3)  # the gateway logs a request after answering it
    with open(log, "rb") as f:
        f.seek(size)
        rows = f.read().decode(errors="replace").splitlines()
    calls = collections.Counter()
    for row in rows:
        parts = row.split()
        if len(parts) >= 2 and parts[0] in ("GET", "POST", "PATCH", "DELETE", "HEAD") and parts[1].startswith("/"):
            calls[f"{parts[0]} {parts[1].removeprefix('/rest/v1/')}"] += 1
    return dict(sorted(calls.items()))


def run(ctx) -> None:
    t = ctx.target
    out = {}
    print("step journal: the same chain through a worker with the journal and one with RUN_JOURNAL=off (ms)")
    cases = [(1, "journal/x", "instant target"), (10, "journal/x", "instant target"),
             (100, "journal/x", "instant target"), (10, f"slow/{floor.SLOW_MS}/journal", "20 ms target")]
    for steps, path, label in cases:
        wf = ctx.workflow(floor.chain(t.url(path), steps))
        medians, trips = {}, {}
        for name in ("journal on", "journal off"):
            url, _ = ctx.worker(name)
            samples = lib.timed(lambda: ctx.execute(url, wf))
            medians[name] = samples
            trips[name] = gateway_calls(ctx, lambda: ctx.execute(url, wf))
            lib.line(f"{steps:>3} steps, {label}, {name}", str(samples))
        on, off = medians["journal on"], medians["journal off"]
        per_step = (on.median - off.median) / steps
        writes = trips["journal on"].get("POST rpc/journal_steps", 0)
        total_on, total_off = sum(trips["journal on"].values()), sum(trips["journal off"].values())
        lib.line(f"{steps:>3} steps, {label}: journal cost",
                 f"{on.median - off.median:.1f} ms per run, {per_step:.2f} ms per step"
                 f" ({100 * (on.median - off.median) / off.median:.0f}% of the run)")
        lib.line(f"{steps:>3} steps, {label}: PostgREST round trips per run",
                 f"{total_on} with the journal ({writes} journal writes), {total_off} without")
        out[f"{steps}_steps_{label.replace(' ', '_')}"] = {
            "steps": steps, "journal_on_ms": on.json(), "journal_off_ms": off.json(),
            "journal_ms_per_run": round(on.median - off.median, 3), "journal_ms_per_step": round(per_step, 4),
            "round_trips_on": total_on, "round_trips_off": total_off, "journal_writes": writes,
            "calls_on": trips["journal on"], "calls_off": trips["journal off"]}
    lib.record("journal", out)
