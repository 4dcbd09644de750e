//! The scheduler's state machine on its own: events in, commands out, no
//! futures and no clock. Each test feeds `RunState` what a driver would and
//! checks the commands it answers with.

mod engine_support;

use edgeflow::engine::{
    ActionOutcome, Budget, Command, Event, Graph, JournalAck, Limits, NodeResult, NodeStatus, RunContext,
    RunOutcome, RunReport, RunState, RunStatus,
};
use engine_support::*;
use serde_json::{json, Value};

/// What one call of `next` answered, by node id.
#[derive(Debug, Default)]
struct Pass {
    starts: Vec<String>,
    calls: Vec<edgeflow::engine::ActionCall>,
    batch: Option<Vec<(String, String)>>,
    done: Option<RunReport>,
    /// The batch was a `JournalStarts` (actions started, nothing settled).
    starts_only: bool,
}

/// Calls `next` and acknowledges its journal batch at once, as `NoJournal`
/// would; `Done` then comes with the following pass.
fn pass(state: &mut RunState<'_>, now: u64) -> Pass {
    let out = raw_pass(state, now);
    if out.batch.is_some() {
        state.on(match out.starts_only {
            true => Event::StartsJournaled(Some(JournalAck::default())),
            false => Event::JournalAck(JournalAck::default()),
        });
    }
    out
}

/// Calls `next` and leaves its journal batch unacknowledged.
fn raw_pass(state: &mut RunState<'_>, now: u64) -> Pass {
    let mut out = Pass::default();
    for command in state.next(now) {
        match command {
            Command::StartAction { call, .. } => {
                out.starts.push(call.node_id.clone());
                out.calls.push(call);
            }
            Command::Journal(batch) => {
                assert!(out.batch.is_none(), "one batch per pass");
                assert!(out.done.is_none(), "Done comes last");
                out.batch = Some(batch.iter().map(status).collect());
            }
            Command::JournalStarts(batch) => {
                assert!(out.batch.is_none(), "one batch per pass");
                out.batch = Some(batch.iter().map(status).collect());
                out.starts_only = true;
            }
            Command::Done(report) => out.done = Some(report),
        }
    }
    out
}

fn status(r: &NodeResult) -> (String, String) {
    let s = serde_json::to_value(r.status).unwrap();
    (r.node_id.clone(), s.as_str().unwrap().to_string())
}

fn index(graph: &Graph, id: &str) -> usize {
    graph
        .nodes()
        .iter()
        .position(|n| n.id.as_str() == id)
        .unwrap_or_else(|| panic!("no node {id}"))
}

fn finish(state: &mut RunState<'_>, graph: &Graph, id: &str, result: Result<Value, &str>, now: u64) {
    finish_after(state, graph, id, result, 1, now);
}

