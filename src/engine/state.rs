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

use super::budget::{action_cost, Budget, Ledger};
use super::frame::{step_key, with_scope, Flight, Frame, LoopRun, Slot};
use super::graph::{Branch, Delay, Graph, NodeKind, OnError};
use super::inputs;
use super::ports::{ActionCall, JournalAck};
use super::result::{NodeResult, NodeStatus, RunOutcome, RunReport, RunStatus};
use super::retry::RetryPolicy;
use super::run::RunContext;
use super::step::{run_condition, ActionOutcome};
use super::template::{render_within, Scope};
use super::time::{ms_from_rfc3339, rfc3339_from_ms};
use crate::limits::{Limits, MAX_DELAY_MS, MAX_LOOP_ITEMS_BYTES};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// What the driver should do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Run this action: `slot` identifies it in events (for a node outside
    /// loops it is the node index into `Graph::nodes`); `call` is its first
    /// attempt, `retry` says how to try again.
    StartAction {
        node: usize,
        call: ActionCall,
        retry: RetryPolicy,
    },
    /// Record these results, in this order: everything that settled since
    /// the previous batch, then the steps started since (as `running`).
    /// Acknowledge with `Event::JournalAck` or `Event::JournalFailed`.
    Journal(Vec<NodeResult>),
    /// Record that these steps started (`running` steps only, nothing
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
    /// fail and nothing new starts. `attempts` holds, per action in flight,
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

    /// The `running` step of a slot started in this pass, if it is still going.
    fn marker(&self, s: usize) -> Option<NodeResult> {
        let slot = &self.slots[s];
        let (started, output) = match (&slot.flight, &slot.waiting, &slot.looping) {
            (Some(f), _, _) => (f.started_ms, None),
            (_, Some((started, wake)), _) => (*started, Some(json!({"resumeAt": rfc3339_from_ms(*wake)}))),
            (_, _, Some(l)) => (l.started_ms, Some(json!({"total": l.items.len()}))),
            _ => return None,
        };
        let mut marker = self.blank(s).timed(started, started).running();
        marker.output = output;
        Some(marker)
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

    /// Starts slot `s`: a trigger, condition or split settles at once, a
    /// delay starts waiting (or settles if its time has come), a loop
    /// starts its items; an action's inputs are rendered and checked, and
    /// it either becomes a `StartAction` or fails on bad inputs without a
    /// call.
    fn start(&mut self, s: usize, now: u64) -> Option<Command> {
        let graph = self.graph;
        let node = &graph.nodes[self.slots[s].node];
        let blank = self.blank(s).timed(now, now);
        let (action_id, config, retry, timeout_ms) = match &node.kind {
            NodeKind::Trigger(_) => {
                self.settle(s, blank.succeeded(self.ctx.trigger.clone(), 1));
                return None;
            }
            NodeKind::Condition(cond) => {
                let result = match self.in_scope(s, &mut |scope| run_condition(cond, scope)) {
                    Ok(out) => blank.succeeded(out, 1),
                    Err(e) => blank.failed(e, 1),
                };
                self.settle(s, result);
                return None;
            }
            NodeKind::Split(variants) => {
                let path = &self.frames[self.slots[s].frame].path;
                let key = step_key(&self.ctx.execution_id, node.id.as_str(), path);
                let handle = super::split::pick(variants, &key);
                self.settle(s, blank.succeeded(json!({"variant": handle}), 1));
                return None;
            }
            NodeKind::Delay(delay) => {
                match self.delay_end(s, delay, now) {
                    Ok(wake) if wake <= now => {
                        let out = json!({"resumedAt": rfc3339_from_ms(now), "waitedMs": 0});
                        self.settle(s, blank.succeeded(out, 1));
                    }
                    Ok(wake) => {
                        self.slots[s].waiting = Some((now, wake));
                        self.starting.push(s);
                    }
                    Err(e) => self.settle(s, blank.failed(e, 0)),
                }
                return None;
            }
            NodeKind::Loop(spec) => {
                match self.loop_items(s, &spec.items, spec.max_items) {
                    Ok(items) => {
                        self.slots[s].looping = Some(LoopRun {
                            finished: vec![None; items.len()],
                            items,
                            concurrency: spec.concurrency.max(1) as usize,
                            next: 0,
                            active: 0,
                            started_ms: now,
                        });
                        self.starting.push(s);
                    }
                    Err(e) => self.settle(s, blank.failed(e, 0)),
                }
                return None;
            }
            NodeKind::Action {
                action_id,
                config,
                retry,
                timeout_ms,
            } => (action_id, config, retry, *timeout_ms),
        };
        match self.in_scope(s, &mut |scope| inputs::prepare(action_id, config, scope)) {
            Ok(inputs) => {
                let reserved = action_cost(retry);
                self.slots[s].flight = Some(Flight {
                    started_ms: now,
                    reserved,
                });
                self.in_flight += 1;
                self.actions_started += 1;
                self.calls.reserve(reserved);
                self.starting.push(s);
                let node_id = node.id.as_str();
                let path = &self.frames[self.slots[s].frame].path;
                Some(Command::StartAction {
                    node: s,
                    call: ActionCall {
                        node_id: node_id.to_string(),
                        action_id: action_id.clone(),
                        step_key: step_key(&self.ctx.execution_id, node_id, path),
                        inputs,
                        attempt: 1,
                        timeout_ms,
                    },
                    retry: *retry,
                })
            }
            Err(message) => {
                self.settle(s, blank.failed(message, 0));
                None
            }
        }
    }

    /// When delay slot `s`, reached at `now`, is over (epoch ms).
    fn delay_end(&self, s: usize, delay: &Delay, now: u64) -> Result<u64, String> {
        let until = match delay {
            Delay::For(ms) => return Ok(now.saturating_add(*ms)),
            Delay::Until(template) => {
                let mut budget = 1024;
                let value = self
                    .in_scope(s, &mut |scope| render_within(template, scope, None, &mut budget))
                    .map_err(|e| e.to_string())?;
                value
                    .as_str()
                    .map(|t| t.trim().to_string())
                    .ok_or_else(|| format!("until must render to an RFC 3339 time, got {value}"))?
            }
        };
        let wake = ms_from_rfc3339(&until)
            .ok_or_else(|| format!("until {until:?} is not an RFC 3339 time (like 2027-01-31T09:00:00Z)"))?;
        if wake > now.saturating_add(MAX_DELAY_MS) {
            return Err(format!("until {until:?} is more than 365 days ahead"));
        }
        Ok(wake)
    }

    /// The items loop slot `s` goes over.
    fn loop_items(&self, s: usize, items: &Value, max_items: usize) -> Result<Vec<Value>, String> {
        let mut budget = MAX_LOOP_ITEMS_BYTES;
        let value = self
            .in_scope(s, &mut |scope| render_within(items, scope, None, &mut budget))
            .map_err(|e| format!("items: {e}"))?;
        match value {
            Value::Array(items) if items.len() <= max_items => Ok(items),
            Value::Array(items) => Err(format!(
                "items has {} entries, more than maxItems ({max_items})",
                items.len()
            )),
            other => Err(format!("items must be an array, got {}", kind_of(&other))),
        }
    }

    /// Moves loop slot `s` on: starts items while fewer than its
    /// concurrency are in progress (and the run has not stopped), and
    /// settles the loop once no item is in progress and none is left (or
    /// the run stopped). Whether anything changed.
    fn advance_loop(&mut self, s: usize, now: u64) -> bool {
        let stopped = self.stop_reason.is_some();
        let run = self.slots[s].looping.as_mut().expect("a looping slot");
        if run.active == 0 && (run.next == run.items.len() || stopped) {
            let run = self.slots[s].looping.take().expect("a looping slot");
            let timed = self.blank(s).timed(run.started_ms, now);
            let result = if run.done() == run.items.len() {
                timed.succeeded(run.output(), 1)
            } else {
                let mut cut = timed.failed(
                    format!(
                        "the run stopped after {} of {} items",
                        run.done(),
                        run.items.len()
                    ),
                    1,
                );
                cut.output = Some(run.output());
                cut
            };
            self.settle(s, result);
            return true;
        }
        if stopped || run.active >= run.concurrency || run.next >= run.items.len() {
            return false;
        }
        let index = run.next;
        run.next += 1;
        run.active += 1;
        let item = run.items[index].clone();
        let loop_node = self.slots[s].node;
        let mut path = self.frames[self.slots[s].frame].path.clone();
        path.push(index as u32);
        let f = self.frames.len();
        let members: Vec<usize> = self.graph.body[loop_node]
            .iter()
            .map(|&node| {
                self.slots.push(Slot::new(node, f));
                self.slots.len() - 1
            })
            .collect();
        self.frames.push(Frame::new(Some(s), path, item, members));
        self.live.push(f);
        self.restore(f);
        if self.frames[f].open == 0 {
            self.item_done(f);
        }
        true
    }

    /// Item frame `f` has settled every slot: its loop learns it.
    fn item_done(&mut self, f: usize) {
        let frame = &mut self.frames[f];
        let Some(loop_slot) = frame.parent else { return };
        let index = frame.path.last().copied().unwrap_or(0) as usize;
        let outputs: Map<String, Value> = std::mem::take(&mut frame.outputs).into_iter().collect();
        let failed = frame.failed;
        if let Some(run) = self.slots[loop_slot].looping.as_mut() {
            run.finished[index] = Some((outputs, failed));
            run.active = run.active.saturating_sub(1);
        }
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

    fn report(&mut self, now: u64) -> RunReport {
        let graph = self.graph;
        let mut position = vec![0; graph.nodes.len()];
        for (k, &i) in graph.order.iter().enumerate() {
            position[i] = k;
        }
        // Top-level nodes in order; each loop's item steps right after it.
        let outermost = |mut node: usize| {
            while let Some(p) = graph.nodes[node].parent {
                node = p;
            }
            position[node]
        };
        let mut keyed: Vec<(ReportKey, NodeResult)> = Vec::new();
        for slot in &mut self.slots {
            if let Some(result) = slot.result.take() {
                let path = result.item_path.clone();
                keyed.push(((outermost(slot.node), path, position[slot.node]), result));
            }
        }
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        let results: Vec<NodeResult> = keyed.into_iter().map(|(_, r)| r).collect();
        let waits = self.slots.iter().filter_map(|s| s.waiting.map(|(_, wake)| wake));
        let resume_at_ms = waits.min();
        let outcome = if self.cancelled {
            RunOutcome::Cancelled
        } else if self.frames[0].open == 0 {
            RunOutcome::Finished
        } else if resume_at_ms.is_some() && !self.held_back {
            RunOutcome::Waiting
        } else {
            RunOutcome::Yielded
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
            resume_at_ms: (outcome == RunOutcome::Waiting).then_some(resume_at_ms).flatten(),
        }
    }
}

/// Where a result goes in a report: its outermost node's position, its
/// item path, its own position.
type ReportKey = (usize, Vec<u32>, usize);

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
