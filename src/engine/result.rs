//! What a run reports: one result per node and the run's overall outcome.

use super::time::rfc3339_from_ms;
use serde::Serialize;
use serde_json::Value;

/// How a node ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeStatus {
    Succeeded,
    Failed,
    /// Never started: every incoming edge was dead, or the run stopped first.
    Skipped,
    /// Started and not settled yet: only in journal rows and live step
    /// events, never in a report; a resumed run ignores such rows.
    Running,
}

/// One node's step result, serialized as contract section 6 `NodeResult`:
/// `{nodeId, type, actionId?, status, success, output?, error?, attempts,
/// startedAt, durationMs}`. `attempts` counts runner calls for actions (0
/// when inputs failed before any call) and is 1 for evaluated triggers and
/// conditions; `startedAt` is null for skipped nodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeResult {
    pub node_id: String,
    #[serde(rename = "type")]
    pub node_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<String>,
    pub status: NodeStatus,
    pub success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub attempts: u32,
    pub started_at: Option<String>,
    pub duration_ms: u64,
    /// `startedAt` as epoch ms, for callers that compute with it.
    #[serde(skip)]
    pub started_at_ms: Option<u64>,
    /// Inside a loop body: the item this step ran for (`{{loop.index}}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_index: Option<u32>,
    /// Inside a loop body: the item indexes from the outermost loop in
    /// (one entry, or two in a nested loop).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub item_path: Vec<u32>,
}

impl NodeResult {
    pub(crate) fn new(node_id: &str, node_type: &str, action_id: Option<&str>) -> Self {
        Self {
            node_id: node_id.to_string(),
            node_type: node_type.to_string(),
            action_id: action_id.map(str::to_string),
            status: NodeStatus::Skipped,
            success: false,
            output: None,
            error: None,
            attempts: 0,
            started_at: None,
            duration_ms: 0,
            started_at_ms: None,
            item_index: None,
            item_path: Vec::new(),
        }
    }

    /// The same step, for the loop item at `path` (nothing if `path` is empty).
    pub(crate) fn in_item(mut self, path: &[u32]) -> Self {
        self.item_index = path.last().copied();
        self.item_path = path.to_vec();
        self
    }

    pub(crate) fn timed(mut self, started_ms: u64, ended_ms: u64) -> Self {
        self.started_at = Some(rfc3339_from_ms(started_ms));
        self.started_at_ms = Some(started_ms);
        self.duration_ms = ended_ms.saturating_sub(started_ms);
        self
    }

    pub(crate) fn succeeded(mut self, output: Value, attempts: u32) -> Self {
        self.status = NodeStatus::Succeeded;
        self.success = true;
        self.output = Some(output);
        self.attempts = attempts;
        self
    }

    /// A step that has started and not settled yet (a journal row only).
    pub(crate) fn running(mut self) -> Self {
        self.status = NodeStatus::Running;
        self.success = false;
        self
    }

    pub(crate) fn failed(mut self, error: impl Into<String>, attempts: u32) -> Self {
        self.status = NodeStatus::Failed;
        self.success = false;
        self.error = Some(error.into());
        self.attempts = attempts;
        self
    }
}

/// The run's overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Succeeded,
    Failed,
}

/// How an invocation of a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every node settled (or was skipped because the run stopped).
    Finished,
    /// The invocation's budget ran out first: `results` holds the settled
    /// nodes only, and a later invocation continues from them.
    Yielded,
    /// The run was cancelled: nothing new started, nodes not started are
    /// skipped, `stop_reason` is `"cancelled"` unless the run had already
    /// stopped for another reason.
    Cancelled,
    /// Nothing can go on before a `delay` is over: `resume_at_ms` says
    /// when; a later invocation continues from the results so far.
    Waiting,
}

/// Everything one invocation of a run produced.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    /// `succeeded` when no node failed and the run was not stopped early,
    /// else `failed`; provisional for a yielded run.
    pub status: RunStatus,
    pub outcome: RunOutcome,
    /// `status == succeeded`.
    pub success: bool,
    /// Number of failed nodes.
    pub error_count: u32,
    /// One result per node (per settled node for a yielded run), in the
    /// graph's stable topological order; journaled results included.
    pub results: Vec<NodeResult>,
    pub started_at_ms: u64,
    pub duration_ms: u64,
    /// The run ended before every node could be considered (`onError: stop`,
    /// the run deadline or a cancel); `stop_reason` says why.
    pub stopped_early: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
    /// Journal batches lost: their write failed, and so did its one retry.
    pub journal_failures: u32,
    /// For a waiting run: when its earliest delay is over (epoch ms).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_at_ms: Option<u64>,
}

impl RunReport {
    /// The result of one node.
    pub fn result(&self, node_id: &str) -> Option<&NodeResult> {
        self.results.iter().find(|r| r.node_id == node_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_as_the_contract_node_result() {
        let ok = NodeResult::new("a-1", "action", Some("ai_score"))
            .timed(1_000, 1_250)
            .succeeded(json!({"score": 5}), 2);
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"nodeId": "a-1", "type": "action", "actionId": "ai_score", "status": "succeeded",
                   "success": true, "output": {"score": 5}, "attempts": 2,
                   "startedAt": "1970-01-01T00:00:01.000Z", "durationMs": 250})
        );
        let skipped = NodeResult::new("c", "condition", None);
        assert_eq!(
            serde_json::to_value(&skipped).unwrap(),
            json!({"nodeId": "c", "type": "condition", "status": "skipped", "success": false,
                   "attempts": 0, "startedAt": null, "durationMs": 0})
        );
    }
}