fn finish_after(
    state: &mut RunState<'_>,
    graph: &Graph,
    id: &str,
    result: Result<Value, &str>,
    attempts: u32,
    now: u64,
) {
    state.on(Event::ActionFinished {
        node: index(graph, id),
        outcome: ActionOutcome {
            result: result.map_err(str::to_string),
            attempts,
        },
        now,
    });
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `trigger` -> each of `nodes`.
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

/// `t` -> `n0` -> `n1` -> ... each reading its predecessor's output.
fn chain(n: usize, extra: Value) -> Value {
    let mut nodes = vec![trigger("t")];
    let mut edges = vec![];
    for i in 0..n {
        let prev = if i == 0 {
            "t".to_string()
        } else {
            format!("n{}", i - 1)
        };
        let title = if i == 0 {
            "first".to_string()
        } else {
            format!("after {{{{nodes.{prev}.output.node}}}}")
        };
        let mut node = action(&format!("n{i}"), "send_notification", json!({"title": title}));
        for (k, v) in extra.as_object().unwrap() {
            node["data"][k] = v.clone();
        }
        nodes.push(node);
        edges.push(edge(&format!("e{i}"), &prev, &format!("n{i}")));
    }
    json!({"nodes": nodes, "edges": edges})
}

fn stopping(mut node: Value) -> Value {
    node["data"]["onError"] = json!("stop");
    node
}

fn condition(id: &str, left: &str, op: &str, right: Value) -> Value {
    json!({"id": id, "type": "condition", "data": {"condition": {"left": left, "op": op, "right": right}}})
}

/// `t` -> `c` (score > 50); `c` true -> `hot` -> `hot-2`; `c` false -> `cold`.
fn branching() -> Value {
    json!({
        "nodes": [trigger("t"), condition("c", "{{trigger.score}}", "gt", json!(50)),
                  notify("hot"), notify("hot-2"), notify("cold")],
        "edges": [edge("e1", "t", "c"),
                  {"id": "e2", "source": "c", "target": "hot", "sourceHandle": "true"},
                  edge("e3", "hot", "hot-2"),
                  {"id": "e4", "source": "c", "target": "cold", "sourceHandle": "false"}]
    })
}

fn ctx_with(journaled: Vec<NodeResult>) -> RunContext {
    RunContext {
        journaled,
        ..context(json!({}))
    }
}

#[test]
fn the_first_pass_settles_the_trigger_and_starts_the_ready_action() {
    let g = graph(&fixture("engine_linear"));
    let ctx = context(json!({"name": "Ada", "email": "ada@example.com", "value": 5}));
    let limits = Limits::default();
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);

    let first = raw_pass(&mut s, T0);
    assert_eq!(first.starts, ["notify-1"]);
    assert_eq!(
        first.batch,
        Some(expect(&[("trigger-1", "succeeded"), ("notify-1", "running")])),
        "the action started goes in the batch that made it ready"
    );
    assert!(first.done.is_none());
    let call = &first.calls[0];
    assert_eq!(call.step_key, format!("{EXECUTION_ID}:notify-1"));
    assert_eq!((call.attempt, call.timeout_ms), (1, 10_000));
    assert_eq!(
        call.inputs,
        json!({"title": "New lead Ada", "body": "ada@example.com"})
    );
    // Nothing new until something happens; no Done while the action runs.
    let idle = raw_pass(&mut s, T0);
    assert!(idle.starts.is_empty() && idle.batch.is_none() && idle.done.is_none());
}

#[test]
fn done_waits_for_every_journal_batch() {
    let g = graph(&json!({"nodes": [trigger("t")], "edges": []}));
    let ctx = context(json!({}));
    let limits = Limits::default();
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);

    let first = raw_pass(&mut s, T0);
    assert_eq!(first.batch, Some(expect(&[("t", "succeeded")])));
    assert!(first.done.is_none(), "the batch is not acknowledged yet");
    s.on(Event::JournalAck(JournalAck::default()));
    let done = raw_pass(&mut s, T0 + 5).done.expect("done");
    assert_eq!(
        (done.outcome, done.status, done.duration_ms),
        (RunOutcome::Finished, RunStatus::Succeeded, 5)
    );
    assert!(raw_pass(&mut s, T0 + 6).done.is_none(), "Done comes once");
}

#[test]
fn a_condition_keeps_only_its_branch_alive() {
    // (trigger data, actions started, the first batch)
    let cases = [
        (
            json!({"score": 80}),
            vec!["hot"],
            expect(&[
                ("t", "succeeded"),
                ("c", "succeeded"),
                ("cold", "skipped"),
                ("hot", "running"),
            ]),
        ),
        (
            json!({"score": 10}),
            vec!["cold"],
            expect(&[
                ("t", "succeeded"),
                ("c", "succeeded"),
                ("hot", "skipped"),
                ("hot-2", "skipped"),
                ("cold", "running"),
            ]),
        ),
        (
            // A condition that fails kills both branches.
            json!({}),
            vec![],
            expect(&[
                ("t", "succeeded"),
                ("c", "failed"),
                ("hot", "skipped"),
                ("hot-2", "skipped"),
                ("cold", "skipped"),
            ]),
        ),
    ];
    let g = graph(&branching());
    let limits = Limits::default();
    for (trigger, starts, batch) in cases {
        let ctx = context(trigger.clone());
        let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
        let first = pass(&mut s, T0);
        assert_eq!(first.starts, ids(&starts), "{trigger}");
        assert_eq!(first.batch, Some(batch), "{trigger}");
    }
}

