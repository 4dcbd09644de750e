"""Token verification in the real worker: bad tokens are 401 with the contract body; HS256, ES256 (via the
gateway's JWKS) and RS256 tokens are accepted and act as their subject all the way to Postgres."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from pathlib import Path

import pytest
import requests

import tokens
from support.api import Api
from support.contract import assert_error


def assert_401(res) -> None:
    assert_error(res, 401, "unauthorized")
    challenge = res.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer"), challenge
    assert 'error="invalid_token"' in challenge, challenge


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_for(sub: str, stack_env, **overrides) -> dict:
    claims = tokens.access_token_claims(sub, role="authenticated", issuer=stack_env.issuer, exp_in=3600)
    claims.update(overrides)
    return claims


@pytest.fixture(scope="module")
def user(make_user) -> str:
    return make_user()


@pytest.mark.parametrize("header", [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Bearer garbage",
    "Bearer a.b.c",
    "Bearer " + "x" * 20000,
])
def test_missing_or_garbage_credentials_are_401(anon, header):
    headers = {} if header is None else {"Authorization": header}
    assert_401(anon.get("/api/workflows", headers=headers))


@pytest.mark.parametrize("case", [
    "expired", "wrong_audience", "no_audience", "wrong_issuer", "role_anon", "role_service_role", "not_yet_valid",
])
def test_invalid_claims_are_401(worker_url, mint, user, case):
    now = int(time.time())
    kwargs = {
        "expired": {"exp_in": -3600},
        "wrong_audience": {"aud": "some-other-app"},
        "no_audience": {"aud": None},
        "wrong_issuer": {"iss": "https://evil.example/auth/v1"},
        "role_anon": {"role": "anon"},
        "role_service_role": {"role": "service_role"},
        "not_yet_valid": {"nbf": now + 3600},
    }[case]
    assert_401(Api(worker_url, mint(user, **kwargs)).get("/api/workflows"))


@pytest.mark.parametrize("sub", ["admin", "", None, 42])
def test_subject_must_be_a_uuid(worker_url, stack_env, sub):
    claims = claims_for("placeholder", stack_env)
    if sub is None:
        del claims["sub"]
    else:
        claims["sub"] = sub
    token = tokens.sign(claims, "HS256", secret=stack_env.jwt_secret)
    assert_401(Api(worker_url, token).get("/api/workflows"))


def test_hs256_signed_with_another_secret_is_401(worker_url, stack_env, user):
    forged = tokens.sign(claims_for(user, stack_env), "HS256", secret=tokens.new_jwt_secret())
    assert_401(Api(worker_url, forged).get("/api/workflows"))


def test_alg_none_is_401(worker_url, stack_env, user):
    header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64url(json.dumps(claims_for(user, stack_env)).encode())
    assert_401(Api(worker_url, f"{header}.{payload}.").get("/api/workflows"))


def test_tampered_payload_is_401(worker_url, stack_env, mint, user, make_user):
    header, _, signature = mint(user).split(".")
    payload = b64url(json.dumps(claims_for(make_user(), stack_env)).encode())
    assert_401(Api(worker_url, f"{header}.{payload}.{signature}").get("/api/workflows"))


def test_api_key_is_not_a_user_token(worker_url, stack_env):
    # The anon and service_role API keys are valid HS256 JWTs, but not user sessions.
    assert_401(Api(worker_url, stack_env.anon_key).get("/api/workflows"))
    assert_401(Api(worker_url, stack_env.service_key).get("/api/workflows"))


@pytest.mark.parametrize("alg", ["HS256", "ES256", "RS256"])
def test_each_accepted_algorithm_acts_as_its_subject(worker_url, mint, make_user, workflow_row, alg):
    uid = make_user()
    api = Api(worker_url, mint(uid, alg=alg))
    res = api.post("/api/workflows", json={"name": f"made with {alg}"})
    assert res.status_code == 201, f"{alg}: {res.status_code} {res.text}"
    wf = res.json()["workflow"]
    assert wf["user_id"] == uid
    assert workflow_row(wf["id"])["user_id"] == uid
    assert api.list_ids() == [wf["id"]]
    assert api.get(f"/api/workflows/{wf['id']}").status_code == 200


def test_es256_token_header_names_the_stack_key(stack_env, mint, user):
    # The acceptance above is only meaningful if the worker had to pick the key from the JWKS by kid.
    header = json.loads(base64.urlsafe_b64decode(mint(user, alg="ES256").split(".")[0] + "=="))
    local_kid = tokens.load_private_jwk(os.environ["LOCAL_JWK_PATH"])["kid"]
    assert header == {"alg": "ES256", "kid": local_kid, "typ": "JWT"}
    jwks = requests.get(f"{stack_env.supabase_url}/auth/v1/.well-known/jwks.json", timeout=10).json()
    assert local_kid in {k.get("kid") for k in jwks["keys"]}
    assert all("d" not in k for k in jwks["keys"]), "the JWKS must publish public keys only"


def test_worker_fetches_the_jwks_from_the_gateway(worker_url, mint, user):
    log = Path(os.environ.get("GATEWAY_LOG", ""))
    if not log.is_file():
        pytest.skip("GATEWAY_LOG not available")
    assert Api(worker_url, mint(user, alg="ES256")).get("/api/workflows").status_code == 200
    assert "GET /auth/v1/.well-known/jwks.json role=- 200" in log.read_text(errors="replace")


def test_es256_with_unknown_kid_is_401(worker_url, mint, user):
    token = mint(user, alg="ES256", headers={"kid": "no-such-key-in-the-jwks"})
    assert_401(Api(worker_url, token).get("/api/workflows"))


def test_es256_signed_by_a_foreign_key_with_the_right_kid_is_401(worker_url, stack_env, user):
    real_kid = tokens.load_private_jwk(os.environ["LOCAL_JWK_PATH"])["kid"]
    foreign = tokens.new_private_jwk("ES256")
    foreign["kid"] = real_kid
    token = tokens.sign(claims_for(user, stack_env), "ES256", jwk=foreign)
    assert_401(Api(worker_url, token).get("/api/workflows"))


def test_rs256_key_used_as_es256_is_401(worker_url, stack_env, user):
    rsa_kid = tokens.load_private_jwk(os.environ["LOCAL_RSA_JWK_PATH"])["kid"]
    foreign = tokens.new_private_jwk("ES256")
    token = tokens.sign(claims_for(user, stack_env), "ES256", jwk=foreign, headers={"kid": rsa_kid})
    assert_401(Api(worker_url, token).get("/api/workflows"))


def test_hs256_signed_with_a_public_key_is_401(worker_url, stack_env, user):
    public = tokens.public_jwk(tokens.load_private_jwk(os.environ["LOCAL_RSA_JWK_PATH"]))
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": public["kid"]}).encode())
    payload = b64url(json.dumps(claims_for(user, stack_env)).encode())
    signing_input = f"{header}.{payload}".encode()
    for secret in (json.dumps(public).encode(), public["n"].encode()):
        signature = b64url(hmac.new(secret, signing_input, hashlib.sha256).digest())
        assert_401(Api(worker_url, f"{header}.{payload}.{signature}").get("/api/workflows"))


def test_every_protected_route_demands_a_token(anon):
    wid = "6f1c2d3e-4b5a-4789-9abc-def012345678"
    for method, path in (("GET", "/api/workflows"), ("POST", "/api/workflows"), ("PUT", "/api/workflows"),
                         ("DELETE", f"/api/workflows?id={wid}"), ("GET", f"/api/workflows/{wid}"),
                         ("PUT", f"/api/workflows/{wid}"), ("DELETE", f"/api/workflows/{wid}"),
                         ("POST", "/api/workflows/validate")):
        assert_401(anon.call(method, path, json={"name": "x"} if method in ("POST", "PUT") else None))
