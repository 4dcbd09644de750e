"""The catalog's embedded default executors through the real worker: CRM writes, the email outbox, built-in scoring, signed webhooks, secret hygiene."""

from __future__ import annotations

import json

import pytest
import requests

from support.api import TIMEOUT_S
from support.documents import action, by_node, chain, trigger, webhook
from support.targets import Reply, verify_signature


def _rest_rows(stack_env, token: str, table: str, **params) -> list[dict]:
    """Rows of ``table`` as the holder of ``token`` sees them through the gateway (RLS applies)."""
    res = requests.get(f"{stack_env.rest_url}/{table}", params={"select": "*", **params}, timeout=TIMEOUT_S,
                       headers={"apikey": stack_env.anon_key, "Authorization": f"Bearer {token}"})
    assert res.status_code == 200, res.text
    return res.json()


def test_crm_actions_write_rows_for_the_owner_only(owner, stranger, stack_env, db):
    doc = chain(trigger(),
                action("note", "send_notification", {"title": "Lead {{trigger.name}}", "body": "from the form"}),
                action("contact", "update_contact", {"email": "{{trigger.email}}", "name": "{{trigger.name}}",
                                                     "company": "Initech", "fields": {"source": "form"}}),
                action("deal", "create_deal", {"title": "Deal for {{trigger.name}}", "value": "{{trigger.value}}",
                                               "stage": "qualified", "contact_id": "{{nodes.contact.output.id}}"}),
                action("rename", "update_contact", {"id": "{{nodes.contact.output.id}}", "name": "Grace H.",
                                                    "fields": {"tier": "gold"}}))
    ex = owner.api.run(doc, {"name": "Grace", "email": "grace@initech.example", "value": 1500})
    r = by_node(ex)
    assert ex["status"] == "succeeded", json.dumps(ex["results"], indent=1)

    note, contact, deal, renamed = (r[n]["output"] for n in ("note", "contact", "deal", "rename"))
    assert note["title"] == "Lead Grace" and note["user_id"] == owner.id
    assert contact["email"] == "grace@initech.example" and contact["user_id"] == owner.id
    assert deal["title"] == "Deal for Grace" and float(deal["value"]) == 1500 and deal["contact_id"] == contact["id"]
    assert renamed["id"] == contact["id"] and renamed["name"] == "Grace H."
    assert renamed["fields"] == {"source": "form", "tier": "gold"}, "fields are merged, not replaced"

    for table, row_id in (("notifications", note["id"]), ("contacts", contact["id"]), ("deals", deal["id"])):
        assert db.execute(f"select user_id::text from public.{table} where id = %s", [row_id]).fetchone() \
            == (owner.id,)
        assert [x["id"] for x in _rest_rows(stack_env, owner.token, table, id=f"eq.{row_id}")] == [row_id]
        assert _rest_rows(stack_env, stranger.token, table, id=f"eq.{row_id}") == []


def test_update_contact_upserts_by_email(owner):
    doc = chain(trigger(), action("c", "update_contact", {"email": "{{trigger.email}}", "company": "{{trigger.co}}"}))
    first = by_node(owner.api.run(doc, {"email": "upsert@acme.example", "co": "Acme"}))["c"]["output"]
    second = by_node(owner.api.run(doc, {"email": "upsert@acme.example", "co": "Acme Corp"}))["c"]["output"]
    assert first["id"] == second["id"], "the second run updates the contact the first created"
    assert second["company"] == "Acme Corp"


def test_update_contact_by_unknown_id_fails_the_node(owner, stranger):
    other = chain(trigger(), action("c", "update_contact", {"email": "mine@stranger.example"}))
    theirs = by_node(stranger.api.run(other))["c"]["output"]["id"]
    # A's token cannot reach B's contact: to A it does not exist.
    ex = owner.api.run(chain(trigger(), action("c", "update_contact", {"id": theirs, "name": "hijack"})))
    c = by_node(ex)["c"]
    assert c["status"] == "failed" and "not found" in c["error"]


def test_send_email_queues_in_the_outbox(owner, stranger, stack_env, db):
    doc = chain(trigger(), action("mail", "send_email", {"to": "{{trigger.email}}", "subject": "Welcome {{trigger.name}}",
                                                         "body": "<p>Hi {{trigger.name}}</p>"}))
    ex = owner.api.run(doc, {"email": "queued@acme.example", "name": "Lin"})
    out = by_node(ex)["mail"]["output"]
    assert ex["status"] == "succeeded"
    assert out["status"] == "queued" and out["recipient"] == "queued@acme.example"
    row = db.execute("select user_id::text, execution_id::text, recipient, subject, body, status"
                     " from public.email_outbox where id = %s", [out["id"]]).fetchone()
    assert row == (owner.id, ex["id"], "queued@acme.example", "Welcome Lin", "<p>Hi Lin</p>", "queued")
    assert _rest_rows(stack_env, stranger.token, "email_outbox", id=f"eq.{out['id']}") == []