#[test]
fn a_failed_action_skips_its_dependents_in_the_same_batch() {
    let g = graph(&chain(3, json!({})));
    let ctx = context(json!({}));
    let limits = Limits::default();
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    pass(&mut s, T0);
    finish(&mut s, &g, "n0", Err("422"), T0 + 10);
    let second = pass(&mut s, T0 + 10);
    assert!(second.starts.is_empty());
    assert_eq!(
        second.batch,
        Some(expect(&[("n0", "failed"), ("n1", "skipped"), ("n2", "skipped")]))
    );
    let done = pass(&mut s, T0 + 10).done.unwrap();
    assert_eq!(
        (done.status, done.outcome, done.stopped_early),
        (RunStatus::Failed, RunOutcome::Finished, false)
    );
    assert_eq!(done.result("n0").unwrap().duration_ms, 10);
}

#[test]
fn no_more_actions_run_at_once_than_the_concurrency_bound() {
    let nodes: Vec<Value> = (0..10).map(|i| notify(&format!("n{i}"))).collect();
    let g = graph(&siblings(nodes));
    let ctx = context(json!({}));
    for bound in [1, 3, 6] {
        let limits = Limits {
            max_concurrency: bound,
            ..Limits::default()
        };
        let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
        let first = pass(&mut s, T0);
        let expected: Vec<String> = (0..bound).map(|i| format!("n{i}")).collect();
        assert_eq!(first.starts, expected, "bound {bound}");
        assert_eq!(s.in_flight().count(), bound);
        finish(&mut s, &g, "n0", Ok(json!({})), T0 + 1);
        let second = pass(&mut s, T0 + 1);
        assert_eq!(second.starts, [format!("n{bound}")], "one slot freed, one start");
    }
}

#[test]
fn a_stop_holds_for_every_answer_of_the_same_pass() {
    // `a` (onError: stop) and `b` answer together; `b-next`, ready through
    // `b`, must not start; `c` is still in flight and is awaited.
    let mut doc = siblings(vec![
        stopping(notify("a")),
        notify("b"),
        notify("c"),
        notify("b-next"),
    ]);
    doc["edges"][3] = edge("b-b-next", "b", "b-next");
    let g = graph(&doc);
    let ctx = context(json!({}));
    let limits = Limits::default();
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    assert_eq!(pass(&mut s, T0).starts, ["a", "b", "c"]);

    finish(&mut s, &g, "b", Ok(json!({})), T0 + 50);
    finish(&mut s, &g, "a", Err("boom"), T0 + 50);
    let second = pass(&mut s, T0 + 50);
    assert!(second.starts.is_empty());
    assert_eq!(
        second.batch,
        Some(expect(&[
            ("b", "succeeded"),
            ("a", "failed"),
            ("b-next", "skipped")
        ])),
        "settle order, then the stop's skips"
    );
    assert!(second.done.is_none(), "c is still in flight");

    finish(&mut s, &g, "c", Ok(json!({})), T0 + 80);
    assert_eq!(pass(&mut s, T0 + 80).batch, Some(expect(&[("c", "succeeded")])));
    let done = pass(&mut s, T0 + 80).done.unwrap();
    assert_eq!(done.outcome, RunOutcome::Finished);
    assert_eq!(
        done.stop_reason.as_deref(),
        Some("stopped after node \"a\" failed (onError: stop)")
    );
    assert_eq!(statuses(&done).len(), 5, "every node is reported");
}

#[test]
fn the_deadline_fails_actions_in_flight_with_their_attempts_and_skips_the_rest() {
    let g = graph(&chain(2, json!({"retry": {"maxAttempts": 3}})));
    let ctx = context(json!({}));
    let limits = Limits {
        max_run_ms: 1_000,
        ..Limits::default()
    };
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    pass(&mut s, T0);
    s.on(Event::Deadline {
        now: T0 + 1_000,
        attempts: vec![(index(&g, "n0"), 2)],
    });
    let last = pass(&mut s, T0 + 1_000);
    assert_eq!(last.batch, Some(expect(&[("n0", "failed"), ("n1", "skipped")])));
    let done = pass(&mut s, T0 + 1_000).done.unwrap();
    let n0 = done.result("n0").unwrap();
    assert_eq!(
        (n0.attempts, n0.duration_ms, n0.error.as_deref()),
        (2, 1_000, Some("run exceeded its time limit of 1000 ms"))
    );
    assert_eq!(
        done.stop_reason.as_deref(),
        Some("run exceeded its time limit of 1000 ms")
    );
}

