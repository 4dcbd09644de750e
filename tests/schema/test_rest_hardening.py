"""The database as the last line, seen from a client that skips the worker: the anon key and a user's token
straight to /rest/v1 (through the local gateway, as supabase-js would call Supabase's PostgREST).

Header injection into queued mail is refused with PostgREST's 400 / 23514, and the per-user webhook signing
secret is reachable only as its owner, through POST /rest/v1/rpc/webhook_secret and rotate_webhook_secret.
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests

WHSEC = re.compile(r"^whsec_[A-Za-z0-9+/]{43}=$")


class Client:
    """One caller of $SUPABASE_URL/rest/v1: the anon key as ``apikey``, and a user's token when given."""

    def __init__(self, rest_url: str, anon_key: str, token: str | None):
        self.rest_url = rest_url
        self.headers = {"apikey": anon_key}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"

    def __call__(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.rest_url}/{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture
def user(stack_env, make_user, mint):
    """A fresh signed-in user: (id, client)."""
    def make() -> tuple[str, Client]:
        uid = make_user()
        return uid, Client(stack_env.rest_url, stack_env.anon_key, mint(uid))
    return make


@pytest.fixture
def anon(stack_env) -> Client:
    return Client(stack_env.rest_url, stack_env.anon_key, None)


def _outbox_count(db, user_id: str) -> int:
    return db.execute("select count(*) from public.email_outbox where user_id = %s", [user_id]).fetchone()[0]


# -- email_outbox ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("row", "constraint"), [
    ({"recipient": "victim@acme.example\r\nBcc: everyone@acme.example"}, "email_outbox_recipient_one_address"),
    ({"recipient": "victim@acme.example\nBcc: everyone@acme.example"}, "email_outbox_recipient_one_address"),
    ({"recipient": "a@acme.example, b@acme.example"}, "email_outbox_recipient_one_address"),
    ({"recipient": "a@acme.example;b@acme.example"}, "email_outbox_recipient_one_address"),
    ({"recipient": "Ann <a@acme.example>"}, "email_outbox_recipient_one_address"),
    ({"from_address": "CEO <ceo@bank.example>"}, "email_outbox_from_address_one_address"),
    ({"from_address": "me@acme.example\r\nReply-To: thief@evil.example"}, "email_outbox_from_address_one_address"),
    ({"subject": "Invoice\r\nBcc: everyone@acme.example"}, "email_outbox_subject_single_line"),
])
def test_header_injection_through_postgrest_is_a_400_check_violation(user, db, row, constraint):
    uid, client = user()
    body = {"recipient": "lead@acme.example", "subject": "Hello", "body": "text", **row}
    res = client("POST", "email_outbox", json=body, headers={"Prefer": "return=representation"})
    assert res.status_code == 400, res.text
    error = res.json()
    assert error["code"] == "23514"
    assert constraint in error["message"]
    assert _outbox_count(db, uid) == 0


def test_a_plain_row_is_still_accepted(user, db):
    uid, client = user()
    res = client("POST", "email_outbox", headers={"Prefer": "return=representation"},
                 json={"recipient": "lead@acme.example", "from_address": "crm@edgeflow.test",
                       "subject": "Hello", "body": "text"})
    assert res.status_code == 201, res.text
    assert res.json()[0]["recipient"] == "lead@acme.example" and res.json()[0]["user_id"] == uid
    assert _outbox_count(db, uid) == 1


def test_patch_cannot_turn_a_queued_mail_into_a_list(user, db):
    uid, client = user()
    res = client("POST", "email_outbox", headers={"Prefer": "return=representation"},
                 json={"recipient": "lead@acme.example", "subject": "Hello", "body": "text"})
    mail_id = res.json()[0]["id"]
    res = client("PATCH", f"email_outbox?id=eq.{mail_id}", json={"recipient": "lead@acme.example,boss@acme.example"})
    assert res.status_code == 400 and res.json()["code"] == "23514", res.text
    assert db.execute("select recipient from public.email_outbox where id = %s", [mail_id]).fetchone()[0] \
        == "lead@acme.example"


