//! The scheduler: runs a validated graph to completion and reports every node.
//!
//! A node is ready once all its predecessors have settled. If every incoming
//! edge is dead (its source failed or was skipped, or it is the branch a
//! condition did not take) the node is skipped and its own edges die. Ready
//! actions run concurrently, never more than `max_concurrency` at once;
//! triggers, conditions and skips settle immediately. Once the run stops (a
//! node with `onError: stop` failed, or the run's time is up) nothing new
//! starts (`Run::may_start` is that rule).

use super::graph::{Graph, NodeKind, OnError};
use super::inputs;
use super::ports::{ActionRunner, Clock};
use super::result::{NodeResult, NodeStatus, RunReport, RunStatus};
use super::step::{run_action, run_condition, ActionJob, ActionOutcome};
use super::template::Scope;
use crate::limits::Limits;
use futures_util::future::{select, Either, LocalBoxFuture};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use serde_json::Value;
use std::cell::Cell;
use std::collections::HashMap;
use std::pin::pin;

/// Who and what a run is for.
#[derive(Debug, Clone, PartialEq)]
pub struct RunContext {
    pub execution_id: String,
    /// `None` for an unsaved test run; `{{workflow.id}}` then renders null.
    pub workflow_id: Option<String>,
    /// The trigger data, also the trigger node's output.
    pub trigger: Value,
}

struct Run<'g> {
    graph: &'g Graph,
    ctx: &'g RunContext,
    limits: &'g Limits,
    results: Vec<Option<NodeResult>>,
    running: Vec<Option<u64>>,
    /// Per edge: `None` until its source settles, then whether it is live.
    edge_live: Vec<Option<bool>>,
    outputs: HashMap<String, Value>,
    /// Epoch ms at which the run's time is up.
    deadline_ms: u64,
    stop_reason: Option<String>,
}

/// Runs the graph. Never fails as a whole: every problem ends up in a node
/// result, and the report says whether the run succeeded.
pub async fn execute<R: ActionRunner, C: Clock>(
    graph: &Graph,
    ctx: &RunContext,
    runner: &R,
    clock: &C,
    limits: &Limits,
) -> RunReport {
    let started = clock.now_ms();
    let n = graph.nodes.len();
    let attempts_seen: Vec<Cell<u32>> = (0..n).map(|_| Cell::new(0)).collect();
    let mut run = Run {
        graph,
        ctx,
        limits,
        results: vec![None; n],
        running: vec![None; n],
        edge_live: vec![None; graph.edges.len()],
        outputs: HashMap::new(),
        deadline_ms: started.saturating_add(limits.max_run_ms),
        stop_reason: None,
    };
    let mut in_flight: FuturesUnordered<LocalBoxFuture<'_, (usize, ActionOutcome)>> = FuturesUnordered::new();
    let mut deadline = pin!(clock.sleep(limits.max_run_ms));
    loop {
        loop {
            let mut progressed = false;
            for &i in &graph.order {
                if !run.is_ready(i) {
                    continue;
                }
                if run.all_incoming_dead(i) {
                    let skipped = run.blank(i);
                    run.settle(i, skipped, None);
                    progressed = true;
                    continue;
                }
                if !run.may_start(clock.now_ms()) {
                    continue;
                }
                let NodeKind::Action { .. } = graph.nodes[i].kind else {
                    run.settle_now(i, clock.now_ms());
                    progressed = true;
                    continue;
                };
                if in_flight.len() >= limits.max_concurrency.max(1) {
                    continue;
                }
                progressed = true;
                if let Some(job) = run.prepare_action(i, clock.now_ms(), &attempts_seen[i]) {
                    in_flight.push(run_action(job, runner, clock).map(move |o| (i, o)).boxed_local());
                }
            }
            if !progressed {
                break;
            }
        }
        if in_flight.is_empty() {
            break;
        }
        match select(in_flight.next(), deadline.as_mut()).await {
            Either::Left((Some((i, outcome)), _)) => {
                run.finish_action(i, outcome, clock.now_ms());
                // Settle every other action that has answered by now before
                // starting anything, so a stop among them holds for all.
                while let Some(Some((i, outcome))) = in_flight.next().now_or_never() {
                    run.finish_action(i, outcome, clock.now_ms());
                }
            }
            Either::Left((None, _)) => break,
            Either::Right(_) => {
                run.expire(clock.now_ms(), &attempts_seen);
                break;
            }
        }
    }
    drop(in_flight);
    run.report(started, clock.now_ms())
}

impl<'g> Run<'g> {
    /// Whether a ready node may start now: the one place the stop rules
    /// live. Asked before each node starts (an action is prepared, a
    /// condition evaluated), so a stop decided earlier in the same pass
    /// (even by a node that failed without running) holds for every node
    /// after it, including nodes that became ready in that pass.
    fn may_start(&mut self, now: u64) -> bool {
        if self.stop_reason.is_none() && now >= self.deadline_ms {
            self.stop_reason = Some(self.time_limit_message());
        }
        self.stop_reason.is_none()
    }

    fn time_limit_message(&self) -> String {
        format!("run exceeded its time limit of {} ms", self.limits.max_run_ms)
    }

    fn is_ready(&self, i: usize) -> bool {
        self.results[i].is_none()
            && self.running[i].is_none()
            && self.graph.incoming[i]
                .iter()
                .all(|&e| self.edge_live[e].is_some())
    }

