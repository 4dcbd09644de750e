"""Delays, loops and splits through the real worker: a run that waits and is continued by its delayed queue
message or by the scheduled recovery after its worker died, cancel while waiting, a loop's bounded
concurrency, a loop resumed after a crash that repeats no finished item, and a split's shares."""

from __future__ import annotations

import hashlib
import threading
import time

import stack
from support.documents import by_node, edge, trigger, webhook
from support.runs import finished, journal, poll, tick
from support.targets import Reply

ASYNC = {"Prefer": "respond-async"}


def delay(node_id: str, **spec) -> dict:
    return {"id": node_id, "type": "delay", "position": {"x": 0, "y": 100}, "data": {"delay": spec}}


def loop(node_id: str, items: str, concurrency: int = 1) -> dict:
    return {"id": node_id, "type": "loop", "position": {"x": 0, "y": 100},
            "data": {"loop": {"items": items, "concurrency": concurrency}}}


def inside(node: dict, parent: str) -> dict:
    return {**node, "parentId": parent}


def delayed(target, path: str, ms: int) -> dict:
    return {"nodes": [trigger(), delay("wait", ms=ms), webhook("after", target.url(path), {"n": 1})],
            "edges": [edge("trigger", "wait"), edge("wait", "after")]}


def test_a_delay_leaves_the_run_waiting_and_its_queue_message_finishes_it(owner, target, db):
    wf = owner.api.save(delayed(target, "/d-queue", 2000))
    started = time.monotonic()
    res = owner.api.execute(wf["id"])
    assert res.status_code == 200, res.text
    assert time.monotonic() - started < 1.5, "a plain execute does not hold the request open through a delay"
    ex = res.json()["execution"]
    assert ex["status"] == "waiting" and ex["resume_at"], ex
    assert target.requests("/d-queue") == []
    assert sorted(journal(db, ex["id"])) == [("trigger", "succeeded"), ("wait", "running")]
    final = poll(owner.api, ex["id"], finished, deadline_s=30)[-1]
    assert final["status"] == "succeeded", final
    waited = time.monotonic() - started
    assert waited >= 2.0, f"finished {waited:.2f} s after it started"
    assert len(target.requests("/d-queue")) == 1
    assert by_node(final)["wait"]["output"]["waitedMs"] >= 2000
    assert sorted(journal(db, ex["id"])) == [("after", "succeeded"), ("trigger", "succeeded"), ("wait", "succeeded")]


def test_a_delay_survives_its_worker_and_the_scheduled_recovery_continues_it(owner, target, db, extra_worker):
    settings = {"RUN_LEASE_MS": "1000"}
    w1, proc1 = extra_worker("worker-delay-doomed", settings)
    wf = owner.api.save(delayed(target, "/d-restart", 1500))
    ex = owner.api.at(w1).execute(wf["id"]).json()["execution"]
    assert ex["status"] == "waiting", ex
    # Its delayed message dies with the worker (the local queue is the worker's own).
    stack.kill_extra_worker(proc1)
    w2, _ = extra_worker("worker-delay-successor", settings)
    time.sleep(1.0)
    early = owner.api.at(w2).get(f"/api/executions/{ex['id']}").json()["execution"]
    assert early["status"] == "waiting", "nothing runs while the run waits"
    final = poll(owner.api.at(w2), ex["id"], finished, deadline_s=40, tick=lambda: tick(w2))[-1]
    assert final["status"] == "succeeded", final
    assert final["attempt"] >= 2, "another invocation continued it"
    assert len(target.requests("/d-restart")) == 1
    assert sorted(journal(db, ex["id"])) == [("after", "succeeded"), ("trigger", "succeeded"), ("wait", "succeeded")]


