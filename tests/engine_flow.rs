//! Scenario tests of scheduling: chains, joins, branches, failures, fan-out and the run deadline.

mod engine_support;

use edgeflow::engine::{
    Budget, Limits, NoJournal, NodeResult, NodeStatus, RunContext, RunOutcome, RunStatus,
};
use engine_support::*;
use serde_json::{json, Value};

fn lead() -> Value {
    json!({"name": "Ada", "email": "ada@example.com", "company": "Analytical Engines", "value": 1200})
}

#[test]
fn linear_chain_runs_in_order_and_passes_outputs_along() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&fixture("engine_linear"), lead(), &runner, &clock);

    assert_eq!(report.status, RunStatus::Succeeded);
    assert!(report.success);
    assert_eq!(report.error_count, 0);
    assert_eq!(
        statuses(&report),
        expect(&[
            ("trigger-1", "succeeded"),
            ("notify-1", "succeeded"),
            ("deal-1", "succeeded"),
            ("hook-1", "succeeded")
        ])
    );
    let starts: Vec<(String, u64)> = runner
        .calls
        .borrow()
        .iter()
        .map(|c| (c.node_id.clone(), c.at))
        .collect();
    assert_eq!(
        starts,
        vec![
            ("notify-1".into(), 0),
            ("deal-1".into(), 100),
            ("hook-1".into(), 200)
        ]
    );
    assert_eq!(report.duration_ms, 300);

    let deal = &runner.calls_for("deal-1")[0];
    assert_eq!(deal.action_id, "create_deal");
    assert_eq!(
        deal.inputs,
        json!({"title": "Deal for Ada", "value": 1200, "stage": "New lead Ada"})
    );
    assert_eq!(deal.timeout_ms, 10_000);
    let hook = &runner.calls_for("hook-1")[0];
    assert_eq!(
        hook.inputs["body"]["deal"],
        report.result("deal-1").unwrap().output.clone().unwrap()
    );
    assert_eq!(hook.inputs["body"]["run"], json!(EXECUTION_ID));
    assert_eq!(hook.inputs["body"]["workflow"], json!("wf-1"));

    let trigger = report.result("trigger-1").unwrap();
    assert_eq!(trigger.output, Some(lead()));
    let notify = report.result("notify-1").unwrap();
    assert_eq!(notify.attempts, 1);
    assert_eq!(notify.duration_ms, 100);
    assert_eq!(notify.started_at.as_deref(), Some("2023-11-14T22:13:20.000Z"));
    assert_eq!(notify.action_id.as_deref(), Some("send_notification"));
}

#[test]
fn diamond_runs_branches_together_and_joins_after_both() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock)
        .script("left", vec![ok(100, json!({}))])
        .script("right", vec![ok(300, json!({}))]);
    let report = run(
        &fixture("engine_diamond"),
        json!({"lead": "Ada"}),
        &runner,
        &clock,
    );

    assert!(report.success);
    // Results follow a topological order with document order among peers,
    // even though `join` comes first in the document.
    assert_eq!(
        statuses(&report),
        expect(&[
            ("start", "succeeded"),
            ("left", "succeeded"),
            ("right", "succeeded"),
            ("join", "succeeded")
        ])
    );
    assert_eq!(runner.calls_for("left")[0].at, 0);
    assert_eq!(runner.calls_for("right")[0].at, 0);
    assert_eq!(runner.max_in_flight(), 2);
    let join = &runner.calls_for("join")[0];
    assert_eq!(join.at, 300, "join must wait for the slower branch");
    // A join may read only what runs on every path to it: here the fork.
    assert_eq!(join.inputs["body"], json!({"lead": "Ada", "run": EXECUTION_ID}));
    assert_eq!(report.duration_ms, 400);
}

