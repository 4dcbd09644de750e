"""The local Supabase-compatible platform: Postgres 15, the gateway and `wrangler dev`, started and stopped as one.

    stack.py up                              # `make dev`: .local/dev, worker on :8787, foreground until Ctrl-C
    stack.py run [--no-worker] -- CMD ...    # `make test`: throwaway stack on free ports, runs CMD, tears down

Everything is importable: ``Stack(dir, ...).start()`` gives ``stack.env``; ``stack.stop()`` undoes it.

Test-only switch: ``GATEWAY_STALL_AFTER_COMMIT_MS=<ms>`` in this script's environment is handed to the gateway (see
``scripts/gateway/stall.py``: a committed insert marked ``[stall-after-commit]`` is answered that much later, once) and
exported in ``stack.env``, so tests can see what the gateway does; ``scripts/test.sh`` sets it for the whole run.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import hashlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tokens  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LOCAL = ROOT / ".local"
NODE_BIN = ROOT / "node_modules" / ".bin"
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
DEV_WORKER_PORT = 8787
DEMO_USER_ID = "d3e0d3e0-0000-4000-8000-000000000001"
DEMO_EMAIL = "demo@example.com"
DEFAULT_ORIGINS = "http://localhost:3000,http://127.0.0.1:5173"
WORKER_DEADLINE_S = float(os.environ.get("STACK_WORKER_TIMEOUT", "180"))


class StackError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_busy(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_http(url: str, deadline_s: float, proc: subprocess.Popen | None = None, what: str = "",
              poll_s: float = 0.25) -> None:
    """Poll ``url`` every ``poll_s`` until it answers 200, the process dies, or the deadline passes."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc is not None and proc.poll() is not None:
            raise StackError(f"{what} exited with code {proc.returncode} before answering {url}")
        try:
            with urllib.request.urlopen(url, timeout=2) as res:
                if res.status == 200:
                    return
        except OSError:
            pass
        time.sleep(poll_s)
    raise StackError(f"{what} did not answer 200 at {url} within {deadline_s:.0f}s")


def _tool_env() -> dict:
    env = dict(os.environ)
    env["PATH"] = f"{NODE_BIN}{os.pathsep}{env.get('PATH', '')}"  # wrangler 4 needs node 22 from node_modules
    env["WRANGLER_SEND_METRICS"] = "false"
    env["SUPABASE_TELEMETRY_DISABLED"] = "1"
    return env


def _pg_root(stack_dir: Path) -> Path:
    """Where the cluster lives: `<stack dir>/pg`, unless we are root and the `postgres` user cannot reach
    that folder (a checkout under /root, say); then a folder of its own under /tmp, named after the stack."""
    inside = stack_dir / "pg"
    if os.geteuid() != 0:
        return inside
    probe = subprocess.run(["test", "-x", str(stack_dir.parent)], user="postgres", capture_output=True)
    if probe.returncode == 0:
        return inside
    tag = hashlib.sha256(str(stack_dir.resolve()).encode()).hexdigest()[:12]
    return Path("/tmp") / f"edgeflow-pg-{tag}"


