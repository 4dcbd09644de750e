//! The scheduler as a pure state machine: events in, commands out.
//!
//! [`RunState`] is everything one invocation of a run knows. It never
//! waits, reads no clock and calls nothing: [`RunState::next`] says what can
//! happen now ([`Command`]s), [`RunState::on`] takes what happened
//! ([`Event`]s), and the async driver ([`execute`](super::run::execute)) does
//! the I/O in between. So every scheduling rule is tested without futures,
//! and a run can be journaled, resumed, yielded, delayed and cancelled.
//!
//! Rules. Results journaled by earlier invocations are restored first, as
//! if they had just settled. A node is ready once all its predecessors have
//! settled. If every incoming edge is dead (its source failed or was
//! skipped, or it is the branch a condition or split did not take) the node
//! is skipped and its own edges die. Triggers, conditions, splits and skips
//! settle at once; a delay settles once its time has come (until then the
//! run can only wait); a loop runs its body once per item, in frames of
//! their own (see [`super::frame`]), and settles once every item has; ready
//! actions start while `RunState::may_start` allows it, which is the one
//! place for the stop rules (`onError: stop`, run deadline, cancel), the
//! concurrency bound and the invocation's [`Budget`]. Once the run stops,
//! the nodes not started are skipped. Every result settled in one pass goes
//! out as one journal batch; the run is done once nothing is in flight and
//! every batch is acknowledged. Actions, delays and loops started in a pass
//! go in that pass's batch too, as `running` steps, so a live view sees
//! them start at no extra write (and a delay's end time is durable).

mod events;
mod nodes;
mod report;

pub use events::{Command, Event};

