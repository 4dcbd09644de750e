//! Scenario tests of full validation: each broken document is rejected with the right node, edge and field named.

mod engine_support;

use edgeflow::engine::{check_structure, validate, Limits, ValidationIssue};
use engine_support::*;
use serde_json::{json, Value};

fn issues(doc: &Value) -> Vec<ValidationIssue> {
    issues_with(doc, &Limits::default())
}

fn issues_with(doc: &Value, limits: &Limits) -> Vec<ValidationIssue> {
    match validate(&doc["nodes"], &doc["edges"], limits) {
        Ok(_) => panic!("document was accepted: {doc}"),
        Err(issues) => issues,
    }
}

/// `(nodeId, edgeId, field)` of each issue, for compact assertions.
fn located(issues: &[ValidationIssue]) -> Vec<(Option<&str>, Option<&str>, Option<&str>)> {
    issues
        .iter()
        .map(|i| (i.node_id.as_deref(), i.edge_id.as_deref(), i.field.as_deref()))
        .collect()
}

/// trigger `t` -> a -> b -> c, with extra edges appended.
fn chain(extra_edges: Value) -> Value {
    let mut edges = vec![edge("e1", "t", "a"), edge("e2", "a", "b"), edge("e3", "b", "c")];
    edges.extend(extra_edges.as_array().unwrap().iter().cloned());
    json!({"nodes": [trigger("t"), notify("a"), notify("b"), notify("c")], "edges": edges})
}

#[test]
fn fixtures_are_valid() {
    for name in [
        "engine_linear",
        "engine_diamond",
        "engine_lead_intake",
        "engine_branches",
    ] {
        let doc = fixture(name);
        assert_eq!(check_structure(&doc["nodes"], &doc["edges"]), Ok(()), "{name}");
        let graph = graph(&doc);
        assert_eq!(graph.nodes().len(), doc["nodes"].as_array().unwrap().len());
    }
    let graph = graph(&fixture("engine_lead_intake"));
    assert_eq!(graph.trigger().id.as_str(), "trigger-1");
    assert_eq!(graph.trigger_type().as_str(), "form_submit");
}

#[test]
fn a_cycle_is_rejected_naming_a_node_on_it() {
    let found = issues(&chain(json!([edge("back", "c", "b")])));
    assert_eq!(located(&found), vec![(Some("b"), None, None)]);
    assert_eq!(found[0].message, "cycle: b -> c -> b");
}

#[test]
fn a_dangling_edge_is_rejected_naming_the_edge_and_missing_node() {
    let found = issues(&chain(json!([edge("loose", "c", "ghost")])));
    assert_eq!(located(&found), vec![(None, Some("loose"), Some("target"))]);
    assert_eq!(
        found[0].message,
        "target \"ghost\" is not a node of this workflow"
    );
    let structural = check_structure(
        &chain(json!([edge("loose", "c", "ghost")]))["nodes"],
        &json!([edge("loose", "c", "ghost")]),
    );
    assert_eq!(structural.unwrap_err().len(), 1, "save-time check catches it too");
}

#[test]
fn two_triggers_are_rejected_naming_the_second() {
    let mut doc = chain(json!([edge("e4", "t2", "c")]));
    doc["nodes"].as_array_mut().unwrap().push(trigger("t2"));
    let found = issues(&doc);
    assert_eq!(located(&found), vec![(Some("t2"), None, None)]);
    assert_eq!(
        found[0].message,
        "only one trigger per workflow; \"t\" is already the trigger"
    );
}

#[test]
fn no_trigger_is_rejected() {
    let doc = json!({"nodes": [notify("a")], "edges": []});
    let found = issues(&doc);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].message, "the workflow needs a trigger node");
}

#[test]
fn an_unknown_action_is_rejected_naming_the_node() {
    let mut doc = chain(json!([]));
    doc["nodes"][2] = action("b", "launch_rocket", json!({}));
    let found = issues(&doc);
    assert_eq!(located(&found), vec![(Some("b"), None, Some("data.actionId"))]);
    assert_eq!(found[0].message, "unknown action \"launch_rocket\"");
}

