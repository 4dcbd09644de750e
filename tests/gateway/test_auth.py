"""The gateway's front door: Supabase's apikey check and PostgREST's JWT verification.

References: Supabase "Understanding API keys" (apikey header required by the API gateway);
PostgREST docs references/auth ("JWT Authentication", "JWT Claims Validation") and
references/errors (PGRST301 / PGRST303, 401 with WWW-Authenticate).
"""

from __future__ import annotations

import json
import os
import time

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec

import tokens


def test_health_and_unknown_path(stack_env):
    assert requests.get(f"{stack_env.supabase_url}/health", timeout=10).status_code == 200
    res = requests.get(f"{stack_env.supabase_url}/nope", timeout=10)
    assert res.status_code == 404 and res.headers["Content-Type"].startswith("application/json")


def test_missing_apikey_is_401(rest, alice):
    # Supabase's gateway rejects /rest/v1 calls without an apikey before PostgREST sees them.
    res = rest("GET", "gw_items", apikey=None, token=alice.token)
    assert res.status_code == 401
    assert res.json() == {"message": "No API key found in request",
                          "hint": "No `apikey` request header or url param was found."}


def test_wrong_apikey_is_401(rest, alice):
    res = rest("GET", "gw_items", apikey="not-a-key", token=alice.token)
    assert res.status_code == 401
    assert res.json()["message"] == "Invalid API key"


def test_apikey_as_url_param(rest, stack_env, items):
    # Supabase also accepts ?apikey=... ; it must not be treated as a column filter.
    res = rest("GET", f"gw_items?apikey={stack_env.anon_key}", apikey=None)
    assert res.status_code == 200 and res.json() == []


def test_no_authorization_means_anon(rest, schema):
    # Supabase uses the apikey as the bearer token when none is given: role anon.
    res = rest("POST", "rpc/gw_whoami", json={})
    assert res.status_code == 200
    body = res.json()
    assert body["role"] == "anon" and body["uid"] is None


def test_hs256_user_token_sets_role_claims_and_request_settings(rest, alice):
    # PostgREST: "set local role" to the role claim, request.jwt.claims, request.method/path.
    body = rest("POST", "rpc/gw_whoami", token=alice.token, json={}).json()
    assert body == {"uid": alice.id, "role": "authenticated", "jwt_role": "authenticated",
                    "method": "POST", "path": "/rpc/gw_whoami"}


def test_request_headers_are_visible_to_sql(rest, alice):
    # PostgREST exposes request.headers (lower-cased names) as a JSON GUC.
    res = rest("POST", "rpc/gw_header", token=alice.token, json={"name": "x-trace"}, headers={"X-Trace": "t-123"})
    assert res.json() == "t-123"


def test_request_headers_hold_every_header_but_cookie_with_lower_case_names(rest, alice, stack_env):
    # PostgREST: request.headers is a JSON object of the request's headers, names lower-cased, Cookie left out
    # (its pairs are request.cookies); the worker's x-edgeflow-execution reaches the outbox triggers this way.
    run_id = "3f0c1a52-0000-4000-8000-00000000abcd"
    res = rest("POST", "rpc/gw_setting", token=alice.token, json={"name": "request.headers"},
               headers={"X-Edgeflow-Execution": run_id, "X-Trace": "t-123", "Prefer": "return=representation",
                        "Cookie": "session=s1; theme=dark"})
    assert res.status_code == 200, res.text
    headers = res.json()
    assert isinstance(headers, dict)
    assert all(name == name.lower() for name in headers), headers
    assert headers["x-edgeflow-execution"] == run_id and headers["x-trace"] == "t-123"
    assert headers["authorization"] == f"Bearer {alice.token}" and headers["apikey"] == stack_env.anon_key
    assert headers["prefer"] == "return=representation" and headers["content-type"] == "application/json"
    assert "cookie" not in headers


def test_cookies_are_request_cookies(rest, alice):
    res = rest("POST", "rpc/gw_setting", token=alice.token, json={"name": "request.cookies"},
               headers={"Cookie": "session=s1; theme=dark;token=a=b"})
    assert res.json() == {"session": "s1", "theme": "dark", "token": "a=b"}
    res = rest("POST", "rpc/gw_setting", token=alice.token, json={"name": "request.cookies"})
    assert res.json() == {}


def test_request_headers_last_for_one_transaction_and_reach_read_only_calls(rest, alice):
    assert rest("GET", "rpc/gw_header?name=x-trace", token=alice.token, headers={"X-Trace": "t-get"}).json() == "t-get"
    assert rest("POST", "rpc/gw_header", token=alice.token, json={"name": "x-trace"},
                headers={"X-Trace": "t-once"}).json() == "t-once"
    # Set with is_local: the pooled connections' next requests do not see it.
    for _ in range(6):
        assert rest("POST", "rpc/gw_header", token=alice.token, json={"name": "x-trace"}).json() is None


