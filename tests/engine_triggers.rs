//! Trigger settings: the filter deciding whether an event or a form post
//! starts a run (validated to read the trigger data only, evaluated like a
//! condition node), and a `form_submit` trigger's `redirectUrl`.

mod engine_support;

use edgeflow::api::form::hook_fields;
use edgeflow::engine::{trigger_passes, validate, Graph, Limits, ValidationIssue};
use engine_support::*;
use serde_json::{json, Value};

/// A workflow `t -> a` whose trigger has the given type and `data.config`.
fn doc(trigger_type: &str, config: Value) -> Value {
    json!({
        "nodes": [
            {"id": "t", "type": "trigger", "data": {"triggerType": trigger_type, "config": config}},
            notify("a")
        ],
        "edges": [edge("e1", "t", "a")]
    })
}

fn with_filter(trigger_type: &str, filter: Value) -> Graph {
    graph(&doc(trigger_type, json!({ "filter": filter })))
}

fn issues(doc: &Value) -> Vec<ValidationIssue> {
    match validate(&doc["nodes"], &doc["edges"], &Limits::default()) {
        Ok(_) => panic!("document was accepted: {doc}"),
        Err(issues) => issues,
    }
}

/// `(nodeId, field)` of each issue.
fn located(issues: &[ValidationIssue]) -> Vec<(Option<&str>, Option<&str>)> {
    issues
        .iter()
        .map(|i| (i.node_id.as_deref(), i.field.as_deref()))
        .collect()
}

/// A contact update event as the outbox dispatch hands it over.
fn contact_update(changed: &[&str]) -> Value {
    json!({
        "type": "contact_update",
        "table": "contacts",
        "record": {"id": "c-1", "email": "ada@example.com", "stage": "qualified", "score": "85"},
        "old_record": {"id": "c-1", "email": "ada@example.com", "stage": "lead", "score": "40"},
        "changed": changed
    })
}

#[test]
fn a_filter_on_changed_columns_passes_only_matching_events() {
    let graph = with_filter(
        "contact_update",
        json!({"left": "{{trigger.changed}}", "op": "contains", "right": "stage"}),
    );
    assert!(graph.trigger_filter().is_some());
    assert_eq!(
        trigger_passes(&graph, &contact_update(&["stage", "score"])),
        Ok(true)
    );
    assert_eq!(trigger_passes(&graph, &contact_update(&["email"])), Ok(false));
    assert_eq!(trigger_passes(&graph, &contact_update(&[])), Ok(false));
}

#[test]
fn a_filter_compares_like_a_condition_node() {
    let graph = with_filter(
        "contact_update",
        json!({"left": "{{trigger.record.score}}", "op": "gte", "right": 80}),
    );
    // "85" from the row compares as a number, as in a condition node.
    assert_eq!(trigger_passes(&graph, &contact_update(&["score"])), Ok(true));
    let graph = with_filter(
        "deal_won",
        json!({"left": "{{trigger.record.stage}}", "op": "neq", "right": "{{trigger.old_record.stage}}"}),
    );
    assert_eq!(trigger_passes(&graph, &contact_update(&["stage"])), Ok(true));
}

#[test]
fn without_a_filter_everything_passes() {
    let plain = graph(&doc("contact_update", json!({})));
    assert_eq!(plain.trigger_filter(), None);
    assert_eq!(trigger_passes(&plain, &contact_update(&[])), Ok(true));
    assert_eq!(trigger_passes(&plain, &Value::Null), Ok(true));
    let null_filter = graph(&doc("manual", json!({"filter": null})));
    assert_eq!(trigger_passes(&null_filter, &json!({})), Ok(true));
}