#[test]
fn condition_true_takes_the_true_branch_only() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("action-1", vec![ok(50, json!({"score": 82}))]);
    let report = run(&fixture("engine_lead_intake"), lead(), &runner, &clock);

    assert!(report.success, "{report:#?}");
    assert_eq!(
        statuses(&report),
        expect(&[
            ("trigger-1", "succeeded"),
            ("action-1", "succeeded"),
            ("cond-1", "succeeded"),
            ("action-2", "succeeded"),
            ("action-3", "succeeded"),
            ("action-4", "skipped"),
        ])
    );
    assert_eq!(
        report.result("cond-1").unwrap().output,
        Some(json!({"result": true}))
    );
    assert_eq!(runner.called_nodes(), ["action-1", "action-2", "action-3"]);
    let email = &runner.calls_for("action-2")[0];
    assert_eq!(
        email.inputs,
        json!({"to": "ada@example.com", "subject": "Welcome", "body": "Hi Ada"})
    );
    assert_eq!(runner.calls_for("action-3")[0].inputs["body"], json!("score 82"));
    let skipped = report.result("action-4").unwrap();
    assert_eq!(
        (skipped.attempts, skipped.started_at.as_deref(), skipped.success),
        (0, None, false)
    );
}

#[test]
fn condition_false_skips_the_true_branch_and_its_descendants() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("action-1", vec![ok(50, json!({"score": "40"}))]);
    let report = run(&fixture("engine_lead_intake"), lead(), &runner, &clock);

    assert!(report.success);
    assert_eq!(
        report.result("cond-1").unwrap().output,
        Some(json!({"result": false}))
    );
    assert_eq!(report.result("action-2").unwrap().status, NodeStatus::Skipped);
    assert_eq!(report.result("action-3").unwrap().status, NodeStatus::Skipped);
    assert_eq!(report.result("action-4").unwrap().status, NodeStatus::Succeeded);
    assert_eq!(runner.called_nodes(), ["action-1", "action-4"]);
}

#[test]
fn failure_with_continue_skips_dependents_and_finishes_other_branch() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("a", vec![fatal(50, "422 Unprocessable Entity")]);
    let report = run(&fixture("engine_branches"), json!({}), &runner, &clock);

    assert_eq!(report.status, RunStatus::Failed);
    assert!(!report.success);
    assert_eq!(report.error_count, 1);
    assert!(!report.stopped_early);
    assert_eq!(
        statuses(&report),
        expect(&[
            ("t", "succeeded"),
            ("a", "failed"),
            ("a-child", "skipped"),
            ("b", "succeeded"),
            ("b-child", "succeeded"),
            ("join", "succeeded"),
        ])
    );
    let failed = report.result("a").unwrap();
    assert_eq!(failed.error.as_deref(), Some("422 Unprocessable Entity"));
    assert_eq!((failed.attempts, failed.output.clone()), (1, None));
    // `join` still had a live edge from `b`, so it ran after both settled.
    assert_eq!(runner.calls_for("join")[0].at, 100);
    assert!(runner.calls_for("a-child").is_empty());
}

#[test]
fn failure_with_stop_ends_the_run_but_lets_in_flight_nodes_finish() {
    let mut doc = fixture("engine_branches");
    doc["nodes"][1]["data"]["onError"] = json!("stop");
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock)
        .script("a", vec![fatal(50, "boom")])
        .script("b", vec![ok(200, json!({}))]);
    let report = run(&doc, json!({}), &runner, &clock);

    assert_eq!(report.status, RunStatus::Failed);
    assert!(report.stopped_early);
    assert_eq!(
        report.stop_reason.as_deref(),
        Some("stopped after node \"a\" failed (onError: stop)")
    );
    assert_eq!(
        statuses(&report),
        expect(&[
            ("t", "succeeded"),
            ("a", "failed"),
            ("a-child", "skipped"),
            ("b", "succeeded"),
            ("b-child", "skipped"),
            ("join", "skipped"),
        ])
    );
    assert_eq!(runner.called_nodes(), ["a", "b"]);
    assert_eq!(report.duration_ms, 200, "the run waits for b, already in flight");
}

