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
    let sent = app.sent("POST", "workflows");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        header(&sent[0], "authorization"),
        Some(format!("Bearer {}", app.token()).as_str())
    );
    assert_eq!(header(&sent[0], "apikey"), Some(ANON));
    let row = body_of(&sent[0]);
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
    let expected = [
        ("GET", "workflows"),
        ("POST", "workflow_executions"),
        ("POST", "notifications"),
        ("PATCH", "workflow_executions"),
    ];
    assert_eq!(order, expected.map(|(m, t)| (m.to_string(), t.to_string())));
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
