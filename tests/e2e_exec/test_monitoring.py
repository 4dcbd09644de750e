"""Monitoring through the real worker: stats computed in the database match the runs, another user's workflow is
404, and retention prunes only finished runs past the window."""

from __future__ import annotations

import requests

from support.api import RUN_TIMEOUT_S
from support.documents import action, chain, condition, edge, trigger


def test_stats_match_the_runs_and_are_the_owners_only(new_person, db):
    owner, stranger = new_person(timeout_s=RUN_TIMEOUT_S), new_person()
    doc = {"nodes": [trigger(), condition("ok", "{{trigger.ok}}", "eq", True),
                     action("yes", "send_notification", {"title": "fine"}),
                     action("no", "send_notification", {"title": "{{trigger.missing}}"})],
           "edges": [edge("trigger", "ok"), edge("ok", "yes", "true"), edge("ok", "no", "false")]}
    wf = owner.api.save(doc)
    for ok in (True, True, False):
        assert owner.api.execute(wf["id"], {"ok": ok}).status_code == 200
    res = owner.api.get(f"/api/workflows/{wf['id']}/stats", params={"days": 7})
    assert res.status_code == 200, res.text
    stats = res.json()["stats"]
    expected = db.execute("select count(*), count(*) filter (where status = 'succeeded'),"
                          " count(*) filter (where status = 'failed'), max(execution_time_ms)"
                          " from public.workflow_executions where workflow_id = %s", [wf["id"]]).fetchone()
    assert (stats["runs"], stats["succeeded"], stats["failed"], stats["duration_ms"]["max"]) == expected
    assert (stats["runs"], stats["succeeded"], stats["failed"]) == (3, 2, 1)
    by_node = {n["nodeId"]: n for n in stats["by_node"]}
    assert by_node["no"]["failed"] == 1 and by_node["no"]["skipped"] == 2 and by_node["yes"]["skipped"] == 1
    assert sum(d["runs"] for d in stats["by_day"]) == 3
    assert stranger.api.get(f"/api/workflows/{wf['id']}/stats").status_code == 404
    listed = owner.api.get("/api/stats").json()["workflows"]
    assert [w["workflowId"] for w in listed] == [wf["id"]] and listed[0]["runs"] == 3
    assert stranger.api.get("/api/stats").json()["workflows"] == []
    assert owner.api.get("/api/stats", params={"days": 0}).status_code == 400


def test_retention_prunes_only_finished_runs_past_the_window(new_person, worker_url, db):
    owner = new_person(timeout_s=RUN_TIMEOUT_S)
    wf = owner.api.save(chain(trigger(), action("n", "send_notification", {"title": "x"})))
    recent = owner.api.execute(wf["id"]).json()["execution"]["id"]
    old = owner.api.execute(wf["id"]).json()["execution"]["id"]
    db.execute("update public.workflow_executions set executed_at = now() - interval '40 days',"
               " finished_at = now() - interval '40 days' where id = %s", [old])
    stale_running = db.execute(
        "insert into public.workflow_executions (workflow_id, user_id, status, executed_at, lease_until)"
        " values (%s, %s, 'running', now() - interval '40 days', now() + interval '1 hour') returning id::text",
        [wf["id"], owner.id]).fetchone()[0]
    assert db.execute("select count(*) from public.workflow_step_runs where execution_id = %s", [old]).fetchone()[0] > 0
    tick = requests.get(f"{worker_url}/__scheduled", params={"cron": "* * * * *"}, timeout=60)
    assert tick.status_code == 200
    left = {r[0] for r in db.execute("select id::text from public.workflow_executions where workflow_id = %s",
                                     [wf["id"]]).fetchall()}
    assert left == {recent, stale_running}, "only the old finished run went"
    assert db.execute("select count(*) from public.workflow_step_runs where execution_id = %s", [old]).fetchone()[0] == 0
    db.execute("delete from public.workflow_executions where id = %s", [stale_running])
