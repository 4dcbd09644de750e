//! Scenario tests of templates and input checks at run time, and of condition edge cases.

mod engine_support;

use edgeflow::engine::NodeStatus;
use engine_support::*;
use serde_json::{json, Value};

fn single(config: Value, action_id: &str) -> Value {
    json!({
        "nodes": [trigger("t"), action("a", action_id, config), notify("after")],
        "edges": [edge("e1", "t", "a"), edge("e2", "a", "after")]
    })
}

#[test]
fn whole_value_templates_keep_their_json_type() {
    let config = json!({
        "url": "https://hooks.example.com/{{trigger.path}}",
        "headers": {"x-lead": "{{trigger.id}}"},
        "body": {
            "n": "{{trigger.n}}", "flag": "{{ trigger.flag }}", "obj": "{{trigger.obj}}",
            "list": "{{trigger.items}}", "first": "{{trigger.items.0.name}}", "nothing": "{{trigger.none}}",
            "text": "n={{trigger.n}} obj={{trigger.obj}} name={{trigger.items.1.name}}",
            "literal": 5
        }
    });
    let trigger = json!({"path": "in", "id": 42, "n": 3.5, "flag": true, "none": null,
                         "obj": {"k": [1, 2]}, "items": [{"name": "first"}, {"name": "second"}]});
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&single(config, "webhook_call"), trigger, &runner, &clock);

    assert!(report.success, "{report:#?}");
    let inputs = &runner.calls_for("a")[0].inputs;
    assert_eq!(inputs["url"], json!("https://hooks.example.com/in"));
    assert_eq!(inputs["headers"]["x-lead"], json!(42), "a number stays a number");
    assert_eq!(
        inputs["body"],
        json!({
            "n": 3.5, "flag": true, "obj": {"k": [1, 2]}, "list": [{"name": "first"}, {"name": "second"}],
            "first": "first", "nothing": null,
            "text": "n=3.5 obj={\"k\":[1,2]} name=second",
            "literal": 5
        })
    );
}

#[test]
fn missing_path_fails_the_node_naming_template_and_path() {
    let config = json!({"title": "Lead", "body": "{{trigger.email}}"});
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(
        &single(config, "send_notification"),
        json!({"name": "no email"}),
        &runner,
        &clock,
    );

    let a = report.result("a").unwrap();
    assert_eq!(a.status, NodeStatus::Failed);
    assert_eq!(
        a.error.as_deref(),
        Some("template {{trigger.email}}: path \"email\" not found in trigger data")
    );
    assert_eq!(a.attempts, 0, "the runner is never called with unrendered inputs");
    assert!(a.started_at.is_some());
    assert!(runner.calls_for("a").is_empty());
    assert_eq!(report.result("after").unwrap().status, NodeStatus::Skipped);
    assert_eq!(report.error_count, 1);
}

#[test]
fn missing_path_in_an_upstream_output_names_the_node() {
    let doc = json!({
        "nodes": [trigger("t"), notify("first"),
                  action("second", "send_notification", json!({"title": "{{nodes.first.output.nested.score}}"}))],
        "edges": [edge("e1", "t", "first"), edge("e2", "first", "second")]
    });
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("first", vec![ok(1, json!({"nested": {}}))]);
    let report = run(&doc, json!({}), &runner, &clock);
    assert_eq!(
        report.result("second").unwrap().error.as_deref(),
        Some("template {{nodes.first.output.nested.score}}: path \"nested.score\" not found in output of node \"first\"")
    );
}

#[test]
fn rendered_inputs_are_checked_against_the_catalog() {
    let config = json!({"to": "{{trigger.email}}", "subject": "Hi", "body": "{{trigger.body}}"});
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let trigger = json!({"email": "ada@example.com\r\nBcc: all@example.com", "body": ""});
    let report = run(&single(config, "send_email"), trigger, &runner, &clock);

    let a = report.result("a").unwrap();
    assert_eq!(a.status, NodeStatus::Failed);
    assert_eq!(
        a.error.as_deref(),
        Some("input \"to\" must be a single valid email address; input \"body\" must not be empty")
    );
    assert_eq!(a.attempts, 0);
    assert!(runner.calls_for("a").is_empty());
}

