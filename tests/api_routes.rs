//! The workflow and execution routes driven natively through `api::handle`
//! with a scripted PostgREST: what is sent as whom, how answers and
//! failures map to the contract's errors, the run log's completion retry
//! and idempotent replay.

mod api_support;

use api_support::*;
use edgeflow::http::TransportError;
use serde_json::{json, Value};

const WF: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
const OTHER_WF: &str = "ffffffff-bbbb-4ccc-8ddd-eeeeeeeeeeee";

#[test]
fn a_workflow_is_created_as_the_caller() {
    let app = App::new();
    app.db("POST", "workflows", 201, json!([workflow_row(WF)]));
    let resp = app.call("POST", "/api/workflows", Some(json!({"name": "Lead intake"})));
    assert_eq!(resp.status, 201, "{:?}", resp.body);
    assert_eq!(resp.body.unwrap()["workflow"]["id"], WF);
    let row = app.only_sent_as_caller("POST", "workflows");
    assert_eq!(
        (row["user_id"].as_str(), row["name"].as_str()),
        (Some(USER), Some("Lead intake"))
    );
}

#[test]
fn a_row_rls_hides_is_not_found() {
    let app = App::new();
    app.db("GET", "workflows", 200, json!([]));
    let resp = app.call("GET", &format!("/api/workflows/{WF}"), None);
    assert_eq!(error_code(&resp, 404), "not_found");
    app.db("GET", "workflow_executions", 200, json!([]));
    let resp = app.call("GET", &format!("/api/executions/{WF}"), None);
    assert_eq!(error_code(&resp, 404), "not_found");
}

#[test]
fn database_failures_are_upstream_errors_whose_causes_stay_in_the_log() {
    let app = App::new();
    app.db_fails(
        "GET",
        "workflows",
        TransportError::NoAnswer("connection refused".into()),
    );
    let resp = app.call("GET", &format!("/api/workflows/{WF}"), None);
    assert_eq!(error_code(&resp, 502), "upstream_error");
    assert!(!resp.body.unwrap().to_string().contains("refused"));
    assert!(app
        .p
        .logs
        .borrow()
        .iter()
        .any(|l| l.contains("connection refused")));

    app.db(
        "GET",
        "workflows",
        500,
        json!({"code": "XX000", "message": "internal detail 42"}),
    );
    let resp = app.call("GET", &format!("/api/workflows/{WF}"), None);
    assert_eq!(error_code(&resp, 502), "upstream_error");
    assert!(!resp.body.unwrap().to_string().contains("internal detail 42"));
}

#[test]
fn a_missing_token_is_refused_before_the_database_is_asked() {
    let app = App::new();
    let resp = app.send(edgeflow::api::ApiRequest {
        method: "GET".into(),
        path: "/api/workflows".into(),
        ..Default::default()
    });
    assert_eq!(error_code(&resp, 401), "unauthorized");
    assert!(resp
        .headers
        .iter()
        .any(|(k, v)| *k == "WWW-Authenticate" && v.contains("invalid_token")));
    assert!(app.p.requests.borrow().is_empty());
}

/// Scripts a whole run of `workflow_row`: read, log, one notification.
fn script_run(app: &App) {
    app.db("GET", "workflows", 200, json!([workflow_row(WF)]))
        .db("POST", "workflow_executions", 201, json!([{"id": "x"}]))
        .db(
            "POST",
            "notifications",
            201,
            json!([{"id": "n1", "title": "Hi Ann"}]),
        );
}

fn execute(app: &App) -> edgeflow::api::ApiResponse {
    app.call(
        "POST",
        &format!("/api/workflows/{WF}/execute"),
        Some(json!({"triggerData": {"name": "Ann"}})),
    )
}

