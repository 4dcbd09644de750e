"""Live feedback over Server-Sent Events through the real worker: a run streamed as it happens (each action as it
starts and as it settles, ids in journal seq order), resuming with Last-Event-ID mid-stream, stream tickets for
EventSource, another user's stream, a queued run followed to its end."""

from __future__ import annotations

import json
import time

import requests

from support.documents import chain, trigger, webhook
from support.targets import Reply

SSE = {"Accept": "text/event-stream"}
ACTIONS = ["s1", "s2", "s3"]
# Long enough for a step to outlast one poll of the stream (250 ms plus its two reads), so its start is always seen;
# a step shorter than a poll may show only settled, as documented.
STEP_S = 0.6


def lines_as_they_arrive(res: requests.Response):
    """The stream's lines, each as soon as its bytes arrived (no read-ahead buffer to fill first)."""
    pending = b""
    for chunk in res.iter_content(chunk_size=None):
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            yield line.decode().rstrip("\r")


def read_events(res: requests.Response, deadline_s: float = 60, until=None) -> list[dict]:
    """Reads a stream to its end (or up to the first event ``until(event)`` accepts, then closes it): each event with
    its name, id, data and the time it arrived."""
    assert res.status_code == 200, res.text
    assert res.headers["Content-Type"].startswith("text/event-stream")
    events, current, end = [], {}, time.monotonic() + deadline_s
    for line in lines_as_they_arrive(res):
        assert time.monotonic() < end, "the stream did not end"
        if line == "":
            if "event" in current:
                current["at"] = time.monotonic()
                current["id"] = int(current["id"])
                events.append(current)
                if until is not None and until(current):
                    res.close()
                    return events
            current = {}
        elif line.startswith(":") or line.startswith("retry:"):
            continue
        else:
            key, _, value = line.partition(": ")
            current[key] = json.loads(value) if key == "data" else value
    assert until is None, "the stream ended before the event waited for"
    return events


def slow_chain(target, prefix: str, delay_s: float = STEP_S) -> dict:
    for i in (1, 2, 3):
        target.script(f"/{prefix}{i}", Reply(json={"step": i}, delay_s=delay_s))
    return chain(trigger(), *[webhook(f"s{i}", target.url(f"/{prefix}{i}"), {"i": i}) for i in (1, 2, 3)])


def step_states(events: list[dict]) -> list[str]:
    return [f"{e['data']['nodeId']}:{e['data']['status']}" for e in events if e["event"] == "step"]


def assert_ids_increase(events: list[dict]) -> None:
    ids = [e["id"] for e in events]
    assert all(a < b for a, b in zip(ids, ids[1:])), f"event ids do not strictly increase: {ids}"


def test_a_streamed_run_delivers_each_step_as_it_starts_and_as_it_settles(owner, target):
    wf = owner.api.save(slow_chain(target, "live"))
    res = owner.api.post(f"/api/workflows/{wf['id']}/execute", json={}, headers=SSE, stream=True)
    events = read_events(res)
    names = [e["event"] for e in events]
    assert names[0] == "execution" and names[-1] == "done" and names.count("done") == 1, names
    assert events[0]["id"] == 0 and events[0]["data"]["results"] == []
    assert_ids_increase(events)
    assert step_states(events) == ["trigger:succeeded", "s1:running", "s1:succeeded", "s2:running", "s2:succeeded",
                                   "s3:running", "s3:succeeded"], "each action is sent when it starts, then settled"
    at = {f"{e['data']['nodeId']}:{e['data']['status']}": e for e in events if e["event"] == "step"}
    running = at["s1:running"]["data"]
    assert running["success"] is False and running["startedAt"] and running["actionId"] == "webhook_call"
    assert at["s1:succeeded"]["data"]["output"]["body"] == {"step": 1}
    done = events[-1]
    assert done["data"]["status"] == "succeeded" and len(done["data"]["results"]) == 4
    assert all(r["status"] == "succeeded" for r in done["data"]["results"])
    # Streamed as it happened: s1's start well before the end (s1, s2, s3 still to run), each start before its end.
    assert done["at"] - at["s1:running"]["at"] > 2 * STEP_S, "steps were not streamed as they happened"
    for node in ACTIONS:
        assert at[f"{node}:running"]["at"] <= at[f"{node}:succeeded"]["at"] <= done["at"]
    assert at["s1:succeeded"]["at"] < at["s2:succeeded"]["at"] < at["s3:succeeded"]["at"]


def test_last_event_id_taken_mid_stream_resumes_without_duplicates_or_losses(owner, target):
    wf = owner.api.save(slow_chain(target, "resume"))
    res = owner.api.post(f"/api/workflows/{wf['id']}/execute", json={}, headers={"Prefer": "respond-async"})
    assert res.status_code == 202, res.text
    url = f"/api/executions/{res.json()['execution']['id']}/events"

    # The first connection drops right after s2 started; the client reconnects with the last id it had.
    first = read_events(owner.api.get(url, stream=True),
                        until=lambda e: e["event"] == "step" and e["data"]["nodeId"] == "s2")
    assert step_states(first)[-1] == "s2:running", step_states(first)
    last = first[-1]["id"]
    rest = read_events(owner.api.get(url, headers={"Last-Event-ID": str(last)}, stream=True))
    assert rest[-1]["event"] == "done" and rest[-1]["data"]["status"] == "succeeded"
    assert "execution" not in [e["event"] for e in rest], "the run's opening row is not sent again"
    assert all(e["id"] > last for e in rest), "nothing at or below Last-Event-ID is replayed"
    assert_ids_increase(first + rest)
    assert "s2:succeeded" in step_states(rest) and "s3:succeeded" in step_states(rest)

    # A full replay of the finished run sends every journal row once, in its final state (its last seq): each of
    # those the two connections must have delivered, under the same id.
    full = read_events(owner.api.get(url, stream=True))
    assert step_states(full) == ["trigger:succeeded", "s1:succeeded", "s2:succeeded", "s3:succeeded"]
    delivered = {e["id"]: e["data"] for e in first + rest if e["event"] == "step"}
    for e in (e for e in full if e["event"] == "step"):
        assert delivered.get(e["id"]) == e["data"], f"step event {e['id']} ({e['data']['nodeId']}) was missed"
    assert full[-1]["event"] == "done" and full[-1]["id"] > max(delivered)


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
    assert_ids_increase(events)
    settled = [state for state in step_states(events) if not state.endswith(":running")]
    assert settled == ["trigger:succeeded", "s1:succeeded", "s2:succeeded", "s3:succeeded"]
    for node in ACTIONS:
        states = step_states(events)
        assert states.index(f"{node}:running") < states.index(f"{node}:succeeded"), states