use super::budget::{action_cost, Budget, Ledger};
use super::frame::{with_scope, Flight, Frame, Slot};
use super::graph::{Branch, Graph, NodeKind, OnError};
use super::result::{NodeResult, NodeStatus};
use super::run::RunContext;
use super::template::Scope;
use super::time::{ms_from_rfc3339, rfc3339_from_ms};
use crate::limits::Limits;
use serde_json::{json, Value};
use std::collections::HashMap;

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
    slots: Vec<Slot>,
    frames: Vec<Frame>,
    /// Frames with slots still open, in the order they were made.
    live: Vec<usize>,
    /// Journaled results not restored yet, by node id and item path: the
    /// items of a loop are restored when the loop reaches them.
    restored: HashMap<(String, Vec<u32>), NodeResult>,
    in_flight: usize,
    stop_reason: Option<String>,
    cancelled: bool,
    /// A ready action was held back by the budget (the run must yield).
    held_back: bool,
    /// Slots settled since the last journal batch, in settle order.
    unjournaled: Vec<usize>,
    /// Slots started since the last journal batch: journaled as `running`.
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
    /// A `running` delay keeps the end time it was journaled with; other
    /// `running` rows and unknown node ids are ignored (those steps run).
    pub fn new(
        graph: &'a Graph,
        ctx: &'a RunContext,
        limits: &'a Limits,
        budget: Budget,
        now_ms: u64,
    ) -> Self {
        let n = graph.nodes.len();
        let restored = ctx
            .journaled
            .iter()
            .map(|r| ((r.node_id.clone(), r.item_path.clone()), r.clone()))
            .collect();
        let mut state = Self {
            graph,
            ctx,
            limits,
            budget,
            started_ms: now_ms,
            deadline_ms: now_ms.saturating_add(limits.max_run_ms),
            slots: (0..n).map(|i| Slot::new(i, 0)).collect(),
            frames: vec![Frame::new(None, Vec::new(), Value::Null, graph.top.clone())],
            live: vec![0],
            restored,
            in_flight: 0,
            stop_reason: None,
            cancelled: false,
            held_back: false,
            unjournaled: Vec::new(),
            starting: Vec::new(),
            calls: Ledger::default(),
            actions_started: 0,
            journal_pending: 0,
            starts_pending: 0,
            journal_failures: 0,
            done: false,
        };
        state.restore(0);
        state
    }

    /// Restores the journaled results of frame `f`'s slots.
    fn restore(&mut self, f: usize) {
        for pos in 0..self.frames[f].slots.len() {
            let s = self.frames[f].slots[pos];
            let key = (self.node_id(s).to_string(), self.frames[f].path.clone());
            let Some(result) = self.restored.remove(&key) else {
                continue;
            };
            match result.status {
                NodeStatus::Running => {
                    let NodeKind::Delay(_) = self.graph.nodes[self.slots[s].node].kind else {
                        continue;
                    };
                    let wake = result
                        .output
                        .as_ref()
                        .and_then(|o| o["resumeAt"].as_str())
                        .and_then(ms_from_rfc3339);
                    if let (Some(started), Some(wake)) = (result.started_at_ms, wake) {
                        self.slots[s].waiting = Some((started, wake));
                    }
                }
                _ => self.record(s, result),
            }
        }
    }

    /// Everything that can happen at `now`: skips and pure settlements (in
    /// the batch), actions to start, the batch of what settled since the
    /// last call, and `Done` once nothing is in flight or unacknowledged.
    pub fn next(&mut self, now: u64) -> Vec<Command> {
        let mut commands = Vec::new();
        if self.done {
            return commands;
        }
        self.held_back = false;
        loop {
            let mut progressed = false;
            let mut k = 0;
            while k < self.live.len() {
                let f = self.live[k];
                for pos in 0..self.frames[f].slots.len() {
                    let s = self.frames[f].slots[pos];
                    progressed |= self.step(s, now, &mut commands);
                }
                k += 1;
            }
            if self.stop_reason.is_some() {
                progressed |= self.skip_the_rest(now);
            }
            if !progressed {
                break;
            }
        }
        self.live.retain(|&f| self.frames[f].open > 0);
        if !self.unjournaled.is_empty() || !self.starting.is_empty() {
            let mut batch: Vec<NodeResult> = std::mem::take(&mut self.unjournaled)
                .into_iter()
                .filter_map(|s| self.slots[s].result.clone())
                .collect();
            let settled = !batch.is_empty();
            for s in std::mem::take(&mut self.starting) {
                if let Some(marker) = self.marker(s) {
                    batch.push(marker);
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

    /// Moves slot `s` on if it can; whether anything changed.
    fn step(&mut self, s: usize, now: u64, commands: &mut Vec<Command>) -> bool {
        if self.slots[s].looping.is_some() {
            return self.advance_loop(s, now);
        }
        if let Some((started, wake)) = self.slots[s].waiting {
            if now < wake || self.stop_reason.is_some() {
                return false;
            }
            self.slots[s].waiting = None;
            let out = json!({"resumedAt": rfc3339_from_ms(now), "waitedMs": now.saturating_sub(started)});
            let done = self.blank(s).timed(started, now).succeeded(out, 1);
            self.settle(s, done);
            return true;
        }
        if !self.is_ready(s) {
            return false;
        }
        if self.all_incoming_dead(s) {
            self.settle(s, self.blank(s));
            return true;
        }
        if !self.may_start(s, now) {
            return false;
        }
        if let Some(start) = self.start(s, now) {
            commands.push(start);
        }
        true
    }

    /// Once the run stopped: every slot not started is skipped, and so is
    /// every delay still waiting (what follows it never runs).
    fn skip_the_rest(&mut self, now: u64) -> bool {
        let mut changed = false;
        for k in 0..self.live.len() {
            let f = self.live[k];
            for pos in 0..self.frames[f].slots.len() {
                let s = self.frames[f].slots[pos];
                if self.slots[s].untouched() {
                    self.settle(s, self.blank(s));
                    changed = true;
                } else if let Some((started, _)) = self.slots[s].waiting.take() {
                    let cut = self.blank(s).timed(started, now);
                    self.settle(s, cut);
                    changed = true;
                }
            }
        }
        changed
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
                for s in 0..self.slots.len() {
                    let tried = attempts.iter().find(|(n, _)| *n == s).map_or(1, |(_, a)| *a);
                    if let Some(flight) = self.land(s, tried) {
                        let failed = self
                            .blank(s)
                            .timed(flight.started_ms, now)
                            .failed(message.clone(), tried);
                        self.settle(s, failed);
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

    /// Slots of the actions in flight.
    pub fn in_flight(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(s, slot)| slot.flight.map(|_| s))
    }

    /// Whether ready slot `s` may start now: the one place the stop rules,
    /// the concurrency bound and the budget live. Asked before each node
    /// starts (an action is prepared, a condition evaluated), so a stop
    /// decided earlier in the same pass (even by a node that failed
    /// without running) holds for every node after it, including nodes
    /// that became ready in that pass.
    fn may_start(&mut self, s: usize, now: u64) -> bool {
        if self.stop_reason.is_none() && now >= self.deadline_ms {
            self.stop_reason = Some(self.time_limit_message());
        }
        if self.stop_reason.is_some() {
            return false;
        }
        let NodeKind::Action { retry, .. } = &self.graph.nodes[self.slots[s].node].kind else {
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
        let fits = self
            .calls
            .fits(action_cost(retry), batch_due, self.budget.max_calls)
            && now.saturating_sub(self.started_ms) < self.budget.wall_ms;
        self.held_back |= !fits;
        fits
    }

    fn cancel(&mut self) {
        self.cancelled = true;
        self.stop_reason.get_or_insert_with(|| "cancelled".to_string());
    }

    fn time_limit_message(&self) -> String {
        format!("run exceeded its time limit of {} ms", self.limits.max_run_ms)
    }

    fn node_id(&self, s: usize) -> &'a str {
        self.graph.nodes[self.slots[s].node].id.as_str()
    }

    fn is_ready(&self, s: usize) -> bool {
        let slot = &self.slots[s];
        let frame = &self.frames[slot.frame];
        slot.untouched()
            && self.graph.incoming[slot.node]
                .iter()
                .all(|e| frame.edge_live.contains_key(e))
    }

    fn all_incoming_dead(&self, s: usize) -> bool {
        let slot = &self.slots[s];
        let incoming = &self.graph.incoming[slot.node];
        let frame = &self.frames[slot.frame];
        !incoming.is_empty() && incoming.iter().all(|e| frame.edge_live.get(e) == Some(&false))
    }

    fn blank(&self, s: usize) -> NodeResult {
        let slot = &self.slots[s];
        let node = &self.graph.nodes[slot.node];
        let action_id = match &node.kind {
            NodeKind::Action { action_id, .. } => Some(action_id.as_str()),
            _ => None,
        };
        NodeResult::new(node.id.as_str(), node.kind.type_name(), action_id)
            .in_item(&self.frames[slot.frame].path)
    }

    /// Runs `k` with the template scope of slot `s`'s frame.
    fn in_scope<R>(&self, s: usize, k: &mut dyn FnMut(&Scope<'_>) -> R) -> R {
        let top = Scope::top(
            &self.ctx.trigger,
            &self.ctx.execution_id,
            self.ctx.workflow_id.as_deref(),
            &self.frames[0].outputs,
        );
        with_scope(&self.frames, &self.slots, self.slots[s].frame, &top, k)
    }

    /// Takes slot `s` out of flight, trading its reservation for the
    /// attempts it made; `None` if it was not in flight.
    fn land(&mut self, s: usize, attempts: u32) -> Option<Flight> {
        let flight = self.slots.get_mut(s)?.flight.take()?;
        self.in_flight -= 1;
        self.calls.land(flight.reserved, attempts);
        Some(flight)
    }

    /// Records a result settled in this invocation, for the next batch.
    fn settle(&mut self, s: usize, result: NodeResult) {
        self.record(s, result);
        self.unjournaled.push(s);
    }

    /// Records a result and decides which outgoing edges stay live: all of
    /// them if it succeeded (for a condition or a split, those of the
    /// branch it chose), none otherwise. The last slot of an item frame to
    /// settle finishes the item.
    fn record(&mut self, s: usize, result: NodeResult) {
        let graph = self.graph;
        let slot = &self.slots[s];
        let node = &graph.nodes[slot.node];
        let f = slot.frame;
        let ok = result.status == NodeStatus::Succeeded;
        let out = result.output.as_ref();
        let chosen = match node.kind {
            NodeKind::Condition(_) => out
                .and_then(|o| o.get("result"))
                .and_then(Value::as_bool)
                .map(Branch::Condition),
            NodeKind::Split(_) => out
                .and_then(|o| o.get("variant"))
                .and_then(Value::as_str)
                .map(|h| Branch::Variant(h.to_string())),
            _ => None,
        };
        let frame = &mut self.frames[f];
        for &e in &graph.outgoing[slot.node] {
            let live = ok
                && graph.edges[e]
                    .branch
                    .as_ref()
                    .is_none_or(|b| Some(b) == chosen.as_ref());
            frame.edge_live.insert(e, live);
        }
        if ok {
            if let Some(out) = out {
                frame.outputs.insert(node.id.as_str().to_string(), out.clone());
            }
        } else if result.status == NodeStatus::Failed {
            frame.failed = true;
            if node.on_error == OnError::Stop && self.stop_reason.is_none() {
                self.stop_reason = Some(format!(
                    "stopped after node {:?} failed (onError: stop)",
                    node.id.as_str()
                ));
            }
        }
        let frame = &mut self.frames[f];
        frame.open = frame.open.saturating_sub(1);
        let finished = frame.open == 0;
        self.slots[s].result = Some(result);
        if finished {
            self.item_done(f);
        }
    }
}
