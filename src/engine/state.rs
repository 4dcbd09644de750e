//! The scheduler as a pure state machine: events in, commands out.
//!
//! [`RunState`] is everything one invocation of a run knows. It never
//! waits, reads no clock and calls nothing: [`RunState::next`] says what can
//! happen now ([`Command`]s), [`RunState::on`] takes what happened
//! ([`Event`]s), and the async driver ([`execute`](super::run::execute)) does
//! the I/O in between. So every scheduling rule is tested without futures,
//! and a run can be journaled, resumed, yielded and cancelled.
//!
//! Rules. Results journaled by earlier invocations are restored first, as
//! if they had just settled. A node is ready once all its predecessors have
//! settled. If every incoming edge is dead (its source failed or was
//! skipped, or it is the branch a condition did not take) the node is
//! skipped and its own edges die. Triggers, conditions and skips settle at
//! once; ready actions start while `RunState::may_start` allows it, which
//! is the one place for the stop rules (`onError: stop`, run deadline,
//! cancel), the concurrency bound and the invocation's [`Budget`]. Once the
//! run stops, the nodes not started are skipped. Every result settled in one
//! pass goes out as one journal batch; the run is done once nothing is in
//! flight and every batch is acknowledged. Actions started in a pass go
//! in that pass's batch too, as `running` steps, so a live view sees them
//! start at no extra write.

use super::budget::{action_cost, Budget, Ledger};
use super::graph::{Graph, NodeKind, OnError};
use super::inputs;
use super::ports::{ActionCall, JournalAck};
use super::result::{NodeResult, NodeStatus, RunOutcome, RunReport, RunStatus};
use super::retry::RetryPolicy;
use super::run::RunContext;
use super::step::{run_condition, ActionOutcome};
use super::template::Scope;
use crate::limits::Limits;
use serde_json::Value;
use std::collections::HashMap;

/// What the driver should do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run this action node (node index into `Graph::nodes`): `call` is its
    /// first attempt, `retry` says how to try again.
    StartAction {
        node: usize,
        call: ActionCall,
        retry: RetryPolicy,
    },
    /// Record these results, in this order: everything that settled since
    /// the previous batch, then the actions started since (as `running`).
    /// Acknowledge with `Event::JournalAck` or `Event::JournalFailed`.
    Journal(Vec<NodeResult>),
    /// Record that these actions started (`running` steps only, nothing
    /// settled). Acknowledge with `Event::StartsJournaled`; its loss costs
    /// only the live view of those starts, and nothing waits for it but
    /// the end of the invocation.
    JournalStarts(Vec<NodeResult>),
    /// The invocation is over; always the last command.
    Done(RunReport),
}

/// What happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// An action started by `Command::StartAction` ended (retries included).
    ActionFinished {
        node: usize,
        outcome: ActionOutcome,
        now: u64,
    },
    /// The run deadline (`Limits::max_run_ms`) passed: actions in flight
    /// fail and nothing new starts. `attempts` holds, per node in flight,
    /// how many attempts it had started (1 when absent).
    Deadline { now: u64, attempts: Vec<(usize, u32)> },
    /// The run was cancelled: nothing new starts, actions in flight finish,
    /// nodes not started are skipped.
    Cancelled,
    /// A journal batch was recorded; a cancelled ack counts as `Cancelled`.
    JournalAck(JournalAck),
    /// A journal batch was lost (its write and its retry failed).
    JournalFailed,
    /// A `Command::JournalStarts` write ended: its ack, `None` if lost.
    StartsJournaled(Option<JournalAck>),
}

/// An action in flight.
#[derive(Debug, Clone, Copy)]
struct Flight {
    started_ms: u64,
    /// Calls promised to it: its attempts and the batch of its result.
    reserved: u32,
}

