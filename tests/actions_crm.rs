//! The CRM writes as the workflow owner through PostgREST: request shapes,
//! outputs, error grouping, contact update and upsert, exactly-once inserts
//! per step key, and the mapped endpoint alternative.

mod actions_support;

use actions_support::*;
use serde_json::json;

const CONTACT_ID: &str = "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

fn assert_as_owner(req: &edgeflow::http::HttpRequest) {
    assert_eq!(
        header(req, "authorization"),
        Some(format!("Bearer {OWNER_TOKEN}").as_str())
    );
    assert_eq!(header(req, "apikey"), Some(ANON_KEY));
}

#[test]
fn send_notification_inserts_as_the_owner_and_returns_the_row() {
    let config = config(&[]);
    let row =
        json!({"id": "n1", "user_id": OWNER_ID, "title": "New lead", "body": "Ann (91)", "read_at": null});
    let out = Fake::new().then(201, &json!([row]).to_string());
    let output = run(
        &config,
        &out,
        "send_notification",
        json!({"title": "New lead", "body": "Ann (91)"}),
    )
    .unwrap();
    assert_eq!(output, row);
    let req = out.request(0);
    assert_eq!(
        (req.method.as_str(), req.url.as_str()),
        ("POST", "http://db.test/rest/v1/notifications")
    );
    assert_eq!(header(&req, "prefer"), Some("return=representation"));
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_as_owner(&req);
    assert_eq!(
        body_json(&req),
        json!({"title": "New lead", "body": "Ann (91)", "step_key": step_key()})
    );
}

