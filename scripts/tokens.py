"""Local stand-in for Supabase Auth's signing side: key generation and token minting.

Importable (``from tokens import mint``) and a CLI::

    python scripts/tokens.py --sub <uuid> [--alg HS256|ES256|RS256] [--role ...] [--exp-in 3600]

Configuration comes from the stack environment (``stack.py`` exports it):
``SUPABASE_JWT_SECRET`` (HS256), ``LOCAL_JWK_PATH`` (ES256 private JWK),
``LOCAL_RSA_JWK_PATH`` (RS256 private JWK) and ``JWT_ISSUER``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

# Supabase's legacy API keys are ten-year HS256 tokens; keep the same shape.
API_KEY_LIFETIME_S = 10 * 365 * 24 * 3600

ALGORITHMS = ("HS256", "ES256", "RS256")


def new_jwt_secret() -> str:
    """A random HS256 secret, longer than the 32 characters PostgREST requires."""
    return secrets.token_urlsafe(48)


def new_private_jwk(alg: str) -> dict:
    """A fresh private JWK (with ``kid``, ``alg``, ``use``) for ES256 or RS256."""
    if alg == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
        jwk = json.loads(ECAlgorithm.to_jwk(key))
    elif alg == "RS256":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        jwk = json.loads(RSAAlgorithm.to_jwk(key))
    else:
        raise ValueError(f"no key pair for {alg}")
    jwk.update({"kid": f"local-{alg.lower()}-{uuid.uuid4().hex[:12]}", "alg": alg, "use": "sig"})
    return jwk


def write_private_jwk(path: Path, jwk: dict) -> None:
    """Save a private JWK readable only by its owner."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jwk, indent=2) + "\n")
    path.chmod(0o600)


def load_private_jwk(path: str | Path) -> dict:
    return json.loads(Path(path).read_text())


def public_jwk(private_jwk: dict) -> dict:
    """The public half of a private JWK, as a JWKS endpoint publishes it."""
    private_only = {"d", "p", "q", "dp", "dq", "qi", "oth", "key_ops"}
    return {k: v for k, v in private_jwk.items() if k not in private_only}


def signing_key_from_jwk(jwk: dict):
    """A cryptography private key object from a private JWK."""
    algo = ECAlgorithm if jwk["kty"] == "EC" else RSAAlgorithm
    return algo.from_jwk(json.dumps(jwk))


def api_key(role: str, secret: str, *, now: int | None = None) -> str:
    """An anon or service_role API key, shaped like the ones Supabase issues."""
    iat = int(time.time()) if now is None else now
    claims = {"iss": "supabase", "ref": "local", "role": role, "iat": iat, "exp": iat + API_KEY_LIFETIME_S}
    return jwt.encode(claims, secret, algorithm="HS256")


def access_token_claims(sub: str, *, role: str, issuer: str, exp_in: int, email: str | None = None) -> dict:
    """Claims like the access tokens Supabase Auth issues for a password sign-in."""
    now = int(time.time())
    return {
        "iss": issuer,
        "sub": sub,
        "aud": "authenticated",
        "exp": now + exp_in,
        "iat": now,
        "email": email or "",
        "phone": "",
        "app_metadata": {"provider": "email", "providers": ["email"]},
        "user_metadata": {},
        "role": role,
        "aal": "aal1",
        "amr": [{"method": "password", "timestamp": now}],
        "session_id": str(uuid.uuid4()),
        "is_anonymous": False,
    }


def sign(claims: dict, alg: str, *, secret: str | None = None, jwk: dict | None = None, headers: dict | None = None) -> str:
    """Sign claims with the HS256 secret or a private JWK (its ``kid`` goes in the header)."""
    if alg == "HS256":
        if not secret:
            raise ValueError("HS256 needs a secret (SUPABASE_JWT_SECRET)")
        return jwt.encode(claims, secret, algorithm="HS256", headers=headers)
    if jwk is None:
        raise ValueError(f"{alg} needs a private JWK")
    hdrs = {"kid": jwk["kid"], **(headers or {})}
    return jwt.encode(claims, signing_key_from_jwk(jwk), algorithm=alg, headers=hdrs)


def _env(name: str) -> str:
    value = os.environ.get(name, "")
    if not value:
        raise RuntimeError(f"{name} is not set: run inside `scripts/stack.py run` or source .local/stack.env")
    return value


def mint(
    sub: str,
    *,
    role: str = "authenticated",
    alg: str = "HS256",
    exp_in: int = 3600,
    extra_claims: dict | None = None,
    headers: dict | None = None,
    email: str | None = None,
    **overrides,
) -> str:
    """A Supabase-like access token for ``sub`` signed with the stack's keys.

    ``overrides`` replace standard claims (``iss="evil"``, ``aud=...``); an
    override of ``None`` removes the claim. ``headers`` adds JOSE header fields
    (e.g. a foreign ``kid``). A negative ``exp_in`` gives an expired token.
    """
    if alg not in ALGORITHMS:
        raise ValueError(f"alg must be one of {ALGORITHMS}")
    claims = access_token_claims(sub, role=role, issuer=_env("JWT_ISSUER"), exp_in=exp_in, email=email)
    claims.update(extra_claims or {})
    for key, value in overrides.items():
        if value is None:
            claims.pop(key, None)
        else:
            claims[key] = value
    if alg == "HS256":
        return sign(claims, alg, secret=_env("SUPABASE_JWT_SECRET"), headers=headers)
    path_var = "LOCAL_JWK_PATH" if alg == "ES256" else "LOCAL_RSA_JWK_PATH"
    return sign(claims, alg, jwk=load_private_jwk(_env(path_var)), headers=headers)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Mint a local Supabase-like access token")
    parser.add_argument("--sub", required=True, help="user id (uuid)")
    parser.add_argument("--alg", default="HS256", choices=ALGORITHMS)
    parser.add_argument("--role", default="authenticated")
    parser.add_argument("--email", default=None)
    parser.add_argument("--exp-in", type=int, default=3600, help="seconds until expiry (negative: already expired)")
    args = parser.parse_args(argv)
    try:
        print(mint(args.sub, role=args.role, alg=args.alg, exp_in=args.exp_in, email=args.email))
    except (RuntimeError, ValueError) as err:
        print(f"tokens.py: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
