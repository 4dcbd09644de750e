//! The state machine's interface: the commands it gives and the events it takes.

use crate::engine::ports::{ActionCall, JournalAck};
use crate::engine::result::{NodeResult, RunReport};
use crate::engine::retry::RetryPolicy;
use crate::engine::step::ActionOutcome;

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