#[test]
fn create_deal_sends_only_the_given_columns() {
    let config = config(&[]);
    let out = Fake::new().then(201, r#"[{"id":"d1","title":"Acme","stage":"new"}]"#);
    let output = run(
        &config,
        &out,
        "create_deal",
        json!({"title": "Acme", "value": 1200.5, "contact_id": CONTACT_ID, "stage": ""}),
    )
    .unwrap();
    assert_eq!(output["id"], "d1");
    let req = out.request(0);
    assert_eq!(req.url, "http://db.test/rest/v1/deals");
    assert_eq!(
        body_json(&req),
        json!({"title": "Acme", "value": 1200.5, "contact_id": CONTACT_ID, "step_key": step_key()})
    );
    let out = Fake::new();
    assert!(fatal_message(run(
        &config,
        &out,
        "create_deal",
        json!({"title": "A", "contact_id": "nope"})
    ))
    .contains("UUID"));
    assert_eq!(out.count(), 0);
}

#[test]
fn postgrest_failures_are_grouped_by_status() {
    let config = config(&[]);
    let cases = [
        (409, r#"{"code":"23503","message":"fk"}"#, false),
        (400, r#"{"code":"23514","message":"check"}"#, false),
        (403, r#"{"code":"42501","message":"rls"}"#, false),
        (401, r#"{"code":"PGRST301","message":"jwt expired"}"#, false),
        (500, r#"{"message":"boom"}"#, true),
        (503, "", true),
        (429, "", true),
    ];
    for (status, body, retry) in cases {
        let out = Fake::new().then(status, body);
        let result = run(&config, &out, "create_deal", json!({"title": "A"}));
        let message = if retry {
            retryable_message(result)
        } else {
            fatal_message(result)
        };
        assert!(message.contains(&format!("HTTP {status}")), "{message}");
        assert!(message.contains("deals"), "{message}");
    }
    let out = Fake::new().then_fail("dns error");
    assert!(
        retryable_message(run(&config, &out, "send_notification", json!({"title": "t"})))
            .contains("dns error")
    );
    // RLS can make an insert return no row at all.
    let out = Fake::new().then(201, "[]");
    assert!(fatal_message(run(&config, &out, "send_notification", json!({"title": "t"}))).contains("no row"));
}

/// The read a repeated insert falls back to: the owner's row with this key.
fn assert_read_by_step_key(req: &edgeflow::http::HttpRequest, table: &str) {
    assert_eq!(req.method, "GET");
    assert_eq!(
        req.url,
        format!(
            "http://db.test/rest/v1/{table}?select=*&step_key=eq.{}",
            step_key().replace(':', "%3A")
        )
    );
    assert_as_owner(req);
}

#[test]
fn an_insert_whose_step_key_is_taken_returns_the_first_row() {
    let config = config(&[]);
    let dup = r#"{"code":"23505","message":"duplicate key value violates unique constraint \"deals_user_id_step_key_idx\""}"#;
    for (action, table, inputs) in [
        ("create_deal", "deals", json!({"title": "Acme"})),
        ("send_notification", "notifications", json!({"title": "New lead"})),
    ] {
        let first = json!({"id": "first", "title": inputs["title"], "step_key": step_key()});
        let out = Fake::new().then(409, dup).then(200, &json!([first]).to_string());
        let output = run(&config, &out, action, inputs.clone()).unwrap();
        assert_eq!(output, first, "{action}");
        assert_eq!(out.count(), 2, "{action}: one insert, one read, no second insert");
        assert_eq!(out.request(0).method, "POST");
        assert_eq!(body_json(&out.request(0))["step_key"], step_key());
        assert_read_by_step_key(&out.request(1), table);
    }
}

#[test]
fn other_conflicts_stay_errors() {
    let config = config(&[]);
    // A unique violation, but no row holds the key: another index refused it.
    let out = Fake::new()
        .then(409, r#"{"code":"23505","message":"dup"}"#)
        .then(200, "[]");
    let message = fatal_message(run(&config, &out, "create_deal", json!({"title": "A"})));
    assert!(
        message.contains("HTTP 409") && message.contains("deals"),
        "{message}"
    );
    assert_eq!(out.count(), 2);
    assert_read_by_step_key(&out.request(1), "deals");
    // Not a unique violation at all: no read.
    let out = Fake::new().then(409, r#"{"code":"23503","message":"fk"}"#);
    let message = fatal_message(run(
        &config,
        &out,
        "create_deal",
        json!({"title": "A", "contact_id": CONTACT_ID}),
    ));
    assert!(message.contains("HTTP 409"), "{message}");
    assert_eq!(out.count(), 1);
    // The read itself failing is that read's error, retryable as usual.
    let out = Fake::new()
        .then(409, r#"{"code":"23505","message":"dup"}"#)
        .then(503, "");
    assert!(
        retryable_message(run(&config, &out, "send_notification", json!({"title": "t"}))).contains("503")
    );
}

#[test]
fn a_step_retried_after_its_row_was_committed_writes_one_row() {
    // The first insert commits but its answer never comes: the attempt
    // times out, the retry's insert hits the key and returns the first row.
    let config = config(&[]);
    for (action, table) in [("create_deal", "deals"), ("send_notification", "notifications")] {
        let first = json!({"id": "first", "title": "Acme", "step_key": step_key()});
        let out = Fake::new()
            .then_hang()
            .then(409, r#"{"code":"23505","message":"dup"}"#)
            .then(200, &json!([first]).to_string());
        let result = run_step(
            &config,
            &out,
            json!({"actionId": action, "config": {"title": "Acme"}, "timeoutMs": 1000,
                   "retry": {"maxAttempts": 2, "backoffMs": 100}}),
        );
        assert_eq!(result.output, Some(first), "{action}: {:?}", result.error);
        assert_eq!(result.attempts, 2);
        let posts: Vec<_> = out
            .requests
            .borrow()
            .iter()
            .filter(|r| r.method == "POST")
            .cloned()
            .collect();
        assert_eq!(posts.len(), 2, "{action}");
        assert_eq!(
            body_json(&posts[0]),
            body_json(&posts[1]),
            "the same row, the same key"
        );
        assert_read_by_step_key(&out.request(2), table);
    }
}

#[test]
fn update_contact_by_id_patches_and_merges_fields() {
    let config = config(&[]);
    let out = Fake::new()
        .then(200, r#"[{"fields":{"plan":"free","seats":3}}]"#)
        .then(200, &json!([{"id": CONTACT_ID, "name": "Ann"}]).to_string());
    let output = run(
        &config,
        &out,
        "update_contact",
        json!({"id": CONTACT_ID, "name": "Ann", "email": "ann@acme.com", "fields": {"plan": "pro"}}),
    )
    .unwrap();
    assert_eq!(output["id"], CONTACT_ID);
    let read = out.request(0);
    assert_eq!(read.method, "GET");
    assert_eq!(
        read.url,
        format!("http://db.test/rest/v1/contacts?select=fields&id=eq.{CONTACT_ID}")
    );
    let patch = out.request(1);
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        patch.url,
        format!("http://db.test/rest/v1/contacts?id=eq.{CONTACT_ID}")
    );
    assert_eq!(header(&patch, "prefer"), Some("return=representation"));
    assert_as_owner(&patch);
    assert_eq!(
        body_json(&patch),
        json!({"name": "Ann", "email": "ann@acme.com", "fields": {"plan": "pro", "seats": 3}})
    );
}

#[test]
fn update_contact_of_a_missing_or_foreign_id_is_not_found() {
    let config = config(&[]);
    let out = Fake::new().then(200, "[]");
    let message = fatal_message(run(
        &config,
        &out,
        "update_contact",
        json!({"id": CONTACT_ID, "company": "Acme"}),
    ));
    assert!(message.contains("contact not found"), "{message}");
    assert_eq!(out.count(), 1);
    assert_eq!(out.request(0).method, "PATCH");
    let out = Fake::new();
    assert!(fatal_message(run(&config, &out, "update_contact", json!({"id": "1; drop"}))).contains("UUID"));
    assert_eq!(out.count(), 0);
}

#[test]
fn update_contact_by_email_upserts_on_owner_and_email() {
    let config = config(&[]);
    let out = Fake::new().then(201, r#"[{"id":"c9","email":"ann@acme.com","company":"Acme"}]"#);
    let output = run(
        &config,
        &out,
        "update_contact",
        json!({"email": "ann@acme.com", "company": "Acme"}),
    )
    .unwrap();
    assert_eq!(output["id"], "c9");
    let req = out.request(0);
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.url,
        "http://db.test/rest/v1/contacts?on_conflict=user_id%2Cemail"
    );
    assert_eq!(
        header(&req, "prefer"),
        Some("return=representation,resolution=merge-duplicates")
    );
    assert_eq!(
        body_json(&req),
        json!({"email": "ann@acme.com", "company": "Acme", "user_id": OWNER_ID})
    );

    // With fields, the stored ones are read first (none here) and merged.
    let out = Fake::new().then(200, "[]").then(201, r#"[{"id":"c9"}]"#);
    run(
        &config,
        &out,
        "update_contact",
        json!({"email": "ann@acme.com", "fields": {"a": 1}}),
    )
    .unwrap();
    assert!(
        out.request(0).url.contains("email=eq.ann%40acme.com"),
        "{}",
        out.request(0).url
    );
    assert_eq!(body_json(&out.request(1))["fields"], json!({"a": 1}));
}

#[test]
fn a_mapped_crm_endpoint_replaces_postgrest() {
    let config = config(&[("CRM_API_URL", "https://crm.example.com/api/")]);
    let out = Fake::new().then(200, r#"{"id":"remote-1"}"#);
    let output = run(&config, &out, "create_deal", json!({"title": "Acme", "value": 5})).unwrap();
    assert_eq!(output, json!({"id": "remote-1"}));
    let req = out.request(0);
    assert_eq!(
        (req.method.as_str(), req.url.as_str()),
        ("POST", "https://crm.example.com/api/create_deal")
    );
    assert_eq!(
        header(&req, "authorization"),
        Some(format!("Bearer {OWNER_TOKEN}").as_str())
    );
    assert_eq!(body_json(&req), json!({"title": "Acme", "value": 5}));
    assert_eq!(
        header(&req, "idempotency-key"),
        Some(step_key().as_str()),
        "the endpoint can de-duplicate a retried step"
    );
    // A configured endpoint is never followed through a redirect.
    let config = actions_support::config(&[("CRM_API_URL", "https://crm.example.com/api")]);
    let out = Fake::new().then_with(302, &[("location", "https://elsewhere.example/")], "");
    assert!(
        fatal_message(run(&config, &out, "send_notification", json!({"title": "t"})))
            .contains("never followed")
    );
}
