"""Every template of the library run end to end through the real worker: instantiated by a fresh user, its
webhook pointed at a local target, executed with realistic trigger data; the CRM rows, mails and webhook calls
it makes are read back from the database and the target. A template that reaches a delay ends `waiting` (with
`resume_at`), which is where its test ends."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from support.api import RUN_TIMEOUT_S
from support.documents import by_node
from support.targets import Reply, verify_signature

# Template ids this module runs, one test each; every category of the library must be among them.
EXECUTED = {"lead-intake-scoring", "form-contact-upsert", "demo-meeting-reminder", "welcome-sequence",
            "welcome-email-ab-test", "stale-contact-reengagement", "deal-won-onboarding",
            "deal-won-billing-webhook", "contact-list-campaign"}


@pytest.fixture(scope="module")
def crm(new_person):
    """A user of its own, so the contacts and deals these runs write start no other suite's workflows."""
    return new_person(timeout_s=RUN_TIMEOUT_S)


def start(person, template_id: str, trigger_data: dict, webhook_url: str | None = None) -> dict:
    """Instantiates the template as ``person`` (pointing its webhook_call nodes at ``webhook_url``), executes
    it with ``trigger_data`` and returns the execution once settled (finished or waiting)."""
    wf = person.api.instantiate(template_id)
    assert wf["is_active"] is False and wf["user_id"] == person.id
    if webhook_url is not None:
        nodes = wf["nodes"]
        calls = [n for n in nodes if n["data"].get("actionId") == "webhook_call"]
        assert calls, f"{template_id} has no webhook_call node"
        for n in calls:
            n["data"]["config"]["url"] = webhook_url
        res = person.api.put(f"/api/workflows/{wf['id']}", json={"nodes": nodes})
        assert res.status_code == 200, res.text
    res = person.api.execute(wf["id"], trigger_data)
    assert res.status_code == 200, f"{template_id}: {res.status_code} {res.text}"
    ran = res.json()["execution"]
    assert ran["workflow_id"] == wf["id"]
    return person.api.settled(ran["id"])


def statuses(ex: dict) -> dict:
    return {node_id: r["status"] for node_id, r in by_node(ex).items()}


def dump(ex: dict) -> str:
    return json.dumps({k: ex.get(k) for k in ("status", "stop_reason", "results")}, indent=1, default=str)


def outbox(db, execution_id: str) -> list[tuple]:
    return db.execute("select recipient, subject from public.email_outbox where execution_id = %s order by subject",
                      [execution_id]).fetchall()


def contact(db, user_id: str, email: str) -> dict | None:
    row = db.execute("select id::text, name, company, fields from public.contacts where user_id = %s and email = %s",
                     [user_id, email]).fetchone()
    return None if row is None else dict(zip(("id", "name", "company", "fields"), row))


def assert_waiting(ex: dict, settled: set[str], not_started: set[str]) -> None:
    assert ex["status"] == "waiting", dump(ex)
    assert ex["resume_at"], dump(ex)
    done = statuses(ex)
    for node_id in settled:
        assert done.get(node_id) == "succeeded", (node_id, dump(ex))
    for node_id in not_started:
        assert node_id not in done, (node_id, dump(ex))


def test_every_category_of_the_library_is_run_here(anon):
    library = anon.get("/api/templates").json()["templates"]
    assert {t["id"] for t in library} == EXECUTED
    categories = {t["category"] for t in library}
    assert categories == {t["category"] for t in library if t["id"] in EXECUTED}
    assert len(categories) >= 4


def test_lead_intake_routes_a_hot_lead_to_a_deal_and_a_cold_one_to_a_nurture_email(crm, db):
    hot = start(crm, "lead-intake-scoring",
                {"email": "ada@analytical.example", "name": "Ada Lovelace", "company": "Analytical Engines"})
    assert hot["status"] == "succeeded", dump(hot)
    r = by_node(hot)
    assert r["score"]["output"]["score"] >= 70 and r["is-hot"]["output"]["result"] is True
    assert r["nurture"]["status"] == "skipped"
    assert r["open-deal"]["output"]["title"] == "Inbound: Analytical Engines"
    assert r["open-deal"]["output"]["contact_id"] == r["save-contact"]["output"]["id"]
    assert r["tell-sales"]["output"]["title"] == "Hot lead: Ada Lovelace (Analytical Engines)"
    saved = contact(db, crm.id, "ada@analytical.example")
    assert saved["fields"]["lead_score"] == r["score"]["output"]["score"]
    assert outbox(db, hot["id"]) == []

    cold = start(crm, "lead-intake-scoring", {"email": "bob@gmail.com", "name": "Bob", "company": "Bob's Bikes"})
    assert cold["status"] == "succeeded", dump(cold)
    r = by_node(cold)
    assert r["is-hot"]["output"]["result"] is False
    assert (r["open-deal"]["status"], r["tell-sales"]["status"]) == ("skipped", "skipped")
    assert outbox(db, cold["id"]) == [("bob@gmail.com", "Thanks for your interest, Bob")]