#[test]
fn a_node_ready_at_the_deadline_does_not_start() {
    let g = graph(&chain(2, json!({})));
    let ctx = context(json!({}));
    let limits = Limits {
        max_run_ms: 1_000,
        ..Limits::default()
    };
    for (answered_at, starts_next) in [(999, true), (1_000, false)] {
        let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
        pass(&mut s, T0);
        finish(&mut s, &g, "n0", Ok(json!({"node": "n0"})), T0 + answered_at);
        let next = pass(&mut s, T0 + answered_at);
        assert_eq!(next.starts.len() == 1, starts_next, "answered at {answered_at}");
    }
}

#[test]
fn a_cancel_before_the_first_pass_starts_nothing() {
    let g = graph(&fixture("engine_linear"));
    let ctx = context(json!({}));
    let limits = Limits::default();
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    s.on(Event::Cancelled);
    let first = pass(&mut s, T0);
    assert!(first.starts.is_empty());
    assert_eq!(
        first.batch,
        Some(expect(&[
            ("trigger-1", "skipped"),
            ("notify-1", "skipped"),
            ("deal-1", "skipped"),
            ("hook-1", "skipped"),
        ]))
    );
    let done = pass(&mut s, T0).done.unwrap();
    assert_eq!(done.outcome, RunOutcome::Cancelled);
    assert_eq!(done.stop_reason.as_deref(), Some("cancelled"));
    assert!(done.stopped_early);
    assert_eq!(done.status, RunStatus::Failed);
}

#[test]
fn a_cancel_lets_actions_in_flight_finish_and_starts_nothing_new() {
    // Told directly, or learned from a journal write: the same rule.
    let cancels = [
        Event::Cancelled,
        Event::JournalAck(JournalAck { cancelled: true }),
    ];
    for cancel in cancels {
        let mut doc = siblings(vec![notify("a"), notify("b"), notify("after-a")]);
        doc["edges"][2] = edge("a-after", "a", "after-a");
        let g = graph(&doc);
        let ctx = context(json!({}));
        let limits = Limits::default();
        let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
        let first = raw_pass(&mut s, T0);
        assert_eq!(first.starts, ["a", "b"]);
        s.on(Event::JournalAck(JournalAck::default()));
        if matches!(cancel, Event::JournalAck(_)) {
            // The ack answers a write that is in flight.
            finish(&mut s, &g, "b", Ok(json!({})), T0 + 10);
            assert_eq!(
                raw_pass(&mut s, T0 + 10).batch,
                Some(expect(&[("b", "succeeded")]))
            );
        }
        s.on(cancel.clone());
        let cancelled = pass(&mut s, T0 + 10);
        assert!(cancelled.starts.is_empty());
        assert_eq!(cancelled.batch, Some(expect(&[("after-a", "skipped")])));
        assert!(cancelled.done.is_none(), "actions in flight finish first");

        finish(&mut s, &g, "a", Ok(json!({"id": 1})), T0 + 100);
        if matches!(cancel, Event::Cancelled) {
            finish(&mut s, &g, "b", Ok(json!({})), T0 + 100);
        }
        let landed = pass(&mut s, T0 + 100);
        assert!(
            landed.starts.is_empty(),
            "after-a stays skipped though a succeeded"
        );
        let done = pass(&mut s, T0 + 100).done.unwrap();
        assert_eq!(
            statuses(&done),
            expect(&[
                ("t", "succeeded"),
                ("a", "succeeded"),
                ("b", "succeeded"),
                ("after-a", "skipped")
            ]),
            "{cancel:?}"
        );
        assert_eq!(
            (done.outcome, done.stop_reason.as_deref()),
            (RunOutcome::Cancelled, Some("cancelled"))
        );
    }
}

