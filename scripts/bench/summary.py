"""The last part of `make bench`: every figure of target/bench/results.json on one screen, each target with its
verdict. `python -m bench summary` prints it again from the file."""

from __future__ import annotations

from . import lib


def _get(d: dict, *path, default=None):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def verdicts(r: dict) -> list[tuple[str, str, str, bool | None]]:
    """(what, figure, target, met) rows; met is None when the figure is missing."""
    rows = []
    marginal = _get(r, "floor", "journal_off", "step_overhead_marginal_ms")
    issue = _get(r, "floor", "journal_off", "step_overhead_issue_formula_ms")
    rows.append(("step overhead above the floor, journal off (marginal step)",
                 f"{marginal:.3f} ms" if marginal is not None else "-", "<= 0.1 ms",
                 None if marginal is None else marginal <= 0.1))
    rows.append(("  (chain 100 - floor 100) / 100, journal off", f"{issue:.3f} ms" if issue is not None else "-",
                 "(includes the run's fixed cost)", None))
    on = _get(r, "floor", "journal_on", "step_overhead_marginal_ms")
    rows.append(("  the same, journal on (marginal step)", f"{on:.3f} ms" if on is not None else "-", "-", None))
    ratio = _get(r, "fan_out", "journal_on", "ratio_to_ideal")
    rows.append(("fan-out of 50 against ceil(50/c) x one call (journal on)",
                 f"{ratio:.2f}x" if ratio is not None else "-", "<= 1.3x", None if ratio is None else ratio <= 1.3))
    ratio_off = _get(r, "fan_out", "journal_off", "ratio_to_ideal")
    rows.append(("  the same, journal off", f"{ratio_off:.2f}x" if ratio_off is not None else "-", "-", None))
    for key, label, rate in (("execute_webhook_call", "throughput execute -> webhook_call", "runs_per_s"),
                             ("hook_send_notification", "throughput form hook -> send_notification", "accepted_per_s")):
        x = _get(r, "throughput", key, "ratio_to_health")
        per_s = _get(r, "throughput", key, rate, "median")
        rows.append((f"{label}, vs /health", f"{x:.2f}x ({per_s:.0f}/s)" if x is not None else "-",
                     ">= 0.5x, nothing lost", None if x is None else x >= 0.5 and _get(r, "throughput", "ok", default=False)))
    health = _get(r, "throughput", "health", "per_s", "median")
    rows.append(("  GET /health at 16 clients", f"{health:.0f} req/s" if health else "-", "baseline", None))
    e2e = _get(r, "throughput", "hook_send_notification", "end_to_end_runs_per_s")
    rows.append(("  form hook runs finished by the local queue", f"{e2e:.1f} runs/s" if e2e else "-", "-", None))
    gz = _get(r, "size", "wasm_gzip6_bytes")
    raw = _get(r, "size", "wasm_bytes")
    rows.append(("wasm gzipped (raw)", f"{gz / 1000:.0f} KB ({raw / 1000:.0f} KB)" if gz else "-", "<= 500 KB",
                 None if gz is None else gz <= 500_000))
    cold = _get(r, "size", "cold_start_rust_ms", "median")
    extra = _get(r, "size", "cold_start_rust_minus_floor_ms")
    rows.append(("cold start (spawn to first answer), over the JS floor worker",
                 f"{cold:.0f} ms (+{extra:.0f} ms)" if cold else "-", "-", None))
    return rows


def run() -> None:
    r = lib.read_results()
    print(f"\n== summary ({lib.RESULTS})")
    m = r.get("machine", {})
    print(f"  machine: {m.get('nproc')} cores, {m.get('cpu')}, load at start {m.get('load_avg_at_start')}")
    for what, figure, target, met in verdicts(r):
        mark = {True: "met", False: "MISSED", None: ""}[met]
        print(f"  {what:<62} {figure:<22} {target:<30} {mark}")
    fl = r.get("floor", {})
    if fl:
        print(f"  floor per call: native {fl.get('native_per_call_ms')} ms, wrangler dev {fl.get('floor_per_fetch_ms')} ms;"
              f" worker CPU per step {_get(fl, 'journal_off', 'cpu_per_step_ms')} ms vs floor {fl.get('floor_cpu_per_fetch_ms')}")
    for key, j in r.get("journal", {}).items():
        print(f"  journal {key}: {j['journal_ms_per_step']} ms per step, {j['round_trips_on']} round trips"
              f" ({j['journal_writes']} journal writes) vs {j['round_trips_off']} without")
    native = r.get("native", {})
    for group in ("micro", "request"):
        for name, fig in native.get(group, {}).items():
            print(f"  native {name}: {fig['median_us']:.1f} us per {fig['op']} (spread {fig['spread_us']:.1f})")
    if native.get("per_step_us"):
        print(f"  native CPU per step: {native['per_step_us']}")
    for key in ("execute_webhook_call", "hook_send_notification"):
        w = _get(r, "throughput", key, "worker_cpu_ms_per_run_above_health")
        if w is not None:
            print(f"  worker CPU per run above /health, {key}: {w} ms")
    for row in _get(r, "profile", "top", default=[]) or []:
        print(f"  profile {row['percent']:5.1f}% {row['symbol'][:100]}")
    if r.get("failures"):
        print(f"  FAILED cases: {r['failures']}")
