"""Runs that start by themselves, through the real worker: public form hooks (JSON, urlencoded, multipart, HTML
forms), database events (contact updates, deals won) dispatched exactly once per event and workflow, trigger
filters, and the loop guard."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
import requests

from support.api import RUN_TIMEOUT_S
from support.documents import action, chain, trigger

FORM = {"email": "ada@analytical-engines.example", "name": "Ada"}


@pytest.fixture
def person(new_person):
    """A fresh owner per event test: active event workflows of one test must not see another test's events."""
    return new_person(timeout_s=RUN_TIMEOUT_S)


def active(owner, doc: dict) -> dict:
    wf = owner.api.save(doc)
    res = owner.api.put(f"/api/workflows/{wf['id']}", json={"is_active": True})
    assert res.status_code == 200, res.text
    return res.json()["workflow"]


def form_trigger(**config) -> dict:
    node = trigger(trigger_type="form_submit")
    node["data"]["config"].update(config)
    return node


def wait_run(owner, execution_id: str, deadline_s: float = 30) -> dict:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        ex = owner.api.get(f"/api/executions/{execution_id}").json()["execution"]
        if ex["status"] in ("succeeded", "failed", "cancelled"):
            return ex
        time.sleep(0.2)
    raise AssertionError(f"run {execution_id} did not finish: {ex}")


def runs_of(db, workflow_id: str) -> list[tuple]:
    return db.execute("select id::text, trigger_type, trigger_data, parent_execution_id::text from public.workflow_executions"
                      " where workflow_id = %s order by executed_at", [workflow_id]).fetchall()


def dispatch(worker_url: str, stack_env) -> dict:
    res = requests.post(f"{worker_url}/api/events/dispatch",
                        headers={"Authorization": f"Bearer {stack_env.service_key}"}, timeout=60)
    assert res.status_code == 200, res.text
    return res.json()


def test_form_posts_in_every_encoding_start_the_workflow(owner, worker_url):
    wf = active(owner, chain(form_trigger(), action("n", "send_notification", {"title": "Lead {{trigger.name}}"})))
    hook = f"{worker_url}/api/hooks/{wf['trigger_key']}"
    posts = [requests.post(hook, json=FORM, timeout=30),
             requests.post(hook, data=FORM, timeout=30),
             requests.post(hook, files={k: (None, v) for k, v in FORM.items()}, timeout=30)]
    for res in posts:
        assert res.status_code == 202, res.text
        ex = wait_run(owner, res.json()["executionId"])
        assert ex["status"] == "succeeded", ex
        assert ex["trigger_type"] == "form_submit" and ex["trigger_data"] == FORM
        assert ex["results"][-1]["output"]["title"] == "Lead Ada"


def test_unknown_keys_inactive_and_other_trigger_types_are_the_same_404(owner, worker_url):
    manual = active(owner, chain(trigger(), action("n", "send_notification", {"title": "x"})))
    inactive = owner.api.save(chain(form_trigger(), action("n", "send_notification", {"title": "x"})))
    bodies = []
    for key in ("0" * 64, manual["trigger_key"], inactive["trigger_key"], "../etc"):
        res = requests.post(f"{worker_url}/api/hooks/{key}", json=FORM, timeout=30)
        assert res.status_code == 404, res.text
        bodies.append(res.json())
    assert all(b == bodies[0] for b in bodies[:3]), "no hint which"


def test_any_origin_may_post_and_a_repeated_key_gives_the_first_run(owner, worker_url):
    wf = active(owner, chain(form_trigger(), action("n", "send_notification", {"title": "x"})))
    hook = f"{worker_url}/api/hooks/{wf['trigger_key']}"
    origin = "https://some-landing-page.example"
    pre = requests.options(hook, headers={"Origin": origin, "Access-Control-Request-Method": "POST"}, timeout=30)
    assert pre.status_code == 204 and pre.headers.get("Access-Control-Allow-Origin") == origin
    key = str(uuid.uuid4())
    first = requests.post(hook, json=FORM, headers={"Origin": origin, "Idempotency-Key": key}, timeout=30)
    again = requests.post(hook, json=FORM, headers={"Origin": origin, "Idempotency-Key": key}, timeout=30)
    assert first.status_code == 202 and again.status_code == 202, (first.text, again.text)
    assert first.headers.get("Access-Control-Allow-Origin") == origin
    assert again.json()["executionId"] == first.json()["executionId"]