#[test]
fn a_batch_holds_what_settled_since_the_last_one_in_settle_order() {
    // `b` answers before `a`; `a`'s condition settles in the same pass.
    let mut doc = siblings(vec![
        notify("a"),
        notify("b"),
        condition("a-ok", "{{nodes.a.output.id}}", "exists", Value::Null),
    ]);
    doc["edges"][2] = edge("a-cond", "a", "a-ok");
    let g = graph(&doc);
    let ctx = context(json!({}));
    let limits = Limits::default();
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    assert_eq!(
        pass(&mut s, T0).batch,
        Some(expect(&[("t", "succeeded"), ("a", "running"), ("b", "running")]))
    );
    finish(&mut s, &g, "b", Ok(json!({})), T0 + 10);
    finish(&mut s, &g, "a", Ok(json!({"id": 1})), T0 + 10);
    let together = pass(&mut s, T0 + 10);
    assert_eq!(
        together.batch,
        Some(expect(&[
            ("b", "succeeded"),
            ("a", "succeeded"),
            ("a-ok", "succeeded")
        ]))
    );
    let done = pass(&mut s, T0 + 10).done.unwrap();
    let order: Vec<&str> = done.results.iter().map(|r| r.node_id.as_str()).collect();
    assert_eq!(
        order,
        ["t", "a", "b", "a-ok"],
        "the report keeps topological order"
    );
}

/// The results of `doc` run in one go with every action succeeding at once.
fn one_go(doc: &Value, trigger: Value) -> RunReport {
    let g = graph(doc);
    let ctx = context(trigger);
    let limits = Limits::default();
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    let mut now = T0;
    loop {
        let p = pass(&mut s, now);
        if let Some(done) = p.done {
            return done;
        }
        now += 10;
        for call in p.calls {
            finish(&mut s, &g, &call.node_id, Ok(json!({"inputs": call.inputs})), now);
        }
    }
}

#[test]
fn a_resumed_run_never_starts_a_journaled_node_and_reads_its_output() {
    let doc = fixture("engine_linear");
    let lead = json!({"name": "Ada", "email": "ada@example.com", "value": 5});
    let full = one_go(&doc, lead.clone());
    let g = graph(&doc);
    let limits = Limits::default();
    let ctx = RunContext {
        journaled: full.results[..2].to_vec(),
        ..context(lead)
    };
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    let first = pass(&mut s, T0);
    assert_eq!(first.starts, ["deal-1"]);
    assert_eq!(
        first.batch,
        Some(expect(&[("deal-1", "running")])),
        "journaled results are not journaled again; only the start is"
    );
    assert!(first.starts_only);
    assert_eq!(
        first.calls[0].inputs["stage"],
        json!("New lead Ada"),
        "read from notify-1's journaled output"
    );
}

#[test]
fn a_journaled_condition_decides_its_branch() {
    let g = graph(&branching());
    let limits = Limits::default();
    for (result, starts) in [(true, "hot"), (false, "cold")] {
        let t = NodeResult {
            output: Some(json!({})),
            status: NodeStatus::Succeeded,
            success: true,
            ..blank("t", "trigger")
        };
        let c = NodeResult {
            output: Some(json!({"result": result})),
            status: NodeStatus::Succeeded,
            success: true,
            attempts: 1,
            ..blank("c", "condition")
        };
        // The trigger data would send the run the other way: the journal wins.
        let ctx = RunContext {
            journaled: vec![t, c],
            ..context(json!({"score": if result { 0 } else { 99 }}))
        };
        let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
        let first = pass(&mut s, T0);
        assert_eq!(first.starts, [starts], "result {result}");
    }
}

fn blank(id: &str, node_type: &str) -> NodeResult {
    NodeResult {
        node_id: id.into(),
        node_type: node_type.into(),
        action_id: None,
        status: NodeStatus::Skipped,
        success: false,
        output: None,
        error: None,
        attempts: 0,
        started_at: None,
        duration_ms: 0,
        started_at_ms: None,
        item_index: None,
        item_path: vec![],
    }
}

