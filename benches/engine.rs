//! Engine overhead per step, natively: validation, templating, scheduling
//! and result bookkeeping with an action runner that answers instantly, so
//! the figures are the engine's own cost (not network time).
//!
//! Run: `cargo bench --bench engine`. Prints one line per scenario.

use std::future::Future;
use std::hint::black_box;
use std::time::Instant;

use edgeflow::engine::{
    execute, validate, ActionCall, ActionError, ActionRunner, Budget, Clock, Limits, NoJournal, RunContext,
};
use serde_json::{json, Value};

struct Instant0;

impl ActionRunner for Instant0 {
    async fn run(&self, call: ActionCall) -> Result<Value, ActionError> {
        Ok(json!({"score": 80, "grade": "A", "echo": call.inputs}))
    }
}

struct WallClock(Instant);

impl Clock for WallClock {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
    fn sleep(&self, _ms: u64) -> impl Future<Output = ()> {
        // Never reached when actions answer at once; a pending sleep only
        // loses the race against them.
        std::future::pending()
    }
}

fn trigger() -> Value {
    json!({"id": "t", "type": "trigger", "data": {"triggerType": "manual"}})
}

fn action(id: &str, upstream: &str) -> Value {
    json!({"id": id, "type": "action", "data": {"actionId": "send_notification", "config": {
        "title": format!("Lead {{{{trigger.name}}}} via {upstream}"),
        "body": format!("{{{{nodes.{upstream}.output.grade}}}}")}}})
}

/// A chain of `n` actions, each templating its predecessor's output.
fn chain(n: usize) -> (Value, Value) {
    let mut nodes = vec![trigger()];
    let mut edges = vec![];
    let mut prev = "t".to_string();
    for i in 0..n {
        let id = format!("a{i}");
        let upstream = if prev == "t" {
            "a0".to_string()
        } else {
            prev.clone()
        };
        let mut node = action(&id, &upstream);
        if prev == "t" {
            node["data"]["config"]["body"] = json!("{{trigger.name}}");
        }
        nodes.push(node);
        edges.push(json!({"id": format!("e{i}"), "source": prev, "target": id}));
        prev = id;
    }
    (Value::Array(nodes), Value::Array(edges))
}

/// `n` independent actions fanned out from the trigger.
fn fan_out(n: usize) -> (Value, Value) {
    let mut nodes = vec![trigger()];
    let mut edges = vec![];
    for i in 0..n {
        let id = format!("a{i}");
        let mut node = action(&id, "t");
        node["data"]["config"]["body"] = json!("{{trigger.name}}");
        nodes.push(node);
        edges.push(json!({"id": format!("e{i}"), "source": "t", "target": id}));
    }
    (Value::Array(nodes), Value::Array(edges))
}

fn bench(name: &str, nodes: &Value, edges: &Value, iterations: u32) {
    let limits = Limits::default();
    let steps = nodes.as_array().map(|a| a.len()).unwrap_or(0) as f64;
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(validate(nodes, edges, &limits).expect("valid"));
    }
    let validate_us = start.elapsed().as_secs_f64() * 1e6 / iterations as f64;

    let graph = validate(nodes, edges, &limits).expect("valid");
    let ctx = RunContext {
        execution_id: "bench".into(),
        workflow_id: None,
        trigger: json!({"name": "Ada", "email": "ada@example.com"}),
        journaled: vec![],
    };
    let clock = WallClock(Instant::now());
    let start = Instant::now();
    for _ in 0..iterations {
        let report = futures_executor::block_on(execute(
            &graph,
            &ctx,
            &Instant0,
            &clock,
            &NoJournal,
            &limits,
            &Budget::unlimited(),
        ));
        assert!(report.success, "{:?}", report.results.iter().find(|r| !r.success));
        black_box(report);
    }
    let run_us = start.elapsed().as_secs_f64() * 1e6 / iterations as f64;
    println!(
        "{name:<16} nodes={steps:<4} validate={validate_us:>9.1} us  execute={run_us:>9.1} us  per step={:>6.2} us",
        run_us / steps
    );
}

fn main() {
    println!("engine overhead (instant actions, release build)");
    for n in [5, 50, 199] {
        let (nodes, edges) = chain(n);
        bench(
            &format!("chain-{n}"),
            &nodes,
            &edges,
            if n > 100 { 50 } else { 500 },
        );
    }
    for n in [20, 199] {
        let (nodes, edges) = fan_out(n);
        bench(
            &format!("fan-out-{n}"),
            &nodes,
            &edges,
            if n > 100 { 50 } else { 500 },
        );
    }
}