#[test]
fn template_keeping_a_wrong_type_is_rejected_before_the_call() {
    let config = json!({"title": "Deal", "value": "{{trigger.amount}}"});
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(
        &single(config, "create_deal"),
        json!({"amount": {"eur": 5}}),
        &runner,
        &clock,
    );
    assert_eq!(
        report.result("a").unwrap().error.as_deref(),
        Some("input \"value\" must be of type \"number\"")
    );
}

/// trigger -> condition -> yes / no.
fn branch(condition: Value) -> Value {
    json!({
        "nodes": [trigger("t"), {"id": "c", "type": "condition", "data": {"condition": condition}}, notify("yes"), notify("no")],
        "edges": [edge("e1", "t", "c"),
                  {"id": "e2", "source": "c", "target": "yes", "sourceHandle": "true"},
                  {"id": "e3", "source": "c", "target": "no", "sourceHandle": "false"}]
    })
}

fn taken(condition: Value, trigger: Value) -> Vec<String> {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&branch(condition), trigger, &runner, &clock);
    assert!(report.success, "{report:#?}");
    runner.called_nodes()
}

#[test]
fn exists_treats_a_missing_path_as_false() {
    let cond = json!({"left": "{{trigger.phone}}", "op": "exists"});
    assert_eq!(taken(cond.clone(), json!({"phone": "+39 555"})), ["yes"]);
    assert_eq!(taken(cond.clone(), json!({"phone": null})), ["no"]);
    assert_eq!(taken(cond, json!({})), ["no"]);
}

#[test]
fn condition_operators_on_rendered_values() {
    let contains = json!({"left": "{{trigger.tags}}", "op": "contains", "right": "vip"});
    assert_eq!(taken(contains, json!({"tags": ["new", "vip"]})), ["yes"]);
    let text = json!({"left": "Stage: {{trigger.stage}}", "op": "eq", "right": "Stage: won"});
    assert_eq!(taken(text, json!({"stage": "won"})), ["yes"]);
    let numeric = json!({"left": "{{trigger.amount}}", "op": "lt", "right": "{{trigger.limit}}"});
    assert_eq!(taken(numeric, json!({"amount": "900", "limit": 1000})), ["yes"]);
}

#[test]
fn a_failing_condition_kills_both_branches() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let cond = json!({"left": "{{trigger.score}}", "op": "gt", "right": 1});
    let report = run(&branch(cond.clone()), json!({"score": {"v": 2}}), &runner, &clock);
    let c = report.result("c").unwrap();
    assert_eq!(c.status, NodeStatus::Failed);
    assert_eq!(
        c.error.as_deref(),
        Some("condition: gt needs two numbers or two strings, got an object and a number")
    );
    assert!(runner.called_nodes().is_empty());
    assert_eq!(report.result("yes").unwrap().status, NodeStatus::Skipped);
    assert_eq!(report.result("no").unwrap().status, NodeStatus::Skipped);

    let report = run(&branch(cond), json!({}), &runner, &clock);
    assert_eq!(
        report.result("c").unwrap().error.as_deref(),
        Some("template {{trigger.score}}: path \"score\" not found in trigger data")
    );
}

#[test]
fn email_body_escapes_interpolated_html_and_subject_refuses_line_breaks() {
    let config = json!({
        "to": "{{trigger.email}}",
        "subject": "Welcome {{trigger.name}}",
        "body": "<p>Hi {{trigger.name}}</p>\n{{trigger.note}}"
    });
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let trigger = json!({"email": "eve@example.com", "name": "<b>Eve</b> & co", "note": "<a href=\"https://evil.example\">x</a>"});
    let report = run(&single(config.clone(), "send_email"), trigger, &runner, &clock);
    assert!(report.success, "{report:#?}");
    let inputs = &runner.calls_for("a")[0].inputs;
    assert_eq!(
        inputs["subject"],
        json!("Welcome <b>Eve</b> & co"),
        "only html fields are escaped"
    );
    assert_eq!(
        inputs["body"],
        json!("<p>Hi &lt;b&gt;Eve&lt;/b&gt; &amp; co</p>\n&lt;a href=&quot;https://evil.example&quot;&gt;x&lt;/a&gt;")
    );

    let runner = FakeRunner::new(&clock);
    let trigger = json!({"email": "eve@example.com", "name": "Eve\r\nBcc: all@example.com", "note": ""});
    let report = run(&single(config, "send_email"), trigger, &runner, &clock);
    assert_eq!(
        report.result("a").unwrap().error.as_deref(),
        Some("input \"subject\" must be a single line (no CR or LF)")
    );
    assert!(runner.calls_for("a").is_empty());
}

