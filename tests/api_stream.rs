//! The live stream and the progress views over the fake platform: step
//! events numbered by the journal's `seq` (a step sent when it starts and
//! again when it settles), `Last-Event-ID` resuming above the last seq,
//! `done` numbered above every step, and `running` rows kept out of a run's
//! results but drawn on its timeline.

mod api_support;

use api_support::*;
use edgeflow::engine::time::rfc3339_from_ms;
use serde_json::{json, Value};

const RUN: &str = "aaaaaaaa-0000-4000-8000-0000000000e1";

fn run_row(status: &str, results: Value) -> Value {
    json!({"id": RUN, "user_id": USER, "status": status, "executed_at": rfc3339_from_ms(NOW_MS - 2_000),
        "results": results})
}

fn row(seq: u64, node: &str, status: &str) -> Value {
    json!({"seq": seq, "node_id": node, "status": status,
        "result": {"nodeId": node, "type": "action", "status": status, "startedAt": rfc3339_from_ms(NOW_MS - 1_500),
                   "durationMs": 0}})
}

/// One parsed event: name, id, data.
#[derive(Debug)]
struct Event {
    name: String,
    id: u64,
    data: Value,
}

fn events_of(chunk: &str) -> Vec<Event> {
    chunk
        .split("\n\n")
        .filter_map(|block| {
            let field = |key: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(key).map(str::to_string))
            };
            Some(Event {
                name: field("event: ")?,
                id: field("id: ")?.parse().unwrap(),
                data: serde_json::from_str(&field("data: ")?).unwrap(),
            })
        })
        .collect()
}

/// Reads the stream to its end.
fn read_all(follow: &mut edgeflow::api::sse::Follow<&FakePlatform>) -> Vec<Vec<Event>> {
    let mut chunks = vec![];
    while let Some(chunk) = futures_executor::block_on(follow.next()) {
        chunks.push(events_of(&chunk));
    }
    chunks
}

fn summary(events: &[Event]) -> Vec<(String, u64, String)> {
    events
        .iter()
        .map(|e| {
            let what = match e.name.as_str() {
                "step" => format!(
                    "{}:{}",
                    e.data["nodeId"].as_str().unwrap(),
                    e.data["status"].as_str().unwrap()
                ),
                _ => e.data["status"].as_str().unwrap_or("").to_string(),
            };
            (e.name.clone(), e.id, what)
        })
        .collect()
}

fn s(name: &str, id: u64, what: &str) -> (String, u64, String) {
    (name.to_string(), id, what.to_string())
}

/// The `seq=gt.N` of each journal read the stream made.
fn journal_reads(app: &App) -> Vec<String> {
    app.sent("GET", "workflow_step_runs")
        .iter()
        .map(|r| {
            assert!(r.url.contains("order=seq.asc"), "{}", r.url);
            assert!(
                r.url.contains("seq%2Cnode_id") || r.url.contains("seq,node_id"),
                "{}",
                r.url
            );
            r.url
                .split(['?', '&'])
                .find(|p| p.starts_with("seq="))
                .unwrap_or("all")
                .to_string()
        })
        .collect()
}

#[test]
fn a_step_is_streamed_when_it_starts_and_when_it_settles_numbered_by_seq() {
    let app = App::new();
    app.db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    // poll 1: the trigger settled, a started
    .db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([row(1, "trigger", "succeeded"), row(2, "a", "running")]),
    )
    // poll 2: a settled (its row rewritten: seq 5), b started
    .db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([row(5, "a", "succeeded"), row(6, "b", "running")]),
    )
    // poll 3: b settled, the run is over
    .db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row(
            "succeeded",
            json!([{"nodeId": "trigger"}, {"nodeId": "a"}, {"nodeId": "b"}])
        )]),
    )
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([row(7, "b", "succeeded")]),
    );
    let mut follow = app.stream(RUN, &[]);
    let chunks = read_all(&mut follow);
    let per_poll: Vec<_> = chunks.iter().map(|c| summary(c)).collect();
    assert_eq!(
        per_poll,
        [
            vec![
                s("execution", 0, "running"),
                s("step", 1, "trigger:succeeded"),
                s("step", 2, "a:running")
            ],
            vec![s("step", 5, "a:succeeded"), s("step", 6, "b:running")],
            vec![s("step", 7, "b:succeeded"), s("done", 8, "succeeded")],
        ]
    );
    assert_eq!(chunks[0][0].data["results"], json!([]), "the run as it opened");
    assert_eq!(chunks[2][1].data["results"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        journal_reads(&app),
        ["seq=gt.0", "seq=gt.2", "seq=gt.6"],
        "each poll asks only for rows written after the last id sent"
    );
    assert!(app.script_used_up());
}

