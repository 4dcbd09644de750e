//! Shared test doubles for the engine scenarios: a virtual clock, a scripted
//! action runner, a recording journal and a tiny executor that advances
//! virtual time only when nothing else can make progress.
#![allow(dead_code)]

use edgeflow::engine::{
    execute, validate, ActionCall, ActionError, ActionRunner, Budget, Clock, Graph, Journal, JournalAck,
    Limits, NoJournal, NodeResult, NodeStatus, RunContext, RunReport,
};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Virtual time starts here (2023-11-14T22:13:20Z), so timestamps look real.
pub const T0: u64 = 1_700_000_000_000;

#[derive(Default)]
struct ClockState {
    now: u64,
    next_id: u64,
    sleepers: BTreeMap<u64, (u64, Waker)>,
}

/// A clock whose time moves only when the driver advances it.
#[derive(Clone)]
pub struct FakeClock(Rc<RefCell<ClockState>>);

impl FakeClock {
    pub fn new() -> Self {
        FakeClock(Rc::new(RefCell::new(ClockState {
            now: T0,
            ..Default::default()
        })))
    }

    /// Moves the clock to epoch ms `now` (never back): the time a later
    /// invocation of a run starts at.
    pub fn set(&self, now: u64) {
        let mut st = self.0.borrow_mut();
        st.now = st.now.max(now);
    }

    /// Milliseconds since `T0`.
    pub fn elapsed(&self) -> u64 {
        self.now_ms() - T0
    }

    /// Jumps to the earliest pending sleeper and wakes every sleeper due.
    /// Returns false when nobody sleeps (the run would hang for real).
    fn advance(&self) -> bool {
        let mut st = self.0.borrow_mut();
        let Some(next) = st.sleepers.values().map(|(until, _)| *until).min() else {
            return false;
        };
        st.now = st.now.max(next);
        let now = st.now;
        let due: Vec<u64> = st
            .sleepers
            .iter()
            .filter(|(_, (u, _))| *u <= now)
            .map(|(id, _)| *id)
            .collect();
        let wakers: Vec<Waker> = due
            .iter()
            .filter_map(|id| st.sleepers.remove(id))
            .map(|(_, w)| w)
            .collect();
        drop(st);
        wakers.into_iter().for_each(Waker::wake);
        true
    }
}

pub struct Sleep {
    clock: FakeClock,
    id: u64,
    until: u64,
}

impl Future for Sleep {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = self.clock.0.borrow_mut();
        if st.now >= self.until {
            st.sleepers.remove(&self.id);
            Poll::Ready(())
        } else {
            st.sleepers.insert(self.id, (self.until, cx.waker().clone()));
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.clock.0.borrow_mut().sleepers.remove(&self.id);
    }
}

impl Clock for FakeClock {
    fn now_ms(&self) -> u64 {
        self.0.borrow().now
    }

    fn sleep(&self, ms: u64) -> impl Future<Output = ()> {
        let mut st = self.0.borrow_mut();
        st.next_id += 1;
        Sleep {
            clock: self.clone(),
            id: st.next_id,
            until: st.now.saturating_add(ms),
        }
    }
}

struct Flag(AtomicBool);

impl futures_util::task::ArcWake for Flag {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.0.store(true, Ordering::SeqCst);
    }
}

