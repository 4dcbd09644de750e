//! The engine's only doors to the outside world: running an action, telling
//! time and journaling settled results.
//!
//! Worker futures are not `Send`, so no trait here asks for it.

use super::result::NodeResult;
use serde_json::Value;
use std::fmt;
use std::future::Future;

/// One call of an action, with its inputs already rendered and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionCall {
    pub node_id: String,
    pub action_id: String,
    /// `<execution_id>:<node_id>`: the same for every attempt and every
    /// invocation of one step, so executors can make the side effect
    /// exactly-once (sent as `Idempotency-Key`, or `webhook-id`).
    pub step_key: String,
    /// The node's `data.config` with every template rendered.
    pub inputs: Value,
    /// 1 for the first call, 2 for the first retry, ...
    pub attempt: u32,
    /// The engine abandons the call after this long; executors may pass it on
    /// to their own HTTP timeouts.
    pub timeout_ms: u64,
}

/// Why an action failed, grouped by what the engine should do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionError {
    /// Worth trying again: network error, 5xx, 429, timeout.
    Retryable(String),
    /// Trying again cannot help: 4xx, bad input, refused target.
    Fatal(String),
}

impl ActionError {
    pub fn message(&self) -> &str {
        match self {
            ActionError::Retryable(m) | ActionError::Fatal(m) => m,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, ActionError::Retryable(_))
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for ActionError {}

/// Performs actions. The platform layer implements it with HTTP and
/// PostgREST; tests implement it with scripts.
#[allow(async_fn_in_trait)]
pub trait ActionRunner {
    /// Runs one attempt of one action and returns its output.
    async fn run(&self, call: ActionCall) -> Result<Value, ActionError>;
}

/// Time as the engine sees it, so tests can run on virtual time.
pub trait Clock {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Completes after `ms` milliseconds; dropping it cancels the wait.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;
}

/// What a journal write learned: whether the run was cancelled meanwhile.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JournalAck {
    pub cancelled: bool,
}

/// Where settled results go as the run progresses (the platform writes them to Postgres).
#[allow(async_fn_in_trait)]
pub trait Journal {
    /// Records one batch: every result that settled in one scheduling pass, in order.
    async fn record(&self, batch: Vec<NodeResult>) -> Result<JournalAck, String>;
}

/// Keeps nothing; never cancelled (unsaved runs, tests, benchmarks).
pub struct NoJournal;

impl Journal for NoJournal {
    async fn record(&self, _batch: Vec<NodeResult>) -> Result<JournalAck, String> {
        Ok(JournalAck::default())
    }
}