/// One invocation of a run, as a state machine. See the module docs.
#[derive(Debug)]
pub struct RunState<'a> {
    graph: &'a Graph,
    ctx: &'a RunContext,
    limits: &'a Limits,
    budget: Budget,
    /// Epoch ms at which this invocation started.
    started_ms: u64,
    /// Epoch ms at which the run's time is up.
    deadline_ms: u64,
    results: Vec<Option<NodeResult>>,
    running: Vec<Option<Flight>>,
    in_flight: usize,
    /// Per edge: `None` until its source settles, then whether it is live.
    edge_live: Vec<Option<bool>>,
    outputs: HashMap<String, Value>,
    stop_reason: Option<String>,
    cancelled: bool,
    /// Nodes settled since the last journal batch, in settle order.
    unjournaled: Vec<usize>,
    /// Actions started since the last journal batch: journaled as
    /// `running`, so a live view sees a step when it starts.
    starting: Vec<usize>,
    calls: Ledger,
    actions_started: u32,
    journal_pending: usize,
    /// `JournalStarts` writes not acknowledged yet.
    starts_pending: usize,
    journal_failures: u32,
    done: bool,
}

impl<'a> RunState<'a> {
    /// A run as of `now_ms`, with the results of `ctx.journaled` restored:
    /// their outputs feed templates, their edges live or die as if they had
    /// just settled, and a journaled `onError: stop` failure stops the run.
    /// Rows still `running` and unknown node ids are ignored.
    pub fn new(
        graph: &'a Graph,
        ctx: &'a RunContext,
        limits: &'a Limits,
        budget: Budget,
        now_ms: u64,
    ) -> Self {
        let n = graph.nodes.len();
        let mut state = Self {
            graph,
            ctx,
            limits,
            budget,
            started_ms: now_ms,
            deadline_ms: now_ms.saturating_add(limits.max_run_ms),
            results: vec![None; n],
            running: vec![None; n],
            in_flight: 0,
            edge_live: vec![None; graph.edges.len()],
            outputs: HashMap::new(),
            stop_reason: None,
            cancelled: false,
            unjournaled: Vec::new(),
            starting: Vec::new(),
            calls: Ledger::default(),
            actions_started: 0,
            journal_pending: 0,
            starts_pending: 0,
            journal_failures: 0,
            done: false,
        };
        let journaled: HashMap<&str, &NodeResult> = ctx
            .journaled
            .iter()
            .filter(|r| r.status != NodeStatus::Running)
            .map(|r| (r.node_id.as_str(), r))
            .collect();
        for &i in &graph.order {
            if let Some(&result) = journaled.get(graph.nodes[i].id.as_str()) {
                state.record(i, result.clone());
            }
        }
        state
    }