def test_templated_html_is_escaped_in_the_queued_mail(owner, db):
    hostile = "<script>alert(1)</script>\r\nBcc: victim@evil.example"
    doc = chain(trigger(), action("mail", "send_email", {"to": "safe@acme.example", "subject": "Lead",
                                                         "body": "<p>Name: {{trigger.name}}</p>"}))
    ex = owner.api.run(doc, {"name": hostile})
    out = by_node(ex)["mail"]["output"]
    body = db.execute("select body from public.email_outbox where id = %s", [out["id"]]).fetchone()[0]
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert body.startswith("<p>Name: ") and body.endswith("</p>"), "the author's own markup stays"


@pytest.mark.parametrize("field,value", [
    ("to", "lead@acme.example\r\nBcc: victim@evil.example"),
    ("to", "lead@acme.example, victim@evil.example"),
    ("to", "lead@acme.example;victim@evil.example"),
    ("subject", "Hello\r\nBcc: victim@evil.example"),
])
def test_mail_headers_cannot_gain_a_recipient(owner, db, field, value):
    config = {"to": "lead@acme.example", "subject": "Hi", "body": "text"}
    config[field] = "{{trigger.value}}"
    ex = owner.api.run(chain(trigger(), action("mail", "send_email", config)), {"value": value})
    mail = by_node(ex)["mail"]
    assert mail["status"] == "failed" and field in mail["error"], mail
    assert db.execute("select count(*) from public.email_outbox where execution_id = %s",
                      [ex["id"]]).fetchone()[0] == 0


def test_builtin_scoring_is_deterministic(owner):
    doc = chain(trigger(), action("s", "ai_score", {"email": "{{trigger.email}}", "name": "{{trigger.name}}",
                                                    "company": "{{trigger.company}}", "title": "{{trigger.title}}",
                                                    "source": "{{trigger.source}}"}))
    lead = {"email": "cto@bigcorp.example", "name": "Kim", "company": "BigCorp", "title": "CTO", "source": "referral"}
    first, second = (by_node(owner.api.run(doc, lead))["s"]["output"] for _ in range(2))
    assert first == second
    assert 0 <= first["score"] <= 100 and first["grade"] in "ABCD" and first["factors"]
    email_only = chain(trigger(), action("s", "ai_score", {"email": "{{trigger.email}}"}))
    weak = by_node(owner.api.run(email_only, {"email": "someone@gmail.com"}))["s"]["output"]
    assert weak["score"] < first["score"], "a free-mail lead with nothing else scores lower"


def test_webhook_signature_verifies(owner, target, signing_secret):
    ex = owner.api.run(chain(trigger(), webhook("hook", target.url("/signed"), {"msg": "{{trigger.msg}}"})),
                       {"msg": "héllo ✓"})
    assert ex["status"] == "succeeded"
    [seen] = target.wait_for(1, "/signed")
    verify_signature(signing_secret, seen)
    assert seen.json() == {"msg": "héllo ✓"}
    assert ex["id"] in seen.headers["webhook-id"]
    forged = type(seen)(seen.method, seen.path, seen.headers, seen.body.replace("héllo".encode(), b"hello"))
    with pytest.raises(AssertionError):
        verify_signature(signing_secret, forged)


def test_each_tenant_signs_with_its_own_secret(owner, stranger, target, signing_secret):
    """B pointing a webhook at A's receiver cannot produce a signature A's secret verifies."""
    doc = chain(trigger(), webhook("hook", target.url("/tenant"), {"from": "{{trigger.who}}"}))
    before = len(target.requests("/tenant"))
    assert stranger.api.run(doc, {"who": "b"})["status"] == "succeeded"
    seen = target.wait_for(before + 1, "/tenant")[-1]
    with pytest.raises(AssertionError):
        verify_signature(signing_secret, seen)
    b_secret = stranger.api.webhook_secret()
    assert b_secret["secret"] != signing_secret
    verify_signature(b_secret["secret"], seen)
    # Nobody reads another tenant's secret: the route only ever answers the caller's own.
    assert owner.api.webhook_secret()["secret"] == signing_secret


