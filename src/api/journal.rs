//! The step journal (`workflow_step_runs`) as the engine and the API see
//! it: the engine's `Journal` port written through `journal_steps()` as the
//! run's owner, one row per step (`running` when it starts, then its
//! settled result), and the rows read back: as the results a resumed run
//! starts from, as the progress of a run, and by `seq` for the live stream.
//!
//! `seq` is drawn anew each time `journal_steps()` writes a row, and the
//! writes of one run are serialized by a lock on the run, so within a run
//! seq order is commit order: a reader that has seen seq `n` finds every
//! later change of the run above `n`.

use serde_json::{json, Value};

use super::Platform;
use crate::actions::redact::Redactor;
use crate::engine::time::{ms_from_rfc3339, rfc3339_from_ms};
use crate::engine::{Journal, JournalAck, NodeResult, NodeStatus};
use crate::error::ApiError;
use crate::limits::MAX_LOOP_ITEMS;
use crate::rest::{self, RestClient};

const STEPS: &str = "workflow_step_runs";

/// The engine's journal: every batch (steps settled, steps started) goes
/// to `journal_steps()` as the owner in one call, which also renews the
/// lease and answers whether the run was cancelled meanwhile.
pub(super) struct PgJournal<'a, P> {
    pub db: &'a RestClient,
    pub p: &'a P,
    pub execution_id: &'a str,
    pub lease_ms: u64,
    pub redactor: &'a Redactor,
}

impl<P: Platform> Journal for PgJournal<'_, P> {
    async fn record(&self, batch: Vec<NodeResult>) -> Result<JournalAck, String> {
        let steps: Vec<Value> = batch.iter().map(|r| step_row(r, self.redactor)).collect();
        let params =
            json!({"p_execution_id": self.execution_id, "p_steps": steps, "p_lease_ms": self.lease_ms});
        let resp = rest::send(self.p, self.db.rpc("journal_steps", &params))
            .await
            .map_err(|e| e.to_string())?;
        let row = rest::one_row(&resp)
            .map_err(|e| e.log_line())?
            .ok_or("the run is gone or not the owner's")?;
        Ok(JournalAck {
            cancelled: row["status"] == "cancelled",
        })
    }
}

/// A step as journaled: its `NodeResult` (the trigger's output redacted like
/// every stored value) plus the columns queries use.
fn step_row(r: &NodeResult, redactor: &Redactor) -> Value {
    let mut result = serde_json::to_value(r).unwrap_or(Value::Null);
    if r.node_type == "trigger" {
        if let Some(output) = result.get_mut("output") {
            *output = redactor.value(output);
        }
    }
    let finished = match r.status {
        NodeStatus::Running => None,
        _ => r.started_at_ms.map(|s| rfc3339_from_ms(s + r.duration_ms)),
    };
    json!({
        "node_id": r.node_id,
        "item_index": item_index(&r.item_path),
        "status": r.status,
        "attempts": r.attempts,
        "output": result.get("output"),
        "error": r.error,
        "started_at": r.started_at,
        "finished_at": finished,
        "result": result,
    })
}

/// The journal's `item_index` of a step at item `path`: -1 outside loops,
/// the item's index in a loop, `outer * MAX_LOOP_ITEMS + inner` in a loop
/// inside a loop (unique per node, since a node is always as deep).
pub fn item_index(path: &[u32]) -> i64 {
    match path {
        [] => -1,
        _ => path
            .iter()
            .fold(0i64, |acc, &i| acc * MAX_LOOP_ITEMS as i64 + i64::from(i)),
    }
}

/// A journaled step as a resumed run reads it: settled steps, and
/// `running` ones too (a waiting delay keeps the end time it journaled;
/// the engine runs any other `running` step again).
pub fn journaled_step(step: &Value) -> Option<NodeResult> {
    let r = &step["result"];
    let status = match r["status"].as_str()? {
        "succeeded" => NodeStatus::Succeeded,
        "failed" => NodeStatus::Failed,
        "skipped" => NodeStatus::Skipped,
        "running" => NodeStatus::Running,
        _ => return None,
    };
    let item_path: Vec<u32> = r["itemPath"]
        .as_array()
        .map(|p| p.iter().filter_map(|i| i.as_u64().map(|i| i as u32)).collect())
        .unwrap_or_default();
    let started_at = r["startedAt"].as_str().map(str::to_string);
    Some(NodeResult {
        node_id: r["nodeId"].as_str()?.to_string(),
        node_type: r["type"].as_str()?.to_string(),
        action_id: r["actionId"].as_str().map(str::to_string),
        status,
        success: status == NodeStatus::Succeeded,
        output: r.get("output").filter(|o| !o.is_null()).cloned(),
        error: r["error"].as_str().map(str::to_string),
        attempts: r["attempts"].as_u64().unwrap_or(0) as u32,
        started_at_ms: started_at.as_deref().and_then(ms_from_rfc3339),
        started_at,
        duration_ms: r["durationMs"].as_u64().unwrap_or(0),
        item_index: item_path.last().copied(),
        item_path,
    })
}

/// The journal rows of a run (`seq`, `node_id`, `status`, `result`), each
/// in its current state, in the order they were last written (`seq`): a
/// settled step where it settled, a step in flight where it started.
pub async fn steps<P: Platform>(db: &RestClient, p: &P, execution_id: &str) -> Result<Vec<Value>, ApiError> {
    rest::rows(&rest::send(p, steps_query(db, execution_id)).await?)
}

