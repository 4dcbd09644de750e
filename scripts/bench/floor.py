"""The runtime's floor, the engine's overhead per step above it, and parallel fan-out against its ideal.

Floor: 100 (and 1) sequential calls to the local keep-alive target, from a native client (Python's http.client on
one connection) and from a minimal JavaScript worker in its own `wrangler dev` (benches/floor/worker.js): what
`wrangler dev` itself needs per fetch.

Step overhead: chains of 100 and of 1 `webhook_call` steps to the same target through the real worker, journal off
(the engine and the worker alone; the journal's own cost is the `journal` case) and on:
- the issue's figure, (chain of 100 - floor of 100) / 100, which also spreads the run's fixed costs (token check,
  workflow read, run insert, signing-key read, completion: one request and 4 PostgREST calls) over the steps;
- the marginal cost of one more step, ((chain 100 - chain 1) - (floor 100 - floor 1)) / 99, the overhead per step.
CPU per step of the worker's processes (from /proc) against the floor worker's CPU per fetch, the same way.

Fan-out: trigger -> 50 independent `webhook_call`s to a target answering after 20 ms -> a join node, against the
ideal ceil(50 / max_concurrency) x one call, where one call is (1-wide run - 0-wide run) on the same worker:
ratio = (T50 - T0) / (ceil(50 / c) x (T1 - T0)).
"""

from __future__ import annotations

import http.client
import json
import math
import re

import requests

from . import lib

STEPS = 100
SLOW_MS = 20
FAN = 50


def concurrency_bound() -> int:
    text = (lib.ROOT / "src" / "limits.rs").read_text()
    return int(re.search(r"max_concurrency:\s*(\d+)", text).group(1))


def chain(url: str, steps: int) -> dict:
    nodes = [{"id": "t", "type": "trigger", "data": {"triggerType": "manual"}}]
    edges = []
    for i in range(1, steps + 1):
        nodes.append({"id": f"s{i}", "type": "action",
                      "data": {"actionId": "webhook_call", "config": {"url": url, "body": {"i": i}}}})
        edges.append({"id": f"e{i}", "source": "t" if i == 1 else f"s{i - 1}", "target": f"s{i}"})
    return {"name": f"bench chain {steps}", "nodes": nodes, "edges": edges}


def fan_out(url: str, width: int) -> dict:
    nodes = [{"id": "t", "type": "trigger", "data": {"triggerType": "manual"}},
             {"id": "join", "type": "condition",
              "data": {"condition": {"left": "{{execution.id}}", "op": "exists"}}}]
    edges = []
    for i in range(1, width + 1):
        nodes.append({"id": f"f{i}", "type": "action",
                      "data": {"actionId": "webhook_call", "config": {"url": url, "body": {"i": i}}}})
        edges.append({"id": f"a{i}", "source": "t", "target": f"f{i}"})
        edges.append({"id": f"b{i}", "source": f"f{i}", "target": "join"})
    if width == 0:
        edges.append({"id": "a0", "source": "t", "target": "join"})
    return {"name": f"bench fan-out {width}", "nodes": nodes, "edges": edges}


def native_client(target: lib.Target, calls: int):
    conn = http.client.HTTPConnection("127.0.0.1", target.port)
    body = json.dumps({"i": 0}).encode()

    def go():
        for i in range(calls):
            conn.request("POST", "/native/x", body=body, headers={"content-type": "application/json"})
            json.loads(conn.getresponse().read())
    return go


def timed_cpu(fn, group: lib.Group, runs: int) -> tuple[lib.Samples, float]:
    """Samples of ``fn`` and the CPU seconds ``group`` used per call while they ran."""
    for _ in range(lib.WARMUP):
        fn()
    meter = lib.CpuMeter([group])
    meter.start()
    samples = lib.timed(fn, runs=runs, warmup=0)
    used = meter.stop()[group.name]["total"]
    return samples, used / runs


