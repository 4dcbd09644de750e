"""Actions mapped to configured endpoints (email API, scoring service, CRM) through a worker whose endpoints point at a local recorder."""

from __future__ import annotations

import json

import pytest

from support.documents import action, by_node, chain, trigger
from support.targets import Reply

SCORE_PATH = "/api/datapizza/score-lead"
EMAIL_PATH = "/email/send"


def test_ai_score_uses_the_scoring_service_with_the_owner_token(owner, services):
    services.target.script(SCORE_PATH, Reply(json={"data": {"score": 91, "factors": ["service"]}}))
    before = len(services.target.requests(SCORE_PATH))
    doc = chain(trigger(), action("s", "ai_score", {"email": "{{trigger.email}}", "company": "{{trigger.company}}"}))
    ex = owner.api.at(services.url).run(doc, {"email": "lead@acme.example", "company": "Acme"})
    out = by_node(ex)["s"]["output"]
    assert ex["status"] == "succeeded", ex["results"]
    assert out["score"] == 91 and out["grade"] == "A" and out["factors"] == ["service"]
    seen = services.target.wait_for(before + 1, SCORE_PATH)[-1]
    assert seen.method == "POST" and seen.headers["authorization"] == f"Bearer {owner.token}"
    assert seen.headers.get("idempotency-key") == f"{ex['id']}:s", "the step key, the same on every attempt"
    assert seen.json() == {"email": "lead@acme.example", "company": "Acme"}


def test_email_goes_to_the_provider_and_is_recorded_as_sent(owner, services, db):
    services.target.script(EMAIL_PATH, Reply(json={"id": "prov-4711"}))
    before = len(services.target.requests(EMAIL_PATH))
    doc = chain(trigger(), action("mail", "send_email", {"to": "{{trigger.email}}", "subject": "Hi {{trigger.name}}",
                                                         "body": "<p>Hello {{trigger.name}}</p>"}))
    ex = owner.api.at(services.url).run(doc, {"email": "buyer@acme.example", "name": "<b>Bo</b>"})
    assert ex["status"] == "succeeded", ex["results"]
    out = by_node(ex)["mail"]["output"]
    assert out["status"] == "sent" and out["provider_id"] == "prov-4711"

    seen = services.target.wait_for(before + 1, EMAIL_PATH)[-1]
    assert seen.headers["authorization"] == f"Bearer {services.email_key}"
    assert seen.headers["content-type"].startswith("application/json")
    assert seen.headers.get("idempotency-key") == f"{ex['id']}:mail", "the provider's key is the step key"
    assert seen.json() == {"from": "crm@edgeflow.test", "to": ["buyer@acme.example"],
                           "subject": "Hi <b>Bo</b>", "html": "<p>Hello &lt;b&gt;Bo&lt;/b&gt;</p>"}

    row = db.execute("select user_id::text, status, provider_id, recipient, step_key from public.email_outbox"
                     " where id = %s", [out["id"]]).fetchone()
    assert row == (owner.id, "sent", "prov-4711", "buyer@acme.example", f"{ex['id']}:mail")


@pytest.mark.parametrize("to", ["buyer@acme.example, victim@evil.example", "buyer@acme.example\r\nBcc: x@evil.example"])
def test_email_recipient_injection_never_reaches_the_provider(owner, services, db, to):
    before = len(services.target.requests(EMAIL_PATH))
    doc = chain(trigger(), action("mail", "send_email", {"to": "{{trigger.to}}", "subject": "s", "body": "b"}))
    ex = owner.api.at(services.url).run(doc, {"to": to})
    mail = by_node(ex)["mail"]
    assert mail["status"] == "failed" and "to" in mail["error"]
    assert len(services.target.requests(EMAIL_PATH)) == before
    assert db.execute("select count(*) from public.email_outbox where execution_id = %s",
                      [ex["id"]]).fetchone()[0] == 0


def test_crm_actions_post_to_the_crm_endpoint_instead_of_the_database(owner, services, db):
    services.target.script("/crm/send_notification", Reply(json={"crm_id": "n-1", "accepted": True}))
    notes_before = db.execute("select count(*) from public.notifications where user_id = %s", [owner.id]).fetchone()
    doc = chain(trigger(), action("note", "send_notification", {"title": "Ping {{trigger.who}}"}))
    ex = owner.api.at(services.url).run(doc, {"who": "sales"})
    assert by_node(ex)["note"]["output"] == {"crm_id": "n-1", "accepted": True}
    [seen] = services.target.requests("/crm/send_notification")
    assert seen.headers["authorization"] == f"Bearer {owner.token}"
    assert seen.headers.get("idempotency-key") == f"{ex['id']}:note"
    assert seen.json() == {"title": "Ping sales"}
    assert db.execute("select count(*) from public.notifications where user_id = %s",
                      [owner.id]).fetchone() == notes_before


def test_keys_echoed_by_a_service_are_redacted_before_storage(owner, services, db, execution_row):
    services.target.script(SCORE_PATH, Reply(json={"score": 40, "debug": f"key={services.email_key}",
                                                   "echo": f"Bearer {owner.token}"}))
    ex = owner.api.at(services.url).run(chain(trigger(), action("s", "ai_score", {"email": "a@acme.example"})))
    stored = json.dumps(execution_row(ex["id"])["results"])
    assert services.email_key not in stored and owner.token not in stored
    assert "[redacted]" in stored
    everything = db.execute("select coalesce(string_agg(results::text, ''), '') from public.workflow_executions"
                            " where user_id = %s", [owner.id]).fetchone()[0]
    assert services.email_key not in everything and owner.token not in everything


def test_the_public_catalog_says_what_is_mapped_without_showing_a_url(anon, services):
    res = anon.at(services.url).get("/api/actions")
    assert res.status_code == 200, res.text
    actions = {a["id"]: a for a in res.json()["actions"]}
    assert actions["ai_score"]["mapped"] is True and actions["ai_score"]["endpoint"] == "configured:AI_SCORE_URL"
    assert actions["send_email"]["endpoint"] == "configured:EMAIL_API_URL"
    assert actions["webhook_call"]["mapped"] is False
    assert services.target.url("/") not in res.text and "127.0.0.1" not in res.text, res.text
