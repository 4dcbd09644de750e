"""The test-only stall switch (scripts/gateway/stall.py, ``GATEWAY_STALL_AFTER_COMMIT_MS``): an insert carrying the
marker is committed, then answered late, once per distinct body; nothing else is ever delayed.

A gateway of its own is started here with the switch on, so these tests do not depend on how the stack was started.
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from gateway.config import Config, parse
from gateway.server import Gateway
from gateway.stall import MARKER, Staller, has_marker

STALL_MS = 1500
QUICK_S = STALL_MS / 1000 / 2  # an answer not held back comes far sooner than this
REP = {"Prefer": "return=representation"}


@pytest.fixture(scope="module")
def stalling(stack_env, schema):
    """``call(method, path, token, json=..., timeout=...)`` against a gateway with a 1.5 s stall."""
    config = Config(db_url=stack_env.database_url, jwt_secret=stack_env.jwt_secret, anon_key=stack_env.anon_key,
                    service_key=stack_env.service_key, stall_after_commit_ms=STALL_MS)
    gw = Gateway(config)
    thread = threading.Thread(target=gw.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    host, port = gw.server_address[:2]

    def call(method: str, path: str, token: str, *, timeout: float = 30, headers: dict | None = None, **kwargs):
        hdrs = {"apikey": stack_env.anon_key, "Authorization": f"Bearer {token}", **REP, **(headers or {})}
        return requests.request(method, f"http://{host}:{port}/rest/v1/{path}", headers=hdrs, timeout=timeout,
                                **kwargs)

    yield call
    gw.shutdown()
    gw.server_close()
    thread.join(5)


def _timed(fn):
    started = time.monotonic()
    res = fn()
    return res, time.monotonic() - started


def _count(db, name: str) -> int:
    return db.execute("select count(*) from public.gw_items where name = %s", [name]).fetchone()[0]


def test_a_marked_insert_is_committed_then_answered_late_once(stalling, alice, items, db):
    name = f"stall {uuid.uuid4().hex[:8]} {MARKER}"
    body = {"name": name, "sku": f"sku-{uuid.uuid4().hex}"}
    started = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        stalling("POST", "gw_items", alice.token, json=body, timeout=0.5)
    assert time.monotonic() - started < QUICK_S + 0.5
    assert _count(db, name) == 1, "the row is committed before the answer is held back"

    # The caller's retry: the same body is answered at once (here a 409 on the unique sku, as a step key would).
    res, took = _timed(lambda: stalling("POST", "gw_items", alice.token, json=body))
    assert res.status_code == 409 and res.json()["code"] == "23505"
    assert took < QUICK_S and _count(db, name) == 1

    # A caller that waits gets its answer, late.
    other = {"name": f"late {uuid.uuid4().hex[:8]} {MARKER}"}
    res, took = _timed(lambda: stalling("POST", "gw_items", alice.token, json=other))
    assert res.status_code == 201 and res.json()[0]["name"] == other["name"]
    assert took >= STALL_MS / 1000


def test_the_marker_counts_in_any_string_value_at_any_depth(stalling, alice, items):
    body = {"name": f"nested {uuid.uuid4().hex[:8]}", "meta": {"notes": [1, {"t": f"see {MARKER}"}]}}
    res, took = _timed(lambda: stalling("POST", "gw_items", alice.token, json=body))
    assert res.status_code == 201 and took >= STALL_MS / 1000


def test_nothing_else_is_held_back(stalling, alice, items):
    unmarked = {"name": f"plain {uuid.uuid4().hex[:8]}"}
    in_a_key = {"name": f"key {uuid.uuid4().hex[:8]}", "meta": {MARKER: 1}}
    refused = {"qty": 1, "tags": [MARKER]}  # no name: 23502, nothing committed
    cases = [
        ("POST", "gw_items", unmarked, 201),
        ("POST", "gw_items", in_a_key, 201),
        ("POST", "gw_items", refused, 400),
        ("PATCH", f"gw_items?id=eq.{items['apple']}", {"name": f"apple {MARKER}"}, 200),
        ("POST", "rpc/gw_echo", {"payload": {"s": MARKER}, "labels": [MARKER]}, 200),
    ]
    for method, path, body, status in cases:
        res, took = _timed(lambda: stalling(method, path, alice.token, json=body))
        assert res.status_code == status, (method, path, res.text)
        assert took < QUICK_S, f"{method} {path} was held back {took:.2f}s"


def test_the_switch_is_off_unless_set(monkeypatch):
    flags = ["--anon-key", "a", "--service-key", "s", "--db-url", "postgresql://x", "--jwt-secret", "j"]
    monkeypatch.delenv("GATEWAY_STALL_AFTER_COMMIT_MS", raising=False)
    assert parse(flags).stall_after_commit_ms == 0
    monkeypatch.setenv("GATEWAY_STALL_AFTER_COMMIT_MS", "2500")
    assert parse(flags).stall_after_commit_ms == 2500
    marked = b'{"title": "x [stall-after-commit]"}'
    assert Staller(0).delay_s("POST", "deals", marked, 201) == 0
    staller = Staller(2500)
    assert staller.delay_s("POST", "deals", marked, 201) == 2.5
    assert staller.delay_s("POST", "deals", marked, 201) == 0, "once per body"
    assert staller.delay_s("POST", "notifications", marked, 201) == 2.5, "the table is part of the body's identity"
    assert staller.delay_s("POST", "deals", b"not json " + marked, 201) == 0
    assert has_marker([{"a": ["b", MARKER]}]) and not has_marker({MARKER: 1})