    fn all_incoming_dead(&self, i: usize) -> bool {
        let incoming = &self.graph.incoming[i];
        !incoming.is_empty() && incoming.iter().all(|&e| self.edge_live[e] == Some(false))
    }

    fn blank(&self, i: usize) -> NodeResult {
        let node = &self.graph.nodes[i];
        let action_id = match &node.kind {
            NodeKind::Action { action_id, .. } => Some(action_id.as_str()),
            _ => None,
        };
        NodeResult::new(node.id.as_str(), node.kind.type_name(), action_id)
    }

    fn scope(&self) -> Scope<'_> {
        Scope {
            trigger: &self.ctx.trigger,
            execution_id: &self.ctx.execution_id,
            workflow_id: self.ctx.workflow_id.as_deref(),
            outputs: &self.outputs,
        }
    }

    /// Settles a node that needs no runner: the trigger or a condition.
    fn settle_now(&mut self, i: usize, now: u64) {
        let blank = self.blank(i).timed(now, now);
        let result = match &self.graph.nodes[i].kind {
            NodeKind::Trigger(_) => blank.succeeded(self.ctx.trigger.clone(), 1),
            NodeKind::Condition(cond) => match run_condition(cond, &self.scope()) {
                Ok(out) => blank.succeeded(out, 1),
                Err(e) => blank.failed(e, 1),
            },
            NodeKind::Action { .. } => unreachable!("actions go through prepare_action"),
        };
        let branch = result
            .output
            .as_ref()
            .and_then(|o| o.get("result"))
            .and_then(Value::as_bool);
        self.settle(i, result, branch);
    }

    /// Renders and checks an action's inputs; returns the job to run, or
    /// settles the node as failed on bad inputs and returns `None`.
    fn prepare_action<'c>(
        &mut self,
        i: usize,
        now: u64,
        attempts_seen: &'c Cell<u32>,
    ) -> Option<ActionJob<'c>>
    where
        'g: 'c,
    {
        let graph: &'g Graph = self.graph;
        let NodeKind::Action {
            action_id,
            config,
            retry,
            timeout_ms,
        } = &graph.nodes[i].kind
        else {
            unreachable!("prepare_action is only called for actions")
        };
        match inputs::prepare(action_id, config, &self.scope()) {
            Ok(inputs) => {
                self.running[i] = Some(now);
                Some(ActionJob {
                    node_id: graph.nodes[i].id.as_str(),
                    action_id,
                    inputs,
                    retry: *retry,
                    timeout_ms: *timeout_ms,
                    execution_id: &self.ctx.execution_id,
                    max_output_bytes: self.limits.max_output_bytes,
                    attempts_seen,
                })
            }
            Err(message) => {
                let failed = self.blank(i).timed(now, now).failed(message, 0);
                self.settle(i, failed, None);
                None
            }
        }
    }

    fn finish_action(&mut self, i: usize, outcome: ActionOutcome, now: u64) {
        let started = self.running[i].take().unwrap_or(now);
        let blank = self.blank(i).timed(started, now);
        let result = match outcome.result {
            Ok(output) => blank.succeeded(output, outcome.attempts),
            Err(e) => blank.failed(e, outcome.attempts),
        };
        self.settle(i, result, None);
    }

    /// The run deadline passed: actions still in flight fail, and nothing
    /// new starts. A run already stopped by a failed node keeps that reason.
    fn expire(&mut self, now: u64, attempts_seen: &[Cell<u32>]) {
        let message = self.time_limit_message();
        for (i, attempts) in attempts_seen.iter().enumerate() {
            if let Some(started) = self.running[i].take() {
                let failed = self
                    .blank(i)
                    .timed(started, now)
                    .failed(message.clone(), attempts.get());
                self.settle(i, failed, None);
            }
        }
        self.stop_reason.get_or_insert(message);
    }

    /// Records a result and decides which outgoing edges stay live.
    fn settle(&mut self, i: usize, result: NodeResult, branch: Option<bool>) {
        let ok = result.status == NodeStatus::Succeeded;
        for &e in &self.graph.outgoing[i] {
            let edge = &self.graph.edges[e];
            self.edge_live[e] = Some(ok && edge.branch.is_none_or(|b| Some(b) == branch));
        }
        let node = &self.graph.nodes[i];
        if ok {
            if let Some(out) = &result.output {
                self.outputs.insert(node.id.as_str().to_string(), out.clone());
            }
        } else if result.status == NodeStatus::Failed
            && node.on_error == OnError::Stop
            && self.stop_reason.is_none()
        {
            self.stop_reason = Some(format!(
                "stopped after node {:?} failed (onError: stop)",
                node.id.as_str()
            ));
        }
        self.results[i] = Some(result);
    }

    fn report(mut self, started: u64, now: u64) -> RunReport {
        let mut results = Vec::with_capacity(self.results.len());
        let mut slots = std::mem::take(&mut self.results);
        for &i in &self.graph.order {
            results.push(slots[i].take().unwrap_or_else(|| self.blank(i)));
        }
        let error_count = results.iter().filter(|r| r.status == NodeStatus::Failed).count() as u32;
        // A run cut short by its deadline failed even if no node did: not
        // every node it should have run ran.
        let success = error_count == 0 && self.stop_reason.is_none();
        RunReport {
            status: if success {
                RunStatus::Succeeded
            } else {
                RunStatus::Failed
            },
            success,
            error_count,
            results,
            started_at_ms: started,
            duration_ms: now.saturating_sub(started),
            stopped_early: self.stop_reason.is_some(),
            stop_reason: self.stop_reason,
        }
    }
}