/// `trigger` -> each of `nodes`, in document order.
fn siblings(nodes: Vec<Value>) -> Value {
    let edges: Vec<Value> = nodes
        .iter()
        .map(|n| {
            let id = n["id"].as_str().unwrap();
            edge(&format!("t-{id}"), "t", id)
        })
        .collect();
    let mut all = vec![trigger("t")];
    all.extend(nodes);
    json!({"nodes": all, "edges": edges})
}

fn stopping(mut node: Value) -> Value {
    node["data"]["onError"] = json!("stop");
    node
}

fn condition(id: &str, left: &str, op: &str, right: Value) -> Value {
    json!({"id": id, "type": "condition", "data": {"condition": {"left": left, "op": op, "right": right}}})
}

#[test]
fn a_stop_at_input_rendering_keeps_nodes_ready_in_the_same_pass_from_starting() {
    // `a` fails before any call (its template finds nothing); `b` and
    // `check` became ready together with it, when the trigger settled.
    let doc = siblings(vec![
        stopping(action(
            "a",
            "send_notification",
            json!({"title": "{{trigger.missing}}"}),
        )),
        notify("b"),
        condition("check", "{{trigger.name}}", "exists", Value::Null),
    ]);
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&doc, json!({"name": "Ada"}), &runner, &clock);

    assert_eq!(
        statuses(&report),
        expect(&[
            ("t", "succeeded"),
            ("a", "failed"),
            ("b", "skipped"),
            ("check", "skipped")
        ])
    );
    assert!(runner.called_nodes().is_empty(), "{:?}", runner.called_nodes());
    let a = report.result("a").unwrap();
    assert_eq!(
        (a.attempts, a.error.as_deref()),
        (
            0,
            Some("template {{trigger.missing}}: path \"missing\" not found in trigger data")
        )
    );
    let b = report.result("b").unwrap();
    assert_eq!((b.attempts, b.started_at.as_deref()), (0, None));
    assert_eq!(report.status, RunStatus::Failed);
    assert!(report.stopped_early);
    assert_eq!(
        report.stop_reason.as_deref(),
        Some("stopped after node \"a\" failed (onError: stop)")
    );
}

#[test]
fn a_failing_condition_with_stop_keeps_later_ready_nodes_from_starting() {
    let mut doc = siblings(vec![
        stopping(condition("cond", "{{trigger.score}}", "gt", json!(50))),
        notify("b"),
        notify("hot"),
    ]);
    // `hot` hangs off the condition's true branch instead of the trigger.
    doc["edges"][2] = json!({"id": "t-hot", "source": "cond", "target": "hot", "sourceHandle": "true"});
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&doc, json!({}), &runner, &clock);

    assert_eq!(
        statuses(&report),
        expect(&[
            ("t", "succeeded"),
            ("cond", "failed"),
            ("b", "skipped"),
            ("hot", "skipped")
        ])
    );
    assert!(runner.called_nodes().is_empty(), "{:?}", runner.called_nodes());
    assert_eq!(
        report.stop_reason.as_deref(),
        Some("stopped after node \"cond\" failed (onError: stop)")
    );
}