/// Polls `fut` to completion on one thread, advancing virtual time only
/// when nothing was woken: no real sleeping, and a hang fails loudly.
pub fn drive<F: Future>(clock: &FakeClock, fut: F) -> F::Output {
    let flag = Arc::new(Flag(AtomicBool::new(false)));
    let waker = futures_util::task::waker(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    for _ in 0..100_000 {
        flag.0.store(false, Ordering::SeqCst);
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        if !flag.0.load(Ordering::SeqCst) {
            assert!(clock.advance(), "run stalled: pending with no sleeper to wake");
        }
    }
    panic!("run did not finish within 100000 polls");
}

/// One scripted attempt: wait `delay_ms` of virtual time, then answer.
#[derive(Clone, Debug)]
pub struct Step {
    pub delay_ms: u64,
    pub result: Result<Value, ActionError>,
}

pub fn ok(delay_ms: u64, output: Value) -> Step {
    Step {
        delay_ms,
        result: Ok(output),
    }
}

pub fn retryable(delay_ms: u64, message: &str) -> Step {
    Step {
        delay_ms,
        result: Err(ActionError::Retryable(message.into())),
    }
}

pub fn fatal(delay_ms: u64, message: &str) -> Step {
    Step {
        delay_ms,
        result: Err(ActionError::Fatal(message.into())),
    }
}

/// What the runner saw: one entry per attempt.
#[derive(Clone, Debug)]
pub struct Call {
    pub node_id: String,
    pub action_id: String,
    pub step_key: String,
    pub attempt: u32,
    pub inputs: Value,
    pub timeout_ms: u64,
    /// Virtual ms since `T0` when the attempt started.
    pub at: u64,
}

/// An action runner that follows a per-node script (the last step repeats)
/// and, for unscripted nodes, echoes its call after 100 ms.
pub struct FakeRunner {
    clock: FakeClock,
    scripts: RefCell<HashMap<String, Vec<Step>>>,
    pub calls: RefCell<Vec<Call>>,
    in_flight: Rc<Cell<usize>>,
    max_in_flight: Rc<Cell<usize>>,
}

struct InFlight(Rc<Cell<usize>>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

impl FakeRunner {
    pub fn new(clock: &FakeClock) -> Self {
        FakeRunner {
            clock: clock.clone(),
            scripts: RefCell::default(),
            calls: RefCell::default(),
            in_flight: Rc::default(),
            max_in_flight: Rc::default(),
        }
    }

    pub fn script(self, node_id: &str, steps: Vec<Step>) -> Self {
        self.scripts.borrow_mut().insert(node_id.into(), steps);
        self
    }

    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.get()
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.get()
    }

    pub fn calls_for(&self, node_id: &str) -> Vec<Call> {
        self.calls
            .borrow()
            .iter()
            .filter(|c| c.node_id == node_id)
            .cloned()
            .collect()
    }

    pub fn called_nodes(&self) -> Vec<String> {
        self.calls.borrow().iter().map(|c| c.node_id.clone()).collect()
    }

    fn step(&self, call: &ActionCall) -> Step {
        match self.scripts.borrow().get(&call.node_id) {
            Some(steps) => steps[(call.attempt as usize - 1).min(steps.len() - 1)].clone(),
            None => ok(
                100,
                json!({"node": call.node_id, "attempt": call.attempt, "inputs": call.inputs}),
            ),
        }
    }
}

impl ActionRunner for FakeRunner {
    async fn run(&self, call: ActionCall) -> Result<Value, ActionError> {
        let step = self.step(&call);
        self.calls.borrow_mut().push(Call {
            node_id: call.node_id.clone(),
            action_id: call.action_id.clone(),
            step_key: call.step_key.clone(),
            attempt: call.attempt,
            inputs: call.inputs.clone(),
            timeout_ms: call.timeout_ms,
            at: self.clock.elapsed(),
        });
        self.in_flight.set(self.in_flight.get() + 1);
        self.max_in_flight
            .set(self.max_in_flight.get().max(self.in_flight.get()));
        let _guard = InFlight(self.in_flight.clone());
        if step.delay_ms > 0 {
            self.clock.sleep(step.delay_ms).await;
        }
        step.result
    }
}

/// A fixture document from `tests/fixtures/<name>.json`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Validates a document with default limits, failing the test on any issue.
pub fn graph(doc: &Value) -> Graph {
    graph_with(doc, &Limits::default())
}

pub fn graph_with(doc: &Value, limits: &Limits) -> Graph {
    validate(&doc["nodes"], &doc["edges"], limits)
        .unwrap_or_else(|issues| panic!("invalid fixture: {issues:#?}"))
}

pub const EXECUTION_ID: &str = "0190a7a0-0000-7000-8000-000000000001";

pub fn context(trigger: Value) -> RunContext {
    RunContext {
        execution_id: EXECUTION_ID.into(),
        workflow_id: Some("wf-1".into()),
        trigger,
        journaled: vec![],
    }
}

/// Runs a document on virtual time with default limits.
pub fn run(doc: &Value, trigger: Value, runner: &FakeRunner, clock: &FakeClock) -> RunReport {
    run_with(doc, trigger, runner, clock, &Limits::default())
}

pub fn run_with(
    doc: &Value,
    trigger: Value,
    runner: &FakeRunner,
    clock: &FakeClock,
    limits: &Limits,
) -> RunReport {
    let graph = graph_with(doc, limits);
    invoke(
        &graph,
        &context(trigger),
        runner,
        clock,
        &NoJournal,
        limits,
        &Budget::unlimited(),
    )
}

/// Runs one invocation of a validated graph on virtual time.
pub fn invoke(
    graph: &Graph,
    ctx: &RunContext,
    runner: &FakeRunner,
    clock: &FakeClock,
    journal: &impl Journal,
    limits: &Limits,
    budget: &Budget,
) -> RunReport {
    let report = drive(clock, execute(graph, ctx, runner, clock, journal, limits, budget));
    assert_eq!(runner.in_flight(), 0, "a runner call was left in flight");
    report
}

/// The journal rows `rows` become once `written` (in write order) is
/// recorded: one row per node and item; a settled row never goes back.
pub fn journal_after(mut rows: Vec<NodeResult>, written: Vec<NodeResult>) -> Vec<NodeResult> {
    for r in written {
        match rows
            .iter_mut()
            .find(|x| x.node_id == r.node_id && x.item_path == r.item_path)
        {
            Some(x) if x.status == NodeStatus::Running => *x = r,
            Some(_) => {}
            None => rows.push(r),
        }
    }
    rows
}

/// One write the journal saw.
#[derive(Clone, Debug)]
pub struct Write {
    /// Virtual ms since `T0` when the write started.
    pub at: u64,
    pub batch: Vec<NodeResult>,
    pub ok: bool,
}

/// A journal that records every write on virtual time. It can take
/// `delay_ms` per write, fail the next writes, and answer `cancelled`
/// from a given batch on.
pub struct FakeJournal {
    clock: FakeClock,
    delay_ms: u64,
    fail_next: Cell<u32>,
    cancel_from: Option<usize>,
    pub writes: RefCell<Vec<Write>>,
}

impl FakeJournal {
    pub fn new(clock: &FakeClock) -> Self {
        FakeJournal {
            clock: clock.clone(),
            delay_ms: 0,
            fail_next: Cell::new(0),
            cancel_from: None,
            writes: RefCell::default(),
        }
    }

    /// Every write takes this long.
    pub fn slow(mut self, delay_ms: u64) -> Self {
        self.delay_ms = delay_ms;
        self
    }

    /// The next `n` writes fail.
    pub fn failing(self, n: u32) -> Self {
        self.fail_next.set(n);
        self
    }

    /// Acks say `cancelled` once `n` batches have been recorded (the
    /// `n`-th batch's ack included).
    pub fn cancel_after(mut self, n: usize) -> Self {
        self.cancel_from = Some(n);
        self
    }

    /// The batches recorded, as node ids.
    pub fn batches(&self) -> Vec<Vec<String>> {
        self.writes
            .borrow()
            .iter()
            .filter(|w| w.ok)
            .map(|w| {
                w.batch
                    .iter()
                    .map(|r| match r.status {
                        NodeStatus::Running => format!("{}:running", r.node_id),
                        _ => r.node_id.clone(),
                    })
                    .collect()
            })
            .collect()
    }

    /// The journal as the database holds it after these writes: one row
    /// per node and item, a settled row never taken back by a later
    /// `running` one. What a resumed run starts from.
    pub fn rows(&self) -> Vec<NodeResult> {
        let written = self
            .writes
            .borrow()
            .iter()
            .filter(|w| w.ok)
            .flat_map(|w| w.batch.clone())
            .collect();
        journal_after(Vec::new(), written)
    }

    /// Every result recorded, in write order.
    pub fn recorded(&self) -> Vec<NodeResult> {
        self.writes
            .borrow()
            .iter()
            .filter(|w| w.ok)
            .flat_map(|w| w.batch.clone())
            .filter(|r| r.status != NodeStatus::Running)
            .collect()
    }
}

impl Journal for FakeJournal {
    async fn record(&self, batch: Vec<NodeResult>) -> Result<JournalAck, String> {
        let at = self.clock.elapsed();
        let ok = self.fail_next.get() == 0;
        if !ok {
            self.fail_next.set(self.fail_next.get() - 1);
        }
        self.writes.borrow_mut().push(Write { at, batch, ok });
        if self.delay_ms > 0 {
            self.clock.sleep(self.delay_ms).await;
        }
        if !ok {
            return Err("journal unavailable".into());
        }
        let recorded = self.writes.borrow().iter().filter(|w| w.ok).count();
        Ok(JournalAck {
            cancelled: self.cancel_from.is_some_and(|n| recorded >= n),
        })
    }
}

/// `(nodeId, status)` of every result, in report order.
pub fn statuses(report: &RunReport) -> Vec<(String, String)> {
    report
        .results
        .iter()
        .map(|r| {
            (
                r.node_id.clone(),
                serde_json::to_value(r.status)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

/// Shorthand for expected `statuses`.
pub fn expect(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// A node of the given action with a config, for building documents in tests.
pub fn action(id: &str, action_id: &str, config: Value) -> Value {
    json!({"id": id, "type": "action", "data": {"actionId": action_id, "config": config}})
}

pub fn trigger(id: &str) -> Value {
    json!({"id": id, "type": "trigger", "data": {"triggerType": "manual"}})
}

pub fn edge(id: &str, source: &str, target: &str) -> Value {
    json!({"id": id, "source": source, "target": target})
}

/// A notification action, the simplest valid action.
pub fn notify(id: &str) -> Value {
    action(id, "send_notification", json!({"title": format!("from {id}")}))
}