#[test]
fn exists_on_a_missing_path_is_false_and_other_ops_error() {
    let exists = with_filter(
        "form_submit",
        json!({"left": "{{trigger.email}}", "op": "exists"}),
    );
    assert_eq!(
        trigger_passes(&exists, &json!({"email": "ada@example.com"})),
        Ok(true)
    );
    assert_eq!(trigger_passes(&exists, &json!({"name": "Ada"})), Ok(false));
    assert_eq!(trigger_passes(&exists, &json!({"email": null})), Ok(false));

    let eq = with_filter(
        "form_submit",
        json!({"left": "{{trigger.plan}}", "op": "eq", "right": "pro"}),
    );
    let err = trigger_passes(&eq, &json!({"name": "Ada"})).unwrap_err();
    assert!(err.starts_with("trigger filter: "), "{err}");
    assert!(err.contains("{{trigger.plan}}"), "{err}");

    let contains = with_filter(
        "form_submit",
        json!({"left": "{{trigger.count}}", "op": "contains", "right": 1}),
    );
    let err = trigger_passes(&contains, &json!({"count": 5})).unwrap_err();
    assert!(err.contains("contains needs a string or an array"), "{err}");
}

#[test]
fn a_filter_reads_a_form_post_as_the_hook_parses_it() {
    let graph = with_filter(
        "form_submit",
        json!({"left": "{{trigger.interest}}", "op": "contains", "right": "demo"}),
    );
    let post = |body: &str| {
        let fields = hook_fields(Some("application/x-www-form-urlencoded"), body.as_bytes()).unwrap();
        trigger_passes(&graph, &Value::Object(fields))
    };
    assert_eq!(
        post("email=ada%40example.com&interest=demo&interest=pricing"),
        Ok(true)
    );
    assert_eq!(post("email=ada%40example.com&interest=book+a+demo"), Ok(true));
    assert_eq!(post("email=ada%40example.com&interest=pricing"), Ok(false));
}

#[test]
fn a_filter_may_read_only_the_trigger() {
    let found = issues(&doc(
        "contact_update",
        json!({"filter": {"left": "{{nodes.x.output.score}}", "op": "gt", "right": "{{execution.id}}"}}),
    ));
    assert_eq!(
        located(&found),
        vec![
            (Some("t"), Some("data.config.filter.left")),
            (Some("t"), Some("data.config.filter.right")),
        ]
    );
    assert!(
        found[0].message.contains("only the trigger data"),
        "{}",
        found[0].message
    );
    assert!(
        found[0].message.contains("{{nodes.x.output.score}}"),
        "{}",
        found[0].message
    );

    let found = issues(&doc(
        "contact_update",
        json!({"filter": {"left": "Stage: {{workflow.id}} {{trigger.record.stage}}", "op": "contains", "right": ["{{nodes.a.output}}"]}}),
    ));
    assert_eq!(
        located(&found),
        vec![
            (Some("t"), Some("data.config.filter.left")),
            (Some("t"), Some("data.config.filter.right.0")),
        ]
    );

    let found = issues(&doc(
        "contact_update",
        json!({"filter": {"left": "{{ trigger. }}", "op": "exists"}}),
    ));
    assert_eq!(
        located(&found),
        vec![(Some("t"), Some("data.config.filter.left"))]
    );
}

#[test]
fn a_malformed_filter_is_named_like_a_condition() {
    let cases = [
        (json!("yes"), vec!["data.config.filter"]),
        (
            json!({"left": "{{trigger.a}}", "op": "~="}),
            vec!["data.config.filter.op"],
        ),
        (
            json!({"op": "gt"}),
            vec!["data.config.filter.left", "data.config.filter.right"],
        ),
    ];
    for (filter, fields) in cases {
        let found = issues(&doc("deal_won", json!({ "filter": filter })));
        let expected: Vec<_> = fields.iter().map(|f| (Some("t"), Some(*f))).collect();
        assert_eq!(located(&found), expected, "{filter}");
    }
    assert_eq!(
        issues(&doc("deal_won", json!({"filter": {"op": "eq", "right": 1}})))[0].message,
        "left operand is required"
    );
    let found = issues(&doc("deal_won", json!("not an object")));
    assert_eq!(located(&found), vec![(Some("t"), Some("data.config"))]);
}

