"""The worker bundle's size and its cold start.

Size: build/index_bg.wasm raw and gzipped (level 6, gzip's default, and 9), and build/index.js.

Cold start: the time from spawning `wrangler dev` to its first answer (`GET /health` = 200), BENCH_COLD_RUNS times
(default 5) for the Rust worker (this build) and for the minimal JavaScript floor worker: the difference is what the
wasm adds to a start. Also the time node 22's V8 (the engine workerd embeds) takes to compile the wasm module.
"""

from __future__ import annotations

import gzip
import os
import subprocess

from . import lib

COLD_RUNS = int(os.environ.get("BENCH_COLD_RUNS", "5"))
KB = 1000


def compile_ms(wasm) -> lib.Samples:
    node = lib.stack.NODE_BIN / "node"
    script = ("const fs=require('fs');const b=fs.readFileSync(process.argv[1]);"
              "const t=performance.now();new WebAssembly.Module(b);console.log(performance.now()-t)")
    out = []
    for _ in range(COLD_RUNS):
        res = subprocess.run([str(node), "-e", script, str(wasm)], capture_output=True, text=True, check=True)
        out.append(float(res.stdout.strip()))
    return lib.Samples(out)


def run(ctx) -> None:
    wasm = lib.ROOT / "build" / "index_bg.wasm"
    js = lib.ROOT / "build" / "index.js"
    data = wasm.read_bytes()
    raw, gz6, gz9 = len(data), len(gzip.compress(data, 6)), len(gzip.compress(data, 9))
    print("worker bundle")
    lib.line("build/index_bg.wasm raw / gzip -6 / gzip -9",
             f"{raw / KB:.0f} KB / {gz6 / KB:.0f} KB / {gz9 / KB:.0f} KB (target: at most 500 KB gzipped)")
    lib.line("build/index.js", f"{js.stat().st_size / KB:.1f} KB")
    compiled = compile_ms(wasm)
    lib.line("compiling the wasm in node 22 (V8)", f"{compiled} ms")

    rust, floor = [], []
    for _ in range(COLD_RUNS):
        _, proc = lib.start_worker(ctx.env, {}, ctx.log)
        rust.append(proc.started_in_s * 1000)
        lib.stop_worker(proc)
        _, proc, seconds = lib.start_floor_worker(ctx.env, ctx.log)
        floor.append(seconds * 1000)
        lib.stop_worker(proc)
    rust_s, floor_s = lib.Samples(rust), lib.Samples(floor)
    print(f"cold start: spawning `wrangler dev` to its first answer, {COLD_RUNS} times each (ms)")
    lib.line("the Rust worker", str(rust_s))
    lib.line("the minimal JavaScript worker", str(floor_s))
    lib.line("what the Rust worker adds", f"{rust_s.median - floor_s.median:.0f} ms")
    lib.record("size", {"wasm_bytes": raw, "wasm_gzip6_bytes": gz6, "wasm_gzip9_bytes": gz9,
                        "js_bytes": js.stat().st_size, "wasm_compile_ms": compiled.json(),
                        "cold_start_rust_ms": rust_s.json(), "cold_start_js_floor_ms": floor_s.json(),
                        "cold_start_rust_minus_floor_ms": round(rust_s.median - floor_s.median, 1)})
