"""A real browser on another origin calls the worker with a bearer token: allowed origins get through the
preflight and the call, a disallowed origin is stopped by the browser before the request is ever sent."""

from __future__ import annotations

import uuid


def test_allowed_origin_lists_and_creates(allowed_page, open_probe, new_person, db):
    person = new_person()
    person.api.create("seeded for the browser")
    name = f"made in the browser {uuid.uuid4().hex[:8]}"

    outcome = open_probe(allowed_page, person.token, name)

    assert outcome["origin"] == allowed_page.origin
    assert outcome["list"] == {"status": 200, "names": ["seeded for the browser"]}, outcome
    assert outcome["create"]["status"] == 201, outcome
    row = db.execute("select id::text, user_id::text from public.workflows where name = %s", [name]).fetchone()
    assert row == (outcome["create"]["id"], person.id)


def test_allowed_origin_sees_errors_with_their_status(allowed_page, open_probe, make_user, mint):
    # An expired token: the 401 must carry the CORS grant or the page would only see a network error.
    outcome = open_probe(allowed_page, mint(make_user(), exp_in=-3600), "never")
    assert outcome["list"]["status"] == 401, outcome
    assert outcome["create"]["status"] == 401, outcome


def test_disallowed_origin_is_blocked_by_the_browser(disallowed_page, open_probe, make_user, mint, count_workflows):
    uid = make_user()
    name = f"must not exist {uuid.uuid4().hex[:8]}"

    outcome = open_probe(disallowed_page, mint(uid), name)

    assert outcome["origin"] == disallowed_page.origin
    assert outcome["list"]["error"] == "TypeError", outcome
    assert outcome["create"]["error"] == "TypeError", outcome
    assert "status" not in outcome["list"] and "status" not in outcome["create"]
    # The preflight failed, so the POST itself never reached the worker.
    assert count_workflows(uid) == 0