#[test]
fn a_stop_while_others_run_starts_nothing_more_and_keeps_its_reason_past_the_deadline() {
    // `a` fails at 50 ms while `slow` runs; `next` (after `quick`, done at
    // 100 ms) must not start, and the deadline that later fails `slow`
    // does not replace the reason the run stopped.
    let mut doc = siblings(vec![
        stopping(notify("a")),
        notify("slow"),
        notify("quick"),
        notify("next"),
    ]);
    doc["edges"][3] = edge("quick-next", "quick", "next");
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock)
        .script("a", vec![fatal(50, "boom")])
        .script("slow", vec![ok(5_000, json!({}))])
        .script("quick", vec![ok(100, json!({}))]);
    let limits = Limits {
        max_run_ms: 1_000,
        ..Limits::default()
    };
    let report = run_with(&doc, json!({}), &runner, &clock, &limits);

    assert_eq!(
        statuses(&report),
        expect(&[
            ("t", "succeeded"),
            ("a", "failed"),
            ("slow", "failed"),
            ("quick", "succeeded"),
            ("next", "skipped")
        ])
    );
    assert_eq!(runner.called_nodes(), ["a", "slow", "quick"]);
    assert_eq!(
        report.result("slow").unwrap().error.as_deref(),
        Some("run exceeded its time limit of 1000 ms")
    );
    assert_eq!(
        report.stop_reason.as_deref(),
        Some("stopped after node \"a\" failed (onError: stop)")
    );
    assert_eq!(report.duration_ms, 1_000);
}

#[test]
fn a_stop_in_the_same_instant_as_another_answer_holds_for_its_dependents() {
    // `c` and `a` answer at the same virtual instant, `c` first: the
    // failure of `a` must still keep `d`, ready through `c`, from starting.
    let mut doc = siblings(vec![notify("c"), stopping(notify("a")), notify("d")]);
    doc["edges"][2] = edge("c-d", "c", "d");
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock)
        .script("c", vec![ok(100, json!({}))])
        .script("a", vec![fatal(100, "boom")]);
    let report = run(&doc, json!({}), &runner, &clock);

    assert_eq!(
        statuses(&report),
        expect(&[
            ("t", "succeeded"),
            ("c", "succeeded"),
            ("a", "failed"),
            ("d", "skipped")
        ])
    );
    assert_eq!(runner.called_nodes(), ["c", "a"]);
    assert_eq!(
        report.stop_reason.as_deref(),
        Some("stopped after node \"a\" failed (onError: stop)")
    );
}

#[test]
fn a_node_ready_at_the_run_deadline_does_not_start() {
    // `slow` answers exactly when the run's time is up: its result counts,
    // but `after` (ready at that instant) and `check` must not start.
    let doc = json!({
        "nodes": [trigger("t"), notify("slow"), notify("after"),
                  condition("check", "{{nodes.slow.output}}", "exists", Value::Null)],
        "edges": [edge("e1", "t", "slow"), edge("e2", "slow", "after"), edge("e3", "slow", "check")]
    });
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("slow", vec![ok(1_000, json!({"id": 1}))]);
    let limits = Limits {
        max_run_ms: 1_000,
        ..Limits::default()
    };
    let report = run_with(&doc, json!({}), &runner, &clock, &limits);

    assert_eq!(
        statuses(&report),
        expect(&[
            ("t", "succeeded"),
            ("slow", "succeeded"),
            ("after", "skipped"),
            ("check", "skipped")
        ])
    );
    assert_eq!(runner.called_nodes(), ["slow"]);
    assert!(report.stopped_early);
    assert_eq!(
        report.stop_reason.as_deref(),
        Some("run exceeded its time limit of 1000 ms")
    );
    // Not every node ran: the run failed, though no node did.
    assert_eq!(report.error_count, 0);
    assert_eq!((report.status, report.success), (RunStatus::Failed, false));
    assert_eq!(report.duration_ms, 1_000);
}

fn fan_out(width: usize) -> Value {
    let mut nodes = vec![trigger("t")];
    let mut edges = Vec::new();
    for i in 0..width {
        nodes.push(notify(&format!("n{i}")));
        edges.push(edge(&format!("e{i}"), "t", &format!("n{i}")));
    }
    json!({"nodes": nodes, "edges": edges})
}

