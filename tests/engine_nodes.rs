//! Delays, loops and splits on virtual time: waits of days run in
//! microseconds, resumed runs continue from the journal.

mod engine_support;

use edgeflow::engine::{validate, Budget, Limits, NodeResult, RunContext, RunOutcome};
use engine_support::*;
use serde_json::{json, Value};
use std::collections::HashSet;

const DAY: u64 = 24 * 60 * 60 * 1000;

fn doc(nodes: Vec<Value>, edges: Vec<Value>) -> Value {
    json!({"nodes": nodes, "edges": edges})
}

fn delay(id: &str, spec: Value) -> Value {
    json!({"id": id, "type": "delay", "data": {"delay": spec}})
}

fn hook(id: &str, body: Value) -> Value {
    action(
        id,
        "webhook_call",
        json!({"url": "https://hooks.example.com/in", "body": body}),
    )
}

fn in_loop(mut node: Value, parent: &str) -> Value {
    node["parentId"] = json!(parent);
    node
}

fn looping(id: &str, items: Value, concurrency: u32) -> Value {
    json!({"id": id, "type": "loop", "data": {"loop": {"items": items, "concurrency": concurrency}}})
}

fn with_journal(trigger_data: Value, journaled: Vec<NodeResult>) -> RunContext {
    RunContext {
        journaled,
        ..context(trigger_data)
    }
}

