"""HTTP front: routing, the per-request transaction with the caller's role, one log line per request."""

from __future__ import annotations

import json
import sys
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg
from psycopg import sql

from . import errors, grammar, proxy, rpc, tables
from .auth import ANON_ROLE, Verifier, role_of
from .config import Config
from .errors import ApiError
from .exchange import Request, Response
from .pool import Pool
from .stall import Staller

REST_PREFIX = "/rest/v1/"
JWKS_PATH = "/auth/v1/.well-known/jwks.json"
MAX_BODY = 10 * 1024 * 1024

# What Supabase's gateway answers to browsers; the worker does its own CORS.
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, HEAD, POST, PATCH, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, x-client-info, apikey, content-type, prefer, range, range-unit, accept-profile, content-profile",
    "Access-Control-Expose-Headers": "Content-Range, Range-Unit, Preference-Applied",
}

_TABLE_METHODS = {"GET": tables.read, "HEAD": tables.read, "POST": tables.insert,
                  "PATCH": tables.update, "DELETE": tables.delete}


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, config: Config):
        self.config = config
        self.verifier = Verifier(config.anon_key, config.service_key, config.jwt_secret, config.jwk_paths)
        self.pool = None if config.upstream else Pool(config.db_url, config.pool_size)
        self.staller = Staller(config.stall_after_commit_ms)
        super().__init__((config.host, config.port), Handler)

    def server_close(self):
        super().server_close()
        if self.pool:
            self.pool.close()


def _cookies(header: str | None) -> dict[str, str]:
    """The Cookie header as PostgREST reads it (wai's parseCookies): `;`-separated pairs split at the first `=`,
    leading spaces dropped from the name, a later duplicate winning."""
    cookies: dict[str, str] = {}
    for part in (header or "").split(";"):
        if part:
            name, _, value = part.partition("=")
            cookies[name.lstrip(" ")] = value
    return cookies


def _settings(req: Request, path: str) -> list:
    """The transaction-local settings PostgREST makes: request.headers is every header but Cookie, lower-case names
    (a JSON object), and the cookies go to request.cookies."""
    headers = {name: value for name, value in req.headers.items() if name != "cookie"}
    cookies = _cookies(req.headers.get("cookie"))
    return [json.dumps(req.claims), req.method, path, json.dumps(headers), json.dumps(cookies)]


def run_rest(gw: Gateway, method: str, route: str, req: Request) -> Response:
    """One request, one transaction: role and claims set locally, then the statement, then commit."""
    if route.startswith("rpc/"):
        if method not in ("GET", "POST"):
            raise ApiError(405, "PGRST101", f"Cannot use the {method} method on RPC")
        req.name, handler = route[4:], rpc.call
    else:
        handler = _TABLE_METHODS.get(method)
        if handler is None:
            raise ApiError(405, "PGRST117", f"Unsupported HTTP method: {method}")
        req.name = route
    if not req.name or "/" in req.name:
        raise errors.table_not_found(req.name)
    authed = req.role != ANON_ROLE
    with gw.pool.connection() as conn:
        conn.execute("BEGIN READ ONLY" if method in ("GET", "HEAD") else "BEGIN")
        try:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(req.role)))
                cur.execute("SELECT set_config('request.jwt.claims', %s, true), set_config('request.method', %s, true),"
                            " set_config('request.path', %s, true), set_config('request.headers', %s, true),"
                            " set_config('request.cookies', %s, true)", _settings(req, "/" + route))
                resp = handler(cur, req)
            conn.execute("COMMIT")
            return resp
        except psycopg.Error as err:
            _rollback(conn)
            raise errors.from_pg(err, authed)
        except BaseException:
            _rollback(conn)
            raise


def _rollback(conn) -> None:
    try:
        conn.execute("ROLLBACK")
    except psycopg.Error:
        conn.close()  # the pool drops it


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle's algorithm on,
    # the body waits for the client's delayed ACK (~40 ms per request).
    disable_nagle_algorithm = True
    server: Gateway

    def do_GET(self):
        self.dispatch()

    do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format, *args):  # replaced by one structured line per request
        pass

    def dispatch(self):
        started = time.monotonic()
        self.role = "-"  # set by route() once the token is verified, so errors are logged with it
        url = urlsplit(self.path)
        body = b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise ApiError(413, "PGRST102", "Request body too large")
            body = self.rfile.read(length) if length else b""
            resp = self.route(url, body)
        except ApiError as err:
            resp = Response(err.status, err.body(), {"Content-Type": "application/json; charset=utf-8", **err.headers})
        except Exception:  # a gateway bug must still answer, and be visible in the log
            traceback.print_exc()
            resp = Response.json(500, {"code": "PGRSTX00", "message": "Internal gateway error", "details": None, "hint": None})
        if url.path.startswith(REST_PREFIX) or url.path.startswith("/auth/v1/"):
            resp.headers = {**CORS, **resp.headers}
        stalled = ""
        if url.path.startswith(REST_PREFIX):
            delay = self.server.staller.delay_s(self.command, unquote(url.path[len(REST_PREFIX):]), body, resp.status)
            if delay:
                time.sleep(delay)  # the transaction is committed: the caller times out after the write
                stalled = f" stalled {delay * 1000:.0f}ms after commit"
        try:
            self.send(resp)
        except (BrokenPipeError, ConnectionResetError):
            if not stalled:
                raise
            self.close_connection = True  # the caller gave up on the stalled answer, as intended
        ms = (time.monotonic() - started) * 1000
        sys.stderr.write(f"{self.command} {url.path} role={self.role} {resp.status} {ms:.1f}ms{stalled}\n")
        sys.stderr.flush()

    def route(self, url, body: bytes) -> Response:
        path, method = url.path, self.command
        if path == "/health":
            return Response.json(200, {"status": "ok"})
        if path == JWKS_PATH:
            return Response.json(200, self.server.verifier.jwks())
        if not path.startswith(REST_PREFIX):
            return Response.json(404, {"message": "no Route matched with those values"})
        if method == "OPTIONS":
            return Response(200)
        params = parse_qsl(url.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        apikey = self.server.verifier.check_apikey(headers, dict(params))
        route = unquote(path[len(REST_PREFIX):])
        if self.server.config.upstream:
            rest = path[len(REST_PREFIX) - 1:] + (f"?{url.query}" if url.query else "")
            self.role = "proxied"
            return proxy.forward(self.server.config.upstream, method, rest, dict(self.headers.items()), body, apikey)
        claims = self.server.verifier.claims(self.headers.get("Authorization"), apikey)
        role = self.role = role_of(claims)
        prefer = grammar.parse_prefer(self.headers.get_all("Prefer") or [])
        req = Request(method, "", [(k, v) for k, v in params if k != "apikey"], headers, body, prefer, claims, role)
        return run_rest(self.server, method, route, req)

    def send(self, resp: Response) -> None:
        self.send_response(resp.status)
        for key, value in resp.headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(resp.body)))
        self.end_headers()
        if self.command != "HEAD" and resp.body:
            self.wfile.write(resp.body)