#[test]
fn fan_out_of_twenty_never_exceeds_the_concurrency_bound() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let report = run(&fan_out(20), json!({}), &runner, &clock);

    assert!(report.success);
    assert_eq!(report.results.len(), 21);
    assert_eq!(
        runner.max_in_flight(),
        6,
        "the bound is reached but never exceeded"
    );
    assert_eq!(report.duration_ms, 400, "4 waves of at most 6 nodes of 100 ms");
    let first_wave: Vec<String> = runner
        .calls
        .borrow()
        .iter()
        .filter(|c| c.at == 0)
        .map(|c| c.node_id.clone())
        .collect();
    assert_eq!(
        first_wave,
        ["n0", "n1", "n2", "n3", "n4", "n5"],
        "document order picks who goes first"
    );
    let ids: Vec<&str> = report.results.iter().map(|r| r.node_id.as_str()).collect();
    let expected: Vec<String> = std::iter::once("t".to_string())
        .chain((0..20).map(|i| format!("n{i}")))
        .collect();
    assert_eq!(
        ids, expected,
        "results are listed in document order, not completion order"
    );
}

#[test]
fn concurrency_bound_is_configurable() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let limits = Limits {
        max_concurrency: 3,
        ..Limits::default()
    };
    let report = run_with(&fan_out(20), json!({}), &runner, &clock, &limits);
    assert!(report.success);
    assert_eq!(runner.max_in_flight(), 3);
    assert_eq!(report.duration_ms, 700);
}

#[test]
fn run_deadline_fails_in_flight_nodes_and_skips_the_rest() {
    let doc = json!({
        "nodes": [trigger("t"), notify("slow"), notify("after")],
        "edges": [edge("e1", "t", "slow"), edge("e2", "slow", "after")]
    });
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("slow", vec![ok(5_000, json!({}))]);
    let limits = Limits {
        max_run_ms: 1_000,
        ..Limits::default()
    };
    let report = run_with(&doc, json!({}), &runner, &clock, &limits);

    assert_eq!(report.status, RunStatus::Failed);
    assert!(report.stopped_early);
    assert_eq!(
        statuses(&report),
        expect(&[("t", "succeeded"), ("slow", "failed"), ("after", "skipped")])
    );
    let slow = report.result("slow").unwrap();
    assert_eq!(
        slow.error.as_deref(),
        Some("run exceeded its time limit of 1000 ms")
    );
    assert_eq!((slow.attempts, slow.duration_ms), (1, 1_000));
    assert_eq!(report.duration_ms, 1_000);
}