def test_an_html_form_is_redirected_and_a_rotated_key_stops_working(owner, worker_url):
    wf = active(owner, chain(form_trigger(redirectUrl="https://example.com/thanks"),
                             action("n", "send_notification", {"title": "x"})))
    old = wf["trigger_key"]
    res = requests.post(f"{worker_url}/api/hooks/{old}", data=FORM, headers={"Accept": "text/html"},
                        allow_redirects=False, timeout=30)
    assert res.status_code == 303 and res.headers["Location"] == "https://example.com/thanks"
    rotated = owner.api.post(f"/api/workflows/{wf['id']}/trigger-key/rotate")
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["workflow"]["trigger_key"]
    assert new != old
    assert requests.post(f"{worker_url}/api/hooks/{old}", json=FORM, timeout=30).status_code == 404
    assert requests.post(f"{worker_url}/api/hooks/{new}", json=FORM, timeout=30).status_code == 202


def test_a_false_filter_starts_nothing(owner, worker_url, db):
    wf = active(owner, chain(form_trigger(filter={"left": "{{trigger.email}}", "op": "contains", "right": "@vip."}),
                             action("n", "send_notification", {"title": "x"})))
    res = requests.post(f"{worker_url}/api/hooks/{wf['trigger_key']}", json=FORM, timeout=30)
    assert res.status_code == 202 and res.json()["executionId"] is None, res.text
    assert runs_of(db, wf["id"]) == []


def make_contact(db, user_id: str) -> str:
    return db.execute("insert into public.contacts (user_id, email, name) values (%s, %s, 'Ann') returning id::text",
                      [user_id, f"ann-{uuid.uuid4().hex[:8]}@acme.example"]).fetchone()[0]


def rolled_back(db, sql: str, params: list) -> None:
    try:
        with db.transaction():
            db.execute(sql, params)
            raise RuntimeError("roll back")
    except RuntimeError:
        pass


def test_a_contact_update_and_a_deal_won_each_start_their_workflows_once(person, worker_url, db, stack_env):
    on_contact = active(person, chain(trigger(trigger_type="contact_update"),
                                     action("n", "send_notification", {"title": "{{trigger.record.name}}"})))
    on_deal = active(person, chain(trigger(trigger_type="deal_won"), action("n", "send_notification", {"title": "won"})))
    contact = make_contact(db, person.id)
    db.execute("update public.contacts set name = 'Ann Lee' where id = %s", [contact])
    rolled_back(db, "update public.contacts set name = 'never' where id = %s", [contact])
    deal = db.execute("insert into public.deals (user_id, title, stage) values (%s, 'Acme', 'open') returning id",
                      [person.id]).fetchone()[0]
    db.execute("update public.deals set stage = 'won' where id = %s", [deal])
    # Two dispatch passes at once, then a third: each event still starts each workflow once.
    threads = [threading.Thread(target=dispatch, args=(worker_url, stack_env)) for _ in range(2)]
    [t.start() for t in threads]
    [t.join(60) for t in threads]
    dispatch(worker_url, stack_env)
    contact_runs = runs_of(db, on_contact["id"])
    deal_runs = runs_of(db, on_deal["id"])
    assert [r[2]["record"]["name"] for r in contact_runs] == ["Ann Lee"], contact_runs
    assert contact_runs[0][1] == "contact_update" and "name" in contact_runs[0][2]["changed"]
    assert contact_runs[0][2]["old_record"]["name"] == "Ann"
    assert len(deal_runs) == 1, deal_runs
    assert deal_runs[0][1] == "deal_won" and deal_runs[0][2]["record"]["stage"] == "won"
    assert "stage" in deal_runs[0][2]["changed"]
    for run_id, *_ in contact_runs + deal_runs:
        ex = wait_run(person, run_id)
        assert ex["status"] == "succeeded", ex
    assert wait_run(person, contact_runs[0][0])["results"][-1]["output"]["title"] == "Ann Lee"


