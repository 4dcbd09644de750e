"""Forwards /rest/v1 to a real PostgREST, as Supabase's gateway does, once the API key passed."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from .errors import ApiError
from .exchange import Response

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"}


def forward(upstream: str, method: str, path_and_query: str, headers: dict[str, str], body: bytes,
            apikey: str) -> Response:
    base = urlsplit(upstream)
    out = {k: v for k, v in headers.items() if k.lower() not in _HOP_BY_HOP}
    if "authorization" not in {k.lower() for k in out}:
        out["Authorization"] = f"Bearer {apikey}"  # Supabase sends the key as the token when none is given
    conn = http.client.HTTPConnection(base.hostname, base.port or 80, timeout=60)
    try:
        conn.request(method, base.path.rstrip("/") + path_and_query, body=body or None, headers=out)
        res = conn.getresponse()
        payload = res.read()
        kept = {k: v for k, v in res.getheaders() if k.lower() not in _HOP_BY_HOP}
        return Response(res.status, payload, kept)
    except OSError as err:
        raise ApiError(503, "PGRST000", "Database connection error. Retrying the connection.", str(err))
    finally:
        conn.close()