#[test]
fn report_serializes_with_contract_field_names() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("a", vec![fatal(0, "nope")]);
    let report = run(&fixture("engine_branches"), json!({}), &runner, &clock);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "failed");
    assert_eq!(json["success"], false);
    assert_eq!(json["errorCount"], 1);
    let failed = &json["results"][1];
    assert_eq!(failed["nodeId"], "a");
    assert_eq!(failed["type"], "action");
    assert_eq!(failed["actionId"], "send_notification");
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"], "nope");
    assert!(failed.get("output").is_none());
    assert!(failed["startedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(json["results"][2]["startedAt"], Value::Null);
}

// Journal, resume, yield and cancel through the driver.

fn ada() -> Value {
    json!({"name": "Ada", "email": "ada@example.com", "value": 1200})
}

/// `(nodeId, status, output, attempts)` of every result: what a resumed run
/// must reproduce.
fn outcomes(results: &[NodeResult]) -> Vec<(String, NodeStatus, Option<Value>, u32)> {
    results
        .iter()
        .map(|r| (r.node_id.clone(), r.status, r.output.clone(), r.attempts))
        .collect()
}

fn starts(runner: &FakeRunner) -> Vec<(String, u64)> {
    runner
        .calls
        .borrow()
        .iter()
        .map(|c| (c.node_id.clone(), c.at))
        .collect()
}

#[test]
fn every_settled_result_is_journaled_once_in_batches_as_the_run_goes() {
    let g = graph(&fixture("engine_linear"));
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let journal = FakeJournal::new(&clock);
    let report = invoke(
        &g,
        &context(ada()),
        &runner,
        &clock,
        &journal,
        &Limits::default(),
        &Budget::unlimited(),
    );

    assert_eq!(report.outcome, RunOutcome::Finished);
    assert_eq!(
        journal.batches(),
        [
            vec!["trigger-1", "notify-1:running"],
            vec!["notify-1", "deal-1:running"],
            vec!["deal-1", "hook-1:running"],
            vec!["hook-1"]
        ],
        "each action is journaled as it starts, in the batch of the results that made it ready"
    );
    let at: Vec<u64> = journal.writes.borrow().iter().map(|w| w.at).collect();
    assert_eq!(at, [0, 100, 200, 300], "each batch is written when it settles");
    assert_eq!(journal.recorded(), report.results);
    for call in runner.calls.borrow().iter() {
        assert_eq!(call.step_key, format!("{EXECUTION_ID}:{}", call.node_id));
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        (&json["outcome"], &json["journalFailures"]),
        (&json!("finished"), &json!(0))
    );
}

/// Starts of a linear run whose journal takes `write_ms` per write.
fn linear_with_journal(write_ms: u64) -> (Vec<(String, u64)>, Vec<u64>, u64) {
    let g = graph(&fixture("engine_linear"));
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let journal = FakeJournal::new(&clock).slow(write_ms);
    let report = invoke(
        &g,
        &context(ada()),
        &runner,
        &clock,
        &journal,
        &Limits::default(),
        &Budget::unlimited(),
    );
    assert!(report.success);
    let at: Vec<u64> = journal.writes.borrow().iter().map(|w| w.at).collect();
    (starts(&runner), at, report.duration_ms)
}

#[test]
fn a_journal_faster_than_the_steps_never_holds_back_the_next_action() {
    // Each write overlaps the step its results made ready.
    let (starts, writes, duration) = linear_with_journal(50);
    assert_eq!(
        starts,
        [
            ("notify-1".to_string(), 0),
            ("deal-1".to_string(), 100),
            ("hook-1".to_string(), 200)
        ],
        "the same virtual times as without a journal"
    );
    assert_eq!(writes, [0, 100, 200, 300]);
    assert_eq!(duration, 350, "the report waits for the last write");
}

#[test]
fn a_journal_slower_than_the_steps_paces_the_run_one_write_ahead() {
    // A step starts only when every write but the one made in its own pass
    // is acknowledged: deal-1 (ready at 100) waits for the writes made at 0
    // and 100; hook-1 then overlaps the write of deal-1's result.
    let (starts, writes, duration) = linear_with_journal(1_000);
    assert_eq!(
        starts,
        [
            ("notify-1".to_string(), 0),
            ("deal-1".to_string(), 1_100),
            ("hook-1".to_string(), 1_200)
        ]
    );
    assert_eq!(
        writes,
        [0, 100, 1_100, 1_200, 1_300],
        "writes themselves never wait (1 100: deal-1's start, which nothing waits for)"
    );
    assert_eq!(duration, 2_300);
}

#[test]
fn a_cancelled_ack_lets_the_action_in_flight_finish_and_starts_nothing_more() {
    // The second batch (notify-1, written at 100 ms while deal-1 starts)
    // learns that the run was cancelled.
    let g = graph(&fixture("engine_linear"));
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let journal = FakeJournal::new(&clock).cancel_after(2);
    let report = invoke(
        &g,
        &context(ada()),
        &runner,
        &clock,
        &journal,
        &Limits::default(),
        &Budget::unlimited(),
    );

    assert_eq!(runner.called_nodes(), ["notify-1", "deal-1"]);
    assert_eq!(
        statuses(&report),
        expect(&[
            ("trigger-1", "succeeded"),
            ("notify-1", "succeeded"),
            ("deal-1", "succeeded"),
            ("hook-1", "skipped")
        ])
    );
    assert_eq!(report.outcome, RunOutcome::Cancelled);
    assert_eq!(report.stop_reason.as_deref(), Some("cancelled"));
    assert_eq!(report.duration_ms, 200, "deal-1 finished");
    assert_eq!(
        journal.batches(),
        [
            vec!["trigger-1", "notify-1:running"],
            vec!["notify-1", "deal-1:running"],
            vec!["hook-1"],
            vec!["deal-1"]
        ]
    );
}

#[test]
fn a_failed_journal_write_is_retried_once_then_counted() {
    // (writes that fail, batches lost, writes made)
    for (failing, lost, writes) in [(0, 0, 4), (1, 0, 5), (2, 1, 5), (3, 1, 6)] {
        let g = graph(&fixture("engine_linear"));
        let clock = FakeClock::new();
        let runner = FakeRunner::new(&clock);
        let journal = FakeJournal::new(&clock).failing(failing);
        let report = invoke(
            &g,
            &context(ada()),
            &runner,
            &clock,
            &journal,
            &Limits::default(),
            &Budget::unlimited(),
        );
        assert!(report.success, "failing {failing}");
        assert_eq!(report.journal_failures, lost, "failing {failing}");
        assert_eq!(journal.writes.borrow().len(), writes, "failing {failing}");
        assert_eq!(journal.batches().len(), 4 - lost as usize);
        if failing == 1 {
            let w = journal.writes.borrow();
            assert_eq!(w[0].batch, w[1].batch, "the retry writes the same batch");
        }
    }
}

#[test]
fn a_resumed_run_calls_only_the_steps_not_journaled() {
    let g = graph(&fixture("engine_linear"));
    let limits = Limits::default();
    let clock = FakeClock::new();
    let first_runner = FakeRunner::new(&clock);
    let whole = invoke(
        &g,
        &context(ada()),
        &first_runner,
        &clock,
        &NoJournal,
        &limits,
        &Budget::unlimited(),
    );

    let runner = FakeRunner::new(&clock);
    let ctx = RunContext {
        journaled: whole.results[..2].to_vec(),
        ..context(ada())
    };
    let journal = FakeJournal::new(&clock);
    let resumed = invoke(&g, &ctx, &runner, &clock, &journal, &limits, &Budget::unlimited());

    assert_eq!(runner.called_nodes(), ["deal-1", "hook-1"]);
    assert_eq!(
        runner.calls_for("deal-1")[0].inputs,
        first_runner.calls_for("deal-1")[0].inputs
    );
    assert_eq!(
        runner.calls_for("deal-1")[0].step_key,
        first_runner.calls_for("deal-1")[0].step_key
    );
    assert_eq!(outcomes(&resumed.results), outcomes(&whole.results));
    assert_eq!(
        resumed.results[..2],
        whole.results[..2],
        "journaled results are kept as they were"
    );
    assert_eq!(
        journal.batches(),
        [
            vec!["deal-1:running"],
            vec!["deal-1", "hook-1:running"],
            vec!["hook-1"]
        ]
    );
}

#[test]
fn the_wall_budget_yields_and_the_next_invocation_finishes() {
    let g = graph(&fixture("engine_linear"));
    let limits = Limits::default();
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock);
    let budget = Budget {
        max_calls: u32::MAX,
        wall_ms: 150,
    };
    let first = invoke(&g, &context(ada()), &runner, &clock, &NoJournal, &limits, &budget);
    assert_eq!(first.outcome, RunOutcome::Yielded);
    assert_eq!(
        statuses(&first),
        expect(&[
            ("trigger-1", "succeeded"),
            ("notify-1", "succeeded"),
            ("deal-1", "succeeded")
        ]),
        "deal-1 started at 100 ms, inside the budget; hook-1 would start at 200"
    );
    assert_eq!(first.stop_reason, None);

    let ctx = RunContext {
        journaled: first.results.clone(),
        ..context(ada())
    };
    let second = invoke(&g, &ctx, &runner, &clock, &NoJournal, &limits, &budget);
    assert_eq!(second.outcome, RunOutcome::Finished);
    assert!(second.success);
    assert_eq!(runner.called_nodes(), ["notify-1", "deal-1", "hook-1"]);
}