/// The journal rows of a run written after `seq` (the live stream's last
/// event id), in seq order.
pub async fn steps_after<P: Platform>(
    db: &RestClient,
    p: &P,
    execution_id: &str,
    seq: u64,
) -> Result<Vec<Value>, ApiError> {
    let builder = steps_query(db, execution_id).gt("seq", seq.to_string());
    rest::rows(&rest::send(p, builder).await?)
}

fn steps_query(db: &RestClient, execution_id: &str) -> postgrest::Builder {
    db.from(STEPS)
        .select("seq,node_id,status,result")
        .eq("execution_id", execution_id)
        .order("seq.asc")
}

/// A journal row's `seq` (0 when absent).
pub fn seq_of(step: &Value) -> u64 {
    step["seq"].as_u64().unwrap_or(0)
}

/// The results of journal rows as an Execution shows them: the settled
/// steps, in the order they settled. With `in_flight_at` (now, epoch ms)
/// the steps in flight too, as `running` results that have lasted from
/// their start until then (the timeline draws them so).
pub fn results(steps: &[Value], in_flight_at: Option<u64>) -> Vec<Value> {
    steps
        .iter()
        .filter_map(|step| {
            let result = &step["result"];
            if result["status"] != "running" {
                return Some(result.clone());
            }
            let now = in_flight_at?;
            let mut running = result.clone();
            if let Some(started) = result["startedAt"].as_str().and_then(ms_from_rfc3339) {
                running["durationMs"] = json!(now.saturating_sub(started));
            }
            Some(running)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_journaled_step_reads_back_as_the_result_it_was() {
        let r = NodeResult {
            node_id: "a".into(),
            node_type: "action".into(),
            action_id: Some("webhook_call".into()),
            status: NodeStatus::Failed,
            success: false,
            output: None,
            error: Some("boom".into()),
            attempts: 3,
            started_at: Some(rfc3339_from_ms(1_800_000_000_123)),
            duration_ms: 42,
            started_at_ms: Some(1_800_000_000_123),
            item_index: None,
            item_path: vec![],
        };
        let step = step_row(&r, &Redactor::new([]));
        assert_eq!(step["finished_at"], rfc3339_from_ms(1_800_000_000_165));
        assert_eq!(journaled_step(&step), Some(r));
        let running = json!({"result": {"nodeId": "a", "type": "action", "status": "running"}});
        assert_eq!(
            journaled_step(&running).map(|r| r.status),
            Some(NodeStatus::Running),
            "a resumed run sees running steps (a waiting delay keeps its end time)"
        );
    }

    #[test]
    fn a_loop_item_is_journaled_under_its_item_index() {
        assert_eq!(item_index(&[]), -1);
        assert_eq!(item_index(&[7]), 7);
        assert_eq!(item_index(&[2, 5]), 2_005);
        let mut r = NodeResult {
            node_id: "each".into(),
            node_type: "action".into(),
            action_id: Some("webhook_call".into()),
            status: NodeStatus::Succeeded,
            success: true,
            output: Some(json!({"ok": true})),
            error: None,
            attempts: 1,
            started_at: Some(rfc3339_from_ms(1_800_000_000_000)),
            duration_ms: 1,
            started_at_ms: Some(1_800_000_000_000),
            item_index: Some(5),
            item_path: vec![2, 5],
        };
        let step = step_row(&r, &Redactor::new([]));
        assert_eq!(step["item_index"], 2_005);
        assert_eq!(step["result"]["itemIndex"], 5);
        assert_eq!(journaled_step(&step), Some(r.clone()));
        r.status = NodeStatus::Running;
        assert!(step_row(&r, &Redactor::new([]))["finished_at"].is_null());
    }

    #[test]
    fn results_are_the_settled_steps_and_with_a_time_the_ones_in_flight() {
        let started = rfc3339_from_ms(1_800_000_000_000);
        let rows = [
            json!({"seq": 3, "result": {"nodeId": "t", "status": "succeeded"}}),
            json!({"seq": 5, "result": {"nodeId": "a", "status": "running", "startedAt": started, "durationMs": 0}}),
            json!({"seq": 9, "result": {"nodeId": "b", "status": "failed", "durationMs": 7}}),
        ];
        let settled = results(&rows, None);
        assert_eq!(
            settled
                .iter()
                .map(|r| r["nodeId"].as_str().unwrap())
                .collect::<Vec<_>>(),
            ["t", "b"],
            "a running row is no result yet"
        );
        let now = results(&rows, Some(1_800_000_000_250));
        assert_eq!(now.len(), 3);
        assert_eq!(now[1]["status"], "running");
        assert_eq!(now[1]["durationMs"], 250, "in flight for 250 ms so far");
        assert_eq!(now[2]["durationMs"], 7, "a settled step keeps its duration");
        assert_eq!(seq_of(&rows[1]), 5);
        assert_eq!(seq_of(&json!({})), 0);
    }

    #[test]
    fn the_trigger_is_journaled_redacted() {
        let mut r = NodeResult {
            node_id: "t".into(),
            node_type: "trigger".into(),
            action_id: None,
            status: NodeStatus::Succeeded,
            success: true,
            output: Some(json!({"password": "hunter2-hunter2", "name": "Ann"})),
            error: None,
            attempts: 1,
            started_at: None,
            duration_ms: 0,
            started_at_ms: None,
            item_index: None,
            item_path: vec![],
        };
        let step = step_row(&r, &Redactor::new([]));
        assert_eq!(step["result"]["output"]["password"], "[redacted]");
        assert_eq!(step["output"]["name"], "Ann");
        r.node_type = "action".into();
        assert_eq!(
            step_row(&r, &Redactor::new([]))["output"]["password"],
            "hunter2-hunter2"
        );
    }
}
