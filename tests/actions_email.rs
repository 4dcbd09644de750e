//! `send_email`: the outbox default, the email API override with its
//! recorded outcome, one outbox row and one provider key per step, and
//! injection through recipients, subject and body (the engine's rendering
//! and the executor together).

mod actions_support;

use actions_support::*;
use edgeflow::actions::Actions;
use edgeflow::engine::{execute, validate, Budget, Clock, Limits, NoJournal, NodeStatus, RunContext};
use serde_json::{json, Value};
use std::future::{pending, Future};

#[test]
fn by_default_the_mail_is_queued_in_the_outbox_as_the_owner() {
    let config = config(&[]);
    let row = json!({"id": "m1", "status": "queued", "recipient": "ann@acme.com"});
    let out = Fake::new().then(201, &json!([row]).to_string());
    let output = run(
        &config,
        &out,
        "send_email",
        json!({"to": "ann@acme.com", "subject": "Welcome", "body": "Hi Ann"}),
    )
    .unwrap();
    assert_eq!(output, row);
    let req = out.request(0);
    assert_eq!(
        (req.method.as_str(), req.url.as_str()),
        ("POST", "http://db.test/rest/v1/email_outbox")
    );
    assert_eq!(
        header(&req, "authorization"),
        Some(format!("Bearer {OWNER_TOKEN}").as_str())
    );
    assert_eq!(
        body_json(&req),
        json!({"recipient": "ann@acme.com", "from_address": null, "subject": "Welcome", "body": "Hi Ann",
               "status": "queued", "workflow_id": WORKFLOW_ID, "execution_id": EXECUTION_ID,
               "step_key": step_key()})
    );
}