def test_an_event_filter_decides_which_changes_start_a_run(person, worker_url, db, stack_env):
    node = trigger(trigger_type="contact_update")
    node["data"]["config"]["filter"] = {"left": "{{trigger.changed}}", "op": "contains", "right": "company"}
    wf = active(person, chain(node, action("n", "send_notification", {"title": "moved"})))
    contact = make_contact(db, person.id)
    db.execute("update public.contacts set name = 'Only the name' where id = %s", [contact])
    dispatch(worker_url, stack_env)
    assert runs_of(db, wf["id"]) == [], "the filter was false"
    db.execute("update public.contacts set company = 'Globex' where id = %s", [contact])
    dispatch(worker_url, stack_env)
    assert len(runs_of(db, wf["id"])) == 1


def test_a_workflow_that_updates_the_contact_that_triggered_it_does_not_loop(person, worker_url, db, stack_env):
    contact = make_contact(db, person.id)
    wf = active(person, chain(trigger(trigger_type="contact_update"),
                             action("touch", "update_contact", {"id": "{{trigger.record.id}}",
                                                                "company": "Touched {{trigger.record.name}}"})))
    db.execute("update public.contacts set name = 'Loop' where id = %s", [contact])
    dispatch(worker_url, stack_env)
    [(first, *_)] = runs_of(db, wf["id"])
    assert wait_run(person, first)["status"] == "succeeded"
    company = db.execute("select company from public.contacts where id = %s", [contact]).fetchone()[0]
    assert company == "Touched Loop", "the run's own update happened"
    caused = db.execute("select count(*) from public.workflow_events where caused_by_execution = %s",
                        [first]).fetchone()[0]
    assert caused == 1, "the run's write was recorded with its execution"
    for _ in range(2):
        dispatch(worker_url, stack_env)
    assert len(runs_of(db, wf["id"])) == 1, "its own write did not start it again"


def test_an_event_made_while_nothing_dispatches_runs_after_a_scheduled_tick(person, worker_url, db):
    wf = active(person, chain(trigger(trigger_type="contact_update"), action("n", "send_notification", {"title": "late"})))
    contact = make_contact(db, person.id)
    db.execute("update public.contacts set name = 'While down' where id = %s", [contact])
    assert runs_of(db, wf["id"]) == [], "the event waits in the outbox"
    tick = requests.get(f"{worker_url}/__scheduled", params={"cron": "* * * * *"}, timeout=60)
    assert tick.status_code == 200, tick.text
    [(run_id, *_)] = runs_of(db, wf["id"])
    assert wait_run(person, run_id)["status"] == "succeeded"


def test_a_dispatched_run_acts_as_its_owner_and_cannot_touch_another_users_rows(person, stranger, worker_url, db,
                                                                                  stack_env):
    theirs = make_contact(db, stranger.id)
    wf = active(person, chain(trigger(trigger_type="contact_update"),
                             action("steal", "update_contact", {"id": theirs, "company": "taken over"})))
    mine = make_contact(db, person.id)
    db.execute("update public.contacts set name = 'Trigger' where id = %s", [mine])
    dispatch(worker_url, stack_env)
    [(run_id, *_)] = runs_of(db, wf["id"])
    ex = wait_run(person, run_id)
    step = ex["results"][-1]
    assert ex["status"] == "failed" and step["status"] == "failed", ex["results"]
    company = db.execute("select company from public.contacts where id = %s", [theirs]).fetchone()[0]
    assert company != "taken over", "RLS kept the other user's row out of reach"