#[test]
fn a_missing_required_input_is_rejected_naming_node_and_field() {
    let mut doc = chain(json!([]));
    doc["nodes"][3] = action(
        "c",
        "send_email",
        json!({"to": "{{trigger.email}}", "subject": "Hi"}),
    );
    let found = issues(&doc);
    assert_eq!(located(&found), vec![(Some("c"), None, Some("data.config.body"))]);
    assert_eq!(found[0].message, "input \"body\" is required");
}

#[test]
fn literal_inputs_are_type_checked_at_definition_time() {
    let mut doc = chain(json!([]));
    doc["nodes"][1] = action("a", "webhook_call", json!({"url": "file:///etc/passwd"}));
    doc["nodes"][2] = action("b", "update_contact", json!({"name": "no key"}));
    let found = issues(&doc);
    assert_eq!(
        located(&found),
        vec![
            (Some("a"), None, Some("data.config.url")),
            (Some("b"), None, Some("data.config.id"))
        ]
    );
    assert_eq!(found[1].message, "input \"id\" one of id or email is required");
}

#[test]
fn a_condition_edge_without_handle_is_rejected() {
    let mut doc = fixture("engine_lead_intake");
    doc["edges"][2].as_object_mut().unwrap().remove("sourceHandle");
    doc["edges"][4]["sourceHandle"] = json!("maybe");
    let found = issues(&doc);
    assert_eq!(
        located(&found),
        vec![
            (Some("cond-1"), Some("e3"), Some("sourceHandle")),
            (Some("cond-1"), Some("e5"), Some("sourceHandle"))
        ]
    );
}

#[test]
fn a_template_referencing_a_non_upstream_node_is_rejected() {
    let mut doc = chain(json!([]));
    // `b` reads `c`, which runs after it, and `a` reads itself.
    doc["nodes"][2] = action(
        "b",
        "send_notification",
        json!({"title": "{{nodes.c.output.id}}"}),
    );
    doc["nodes"][1] = action(
        "a",
        "send_notification",
        json!({"title": "x", "body": "{{nodes.a.output}}"}),
    );
    let found = issues(&doc);
    assert_eq!(
        located(&found),
        vec![
            (Some("a"), None, Some("data.config.body")),
            (Some("b"), None, Some("data.config.title"))
        ]
    );
    assert_eq!(
        found[1].message,
        "template {{nodes.c.output.id}}: node \"c\" is not upstream of this node"
    );
}

#[test]
fn templates_must_use_known_roots_and_nodes() {
    let mut doc = chain(json!([]));
    doc["nodes"][1] = action("a", "send_notification", json!({"title": "{{env.SECRET_KEY}}"}));
    doc["nodes"][2] = action(
        "b",
        "send_notification",
        json!({"title": "{{nodes.nope.output}}"}),
    );
    let found = issues(&doc);
    assert_eq!(
        located(&found),
        vec![
            (Some("a"), None, Some("data.config.title")),
            (Some("b"), None, Some("data.config.title"))
        ]
    );
    assert!(
        found[0]
            .message
            .starts_with("template {{env.SECRET_KEY}}: a path must start with trigger"),
        "{}",
        found[0]
    );
    assert_eq!(
        found[1].message,
        "template {{nodes.nope.output}}: no node \"nope\" in this workflow"
    );
}

#[test]
fn condition_templates_are_checked_too() {
    let mut doc = fixture("engine_lead_intake");
    doc["nodes"][2]["data"]["condition"]["left"] = json!("{{nodes.action-2.output.id}}");
    let found = issues(&doc);
    assert_eq!(
        located(&found),
        vec![(Some("cond-1"), None, Some("data.condition.left"))]
    );
}

