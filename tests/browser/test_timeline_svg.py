"""`GET /api/executions/{id}/timeline.svg`: a real run's timeline is valid SVG with one bar per step, opens in
headless Chromium (a screenshot is taken), and is the owner's only."""

from __future__ import annotations

import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

from support.api import RUN_TIMEOUT_S
from support.documents import action, chain, condition, edge, trigger

SVG = "{http://www.w3.org/2000/svg}"


def test_a_run_timeline_is_valid_svg_and_renders_in_chromium(new_person, chromium):
    owner, stranger = new_person(timeout_s=RUN_TIMEOUT_S), new_person()
    doc = {"nodes": [trigger(), action("score", "ai_score", {"email": "{{trigger.email}}"}),
                     condition("hot", "{{nodes.score.output.score}}", "gte", 30),
                     action("notify", "send_notification", {"title": "hot lead"}),
                     action("bad", "send_notification", {"title": "{{trigger.missing}}"})],
             "edges": [edge("trigger", "score"), edge("score", "hot"), edge("hot", "notify", "true"),
                       edge("trigger", "bad")]}
    ex = owner.api.run(doc, {"email": "ceo@bigcorp.example"})
    res = owner.api.get(f"/api/executions/{ex['id']}/timeline.svg")
    assert res.status_code == 200, res.text
    assert res.headers["Content-Type"].startswith("image/svg+xml")
    root = ET.fromstring(res.content)
    assert root.tag == f"{SVG}svg" and root.get("viewBox")
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("data-node")]
    assert [b.get("data-node") for b in bars] == [r["nodeId"] for r in ex["results"]]
    statuses = {b.get("data-node"): b.get("data-status") for b in bars}
    assert statuses["bad"] == "failed" and statuses["notify"] == "succeeded"
    assert stranger.api.get(f"/api/executions/{ex['id']}/timeline.svg").status_code == 404

    out = Path(os.environ.get("STACK_DIR") or "/tmp") / "timeline"
    out.mkdir(parents=True, exist_ok=True)
    svg_file, png_file = out / f"{ex['id']}.svg", out / f"{ex['id']}.png"
    svg_file.write_bytes(res.content)
    png_file.unlink(missing_ok=True)
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                    f"--user-data-dir={out / 'profile'}", "--window-size=960,300", f"--screenshot={png_file}",
                    svg_file.as_uri()], check=True, capture_output=True, timeout=120)
    png = png_file.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000, "a real picture, not a blank page"
