"""`make bench`: every end-to-end figure of the README's performance section, against baselines measured in the
same run, on the throwaway stack `stack.py run` brings up (the native figures come first, from
`cargo bench --bench engine`; the profile from `perf`, when the machine has it).

    PYTHONPATH=scripts .local/venv/bin/python -m bench [CASE ...]    # inside `stack.py run`; all cases by default

Cases, in order: latency, floor (runtime floor, step overhead, fan-out), journal, throughput, size (wasm size and
cold start), profile. Each case warms up, then times every measurement BENCH_RUNS times (default 7, at least 5),
prints median and spread and merges its figures into target/bench/results.json; `summary` (always last) prints
every target with its verdict.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import requests

from . import floor, journal, latency, lib, profile, size, summary, throughput

CASES = {
    "latency": latency.run,
    "floor": floor.run,
    "journal": journal.run,
    "throughput": throughput.run,
    "size": size.run,
    "profile": profile.run,
}


class Context:
    """What the cases share: the stack's environment, a signed-in session, the local target, and extra workers
    started once and stopped at the end."""

    def __init__(self, env: dict):
        self.env = env
        self.base = env["WORKER_URL"].rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {env['DEMO_TOKEN']}"
        self.target = lib.Target()
        self.log = Path(env.get("STACK_DIR") or lib.stack.LOCAL) / "bench-workers.log"
        self._workers: dict[str, tuple[str, object]] = {}

    def worker(self, name: str) -> tuple[str, int]:
        """URL and process group of a named extra worker of the same build, started on first use.

        ``journal on``/``journal off``: RUN_JOURNAL on/off with a budget that fits a 100-step run in one invocation
        (the default of 40 calls would hand a long run to the queue, which is measured separately).
        ``floor``: the minimal JavaScript worker."""
        if name not in self._workers:
            if name == "floor":
                url, proc, _ = lib.start_floor_worker(self.env, self.log)
            else:
                journal_on = {"journal on": "on", "journal off": "off"}[name]
                url, proc = lib.start_worker(self.env, {"RUN_JOURNAL": journal_on, "RUN_SUBREQUEST_BUDGET": "1000"},
                                             self.log)
            self._workers[name] = (url, proc)
            for _ in range(lib.WARMUP):  # isolate start
                requests.get(f"{url}/health", timeout=30)
        url, proc = self._workers[name]
        return url, proc.pid

    def workflow(self, doc: dict) -> str:
        r = self.session.post(f"{self.base}/api/workflows", json=doc, timeout=30)
        assert r.status_code == 201, r.text[:300]
        return r.json()["workflow"]["id"]

    def execute(self, url: str, workflow_id: str, trigger: dict | None = None) -> dict:
        r = self.session.post(f"{url}/api/workflows/{workflow_id}/execute", json={"triggerData": trigger or {}},
                              timeout=120)
        assert r.status_code == 200, r.text[:300]
        execution = r.json()["execution"]
        assert execution["status"] == "succeeded", str(execution)[:500]
        return execution

    def close(self):
        for _, proc in self._workers.values():
            lib.stop_worker(proc)
        self._workers.clear()
        self.target.close()


def main(argv: list[str]) -> int:
    names = argv or list(CASES)
    if names == ["summary"]:
        summary.run()
        return 0
    unknown = [n for n in names if n not in CASES and n != "summary"]
    if unknown:
        print(f"unknown case(s) {unknown}; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    lib.record("machine", lib.machine())
    ctx = Context(dict(os.environ))
    failed = []
    started = time.monotonic()
    try:
        for name in names:
            if name == "summary":
                continue
            print(f"\n== {name}", flush=True)
            t0 = time.monotonic()
            try:
                CASES[name](ctx)
            except Exception as err:  # one broken case must not hide the others' figures
                import traceback
                traceback.print_exc()
                failed.append(name)
                lib.record("failures", {name: repr(err)[:500]})
            print(f"   ({name}: {time.monotonic() - t0:.0f} s)", flush=True)
    finally:
        ctx.close()
    lib.record("machine", {"bench_seconds": round(time.monotonic() - started, 1)})
    summary.run()
    if failed:
        print(f"\nFAILED cases: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