#[test]
fn a_journaled_stop_failure_stops_the_resumed_run() {
    let g = graph(&siblings(vec![stopping(notify("a")), notify("b")]));
    let limits = Limits::default();
    let t = NodeResult {
        output: Some(json!({})),
        status: NodeStatus::Succeeded,
        success: true,
        attempts: 1,
        ..blank("t", "trigger")
    };
    let a = NodeResult {
        status: NodeStatus::Failed,
        error: Some("boom".into()),
        attempts: 1,
        ..blank("a", "action")
    };
    let ctx = ctx_with(vec![t, a]);
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    let first = pass(&mut s, T0);
    assert!(first.starts.is_empty());
    assert_eq!(first.batch, Some(expect(&[("b", "skipped")])));
    let done = pass(&mut s, T0).done.unwrap();
    assert_eq!(
        done.stop_reason.as_deref(),
        Some("stopped after node \"a\" failed (onError: stop)")
    );
    assert_eq!(done.result("a").unwrap().error.as_deref(), Some("boom"));
}

#[test]
fn a_step_journaled_as_running_runs_again() {
    let g = graph(&chain(1, json!({})));
    let limits = Limits::default();
    let running = NodeResult {
        status: NodeStatus::Running,
        ..blank("n0", "action")
    };
    let ctx = ctx_with(vec![running]);
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    assert_eq!(pass(&mut s, T0).starts, ["n0"]);
}

#[test]
fn the_call_budget_counts_every_attempt_and_a_journal_batch_per_action() {
    // Fan-out from the trigger. The first action always starts; each
    // further one needs everything spent or promised (the trigger's batch:
    // 2, each action: maxAttempts + 2), its own cost, and a spare batch (2).
    // (max_calls, maxAttempts, actions started in the first pass)
    let cases = [
        (0, 1, 1),
        (9, 1, 1),
        (10, 1, 2),
        (12, 1, 2),
        (13, 1, 3),
        (13, 3, 1),
        (14, 3, 2),
        (u32::MAX, 5, 6),
    ];
    let nodes: Vec<Value> = (0..8).map(|i| notify(&format!("n{i}"))).collect();
    for (max_calls, attempts, started) in cases {
        let mut doc = siblings(nodes.clone());
        for node in doc["nodes"].as_array_mut().unwrap().iter_mut().skip(1) {
            node["data"]["retry"] = json!({"maxAttempts": attempts});
        }
        let g = graph(&doc);
        let ctx = context(json!({}));
        let limits = Limits::default();
        let budget = Budget {
            max_calls,
            wall_ms: u64::MAX,
        };
        let mut s = RunState::new(&g, &ctx, &limits, budget, T0);
        assert_eq!(
            pass(&mut s, T0).starts.len(),
            started,
            "max_calls {max_calls}, maxAttempts {attempts}"
        );
    }
}

#[test]
fn calls_an_action_actually_made_count_against_the_budget() {
    // t -> n0 -> n1 -> n2, maxAttempts 3 (cost 5 each). Before n2 starts:
    // the trigger's batch (2), n0's attempt (1) and batch (2), n1's
    // attempts and batch (2); n2 needs its cost (5) and a spare batch (2).
    // n1 in 1 attempt: 15 fits in 16 calls; in 3 attempts: 17 does not.
    for (n1_attempts, n2_starts) in [(1, true), (3, false)] {
        let g = graph(&chain(3, json!({"retry": {"maxAttempts": 3}})));
        let ctx = context(json!({}));
        let limits = Limits::default();
        let budget = Budget {
            max_calls: 16,
            wall_ms: u64::MAX,
        };
        let mut s = RunState::new(&g, &ctx, &limits, budget, T0);
        assert_eq!(pass(&mut s, T0).starts, ["n0"]);
        finish(&mut s, &g, "n0", Ok(json!({"node": "n0"})), T0 + 1);
        assert_eq!(pass(&mut s, T0 + 1).starts, ["n1"]);
        finish_after(&mut s, &g, "n1", Ok(json!({"node": "n1"})), n1_attempts, T0 + 2);
        let third = pass(&mut s, T0 + 2);
        assert_eq!(
            !third.starts.is_empty(),
            n2_starts,
            "n1 took {n1_attempts} attempts"
        );
        if !n2_starts {
            let done = pass(&mut s, T0 + 2).done.unwrap();
            assert_eq!(done.outcome, RunOutcome::Yielded);
        }
    }
}

