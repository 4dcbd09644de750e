"""Durable runs through the real worker: async execution on the RUNS queue, the step journal, a run surviving
its worker being killed, a long run continuing across invocations, cancel, and runs pinned to the document
they started with."""

from __future__ import annotations

import threading
import time

import requests

import stack
from support.documents import action, by_node, chain, trigger, webhook
from support.runs import finished, journal, poll
from support.targets import Reply

ASYNC = {"Prefer": "respond-async"}


def test_respond_async_answers_202_at_once_and_the_queue_runs_it(owner, target, db):
    for path in ("/a1", "/a2", "/a3"):
        target.script(path, Reply(json={"at": path}, delay_s=0.4))
    doc = chain(trigger(), webhook("s1", target.url("/a1"), {"n": 1}), webhook("s2", target.url("/a2"), {"n": 2}),
                webhook("s3", target.url("/a3"), {"n": 3}))
    wf = owner.api.save(doc)
    started = time.monotonic()
    res = owner.api.post(f"/api/workflows/{wf['id']}/execute", json={"triggerData": {"k": 1}}, headers=ASYNC)
    assert res.status_code == 202, res.text
    assert time.monotonic() - started < 1.0, "the answer did not wait for the run"
    assert res.headers["Preference-Applied"] == "respond-async"
    ex = res.json()["execution"]
    assert res.headers["Location"] == f"/api/executions/{ex['id']}"
    assert ex["status"] == "queued" and ex["results"] == []
    states = poll(owner.api, ex["id"], finished)
    final = states[-1]
    assert final["status"] == "succeeded", final
    assert [r["nodeId"] for r in final["results"]] == ["trigger", "s1", "s2", "s3"]
    partial = [len(s["results"]) for s in states if s["status"] == "running"]
    assert any(0 < n < 4 for n in partial), f"polling never showed progress: {partial}"
    for path in ("/a1", "/a2", "/a3"):
        assert len(target.requests(path)) == 1
    assert sorted(journal(db, ex["id"])) == [("s1", "succeeded"), ("s2", "succeeded"), ("s3", "succeeded"),
                                              ("trigger", "succeeded")]
    assert final["workflow_version"] == wf["version"] and final["attempt"] == 1


def test_a_run_survives_its_worker_being_killed(owner, target, db, extra_worker):
    settings = {"RUN_LEASE_MS": "2000"}
    w1, proc1 = extra_worker("worker-doomed", settings)
    release = threading.Event()
    target.script("/k1", Reply(json={"step": 1}))
    target.script("/k2", Reply(json={"step": 2}, hold=release, hold_s=30), Reply(json={"step": 2}))
    target.script("/k3", Reply(json={"step": 3}))
    doc = chain(trigger(), webhook("k1", target.url("/k1"), {"n": 1}), webhook("k2", target.url("/k2"), {"n": 2}),
                webhook("k3", target.url("/k3"), {"n": 3}))
    wf = owner.api.save(doc)
    res = owner.api.at(w1).post(f"/api/workflows/{wf['id']}/execute", json={}, headers=ASYNC)
    assert res.status_code == 202, res.text
    execution_id = res.json()["execution"]["id"]
    try:
        target.wait_for(1, "/k2", timeout_s=30)
        # k2 started overlapping the write of k1's result (and of k2's start): wait for that write, then crash.
        end = time.monotonic() + 15
        while ("k1", "succeeded") not in journal(db, execution_id) and time.monotonic() < end:
            time.sleep(0.05)
        stack.kill_extra_worker(proc1)  # k1 is journaled, k2 in flight, k3 not started
    finally:
        release.set()
    at_crash = sorted(journal(db, execution_id))
    # k2's start goes with k1's result, or (when k1 answered before the write of the trigger was acknowledged)
    # in a write of its own that the crash may have beaten.
    assert at_crash in ([("k1", "succeeded"), ("k2", "running"), ("trigger", "succeeded")],
                        [("k1", "succeeded"), ("trigger", "succeeded")]), at_crash
    w2, _ = extra_worker("worker-successor", settings)
    final = poll(owner.api.at(w2), execution_id, finished,
                 tick=lambda: requests.get(f"{w2}/__scheduled", params={"cron": "* * * * *"}, timeout=10))[-1]
    assert final["status"] == "succeeded", final
    assert final["attempt"] >= 2, "a second invocation finished it"
    assert len(target.requests("/k1")) == 1, "a journaled step is never run again"
    k2 = target.requests("/k2")
    assert len({s.headers["webhook-id"] for s in k2}) == 1, "a re-sent step keeps its webhook-id for receivers"
    assert len(target.requests("/k3")) == 1
    assert sorted(journal(db, execution_id)) == [("k1", "succeeded"), ("k2", "succeeded"), ("k3", "succeeded"),
                                                 ("trigger", "succeeded")], "each step journaled once"
    assert by_node(final)["k3"]["output"]["body"] == {"step": 3}


