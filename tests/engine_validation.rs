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
    let path = format!("{}/scripts/sample-workflow.json", env!("CARGO_MANIFEST_DIR"));
    let sample: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(graph(&sample).nodes().len(), 5, "{path}");
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

/// A node whose config reads each of `refs` (`node.path`) in its own field.
fn reader(id: &str, refs: &[&str]) -> Value {
    let mut config = serde_json::Map::new();
    config.insert("title".into(), json!(format!("reader {id}")));
    for r in refs {
        let (node, _) = r.split_once('.').unwrap();
        config.insert(format!("from_{node}"), json!(format!("{{{{nodes.{r}}}}}")));
    }
    action(id, "send_notification", Value::Object(config))
}

fn condition(id: &str, left: &str) -> Value {
    json!({"id": id, "type": "condition",
           "data": {"condition": {"left": left, "op": "exists"}}})
}

fn branch(id: &str, source: &str, target: &str, handle: bool) -> Value {
    json!({"id": id, "source": source, "target": target, "sourceHandle": handle.to_string()})
}

#[test]
fn in_a_diamond_the_join_may_read_the_fork_but_not_either_side() {
    // t -> a; a -> b -> d and a -> c -> d.
    let diamond = |d: Value| {
        json!({"nodes": [trigger("t"), notify("a"), notify("b"), notify("c"), d],
               "edges": [edge("e0", "t", "a"), edge("e1", "a", "b"), edge("e2", "a", "c"),
                         edge("e3", "b", "d"), edge("e4", "c", "d")]})
    };
    graph(&diamond(reader("d", &["a.output.id", "t.output.email"])));

    let found = issues(&diamond(reader("d", &["a.output.id", "b.output.x", "c.output"])));
    assert_eq!(
        located(&found),
        vec![
            (Some("d"), None, Some("data.config.from_b")),
            (Some("d"), None, Some("data.config.from_c"))
        ]
    );
    assert_eq!(
        found[0].message,
        "template {{nodes.b.output.x}} references node \"b\", which does not run on every path to \"d\" (it may be skipped)"
    );
    assert_eq!(
        found[1].message,
        "template {{nodes.c.output}} references node \"c\", which does not run on every path to \"d\" (it may be skipped)"
    );
    let json = serde_json::to_value(&found[0]).unwrap();
    assert_eq!(json["nodeId"], "d");
    assert_eq!(json["field"], "data.config.from_b");
}

/// t -> a -> cond; cond true -> x -> y; cond false -> z; then `extra` nodes and edges.
fn branches(y: Value, extra_nodes: Vec<Value>, extra_edges: Vec<Value>) -> Value {
    let mut nodes = vec![
        trigger("t"),
        notify("a"),
        condition("cond", "{{nodes.a.output.id}}"),
        notify("x"),
        y,
        notify("z"),
    ];
    nodes.extend(extra_nodes);
    let mut edges = vec![
        edge("e1", "t", "a"),
        edge("e2", "a", "cond"),
        branch("e3", "cond", "x", true),
        edge("e4", "x", "y"),
        branch("e5", "cond", "z", false),
    ];
    edges.extend(extra_edges);
    json!({"nodes": nodes, "edges": edges})
}

#[test]
fn after_a_true_branch_a_node_may_read_the_condition_and_what_precedes_it_but_not_the_false_branch() {
    let ok = reader(
        "y",
        &[
            "cond.output.result",
            "a.output.id",
            "x.output.id",
            "t.output.name",
        ],
    );
    graph(&branches(ok, vec![], vec![]));

    let found = issues(&branches(
        reader("y", &["x.output.id", "z.output.id"]),
        vec![],
        vec![],
    ));
    assert_eq!(
        located(&found),
        vec![(Some("y"), None, Some("data.config.from_z"))]
    );
    assert_eq!(
        found[0].message,
        "template {{nodes.z.output.id}}: node \"z\" is not upstream of this node"
    );
}

#[test]
fn a_join_after_branches_may_read_only_what_runs_before_the_split() {
    // y and z both lead to `join`, an action, and to `check`, a condition.
    let join = |refs: &[&str]| reader("join", refs);
    let doc = |join: Value, check: Value| {
        branches(
            notify("y"),
            vec![join, check, reader("after", &["join.output.id", "a.output.id"])],
            vec![
                edge("j1", "y", "join"),
                edge("j2", "z", "join"),
                edge("c1", "y", "check"),
                edge("c2", "z", "check"),
                edge("j3", "join", "after"),
            ],
        )
    };
    graph(&doc(
        join(&["cond.output.result", "a.output.id"]),
        condition("check", "{{nodes.cond.output.result}}"),
    ));

    let found = issues(&doc(
        join(&["a.output.id", "x.output.id", "z.output.id"]),
        condition("check", "{{nodes.y.output.id}}"),
    ));
    assert_eq!(
        located(&found),
        vec![
            (Some("join"), None, Some("data.config.from_x")),
            (Some("join"), None, Some("data.config.from_z")),
            (Some("check"), None, Some("data.condition.left")),
        ]
    );
    assert_eq!(
        found[2].message,
        "template {{nodes.y.output.id}} references node \"y\", which does not run on every path to \"check\" (it may be skipped)"
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
            {"id": "x", "type": "webhook", "data": {}},
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