def test_es256_and_rs256_tokens_from_local_keys(rest, alice, mint):
    # Asymmetric JWTs verified with the JWKS key chosen by kid (PostgREST jwt-secret as JWKS).
    for alg in ("ES256", "RS256"):
        res = rest("POST", "rpc/gw_whoami", token=mint(alice.id, alg=alg), json={})
        assert res.status_code == 200, res.text
        assert res.json()["uid"] == alice.id


def _assert_invalid_token(res, code: str, message: str | None = None):
    assert res.status_code == 401, res.text
    body = res.json()
    assert body["code"] == code
    if message:
        assert body["message"] == message
    assert res.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


def test_wrong_signature_is_401(rest, alice, mint):
    token = mint(alice.id)
    header, payload, sig = token.split(".")
    forged = tokens.sign(json.loads(jwt.utils.base64url_decode(payload)), "HS256", secret="x" * 40)
    _assert_invalid_token(rest("GET", "gw_items", token=forged), "PGRST301", "JWT cryptographic operation failed")
    tampered = f"{header}.{payload[:-2]}AA.{sig}"
    assert rest("GET", "gw_items", token=tampered).status_code == 401


def test_expired_token_is_401_pgrst303(rest, alice, mint):
    _assert_invalid_token(rest("GET", "gw_items", token=mint(alice.id, exp_in=-120)), "PGRST303", "JWT expired")


def test_future_nbf_is_401(rest, alice, mint):
    token = mint(alice.id, nbf=int(time.time()) + 3600)
    _assert_invalid_token(rest("GET", "gw_items", token=token), "PGRST303", "JWT not yet valid")


def test_malformed_and_empty_tokens(rest, schema):
    _assert_invalid_token(rest("GET", "gw_items", token="abc"), "PGRST301", "Expected 3 parts in JWT; got 1")
    res = rest("GET", "gw_items", headers={"Authorization": "Bearer "})
    assert res.status_code == 401 and res.json()["code"] == "PGRST301"


def test_alg_none_is_rejected(rest, alice, mint):
    claims = tokens.access_token_claims(alice.id, role="authenticated", issuer="x", exp_in=600)
    token = jwt.encode(claims, None, algorithm="none")
    _assert_invalid_token(rest("GET", "gw_items", token=token), "PGRST301")


def test_es256_with_foreign_key_or_unknown_kid(rest, alice, stack_env):
    claims = tokens.access_token_claims(alice.id, role="authenticated", issuer=stack_env.issuer, exp_in=600)
    own = tokens.load_private_jwk(os.environ["LOCAL_JWK_PATH"])
    foreign = ec.generate_private_key(ec.SECP256R1())
    signed_by_stranger = jwt.encode(claims, foreign, algorithm="ES256", headers={"kid": own["kid"]})
    _assert_invalid_token(rest("GET", "gw_items", token=signed_by_stranger), "PGRST301")
    unknown_kid = tokens.sign(claims, "ES256", jwk=own, headers={"kid": "nobody"})
    _assert_invalid_token(rest("GET", "gw_items", token=unknown_kid), "PGRST301", "No suitable key or wrong key type")


def test_unknown_role_claim_is_401(rest, alice, mint):
    # PostgREST maps "role ... does not exist" (22023) to 401.
    res = rest("GET", "gw_items", token=mint(alice.id, role="superhero"))
    assert res.status_code == 401
    assert res.json()["code"] == "22023"


def test_audience_is_not_checked_by_default(rest, alice, mint, items):
    # PostgREST validates aud only when jwt-aud is configured; Supabase configures none.
    res = rest("GET", "gw_items?select=name", token=mint(alice.id, aud="someone-else"))
    assert res.status_code == 200 and len(res.json()) == 4


def test_service_role_key_bypasses_rls(rest, stack_env, items):
    res = rest("GET", "gw_items?select=name", apikey=stack_env.service_key, token=stack_env.service_key)
    assert res.status_code == 200 and len(res.json()) == 6


def test_jwks_publishes_public_keys_only(stack_env):
    res = requests.get(f"{stack_env.supabase_url}/auth/v1/.well-known/jwks.json", timeout=10)
    keys = res.json()["keys"]
    es = [k for k in keys if k["alg"] == "ES256"]
    assert len(es) == 1 and {"kty", "crv", "x", "y", "kid", "alg", "use"} <= set(es[0])
    assert es[0]["kty"] == "EC" and es[0]["crv"] == "P-256" and es[0]["use"] == "sig"
    assert all("d" not in k for k in keys)
    assert any(k["alg"] == "RS256" and k["kty"] == "RSA" for k in keys)
