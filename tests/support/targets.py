"""Local HTTP servers on 127.0.0.1 for the suites: recording targets that answer as scripted (what actions call)
and static page servers (where the browser test loads its page from)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Reply:
    """One scripted answer. ``hold`` makes the handler wait on that event (released or not, at most
    ``hold_s``) before answering; ``delay_s`` answers late. Both end early when the target closes."""

    status: int = 200
    json: object | None = None
    text: str | None = None
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0
    hold: threading.Event | None = None
    hold_s: float = 20.0

    def encode(self) -> tuple[bytes, str]:
        if self.text is not None:
            return self.text.encode(), "text/plain; charset=utf-8"
        payload = {"ok": True} if self.json is None else self.json
        return json.dumps(payload).encode(), "application/json"


@dataclass(frozen=True)
class Seen:
    """A request as the target received it; header names lower-case."""

    method: str
    path: str
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


class Target:
    """A recording HTTP server. ``script(path, *replies)`` queues answers for a path (the last one
    repeats); unscripted paths answer ``200 {"ok": true}``."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._active: dict[str, int] = {}
        self._peak: dict[str, int] = {}
        self.entered = threading.Event()  # set when a held reply starts waiting
        self.closing = threading.Event()
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name=f"target-{self.port}", daemon=True)
        self._thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def script(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self._scripts[path] = list(replies)

    def requests(self, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if path is None or s.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout_s: float = 15) -> list[Seen]:
        """Waits until ``count`` requests (for ``path``) arrived; fails at the deadline."""
        end = time.monotonic() + timeout_s
        with self._cond:
            while True:
                got = [s for s in self.seen if path is None or s.path == path]
                if len(got) >= count:
                    return got
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"target got {len(got)} request(s) for {path or 'any path'}, expected {count}")
                self._cond.wait(left)

    def peak(self, path: str) -> int:
        """The most requests for ``path`` that were being answered at one time."""
        with self._lock:
            return self._peak.get(path, 0)

    def _enter(self, path: str, delta: int) -> None:
        with self._lock:
            self._active[path] = self._active.get(path, 0) + delta
            self._peak[path] = max(self._peak.get(path, 0), self._active[path])

    def close(self) -> None:
        self.closing.set()  # frees handlers still waiting, so nothing outlives the test
        self.server.shutdown()
        self.server.server_close()

    # -- called by the handler -----------------------------------------------------------
    def _record(self, seen: Seen) -> Reply:
        with self._cond:
            self.seen.append(seen)
            self._cond.notify_all()
            queue = self._scripts.get(seen.path)
            if not queue:
                return Reply()
            return queue.pop(0) if len(queue) > 1 else queue[0]


def _handler_for(target: Target):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no delayed-ACK stall between headers and body

        def log_message(self, fmt, *args):  # keep pytest output clean
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            reply = target._record(seen)
            # Counted as answering until the reply is about to go out, so the
            # caller's next request never overlaps this one in the count.
            target._enter(self.path, 1)
            try:
                if reply.hold is not None:
                    target.entered.set()
                    end = time.monotonic() + reply.hold_s
                    while not reply.hold.is_set() and not target.closing.is_set() and time.monotonic() < end:
                        reply.hold.wait(0.05)
                if reply.delay_s:
                    target.closing.wait(reply.delay_s)
            finally:
                target._enter(self.path, -1)
            payload, content_type = reply.encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the caller gave up (a timeout test): nothing to answer

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    return Handler


def verify_signature(secret: str, seen: Seen, tolerance_s: int = 300) -> None:
    """A Standard Webhooks receiver: raises AssertionError unless ``seen`` is signed with ``secret``."""
    msg_id = seen.headers.get("webhook-id")
    timestamp = seen.headers.get("webhook-timestamp")
    signature = seen.headers.get("webhook-signature")
    assert msg_id and timestamp and signature, f"missing signature headers: {seen.headers}"
    assert abs(time.time() - int(timestamp)) <= tolerance_s, f"timestamp {timestamp} is not current"
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + seen.body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [part.split(",", 1)[1] for part in signature.split() if part.startswith("v1,")]
    assert any(hmac.compare_digest(expected, o) for o in offered), f"bad signature {signature!r} for {msg_id}"


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the stdlib's signature
        pass


class PageServer:
    """``python -m http.server`` for ``directory``, in a thread of the test process, on 127.0.0.1:``port``
    (0: a free one)."""

    def __init__(self, directory: Path, port: int = 0):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), partial(_QuietFiles, directory=str(directory)))
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)