def test_contact_email_must_be_one_address(user):
    _, client = user()
    res = client("POST", "contacts", json={"email": "lead@acme.example\r\nBcc: x@evil.example"})
    assert res.status_code == 400 and res.json()["code"] == "23514", res.text
    assert "contacts_email_one_address" in res.json()["message"]


# -- webhook secrets -------------------------------------------------------------------------------------

def test_rpc_webhook_secret_creates_then_returns_the_callers_secret(user):
    uid, client = user()
    first = client("POST", "rpc/webhook_secret", json={})
    assert first.status_code == 200, first.text
    row = first.json()
    assert row["user_id"] == uid
    assert WHSEC.match(row["secret"])
    assert row["previous_secret"] is None and row["rotated_at"] is None
    again = client("POST", "rpc/webhook_secret")
    assert again.status_code == 200 and again.json()["secret"] == row["secret"]
    listed = client("GET", "webhook_secrets?select=user_id,secret")
    assert listed.status_code == 200 and listed.json() == [{"user_id": uid, "secret": row["secret"]}]


def test_each_user_has_their_own_secret_and_sees_only_it(user):
    a_id, a = user()
    b_id, b = user()
    a_secret = a("POST", "rpc/webhook_secret").json()["secret"]
    b_secret = b("POST", "rpc/webhook_secret").json()["secret"]
    assert a_secret != b_secret
    assert b("GET", f"webhook_secrets?user_id=eq.{a_id}").json() == []
    assert [r["user_id"] for r in b("GET", "webhook_secrets").json()] == [b_id]
    # B's attempt to rotate A's row through the table matches nothing.
    res = b("PATCH", f"webhook_secrets?user_id=eq.{a_id}", json={"rotated_at": "2030-01-01T00:00:00Z"},
            headers={"Prefer": "return=representation"})
    assert res.status_code == 200 and res.json() == []
    assert a("POST", "rpc/webhook_secret").json()["secret"] == a_secret


def test_rotation_keeps_the_old_secret_as_previous(user):
    _, client = user()
    old = client("POST", "rpc/webhook_secret").json()
    res = client("POST", "rpc/rotate_webhook_secret", json={})
    assert res.status_code == 200, res.text
    new = res.json()
    assert WHSEC.match(new["secret"]) and new["secret"] != old["secret"]
    assert new["previous_secret"] == old["secret"]
    assert new["rotated_at"] is not None
    assert client("POST", "rpc/webhook_secret").json()["secret"] == new["secret"]


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "webhook_secrets", {"secret": "whsec_" + "A" * 43 + "="}),
    ("PATCH", "webhook_secrets", {"secret": "whsec_" + "A" * 43 + "="}),
    ("PATCH", "webhook_secrets", {"previous_secret": "whsec_" + "A" * 43 + "="}),
    ("DELETE", "webhook_secrets", None),
])
def test_a_user_cannot_choose_or_drop_their_secret(user, db, method, path, body):
    uid, client = user()
    if method != "POST":
        client("POST", "rpc/webhook_secret")
    res = client(method, path, json=body)
    assert res.status_code == 403, res.text
    assert res.json()["code"] == "42501"
    stored = db.execute("select secret from public.webhook_secrets where user_id = %s", [uid]).fetchall()
    assert all(WHSEC.match(s) and s != "whsec_" + "A" * 43 + "=" for (s,) in stored)
    assert len(stored) == (0 if method == "POST" else 1)


def test_anon_has_no_access_to_secrets(anon):
    for method, path in (("POST", "rpc/webhook_secret"), ("POST", "rpc/rotate_webhook_secret"),
                         ("GET", "webhook_secrets")):
        res = anon(method, path)
        assert res.status_code == 401, (method, path, res.text)
        assert res.json()["code"] == "42501"


def test_webhook_secret_is_post_only(user):
    # Volatile (it may create the row): PostgREST runs GET in a read-only transaction.
    _, client = user()
    res = client("GET", "rpc/webhook_secret")
    assert res.status_code == 405 and res.json()["code"] == "25006", res.text


def test_a_token_for_an_unknown_user_cannot_create_a_secret(stack_env, mint):
    ghost = Client(stack_env.rest_url, stack_env.anon_key, mint(str(uuid.uuid4())))
    res = ghost("POST", "rpc/webhook_secret")
    assert res.status_code == 409 and res.json()["code"] == "23503", res.text
