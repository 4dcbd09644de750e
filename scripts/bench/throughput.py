"""Throughput of persisted one-step runs at 16 concurrent clients, against `GET /health` at the same concurrency in
the same run, through the stack's own worker (default settings: journal on, budget of 40 calls):

- `/health`: what `wrangler dev` answers when the worker does nothing (the baseline);
- execute: `POST /api/workflows/{id}/execute` of trigger -> `webhook_call`, answered when the run is done;
- form hook: `POST /api/hooks/{key}` of an active `form_submit` workflow (trigger -> `send_notification`), answered
  202 once the run is stored and queued; the RUNS queue runs it.

Each phase runs BENCH_THROUGHPUT_SECONDS (default 20; /health half of it), cut into 5 equal windows: the rate is the
median over the windows, with their spread. Afterwards every run is checked in the database: each answered run
exists once and succeeded, each hook post has its one notification, the target got one call per execute (nothing
lost, nothing doubled). CPU seconds of the worker, the gateway and Postgres are read from /proc around each phase:
worker CPU per run is the worker's CPU over the phase / runs, minus its CPU per /health request.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

import psycopg
import requests

from . import lib

CLIENTS = int(os.environ.get("BENCH_THROUGHPUT_CLIENTS", "16"))
SECONDS = float(os.environ.get("BENCH_THROUGHPUT_SECONDS", "20"))
WINDOWS = 5
DRAIN_S = 300


def load(url: str, seconds: float, body_fn=None, headers=None, ok=(200,)) -> dict:
    """CLIENTS threads, each on its own keep-alive session, calling ``url`` (GET, or POST of ``body_fn(i, n)``) until
    ``seconds`` pass. Returns the answers' completion times, latencies and bodies."""
    done: list[float] = []
    latencies: list[float] = []
    bodies: list[dict] = []
    refused: list[str] = []
    lock = threading.Lock()
    start = time.monotonic()
    stop_at = start + seconds

    def client(i: int) -> None:
        s = requests.Session()
        if headers:
            s.headers.update(headers)
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            t0 = time.perf_counter()
            try:
                r = s.post(url, json=body_fn(i, n), timeout=60) if body_fn else s.get(url, timeout=60)
            except requests.RequestException as err:
                with lock:
                    refused.append(repr(err)[:200])
                continue
            elapsed = (time.perf_counter() - t0) * 1000
            with lock:
                if r.status_code in ok:
                    done.append(time.monotonic() - start)
                    latencies.append(elapsed)
                    bodies.append(r.json() if body_fn else {})
                else:
                    refused.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    [th.start() for th in threads]
    [th.join() for th in threads]
    width = seconds / WINDOWS
    rates = [sum(1 for d in done if k * width <= d < (k + 1) * width) / width for k in range(WINDOWS)]
    latencies.sort()
    return {"done": len(done), "elapsed_s": time.monotonic() - start, "rates": lib.Samples(rates), "bodies": bodies,
            "refused": refused, "p50_ms": statistics.median(latencies) if latencies else None,
            "p95_ms": latencies[int(len(latencies) * 0.95) - 1] if latencies else None}


def phase(ctx, meter: lib.CpuMeter, label: str, url: str, seconds: float, **kw) -> tuple[dict, dict]:
    meter.start()
    res = load(url, seconds, **kw)
    cpu = meter.stop()
    lib.line(f"{label}: answered per second", f"{res['rates']}   ({res['done']} in {res['elapsed_s']:.1f} s,"
             f" p50 {res['p50_ms']:.1f} ms, p95 {res['p95_ms']:.1f} ms, {len(res['refused'])} refused)")
    return res, cpu


def cpu_line(label: str, cpu: dict, count: int) -> dict:
    """CPU per answered request of each component, and its share of the machine (2 cores = 200%)."""
    out = {}
    parts = []
    for group, values in cpu.items():
        if group == "wall_s":
            continue
        per = values["total"] / max(count, 1) * 1000
        share = 100 * values["total"] / cpu["wall_s"]
        out[group] = {"cpu_s": values["total"], "cpu_ms_per_request": round(per, 3), "cpu_percent": round(share, 1)}
        parts.append(f"{group} {per:.2f} ms ({share:.0f}%)")
    lib.line(f"{label}: CPU per answer (share of the machine)", ", ".join(parts))
    return out


