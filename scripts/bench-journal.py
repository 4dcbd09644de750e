"""The step journal's cost (`make bench`): the same 20-step chain of `webhook_call` steps, run through two
extra workers of the same build in the same sitting, one with the journal (the default) and one with
`RUN_JOURNAL=off`. Measured twice: against a target that answers at once (journal round trips can't hide
behind the step) and one that answers after 20 ms (a typical API call, which each journal write overlaps).
Prints median and spread per case and the journal's share of the wall time.

Runs inside `stack.py run` (it needs the stack's environment and the built worker).
"""

from __future__ import annotations

import os
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack  # noqa: E402

STEPS = 20
RUNS = int(os.environ.get("BENCH_JOURNAL_RUNS", "15"))


class Target(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Without it, Nagle and delayed ACKs add ~40 ms to every answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):  # noqa: N802 - the stdlib's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        if self.path.startswith("/slow"):
            time.sleep(0.020)
        body = b'{"ok":true}'
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def chain(url: str) -> dict:
    nodes = [{"id": "t", "type": "trigger", "data": {"triggerType": "manual"}}]
    edges = []
    for i in range(1, STEPS + 1):
        nodes.append({"id": f"s{i}", "type": "action",
                      "data": {"actionId": "webhook_call", "config": {"url": url, "body": {"i": i}}}})
        edges.append({"id": f"e{i}", "source": "t" if i == 1 else f"s{i - 1}", "target": f"s{i}"})
    return {"name": "journal bench", "nodes": nodes, "edges": edges}


def timed_runs(session, worker: str, workflow_id: str) -> list[float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        r = session.post(f"{worker}/api/workflows/{workflow_id}/execute", json={}, timeout=120)
        elapsed = (time.perf_counter() - start) * 1000
        assert r.status_code == 200 and r.json()["execution"]["status"] == "succeeded", r.text[:300]
        times.append(elapsed)
    return times


def main() -> int:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Target)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    env = dict(os.environ)
    log = Path(env.get("STACK_DIR") or stack.LOCAL) / "bench-journal.log"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {env['DEMO_TOKEN']}"
    workers = {}
    try:
        for name, journal in (("journal on", "on"), ("journal off", "off")):
            workers[name] = stack.start_extra_worker(env, {"RUN_JOURNAL": journal, "RUN_SUBREQUEST_BUDGET": "1000"}, log)
        base = env["WORKER_URL"].rstrip("/")
        print(f"step journal: chain of {STEPS} webhook_call steps, {RUNS} runs per case after 3 warm-up runs,"
              " journal on vs off, same build, same sitting")
        for target, label in ((f"http://127.0.0.1:{port}/fast", "instant target"),
                              (f"http://127.0.0.1:{port}/slow", "20 ms target")):
            wf = session.post(f"{base}/api/workflows", json=chain(target), timeout=30).json()["workflow"]
            medians = {}
            for name, (url, _) in workers.items():
                for _ in range(3):  # warm-up: isolate start, connections
                    session.post(f"{url}/api/workflows/{wf['id']}/execute", json={}, timeout=120)
                times = timed_runs(session, url, wf["id"])
                med = statistics.median(times)
                spread = statistics.pstdev(times)
                medians[name] = med
                print(f"  {label:<15} {name:<12} median {med:7.1f} ms  spread {spread:6.1f} ms  per step {med / STEPS:5.2f} ms")
            on, off = medians["journal on"], medians["journal off"]
            print(f"  {label:<15} journal adds {on - off:6.1f} ms per run, {(on - off) / STEPS:5.2f} ms per step,"
                  f" {100 * (on - off) / off:5.1f}% of the wall time")
    finally:
        for _, proc in workers.values():
            stack.stop_extra_worker(proc)
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