    /// Everything that can happen at `now`: skips and pure settlements (in
    /// the batch), actions to start, the batch of what settled since the
    /// last call, and `Done` once nothing is in flight or unacknowledged.
    pub fn next(&mut self, now: u64) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.done {
            return commands;
        }
        let graph = self.graph;
        loop {
            let mut progressed = false;
            for &i in &graph.order {
                if !self.is_ready(i) {
                    continue;
                }
                if self.all_incoming_dead(i) {
                    self.settle(i, self.blank(i));
                    progressed = true;
                    continue;
                }
                if !self.may_start(i, now) {
                    continue;
                }
                progressed = true;
                if let Some(start) = self.start(i, now) {
                    commands.push(start);
                }
            }
            if !progressed {
                break;
            }
        }
        if self.stop_reason.is_some() {
            for &i in &graph.order {
                if self.results[i].is_none() && self.running[i].is_none() {
                    self.settle(i, self.blank(i));
                }
            }
        }
        if !self.unjournaled.is_empty() || !self.starting.is_empty() {
            let mut batch: Vec<NodeResult> = std::mem::take(&mut self.unjournaled)
                .into_iter()
                .filter_map(|i| self.results[i].clone())
                .collect();
            let settled = !batch.is_empty();
            for i in std::mem::take(&mut self.starting) {
                if let Some(flight) = self.running[i] {
                    batch.push(
                        self.blank(i)
                            .timed(flight.started_ms, flight.started_ms)
                            .running(),
                    );
                }
            }
            self.calls.batch();
            if settled {
                self.journal_pending += 1;
                commands.push(Command::Journal(batch));
            } else {
                self.starts_pending += 1;
                commands.push(Command::JournalStarts(batch));
            }
        }
        if self.in_flight == 0 && self.journal_pending == 0 && self.starts_pending == 0 {
            self.done = true;
            commands.push(Command::Done(self.report(now)));
        }
        commands
    }

    /// Takes one event; call [`RunState::next`] after it (or after a few).
    pub fn on(&mut self, event: Event) {
        match event {
            Event::ActionFinished { node, outcome, now } => {
                let Some(flight) = self.land(node, outcome.attempts) else {
                    return;
                };
                let blank = self.blank(node).timed(flight.started_ms, now);
                let result = match outcome.result {
                    Ok(output) => blank.succeeded(output, outcome.attempts),
                    Err(e) => blank.failed(e, outcome.attempts),
                };
                self.settle(node, result);
            }
            Event::Deadline { now, attempts } => {
                let message = self.time_limit_message();
                for i in 0..self.running.len() {
                    let tried = attempts.iter().find(|(n, _)| *n == i).map_or(1, |(_, a)| *a);
                    if let Some(flight) = self.land(i, tried) {
                        let failed = self
                            .blank(i)
                            .timed(flight.started_ms, now)
                            .failed(message.clone(), tried);
                        self.settle(i, failed);
                    }
                }
                // A run already stopped by a failed node keeps that reason.
                self.stop_reason.get_or_insert(message);
            }
            Event::Cancelled => self.cancel(),
            Event::JournalAck(ack) => {
                self.journal_pending = self.journal_pending.saturating_sub(1);
                if ack.cancelled {
                    self.cancel();
                }
            }
            Event::JournalFailed => {
                self.journal_pending = self.journal_pending.saturating_sub(1);
                self.journal_failures += 1;
            }
            Event::StartsJournaled(ack) => {
                self.starts_pending = self.starts_pending.saturating_sub(1);
                if ack.is_some_and(|a| a.cancelled) {
                    self.cancel();
                }
            }
        }
    }

    /// Node indexes of the actions in flight.
    pub fn in_flight(&self) -> impl Iterator<Item = usize> + '_ {
        self.running.iter().enumerate().filter_map(|(i, f)| f.map(|_| i))
    }

    /// Whether ready node `i` may start now: the one place the stop rules,
    /// the concurrency bound and the budget live. Asked before each node
    /// starts (an action is prepared, a condition evaluated), so a stop
    /// decided earlier in the same pass (even by a node that failed
    /// without running) holds for every node after it, including nodes
    /// that became ready in that pass.
    fn may_start(&mut self, i: usize, now: u64) -> bool {
        if self.stop_reason.is_none() && now >= self.deadline_ms {
            self.stop_reason = Some(self.time_limit_message());
        }
        if self.stop_reason.is_some() {
            return false;
        }
        let NodeKind::Action { retry, .. } = &self.graph.nodes[i].kind else {
            return true;
        };
        if self.in_flight >= self.limits.max_concurrency.max(1) {
            return false;
        }
        // An action starts only once every earlier journal write has been
        // acknowledged: the write made in this same pass (the results that
        // made it ready) overlaps it, nothing older may still be in flight.
        // So a step never runs ahead of its predecessors' results by more
        // than one write, and a cancel (learned from an ack) stops the run
        // within one wave of steps.
        if self.journal_pending > 0 {
            return false;
        }
        if self.actions_started == 0 && self.in_flight == 0 {
            return true;
        }
        let batch_due = !self.unjournaled.is_empty() || !self.starting.is_empty();
        self.calls
            .fits(action_cost(retry), batch_due, self.budget.max_calls)
            && now.saturating_sub(self.started_ms) < self.budget.wall_ms
    }

    fn cancel(&mut self) {
        self.cancelled = true;
        self.stop_reason.get_or_insert_with(|| "cancelled".to_string());
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

    /// Starts node `i`: a trigger or condition settles at once; an action's
    /// inputs are rendered and checked, and it either becomes a
    /// `StartAction` or fails on bad inputs without a call.
    fn start(&mut self, i: usize, now: u64) -> Option<Command> {
        let graph = self.graph;
        let blank = || self.blank(i).timed(now, now);
        let (action_id, config, retry, timeout_ms) = match &graph.nodes[i].kind {
            NodeKind::Trigger(_) => {
                let result = blank().succeeded(self.ctx.trigger.clone(), 1);
                self.settle(i, result);
                return None;
            }
            NodeKind::Condition(cond) => {
                let blank = blank();
                let result = match run_condition(cond, &self.scope()) {
                    Ok(out) => blank.succeeded(out, 1),
                    Err(e) => blank.failed(e, 1),
                };
                self.settle(i, result);
                return None;
            }
            NodeKind::Action {
                action_id,
                config,
                retry,
                timeout_ms,
            } => (action_id, config, retry, *timeout_ms),
        };
        match inputs::prepare(action_id, config, &self.scope()) {
            Ok(inputs) => {
                let reserved = action_cost(retry);
                self.running[i] = Some(Flight {
                    started_ms: now,
                    reserved,
                });
                self.in_flight += 1;
                self.actions_started += 1;
                self.starting.push(i);
                self.calls.reserve(reserved);
                let node_id = graph.nodes[i].id.as_str();
                Some(Command::StartAction {
                    node: i,
                    call: ActionCall {
                        node_id: node_id.to_string(),
                        action_id: action_id.clone(),
                        step_key: format!("{}:{node_id}", self.ctx.execution_id),
                        inputs,
                        attempt: 1,
                        timeout_ms,
                    },
                    retry: *retry,
                })
            }
            Err(message) => {
                let failed = self.blank(i).timed(now, now).failed(message, 0);
                self.settle(i, failed);
                None
            }
        }
    }

    /// Takes node `i` out of flight, trading its reservation for the
    /// attempts it made; `None` if it was not in flight.
    fn land(&mut self, i: usize, attempts: u32) -> Option<Flight> {
        let flight = self.running.get_mut(i)?.take()?;
        self.in_flight -= 1;
        self.calls.land(flight.reserved, attempts);
        Some(flight)
    }

    /// Records a result settled in this invocation, for the next batch.
    fn settle(&mut self, i: usize, result: NodeResult) {
        self.record(i, result);
        self.unjournaled.push(i);
    }

    /// Records a result and decides which outgoing edges stay live: all of
    /// them if it succeeded (for a condition, those of the branch its
    /// `result` chose), none otherwise.
    fn record(&mut self, i: usize, result: NodeResult) {
        let node = &self.graph.nodes[i];
        let ok = result.status == NodeStatus::Succeeded;
        let branch = match node.kind {
            NodeKind::Condition(_) => result
                .output
                .as_ref()
                .and_then(|o| o.get("result"))
                .and_then(Value::as_bool),
            _ => None,
        };
        for &e in &self.graph.outgoing[i] {
            let edge = &self.graph.edges[e];
            self.edge_live[e] = Some(ok && edge.branch.is_none_or(|b| Some(b) == branch));
        }
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

    fn report(&mut self, now: u64) -> RunReport {
        let mut slots = std::mem::take(&mut self.results);
        let results: Vec<NodeResult> = self.graph.order.iter().filter_map(|&i| slots[i].take()).collect();
        let outcome = if self.cancelled {
            RunOutcome::Cancelled
        } else if results.len() < self.graph.nodes.len() {
            RunOutcome::Yielded
        } else {
            RunOutcome::Finished
        };
        let error_count = results.iter().filter(|r| r.status == NodeStatus::Failed).count() as u32;
        // A run cut short failed even if no node did: not every node it
        // should have run ran.
        let success = error_count == 0 && self.stop_reason.is_none();
        RunReport {
            status: if success {
                RunStatus::Succeeded
            } else {
                RunStatus::Failed
            },
            outcome,
            success,
            error_count,
            results,
            started_at_ms: self.started_ms,
            duration_ms: now.saturating_sub(self.started_ms),
            stopped_early: self.stop_reason.is_some(),
            stop_reason: self.stop_reason.take(),
            journal_failures: self.journal_failures,
        }
    }
}
