"""Entry point: ``python -m gateway [flags]`` (run from ``scripts/``), serves until SIGINT/SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading

from .config import parse
from .server import Gateway


def main(argv: list[str] | None = None) -> int:
    config = parse(argv)
    gateway = Gateway(config)
    host, port = gateway.server_address[:2]
    mode = f"proxying /rest/v1 to {config.upstream}" if config.upstream else "built-in PostgREST-compatible handler"
    if config.stall_after_commit_ms:
        mode += f"; inserts marked [stall-after-commit] answered {config.stall_after_commit_ms} ms after commit"
    print(f"gateway listening on http://{host}:{port} ({mode})", file=sys.stderr, flush=True)

    def stop(signum, frame):
        # shutdown() blocks until serve_forever returns, so it cannot run on the serving thread
        threading.Thread(target=gateway.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        gateway.serve_forever(poll_interval=0.2)
    finally:
        gateway.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