def test_form_to_contact_upserts_by_email_and_notifies(crm, db):
    data = {"email": "grace@navy.example", "name": "Grace", "company": "Navy", "message": "Call me"}
    first = start(crm, "form-contact-upsert", data)
    assert first["status"] == "succeeded", dump(first)
    second = start(crm, "form-contact-upsert", {**data, "company": "US Navy", "message": "Still waiting"})
    assert second["status"] == "succeeded", dump(second)
    assert by_node(first)["upsert"]["output"]["id"] == by_node(second)["upsert"]["output"]["id"]
    saved = contact(db, crm.id, "grace@navy.example")
    assert saved["company"] == "US Navy"
    assert saved["fields"] == {"source": "contact-form", "last_message": "Still waiting"}
    assert by_node(second)["notify-owner"]["output"]["title"] == "New message from Grace"
    assert outbox(db, second["id"]) == [("grace@navy.example", "We got your message")]


def test_demo_reminder_confirms_and_waits_until_the_reminder_time(crm, db):
    remind_at = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    ex = start(crm, "demo-meeting-reminder",
               {"email": "lin@demo.example", "name": "Lin", "meeting_at": "tomorrow 10:00",
                "remind_at": remind_at.isoformat().replace("+00:00", "Z")})
    assert_waiting(ex, {"booking", "confirm", "tell-sales"}, {"remind"})
    resume = datetime.fromisoformat(ex["resume_at"].replace("Z", "+00:00"))
    assert abs((resume - remind_at).total_seconds()) < 2, ex["resume_at"]
    assert outbox(db, ex["id"]) == [("lin@demo.example", "Your demo is booked")]


def test_welcome_sequence_sends_the_first_mail_and_waits_two_days(crm, db):
    ex = start(crm, "welcome-sequence", {"email": "new@signup.example", "name": "Noor"})
    assert_waiting(ex, {"signup", "save-contact", "welcome"}, {"tips", "check-in", "mark-done"})
    resume = datetime.fromisoformat(ex["resume_at"].replace("Z", "+00:00"))
    ahead = resume - datetime.now(timezone.utc)
    assert timedelta(days=1, hours=23) < ahead <= timedelta(days=2), ex["resume_at"]
    assert outbox(db, ex["id"]) == [("new@signup.example", "Welcome aboard, Noor")]
    assert contact(db, crm.id, "new@signup.example")["fields"] == {"welcome_sequence": "started"}


def test_ab_test_sends_exactly_one_variant_and_records_it(crm, db):
    for k in range(4):
        email = f"ab{k}@split.example"
        ex = start(crm, "welcome-email-ab-test", {"email": email, "name": f"Tester {k}"})
        assert ex["status"] == "succeeded", dump(ex)
        r = by_node(ex)
        variant = r["ab"]["output"]["variant"]
        assert variant in ("a", "b")
        other = "b" if variant == "a" else "a"
        assert (r[f"email-{variant}"]["status"], r[f"email-{other}"]["status"]) == ("succeeded", "skipped")
        assert r["record-variant"]["status"] == "succeeded"
        assert contact(db, crm.id, email)["fields"] == {"welcome_variant": variant}
        assert len(outbox(db, ex["id"])) == 1


def test_stale_contact_reengagement_waits_three_days_before_writing(crm, db):
    row = db.execute("insert into public.contacts (user_id, email, name, fields) values (%s, %s, %s, %s)"
                     " returning id::text", [crm.id, "old@stale.example", "Olga", json.dumps({"engagement": "stale"})])
    contact_id = row.fetchone()[0]
    record = {"id": contact_id, "email": "old@stale.example", "name": "Olga", "fields": {"engagement": "stale"}}
    ex = start(crm, "stale-contact-reengagement",
               {"type": "UPDATE", "table": "contacts", "record": record,
                "old_record": {**record, "fields": {}}, "changed": ["fields"]})
    assert_waiting(ex, {"marked-stale"}, {"miss-you", "mark-reengaging", "call-reminder"})
    assert outbox(db, ex["id"]) == []
    assert contact(db, crm.id, "old@stale.example")["fields"] == {"engagement": "stale"}