def test_after_a_rotation_both_secrets_sign_until_the_grace_period_ends(new_person, target):
    person = new_person()
    old = person.api.webhook_secret()["secret"]
    res = person.api.post("/api/webhook-secret/rotate")
    assert res.status_code == 200, res.text
    rotated = res.json()["webhookSecret"]
    assert rotated["secret"] != old and rotated["previousSecret"] == old and rotated["previousValidUntil"]
    before = len(target.requests("/rotated"))
    doc = chain(trigger(), webhook("hook", target.url("/rotated"), {"n": 1}))
    assert person.api.run(doc)["status"] == "succeeded"
    seen = target.wait_for(before + 1, "/rotated")[-1]
    assert len(seen.headers["webhook-signature"].split()) == 2
    verify_signature(rotated["secret"], seen)
    verify_signature(old, seen)
    assert person.api.webhook_secret()["secret"] == rotated["secret"]


def test_redirect_hops_are_rechecked(owner, target):
    """A redirect is followed only to a target that passes the guard again.

    Refusing a private *second* hop needs a public first hop, which a local test cannot have (with
    ALLOW_PRIVATE_TARGETS=false the 127.0.0.1 first hop is refused itself); the native tests in
    tests/actions_webhook.rs cover that case. Here, with the flag on, a hop to an allowed URL is
    followed, while hops to a non-http scheme or to a URL with credentials, refused whatever the flag,
    are not.
    """
    target.script("/go", Reply(302, headers={"Location": "/landed"}))
    target.script("/landed", Reply(json={"landed": True}))
    target.script("/to-file", Reply(302, headers={"Location": "file:///etc/passwd"}))
    target.script("/to-creds", Reply(302, headers={"Location": f"http://user:pw@127.0.0.1:{target.port}/landed"}))
    doc = {"nodes": [trigger(), webhook("ok", target.url("/go"), {}), webhook("file", target.url("/to-file"), {}),
                     webhook("creds", target.url("/to-creds"), {})],
           "edges": [{"id": f"e-{n}", "source": "trigger", "target": n} for n in ("ok", "file", "creds")]}
    r = by_node(owner.api.run(doc))
    assert r["ok"]["status"] == "succeeded" and r["ok"]["output"]["body"] == {"landed": True}
    assert r["file"]["status"] == "failed" and "redirect refused" in r["file"]["error"], r["file"]
    assert r["creds"]["status"] == "failed" and "redirect refused" in r["creds"]["error"], r["creds"]
    assert "credentials" in r["creds"]["error"]
    # Only the allowed hop reached /landed: exactly one follow-up request (from the ok node).
    assert len(target.requests("/landed")) == 1


def test_no_stored_result_contains_a_credential(owner, target, stack_env, signing_secret, db):
    """The webhook target and the run log never see the caller's token or a server key."""
    target.script("/echo", Reply(json={"authorization": "Bearer leaked", "note": "fine"}))
    doc = {"nodes": [trigger(),
                     webhook("hook", target.url("/echo"), {"user": "{{trigger.user}}"}),
                     action("mail", "send_email", {"to": "x@acme.example", "subject": "s", "body": "b"}),
                     action("note", "send_notification", {"title": "t"}),
                     action("s", "ai_score", {"email": "x@acme.example"})],
           "edges": [{"id": f"e-{n}", "source": "trigger", "target": n} for n in ("hook", "mail", "note", "s")]}
    ex = owner.api.run(doc, {"user": "u1"})
    assert ex["status"] == "succeeded", ex["results"]
    [seen] = target.wait_for(1, "/echo")
    assert "authorization" not in seen.headers and "apikey" not in seen.headers
    assert owner.token not in json.dumps(seen.headers) and owner.token.encode() not in seen.body
    assert by_node(ex)["hook"]["output"]["body"]["authorization"] == "[redacted]"

    secrets = {"caller token": owner.token, "anon key": stack_env.anon_key, "service key": stack_env.service_key,
               "jwt secret": stack_env.jwt_secret, "signing secret": signing_secret,
               "signing key": signing_secret.removeprefix("whsec_")}
    rows = db.execute("select id::text, results::text, coalesce(trigger_data::text, '') from public.workflow_executions"
                      " where user_id = %s", [owner.id]).fetchall()
    assert rows
    for row_id, results, trigger_data in rows:
        for name, value in secrets.items():
            assert value not in results and value not in trigger_data, f"{name} stored in execution {row_id}"
