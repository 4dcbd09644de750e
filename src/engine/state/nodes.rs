//! Starting nodes of every kind; delays (when one is over) and loops (what
//! one goes over, and how it moves through its items).

use super::{Command, RunState};
use crate::engine::budget::action_cost;
use crate::engine::condition::kind;
use crate::engine::frame::{step_key, Flight, Frame, LoopRun, Slot};
use crate::engine::graph::{Delay, NodeKind};
use crate::engine::inputs;
use crate::engine::ports::ActionCall;
use crate::engine::result::NodeResult;
use crate::engine::split;
use crate::engine::step::run_condition;
use crate::engine::template::render_within;
use crate::engine::time::{ms_from_rfc3339, rfc3339_from_ms};
use crate::limits::{MAX_DELAY_MS, MAX_LOOP_ITEMS_BYTES};
use serde_json::{json, Map, Value};

impl RunState<'_> {
    /// Starts slot `s`: a trigger, condition or split settles at once, a
    /// delay starts waiting (settled by `step` once its time has come), a loop
    /// starts its items; an action's inputs are rendered and checked, and
    /// it either becomes a `StartAction` or fails on bad inputs without a
    /// call.
    pub(super) fn start(&mut self, s: usize, now: u64) -> Option<Command> {
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
                let handle = split::pick(variants, &key);
                self.settle(s, blank.succeeded(json!({"variant": handle}), 1));
                return None;
            }
            NodeKind::Delay(delay) => {
                match self.delay_end(s, delay, now) {
                    // A time already come settles in this same pass (`step`).
                    Ok(wake) => {
                        self.slots[s].waiting = Some((now, wake));
                        if wake > now {
                            self.starting.push(s);
                        }
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

    /// The `running` step of a slot started in this pass, if it is still going.
    pub(super) fn marker(&self, s: usize) -> Option<NodeResult> {
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

    /// When delay slot `s`, reached at `now`, is over (epoch ms).
    pub(super) fn delay_end(&self, s: usize, delay: &Delay, now: u64) -> Result<u64, String> {
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
    pub(super) fn loop_items(&self, s: usize, items: &Value, max_items: usize) -> Result<Vec<Value>, String> {
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
            other => Err(format!("items must be an array, got {}", kind(&other))),
        }
    }

    /// Moves loop slot `s` on: starts items while fewer than its
    /// concurrency are in progress (and the run has not stopped), and
    /// settles the loop once no item is in progress and none is left (or
    /// the run stopped). Whether anything changed.
    pub(super) fn advance_loop(&mut self, s: usize, now: u64) -> bool {
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
        let empty = members.is_empty();
        self.frames.push(Frame::new(Some(s), path, item, members));
        self.live.push(f);
        // The slot that settles last finishes the item (`record`), journaled
        // ones included; an empty body has no such slot.
        self.restore(f);
        if empty {
            self.item_done(f);
        }
        true
    }

    /// Item frame `f` has settled every slot: its loop learns it.
    pub(super) fn item_done(&mut self, f: usize) {
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
}