class Postgres:
    """A private cluster; as root, owned by and run as the `postgres` user (initdb refuses root)."""

    def __init__(self, data_dir: Path, log: Path, port: int, fast: bool):
        self.data_dir, self.log, self.port, self.fast = data_dir, log, port, fast
        self.as_postgres = os.geteuid() == 0

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kwargs = {"user": "postgres", "group": "postgres", "extra_groups": []} if self.as_postgres else {}
        return subprocess.run([str(PG_BIN / args[0]), *args[1:]], check=check, capture_output=True, text=True,
                              cwd="/", start_new_session=True, **kwargs)

    def start(self) -> None:
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if self.as_postgres:
            shutil.chown(self.data_dir.parent, "postgres", "postgres")
        if not (self.data_dir / "PG_VERSION").exists():
            self._run("initdb", "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                      "--locale=C.UTF-8", "--no-instructions")
        elif self._run("pg_ctl", "status", "-D", str(self.data_dir), check=False).returncode == 0:
            self.stop()  # left running by a killed earlier run
        opts = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {shlex.quote(str(self.data_dir.parent))}"
        if self.fast:  # throwaway test clusters need no durability
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        res = self._run("pg_ctl", "start", "-D", str(self.data_dir), "-l", str(self.log), "-o", opts, "-w", "-t", "60",
                        check=False)
        if res.returncode != 0:
            raise StackError(f"pg_ctl start failed: {res.stdout}{res.stderr}")

    def stop(self) -> None:
        if not (self.data_dir / "postmaster.pid").exists():
            return
        res = self._run("pg_ctl", "stop", "-D", str(self.data_dir), "-m", "fast", "-w", "-t", "30", check=False)
        pidfile = self.data_dir / "postmaster.pid"
        if res.returncode != 0 and pidfile.exists():
            try:
                os.kill(int(pidfile.read_text().split()[0]), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    @property
    def superuser_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"


class Stack:
    """Postgres + bootstrap + migrations + demo user + gateway (+ worker), under one directory."""

    def __init__(self, directory: Path, *, worker: bool = True, worker_port: int | None = None, throwaway: bool = True):
        self.dir = directory
        self.worker = worker
        self.worker_port = worker_port
        self.throwaway = throwaway
        self.procs: list[tuple[str, subprocess.Popen, Path]] = []
        self.logs: dict[str, Path] = {}
        self.env: dict[str, str] = {}
        self.pg: Postgres | None = None

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> dict[str, str]:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        self.logs = {n: self.dir / f"{n}.log" for n in ("migrations", "gateway", "postgrest", "worker")}
        self.pg_root = _pg_root(self.dir)
        self.logs["postgres"] = self.pg_root / "postgres.log"  # written by the cluster's owner
        if self.worker and self.worker_port is None:
            self.worker_port = free_port()
        if self.worker and port_busy(self.worker_port):
            raise StackError(f"port {self.worker_port} is busy: stop whatever listens there (another `make dev`?)")
        self._keys()
        self.pg = Postgres(self.pg_root / "data", self.logs["postgres"], free_port(), fast=self.throwaway)
        self._step("postgres", self.pg.start)
        password = self._step("bootstrap", self._bootstrap)
        self._step("migrations", self._migrate)
        self._step("demo user", self._demo_user)
        self._step("gateway", lambda: self._gateway(password))
        if self.worker:
            self._step("worker", self._worker)
        self._write_env()
        return self.env

    def stop(self) -> None:
        for name, proc, _ in reversed(self.procs):
            _terminate(proc, group=(name == "worker"))
        self.procs.clear()
        if self.pg is not None:
            self.pg.stop()
        if self.throwaway and os.environ.get("STACK_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
            shutil.rmtree(self.pg_root, ignore_errors=True)

    def _step(self, what: str, fn):
        started = time.monotonic()
        print(f"stack: {what}...", file=sys.stderr, flush=True)
        try:
            result = fn()
        except (StackError, subprocess.CalledProcessError, psycopg.Error, OSError) as err:
            detail = err.stderr if isinstance(err, subprocess.CalledProcessError) else ""
            raise StackError(f"{what} failed: {err}\n{detail or ''}".rstrip()) from err
        print(f"stack: {what} ready ({time.monotonic() - started:.1f}s)", file=sys.stderr, flush=True)
        return result

    def dead_component(self) -> str | None:
        for name, proc, _ in self.procs:
            if proc.poll() is not None:
                return name
        return None

    def report_logs(self) -> None:
        for name, path in self.logs.items():
            if path.exists():
                print(f"--- {name}: {path} (last 40 lines) ---\n{tail(path)}", file=sys.stderr)

    # -- components ----------------------------------------------------------------
    def _keys(self) -> None:
        """JWT secret and local signing keys; a reused dev directory keeps them so saved tokens stay valid."""
        keys = self.dir / "keys"
        keys.mkdir(parents=True, exist_ok=True)
        secret_file = keys / "jwt_secret"
        if not secret_file.exists():
            secret_file.write_text(tokens.new_jwt_secret())
            secret_file.chmod(0o600)
        self.secret = secret_file.read_text().strip()
        self.jwk_paths = {}
        for alg in ("ES256", "RS256"):
            path = keys / f"{alg.lower()}.jwk.json"
            if not path.exists():
                tokens.write_private_jwk(path, tokens.new_private_jwk(alg))
            self.jwk_paths[alg] = path
        self.anon_key = tokens.api_key("anon", self.secret)
        self.service_key = tokens.api_key("service_role", self.secret)

    def _bootstrap(self) -> str:
        password = tokens.new_jwt_secret()[:32]
        with psycopg.connect(self.pg.superuser_url, autocommit=True) as conn:
            conn.execute((ROOT / "supabase" / "local" / "bootstrap.sql").read_text())
            conn.execute(sql.SQL("ALTER ROLE authenticator WITH LOGIN PASSWORD {}").format(sql.Literal(password)))
        return password

    def _migrate(self) -> None:
        with open(self.logs["migrations"], "ab") as log:
            res = subprocess.run([str(NODE_BIN / "supabase"), "db", "push", "--yes", "--db-url", self.pg.superuser_url],
                                 cwd=ROOT, env=_tool_env(), stdout=log, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, timeout=600)
        if res.returncode != 0:
            raise StackError(f"supabase db push exited {res.returncode}:\n{tail(self.logs['migrations'])}")

    def _demo_user(self) -> None:
        with psycopg.connect(self.pg.superuser_url, autocommit=True) as conn:
            conn.execute("INSERT INTO auth.users (id, email) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING",
                         [DEMO_USER_ID, DEMO_EMAIL])

    def _spawn(self, name: str, argv: list[str], env: dict, cwd: Path) -> subprocess.Popen:
        log = open(self.logs[name], "ab")
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.procs.append((name, proc, self.logs[name]))
        return proc

    @property
    def stall_after_commit_ms(self) -> str:
        """The gateway's test-only stall (``stall.py``), passed through from this script's environment; "" when off."""
        return os.environ.get("GATEWAY_STALL_AFTER_COMMIT_MS", "").strip()

    def _gateway(self, password: str) -> None:
        port = free_port()
        self.gateway_url = f"http://127.0.0.1:{port}"
        auth_url = f"postgresql://authenticator:{password}@127.0.0.1:{self.pg.port}/postgres?sslmode=disable"
        env = dict(os.environ, GATEWAY_DB_URL=auth_url, SUPABASE_JWT_SECRET=self.secret,
                   SUPABASE_ANON_KEY=self.anon_key, SUPABASE_SERVICE_ROLE_KEY=self.service_key,
                   GATEWAY_JWK_PATHS=os.pathsep.join(str(p) for p in self.jwk_paths.values()),
                   GATEWAY_PORT=str(port), PYTHONUNBUFFERED="1")
        env.pop("GATEWAY_UPSTREAM", None)
        env["GATEWAY_STALL_AFTER_COMMIT_MS"] = self.stall_after_commit_ms
        postgrest = os.environ.get("POSTGREST_BIN") or shutil.which("postgrest")
        if postgrest:
            env["GATEWAY_UPSTREAM"] = self._postgrest(postgrest, auth_url)
        proc = self._spawn("gateway", [sys.executable, "-m", "gateway"], env, ROOT / "scripts")
        wait_http(f"{self.gateway_url}/health", 30, proc, "gateway")

    def _postgrest(self, binary: str, auth_url: str) -> str:
        """A real PostgREST behind the gateway; it verifies HS256 and the local keys through one JWKS."""
        port = free_port()
        oct_key = {"kty": "oct", "alg": "HS256", "k": _b64url(self.secret.encode())}
        public = [tokens.public_jwk(tokens.load_private_jwk(p)) for p in self.jwk_paths.values()]
        env = dict(os.environ, PGRST_DB_URI=auth_url, PGRST_DB_SCHEMAS="public", PGRST_DB_ANON_ROLE="anon",
                   PGRST_JWT_SECRET=json.dumps({"keys": [oct_key, *public]}), PGRST_SERVER_HOST="127.0.0.1",
                   PGRST_SERVER_PORT=str(port))
        proc = self._spawn("postgrest", [binary], env, ROOT)
        wait_http(f"http://127.0.0.1:{port}/", 30, proc, "postgrest")
        return f"http://127.0.0.1:{port}"

    def worker_vars(self) -> dict[str, str]:
        base = self.gateway_url
        values = {
            "SUPABASE_URL": base,
            "SUPABASE_ANON_KEY": self.anon_key,
            "SUPABASE_SERVICE_ROLE_KEY": self.service_key,
            "SUPABASE_JWT_SECRET": self.secret,
            "JWT_ISSUER": f"{base}/auth/v1",
            "JWT_AUDIENCE": "authenticated",
            "ALLOWED_ORIGINS": os.environ.get("STACK_ALLOWED_ORIGINS", DEFAULT_ORIGINS),
            "ALLOW_PRIVATE_TARGETS": "true",
        }
        prefix = "STACK_WORKER_VAR_"
        values.update({k[len(prefix):]: v for k, v in os.environ.items() if k.startswith(prefix) and len(k) > len(prefix)})
        return values

    def _worker(self) -> None:
        argv = [str(NODE_BIN / "wrangler"), "dev", "--ip", "127.0.0.1", "--port", str(self.worker_port),
                "--inspector-port", str(free_port()), "--persist-to", str(self.dir / "wrangler-state"),
                "--show-interactive-dev-session=false", "--test-scheduled"]
        for key, value in self.worker_vars().items():
            argv += ["--var", f"{key}:{value}"]
        env = _tool_env()
        env["CI"] = "1"  # no interactive prompts
        proc = self._spawn("worker", argv, env, ROOT)
        wait_http(f"http://127.0.0.1:{self.worker_port}/health", WORKER_DEADLINE_S, proc, "worker (wrangler dev)")

    def _write_env(self) -> None:
        issuer = f"{self.gateway_url}/auth/v1"
        os.environ["JWT_ISSUER"] = issuer
        demo_claims = tokens.access_token_claims(DEMO_USER_ID, role="authenticated", issuer=issuer,
                                                 exp_in=24 * 3600, email=DEMO_EMAIL)
        wv = self.worker_vars()
        self.env = {
            "STACK_DIR": str(self.dir),
            "WORKER_URL": f"http://127.0.0.1:{self.worker_port}" if self.worker else "",
            "SUPABASE_URL": self.gateway_url,
            "SUPABASE_ANON_KEY": self.anon_key,
            "SUPABASE_SERVICE_ROLE_KEY": self.service_key,
            "SUPABASE_JWT_SECRET": self.secret,
            "JWT_ISSUER": issuer,
            "JWT_AUDIENCE": "authenticated",
            "JWKS_URL": f"{self.gateway_url}/auth/v1/.well-known/jwks.json",
            "ALLOWED_ORIGINS": wv["ALLOWED_ORIGINS"],
            "DATABASE_URL": self.pg.superuser_url,
            "DEMO_USER_ID": DEMO_USER_ID,
            "DEMO_EMAIL": DEMO_EMAIL,
            "DEMO_TOKEN": tokens.sign(demo_claims, "HS256", secret=self.secret),
            "LOCAL_JWK_PATH": str(self.jwk_paths["ES256"]),
            "LOCAL_RSA_JWK_PATH": str(self.jwk_paths["RS256"]),
            "GATEWAY_LOG": str(self.logs["gateway"]),
            "GATEWAY_STALL_AFTER_COMMIT_MS": self.stall_after_commit_ms,
            "WORKER_LOG": str(self.logs["worker"]) if self.worker else "",
            "POSTGRES_LOG": str(self.logs["postgres"]),
        }
        lines = [f"{k}={shlex.quote(v)}" for k, v in self.env.items()]
        (self.dir / "stack.env").write_text("\n".join(lines) + "\n")


# -- extra workers (tests that need other settings) -------------------------------------

# The stack's variables an extra worker inherits, read back from the exported stack env.
EXTRA_WORKER_VARS = ("SUPABASE_URL", "SUPABASE_ANON_KEY", "SUPABASE_SERVICE_ROLE_KEY", "SUPABASE_JWT_SECRET",
                     "JWT_ISSUER", "JWT_AUDIENCE", "ALLOWED_ORIGINS")
EXTRA_WORKER_DEADLINE_S = float(os.environ.get("STACK_EXTRA_WORKER_TIMEOUT", "90"))


def _compatibility_date() -> str:
    import tomllib
    return tomllib.loads((ROOT / "wrangler.toml").read_text())["compatibility_date"]


def start_extra_worker(env: dict, overrides: dict, log_path) -> tuple[str, subprocess.Popen]:
    """A second `wrangler dev` on the already built worker, with the stack's vars plus ``overrides``.

    ``env`` is the stack environment (``stack.env`` / what ``stack.py run`` exports). Nothing is
    rebuilt: a throwaway config points at build/index.js and has no [build] section, so a test
    can run several instances side by side. Stop it with ``stop_extra_worker(proc)``.
    """
    missing = [k for k in EXTRA_WORKER_VARS if not env.get(k)]
    if missing:
        raise StackError(f"stack env lacks {', '.join(missing)}: start from `stack.py run` or stack.env")
    port = free_port()
    base = Path(env.get("STACK_DIR") or LOCAL) / f"extra-worker-{port}"
    base.mkdir(parents=True, exist_ok=True)
    config = base / "wrangler.toml"
    config.write_text(f'name = "edgeflow-extra-{port}"\n'
                      f'main = {json.dumps(str(ROOT / "build" / "index.js"))}\n'
                      f'compatibility_date = "{_compatibility_date()}"\n'
                      # Its own RUNS queue (local queues live inside each wrangler dev).
                      '[[queues.producers]]\nbinding = "RUNS"\nqueue = "edgeflow-runs"\n'
                      '[[queues.consumers]]\nqueue = "edgeflow-runs"\nmax_batch_size = 1\nmax_batch_timeout = 1\n')
    values = {k: env[k] for k in EXTRA_WORKER_VARS}
    values["ALLOW_PRIVATE_TARGETS"] = "true"
    values.update({k: str(v) for k, v in overrides.items()})
    url, proc, seconds = start_wrangler(base, port, values, log_path)
    proc.started_in_s = seconds  # spawn to first answer, for benchmarks
    return url, proc


def start_wrangler(base: Path, port: int, values: dict, log_path, what: str = "extra worker (wrangler dev)",
                   deadline_s: float = EXTRA_WORKER_DEADLINE_S) -> tuple[str, subprocess.Popen, float]:
    """`wrangler dev` with ``base/wrangler.toml`` on ``port`` and ``values`` as vars, in its own process group.

    Waits for ``GET /health`` to answer 200 and returns the URL, the process and the seconds from the spawn to
    that first answer. Stop it with ``stop_extra_worker(proc)``.
    """
    argv = [str(NODE_BIN / "wrangler"), "dev", "--config", str(base / "wrangler.toml"), "--ip", "127.0.0.1",
            "--port", str(port), "--inspector-port", str(free_port()), "--persist-to", str(base / "state"),
            "--show-interactive-dev-session=false", "--test-scheduled"]
    for key, value in values.items():
        argv += ["--var", f"{key}:{value}"]
    tool_env = _tool_env()
    tool_env["CI"] = "1"  # no interactive prompts
    started = time.monotonic()
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(argv, cwd=base, env=tool_env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/health", deadline_s, proc, what, poll_s=0.02)
    except StackError as err:
        stop_extra_worker(proc)
        raise StackError(f"{err}\n{tail(Path(log_path))}") from err
    return url, proc, time.monotonic() - started


def stop_extra_worker(proc: subprocess.Popen) -> None:
    """Stops a worker from ``start_extra_worker`` with its whole process group (workerd included)."""
    _terminate(proc, group=True)


def kill_extra_worker(proc: subprocess.Popen) -> None:
    """Kills a worker from ``start_extra_worker`` at once (SIGKILL to its process group), as a crash would:
    nothing it had in flight completes."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    proc.wait(timeout=10)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _terminate(proc: subprocess.Popen, group: bool, grace_s: float = 10) -> None:
    """SIGTERM (to the whole process group for wrangler, whose workerd children would survive it), then SIGKILL."""
    if proc.poll() is not None and not group:
        return
    send = (lambda sig: os.killpg(proc.pid, sig)) if group else proc.send_signal
    try:
        send(signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        pass
    try:
        send(signal.SIGKILL)  # for a group: whatever children outlived their parent
    except ProcessLookupError:
        pass
    proc.wait()


# -- commands ----------------------------------------------------------------------------

def _stop_event() -> threading.Event:
    """Set by SIGINT/SIGTERM. Until `started` is set, a signal aborts start-up at once
    (KeyboardInterrupt unwinds into the caller's `finally`, which tears down)."""
    stop = threading.Event()
    stop.started = threading.Event()

    def on_signal(sig, frame):
        stop.set()
        if not stop.started.is_set():
            raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)
    return stop


def _lock_dev_dir(directory: Path):
    """One `up` per dev directory: a second one would stop the first one's cluster."""
    directory.mkdir(parents=True, exist_ok=True)
    handle = open(directory / ".lock", "w")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StackError(f"{directory} is in use by another `stack.py up` (make dev)")
    return handle


def cmd_up(args) -> int:
    try:
        lock = _lock_dev_dir(LOCAL / "dev")
    except StackError as err:
        print(f"stack: {err}", file=sys.stderr)
        return 1
    stop = _stop_event()
    stack = Stack(LOCAL / "dev", worker=not args.no_worker, worker_port=DEV_WORKER_PORT, throwaway=False)
    try:
        try:
            env = stack.start()
        except StackError as err:
            print(f"stack: {err}", file=sys.stderr)
            stack.report_logs()
            return 1
        stop.started.set()
        shutil.copy(stack.dir / "stack.env", LOCAL / "stack.env")
        print(usage_text(env), flush=True)
        if not args.no_worker and not args.no_demo:
            run_demo(env)
        while not stop.wait(1):
            dead = stack.dead_component()
            if dead:
                print(f"stack: {dead} exited unexpectedly", file=sys.stderr)
                stack.report_logs()
                return 1
        print("stack: stopping...", file=sys.stderr)
        return 0
    except KeyboardInterrupt:
        print("stack: interrupted during start-up", file=sys.stderr)
        return 130
    finally:
        stack.stop()
        (LOCAL / "stack.env").unlink(missing_ok=True)  # a stale file would point at ports nobody serves
        print("stack: stopped", file=sys.stderr)
        lock.close()


def run_demo(env: dict) -> int:
    """Creates the sample workflow for the demo user and runs it once (the main job)."""
    print("stack: running the sample workflow (scripts/demo.py)...", flush=True)
    code = subprocess.call([sys.executable, str(ROOT / "scripts" / "demo.py")], env={**os.environ, **env})
    if code != 0:
        print(f"stack: the sample workflow run did not succeed (exit {code}); the stack keeps running", file=sys.stderr)
    return code


def usage_text(env: dict) -> str:
    worker = env["WORKER_URL"] or "(worker not started)"
    return f"""
edgeflow local stack is up (Ctrl-C stops everything).
  worker      {worker}
  supabase    {env['SUPABASE_URL']}  (PostgREST at /rest/v1, JWKS at /auth/v1/.well-known/jwks.json)
  database    {env['DATABASE_URL']}
  demo user   {env['DEMO_EMAIL']} ({env['DEMO_USER_ID']})
  env file    {LOCAL / 'stack.env'}

Try:
  source .local/stack.env
  curl -s $WORKER_URL/health
  curl -s -H "Authorization: Bearer $DEMO_TOKEN" $WORKER_URL/api/workflows
  curl -s -X POST -H "Authorization: Bearer $DEMO_TOKEN" -H 'Content-Type: application/json' \\
       -d '{{"name":"Lead intake"}}' $WORKER_URL/api/workflows
  curl -s "$SUPABASE_URL/rest/v1/workflows?select=id,name" -H "apikey: $SUPABASE_ANON_KEY" -H "Authorization: Bearer $DEMO_TOKEN"
  .local/venv/bin/python scripts/tokens.py --sub $DEMO_USER_ID --alg ES256   # another token
"""


def cmd_run(args) -> int:
    if not args.cmd:
        print("stack.py run: nothing to run (usage: stack.py run [--no-worker] -- CMD ...)", file=sys.stderr)
        return 2
    stack = Stack(LOCAL / f"test-{os.getpid()}", worker=not args.no_worker)
    child: subprocess.Popen | None = None
    received: list[int] = []

    def forward(sig, frame):
        received.append(sig)
        if child is not None and child.poll() is None:
            child.send_signal(sig)
        elif child is None:
            raise KeyboardInterrupt  # still starting: abort, the finally block tears down

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    try:
        try:
            env = stack.start()
        except StackError as err:
            print(f"stack: {err}", file=sys.stderr)
            stack.report_logs()
            return 1
        child = subprocess.Popen(args.cmd, env={**os.environ, **env}, cwd=ROOT)
        while True:
            try:
                code = child.wait(timeout=1 if received else None)
                break
            except subprocess.TimeoutExpired:
                if len(received) > 5:
                    child.kill()
        if code != 0:
            print(f"stack: command exited {code}; component logs follow", file=sys.stderr)
            stack.report_logs()
        return code if code >= 0 else 128 - code
    except KeyboardInterrupt:
        return 130
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        stack.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the dev stack in the foreground (make dev)")
    up.add_argument("--no-worker", action="store_true", help="skip wrangler dev")
    up.add_argument("--no-demo", action="store_true", help="do not create and run the sample workflow")
    run = sub.add_parser("run", help="run a command against a throwaway stack (make test)")
    run.add_argument("--no-worker", action="store_true", help="skip wrangler dev")
    run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")
    args = parser.parse_args(argv)
    if args.command == "run":
        args.cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
        return cmd_run(args)
    return cmd_up(args)


if __name__ == "__main__":
    sys.exit(main())