def run(ctx) -> None:
    t = ctx.target
    short = lib.RUNS * 3  # quick cases: more runs, so CPU readings (10 ms ticks) resolve
    native_100 = lib.timed(native_client(t, STEPS))
    native_1 = lib.timed(native_client(t, 1), runs=short)
    floor_url, floor_pgid = ctx.worker("floor")
    floor_group = lib.Group("floor worker", pgid=floor_pgid)
    s = requests.Session()

    def floor(n):
        return lambda: s.get(floor_url, params={"n": n, "target": t.url("floor/x")}, timeout=60).raise_for_status()
    floor_100, floor_cpu_100 = timed_cpu(floor(STEPS), floor_group, lib.RUNS)
    floor_1, floor_cpu_1 = timed_cpu(floor(1), floor_group, short)
    floor_0, _ = timed_cpu(floor(0), floor_group, short)
    per_fetch = (floor_100.median - floor_1.median) / (STEPS - 1)
    native_per_call = (native_100.median - native_1.median) / (STEPS - 1)
    print(f"floor: {STEPS} sequential calls to one local keep-alive target (ms)")
    lib.line(f"native client, {STEPS} calls", str(native_100))
    lib.line(f"floor worker (JavaScript, wrangler dev), {STEPS} fetches", str(floor_100))
    lib.line("floor worker, 1 fetch / 0 fetches", f"{floor_1.median:.2f} / {floor_0.median:.2f}")
    lib.line("per call: native / floor worker / runtime above native",
             f"{native_per_call:.3f} / {per_fetch:.3f} / {per_fetch - native_per_call:.3f} ms")
    floor_cpu_per_fetch = (floor_cpu_100 - floor_cpu_1) / (STEPS - 1) * 1000
    lib.line("floor worker CPU per fetch", f"{floor_cpu_per_fetch:.3f} ms")
    results = {"native_100_ms": native_100.json(), "native_1_ms": native_1.json(), "floor_100_ms": floor_100.json(),
               "floor_1_ms": floor_1.json(), "floor_0_ms": floor_0.json(),
               "native_per_call_ms": round(native_per_call, 4), "floor_per_fetch_ms": round(per_fetch, 4),
               "runtime_above_native_per_fetch_ms": round(per_fetch - native_per_call, 4),
               "floor_cpu_per_fetch_ms": round(floor_cpu_per_fetch, 4)}

    wf_100 = ctx.workflow(chain(t.url("chain/x"), STEPS))
    wf_1 = ctx.workflow(chain(t.url("chain/x"), 1))
    print(f"step overhead: chains of {STEPS} and 1 webhook_call steps through the worker (ms)")
    for name in ("journal off", "journal on"):
        url, pgid = ctx.worker(name)
        group = lib.Group(name, pgid=pgid)
        before = t.count("chain")
        c100, cpu_100 = timed_cpu(lambda: ctx.execute(url, wf_100), group, lib.RUNS)
        c1, cpu_1 = timed_cpu(lambda: ctx.execute(url, wf_1), group, short)
        calls = t.count("chain") - before
        expected = (lib.WARMUP + lib.RUNS) * STEPS + (lib.WARMUP + short)
        assert calls == expected, f"the target saw {calls} calls, expected {expected}"
        issue = (c100.median - floor_100.median) / STEPS
        marginal = ((c100.median - c1.median) - (floor_100.median - floor_1.median)) / (STEPS - 1)
        fixed = c1.median - floor_1.median
        cpu_step = (cpu_100 - cpu_1) / (STEPS - 1) * 1000
        lib.line(f"{name}: chain of {STEPS}", str(c100))
        lib.line(f"{name}: chain of 1", str(c1))
        lib.line(f"{name}: (chain {STEPS} - floor {STEPS}) / {STEPS}", f"{issue:.3f} ms per step")
        lib.line(f"{name}: marginal step above the floor", f"{marginal:.3f} ms per step")
        lib.line(f"{name}: fixed cost of a run above one floor fetch", f"{fixed:.2f} ms")
        lib.line(f"{name}: worker CPU per step / per 1-step run",
                 f"{cpu_step:.3f} ms (floor: {floor_cpu_per_fetch:.3f}) / {cpu_1 * 1000:.2f} ms")
        key = name.replace(" ", "_")
        results[key] = {"chain_100_ms": c100.json(), "chain_1_ms": c1.json(),
                        "step_overhead_issue_formula_ms": round(issue, 4),
                        "step_overhead_marginal_ms": round(marginal, 4), "run_fixed_cost_ms": round(fixed, 3),
                        "cpu_per_step_ms": round(cpu_step, 4), "cpu_per_1_step_run_ms": round(cpu_1 * 1000, 3),
                        "cpu_per_100_step_run_ms": round(cpu_100 * 1000, 3),
                        "cpu_per_step_above_floor_ms": round(cpu_step - floor_cpu_per_fetch, 4)}
    lib.record("floor", results)

    bound = concurrency_bound()
    waves = math.ceil(FAN / bound)
    slow = t.url(f"slow/{SLOW_MS}/fan")
    wfs = {w: ctx.workflow(fan_out(slow, w)) for w in (FAN, 1, 0)}
    print(f"fan-out: trigger -> {FAN} webhook_calls (target answers after {SLOW_MS} ms) -> join;"
          f" concurrency bound {bound}, ideal {waves} x one call (ms)")
    fan = {"concurrency_bound": bound, "waves": waves, "target_delay_ms": SLOW_MS}
    for name in ("journal on", "journal off"):
        url, _ = ctx.worker(name)
        before = t.count("slow")
        t50 = lib.timed(lambda: ctx.execute(url, wfs[FAN]))
        t1 = lib.timed(lambda: ctx.execute(url, wfs[1]))
        t0 = lib.timed(lambda: ctx.execute(url, wfs[0]))
        calls = t.count("slow") - before
        expected = (lib.WARMUP + lib.RUNS) * (FAN + 1)
        assert calls == expected, f"the target saw {calls} calls, expected {expected}"
        one_call = t1.median - t0.median
        ideal = waves * one_call
        ratio = (t50.median - t0.median) / ideal
        lib.line(f"{name}: {FAN} wide / 1 wide / 0 wide", f"{t50.median:.1f} / {t1.median:.1f} / {t0.median:.1f}"
                 f"  (spread {t50.spread:.1f} / {t1.spread:.1f} / {t0.spread:.1f})")
        lib.line(f"{name}: one call {one_call:.1f}, ideal {ideal:.1f}", f"{ratio:.2f}x the ideal")
        fan[name.replace(" ", "_")] = {"fan_50_ms": t50.json(), "fan_1_ms": t1.json(), "fan_0_ms": t0.json(),
                                       "one_call_ms": round(one_call, 3), "ideal_ms": round(ideal, 3),
                                       "ratio_to_ideal": round(ratio, 3)}
    lib.record("fan_out", fan)
