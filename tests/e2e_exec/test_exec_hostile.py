"""Hostile input through the real worker: deep nesting, rendering blow-ups, secrets in trigger data, look-alike
node ids. Each case once broke or leaked something; each must now fail cleanly (or be stored safely)."""

from __future__ import annotations

from support.contract import assert_error, detail_field
from support.documents import action, by_node, chain, condition, edge, trigger, webhook

MAX_DEPTH = 32


def nest(depth: int):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


def test_trigger_data_nested_too_deeply_is_refused_naming_the_field(owner):
    wf = owner.api.save(chain(trigger(), action("n", "send_notification", {"title": "t"})))
    res = owner.api.execute(wf["id"], {"deep": nest(MAX_DEPTH)})
    assert_error(res, 400, "invalid_request")
    assert detail_field(res.json()) == "triggerData"
    assert owner.api.get(f"/api/workflows/{wf['id']}/executions").json()["executions"] == []


def test_the_deepest_accepted_trigger_data_leaves_the_run_log_readable(owner):
    # Stored as trigger_data and as the trigger's output inside results, this nests deeper than the input.
    wf = owner.api.save(chain(trigger(), action("n", "send_notification", {"title": "t"})))
    deepest = {"deep": nest(MAX_DEPTH - 1)}
    res = owner.api.execute(wf["id"], deepest)
    assert res.status_code == 200, res.text
    ex = res.json()["execution"]
    assert ex["status"] == "succeeded", ex["results"]
    got = owner.api.get(f"/api/executions/{ex['id']}")
    assert got.status_code == 200, got.text
    assert got.json()["execution"]["trigger_data"] == deepest
    listing = owner.api.get(f"/api/workflows/{wf['id']}/executions")
    assert listing.status_code == 200, listing.text
    assert [e["id"] for e in listing.json()["executions"]] == [ex["id"]]


def test_a_small_request_cannot_render_a_huge_string(owner):
    # About 60 KB of request that would render to tens of megabytes.
    doc = chain(trigger(), condition("c", "{{trigger.big}}" * 3000, "contains", "zzz"))
    ex = owner.api.run(doc, {"big": "x" * 20_000})
    c = by_node(ex)["c"]
    assert ex["status"] == "failed" and c["status"] == "failed"
    assert "renders to more than 262144 bytes" in c["error"], c["error"]


def test_an_input_that_renders_too_much_fails_the_node_naming_it(owner, target):
    doc = chain(trigger(), webhook("hook", target.url("/never"), {"text": "{{trigger.big}}" * 200}))
    before = len(target.requests("/never"))
    ex = owner.api.run(doc, {"big": "y" * 2000})
    hook = by_node(ex)["hook"]
    assert hook["status"] == "failed" and hook["error"].startswith('input "body"'), hook
    assert len(target.requests("/never")) == before, "nothing was sent"


def test_secrets_in_trigger_data_are_stored_redacted(owner, db):
    doc = chain(trigger(), action("n", "send_notification", {"title": "Hi {{trigger.name}}"}))
    sent = {"name": "Ann", "password": "correct-horse-battery", "note": f"token {owner.token}"}
    ex = owner.api.run(doc, sent)
    assert ex["status"] == "succeeded", ex["results"]
    assert by_node(ex)["n"]["output"]["title"] == "Hi Ann"
    with db.cursor() as cur:
        cur.execute("select trigger_data::text, results::text from workflow_executions where id = %s", (ex["id"],))
        trigger_data, results = cur.fetchone()
    for stored in (trigger_data, results):
        assert "correct-horse-battery" not in stored and owner.token not in stored, stored
        assert "[redacted]" in stored


def test_node_ids_that_differ_only_in_punctuation_get_different_webhook_ids(owner, target):
    doc = {"nodes": [trigger(), webhook("a b", target.url("/ids")), webhook("a_b", target.url("/ids"))],
           "edges": [edge("trigger", "a b"), edge("trigger", "a_b")]}
    before = len(target.requests("/ids"))
    ex = owner.api.run(doc, {})
    assert ex["status"] == "succeeded", ex["results"]
    seen = target.wait_for(before + 2, "/ids")[before:]
    ids = {s.headers["webhook-id"] for s in seen}
    assert len(ids) == 2, ids
