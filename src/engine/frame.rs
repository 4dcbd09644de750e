//! Where a node runs: slots and frames, the bookkeeping behind loops.
//!
//! A *frame* is one instance of a set of nodes that run together: the top
//! frame holds every node outside a loop; each item of a loop gets a frame
//! of its own holding the loop's body. A *slot* is one node in one frame,
//! and is what the scheduler starts, journals and reports. Slot `i` of the
//! top frame is node `i`, so outside loops a slot is a node index; the
//! slots of loop items come after those.
//!
//! A frame sees its own outputs, then its enclosing frames' (so a body node
//! reads outer nodes upstream of its loop), plus its item and index as
//! `{{loop.item}}` and `{{loop.index}}`.

use super::result::NodeResult;
use super::template::Scope;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// An action or delay in progress in a slot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Flight {
    pub started_ms: u64,
    /// Calls promised to an action: its attempts and the batch of its result.
    pub reserved: u32,
}

/// A loop in progress: its items and how far it got.
#[derive(Debug, Clone)]
pub(crate) struct LoopRun {
    pub items: Vec<Value>,
    pub concurrency: usize,
    /// The next item to start.
    pub next: usize,
    /// Items started and not finished.
    pub active: usize,
    /// Per item, once finished: its body's outputs by node id, and whether
    /// any of its steps failed.
    pub finished: Vec<Option<(Map<String, Value>, bool)>>,
    pub started_ms: u64,
}

impl LoopRun {
    pub fn done(&self) -> usize {
        self.finished.iter().filter(|f| f.is_some()).count()
    }

    /// The loop's output: `{count, failed, items: [{<body node id>: output}]}`
    /// over the items finished so far.
    pub fn output(&self) -> Value {
        let items: Vec<Value> = self
            .finished
            .iter()
            .flatten()
            .map(|(outputs, _)| Value::Object(outputs.clone()))
            .collect();
        let failed = self.finished.iter().flatten().filter(|(_, f)| *f).count();
        serde_json::json!({"count": items.len(), "failed": failed, "items": items})
    }
}

/// One node in one frame.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub node: usize,
    pub frame: usize,
    pub result: Option<NodeResult>,
    /// An action in flight.
    pub flight: Option<Flight>,
    /// A delay being waited out: when it started and when it is over.
    pub waiting: Option<(u64, u64)>,
    /// A loop going over its items.
    pub looping: Option<LoopRun>,
}

impl Slot {
    pub fn new(node: usize, frame: usize) -> Self {
        Slot {
            node,
            frame,
            result: None,
            flight: None,
            waiting: None,
            looping: None,
        }
    }

    /// Neither settled nor started.
    pub fn untouched(&self) -> bool {
        self.result.is_none() && self.flight.is_none() && self.waiting.is_none() && self.looping.is_none()
    }
}

/// One instance of a set of nodes: the top level, or one loop item.
#[derive(Debug, Clone)]
pub(crate) struct Frame {
    /// The loop slot this frame is an item of; `None` for the top frame.
    pub parent: Option<usize>,
    /// Item indexes from the outermost loop in: empty for the top frame.
    pub path: Vec<u32>,
    pub item: Value,
    /// The frame's slots, in topological order.
    pub slots: Vec<usize>,
    /// Per edge among the frame's nodes, once its source settled: live?
    pub edge_live: HashMap<usize, bool>,
    /// Outputs of the frame's nodes that succeeded, by node id.
    pub outputs: HashMap<String, Value>,
    /// Slots not settled yet.
    pub open: usize,
    /// Whether a step of this frame failed.
    pub failed: bool,
}

impl Frame {
    pub fn new(parent: Option<usize>, path: Vec<u32>, item: Value, slots: Vec<usize>) -> Self {
        let open = slots.len();
        Frame {
            parent,
            path,
            item,
            slots,
            edge_live: HashMap::new(),
            outputs: HashMap::new(),
            open,
            failed: false,
        }
    }
}

/// What templates of the nodes of one frame see, built from the frame
/// outwards and handed to `k`.
pub(crate) fn with_scope<R>(
    frames: &[Frame],
    slots: &[Slot],
    frame: usize,
    top: &Scope<'_>,
    k: &mut dyn FnMut(&Scope<'_>) -> R,
) -> R {
    let fr = &frames[frame];
    match fr.parent {
        None => k(&Scope {
            outputs: &fr.outputs,
            ..*top
        }),
        Some(loop_slot) => with_scope(frames, slots, slots[loop_slot].frame, top, &mut |outer| {
            let index = u64::from(fr.path.last().copied().unwrap_or(0));
            k(&Scope {
                outputs: &fr.outputs,
                item: Some((&fr.item, index)),
                outer: Some(outer),
                ..*outer
            })
        }),
    }
}

/// The step key of a node in a frame: `<execution>:<node>`, plus the item
/// path (`:3`, or `:3.1` in a nested loop) inside a loop.
pub(crate) fn step_key(execution_id: &str, node_id: &str, path: &[u32]) -> String {
    if path.is_empty() {
        return format!("{execution_id}:{node_id}");
    }
    let path: Vec<String> = path.iter().map(u32::to_string).collect();
    format!("{execution_id}:{node_id}:{}", path.join("."))
}