def test_a_waiting_run_can_be_cancelled(owner, target):
    wf = owner.api.save(delayed(target, "/d-cancel", 1500))
    ex = owner.api.execute(wf["id"]).json()["execution"]
    assert ex["status"] == "waiting"
    cancelled = owner.api.post(f"/api/executions/{ex['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["execution"]["status"] == "cancelled"
    time.sleep(3.0)  # past the delay: its message arrives and finds the run cancelled
    after = owner.api.get(f"/api/executions/{ex['id']}").json()["execution"]
    assert after["status"] == "cancelled" and after["stop_reason"] == "cancelled by the user"
    assert target.requests("/d-cancel") == []


def test_a_loop_over_25_items_calls_25_times_at_most_3_at_once(owner, target):
    target.script("/each", Reply(json={"ok": True}, delay_s=0.3))
    doc = {"nodes": [trigger(), loop("each", "{{trigger.contacts}}", concurrency=3),
                     inside(webhook("call", target.url("/each"), {"email": "{{loop.item.email}}", "i": "{{loop.index}}"}),
                            "each")],
           "edges": [edge("trigger", "each")]}
    wf = owner.api.save(doc)
    contacts = [{"email": f"c{i}@example.com"} for i in range(25)]
    res = owner.api.post(f"/api/workflows/{wf['id']}/execute", json={"triggerData": {"contacts": contacts}},
                         headers=ASYNC)
    assert res.status_code == 202, res.text
    final = poll(owner.api, res.json()["execution"]["id"], finished, deadline_s=60)[-1]
    assert final["status"] == "succeeded", final
    seen = target.requests("/each")
    assert sorted(s.json()["i"] for s in seen) == list(range(25))
    assert sorted(s.json()["email"] for s in seen) == sorted(c["email"] for c in contacts)
    assert target.peak("/each") == 3
    out = by_node(final)["each"]["output"]
    assert (out["count"], out["failed"], len(out["items"])) == (25, 0, 25)
    items = [r for r in final["results"] if r["nodeId"] == "call"]
    assert [r["itemIndex"] for r in items] == list(range(25))
    assert len({s.headers["webhook-id"] for s in seen}) == 25, "each item is its own step"


def test_a_loop_resumed_after_a_crash_repeats_no_finished_item(owner, target, db, extra_worker):
    settings = {"RUN_LEASE_MS": "2000"}
    w1, proc1 = extra_worker("worker-loop-doomed", settings)
    release = threading.Event()
    paths = [f"/item{i}" for i in range(5)]
    for p in paths:
        target.script(p, Reply(json={"at": p}))
    target.script("/item2", Reply(json={"at": "/item2"}, hold=release, hold_s=30), Reply(json={"at": "/item2"}))
    doc = {"nodes": [trigger(), loop("each", "{{trigger.paths}}"),
                     inside(webhook("call", target.url("") + "{{loop.item}}", {"i": "{{loop.index}}"}), "each")],
           "edges": [edge("trigger", "each")]}
    wf = owner.api.save(doc)
    res = owner.api.at(w1).post(f"/api/workflows/{wf['id']}/execute", json={"triggerData": {"paths": paths}},
                                headers=ASYNC)
    execution_id = res.json()["execution"]["id"]
    try:
        target.wait_for(1, "/item2", timeout_s=30)
        end = time.monotonic() + 15
        while done_items(db, execution_id) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert done_items(db, execution_id) == 2
        stack.kill_extra_worker(proc1)  # items 0 and 1 journaled, item 2 in flight
    finally:
        release.set()
    w2, _ = extra_worker("worker-loop-successor", settings)
    final = poll(owner.api.at(w2), execution_id, finished, deadline_s=60, tick=lambda: tick(w2))[-1]
    assert final["status"] == "succeeded", final
    assert final["attempt"] >= 2
    for p in ("/item0", "/item1", "/item3", "/item4"):
        assert len(target.requests(p)) == 1, f"{p} called {len(target.requests(p))} times"
    again = target.requests("/item2")
    assert 1 <= len(again) <= 2 and len({s.headers["webhook-id"] for s in again}) == 1
    rows = db.execute("select item_index, status from public.workflow_step_runs where execution_id = %s"
                      " and node_id = 'call' order by item_index", [execution_id]).fetchall()
    assert rows == [(i, "succeeded") for i in range(5)], "one journal row per item"
    assert by_node(final)["each"]["output"]["count"] == 5


def done_items(db, execution_id: str) -> int:
    return db.execute("select count(*) from public.workflow_step_runs where execution_id = %s and node_id = 'call'"
                      " and status = 'succeeded'", [execution_id]).fetchone()[0]


def expected_variant(execution_id: str, weights: list[tuple[str, int]]) -> str:
    """The variant the contract's rule picks: SHA-256 of `<execution>:<node>` as a big-endian number, modulo
    the total weight, falling in each variant's share in order."""
    point = int.from_bytes(hashlib.sha256(f"{execution_id}:ab".encode()).digest()[:8], "big")
    point %= sum(w for _, w in weights)
    for handle, weight in weights:
        if point < weight:
            return handle
        point -= weight
    raise AssertionError("unreachable")


def test_a_split_sends_about_each_share_and_the_run_id_decides(owner, target):
    weights = [("a", 25), ("b", 75)]
    doc = {"nodes": [trigger(),
                     {"id": "ab", "type": "split", "position": {"x": 0, "y": 100},
                      "data": {"split": {"variants": [{"handle": h, "weight": w} for h, w in weights]}}},
                     webhook("mail-a", target.url("/variant-a"), {"run": "{{execution.id}}"}),
                     webhook("mail-b", target.url("/variant-b"), {"run": "{{execution.id}}"})],
           "edges": [edge("trigger", "ab"), edge("ab", "mail-a", "a"), edge("ab", "mail-b", "b")]}
    wf = owner.api.save(doc)
    picked = {"a": 0, "b": 0}
    for _ in range(200):
        ex = owner.api.execute(wf["id"]).json()["execution"]
        assert ex["status"] == "succeeded", ex
        variant = by_node(ex)["ab"]["output"]["variant"]
        assert variant == expected_variant(ex["id"], weights)
        other = "b" if variant == "a" else "a"
        assert by_node(ex)[f"mail-{other}"]["status"] == "skipped"
        picked[variant] += 1
    assert 30 <= picked["a"] <= 72, picked
    runs_a = {s.json()["run"] for s in target.requests("/variant-a")}
    runs_b = {s.json()["run"] for s in target.requests("/variant-b")}
    assert (len(runs_a), len(runs_b)) == (picked["a"], picked["b"]) and not runs_a & runs_b