fn messages(doc: &Value) -> Vec<String> {
    validate(&doc["nodes"], &doc["edges"], &Limits::default())
        .err()
        .unwrap_or_default()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn a_delay_of_two_days_waits_then_continues_from_the_journal() {
    let d = doc(
        vec![
            trigger("t"),
            delay("wait", json!({"ms": 2 * DAY})),
            notify("after"),
        ],
        vec![edge("e1", "t", "wait"), edge("e2", "wait", "after")],
    );
    let g = graph(&d);
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let journal = FakeJournal::new(&clock);
    let limits = Limits::default();
    let first = invoke(
        &g,
        &context(json!({})),
        &runner,
        &clock,
        &journal,
        &limits,
        &Budget::unlimited(),
    );
    assert_eq!(first.outcome, RunOutcome::Waiting);
    assert_eq!(first.resume_at_ms, Some(T0 + 2 * DAY));
    assert!(runner.called_nodes().is_empty(), "nothing after the delay ran");
    assert_eq!(journal.batches(), [vec!["t", "wait:running"]]);
    let marker = &journal.writes.borrow()[0].batch[1];
    assert_eq!(
        marker.output.as_ref().unwrap()["resumeAt"],
        "2023-11-16T22:13:20.000Z",
        "the end time is journaled with the start"
    );

    // Woken a little early (a clock skew): it waits on, calling nothing.
    clock.set(T0 + 2 * DAY - 1);
    let early = FakeJournal::new(&clock);
    let ctx = with_journal(json!({}), journal.rows());
    let second = invoke(&g, &ctx, &runner, &clock, &early, &limits, &Budget::unlimited());
    assert_eq!(second.outcome, RunOutcome::Waiting);
    assert_eq!(
        second.resume_at_ms,
        Some(T0 + 2 * DAY),
        "the journaled end time, not a new one"
    );
    assert!(runner.called_nodes().is_empty());

    clock.set(T0 + 2 * DAY);
    let last = FakeJournal::new(&clock);
    let third = invoke(&g, &ctx, &runner, &clock, &last, &limits, &Budget::unlimited());
    assert_eq!(third.outcome, RunOutcome::Finished);
    assert!(third.success);
    assert_eq!(runner.called_nodes(), ["after"]);
    let waited = third.result("wait").unwrap();
    assert_eq!(waited.output.as_ref().unwrap()["waitedMs"], 2 * DAY);
    assert_eq!(waited.duration_ms, 2 * DAY);
    assert_eq!(
        statuses(&third),
        expect(&[("t", "succeeded"), ("wait", "succeeded"), ("after", "succeeded")])
    );
}

#[test]
fn a_delay_until_a_time_from_the_trigger() {
    let d = doc(
        vec![
            trigger("t"),
            delay("wait", json!({"until": "{{trigger.at}}"})),
            notify("after"),
        ],
        vec![edge("e1", "t", "wait"), edge("e2", "wait", "after")],
    );
    let cases = [
        (json!({"at": "2023-11-15T00:00:00Z"}), Ok(1_700_006_400_000)),
        (json!({"at": "2001-01-01T00:00:00Z"}), Err("")),
        (json!({"at": "next tuesday"}), Err("is not an RFC 3339 time")),
        (
            json!({"at": "2030-01-01T00:00:00Z"}),
            Err("more than 365 days ahead"),
        ),
        (json!({}), Err("not found in trigger data")),
    ];
    for (trigger_data, expected) in cases {
        let clock = FakeClock::new();
        let runner = FakeRunner::new(&clock);
        let report = run(&d, trigger_data.clone(), &runner, &clock);
        match expected {
            Ok(at) => {
                assert_eq!(report.outcome, RunOutcome::Waiting, "{trigger_data}");
                assert_eq!(report.resume_at_ms, Some(at));
            }
            // A time already past: no wait at all.
            Err("") => {
                assert_eq!(report.outcome, RunOutcome::Finished);
                assert!(report.success);
                assert_eq!(
                    report.result("wait").unwrap().output.as_ref().unwrap()["waitedMs"],
                    0
                );
            }
            Err(why) => {
                assert_eq!(report.outcome, RunOutcome::Finished, "{trigger_data}");
                let wait = report.result("wait").unwrap();
                assert!(wait.error.as_deref().unwrap().contains(why), "{:?}", wait.error);
                assert_eq!(
                    statuses(&report),
                    expect(&[("t", "succeeded"), ("wait", "failed"), ("after", "skipped")])
                );
            }
        }
    }
}

#[test]
fn a_waiting_delay_does_not_hold_back_other_branches() {
    let d = doc(
        vec![
            trigger("t"),
            delay("wait", json!({"ms": DAY})),
            notify("later"),
            notify("now"),
        ],
        vec![
            edge("e1", "t", "wait"),
            edge("e2", "wait", "later"),
            edge("e3", "t", "now"),
        ],
    );
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&d, json!({}), &runner, &clock);
    assert_eq!(report.outcome, RunOutcome::Waiting);
    assert_eq!(runner.called_nodes(), ["now"]);
    assert_eq!(report.resume_at_ms, Some(T0 + DAY));
}