#[test]
fn a_repeated_step_returns_the_outbox_row_its_first_attempt_queued() {
    let config = config(&[]);
    let first = json!({"id": "m1", "status": "queued", "step_key": step_key()});
    let out = Fake::new()
        .then(409, r#"{"code":"23505","message":"dup"}"#)
        .then(200, &json!([first]).to_string());
    let output = run(
        &config,
        &out,
        "send_email",
        json!({"to": "ann@acme.com", "subject": "Welcome", "body": "Hi Ann"}),
    )
    .unwrap();
    assert_eq!(output, first);
    assert_eq!(out.count(), 2, "one insert, one read");
    let read = out.request(1);
    assert_eq!(read.method, "GET");
    assert_eq!(
        read.url,
        format!(
            "http://db.test/rest/v1/email_outbox?select=*&step_key=eq.{}",
            step_key().replace(':', "%3A")
        )
    );

    // Through the engine: the first insert commits, its answer is lost.
    let out = Fake::new()
        .then_hang()
        .then(409, r#"{"code":"23505","message":"dup"}"#)
        .then(200, &json!([first]).to_string());
    let result = run_step(
        &config,
        &out,
        json!({"actionId": "send_email", "timeoutMs": 1000, "retry": {"maxAttempts": 3, "backoffMs": 100},
               "config": {"to": "ann@acme.com", "subject": "Welcome", "body": "Hi Ann"}}),
    );
    assert_eq!((result.output, result.attempts), (Some(first), 2));
    assert_eq!(out.count(), 3);
}

#[test]
fn an_unsaved_test_run_links_its_execution_but_no_workflow() {
    let config = config(&[]);
    let mut env = env(&config);
    env.workflow_id = None;
    let out = Fake::new().then(201, r#"[{"id":"m1"}]"#);
    run_env(
        env,
        &out,
        "send_email",
        json!({"to": "a@b.co", "subject": "s", "body": "b"}),
    )
    .unwrap();
    let body = body_json(&out.request(0));
    assert!(body.get("workflow_id").is_none(), "{body}");
    assert_eq!(body["execution_id"], EXECUTION_ID);
}

#[test]
fn recipient_and_header_injection_is_refused_before_anything_is_sent() {
    let config = config(&[
        ("EMAIL_API_URL", "https://mail.example/emails"),
        ("EMAIL_API_KEY", EMAIL_KEY),
    ]);
    for to in [
        "a@x.com,b@y.com",
        "a@x.com\r\nBcc: c@z.com",
        "a@x.com\nb@y.com",
        "Ann <a@x.com>",
        "a@x.com; b@y.com",
        "a@x.com b@y.com",
        "nobody",
    ] {
        let out = Fake::new();
        let message = fatal_message(run(
            &config,
            &out,
            "send_email",
            json!({"to": to, "subject": "s", "body": "b"}),
        ));
        assert!(message.contains("\"to\""), "{to:?}: {message}");
        assert_eq!(out.count(), 0, "{to:?}");
    }
    let out = Fake::new();
    let message = fatal_message(run(
        &config,
        &out,
        "send_email",
        json!({"to": "a@x.com", "subject": "Hi\r\nBcc: c@z.com", "body": "b"}),
    ));
    assert!(message.contains("subject"), "{message}");
    let out = Fake::new();
    fatal_message(run(
        &config,
        &out,
        "send_email",
        json!({"to": "a@x.com", "subject": "s", "body": "b", "from": "x@y.com\nBcc: z@w.com"}),
    ));
    assert_eq!(out.count(), 0);
}

#[test]
fn with_an_email_api_the_mail_is_sent_then_recorded_as_sent() {
    let config = config(&[
        ("EMAIL_API_URL", "https://mail.example/emails"),
        ("EMAIL_API_KEY", EMAIL_KEY),
    ]);
    let out = Fake::new()
        .then(200, r#"{"id":"prov-123"}"#)
        .then(201, r#"[{"id":"m1","status":"sent","provider_id":"prov-123"}]"#);
    let output = run(
        &config,
        &out,
        "send_email",
        json!({"to": "ann@acme.com", "from": "sales@us.example", "subject": "Welcome", "body": "<p>Hi Ann</p>"}),
    )
    .unwrap();
    assert_eq!(output["provider_id"], "prov-123");
    let send = out.request(0);
    assert_eq!(
        (send.method.as_str(), send.url.as_str()),
        ("POST", "https://mail.example/emails")
    );
    assert_eq!(
        header(&send, "authorization"),
        Some(format!("Bearer {EMAIL_KEY}").as_str())
    );
    assert_eq!(
        header(&send, "idempotency-key"),
        Some(step_key().as_str()),
        "the provider's idempotency key is the step key"
    );
    assert_eq!(
        body_json(&send),
        json!({"from": "sales@us.example", "to": ["ann@acme.com"], "subject": "Welcome", "html": "<p>Hi Ann</p>"})
    );
    assert!(
        !out.everything_sent()
            .lines()
            .next()
            .unwrap()
            .contains(OWNER_TOKEN),
        "the owner's token is not the provider's business"
    );
    let record = body_json(&out.request(1));
    assert_eq!(
        (record["status"].as_str(), record["provider_id"].as_str()),
        (Some("sent"), Some("prov-123"))
    );
    assert_eq!(record["step_key"], step_key(), "the outbox row records the key");
    assert!(!output.to_string().contains(EMAIL_KEY));
}

#[test]
fn a_retried_send_carries_the_same_key_and_keeps_one_sent_row() {
    let config = config(&[
        ("EMAIL_API_URL", "https://mail.example/emails"),
        ("EMAIL_API_KEY", EMAIL_KEY),
    ]);
    // Attempt 1: the provider fails (recorded as a failed attempt, no key).
    // Attempt 2: sent and recorded, but its answer is lost. Attempt 3: the
    // provider answers the same key with the same id; the record finds the
    // `sent` row of attempt 2 and returns it.
    let sent = json!({"id": "m2", "status": "sent", "provider_id": "prov-1", "step_key": step_key()});
    let out = Fake::new()
        .then(503, "")
        .then(201, r#"[{"id":"m1","status":"failed"}]"#)
        .then(200, r#"{"id":"prov-1"}"#)
        .then_hang()
        .then(200, r#"{"id":"prov-1"}"#)
        .then(409, r#"{"code":"23505","message":"dup"}"#)
        .then(200, &json!([sent]).to_string());
    let result = run_step(
        &config,
        &out,
        json!({"actionId": "send_email", "timeoutMs": 1000, "retry": {"maxAttempts": 3, "backoffMs": 100},
               "config": {"to": "ann@acme.com", "subject": "Welcome", "body": "Hi Ann"}}),
    );
    assert_eq!(
        (result.output, result.attempts),
        (Some(sent), 3),
        "{:?}",
        result.error
    );
    let requests = out.requests.borrow().clone();
    let provider: Vec<_> = requests
        .iter()
        .filter(|r| r.url.starts_with("https://mail.example"))
        .collect();
    assert_eq!(provider.len(), 3);
    for req in &provider {
        assert_eq!(header(req, "idempotency-key"), Some(step_key().as_str()));
    }
    let failed = body_json(&requests[1]);
    assert_eq!(failed["status"], "failed");
    assert!(
        failed.get("step_key").is_none(),
        "failed attempts are rows of their own"
    );
    assert_eq!(body_json(&requests[3])["step_key"], step_key());
    assert_eq!(body_json(&requests[5])["step_key"], step_key());
    assert_eq!(requests[6].method, "GET");
    assert_eq!(requests.len(), 7);
}

#[test]
fn plain_bodies_go_as_text_with_the_default_sender() {
    let config = config(&[
        ("EMAIL_API_URL", "https://mail.example/emails"),
        ("EMAIL_API_KEY", EMAIL_KEY),
    ]);
    let out = Fake::new()
        .then(200, r#"{"id":"p"}"#)
        .then(201, r#"[{"id":"m1"}]"#);
    run(
        &config,
        &out,
        "send_email",
        json!({"to": "a@b.co", "subject": "s", "body": "plain & simple"}),
    )
    .unwrap();
    let body = body_json(&out.request(0));
    assert_eq!(body["text"], "plain & simple");
    assert!(body.get("html").is_none());
    assert_eq!(body["from"], edgeflow::actions::email::DEFAULT_FROM);
}

#[test]
fn a_provider_failure_is_recorded_as_failed_and_grouped() {
    let config = config(&[
        ("EMAIL_API_URL", "https://mail.example/emails"),
        ("EMAIL_API_KEY", EMAIL_KEY),
    ]);
    let out = Fake::new()
        .then(422, &format!(r#"{{"message":"invalid from, key {EMAIL_KEY}"}}"#))
        .then(201, r#"[{"id":"m1"}]"#);
    let message = fatal_message(run(
        &config,
        &out,
        "send_email",
        json!({"to": "a@b.co", "subject": "s", "body": "b"}),
    ));
    assert!(
        message.contains("422") && !message.contains(EMAIL_KEY),
        "{message}"
    );
    let record = body_json(&out.request(1));
    assert_eq!(record["status"], "failed");
    assert!(record["error"].as_str().unwrap().contains("422"));
    assert!(
        !record.to_string().contains(EMAIL_KEY),
        "the stored error is redacted"
    );

    let out = Fake::new().then(503, "").then(201, r#"[{"id":"m1"}]"#);
    retryable_message(run(
        &config,
        &out,
        "send_email",
        json!({"to": "a@b.co", "subject": "s", "body": "b"}),
    ));
    // Sent but not recorded: success, or a retry would send the mail twice.
    let out = Fake::new().then(200, r#"{"id":"p9"}"#).then(503, "");
    let output = run(
        &config,
        &out,
        "send_email",
        json!({"to": "a@b.co", "subject": "s", "body": "b"}),
    )
    .unwrap();
    assert_eq!(
        (output["status"].as_str(), output["provider_id"].as_str()),
        (Some("sent"), Some("p9"))
    );
    // A URL without its key is a configuration error.
    let half = actions_support::config(&[("EMAIL_API_URL", "https://mail.example/emails")]);
    let out = Fake::new();
    assert!(fatal_message(run(
        &half,
        &out,
        "send_email",
        json!({"to": "a@b.co", "subject": "s", "body": "b"})
    ))
    .contains("EMAIL_API_KEY"));
    assert_eq!(out.count(), 0);
}

/// Time that never passes: nothing here retries or times out.
struct Frozen;

impl Clock for Frozen {
    fn now_ms(&self) -> u64 {
        NOW_MS
    }
    fn sleep(&self, _ms: u64) -> impl Future<Output = ()> {
        pending()
    }
}

fn run_workflow(trigger: Value, out: &Fake) -> edgeflow::engine::RunReport {
    let nodes = json!([
        {"id": "trigger-1", "type": "trigger", "data": {"triggerType": "form_submit"}},
        {"id": "mail", "type": "action", "data": {"actionId": "send_email", "config": {
            "to": "{{trigger.email}}", "subject": "Welcome {{trigger.company}}",
            "body": "<p>Hi {{trigger.name}}</p>"}}}
    ]);
    let edges = json!([{"id": "e1", "source": "trigger-1", "target": "mail"}]);
    let limits = Limits::default();
    let graph = validate(&nodes, &edges, &limits).expect("valid workflow");
    let config = config(&[]);
    let runner = Actions::new(env(&config), out);
    let ctx = RunContext {
        execution_id: EXECUTION_ID.into(),
        workflow_id: Some(WORKFLOW_ID.into()),
        trigger,
        journaled: vec![],
    };
    futures_executor::block_on(execute(
        &graph,
        &ctx,
        &runner,
        &Frozen,
        &NoJournal,
        &limits,
        &Budget::unlimited(),
    ))
}

#[test]
fn html_in_a_trigger_value_arrives_escaped_in_the_queued_mail() {
    let out = Fake::with(|req| {
        Ok(resp(
            201,
            &[],
            &format!("[{}]", String::from_utf8_lossy(req.body.as_deref().unwrap())),
        ))
    });
    let report = run_workflow(
        json!({"email": "ann@acme.com", "company": "Acme", "name": "<script>alert(1)</script><a href=\"http://evil\">x</a>"}),
        &out,
    );
    assert!(report.success, "{:?}", report.results);
    let body = body_json(&out.request(0))["body"].as_str().unwrap().to_string();
    assert_eq!(
        body,
        "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;&lt;a href=&quot;http://evil&quot;&gt;x&lt;/a&gt;</p>"
    );
}

#[test]
fn crlf_in_trigger_values_cannot_add_a_recipient_or_header() {
    for trigger in [
        json!({"email": "ann@acme.com\r\nBcc: spy@evil.com", "company": "Acme", "name": "A"}),
        json!({"email": "ann@acme.com,spy@evil.com", "company": "Acme", "name": "A"}),
        json!({"email": "ann@acme.com", "company": "Acme\r\nBcc: spy@evil.com", "name": "A"}),
    ] {
        let out = Fake::new();
        let report = run_workflow(trigger.clone(), &out);
        let mail = report.results.iter().find(|r| r.node_id == "mail").unwrap();
        assert_eq!(mail.status, NodeStatus::Failed, "{trigger}");
        assert_eq!(out.count(), 0, "{trigger}: nothing may be queued");
    }
}
