//! Scenario tests of retries with backoff, timeouts and output limits, on virtual time.

mod engine_support;

use edgeflow::engine::{Limits, NodeStatus, RetryPolicy};
use engine_support::*;
use serde_json::{json, Value};

/// trigger -> `a` (with the given data extras) -> `after`.
fn doc(extra: Value) -> Value {
    let mut a = notify("a");
    for (k, v) in extra.as_object().unwrap() {
        a["data"][k] = v.clone();
    }
    json!({
        "nodes": [trigger("t"), a, notify("after")],
        "edges": [edge("e1", "t", "a"), edge("e2", "a", "after")]
    })
}

fn policy(max_attempts: u32, backoff_ms: u64) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        backoff_ms,
        max_delay_ms: 30_000,
    }
}

#[test]
fn retry_then_success_waits_the_backoff_between_attempts() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script(
        "a",
        vec![
            retryable(10, "503 Service Unavailable"),
            retryable(10, "429 Too Many Requests"),
            ok(10, json!({"id": 7})),
        ],
    );
    let report = run(
        &doc(json!({"retry": {"maxAttempts": 3, "backoffMs": 500}})),
        json!({}),
        &runner,
        &clock,
    );

    assert!(report.success, "{report:#?}");
    let a = report.result("a").unwrap();
    assert_eq!((a.status, a.attempts), (NodeStatus::Succeeded, 3));
    assert_eq!(a.output, Some(json!({"id": 7})));

    let p = policy(3, 500);
    let d1 = p.delay_ms(1, EXECUTION_ID, "a");
    let d2 = p.delay_ms(2, EXECUTION_ID, "a");
    assert!(
        (250..=500).contains(&d1) && (500..=1000).contains(&d2),
        "{d1} {d2}"
    );
    let calls = runner.calls_for("a");
    let timeline: Vec<(u32, u64)> = calls.iter().map(|c| (c.attempt, c.at)).collect();
    assert_eq!(timeline, vec![(1, 0), (2, 10 + d1), (3, 20 + d1 + d2)]);
    assert_eq!(a.duration_ms, 30 + d1 + d2);
    assert_eq!(runner.calls_for("after")[0].at, 30 + d1 + d2);
}

#[test]
fn retry_exhausted_fails_with_the_last_error_and_skips_dependents() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("a", vec![retryable(5, "connection reset")]);
    let report = run(
        &doc(json!({"retry": {"maxAttempts": 4, "backoffMs": 1000}})),
        json!({}),
        &runner,
        &clock,
    );

    let a = report.result("a").unwrap();
    assert_eq!((a.status, a.attempts), (NodeStatus::Failed, 4));
    assert_eq!(a.error.as_deref(), Some("connection reset (after 4 attempts)"));
    assert_eq!(report.result("after").unwrap().status, NodeStatus::Skipped);
    let p = policy(4, 1000);
    let starts: Vec<u64> = runner.calls_for("a").iter().map(|c| c.at).collect();
    let mut expected = vec![0];
    for attempt in 1..4 {
        let delay = p.delay_ms(attempt, EXECUTION_ID, "a");
        let base = 1000 << (attempt - 1);
        assert!(delay >= base / 2 && delay <= base, "attempt {attempt}: {delay}");
        expected.push(expected.last().unwrap() + 5 + delay);
    }
    assert_eq!(starts, expected);
}

#[test]
fn fatal_errors_are_never_retried() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("a", vec![fatal(5, "400 Bad Request"), ok(5, json!({}))]);
    let report = run(
        &doc(json!({"retry": {"maxAttempts": 5, "backoffMs": 100}})),
        json!({}),
        &runner,
        &clock,
    );
    let a = report.result("a").unwrap();
    assert_eq!((a.status, a.attempts), (NodeStatus::Failed, 1));
    assert_eq!(a.error.as_deref(), Some("400 Bad Request"));
    assert_eq!(runner.calls_for("a").len(), 1);
}

#[test]
fn without_retry_settings_a_retryable_error_is_tried_once() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("a", vec![retryable(5, "502 Bad Gateway"), ok(5, json!({}))]);
    let report = run(&doc(json!({})), json!({}), &runner, &clock);
    assert_eq!(report.result("a").unwrap().attempts, 1);
    assert_eq!(
        report.result("a").unwrap().error.as_deref(),
        Some("502 Bad Gateway")
    );
}

#[test]
fn timeout_abandons_the_call_and_counts_as_retryable() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("a", vec![ok(20_000, json!({"late": true}))]);
    let extra = json!({"timeoutMs": 1000, "retry": {"maxAttempts": 2, "backoffMs": 100}});
    let report = run(&doc(extra), json!({}), &runner, &clock);

    let a = report.result("a").unwrap();
    assert_eq!((a.status, a.attempts), (NodeStatus::Failed, 2));
    assert_eq!(
        a.error.as_deref(),
        Some("timed out after 1000 ms (after 2 attempts)")
    );
    let d1 = policy(2, 100).delay_ms(1, EXECUTION_ID, "a");
    let calls = runner.calls_for("a");
    assert_eq!(calls[0].timeout_ms, 1000);
    assert_eq!(calls[1].at, 1000 + d1);
    assert_eq!(a.duration_ms, 2000 + d1, "the slow calls are cut at the timeout");
    assert_eq!(report.duration_ms, 2000 + d1);
    assert_eq!(runner.in_flight(), 0, "abandoned calls are dropped");
}

#[test]
fn timeout_then_success_on_retry() {
    let clock = FakeClock::new();
    let runner = FakeRunner::new(&clock).script("a", vec![ok(60_000, json!(1)), ok(10, json!({"ok": true}))]);
    let extra = json!({"timeoutMs": 500, "retry": {"maxAttempts": 2, "backoffMs": 0}});
    let report = run(&doc(extra), json!({}), &runner, &clock);
    let a = report.result("a").unwrap();
    assert_eq!(
        (a.status, a.attempts, a.duration_ms),
        (NodeStatus::Succeeded, 2, 510)
    );
}

#[test]
fn oversized_output_fails_the_node_without_storing_it() {
    let clock = FakeClock::new();
    let big = json!({"blob": "x".repeat(2_000)});
    let runner = FakeRunner::new(&clock).script("a", vec![ok(10, big)]);
    let limits = Limits {
        max_output_bytes: 1_024,
        ..Limits::default()
    };
    let report = run_with(
        &doc(json!({"retry": {"maxAttempts": 3}})),
        json!({}),
        &runner,
        &clock,
        &limits,
    );

    let a = report.result("a").unwrap();
    assert_eq!(a.status, NodeStatus::Failed);
    assert_eq!(a.output, None);
    assert_eq!(a.attempts, 1, "an oversized answer is not retried");
    assert_eq!(
        a.error.as_deref(),
        Some("output too large: 2011 bytes (limit 1024 bytes); not stored")
    );
    assert_eq!(report.result("after").unwrap().status, NodeStatus::Skipped);
}