/// `t` -> `n0` -> ... -> `n<len-1>`, each templating its predecessor's
/// output; every tenth node retries once after a 503.
fn long_chain(len: usize) -> (Value, Vec<(String, Vec<Step>)>) {
    let mut nodes = vec![trigger("t")];
    let mut edges = vec![];
    let mut scripts = vec![];
    for i in 0..len {
        let id = format!("n{i}");
        let prev = if i == 0 {
            "t".to_string()
        } else {
            format!("n{}", i - 1)
        };
        let title = if i == 0 {
            "{{trigger.name}}".to_string()
        } else {
            format!("after {{{{nodes.{prev}.output.node}}}}")
        };
        let mut node = action(&id, "send_notification", json!({"title": title}));
        if i % 10 == 3 {
            node["data"]["retry"] = json!({"maxAttempts": 2, "backoffMs": 10});
            scripts.push((
                id.clone(),
                vec![retryable(5, "503"), ok(10, json!({"node": id, "retried": true}))],
            ));
        }
        nodes.push(node);
        edges.push(edge(&format!("e{i}"), &prev, &id));
    }
    (json!({"nodes": nodes, "edges": edges}), scripts)
}

fn scripted(clock: &FakeClock, scripts: &[(String, Vec<Step>)]) -> FakeRunner {
    scripts.iter().fold(FakeRunner::new(clock), |r, (id, steps)| {
        r.script(id, steps.clone())
    })
}

