//! The validated workflow graph: the only form of a workflow the scheduler accepts.

use super::condition::Op;
use super::retry::RetryPolicy;
use serde_json::Value;
use std::fmt;

/// A node id as written in the document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(String);

impl NodeId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The events that can start a workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TriggerType {
    FormSubmit,
    ContactUpdate,
    DealWon,
    Manual,
}

impl TriggerType {
    pub const NAMES: &'static [&'static str] = &["form_submit", "contact_update", "deal_won", "manual"];

    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "form_submit" => Self::FormSubmit,
            "contact_update" => Self::ContactUpdate,
            "deal_won" => Self::DealWon,
            "manual" => Self::Manual,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// What a node does when it fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnError {
    /// Record the failure, skip its dependents, let other branches go on.
    #[default]
    Continue,
    /// End the run: nodes not yet started are skipped; nodes already in
    /// flight are allowed to finish and are recorded.
    Stop,
}

/// A condition node's comparison; `left` and `right` may hold templates.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub left: Value,
    pub op: Op,
    pub right: Value,
}

/// A trigger node's settings, from `data.triggerType` and `data.config`.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub trigger_type: TriggerType,
    /// `data.config.filter`: the workflow starts only for events and form
    /// posts it holds for. Its templates read `trigger` only.
    pub filter: Option<Condition>,
    /// `data.config.redirectUrl` of a `form_submit` trigger: an absolute
    /// http(s) URL the browser is sent to after posting the form.
    pub redirect_url: Option<String>,
}

/// How long a `delay` node waits: `data.delay`.
#[derive(Debug, Clone, PartialEq)]
pub enum Delay {
    /// `{"ms": n}`: this long after the node is reached.
    For(u64),
    /// `{"until": "..."}`: an RFC 3339 time, or templates that render to one.
    Until(Value),
}

/// A `loop` node's settings: `data.loop`.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopSpec {
    /// A template (or a literal array) of the items to go over.
    pub items: Value,
    /// Items in progress at once.
    pub concurrency: u32,
    /// More items than this fail the node.
    pub max_items: usize,
}

/// One branch of a `split` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variant {
    pub handle: String,
    pub weight: u64,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Trigger(Trigger),
    Action {
        action_id: String,
        /// `data.config`, templates not yet rendered.
        config: Value,
        retry: RetryPolicy,
        timeout_ms: u64,
    },
    Condition(Condition),
    Delay(Delay),
    Loop(LoopSpec),
    Split(Vec<Variant>),
}

impl NodeKind {
    /// The `type` of the node in documents and results.
    pub fn type_name(&self) -> &'static str {
        match self {
            NodeKind::Trigger(_) => "trigger",
            NodeKind::Action { .. } => "action",
            NodeKind::Condition(_) => "condition",
            NodeKind::Delay(_) => "delay",
            NodeKind::Loop(_) => "loop",
            NodeKind::Split(_) => "split",
        }
    }
}

/// One validated node.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub id: NodeId,
    pub kind: NodeKind,
    pub on_error: OnError,
    /// The loop whose body this node is in (`parentId`), by node index.
    pub parent: Option<usize>,
}

/// Which outcome of its source an edge follows: its `sourceHandle`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Branch {
    /// Leaving a condition: `true` or `false`.
    Condition(bool),
    /// Leaving a split: the variant's handle.
    Variant(String),
}

/// One validated edge, by node index. `branch` is set on edges leaving a
/// condition or a split, `None` elsewhere (such edges always follow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edge {
    pub id: String,
    pub source: usize,
    pub target: usize,
    pub branch: Option<Branch>,
}

/// A workflow that passed full validation: exactly one trigger, acyclic,
/// every node reachable, every `nodes.<id>` template naming a node that runs
/// on every path to the template's own node.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Nodes in document order.
    pub(crate) nodes: Vec<Node>,
    pub(crate) edges: Vec<Edge>,
    /// Edge indexes entering / leaving each node.
    pub(crate) incoming: Vec<Vec<usize>>,
    pub(crate) outgoing: Vec<Vec<usize>>,
    /// A topological order, document order among peers; a loop's body
    /// comes after the loop.
    pub(crate) order: Vec<usize>,
    pub(crate) trigger: usize,
    /// Per node: the nodes of its body if it is a loop (in `order`), else
    /// empty. `top` holds the nodes outside every loop, in `order`.
    pub(crate) body: Vec<Vec<usize>>,
    pub(crate) top: Vec<usize>,
}

impl Graph {
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    pub fn edges(&self) -> &[Edge] {
        &self.edges
    }

    /// Node indexes in the stable topological order results are listed in.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The trigger node.
    pub fn trigger(&self) -> &Node {
        &self.nodes[self.trigger]
    }

    /// The trigger node's settings.
    pub fn trigger_settings(&self) -> &Trigger {
        match &self.trigger().kind {
            NodeKind::Trigger(t) => t,
            _ => unreachable!("validated graph: trigger index points at the trigger"),
        }
    }

    /// The workflow's trigger type.
    pub fn trigger_type(&self) -> TriggerType {
        self.trigger_settings().trigger_type
    }

    /// The trigger's filter, if it has one (see [`crate::engine::trigger_passes`]).
    pub fn trigger_filter(&self) -> Option<&Condition> {
        self.trigger_settings().filter.as_ref()
    }

    /// Where a `form_submit` trigger sends the browser after a post, if set.
    pub fn redirect_url(&self) -> Option<&str> {
        self.trigger_settings().redirect_url.as_deref()
    }

    pub fn node(&self, id: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.id.as_str() == id)
    }
}