#[test]
fn last_event_id_resumes_above_that_seq_without_the_execution_event() {
    let app = App::new();
    app.db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    .db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("succeeded", json!([{"nodeId": "b"}]))]),
    )
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([row(6, "b", "running"), row(9, "c", "skipped")]),
    );
    let mut follow = app.stream(RUN, &[("Last-Event-ID", "5")]);
    let chunks = read_all(&mut follow);
    assert_eq!(
        chunks.iter().map(|c| summary(c)).collect::<Vec<_>>(),
        [vec![
            s("step", 6, "b:running"),
            s("step", 9, "c:skipped"),
            s("done", 10, "succeeded")
        ]]
    );
    assert_eq!(journal_reads(&app), ["seq=gt.5"]);
}

#[test]
fn a_failed_journal_read_is_tried_again_before_done() {
    let app = App::new();
    app.db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    .db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([row(1, "trigger", "succeeded"), row(2, "a", "running")]),
    )
    // The run is over, but its journal cannot be read this time.
    .db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("succeeded", json!([{"nodeId": "a"}]))]),
    )
    .db_fails(
        "GET",
        "workflow_step_runs",
        edgeflow::http::TransportError::NoAnswer("reset".into()),
    )
    .db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("succeeded", json!([{"nodeId": "a"}]))]),
    )
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([row(4, "a", "succeeded")]),
    );
    let mut follow = app.stream(RUN, &[]);
    let events: Vec<_> = read_all(&mut follow).iter().flat_map(|c| summary(c)).collect();
    assert_eq!(
        events,
        [
            s("execution", 0, "running"),
            s("step", 1, "trigger:succeeded"),
            s("step", 2, "a:running"),
            s("step", 4, "a:succeeded"),
            s("done", 5, "succeeded")
        ],
        "the settled step is not lost to the failed read"
    );
    assert_eq!(journal_reads(&app), ["seq=gt.0", "seq=gt.2", "seq=gt.2"]);
}

#[test]
fn a_run_ended_without_results_is_done_with_its_settled_steps_numbered_above_them_all() {
    let app = App::new();
    app.db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    .db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("cancelled", json!([]))]),
    )
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([
            row(1, "trigger", "succeeded"),
            row(4, "a", "running"),
            row(6, "c", "running")
        ]),
    )
    // The whole journal, read for done: a settled meanwhile, c never did.
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([
            row(1, "trigger", "succeeded"),
            row(6, "c", "running"),
            row(9, "a", "failed")
        ]),
    );
    let mut follow = app.stream(RUN, &[]);
    let chunks = read_all(&mut follow);
    let done = chunks[0].last().unwrap();
    assert_eq!(
        (done.name.as_str(), done.id),
        ("done", 10),
        "above every seq in the journal"
    );
    let results: Vec<&str> = done.data["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["nodeId"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["trigger", "a"], "a step still running is no result");
    assert_eq!(journal_reads(&app), ["seq=gt.0", "all"]);
}

#[test]
fn a_run_in_progress_shows_settled_steps_as_results_and_the_running_ones_on_its_timeline() {
    let app = App::new();
    let journal = json!([row(1, "trigger", "succeeded"), row(3, "a", "running")]);
    app.db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    .db("GET", "workflow_step_runs", 200, journal.clone());
    let resp = app.call("GET", &format!("/api/executions/{RUN}"), None);
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    let results = resp.body.unwrap()["execution"]["results"].clone();
    assert_eq!(
        results,
        json!([journal[0]["result"]]),
        "results hold settled steps only"
    );

    app.db(
        "GET",
        "workflow_executions",
        200,
        json!([run_row("running", json!([]))]),
    )
    .db("GET", "workflow_step_runs", 200, journal);
    let resp = app.call("GET", &format!("/api/executions/{RUN}/timeline.svg"), None);
    assert_eq!(resp.status, 200);
    let svg = String::from_utf8(resp.raw.clone().expect("an SVG body")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let bar = doc
        .descendants()
        .find(|n| n.attribute("data-node") == Some("a"))
        .expect("the running step has a bar");
    assert_eq!(bar.attribute("data-status"), Some("running"));
    assert_eq!(
        bar.attribute("data-duration-ms"),
        Some("1500"),
        "as long as it has run until now"
    );
    assert!(svg.contains("1.5 s, running"));
    assert_eq!(journal_reads(&app), ["all", "all"]);
}
