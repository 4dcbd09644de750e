//! The workflow engine: pure validation, templating and scheduling.
//!
//! Layout: a raw document (`serde_json::Value` nodes and edges) is checked by
//! [`check_structure`] at save time and turned into a [`Graph`] by
//! [`validate`]. [`RunState`] schedules a `Graph` as a pure state machine
//! (events in, commands out); [`execute`] drives it through three small
//! ports, [`ActionRunner`], [`Clock`] and [`Journal`], which the platform
//! layer implements. [`trigger_passes`] decides whether an event or a form
//! post starts a run at all. Nothing here touches the network, storage or
//! the `worker` crate, so all of it runs and is tested natively.

pub mod budget;
pub mod condition;
mod filter;
mod frame;
pub mod graph;
pub mod inputs;
pub mod issue;
mod node_def;
pub mod ports;
pub mod result;
pub mod retry;
pub mod run;
mod split;
pub mod state;
mod step;
mod structure;
pub mod template;
pub mod time;
mod topo;
pub mod validate;

pub use crate::limits::Limits;
pub use budget::{Budget, JOURNAL_BATCH_CALLS};
pub use filter::trigger_passes;
pub use graph::{
    Branch, Condition, Delay, Graph, LoopSpec, Node, NodeId, NodeKind, OnError, Trigger, TriggerType, Variant,
};
pub use issue::ValidationIssue;
pub use ports::{ActionCall, ActionError, ActionRunner, Clock, Journal, JournalAck, NoJournal};
pub use result::{NodeResult, NodeStatus, RunOutcome, RunReport, RunStatus};
pub use retry::RetryPolicy;
pub use run::{execute, RunContext};
pub use state::{Command, Event, RunState};
pub use step::ActionOutcome;
pub use structure::check_structure;
pub use validate::validate;