#[test]
fn a_run_is_logged_before_its_first_step_and_completed_after_its_last() {
    let app = App::new();
    script_run(&app);
    app.db(
        "PATCH",
        "workflow_executions",
        200,
        json!([{"id": "x", "status": "succeeded"}]),
    );
    let resp = execute(&app);
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(resp.body.unwrap()["execution"]["status"], "succeeded");
    let order: Vec<(String, String)> = app
        .p
        .requests
        .borrow()
        .iter()
        .map(|r| {
            (
                r.method.clone(),
                r.url
                    .split('?')
                    .next()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    let bookkeeping: Vec<_> = order
        .iter()
        .filter(|(_, t)| t != "journal_steps")
        .cloned()
        .collect();
    let expected = [
        ("GET", "workflows"),
        ("POST", "workflow_executions"),
        ("POST", "notifications"),
        ("PATCH", "workflow_executions"),
    ];
    assert_eq!(bookkeeping, expected.map(|(m, t)| (m.to_string(), t.to_string())));
    // Both steps were journaled (trigger, then the notification), before the completion.
    let journal_at: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|(_, (_, t))| t == "journal_steps")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(journal_at.len(), 2);
    assert!(
        journal_at.iter().all(|&i| i > 1 && i < order.len() - 1),
        "{order:?}"
    );
    let start = body_of(&app.sent("POST", "workflow_executions")[0]);
    assert_eq!(
        (start["status"].as_str(), start["workflow_id"].as_str()),
        (Some("running"), Some(WF))
    );
    assert_eq!(start["trigger_data"], json!({"name": "Ann"}));
    assert_eq!(body_of(&app.sent("POST", "notifications")[0])["title"], "Hi Ann");
    let finish = body_of(&app.sent("PATCH", "workflow_executions")[0]);
    assert_eq!(
        (finish["status"].as_str(), finish["success"].as_bool()),
        (Some("succeeded"), Some(true))
    );
    assert_eq!(finish["results"].as_array().map(Vec::len), Some(2));
    assert!(app.script_used_up());
}

#[test]
fn completing_the_log_is_retried_once() {
    let app = App::new();
    script_run(&app);
    app.db("PATCH", "workflow_executions", 503, json!({"message": "busy"}))
        .db(
            "PATCH",
            "workflow_executions",
            200,
            json!([{"id": "x", "status": "succeeded"}]),
        );
    let resp = execute(&app);
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(app.sent("PATCH", "workflow_executions").len(), 2);
    assert_eq!(
        app.sent("POST", "notifications").len(),
        1,
        "the step itself ran once"
    );
}

#[test]
fn a_log_that_cannot_be_completed_twice_is_an_upstream_error() {
    let app = App::new();
    script_run(&app);
    app.db("PATCH", "workflow_executions", 503, Value::Null).db_fails(
        "PATCH",
        "workflow_executions",
        TransportError::NoAnswer("reset".into()),
    );
    assert_eq!(error_code(&execute(&app), 502), "upstream_error");
}

#[test]
fn a_repeated_key_replays_the_first_run_without_running_again() {
    let app = App::new();
    app.db("GET", "workflows", 200, json!([workflow_row(WF)]))
        .db(
            "POST",
            "workflow_executions",
            409,
            json!({"code": "23505", "message": "duplicate key"}),
        )
        .db(
            "GET",
            "workflow_executions",
            200,
            json!([{"id": "first", "workflow_id": WF, "status": "succeeded",
                     "trigger_data": {"email": "ada@example.com", "n": 1e2}}]),
        );
    let resp = app.call_with(
        "POST",
        &format!("/api/workflows/{WF}/execute"),
        Some(json!({"triggerData": {"n": 100, "email": "ada@example.com"}})),
        &[("Idempotency-Key", "k1")],
    );
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert!(resp
        .headers
        .iter()
        .any(|(k, v)| *k == "Idempotent-Replayed" && v == "true"));
    assert_eq!(resp.body.unwrap()["execution"]["id"], "first");
    assert!(app.sent("POST", "notifications").is_empty());
    let lookup = &app.sent("GET", "workflow_executions")[0];
    assert!(lookup.url.contains("idempotency_key=eq.k1"), "{}", lookup.url);
}

/// Executes `WF` with `trigger` under key `k1`, the key's first run being `first`.
fn reuse(first: Value, trigger: Value) -> edgeflow::api::ApiResponse {
    let app = App::new();
    app.db("GET", "workflows", 200, json!([workflow_row(WF)]))
        .db("POST", "workflow_executions", 409, json!({"code": "23505"}))
        .db("GET", "workflow_executions", 200, json!([first]));
    let resp = app.call_with(
        "POST",
        &format!("/api/workflows/{WF}/execute"),
        Some(json!({"triggerData": trigger})),
        &[("Idempotency-Key", "k1")],
    );
    assert!(app.sent("POST", "notifications").is_empty(), "nothing ran");
    resp
}

#[test]
fn a_key_used_for_another_workflow_is_unprocessable() {
    let resp = reuse(
        json!({"id": "first", "workflow_id": OTHER_WF, "trigger_data": {}}),
        json!({}),
    );
    assert_eq!(error_code(&resp, 422), "idempotency_key_reused");
    let message = resp.body.unwrap()["error"].as_str().unwrap().to_string();
    assert!(message.contains("another workflow"), "{message}");
}

#[test]
fn a_key_used_with_other_trigger_data_is_unprocessable() {
    let resp = reuse(
        json!({"id": "first", "workflow_id": WF, "trigger_data": {"email": "ada@example.com"}}),
        json!({"email": "grace@example.com"}),
    );
    assert_eq!(error_code(&resp, 422), "idempotency_key_reused");
    let message = resp.body.unwrap()["error"].as_str().unwrap().to_string();
    assert!(message.contains("other triggerData"), "{message}");
}

#[test]
fn trigger_data_is_compared_as_it_was_stored() {
    // The stored trigger data is redacted; the same request still replays.
    let resp = reuse(
        json!({"id": "first", "workflow_id": WF,
               "trigger_data": {"email": "ada@example.com", "password": "[redacted]"}}),
        json!({"email": "ada@example.com", "password": "hunter2"}),
    );
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(resp.body.unwrap()["execution"]["id"], "first");
}

#[test]
fn running_a_workflow_the_caller_cannot_see_is_not_found_and_logs_nothing() {
    let app = App::new();
    app.db("GET", "workflows", 200, json!([]));
    assert_eq!(error_code(&execute(&app), 404), "not_found");
    assert!(app.sent("POST", "workflow_executions").is_empty());
    // The row was readable but RLS refuses the log insert: still not found.
    let app = App::new();
    app.db("GET", "workflows", 200, json!([workflow_row(WF)])).db(
        "POST",
        "workflow_executions",
        403,
        json!({"code": "42501"}),
    );
    assert_eq!(error_code(&execute(&app), 404), "not_found");
    assert!(app.sent("POST", "notifications").is_empty());
}

#[test]
fn an_invalid_saved_workflow_is_refused_before_anything_is_logged() {
    let app = App::new();
    let mut row = workflow_row(WF);
    row["edges"] = json!([{"id": "e", "source": "t", "target": "missing"}]);
    app.db("GET", "workflows", 200, json!([row]));
    let resp = execute(&app);
    assert_eq!(error_code(&resp, 400), "invalid_workflow");
    assert!(resp.body.unwrap()["details"]
        .as_array()
        .is_some_and(|d| !d.is_empty()));
    assert!(app.sent("POST", "workflow_executions").is_empty());
}

#[test]
fn trigger_data_and_the_trigger_result_are_stored_redacted_but_run_as_sent() {
    let app = App::new();
    script_run(&app);
    app.db(
        "PATCH",
        "workflow_executions",
        200,
        json!([{"id": "x", "status": "succeeded"}]),
    );
    let token = app.token();
    let resp = app.call(
        "POST",
        &format!("/api/workflows/{WF}/execute"),
        Some(json!({"triggerData": {"name": "Ann", "password": "hunter2-hunter2", "note": format!("mine: {token}")}})),
    );
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    let start = body_of(&app.sent("POST", "workflow_executions")[0]);
    assert_eq!(start["trigger_data"]["password"], "[redacted]");
    assert_eq!(start["trigger_data"]["note"], "mine: [redacted]");
    assert_eq!(start["trigger_data"]["name"], "Ann");
    let finish = body_of(&app.sent("PATCH", "workflow_executions")[0]);
    let trigger = &finish["results"][0];
    assert_eq!(trigger["type"], "trigger");
    assert_eq!(trigger["output"]["password"], "[redacted]");
    assert!(!finish.to_string().contains("hunter2") && !finish.to_string().contains(&token));
    // The step itself rendered from the data as sent.
    assert_eq!(body_of(&app.sent("POST", "notifications")[0])["title"], "Hi Ann");
}

#[test]
fn the_webhook_secret_is_read_and_rotated_as_the_caller() {
    let app = App::new();
    let row = json!({"user_id": USER, "secret": "whsec_bmV3", "previous_secret": "whsec_b2xk",
        "rotated_at": "2026-12-01T10:00:00+00:00", "created_at": "2026-11-01T10:00:00+00:00"});
    app.db("POST", "rpc/webhook_secret", 200, row.clone())
        .db("POST", "rpc/rotate_webhook_secret", 200, row);
    let read = app.call("GET", "/api/webhook-secret", None);
    assert_eq!(read.status, 200, "{:?}", read.body);
    let secret = &read.body.unwrap()["webhookSecret"];
    assert_eq!(secret["secret"], "whsec_bmV3");
    assert_eq!(secret["previousValidUntil"], "2026-12-02T10:00:00.000Z");
    let rotated = app.call("POST", "/api/webhook-secret/rotate", None);
    assert_eq!(rotated.status, 200, "{:?}", rotated.body);
    let sent = app.sent("POST", "rpc/rotate_webhook_secret");
    assert_eq!(
        header(&sent[0], "authorization"),
        Some(format!("Bearer {}", app.token()).as_str())
    );
    assert_eq!(
        error_code(&app.call("DELETE", "/api/webhook-secret", None), 405),
        "method_not_allowed"
    );
}

/// An execution row as the database would answer it for a stored run.
fn stored_run(id: &str, status: &str, attempt: u32) -> Value {
    let doc = workflow_row(WF);
    json!({"id": id, "workflow_id": WF, "user_id": USER, "status": status, "attempt": attempt,
        "trigger_data": {"name": "Ann"}, "executed_at": "2027-01-15T08:00:00.000Z", "results": [],
        "workflow_snapshot": {"nodes": doc["nodes"], "edges": doc["edges"]}, "workflow_version": 3})
}

#[test]
fn respond_async_answers_202_and_queues_the_run_without_running_it() {
    let app = App::new();
    let mut row = workflow_row(WF);
    row["version"] = json!(3);
    app.db("GET", "workflows", 200, json!([row])).db(
        "POST",
        "workflow_executions",
        201,
        json!([stored_run("x", "queued", 0)]),
    );
    let resp = app.call_with(
        "POST",
        &format!("/api/workflows/{WF}/execute"),
        Some(json!({"triggerData": {"name": "Ann"}})),
        &[("Prefer", "respond-async")],
    );
    assert_eq!(resp.status, 202, "{:?}", resp.body);
    let header_of = |name: &str| {
        resp.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    };
    let start = body_of(&app.sent("POST", "workflow_executions")[0]);
    assert_eq!(
        header_of("Location"),
        Some(format!("/api/executions/{}", start["id"].as_str().unwrap()))
    );
    assert_eq!(header_of("Preference-Applied").as_deref(), Some("respond-async"));
    assert_eq!(
        (start["status"].as_str(), start["attempt"].as_u64()),
        (Some("queued"), Some(0))
    );
    assert!(start["lease_until"].is_null());
    assert_eq!(start["workflow_version"], 3);
    assert_eq!(start["workflow_snapshot"]["nodes"], workflow_row(WF)["nodes"]);
    let queued = app.p.queued.borrow();
    assert_eq!(queued.len(), 1);
    assert_eq!(
        (queued[0].execution_id.as_str(), queued[0].attempt),
        (start["id"].as_str().unwrap(), 0)
    );
    assert!(
        app.sent("POST", "notifications").is_empty(),
        "nothing ran in the request"
    );
}

#[test]
fn a_sync_run_journals_its_steps_and_stores_its_snapshot() {
    let app = App::new();
    script_run(&app);
    app.db(
        "PATCH",
        "workflow_executions",
        200,
        json!([{"id": "x", "status": "succeeded"}]),
    );
    assert_eq!(execute(&app).status, 200);
    let start = body_of(&app.sent("POST", "workflow_executions")[0]);
    assert_eq!(
        (start["status"].as_str(), start["attempt"].as_u64()),
        (Some("running"), Some(1))
    );
    assert!(start["lease_until"].is_string());
    let journaled: Vec<String> = app
        .sent("POST", "rpc/journal_steps")
        .iter()
        .flat_map(|r| body_of(r)["p_steps"].as_array().unwrap().clone())
        .map(|s| {
            format!(
                "{}:{}",
                s["node_id"].as_str().unwrap(),
                s["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(journaled, ["t:succeeded", "n:running", "n:succeeded"]);
    let finish = body_of(&app.sent("PATCH", "workflow_executions")[0]);
    assert!(finish["stop_reason"].is_null() && finish["lease_until"].is_null());
}

#[test]
fn a_run_in_progress_shows_the_steps_journaled_so_far() {
    let app = App::new();
    app.db(
        "GET",
        "workflow_executions",
        200,
        json!([stored_run("x", "running", 1)]),
    )
    .db(
        "GET",
        "workflow_step_runs",
        200,
        json!([{"node_id": "t", "status": "succeeded",
            "result": {"nodeId": "t", "type": "trigger", "status": "succeeded"}}]),
    );
    let resp = app.call(
        "GET",
        "/api/executions/aaaaaaaa-0000-4000-8000-000000000001",
        None,
    );
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(resp.body.unwrap()["execution"]["results"][0]["nodeId"], "t");
}

#[test]
fn cancel_answers_the_cancelled_run_409_for_a_finished_one_and_404_for_none() {
    let id = "aaaaaaaa-0000-4000-8000-000000000002";
    let app = App::new();
    app.db(
        "POST",
        "rpc/cancel_run",
        200,
        json!([stored_run(id, "cancelled", 1)]),
    );
    let resp = app.call("POST", &format!("/api/executions/{id}/cancel"), None);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body.unwrap()["execution"]["status"], "cancelled");
    app.db("POST", "rpc/cancel_run", 200, json!([])).db(
        "GET",
        "workflow_executions",
        200,
        json!([stored_run(id, "succeeded", 1)]),
    );
    assert_eq!(
        error_code(
            &app.call("POST", &format!("/api/executions/{id}/cancel"), None),
            409
        ),
        "conflict"
    );
    app.db("POST", "rpc/cancel_run", 200, json!([]))
        .db("GET", "workflow_executions", 200, json!([]));
    assert_eq!(
        error_code(
            &app.call("POST", &format!("/api/executions/{id}/cancel"), None),
            404
        ),
        "not_found"
    );
}

#[test]
fn a_queued_run_is_taken_rebuilt_from_its_journal_and_completed_as_its_owner() {
    let app = App::new();
    let message = edgeflow::api::runs::RunMessage {
        execution_id: "x".into(),
        user_id: USER.into(),
        attempt: 1,
    };
    app.db("POST", "rpc/take_run", 200, json!([stored_run("x", "running", 2)]))
        .db("GET", "workflow_step_runs", 200, json!([{"node_id": "t", "status": "succeeded", "result":
            {"nodeId": "t", "type": "trigger", "status": "succeeded", "success": true, "output": {"name": "Ann"},
             "attempts": 1, "startedAt": "2027-01-15T08:00:00.000Z", "durationMs": 0}}]))
        .db("POST", "notifications", 201, json!([{"id": "n1"}]))
        .db("PATCH", "workflow_executions", 200, json!([{"id": "x", "status": "succeeded"}]));
    app.consume(&message).unwrap();
    let take = &app.sent("POST", "rpc/take_run")[0];
    assert_eq!(body_of(take)["p_expected_attempt"], 1);
    // The owner's token, minted by the worker: PostgREST sees the owner, never the service role.
    let token = header(take, "authorization")
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_string();
    let claims: Value = {
        use base64::Engine;
        let payload = token.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(
        (claims["sub"].as_str(), claims["role"].as_str()),
        (Some(USER), Some("authenticated"))
    );
    let journaled: Vec<String> = app
        .sent("POST", "rpc/journal_steps")
        .iter()
        .flat_map(|r| body_of(r)["p_steps"].as_array().unwrap().clone())
        .map(|s| {
            format!(
                "{}:{}",
                s["node_id"].as_str().unwrap(),
                s["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        journaled,
        ["n:running", "n:succeeded"],
        "the journaled trigger is not run again; the action is journaled as it starts and as it settles"
    );
    assert_eq!(body_of(&app.sent("POST", "notifications")[0])["title"], "Hi Ann");
    let finish = body_of(&app.sent("PATCH", "workflow_executions")[0]);
    assert_eq!(finish["results"].as_array().map(Vec::len), Some(2));
}

#[test]
fn a_message_for_a_run_already_taken_does_nothing() {
    let app = App::new();
    let message = edgeflow::api::runs::RunMessage {
        execution_id: "x".into(),
        user_id: USER.into(),
        attempt: 1,
    };
    app.db("POST", "rpc/take_run", 200, json!([]));
    app.consume(&message).unwrap();
    assert_eq!(app.p.requests.borrow().len(), 1);
}

#[test]
fn a_run_that_outgrows_its_budget_yields_to_the_queue() {
    let app = App::with(&[("RUN_SUBREQUEST_BUDGET", "8")]);
    let mut row = workflow_row(WF);
    let nodes: Vec<Value> =
        std::iter::once(json!({"id": "t", "type": "trigger", "data": {"triggerType": "manual"}}))
            .chain((1..=6).map(|i| {
                json!({"id": format!("n{i}"), "type": "action",
            "data": {"actionId": "send_notification", "config": {"title": format!("step {i}")}}})
            }))
            .collect();
    let edges: Vec<Value> = (1..=6)
        .map(|i| json!({"id": format!("e{i}"), "source": if i == 1 { "t".to_string() } else { format!("n{}", i - 1) }, "target": format!("n{i}")}))
        .collect();
    row["nodes"] = json!(nodes);
    row["edges"] = json!(edges);
    app.db("GET", "workflows", 200, json!([row])).db(
        "POST",
        "workflow_executions",
        201,
        json!([stored_run("x", "running", 1)]),
    );
    for _ in 0..6 {
        app.db("POST", "notifications", 201, json!([{"id": "n"}]));
    }
    app.db(
        "PATCH",
        "workflow_executions",
        200,
        json!([stored_run("x", "queued", 1)]),
    );
    let resp = execute(&app);
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(resp.body.unwrap()["execution"]["status"], "queued");
    let called = app.sent("POST", "notifications").len();
    assert!(
        (1..6).contains(&called),
        "{called} steps ran in the first invocation"
    );
    let patch = body_of(&app.sent("PATCH", "workflow_executions")[0]);
    assert_eq!(patch["status"], "queued");
    let queued = app.p.queued.borrow();
    assert_eq!((queued.len(), queued[0].attempt), (1, 1));
}

#[test]
fn recovery_claims_with_the_service_role_and_queues_each_run() {
    let app = App::new();
    app.db(
        "POST",
        "rpc/claim_runs",
        200,
        json!([
        {"id": "r1", "user_id": USER, "attempt": 2, "action": "resume"},
        {"id": "r2", "user_id": USER, "attempt": 6, "action": "failed"}]),
    );
    assert_eq!(app.recover().unwrap(), (1, 1));
    let claim = &app.sent("POST", "rpc/claim_runs")[0];
    assert_eq!(
        header(claim, "authorization"),
        Some(format!("Bearer {SERVICE}").as_str())
    );
    let queued = app.p.queued.borrow();
    assert_eq!(
        (queued.len(), queued[0].execution_id.as_str(), queued[0].attempt),
        (1, "r1", 2)
    );
}

fn form_workflow(id: &str) -> Value {
    let mut row = workflow_row(id);
    row["is_active"] = json!(true);
    row["nodes"][0]["data"] = json!({"triggerType": "form_submit", "config": {}});
    row
}

fn claims_of(req: &edgeflow::http::HttpRequest) -> Value {
    use base64::Engine;
    let token = header(req, "authorization")
        .unwrap()
        .trim_start_matches("Bearer ")
        .to_string();
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn a_form_post_is_found_by_the_service_role_and_logged_as_the_owner() {
    let app = App::new();
    app.db(
        "POST",
        "rpc/hook_target",
        200,
        json!([{"workflow_id": WF, "user_id": USER}]),
    )
    .db("GET", "workflows", 200, json!([form_workflow(WF)]))
    .db("POST", "workflow_executions", 201, json!([{"id": "x"}]));
    let resp = app.send(edgeflow::api::ApiRequest {
        method: "POST".into(),
        path: "/api/hooks/abcdefabcdefabcdefabcdefabcdefab".into(),
        headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
        body: b"name=Ann+Lee&email=ann%40acme.example".to_vec(),
        ..Default::default()
    });
    assert_eq!(resp.status, 202, "{:?}", resp.body);
    let lookup = &app.sent("POST", "rpc/hook_target")[0];
    assert_eq!(
        header(lookup, "authorization"),
        Some(format!("Bearer {SERVICE}").as_str())
    );
    let read = &app.sent("GET", "workflows")[0];
    assert_eq!(claims_of(read)["sub"], USER, "the workflow is read as its owner");
    let start = body_of(&app.sent("POST", "workflow_executions")[0]);
    assert_eq!(
        start["trigger_data"],
        json!({"name": "Ann Lee", "email": "ann@acme.example"})
    );
    assert_eq!(
        (start["status"].as_str(), start["trigger_type"].as_str()),
        (Some("queued"), Some("form_submit"))
    );
    assert_eq!(resp.body.unwrap()["executionId"], start["id"]);
    assert_eq!(app.p.queued.borrow().len(), 1);
}

#[test]
fn an_unknown_hook_key_is_404_without_a_hint() {
    let app = App::new();
    app.db("POST", "rpc/hook_target", 200, json!([]));
    let post = |path: &str| {
        app.send(edgeflow::api::ApiRequest {
            method: "POST".into(),
            path: path.into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{}".to_vec(),
            ..Default::default()
        })
    };
    let unknown = post("/api/hooks/abcdefabcdefabcdefabcdefabcdefab");
    assert_eq!(error_code(&unknown, 404), "not_found");
    let malformed = post("/api/hooks/not%20a%20key");
    assert_eq!(malformed.body, unknown.body, "the same answer, no hint");
}

#[test]
fn event_dispatch_needs_the_service_key_and_starts_each_claimed_dispatch_as_the_owner() {
    let app = App::new();
    let refused = app.call("POST", "/api/events/dispatch", None);
    assert_eq!(
        error_code(&refused, 401),
        "unauthorized",
        "a user token is not enough"
    );
    let mut row = workflow_row(WF);
    row["is_active"] = json!(true);
    row["nodes"][0]["data"] = json!({"triggerType": "deal_won", "config": {}});
    app.db("POST", "rpc/claim_event_dispatches", 200, json!([{"dispatch_id": 7, "event_id": 3, "workflow_id": WF,
        "user_id": USER, "event_type": "deal_won", "table_name": "deals", "new_record": {"id": 1, "stage": "won"},
        "old_record": {"id": 1, "stage": "open"}, "caused_by_execution": null, "chain_depth": 0, "attempts": 1}]))
        .db("GET", "workflows", 200, json!([row]))
        .db("POST", "workflow_executions", 201, json!([{"id": "x"}]))
        .db("POST", "rpc/finish_event_dispatch", 200, Value::Null);
    let resp = app.send(edgeflow::api::ApiRequest {
        method: "POST".into(),
        path: "/api/events/dispatch".into(),
        headers: vec![("authorization".into(), format!("Bearer {SERVICE}"))],
        ..Default::default()
    });
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(resp.body.unwrap()["started"], 1);
    let start = body_of(&app.sent("POST", "workflow_executions")[0]);
    assert_eq!(start["trigger_data"]["changed"], json!(["stage"]));
    assert_eq!(
        claims_of(&app.sent("POST", "workflow_executions")[0])["sub"],
        USER
    );
    let finish = body_of(&app.sent("POST", "rpc/finish_event_dispatch")[0]);
    assert_eq!(
        (finish["p_dispatch_id"].as_i64(), finish["p_status"].as_str()),
        (Some(7), Some("started"))
    );
    assert_eq!(finish["p_execution_id"], start["id"]);
}

#[test]
fn stats_come_from_the_database_as_the_caller_and_another_users_workflow_is_404() {
    let app = App::new();
    let stats = json!({"runs": 3, "succeeded": 2, "failed": 1, "success_rate": 0.667,
        "duration_ms": {"p50": 40, "p95": 90, "max": 90}, "by_node": [], "by_day": []});
    app.db("POST", "rpc/workflow_stats", 200, stats.clone())
        .db("POST", "rpc/workflow_stats", 200, Value::Null)
        .db(
            "POST",
            "rpc/all_workflow_stats",
            200,
            json!([{"workflowId": WF, "runs": 3}]),
        );
    let mut req = edgeflow::api::ApiRequest {
        method: "GET".into(),
        path: format!("/api/workflows/{WF}/stats"),
        query: vec![("days".into(), "7".into())],
        headers: vec![("authorization".into(), format!("Bearer {}", app.token()))],
        ..Default::default()
    };
    let resp = app.send(req.clone());
    assert_eq!(resp.status, 200, "{:?}", resp.body);
    assert_eq!(resp.body.unwrap(), json!({"stats": stats, "days": 7}));
    let sent = &app.sent("POST", "rpc/workflow_stats")[0];
    assert_eq!(body_of(sent), json!({"p_workflow_id": WF, "p_days": 7}));
    assert_eq!(
        header(sent, "authorization"),
        Some(format!("Bearer {}", app.token()).as_str())
    );
    assert_eq!(error_code(&app.send(req.clone()), 404), "not_found");
    req.path = "/api/stats".into();
    let all = app.send(req.clone());
    assert_eq!(all.body.unwrap()["workflows"][0]["workflowId"], WF);
    req.query = vec![("days".into(), "366".into())];
    let bad = app.send(req);
    assert_eq!(error_code(&bad, 400), "invalid_request");
    assert_eq!(bad.body.unwrap()["details"]["field"], "days");
}