#[test]
fn a_long_run_across_invocations_ends_as_the_run_in_one_go() {
    let (doc, scripts) = long_chain(100);
    let g = graph(&doc);
    let limits = Limits::default();
    let clock = FakeClock::new();
    let whole_runner = scripted(&clock, &scripts);
    let whole = invoke(
        &g,
        &context(ada()),
        &whole_runner,
        &clock,
        &NoJournal,
        &limits,
        &Budget::unlimited(),
    );
    assert!(whole.success);

    let budget = Budget {
        max_calls: 20,
        wall_ms: u64::MAX,
    };
    let runner = scripted(&clock, &scripts);
    let mut journaled = vec![];
    let mut invocations = 0;
    let last = loop {
        invocations += 1;
        assert!(invocations <= 100, "the run does not progress");
        let calls_before = runner.calls.borrow().len();
        let journal = FakeJournal::new(&clock);
        let ctx = RunContext {
            journaled: journaled.clone(),
            ..context(ada())
        };
        let report = invoke(&g, &ctx, &runner, &clock, &journal, &limits, &budget);
        let calls = runner.calls.borrow().len() - calls_before + journal.writes.borrow().len();
        assert!(calls <= 20, "invocation {invocations} made {calls} calls");
        assert_eq!(report.stop_reason, None);
        if report.outcome == RunOutcome::Finished {
            break report;
        }
        assert_eq!(report.outcome, RunOutcome::Yielded);
        assert!(
            report.results.len() > journaled.len(),
            "each invocation settles more"
        );
        journaled = report.results;
    };

    assert!(invocations > 5, "only {invocations} invocations");
    assert_eq!(outcomes(&last.results), outcomes(&whole.results));
    assert_eq!((last.status, last.error_count), (whole.status, 0));
    let attempts = |r: &FakeRunner| -> Vec<(String, u32)> {
        r.calls
            .borrow()
            .iter()
            .map(|c| (c.node_id.clone(), c.attempt))
            .collect()
    };
    assert_eq!(
        attempts(&runner),
        attempts(&whole_runner),
        "every attempt made once, in order"
    );
    assert_eq!(last.result("n13").unwrap().attempts, 2);
}