def test_a_long_chain_continues_across_invocations_with_the_same_results(owner, extra_worker):
    nodes = [trigger()] + [action(f"s{i}", "ai_score", {"email": "{{trigger.email}}", "title": f"VP {i}"})
                           for i in range(1, 100)]
    doc = chain(*nodes)
    wf = owner.api.save(doc)
    small, _ = extra_worker("worker-small-budget", {"RUN_SUBREQUEST_BUDGET": "20"})
    large, _ = extra_worker("worker-large-budget", {"RUN_SUBREQUEST_BUDGET": "1000"})
    lead = {"email": "ada@analytical-engines.example"}
    one_go = owner.api.at(large).execute(wf["id"], lead)
    assert one_go.status_code == 200, one_go.text
    one_go = one_go.json()["execution"]
    assert one_go["status"] == "succeeded" and one_go["attempt"] == 1
    hops = owner.api.at(small).execute(wf["id"], lead)
    assert hops.status_code == 200, hops.text
    assert hops.json()["execution"]["status"] == "queued", "the first invocation yielded"
    final = poll(owner.api.at(small), hops.json()["execution"]["id"], finished, deadline_s=120)[-1]
    assert final["status"] == "succeeded", final
    assert final["attempt"] >= 5, f"expected several invocations, got {final['attempt']}"
    strip = lambda ex: [(r["nodeId"], r["status"], r.get("output"), r["attempts"]) for r in ex["results"]]  # noqa: E731
    assert strip(final) == strip(one_go)


def test_cancel_stops_a_running_run_and_a_finished_run_is_a_conflict(owner, target, stranger):
    """Cancel while c1 is in flight: c1 finishes; c2, made ready by c1's answer before the invocation's next
    journal write tells it of the cancel, may still start (documented); c3 never does."""
    release = threading.Event()
    target.script("/c1", Reply(json={"ok": 1}, hold=release, hold_s=20))
    doc = chain(trigger(), webhook("c1", target.url("/c1"), {}, timeoutMs=25000), webhook("c2", target.url("/c2"), {}),
                webhook("c3", target.url("/c3"), {}))
    wf = owner.api.save(doc)
    res = owner.api.post(f"/api/workflows/{wf['id']}/execute", json={}, headers=ASYNC)
    assert res.status_code == 202, res.text
    execution_id = res.json()["execution"]["id"]
    try:
        target.wait_for(1, "/c1", timeout_s=30)
        assert stranger.api.post(f"/api/executions/{execution_id}/cancel").status_code == 404
        cancelled = owner.api.post(f"/api/executions/{execution_id}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["execution"]["status"] == "cancelled"
    finally:
        release.set()
    final = poll(owner.api, execution_id, lambda ex: any(r["nodeId"] == "c3" for r in ex["results"]))[-1]
    assert final["status"] == "cancelled" and final["stop_reason"] == "cancelled by the user"
    assert by_node(final)["c1"]["status"] == "succeeded", "the step in flight finished"
    assert by_node(final)["c3"]["status"] == "skipped"
    assert target.requests("/c3") == [], "nothing started once the invocation knew of the cancel"
    again = owner.api.post(f"/api/executions/{execution_id}/cancel")
    assert again.status_code == 409 and again.json()["code"] == "conflict"


def test_a_run_executes_the_document_it_started_with(owner, target):
    release = threading.Event()
    target.script("/p1", Reply(json={}, hold=release, hold_s=20))
    doc = chain(trigger(), webhook("p1", target.url("/p1"), {}, timeoutMs=25000), webhook("p2", target.url("/v1"), {}))
    wf = owner.api.save(doc)
    res = owner.api.post(f"/api/workflows/{wf['id']}/execute", json={}, headers=ASYNC)
    execution_id = res.json()["execution"]["id"]
    try:
        target.wait_for(1, "/p1", timeout_s=30)
        edited = chain(trigger(), webhook("p1", target.url("/p1"), {}), webhook("p2", target.url("/v2"), {}))
        put = owner.api.put(f"/api/workflows/{wf['id']}", json={"nodes": edited["nodes"], "edges": edited["edges"]})
        assert put.status_code == 200, put.text
        assert put.json()["workflow"]["version"] == wf["version"] + 1
    finally:
        release.set()
    final = poll(owner.api, execution_id, finished)[-1]
    assert final["status"] == "succeeded", final
    assert final["workflow_version"] == wf["version"]
    assert len(target.requests("/v1")) == 1 and target.requests("/v2") == []
    nxt = owner.api.execute(wf["id"]).json()["execution"]
    assert nxt["workflow_version"] == wf["version"] + 1 and len(target.requests("/v2")) == 1
