"""What every benchmark case shares: samples and their median and spread, the results file, the local HTTP target,
CPU accounting of the processes under test, and the workers the cases run against."""

from __future__ import annotations

import json
import os
import socket
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SCRIPTS))
import stack  # noqa: E402

ROOT = SCRIPTS.parent
RESULTS = Path(os.environ.get("BENCH_RESULTS") or ROOT / "target" / "bench" / "results.json")
RUNS = int(os.environ.get("BENCH_RUNS", "7"))  # timed samples per case (at least 5), after the warm-up
WARMUP = 3
CLK_TCK = os.sysconf("SC_CLK_TCK")


# -- samples -----------------------------------------------------------------------------------

class Samples:
    """Timings of one case in ms: median, spread (median absolute deviation), min and max."""

    def __init__(self, values: list[float]):
        if not values:
            raise ValueError("no samples")
        self.values = list(values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def spread(self) -> float:
        m = self.median
        return statistics.median(abs(v - m) for v in self.values)

    def json(self, digits: int = 3) -> dict:
        r = lambda x: round(x, digits)  # noqa: E731
        return {"median": r(self.median), "spread": r(self.spread), "min": r(min(self.values)),
                "max": r(max(self.values)), "n": len(self.values), "samples": [r(v) for v in self.values]}

    def __str__(self) -> str:
        return f"median {self.median:8.2f}  spread {self.spread:6.2f}  [{min(self.values):.2f} .. {max(self.values):.2f}]"


def timed(fn, runs: int = RUNS, warmup: int = WARMUP) -> Samples:
    """``fn()`` ``warmup`` times untimed, then ``runs`` times; wall ms per call."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return Samples(out)


def diff(a: Samples, b: Samples) -> float:
    """Median of ``a`` minus median of ``b``."""
    return a.median - b.median


def line(label: str, value: str) -> None:
    print(f"  {label:<58} {value}", flush=True)


# -- results file ------------------------------------------------------------------------------

_lock = threading.Lock()


def record(section: str, data: dict) -> None:
    """Merges ``data`` into ``section`` of the results file (other sections are kept)."""
    with _lock:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        try:
            all_ = json.loads(RESULTS.read_text())
        except (OSError, ValueError):
            all_ = {}
        all_.setdefault(section, {}).update(data)
        tmp = RESULTS.with_suffix(".tmp")
        tmp.write_text(json.dumps(all_, indent=2, sort_keys=False) + "\n")
        tmp.replace(RESULTS)


def read_results() -> dict:
    try:
        return json.loads(RESULTS.read_text())
    except (OSError, ValueError):
        return {}


def machine() -> dict:
    model = "?"
    try:
        for row in Path("/proc/cpuinfo").read_text().splitlines():
            if row.startswith("model name"):
                model = row.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "load_avg_at_start": list(os.getloadavg())}


# -- the local HTTP target -------------------------------------------------------------------------

class Target:
    """A keep-alive HTTP/1.1 server on 127.0.0.1: every path answers ``{"ok":true}`` at once, ``/slow/<ms>/...``
    after that many ms. Counts requests per first path segment (so a case can check every call arrived once)."""

    def __init__(self):
        counts: dict[str, int] = {}
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Without it, Nagle and delayed ACKs add ~40 ms to every answer.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def answer(self):
                n = int(self.headers.get("content-length") or 0)
                if n:
                    self.rfile.read(n)
                parts = self.path.split("/")
                with lock:
                    counts[parts[1] if len(parts) > 1 else ""] = counts.get(parts[1] if len(parts) > 1 else "", 0) + 1
                if len(parts) > 2 and parts[1] == "slow":
                    time.sleep(int(parts[2]) / 1000)
                body = b'{"ok":true}'
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = answer  # noqa: N815 - the stdlib's names

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

        self.counts = counts
        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def count(self, first_segment: str) -> int:
        return self.counts.get(first_segment, 0)

    def close(self):
        self.server.shutdown()


# -- CPU accounting --------------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, int, int, str] | None:
    """(ppid, pgid, cpu ticks, name) of a process, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return int(fields[1]), int(fields[2]), int(fields[11]) + int(fields[12]), name


def _all() -> dict[int, tuple[int, int, int, str]]:
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st:
                out[int(entry)] = st
    return out


def pid_listening(port: int) -> int | None:
    """The process listening on 127.0.0.1:``port`` (found through its socket inode)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(cols[9])
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                try:
                    link = os.readlink(f"/proc/{entry}/fd/{fd}")
                except OSError:
                    continue
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(entry)
        except OSError:
            continue
    return None


class Group:
    """CPU seconds of a set of processes: a process group (a `wrangler dev` and its workerd), or a process and
    all its descendants (the gateway, the Postgres postmaster and its backends). Processes that end between two
    readings are lost from the sum, so read around a window in which the set does not change."""

    def __init__(self, name: str, pgid: int | None = None, root: int | None = None):
        self.name, self.pgid, self.root = name, pgid, root

    def members(self, procs: dict) -> list[int]:
        if self.pgid is not None:
            return [p for p, st in procs.items() if st[1] == self.pgid]
        if self.root is None:
            return []
        found, frontier = {self.root}, [self.root]
        while frontier:
            parent = frontier.pop()
            for p, st in procs.items():
                if st[0] == parent and p not in found:
                    found.add(p)
                    frontier.append(p)
        return [p for p in found if p in procs]

    def cpu_s(self, procs: dict | None = None) -> dict[str, float]:
        """CPU seconds so far per process name, and the total under ``"total"``."""
        procs = procs or _all()
        out: dict[str, float] = {}
        for p in self.members(procs):
            name = procs[p][3]
            out[name] = out.get(name, 0.0) + procs[p][2] / CLK_TCK
        out["total"] = sum(out.values())
        return out


class CpuMeter:
    """CPU seconds used by each group (and by this process) between ``start()`` and ``stop()``."""

    def __init__(self, groups: list[Group]):
        self.groups = groups

    def _read(self) -> dict[str, dict[str, float]]:
        procs = _all()
        out = {g.name: g.cpu_s(procs) for g in self.groups}
        t = os.times()
        out["bench client"] = {"total": t.user + t.system}
        return out

    def start(self) -> None:
        self.t0, self.before = time.monotonic(), self._read()

    def stop(self) -> dict:
        after, wall = self._read(), time.monotonic() - self.t0
        out = {"wall_s": round(wall, 3)}
        for group, values in after.items():
            base = self.before.get(group, {})
            out[group] = {k: round(v - base.get(k, 0.0), 3) for k, v in values.items()}
        return out


def stack_groups(env: dict, worker_pgid: int | None = None) -> list[Group]:
    """The stack's components as CPU groups: the worker (its process group), the gateway, Postgres."""
    groups = []
    if worker_pgid is None and env.get("WORKER_URL"):
        pid = pid_listening(int(env["WORKER_URL"].rsplit(":", 1)[1]))
        worker_pgid = os.getpgid(pid) if pid else None
    if worker_pgid is not None:
        groups.append(Group("worker (wrangler + workerd)", pgid=worker_pgid))
    gw = pid_listening(int(env["SUPABASE_URL"].rsplit(":", 1)[1].split("/")[0]))
    if gw:
        groups.append(Group("gateway", root=gw))
    pg_port = int(env["DATABASE_URL"].split("@127.0.0.1:")[1].split("/")[0])
    pg = pid_listening(pg_port)
    if pg:
        groups.append(Group("postgres", root=pg))
    return groups


# -- workers -------------------------------------------------------------------------------------

FLOOR_WORKER = ROOT / "benches" / "floor" / "worker.js"


def start_floor_worker(env: dict, log: Path) -> tuple[str, object, float]:
    """The runtime's floor: a minimal JavaScript worker (``benches/floor/worker.js``) in its own `wrangler dev`."""
    port = stack.free_port()
    base = Path(env.get("STACK_DIR") or stack.LOCAL) / f"floor-worker-{port}"
    base.mkdir(parents=True, exist_ok=True)
    (base / "wrangler.toml").write_text(f'name = "edgeflow-floor-{port}"\n'
                                        f'main = {json.dumps(str(FLOOR_WORKER))}\n'
                                        f'compatibility_date = "{stack._compatibility_date()}"\n')
    return stack.start_wrangler(base, port, {}, log, what="floor worker (wrangler dev)")


def start_worker(env: dict, overrides: dict, log: Path) -> tuple[str, object]:
    return stack.start_extra_worker(env, overrides, log)


def stop_worker(proc) -> None:
    stack.stop_extra_worker(proc)
