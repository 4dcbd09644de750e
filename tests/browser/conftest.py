"""Fixtures for the browser suite: static page servers on two local origins and a headless Chromium runner."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from support.env import allowed_origins
from support.targets import PageServer

PAGE_DIR = Path(__file__).resolve().parent / "page"
# The stack's default ALLOWED_ORIGINS includes this origin (a Vite dev server's usual address).
ALLOWED_PAGE_PORT = int(os.environ.get("BROWSER_ALLOWED_PORT", "5173"))
CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
# Virtual time stands still while fetches are in flight, so this bounds page time, not the worker's latency.
VIRTUAL_TIME_BUDGET_MS = 30000
CHROMIUM_DEADLINE_S = 120


@pytest.fixture(scope="session")
def allowed_page(worker_url):
    origin = f"http://127.0.0.1:{ALLOWED_PAGE_PORT}"
    if origin not in allowed_origins():
        pytest.fail(f"{origin} is not in the worker's ALLOWED_ORIGINS ({os.environ.get('ALLOWED_ORIGINS')!r}): "
                    f"start the stack with STACK_ALLOWED_ORIGINS including it, or set BROWSER_ALLOWED_PORT "
                    f"to the port of an allowed http://127.0.0.1 origin", pytrace=False)
    try:
        server = PageServer(PAGE_DIR, ALLOWED_PAGE_PORT)
    except OSError as err:
        pytest.fail(f"cannot serve the allowed page on 127.0.0.1:{ALLOWED_PAGE_PORT} ({err}): the port is busy; "
                    f"free it, or start the stack with STACK_ALLOWED_ORIGINS=http://127.0.0.1:<port> and set "
                    f"BROWSER_ALLOWED_PORT=<port>", pytrace=False)
    yield server
    server.close()


@pytest.fixture(scope="session")
def disallowed_page(worker_url):
    server = PageServer(PAGE_DIR)
    assert server.origin not in allowed_origins() and "*" not in allowed_origins(), \
        f"{server.origin} must not be allowed for this test to mean anything"
    yield server
    server.close()


@pytest.fixture(scope="session")
def chromium() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_BIN)",
                    pytrace=False)
    return CHROMIUM


@pytest.fixture
def open_probe(chromium, tmp_path, worker_url):
    """``open_probe(page_server, token, name)``: loads cors.html from that origin in a fresh headless Chromium
    profile and returns the outcome the page wrote (``{"origin", "list", "create"}``)."""

    def run(server: PageServer, token: str, name: str) -> dict:
        profile = tmp_path / f"profile-{len(list(tmp_path.iterdir()))}"
        profile.mkdir()
        fragment = f"api={quote(worker_url, safe='')}&token={quote(token, safe='')}&name={quote(name, safe='')}"
        url = f"{server.origin}/cors.html#{fragment}"
        argv = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                f"--virtual-time-budget={VIRTUAL_TIME_BUDGET_MS}", "--dump-dom", url]
        res = subprocess.run(argv, capture_output=True, text=True, timeout=CHROMIUM_DEADLINE_S,
                             stdin=subprocess.DEVNULL)
        match = re.search(r'<pre id="outcome">(.*?)</pre>', res.stdout, re.S)
        assert match, f"no outcome in the page (exit {res.returncode}):\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}"
        text = html.unescape(match.group(1))
        assert text != "pending", f"the page never finished its calls:\n{res.stderr[-2000:]}"
        outcome = json.loads(text)
        assert "crashed" not in outcome, outcome
        return outcome

    return run
