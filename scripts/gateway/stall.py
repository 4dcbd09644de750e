"""Test-only switch: answer a committed insert late, so the caller's timeout fires after the row exists.

With ``GATEWAY_STALL_AFTER_COMMIT_MS=<ms>`` (or ``--stall-after-commit-ms``), an insert (``POST /rest/v1/<table>``,
not an RPC) whose JSON body holds the text ``[stall-after-commit]`` in any string value, at any depth, is executed and
committed as usual, and its answer is then held back for that many milliseconds. Only the first occurrence of each
distinct body (table and bytes) is held, so the caller's retry of the same request is answered at once. This is how the
end-to-end tests reproduce "the first attempt timed out after its row was written". Nothing else sends the marker, so
the switch can stay on for a whole test run; unset or 0, nothing is ever delayed.
"""

from __future__ import annotations

import hashlib
import json
import threading

MARKER = "[stall-after-commit]"


def has_marker(value) -> bool:
    """Whether any string value inside ``value`` (parsed JSON) contains the marker; keys do not count."""
    if isinstance(value, str):
        return MARKER in value
    if isinstance(value, list):
        return any(has_marker(v) for v in value)
    if isinstance(value, dict):
        return any(has_marker(v) for v in value.values())
    return False


class Staller:
    """Decides how long to hold back an answer; remembers the bodies it has seen (thread-safe)."""

    def __init__(self, ms: int):
        self.ms = max(0, ms)
        self._seen: set[bytes] = set()
        self._lock = threading.Lock()

    def delay_s(self, method: str, route: str, body: bytes, status: int) -> float:
        """Seconds to wait before answering ``method /rest/v1/<route>`` with ``status``; 0 for no delay."""
        if not self.ms or method != "POST" or route.startswith("rpc/"):
            return 0.0
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return 0.0
        if not has_marker(payload):
            return 0.0
        digest = hashlib.sha256(route.encode() + b"\0" + body).digest()
        with self._lock:
            first = digest not in self._seen
            self._seen.add(digest)
        # Only a committed insert (2xx) stalls; a refused one answers as usual.
        return self.ms / 1000 if first and 200 <= status < 300 else 0.0
