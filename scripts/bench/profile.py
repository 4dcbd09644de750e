"""Where a run's CPU goes: `perf record` of the native benchmark's whole execute request (`cargo bench --bench engine
-- --profile SECS STEPS`: token check, workflow read, run insert, 100 `webhook_call` steps with the journal,
completion, every PostgREST and webhook answer made in-process), and the top symbols by self time. Skipped (with a
note in the results) where `perf` is missing or not permitted."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

from . import lib

SECONDS = os.environ.get("BENCH_PROFILE_SECONDS", "5")
STEPS = "100"
TOP = 5


def bench_binary() -> str:
    res = subprocess.run(["cargo", "bench", "--bench", "engine", "--no-run", "--message-format=json"], cwd=lib.ROOT,
                         capture_output=True, text=True, check=True)
    for row in res.stdout.splitlines():
        msg = json.loads(row)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable") and msg["target"]["name"] == "engine":
            return msg["executable"]
    raise RuntimeError("cargo did not name the engine benchmark's binary")


def run(ctx=None) -> None:
    perf = shutil.which("perf")
    if not perf:
        lib.record("profile", {"skipped": "perf is not installed"})
        print("  perf is not installed: no profile (apt-get install linux-perf)")
        return
    binary = bench_binary()
    data = lib.RESULTS.parent / "perf.data"
    rec = subprocess.run([perf, "record", "-F", "2000", "-o", str(data), binary, "--profile", SECONDS, STEPS],
                         capture_output=True, text=True)
    if rec.returncode != 0:
        lib.record("profile", {"skipped": f"perf record failed: {rec.stderr.strip()[-300:]}"})
        print(f"  perf record failed: {rec.stderr.strip()[-300:]}")
        return
    rep = subprocess.run([perf, "report", "-i", str(data), "--stdio", "--no-children", "--sort", "symbol",
                          "--percent-limit", "0.3"], capture_output=True, text=True, check=True)
    rows = []
    for row in rep.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+\[(.)\]\s+(.*?)\s*$", row)
        if m:
            symbol = re.sub(r"(\s+-)+\s*$", "", m.group(3)).strip()
            rows.append({"percent": float(m.group(1)), "symbol": symbol, "kernel": m.group(2) == "k"})
    print(f"profile: {rec.stdout.strip() or 'done'}; top symbols by self time (perf, native release build)")
    for r in rows[:15]:
        lib.line(f"{r['percent']:5.1f}%", r["symbol"][:110])
    lib.record("profile", {"what": f"native execute request, {STEPS} webhook_call steps, journal on",
                           "top": rows[:TOP], "top15": rows[:15]})