#[test]
fn a_yield_reports_only_the_settled_nodes_and_no_stop() {
    let g = graph(&chain(3, json!({})));
    let ctx = context(json!({}));
    let limits = Limits::default();
    let budget = Budget {
        max_calls: 0,
        wall_ms: u64::MAX,
    };
    let mut s = RunState::new(&g, &ctx, &limits, budget, T0);
    assert_eq!(
        pass(&mut s, T0).starts,
        ["n0"],
        "one action per invocation at least"
    );
    finish(&mut s, &g, "n0", Ok(json!({"node": "n0"})), T0 + 100);
    let last = pass(&mut s, T0 + 100);
    assert!(last.starts.is_empty());
    assert_eq!(last.batch, Some(expect(&[("n0", "succeeded")])));
    let done = pass(&mut s, T0 + 100).done.unwrap();
    assert_eq!(done.outcome, RunOutcome::Yielded);
    assert_eq!(
        statuses(&done),
        expect(&[("t", "succeeded"), ("n0", "succeeded")])
    );
    assert_eq!((done.stop_reason, done.stopped_early), (None, false));
    assert_eq!((done.status, done.error_count), (RunStatus::Succeeded, 0));
}

#[test]
fn the_wall_budget_stops_new_starts_but_not_actions_in_flight() {
    // (when n0 answers, whether n1 starts)
    for (answered_at, starts_next) in [(499, true), (500, false)] {
        let g = graph(&chain(2, json!({})));
        let ctx = context(json!({}));
        let limits = Limits::default();
        let budget = Budget {
            max_calls: u32::MAX,
            wall_ms: 500,
        };
        let mut s = RunState::new(&g, &ctx, &limits, budget, T0);
        pass(&mut s, T0);
        finish(&mut s, &g, "n0", Ok(json!({"node": "n0"})), T0 + answered_at);
        let next = pass(&mut s, T0 + answered_at);
        assert_eq!(next.starts.len() == 1, starts_next, "answered at {answered_at}");
        if !starts_next {
            assert_eq!(
                pass(&mut s, T0 + answered_at).done.unwrap().outcome,
                RunOutcome::Yielded
            );
        }
    }
}

#[test]
fn a_cancel_learned_after_a_yield_skips_what_is_left() {
    let g = graph(&chain(2, json!({})));
    let ctx = context(json!({}));
    let limits = Limits::default();
    let budget = Budget {
        max_calls: 0,
        wall_ms: u64::MAX,
    };
    let mut s = RunState::new(&g, &ctx, &limits, budget, T0);
    pass(&mut s, T0);
    finish(&mut s, &g, "n0", Ok(json!({"node": "n0"})), T0 + 100);
    let last = raw_pass(&mut s, T0 + 100);
    assert!(last.done.is_none());
    s.on(Event::JournalAck(JournalAck { cancelled: true }));
    let cancelled = pass(&mut s, T0 + 100);
    assert_eq!(cancelled.batch, Some(expect(&[("n1", "skipped")])));
    let done = pass(&mut s, T0 + 100).done.unwrap();
    assert_eq!(done.outcome, RunOutcome::Cancelled);
    assert_eq!(done.results.len(), 3);
}

#[test]
fn a_lost_batch_is_counted_and_the_run_goes_on() {
    let g = graph(&chain(1, json!({})));
    let ctx = context(json!({}));
    let limits = Limits::default();
    let mut s = RunState::new(&g, &ctx, &limits, Budget::unlimited(), T0);
    raw_pass(&mut s, T0);
    s.on(Event::JournalFailed);
    finish(&mut s, &g, "n0", Ok(json!({})), T0 + 1);
    pass(&mut s, T0 + 1);
    let done = pass(&mut s, T0 + 1).done.unwrap();
    assert_eq!((done.journal_failures, done.success), (1, true));
}
