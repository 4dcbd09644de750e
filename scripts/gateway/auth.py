"""Who is calling: Supabase's ``apikey`` check, then PostgREST's JWT verification."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jwt
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from .errors import ApiError, invalid_token

# PostgREST tolerates this much clock skew on exp/nbf/iat.
CLOCK_SKEW_S = 30
ANON_ROLE = "anon"

_PRIVATE_FIELDS = {"d", "p", "q", "dp", "dq", "qi", "oth", "key_ops"}


class Verifier:
    """Holds the API keys, the HS256 secret and the local asymmetric keys."""

    def __init__(self, anon_key: str, service_key: str, jwt_secret: str, jwk_paths: tuple[str, ...] = ()):
        self.api_keys = {anon_key, service_key}
        self.secret = jwt_secret
        self.public_jwks: list[dict] = []
        self._keys: list[tuple[dict, object]] = []  # (public jwk, verifying key)
        for path in jwk_paths:
            private = json.loads(Path(path).read_text())
            public = {k: v for k, v in private.items() if k not in _PRIVATE_FIELDS}
            algo = ECAlgorithm if public["kty"] == "EC" else RSAAlgorithm
            self.public_jwks.append(public)
            self._keys.append((public, algo.from_jwk(json.dumps(public))))

    def jwks(self) -> dict:
        return {"keys": self.public_jwks}

    def check_apikey(self, headers, query: dict[str, str]) -> str:
        """The API key, as Supabase's gateway demands it on /rest/v1 (header or ``apikey`` URL param)."""
        key = headers.get("apikey") or query.get("apikey")
        if not key:
            raise ApiError(401, None, "No API key found in request", body={
                "message": "No API key found in request",
                "hint": "No `apikey` request header or url param was found."})
        if key not in self.api_keys:
            raise ApiError(401, None, "Invalid API key", body={
                "message": "Invalid API key",
                "hint": "Double check your Supabase `anon` or `service_role` API key."})
        return key

    def claims(self, authorization: str | None, apikey: str) -> dict:
        """Verified claims. Without an Authorization header the API key is the token, as on Supabase."""
        if authorization is None:
            token = apikey
        else:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer":
                raise invalid_token("PGRST301", "Expected 3 parts in JWT; got 1")
            token = token.strip()
            if not token:
                raise invalid_token("PGRST301", "Empty JWT is sent in Authorization header")
        return self.verify(token)

    def verify(self, token: str) -> dict:
        parts = token.split(".")
        if len(parts) != 3:
            raise invalid_token("PGRST301", f"Expected 3 parts in JWT; got {len(parts)}")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise invalid_token("PGRST301", "JWT couldn't be decoded")
        alg = header.get("alg")
        key = self._key_for(alg, header.get("kid"))
        try:
            claims = jwt.decode(token, key, algorithms=[alg], options={
                "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                "verify_aud": False, "verify_iss": False})
        except jwt.InvalidSignatureError:
            raise invalid_token("PGRST301", "JWT cryptographic operation failed")
        except jwt.PyJWTError:
            raise invalid_token("PGRST301", "JWT couldn't be decoded")
        check_time_claims(claims)
        return claims

    def _key_for(self, alg, kid):
        if alg == "HS256":
            if not self.secret:
                raise invalid_token("PGRST301", "No suitable key or wrong key type", "No HS256 secret configured")
            return self.secret
        kty = {"ES256": "EC", "RS256": "RSA"}.get(alg)
        if kty is None:  # includes "none" and every HMAC variant we do not hold a key for
            raise invalid_token("PGRST301", "Wrong or unsupported encoding algorithm", f"Unsupported algorithm: {alg}")
        for public, key in self._keys:
            if public["kty"] == kty and (kid is None or public.get("kid") == kid):
                return key
        raise invalid_token("PGRST301", "No suitable key or wrong key type", "None of the keys was able to decode the JWT")


def check_time_claims(claims: dict) -> None:
    """exp/nbf/iat as PostgREST checks them (PGRST303, with clock skew)."""
    now = time.time()
    for name in ("exp", "nbf", "iat"):
        if name in claims and not isinstance(claims[name], (int, float)):
            raise invalid_token("PGRST303", f"The JWT '{name}' claim must be a number")
    if "exp" in claims and now - CLOCK_SKEW_S > claims["exp"]:
        raise invalid_token("PGRST303", "JWT expired")
    if "nbf" in claims and now + CLOCK_SKEW_S < claims["nbf"]:
        raise invalid_token("PGRST303", "JWT not yet valid")
    if "iat" in claims and now + CLOCK_SKEW_S < claims["iat"]:
        raise invalid_token("PGRST303", "JWT issued at future")
    aud = claims.get("aud")
    if aud is not None and not (isinstance(aud, str) or (isinstance(aud, list) and all(isinstance(a, str) for a in aud))):
        raise invalid_token("PGRST303", "The JWT 'aud' claim must be a string or an array of strings")


def role_of(claims: dict) -> str:
    role = claims.get("role")
    return role if isinstance(role, str) and role else ANON_ROLE
