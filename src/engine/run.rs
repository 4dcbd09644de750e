//! The async driver: runs a [`RunState`]'s commands against the ports.
//!
//! Actions run concurrently (retries and timeouts in `run_action`);
//! journal batches are written concurrently with them, so a slow write never
//! holds back the next action. Both are polled in one wait together with the
//! run deadline, and every answer goes back to the state as an [`Event`].
//! The report is returned once every journal write has completed.

use super::budget::Budget;
use super::graph::Graph;
use super::ports::{ActionRunner, Clock, Journal, JournalAck};
use super::result::{NodeResult, RunReport};
use super::state::{Command, Event, RunState};
use super::step::{run_action, ActionJob, ActionOutcome};
use crate::limits::Limits;
use futures_util::future::{poll_fn, LocalBoxFuture};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use serde_json::Value;
use std::cell::Cell;
use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

/// Who and what a run is for.
#[derive(Debug, Clone, PartialEq)]
pub struct RunContext {
    pub execution_id: String,
    /// `None` for an unsaved test run; `{{workflow.id}}` then renders null.
    pub workflow_id: Option<String>,
    /// The trigger data, also the trigger node's output.
    pub trigger: Value,
    /// Results settled by earlier invocations of this run (from the
    /// journal); their nodes never run again. Empty for a new run.
    pub journaled: Vec<NodeResult>,
}

/// What woke the driver.
enum Wake {
    Action(usize, ActionOutcome),
    Journal(Event),
    Deadline,
}

/// Runs one invocation of the graph. Never fails as a whole: every problem
/// ends up in a node result or in `journal_failures`, and the report says
/// whether the run finished, yielded or was cancelled.
pub async fn execute<R: ActionRunner, C: Clock, J: Journal>(
    graph: &Graph,
    ctx: &RunContext,
    runner: &R,
    clock: &C,
    journal: &J,
    limits: &Limits,
    budget: &Budget,
) -> RunReport {
    let mut state = RunState::new(graph, ctx, limits, *budget, clock.now_ms());
    // Per action in flight (by slot): attempts started so far.
    let mut attempts_seen: HashMap<usize, Rc<Cell<u32>>> = HashMap::new();
    let mut actions: FuturesUnordered<LocalBoxFuture<'_, (usize, ActionOutcome)>> = FuturesUnordered::new();
    let mut writes: FuturesUnordered<LocalBoxFuture<'_, Event>> = FuturesUnordered::new();
    let mut deadline = pin!(clock.sleep(limits.max_run_ms));
    let mut deadline_passed = false;
    loop {
        for command in state.next(clock.now_ms()) {
            match command {
                Command::StartAction { node, call, retry } => {
                    let seen = Rc::new(Cell::new(0));
                    attempts_seen.insert(node, seen.clone());
                    let job = ActionJob {
                        call,
                        retry,
                        execution_id: &ctx.execution_id,
                        max_output_bytes: limits.max_output_bytes,
                        attempts_seen: seen,
                    };
                    actions.push(
                        run_action(job, runner, clock)
                            .map(move |o| (node, o))
                            .boxed_local(),
                    );
                }
                Command::Journal(batch) => {
                    writes.push(record_with_retry(journal, batch).map(acknowledged).boxed_local())
                }
                Command::JournalStarts(batch) => writes.push(
                    journal
                        .record(batch)
                        .map(|r| Event::StartsJournaled(r.ok()))
                        .boxed_local(),
                ),
                Command::Done(report) => return report,
            }
        }
        assert!(
            !actions.is_empty() || !writes.is_empty(),
            "RunState is done once nothing is in flight"
        );
        let wake = poll_fn(|cx| {
            if !actions.is_empty() {
                if let Poll::Ready(Some((node, outcome))) = actions.poll_next_unpin(cx) {
                    return Poll::Ready(Wake::Action(node, outcome));
                }
            }
            if !writes.is_empty() {
                if let Poll::Ready(Some(written)) = writes.poll_next_unpin(cx) {
                    return Poll::Ready(Wake::Journal(written));
                }
            }
            // The deadline cuts actions, never journal writes.
            if !actions.is_empty() && !deadline_passed && deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Wake::Deadline);
            }
            Poll::Pending
        })
        .await;
        match wake {
            Wake::Action(node, outcome) => {
                attempts_seen.remove(&node);
                state.on(finished(node, outcome, clock))
            }
            Wake::Journal(written) => state.on(written),
            Wake::Deadline => {
                deadline_passed = true;
                let attempts = state
                    .in_flight()
                    .map(|i| (i, attempts_seen.get(&i).map_or(1, |c| c.get())))
                    .collect();
                state.on(Event::Deadline {
                    now: clock.now_ms(),
                    attempts,
                });
                actions.clear();
            }
        }
        // Take in every other answer that is in by now before starting
        // anything, so a stop or cancel among them holds for all.
        while let Some(Some((node, outcome))) = actions.next().now_or_never() {
            attempts_seen.remove(&node);
            state.on(finished(node, outcome, clock));
        }
        while let Some(Some(written)) = writes.next().now_or_never() {
            state.on(written);
        }
    }
}

fn finished<C: Clock>(node: usize, outcome: ActionOutcome, clock: &C) -> Event {
    Event::ActionFinished {
        node,
        outcome,
        now: clock.now_ms(),
    }
}

fn acknowledged(written: Result<JournalAck, String>) -> Event {
    match written {
        Ok(ack) => Event::JournalAck(ack),
        Err(_) => Event::JournalFailed,
    }
}

/// Writes one batch, trying once more if the first write fails.
async fn record_with_retry<J: Journal>(journal: &J, batch: Vec<NodeResult>) -> Result<JournalAck, String> {
    match journal.record(batch.clone()).await {
        Ok(ack) => Ok(ack),
        Err(_) => journal.record(batch).await,
    }
}