#[test]
fn a_loop_goes_over_every_item_at_most_concurrency_at_once() {
    let items: Vec<Value> = (0..25)
        .map(|i| json!({"email": format!("c{i}@example.com")}))
        .collect();
    let d = doc(
        vec![
            trigger("t"),
            looping("each", json!("{{trigger.contacts}}"), 3),
            in_loop(
                hook(
                    "call",
                    json!({"to": "{{loop.item.email}}", "n": "{{loop.index}}", "from": "{{nodes.t.output.source}}"}),
                ),
                "each",
            ),
            action(
                "after",
                "send_notification",
                json!({"title": "done {{nodes.each.output.count}}"}),
            ),
        ],
        vec![edge("e1", "t", "each"), edge("e2", "each", "after")],
    );
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&d, json!({"contacts": items, "source": "crm"}), &runner, &clock);
    assert!(report.success, "{:?}", report.results);
    let calls = runner.calls_for("call");
    assert_eq!(calls.len(), 25);
    assert_eq!(runner.max_in_flight(), 3);
    let bodies: Vec<(String, u64)> = calls
        .iter()
        .map(|c| {
            let body = &c.inputs["body"];
            (
                body["to"].as_str().unwrap().to_string(),
                body["n"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = (0..25).map(|i| (format!("c{i}@example.com"), i)).collect();
    let mut sorted = bodies.clone();
    sorted.sort_by_key(|(_, n)| *n);
    assert_eq!(sorted, expected);
    assert!(
        calls.iter().all(|c| c.inputs["body"]["from"] == "crm"),
        "outer outputs are visible"
    );
    let keys: HashSet<&str> = calls.iter().map(|c| c.step_key.as_str()).collect();
    assert_eq!(keys.len(), 25);
    assert!(keys.contains(format!("{EXECUTION_ID}:call:24").as_str()));
    let out = report.result("each").unwrap().output.clone().unwrap();
    assert_eq!(
        (out["count"].clone(), out["failed"].clone()),
        (json!(25), json!(0))
    );
    assert_eq!(out["items"][7]["call"]["inputs"]["body"]["n"], 7);
    assert_eq!(runner.calls_for("after")[0].inputs["title"], "done 25");
    // 25 items, 3 at a time, 100 ms each: 9 waves.
    assert_eq!(runner.calls_for("after")[0].at, 900);
    let steps: Vec<Option<u32>> = report
        .results
        .iter()
        .filter(|r| r.node_id == "call")
        .map(|r| r.item_index)
        .collect();
    assert_eq!(
        steps,
        (0..25).map(Some).collect::<Vec<_>>(),
        "item steps listed by item, after the loop"
    );
}

#[test]
fn a_failed_item_fails_alone_and_the_loop_goes_on() {
    let d = doc(
        vec![
            trigger("t"),
            looping("each", json!("{{trigger.items}}"), 2),
            in_loop(hook("first", json!({"v": "{{loop.item.v}}"})), "each"),
            in_loop(
                hook("second", json!({"v": "{{nodes.first.output.inputs.body.v}}"})),
                "each",
            ),
            notify("after"),
        ],
        vec![
            edge("e1", "t", "each"),
            edge("e2", "first", "second"),
            edge("e3", "each", "after"),
        ],
    );
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(
        &d,
        json!({"items": [{"v": 1}, {"w": 2}, {"v": 3}]}),
        &runner,
        &clock,
    );
    assert_eq!(runner.calls_for("first").len(), 2, "item 1 fails before any call");
    assert_eq!(runner.calls_for("second").len(), 2);
    let out = report.result("each").unwrap().output.clone().unwrap();
    assert_eq!(
        (out["count"].clone(), out["failed"].clone()),
        (json!(3), json!(1))
    );
    assert_eq!(out["items"][1], json!({}));
    assert_eq!(
        out["items"][2]["second"]["inputs"]["body"]["v"], 3,
        "a later body node reads an earlier one of its item"
    );
    let item1: Vec<(String, String)> = report
        .results
        .iter()
        .filter(|r| r.item_index == Some(1))
        .map(|r| {
            (
                r.node_id.clone(),
                serde_json::to_value(r.status)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect();
    assert_eq!(item1, expect(&[("first", "failed"), ("second", "skipped")]));
    assert_eq!(
        runner.called_nodes().last().map(String::as_str),
        Some("after"),
        "edges leaving the loop go on"
    );
    assert!(!report.success, "a failed step fails the run, as everywhere");
}

#[test]
fn a_loop_resumed_after_a_yield_repeats_no_finished_item() {
    let d = doc(
        vec![
            trigger("t"),
            looping("each", json!("{{trigger.items}}"), 2),
            in_loop(hook("call", json!({"i": "{{loop.index}}"})), "each"),
        ],
        vec![edge("e1", "t", "each")],
    );
    let items: Vec<Value> = (0..10).map(|i| json!(i)).collect();
    let whole = {
        let clock = FakeClock::new();
        let runner = FakeRunner::new(&clock);
        run(&d, json!({"items": items.clone()}), &runner, &clock)
    };
    let g = graph(&d);
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let limits = Limits::default();
    let budget = Budget {
        max_calls: 12,
        wall_ms: u64::MAX,
    };
    let mut journaled = Vec::new();
    let mut invocations = 0;
    let last = loop {
        invocations += 1;
        let journal = FakeJournal::new(&clock);
        let ctx = with_journal(json!({"items": items.clone()}), journaled.clone());
        let report = invoke(&g, &ctx, &runner, &clock, &journal, &limits, &budget);
        journaled = journal_after(journaled, journal.rows());
        if report.outcome != RunOutcome::Yielded {
            break report;
        }
        assert!(invocations < 20, "the run makes progress");
    };
    assert!(
        invocations > 2,
        "the budget split the loop ({invocations} invocations)"
    );
    let keys: Vec<String> = runner.calls.borrow().iter().map(|c| c.step_key.clone()).collect();
    let unique: HashSet<&String> = keys.iter().collect();
    assert_eq!((keys.len(), unique.len()), (10, 10), "each item called once");
    assert_eq!(last.result("each").unwrap().output.as_ref().unwrap()["count"], 10);
    let bodies = |r: &edgeflow::engine::RunReport| -> Vec<Value> {
        let out = r.result("each").unwrap().output.clone().unwrap();
        out["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["call"]["inputs"]["body"].clone())
            .collect()
    };
    assert_eq!(
        bodies(&last),
        bodies(&whole),
        "every item's output, restored ones included"
    );
    assert_eq!(statuses(&last), statuses(&whole));
}

#[test]
fn loops_nest_with_an_item_path() {
    let d = doc(
        vec![
            trigger("t"),
            looping("teams", json!("{{trigger.teams}}"), 1),
            in_loop(looping("people", json!("{{loop.item.people}}"), 2), "teams"),
            in_loop(
                hook("greet", json!({"who": "{{loop.item}}", "i": "{{loop.index}}"})),
                "people",
            ),
        ],
        vec![edge("e1", "t", "teams")],
    );
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let trigger_data = json!({"teams": [{"people": ["ann", "bob"]}, {"people": ["cy", "di", "ed"]}]});
    let report = run(&d, trigger_data, &runner, &clock);
    assert!(report.success, "{:?}", report.results);
    let mut keys: Vec<(String, String)> = runner
        .calls_for("greet")
        .iter()
        .map(|c| {
            (
                c.step_key.rsplit(':').next().unwrap().to_string(),
                c.inputs["body"]["who"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            ("0.0", "ann"),
            ("0.1", "bob"),
            ("1.0", "cy"),
            ("1.1", "di"),
            ("1.2", "ed")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    let out = report.result("teams").unwrap().output.clone().unwrap();
    assert_eq!(out["items"][1]["people"]["count"], 3);
    let greet = report
        .results
        .iter()
        .find(|r| r.node_id == "greet" && r.item_path == [1, 2])
        .unwrap();
    assert_eq!(greet.item_index, Some(2));
}

#[test]
fn a_loop_over_nothing_or_too_much() {
    let d = doc(
        vec![
            trigger("t"),
            json!({"id": "each", "type": "loop", "data": {"loop": {"items": "{{trigger.items}}", "maxItems": 3}}}),
            in_loop(notify("n"), "each"),
        ],
        vec![edge("e1", "t", "each")],
    );
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let empty = run(&d, json!({"items": []}), &runner, &clock);
    assert!(empty.success);
    assert_eq!(
        empty.result("each").unwrap().output,
        Some(json!({"count": 0, "failed": 0, "items": []}))
    );
    let many = run(&d, json!({"items": [1, 2, 3, 4]}), &runner, &clock);
    assert_eq!(
        many.result("each").unwrap().error.as_deref(),
        Some("items has 4 entries, more than maxItems (3)")
    );
    let not_array = run(&d, json!({"items": "x"}), &runner, &clock);
    assert_eq!(
        not_array.result("each").unwrap().error.as_deref(),
        Some("items must be an array, got a string")
    );
    assert!(runner.called_nodes().is_empty());
}

fn ab_test() -> Value {
    doc(
        vec![
            trigger("t"),
            json!({"id": "ab", "type": "split", "data": {"split": {"variants": [{"handle": "a", "weight": 30}, {"handle": "b", "weight": 70}]}}}),
            notify("mail-a"),
            notify("mail-b"),
        ],
        vec![
            edge("e1", "t", "ab"),
            json!({"id": "e2", "source": "ab", "target": "mail-a", "sourceHandle": "a"}),
            json!({"id": "e3", "source": "ab", "target": "mail-b", "sourceHandle": "b"}),
        ],
    )
}

#[test]
fn a_split_takes_one_branch_by_weight_and_always_the_same_for_a_run() {
    let g = graph(&ab_test());
    let mut took_a = 0;
    for i in 0..400 {
        let clock = FakeClock::new();
        let runner = FakeRunner::new(&clock);
        let ctx = RunContext {
            execution_id: format!("0190a7a0-0000-7000-8000-{i:012}"),
            ..context(json!({}))
        };
        let report = invoke(
            &g,
            &ctx,
            &runner,
            &clock,
            &FakeJournal::new(&clock),
            &Limits::default(),
            &Budget::unlimited(),
        );
        let variant = report.result("ab").unwrap().output.as_ref().unwrap()["variant"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(runner.called_nodes(), [format!("mail-{variant}")]);
        let skipped = if variant == "a" { "mail-b" } else { "mail-a" };
        assert_eq!(
            serde_json::to_value(report.result(skipped).unwrap().status).unwrap(),
            "skipped"
        );
        if variant == "a" {
            took_a += 1;
        }
        let again = invoke(
            &g,
            &ctx,
            &FakeRunner::new(&clock),
            &clock,
            &FakeJournal::new(&clock),
            &Limits::default(),
            &Budget::unlimited(),
        );
        assert_eq!(
            again.result("ab").unwrap().output,
            report.result("ab").unwrap().output
        );
    }
    assert!(
        (80..160).contains(&took_a),
        "{took_a} of 400 runs took the 30% branch"
    );
}

#[test]
fn new_node_types_are_validated() {
    let cases: Vec<(Value, &str)> = vec![
        (
            doc(vec![trigger("t"), delay("d", json!({"ms": 0}))], vec![edge("e", "t", "d")]),
            "node \"d\": data.delay.ms: ms must be an integer from 1 to 31536000000 (365 days), got 0",
        ),
        (
            doc(vec![trigger("t"), delay("d", json!({"until": "soon"}))], vec![edge("e", "t", "d")]),
            "node \"d\": data.delay.until: until must be an RFC 3339 time (like 2027-01-31T09:00:00Z) or a template, got \"soon\"",
        ),
        (
            doc(vec![trigger("t"), delay("d", json!({"ms": 5, "until": "2027-01-01T00:00:00Z"}))], vec![edge("e", "t", "d")]),
            "node \"d\": data.delay: give either ms or until, not both",
        ),
        (
            doc(
                vec![trigger("t"), looping("l", json!("{{trigger.x}}"), 7)],
                vec![edge("e", "t", "l")],
            ),
            "node \"l\": data.loop.concurrency: concurrency must be an integer from 1 to 6, got 7",
        ),
        (
            doc(vec![trigger("t"), looping("l", json!("plain"), 1)], vec![edge("e", "t", "l")]),
            "node \"l\": data.loop.items: items must be a template of an array (like \"{{trigger.contacts}}\") or an array, got \"plain\"",
        ),
        (
            doc(
                vec![trigger("t"), looping("l", json!("{{trigger.x}}"), 1), in_loop(notify("in"), "l"), notify("out")],
                vec![edge("e1", "t", "l"), edge("e2", "in", "out"), edge("e3", "t", "out")],
            ),
            "node \"out\": edge \"e2\": target: an edge may not cross a loop's body: \"in\" is inside loop \"l\" but \"out\" is outside every loop",
        ),
        (
            doc(vec![trigger("t"), notify("a"), in_loop(notify("b"), "a")], vec![edge("e1", "t", "a")]),
            "node \"b\": parentId: parentId \"a\" is not a loop (only a loop node has a body)",
        ),
        (
            doc(
                vec![trigger("t"), action("a", "send_notification", json!({"title": "{{loop.item}}"}))],
                vec![edge("e1", "t", "a")],
            ),
            "node \"a\": data.config.title: template {{loop.item}}: loop.item and loop.index exist only inside a loop body (a node whose parentId is a loop)",
        ),
        (
            doc(
                vec![
                    trigger("t"),
                    looping("l", json!("{{trigger.x}}"), 1),
                    in_loop(action("a", "send_notification", json!({"title": "{{nodes.l.output.count}}"})), "l"),
                ],
                vec![edge("e1", "t", "l")],
            ),
            "node \"a\": data.config.title: template {{nodes.l.output.count}}: node \"l\" is the loop this node is in; its output exists only after every item ran",
        ),
        (
            doc(
                vec![
                    trigger("t"),
                    looping("l1", json!("{{trigger.x}}"), 1),
                    in_loop(looping("l2", json!("{{loop.item}}"), 1), "l1"),
                    in_loop(looping("l3", json!("{{loop.item}}"), 1), "l2"),
                    in_loop(notify("deep"), "l3"),
                ],
                vec![edge("e1", "t", "l1")],
            ),
            "node \"deep\": parentId: loops nest at most 2 deep; this node is inside 3",
        ),
        (
            doc(
                vec![
                    trigger("t"),
                    json!({"id": "ab", "type": "split", "data": {"split": {"variants": [{"handle": "a", "weight": 1}, {"handle": "b", "weight": 1}]}}}),
                    notify("n"),
                ],
                vec![edge("e1", "t", "ab"), json!({"id": "e2", "source": "ab", "target": "n", "sourceHandle": "c"})],
            ),
            "node \"ab\": edge \"e2\": sourceHandle: an edge leaving a split needs the sourceHandle of one of its variants (a, b)",
        ),
        (
            doc(
                vec![
                    trigger("t"),
                    json!({"id": "ab", "type": "split", "data": {"split": {"variants": [{"handle": "a", "weight": 1}]}}}),
                ],
                vec![edge("e1", "t", "ab")],
            ),
            "node \"ab\": data.split.variants: a split needs 2 to 10 variants, got 1",
        ),
        (
            doc(
                vec![
                    trigger("t"),
                    json!({"id": "ab", "type": "split", "data": {"split": {"variants": [{"handle": "a", "weight": 1}, {"handle": "a", "weight": 0}]}}}),
                ],
                vec![edge("e1", "t", "ab")],
            ),
            "node \"ab\": data.split.variants[1].handle: duplicate variant handle \"a\"",
        ),
    ];
    for (d, expected) in cases {
        let found = messages(&d);
        assert!(
            found.iter().any(|m| m == expected),
            "expected {expected:?} among {found:#?}"
        );
    }
    let ok = doc(
        vec![
            trigger("t"),
            looping("l", json!("{{trigger.x}}"), 1),
            in_loop(notify("a"), "l"),
            in_loop(
                action(
                    "b",
                    "send_notification",
                    json!({"title": "{{nodes.a.output.id}} {{nodes.t.output.x}}"}),
                ),
                "l",
            ),
            action(
                "after",
                "send_notification",
                json!({"title": "{{nodes.l.output.count}}"}),
            ),
        ],
        vec![
            edge("e1", "t", "l"),
            edge("e2", "a", "b"),
            edge("e3", "l", "after"),
        ],
    );
    assert_eq!(messages(&ok), Vec::<String>::new());
}
