"""Workflow execution through the real worker: templating, the Execution shape, the run log, branches, failures, retries, timeouts."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import pytest

from support.contract import EXECUTION_KEYS, RESULT_KEYS, UUID_RE
from support.documents import action, by_node, chain, condition, edge, trigger, webhook
from support.targets import Reply

LEAD = {"email": "ada@analytical-engines.example", "name": "Ada", "company": "Analytical Engines",
        "title": "CEO", "tags": ["vip", "form"], "employees": 1200}


def assert_execution_shape(ex: dict) -> None:
    assert EXECUTION_KEYS <= set(ex), f"missing {EXECUTION_KEYS - set(ex)}"
    assert UUID_RE.match(ex["id"]), ex["id"]
    assert ex["status"] in ("succeeded", "failed"), ex["status"]
    assert ex["success"] is (ex["status"] == "succeeded")
    assert isinstance(ex["error_count"], int) and isinstance(ex["execution_time_ms"], int)
    assert ex["execution_time_ms"] >= 0
    started, finished = (datetime.fromisoformat(ex[k].replace("Z", "+00:00")) for k in ("executed_at", "finished_at"))
    assert finished >= started
    assert isinstance(ex["results"], list) and ex["results"]
    for r in ex["results"]:
        assert RESULT_KEYS <= set(r), f"{r.get('nodeId')}: missing {RESULT_KEYS - set(r)}"
        assert r["status"] in ("succeeded", "failed", "skipped"), r
        assert r["success"] is (r["status"] == "succeeded"), r
        assert isinstance(r["attempts"], int) and isinstance(r["durationMs"], int), r
        if r["type"] == "action":
            assert isinstance(r.get("actionId"), str), r
        if r["status"] == "failed":
            assert isinstance(r.get("error"), str) and r["error"], r
    assert ex["error_count"] == sum(r["status"] == "failed" for r in ex["results"])


def test_templated_webhook_body_reaches_the_target(owner, target):
    body = {"email": "{{trigger.email}}", "score": "{{nodes.score.output.score}}",
            "grade": "{{nodes.score.output.grade}}", "tags": "{{trigger.tags}}",
            "line": "{{trigger.name}} scored {{nodes.score.output.score}}",
            "execution": "{{execution.id}}", "workflow": "{{workflow.id}}", "literal": 7}
    doc = chain(trigger(trigger_type="form_submit"),
                action("score", "ai_score", {"email": "{{trigger.email}}", "title": "{{trigger.title}}",
                                             "company": "{{trigger.company}}"}),
                webhook("hook", target.url("/lead"), body))
    wf = owner.api.save(doc)
    res = owner.api.execute(wf["id"], LEAD)
    assert res.status_code == 200, res.text
    assert set(res.json()) == {"execution"}
    ex = res.json()["execution"]
    assert_execution_shape(ex)
    assert ex["status"] == "succeeded" and ex["error_count"] == 0
    assert ex["workflow_id"] == wf["id"] and ex["trigger_type"] == "form_submit" and ex["trigger_data"] == LEAD
    results = by_node(ex)
    assert [r["nodeId"] for r in ex["results"]] == ["trigger", "score", "hook"]
    score = results["score"]["output"]["score"]
    assert isinstance(score, int) and 0 <= score <= 100

    [seen] = target.wait_for(1, "/lead")
    assert seen.method == "POST"
    assert seen.headers["content-type"].startswith("application/json")
    got = seen.json()
    # Whole-value templates keep their JSON type; embedded ones render as text.
    assert got == {"email": LEAD["email"], "score": score, "grade": results["score"]["output"]["grade"],
                   "tags": ["vip", "form"], "line": f"Ada scored {score}", "execution": ex["id"],
                   "workflow": wf["id"], "literal": 7}
    assert results["hook"]["output"] == {"status": 200, "body": {"ok": True}}
    assert results["hook"]["actionId"] == "webhook_call" and results["hook"]["attempts"] == 1


def test_execution_is_readable_by_id_and_listed_newest_first(owner, target):
    wf = owner.api.save(chain(trigger(), webhook("hook", target.url("/n"), {"n": "{{trigger.n}}"})))
    runs = []
    for n in range(3):
        res = owner.api.execute(wf["id"], {"n": n})
        assert res.status_code == 200, res.text
        runs.append(res.json()["execution"])
    assert [s.json()["n"] for s in target.wait_for(3, "/n")] == [0, 1, 2]

    res = owner.api.call("GET", f"/api/executions/{runs[0]['id']}")
    assert res.status_code == 200, res.text
    stored = res.json()["execution"]
    assert_execution_shape(stored)
    assert stored == runs[0]

    listed = owner.api.call("GET", f"/api/workflows/{wf['id']}/executions")
    assert listed.status_code == 200, listed.text
    assert [e["id"] for e in listed.json()["executions"]] == [r["id"] for r in reversed(runs)]
    page = owner.api.call("GET", f"/api/workflows/{wf['id']}/executions", params={"limit": 1, "offset": 1})
    assert [e["id"] for e in page.json()["executions"]] == [runs[1]["id"]]
    assert [e["trigger_data"] for e in listed.json()["executions"]] == [{"n": 2}, {"n": 1}, {"n": 0}]


def _poll_row(db, workflow_id: str, deadline_s: float = 10):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        row = db.execute("select id::text, status, finished_at, success, results from public.workflow_executions"
                         " where workflow_id = %s", [workflow_id]).fetchone()
        if row is not None:
            return row
        time.sleep(0.05)
    raise AssertionError(f"no run log row for workflow {workflow_id} within {deadline_s}s")


def test_run_log_row_is_running_while_in_flight_and_completed_after(owner, target, db, execution_row):
    release = threading.Event()
    target.script("/hold", Reply(hold=release, hold_s=20, json={"held": True}))
    wf = owner.api.save(chain(trigger(), webhook("hook", target.url("/hold"), {"x": 1}, timeoutMs=25000)))
    answer = {}
    runner = threading.Thread(target=lambda: answer.update(res=owner.api.execute(wf["id"], {"k": "v"})))
    runner.start()
    try:
        target.wait_for(1, "/hold", timeout_s=20)
        exec_id, status, finished_at, success, results = _poll_row(db, wf["id"])
        assert status == "running"
        assert finished_at is None and success is False and results == []
        assert "res" not in answer, "the worker answered before the target did"
    finally:
        release.set()
        runner.join(60)
    assert not runner.is_alive()
    res = answer["res"]
    assert res.status_code == 200, res.text
    ex = res.json()["execution"]
    assert ex["id"] == exec_id
    row = execution_row(exec_id)
    assert row["status"] == "succeeded" and row["success"] is True and row["finished_at"] is not None
    assert row["user_id"] == owner.id and row["error_count"] == 0
    assert row["results"] == ex["results"]
    assert by_node(ex)["hook"]["output"]["body"] == {"held": True}


@pytest.mark.parametrize("value,taken,not_taken", [(80, "hot", "cold"), (20, "cold", "hot")])
def test_condition_runs_only_the_branch_taken(owner, target, value, taken, not_taken):
    doc = {"nodes": [trigger(), condition("check", "{{trigger.score}}", "gte", 50),
                     webhook("hot", target.url("/hot"), {"s": "{{trigger.score}}"}),
                     webhook("cold", target.url("/cold"), {"s": "{{trigger.score}}"})],
           "edges": [edge("trigger", "check"), edge("check", "hot", "true"), edge("check", "cold", "false")]}
    ex = owner.api.run(doc, {"score": value})
    results = by_node(ex)
    assert ex["status"] == "succeeded" and ex["error_count"] == 0
    assert results["check"]["output"] == {"result": value >= 50}
    assert results[taken]["status"] == "succeeded"
    assert results[not_taken]["status"] == "skipped" and results[not_taken]["success"] is False
    assert [s.json() for s in target.requests(f"/{taken}")] == [{"s": value}]
    assert target.requests(f"/{not_taken}") == []


@pytest.mark.parametrize("on_error", ["continue", "stop"])
def test_failing_node_continue_and_stop(owner, target, on_error):
    """`bad` fails at once; `slow` (another branch) is still in flight, its follower `tail` not yet started.

    continue: the other branch finishes, `bad`'s dependent is skipped. stop: nothing new starts after the
    failure, so `tail` is skipped and never called, while the call already in flight completes.
    """
    target.script("/bad", Reply(400, json={"message": "rejected by test"}))
    target.script("/slow", Reply(delay_s=2.0))  # long enough for `bad` to fail first
    doc = {"nodes": [trigger(),
                     webhook("bad", target.url("/bad"), {}, onError=on_error, retry={"maxAttempts": 3, "backoffMs": 0}),
                     webhook("after", target.url("/after"), {}),
                     webhook("slow", target.url("/slow"), {}),
                     webhook("tail", target.url("/tail"), {})],
           "edges": [edge("trigger", "bad"), edge("bad", "after"), edge("trigger", "slow"), edge("slow", "tail")]}
    ex = owner.api.run(doc)
    r = by_node(ex)
    assert ex["status"] == "failed" and ex["success"] is False and ex["error_count"] == 1
    assert r["bad"]["status"] == "failed"
    assert "400" in r["bad"]["error"] and "rejected by test" in r["bad"]["error"]
    assert r["bad"]["attempts"] == 1, "a 4xx answer is not retried"
    assert len(target.requests("/bad")) == 1
    assert r["after"]["status"] == "skipped" and target.requests("/after") == []
    assert r["slow"]["status"] == "succeeded"
    if on_error == "continue":
        assert r["tail"]["status"] == "succeeded" and len(target.requests("/tail")) == 1
    else:
        assert r["tail"]["status"] == "skipped" and target.requests("/tail") == []


def test_retry_until_success(owner, target):
    target.script("/flaky", Reply(500, text="boom"), Reply(500, text="boom"), Reply(200, json={"third": "time"}))
    ex = owner.api.run(chain(trigger(), webhook("hook", target.url("/flaky"), {"a": 1},
                                                retry={"maxAttempts": 3, "backoffMs": 50})))
    hook = by_node(ex)["hook"]
    assert ex["status"] == "succeeded"
    assert hook["attempts"] == 3 and hook["status"] == "succeeded"
    assert hook["output"] == {"status": 200, "body": {"third": "time"}}
    seen = target.requests("/flaky")
    assert len(seen) == 3
    # Retries are the same message to the receiver, so it can de-duplicate.
    assert len({s.headers["webhook-id"] for s in seen}) == 1


def test_retry_exhausted_fails_with_the_last_error(owner, target):
    target.script("/down", Reply(503, text="still down"))
    ex = owner.api.run(chain(trigger(), webhook("hook", target.url("/down"), {},
                                                retry={"maxAttempts": 2, "backoffMs": 50})))
    hook = by_node(ex)["hook"]
    assert ex["status"] == "failed" and ex["error_count"] == 1
    assert hook["attempts"] == 2 and "503" in hook["error"]
    assert len(target.requests("/down")) == 2


def test_timeout_fails_the_node(owner, target):
    target.script("/slow", Reply(delay_s=5.0))
    started = time.monotonic()
    ex = owner.api.run(chain(trigger(), webhook("hook", target.url("/slow"), {}, timeoutMs=500),
                             webhook("next", target.url("/next"), {})))
    elapsed = time.monotonic() - started
    hook = by_node(ex)["hook"]
    assert hook["status"] == "failed" and "timed out" in hook["error"].lower(), hook
    assert hook["attempts"] == 1 and hook["durationMs"] < 4000
    assert by_node(ex)["next"]["status"] == "skipped" and target.requests("/next") == []
    assert elapsed < 4.5, f"the run waited for the slow target ({elapsed:.1f}s)"