#[test]
fn a_valid_redirect_url_is_kept() {
    for url in [
        "https://example.com/thanks",
        "http://localhost:8080/done?source=form#top",
        "HTTPS://Example.COM",
        "https://[2001:db8::1]:8443/ok",
        "https://sub.example-site.co.uk/a%20b",
    ] {
        let graph = graph(&doc("form_submit", json!({ "redirectUrl": url })));
        assert_eq!(graph.redirect_url(), Some(url), "{url}");
    }
    let padded = graph(&doc(
        "form_submit",
        json!({"redirectUrl": "  https://example.com/ "}),
    ));
    assert_eq!(padded.redirect_url(), Some("https://example.com/"));
    for cleared in [
        json!({}),
        json!({"redirectUrl": null}),
        json!({"redirectUrl": ""}),
    ] {
        assert_eq!(
            graph(&doc("form_submit", cleared.clone())).redirect_url(),
            None,
            "{cleared}"
        );
    }
    // Triggers of other types without one are unaffected.
    assert_eq!(graph(&doc("manual", json!({}))).redirect_url(), None);
}

#[test]
fn an_invalid_redirect_url_is_named() {
    let long = format!("https://example.com/{}", "a".repeat(2000));
    let cases: Vec<(Value, &str)> = vec![
        (json!("/thanks"), "start with https:// or http://"),
        (json!("ftp://example.com"), "start with https:// or http://"),
        (json!("javascript:alert(1)"), "start with https:// or http://"),
        (json!("https://"), "no host"),
        (json!("https:///path"), "no host"),
        (json!("https://user:pw@example.com"), "credentials"),
        (json!("https://exa mple.com"), "' ' is not allowed"),
        (json!("https://example.com/\r\nSet-Cookie: a=b"), "is not allowed"),
        (json!("https://exämple.com"), "is not allowed"),
        (json!("https://example..com"), "not a host name"),
        (json!("https://example.com:99999"), "not a port"),
        (json!("https://example.com:"), "not a port"),
        (json!("https://[zz]/"), "not an IPv6 address"),
        (
            json!("https://example.com/?name={{trigger.name}}"),
            "templates are not allowed",
        ),
        (json!(long), "longer than 2000 characters"),
        (json!(42), "must be a string"),
    ];
    for (url, why) in cases {
        let found = issues(&doc("form_submit", json!({ "redirectUrl": url })));
        assert_eq!(
            located(&found),
            vec![(Some("t"), Some("data.config.redirectUrl"))],
            "{url}"
        );
        assert!(found[0].message.contains(why), "{url}: {}", found[0].message);
    }
}

#[test]
fn a_redirect_url_belongs_to_form_submit_only() {
    let found = issues(&doc(
        "contact_update",
        json!({"redirectUrl": "https://example.com/thanks"}),
    ));
    assert_eq!(
        located(&found),
        vec![(Some("t"), Some("data.config.redirectUrl"))]
    );
    assert_eq!(
        found[0].message,
        "redirectUrl applies only to form_submit triggers, not contact_update"
    );
}

#[test]
fn a_filtered_trigger_still_runs_with_its_data_as_output() {
    let mut document = doc(
        "form_submit",
        json!({"filter": {"left": "{{trigger.email}}", "op": "exists"}, "redirectUrl": "https://example.com/thanks"}),
    );
    document["nodes"][1] = action("a", "send_notification", json!({"title": "{{trigger.email}}"}));
    let validated = graph(&document);
    assert_eq!(validated.trigger_type().as_str(), "form_submit");
    let data = json!({"email": "ada@example.com"});
    assert_eq!(trigger_passes(&validated, &data), Ok(true));
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&document, data.clone(), &runner, &clock);
    assert!(report.success);
    assert_eq!(report.results[0].output, Some(data));
    assert_eq!(runner.calls.borrow()[0].inputs["title"], "ada@example.com");
}