def test_deal_won_onboarding_makes_a_customer_and_waits_a_week_for_the_check_in(crm, db):
    contact_id = db.execute("insert into public.contacts (user_id, email, name) values (%s, %s, %s)"
                            " returning id::text", [crm.id, "buyer@won.example", "Bea"]).fetchone()[0]
    deal = {"id": str(uuid.uuid4()), "title": "Enterprise plan", "value": 12000, "stage": "won",
            "contact_id": contact_id}
    ex = start(crm, "deal-won-onboarding",
               {"type": "UPDATE", "table": "deals", "record": deal, "old_record": {**deal, "stage": "proposal"},
                "changed": ["stage"]})
    assert_waiting(ex, {"make-customer", "welcome", "onboarding-deal", "tell-team"}, {"check-in"})
    r = by_node(ex)
    assert r["tell-team"]["output"]["title"] == "Won: Enterprise plan"
    assert contact(db, crm.id, "buyer@won.example")["fields"] == {"lifecycle": "customer",
                                                                   "won_deal": "Enterprise plan"}
    onboarding = db.execute("select stage, contact_id::text from public.deals where id = %s",
                            [r["onboarding-deal"]["output"]["id"]]).fetchone()
    assert onboarding == ("onboarding", contact_id)
    assert outbox(db, ex["id"]) == [("buyer@won.example", "Welcome aboard!")]


def test_billing_webhook_posts_the_signed_deal_and_follows_the_answer(crm, target):
    secret = crm.api.webhook_secret()["secret"]
    target.script("/billing", Reply(json={"invoice_id": "inv_42"}), Reply(json={"queued": True}))
    deal = {"id": str(uuid.uuid4()), "title": "Renewal 2027", "value": 900, "stage": "won", "contact_id": None}
    event = {"type": "UPDATE", "table": "deals", "record": deal, "old_record": deal, "changed": ["stage"]}

    ex = start(crm, "deal-won-billing-webhook", event, target.url("/billing"))
    assert ex["status"] == "succeeded", dump(ex)
    r = by_node(ex)
    assert r["post-billing"]["output"] == {"status": 200, "body": {"invoice_id": "inv_42"}}
    assert r["invoice-ready"]["output"]["title"] == "Invoice inv_42 for Renewal 2027"
    assert r["check-billing"]["status"] == "skipped"
    seen = target.requests("/billing")[0]
    verify_signature(secret, seen)
    assert seen.headers["x-crm-event"] == "deal.won"
    body = seen.json()
    assert body["event"] == "deal.won" and body["deal"]["title"] == "Renewal 2027"
    assert body["executionId"] == ex["id"] and body["workflowId"] == ex["workflow_id"]

    ex = start(crm, "deal-won-billing-webhook", event, target.url("/billing"))
    assert ex["status"] == "succeeded", dump(ex)
    r = by_node(ex)
    assert (r["invoice-ready"]["status"], r["check-billing"]["status"]) == ("skipped", "succeeded")


def test_contact_list_campaign_loops_over_every_contact(crm, db):
    people = [{"email": f"guest{k}@list.example", "name": f"Guest {k}"} for k in range(7)]
    ex = start(crm, "contact-list-campaign", {"campaign": "Spring webinar", "contacts": people})
    assert ex["status"] == "succeeded", dump(ex)
    loop = by_node(ex)["each-contact"]["output"]
    assert (loop["count"], loop["failed"]) == (7, 0)
    assert len(loop["items"]) == 7
    invites = [res for res in ex["results"] if res["nodeId"] == "invite"]
    assert len(invites) == 7 and all(res["status"] == "succeeded" for res in invites)
    for k, person in enumerate(people):
        saved = contact(db, crm.id, person["email"])
        assert saved["name"] == person["name"]
        assert saved["fields"] == {"campaign": "Spring webinar", "list_position": k}
    assert sorted(outbox(db, ex["id"])) == sorted((p["email"], "You are invited: Spring webinar") for p in people)
    assert by_node(ex)["summary"]["output"]["title"] == "Spring webinar: 7 contacts processed"