#[test]
fn edge_rules_self_loop_into_trigger_duplicate_id() {
    let doc = chain(json!([
        edge("loop", "b", "b"),
        edge("in", "c", "t"),
        edge("e1", "a", "c")
    ]));
    let found = issues(&doc);
    let locations = located(&found);
    assert!(
        locations.contains(&(Some("b"), Some("loop"), Some("target"))),
        "{found:#?}"
    );
    assert!(
        locations.contains(&(Some("t"), Some("in"), Some("target"))),
        "{found:#?}"
    );
    assert!(locations.contains(&(None, Some("e1"), Some("id"))), "{found:#?}");
}

#[test]
fn unreachable_nodes_are_named() {
    let mut doc = chain(json!([]));
    doc["nodes"].as_array_mut().unwrap().push(notify("island"));
    let found = issues(&doc);
    assert_eq!(located(&found), vec![(Some("island"), None, None)]);
    assert_eq!(found[0].message, "not reachable from the trigger");
}

#[test]
fn node_settings_outside_their_caps_are_rejected() {
    let mut doc = chain(json!([]));
    doc["nodes"][1]["data"]["retry"] = json!({"maxAttempts": 9, "backoffMs": 60000});
    doc["nodes"][2]["data"]["timeoutMs"] = json!(0);
    doc["nodes"][3]["data"]["onError"] = json!("ignore");
    let found = issues(&doc);
    assert_eq!(
        located(&found),
        vec![
            (Some("a"), None, Some("data.retry.maxAttempts")),
            (Some("a"), None, Some("data.retry.backoffMs")),
            (Some("b"), None, Some("data.timeoutMs")),
            (Some("c"), None, Some("data.onError")),
        ]
    );
    assert_eq!(
        found[0].message,
        "maxAttempts must be an integer from 1 to 5, got 9"
    );
}

#[test]
fn bad_types_and_conditions_are_named() {
    let doc = json!({
        "nodes": [
            {"id": "t", "type": "trigger", "data": {"triggerType": "cron"}},
            {"id": "x", "type": "delay", "data": {}},
            {"id": "c", "type": "condition", "data": {"condition": {"left": 1, "op": "~="}}},
            {"id": "d", "type": "condition", "data": {"condition": {"left": 1, "op": "gt"}}}
        ],
        "edges": [edge("e1", "t", "x"), edge("e2", "t", "c"), edge("e3", "t", "d")]
    });
    let found = issues(&doc);
    assert_eq!(
        located(&found),
        vec![
            (Some("t"), None, Some("data.triggerType")),
            (Some("x"), None, Some("type")),
            (Some("c"), None, Some("data.condition.op")),
            (Some("d"), None, Some("data.condition.right")),
        ]
    );
}

#[test]
fn every_issue_is_reported_at_once() {
    let mut doc = chain(json!([edge("back", "c", "a"), edge("loose", "a", "ghost")]));
    doc["nodes"][2] = action("b", "launch_rocket", json!({}));
    doc["nodes"].as_array_mut().unwrap().push(trigger("t2"));
    let found = issues(&doc);
    let messages: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        vec![
            "edge \"loose\": target: target \"ghost\" is not a node of this workflow",
            "node \"b\": data.actionId: unknown action \"launch_rocket\"",
            "node \"t2\": only one trigger per workflow; \"t\" is already the trigger",
            "node \"a\": cycle: a -> b -> c -> a",
        ]
    );
}

#[test]
fn size_limits_are_enforced() {
    let limits = Limits {
        max_nodes: 3,
        max_edges: 2,
        max_document_bytes: 200,
        ..Limits::default()
    };
    let found = issues_with(&chain(json!([])), &limits);
    let messages: Vec<&str> = found.iter().map(|i| i.message.as_str()).collect();
    assert_eq!(messages[0], "too many nodes: 4 (limit 3)");
    assert_eq!(messages[1], "too many edges: 3 (limit 2)");
    assert!(messages[2].starts_with("workflow too large: "), "{messages:?}");
}
