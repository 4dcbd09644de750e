//! Engine limits and defaults, in one place so the API, the docs and the tests agree.

/// Limits enforced by validation and by the scheduler. `Limits::default()`
/// gives the documented production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most nodes in one workflow. Default 200.
    pub max_nodes: usize,
    /// Most edges in one workflow. Default 500.
    pub max_edges: usize,
    /// Largest serialized `nodes` + `edges` JSON, in bytes. Default 512 KiB.
    pub max_document_bytes: usize,
    /// Wall-clock budget of one run, in ms; nodes still running when it
    /// expires fail, nodes not started are skipped. Default 60 000.
    pub max_run_ms: u64,
    /// Largest serialized output of one action, in bytes; a bigger output
    /// fails the node and is not stored. Default 256 KiB.
    pub max_output_bytes: usize,
    /// Most actions in flight at once within a run. Default 6, because a
    /// Worker may hold at most 6 simultaneous open connections.
    pub max_concurrency: usize,
    /// `retry.maxAttempts` when absent. Default 1 (no retry).
    pub default_max_attempts: u32,
    /// Largest accepted `retry.maxAttempts`; more is a validation error. Default 5.
    pub max_attempts_cap: u32,
    /// `retry.backoffMs` when absent. Default 500.
    pub default_backoff_ms: u64,
    /// Largest accepted `retry.backoffMs`, and the ceiling of any single
    /// computed delay; more is a validation error. Default 30 000.
    pub backoff_cap_ms: u64,
    /// `timeoutMs` per attempt when absent. Default 10 000.
    pub default_timeout_ms: u64,
    /// Largest accepted `timeoutMs`; more is a validation error. Default 30 000.
    pub timeout_cap_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_nodes: 200,
            max_edges: 500,
            max_document_bytes: 512 * 1024,
            max_run_ms: 60_000,
            max_output_bytes: 256 * 1024,
            max_concurrency: 6,
            default_max_attempts: 1,
            max_attempts_cap: 5,
            default_backoff_ms: 500,
            backoff_cap_ms: 30_000,
            default_timeout_ms: 10_000,
            timeout_cap_ms: 30_000,
        }
    }
}
