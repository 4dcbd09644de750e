"""Live feedback over Server-Sent Events through the real worker: a run streamed as it happens, resuming with
Last-Event-ID, stream tickets for EventSource, another user's stream, a queued run followed to its end."""

from __future__ import annotations

import json
import time

import requests

from support.documents import chain, trigger, webhook
from support.targets import Reply

SSE = {"Accept": "text/event-stream"}


def lines_as_they_arrive(res: requests.Response):
    """The stream's lines, each as soon as its bytes arrived (no read-ahead buffer to fill first)."""
    pending = b""
    for chunk in res.iter_content(chunk_size=None):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            yield line.decode().rstrip("\r")


def read_events(res: requests.Response, deadline_s: float = 60) -> list[dict]:
    """Reads a stream to its end: each event with its name, id, data and the time it arrived."""
    assert res.status_code == 200, res.text
    assert res.headers["Content-Type"].startswith("text/event-stream")
    events, current, end = [], {}, time.monotonic() + deadline_s
    for line in lines_as_they_arrive(res):
        assert time.monotonic() < end, "the stream did not end"
        if line == "":
            if "event" in current:
                current["at"] = time.monotonic()
                events.append(current)
            current = {}
        elif line.startswith(":") or line.startswith("retry:"):
            continue
        else:
            key, _, value = line.partition(": ")
            current[key] = json.loads(value) if key == "data" else value
    return events


def slow_chain(target, prefix: str) -> dict:
    for i in (1, 2, 3):
        target.script(f"/{prefix}{i}", Reply(json={"step": i}, delay_s=0.3))
    return chain(trigger(), *[webhook(f"s{i}", target.url(f"/{prefix}{i}"), {"i": i}) for i in (1, 2, 3)])


def test_a_streamed_run_delivers_each_step_before_it_ends(owner, target):
    wf = owner.api.save(slow_chain(target, "live"))
    res = owner.api.post(f"/api/workflows/{wf['id']}/execute", json={}, headers=SSE, stream=True)
    events = read_events(res)
    names = [e["event"] for e in events]
    assert names[0] == "execution" and names[-1] == "done", names
    steps = [e for e in events if e["event"] == "step"]
    assert [s["data"]["nodeId"] for s in steps] == ["trigger", "s1", "s2", "s3"]
    assert [int(s["id"]) for s in steps] == [1, 2, 3, 4]
    done = events[-1]
    assert done["data"]["status"] == "succeeded" and len(done["data"]["results"]) == 4
    # Each step arrived while the run was still going: s1 well before the end (two 300 ms steps after it).
    assert done["at"] - steps[1]["at"] > 0.4, "steps were not streamed as they happened"
    assert steps[1]["at"] < steps[2]["at"] < steps[3]["at"]

    again = owner.api.get(f"/api/executions/{done['data']['id']}/events", headers={"Last-Event-ID": "2"},
                          stream=True)
    replay = read_events(again)
    assert [e["event"] for e in replay] == ["step", "step", "done"], "nothing already seen is replayed"
    assert [e["data"]["nodeId"] for e in replay[:2]] == ["s2", "s3"]


def test_a_ticket_opens_one_runs_stream_without_the_access_token(owner, stranger, target, worker_url):
    wf = owner.api.save(chain(trigger(), webhook("w", target.url("/ticketed"), {})))
    ex = owner.api.execute(wf["id"]).json()["execution"]
    assert stranger.api.post(f"/api/executions/{ex['id']}/stream-ticket").status_code == 404
    assert stranger.api.get(f"/api/executions/{ex['id']}/events").status_code == 404
    issued = owner.api.post(f"/api/executions/{ex['id']}/stream-ticket")
    assert issued.status_code == 200, issued.text
    ticket = issued.json()["ticket"]
    assert owner.token not in issued.text
    events = read_events(requests.get(f"{worker_url}/api/executions/{ex['id']}/events", params={"ticket": ticket},
                                      stream=True, timeout=60))
    assert events[-1]["event"] == "done" and events[-1]["data"]["id"] == ex["id"]
    other = owner.api.execute(wf["id"]).json()["execution"]
    refused = requests.get(f"{worker_url}/api/executions/{other['id']}/events", params={"ticket": ticket}, timeout=30)
    assert refused.status_code == 401, "a ticket is good for its own run only"
    assert requests.get(f"{worker_url}/api/executions/{ex['id']}/events", timeout=30).status_code == 401


def test_a_stream_of_a_queued_run_follows_it_to_the_end(owner, target):
    wf = owner.api.save(slow_chain(target, "queued"))
    res = owner.api.post(f"/api/workflows/{wf['id']}/execute", json={}, headers={"Prefer": "respond-async"})
    assert res.status_code == 202, res.text
    execution_id = res.json()["execution"]["id"]
    events = read_events(owner.api.get(f"/api/executions/{execution_id}/events", stream=True))
    assert events[0]["event"] == "execution" and events[0]["data"]["id"] == execution_id
    assert events[-1]["event"] == "done" and events[-1]["data"]["status"] == "succeeded"
    assert [e["data"]["nodeId"] for e in events if e["event"] == "step"] == ["trigger", "s1", "s2", "s3"]