#[test]
fn rendering_is_capped_per_input_and_per_node_and_names_the_input() {
    // A 10 KB trigger value referenced 100 times in one text would render
    // to 1 MB: the node fails while rendering, and nothing is called.
    let big = "x".repeat(10_000);
    let many = "{{trigger.big}}".repeat(100);
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let doc = single(json!({"title": "t", "body": many}), "send_notification");
    let report = run(&doc, json!({"big": big}), &runner, &clock);
    let a = report.result("a").unwrap();
    assert_eq!(a.status, NodeStatus::Failed);
    let error = a.error.as_deref().unwrap();
    assert!(
        error.starts_with("input \"body\": template {{trigger.big}}: renders to more than 262144 bytes"),
        "{error}"
    );
    assert!(runner.calls_for("a").is_empty());

    // Whole-value templates count too: each input stays within its cap, the
    // node's inputs together do not.
    let big = "y".repeat(200_000);
    let doc = single(
        json!({"url": "https://h.example/", "body": {"a": "{{trigger.big}}", "b": "{{trigger.big}}", "c": "{{trigger.big}}"}}),
        "webhook_call",
    );
    let report = run(&doc, json!({"big": big.clone()}), &runner, &clock);
    let error = report.result("a").unwrap().error.clone().unwrap();
    assert!(error.contains("input \"body\""), "{error}");
    let doc = single(
        json!({"url": "https://h.example/", "headers": {"a": "{{trigger.big}}"}, "body": {"b": "{{trigger.big}}"}, "method": "{{trigger.big}}"}),
        "webhook_call",
    );
    let report = run(&doc, json!({"big": big}), &runner, &clock);
    let error = report.result("a").unwrap().error.clone().unwrap();
    assert!(
        error.contains("the inputs together render to more than 524288 bytes"),
        "{error}"
    );
    assert!(runner.calls_for("a").is_empty());
}

#[test]
fn a_condition_that_renders_too_much_fails_instead_of_exhausting_memory() {
    let doc = json!({
        "nodes": [trigger("t"),
                  {"id": "c", "type": "condition", "data": {"condition": {"left": "{{trigger.big}}".repeat(50), "op": "contains", "right": "z"}}},
                  notify("yes")],
        "edges": [edge("e1", "t", "c"), {"id": "e2", "source": "c", "target": "yes", "sourceHandle": "true"}]
    });
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&doc, json!({"big": "x".repeat(10_000)}), &runner, &clock);
    let c = report.result("c").unwrap();
    assert_eq!(c.status, NodeStatus::Failed);
    assert!(
        c.error.as_deref().unwrap().contains("renders to more than"),
        "{:?}",
        c.error
    );
    assert_eq!(report.result("yes").unwrap().status, NodeStatus::Skipped);
}

#[test]
fn an_output_nested_too_deeply_fails_the_node_and_is_not_stored() {
    let nest = |depth: usize| (0..depth).fold(json!(1), |v, _| json!([v]));
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock)
        .script("a", vec![ok(0, nest(40))])
        .script("after", vec![ok(0, nest(32))]);
    let doc = json!({
        "nodes": [trigger("t"), notify("a"), notify("after")],
        "edges": [edge("e1", "t", "a"), edge("e2", "t", "after")]
    });
    let report = run(&doc, json!({}), &runner, &clock);
    let a = report.result("a").unwrap();
    assert_eq!(a.status, NodeStatus::Failed);
    assert!(a.output.is_none());
    assert!(
        a.error
            .as_deref()
            .unwrap()
            .contains("nests deeper than 32 levels"),
        "{:?}",
        a.error
    );
    assert_eq!(
        report.result("after").unwrap().status,
        NodeStatus::Succeeded,
        "32 levels are accepted"
    );
}