def run(ctx) -> None:
    env, base = ctx.env, ctx.base
    groups = lib.stack_groups(env)
    meter = lib.CpuMeter(groups)
    worker_group = groups[0].name
    auth = {"Authorization": f"Bearer {env['DEMO_TOKEN']}"}
    t = ctx.target
    results = {"clients": CLIENTS, "seconds": SECONDS, "windows": WINDOWS}
    print(f"throughput: {CLIENTS} concurrent clients through the stack's worker; CPU from /proc")

    health, health_cpu = phase(ctx, meter, "GET /health", f"{base}/health", SECONDS / 2)
    results["health"] = {"per_s": health["rates"].json(), "p50_ms": health["p50_ms"], "p95_ms": health["p95_ms"],
                         "cpu": cpu_line("GET /health", health_cpu, health["done"])}
    health_cpu_ms = health_cpu[worker_group]["total"] / max(health["done"], 1) * 1000

    exec_doc = {"name": "throughput execute", "nodes": [
        {"id": "t", "type": "trigger", "data": {"triggerType": "manual"}},
        {"id": "w", "type": "action", "data": {"actionId": "webhook_call",
                                               "config": {"url": t.url("tp-exec/x"), "body": {"lead": "{{trigger.n}}"}}}}],
        "edges": [{"id": "e", "source": "t", "target": "w"}]}
    wf_exec = ctx.workflow(exec_doc)
    for _ in range(lib.WARMUP):
        ctx.execute(base, wf_exec, {"n": "warm-up"})
    calls_before = t.count("tp-exec")
    ex, ex_cpu = phase(ctx, meter, "execute -> webhook_call", f"{base}/api/workflows/{wf_exec}/execute", SECONDS,
                       body_fn=lambda i, n: {"triggerData": {"n": f"{i}-{n}"}}, headers=auth)
    calls = t.count("tp-exec") - calls_before
    ids = [b["execution"]["id"] for b in ex["bodies"]]

    hook_doc = {"name": "throughput hook", "is_active": True, "nodes": [
        {"id": "t", "type": "trigger", "data": {"triggerType": "form_submit", "config": {}}},
        {"id": "n", "type": "action", "data": {"actionId": "send_notification",
                                               "config": {"title": "bench lead {{trigger.n}}"}}}],
        "edges": [{"id": "e", "source": "t", "target": "n"}]}
    r = ctx.session.post(f"{base}/api/workflows", json=hook_doc, timeout=30)
    hook_wf = r.json()["workflow"]
    hook = f"{base}/api/hooks/{hook_wf['trigger_key']}"
    meter_all = lib.CpuMeter(groups)
    meter_all.start()
    hk, hk_cpu = phase(ctx, meter, "form hook -> send_notification", hook, SECONDS,
                       body_fn=lambda i, n: {"n": f"{i}-{n}"}, ok=(202,))
    accepted = [b["executionId"] for b in hk["bodies"]]

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as db:
        deadline = time.monotonic() + DRAIN_S
        while True:
            finished = db.execute("select count(*) from public.workflow_executions where workflow_id = %s"
                                  " and status in ('succeeded', 'failed')", [hook_wf["id"]]).fetchone()[0]
            if finished >= len(accepted) or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        drain_cpu = meter_all.stop()
        exec_rows = dict(db.execute("select id::text, status from public.workflow_executions where workflow_id = %s",
                                    [wf_exec]).fetchall())
        hook_rows = dict(db.execute("select id::text, status from public.workflow_executions where workflow_id = %s",
                                    [hook_wf["id"]]).fetchall())
        notes = db.execute("select count(*) from public.notifications n join public.workflow_executions e"
                           " on n.step_key like e.id::text || ':%%' where e.workflow_id = %s",
                           [hook_wf["id"]]).fetchone()[0]
    exec_lost = [i for i in ids if exec_rows.get(i) != "succeeded"]
    exec_extra = len(exec_rows) - (len(set(ids)) + lib.WARMUP)
    hook_lost = [i for i in accepted if hook_rows.get(i) != "succeeded"]
    hook_extra = len(hook_rows) - len(set(accepted))
    drained_s = drain_cpu["wall_s"]
    lib.line("execute: checked in the database",
             f"{len(exec_lost)} lost, {exec_extra} extra rows; target calls {calls} for {len(ids)} runs")
    lib.line("form hook: checked in the database",
             f"{len(hook_lost)} lost, {hook_extra} doubled, {notes} notifications for {len(accepted)} posts;"
             f" queue drained {drained_s:.1f} s after the first post ({len(hook_rows) / drained_s:.1f} runs/s end to end)")
    ex_cpu_line = cpu_line("execute", ex_cpu, ex["done"])
    hk_cpu_line = cpu_line("form hook, posting only", hk_cpu, hk["done"])
    drain_line = cpu_line("form hook, posting and queue until drained", drain_cpu, len(hook_rows))
    worker_exec_ms = ex_cpu[worker_group]["total"] / max(ex["done"], 1) * 1000 - health_cpu_ms
    worker_hook_ms = drain_cpu[worker_group]["total"] / max(len(hook_rows), 1) * 1000 - health_cpu_ms
    lib.line("worker CPU per run above a /health request",
             f"execute -> webhook_call {worker_exec_ms:.2f} ms, hook -> queue -> send_notification {worker_hook_ms:.2f} ms")
    h = health["rates"].median
    results["execute_webhook_call"] = {
        "runs_per_s": ex["rates"].json(), "ratio_to_health": round(ex["rates"].median / h, 3),
        "p50_ms": ex["p50_ms"], "p95_ms": ex["p95_ms"], "runs": len(ids), "refused": len(ex["refused"]),
        "lost": len(exec_lost), "extra_rows": exec_extra, "target_calls": calls, "cpu": ex_cpu_line,
        "worker_cpu_ms_per_run_above_health": round(worker_exec_ms, 3)}
    results["hook_send_notification"] = {
        "accepted_per_s": hk["rates"].json(), "ratio_to_health": round(hk["rates"].median / h, 3),
        "p50_ms": hk["p50_ms"], "p95_ms": hk["p95_ms"], "accepted": len(accepted), "refused": len(hk["refused"]),
        "lost": len(hook_lost), "doubled": hook_extra, "notifications": notes,
        "drained_s": round(drained_s, 2), "end_to_end_runs_per_s": round(len(hook_rows) / drained_s, 2),
        "cpu_posting": hk_cpu_line, "cpu_until_drained": drain_line,
        "worker_cpu_ms_per_run_above_health": round(worker_hook_ms, 3)}
    results["ok"] = not (exec_lost or exec_extra or hook_lost or hook_extra or notes != len(accepted)
                         or calls != len(ids) or ex["refused"] or hk["refused"])
    lib.line("execute / form hook against /health",
             f"{ex['rates'].median / h:.2f}x / {hk['rates'].median / h:.2f}x of {h:.0f} req/s")
    lib.record("throughput", results)
    assert results["ok"], "a run was lost, doubled or refused (see above)"
