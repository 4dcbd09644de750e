"""Exactly-once embedded writes through the real worker: an attempt that times out after its row was committed is
retried, and the retry returns that row instead of writing a second one.

The gateway reproduces the lost answer with its test-only switch (scripts/gateway/stall.py): with
GATEWAY_STALL_AFTER_COMMIT_MS set (scripts/test.sh exports 2500), the first insert whose body carries the marker is
committed and answered that much later, well after the node's 1 s timeout; the retry's insert is answered at once
(409 on the step key), and the worker reads the first row back by its key.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest

from support.documents import action, by_node, chain, trigger

MARKER = "[stall-after-commit]"
TIMEOUT_MS = 1000
RETRY = {"maxAttempts": 2, "backoffMs": 100}


@pytest.fixture(scope="module")
def stall_ms() -> int:
    """The gateway's stall as the stack set it; it must outlast the node's timeout or nothing is tested."""
    value = os.environ.get("GATEWAY_STALL_AFTER_COMMIT_MS", "").strip()
    if not value.isdigit() or int(value) < 2 * TIMEOUT_MS:
        pytest.fail(f"GATEWAY_STALL_AFTER_COMMIT_MS is {value!r}: start the stack with it at {2 * TIMEOUT_MS} or more"
                    " (scripts/test.sh exports 2500)", pytrace=False)
    return int(value)


# (action, table, column the marked text lands in, inputs given that text)
CASES = [
    ("create_deal", "deals", "title", lambda text: {"title": text, "value": 900, "stage": "new"}),
    ("send_notification", "notifications", "title", lambda text: {"title": text, "body": "exactly once"}),
    ("send_email", "email_outbox", "subject",
     lambda text: {"to": "once@acme.example", "subject": text, "body": "Hi"}),
]


@pytest.mark.parametrize("action_id, table, column, inputs", CASES, ids=[c[0] for c in CASES])
def test_a_step_that_timed_out_after_its_insert_writes_one_row(owner, db, stall_ms, action_id, table, column,
                                                               inputs):
    text = f"Exactly once {uuid.uuid4().hex[:12]} {MARKER}"
    doc = chain(trigger(), action("write", action_id, inputs(text), timeoutMs=TIMEOUT_MS, retry=RETRY))
    # Unsaved, so the only insert carrying the marker is the step's own (a saved workflow's row would carry it too).
    ex = owner.api.run_unsaved(doc)
    step = by_node(ex)["write"]
    assert ex["status"] == "succeeded", json.dumps(ex["results"], indent=1)
    assert step["attempts"] == 2, f"the first attempt should have timed out: {json.dumps(step)}"

    key = f"{ex['id']}:write"
    rows = db.execute(f"select id::text, user_id::text, step_key from public.{table} where {column} = %s",
                      [text]).fetchall()
    assert rows == [(step["output"]["id"], owner.id, key)], "exactly one row, and the output is that row"
    assert step["output"]["step_key"] == key


def test_two_runs_of_one_document_are_two_steps(owner, db, stall_ms):
    """The key holds the execution id: a second run writing the same title gets its own row (and, its body holding
    another key, stalls and retries like the first)."""
    text = f"Twice {uuid.uuid4().hex[:12]} {MARKER}"
    doc = chain(trigger(), action("write", "create_deal", {"title": text}, timeoutMs=TIMEOUT_MS, retry=RETRY))
    first, second = (owner.api.run_unsaved(doc) for _ in range(2))
    for ex in (first, second):
        assert ex["status"] == "succeeded" and by_node(ex)["write"]["attempts"] == 2, json.dumps(ex["results"])
    keys = sorted(r[0] for r in db.execute("select step_key from public.deals where title = %s", [text]).fetchall())
    assert keys == sorted([f"{first['id']}:write", f"{second['id']}:write"])
