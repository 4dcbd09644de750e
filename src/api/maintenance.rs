//! The scheduled handler's upkeep of runs: recovery of runs whose
//! invocation is gone, and retention. Both claim or delete work with the
//! service role, which never reads or writes a user's rows otherwise.

use serde_json::{json, Value};

use super::runs::RunMessage;
use super::Platform;
use crate::config::Config;
use crate::error::ApiError;
use crate::limits::{PRUNE_BATCH, RECOVERY_BATCH};
use crate::rest::{self, RestClient};

/// The scheduled recovery: claims runs whose invocation is gone (lease
/// expired), queued runs whose message was lost, and waiting runs that are
/// due, and sends each to the queue; runs recovered too often are failed by
/// the claim itself. Returns (resumed, failed).
pub async fn recover<P: Platform>(config: &Config, p: &P) -> Result<(usize, usize), ApiError> {
    let db = RestClient::as_service(config, "recovering runs")?;
    let params = json!({"p_limit": RECOVERY_BATCH, "p_lease_ms": config.runs.lease_ms,
        "p_max_recoveries": config.runs.max_recoveries});
    let claimed = rest::rows(&rest::send(p, db.rpc("claim_runs", &params)).await?)?;
    let (mut resumed, mut failed) = (0, 0);
    for run in &claimed {
        let id = run["id"].as_str().unwrap_or_default();
        if run["action"] == "failed" {
            failed += 1;
            p.log(&format!("execution {id} failed: recovered too often"));
            continue;
        }
        let message = RunMessage {
            execution_id: id.to_string(),
            user_id: run["user_id"].as_str().unwrap_or_default().to_string(),
            attempt: run["attempt"].as_u64().unwrap_or(0) as u32,
        };
        p.enqueue(&message, 0)
            .await
            .map_err(|e| ApiError::upstream(format!("RUNS queue: {e}")))?;
        resumed += 1;
    }
    if !claimed.is_empty() {
        p.log(&format!(
            "recovery: {resumed} run(s) sent to the queue, {failed} given up"
        ));
    }
    Ok((resumed, failed))
}

/// Retention: deletes finished runs older than `EXECUTION_RETENTION_DAYS`
/// (their journal goes with them), at most `PRUNE_BATCH` per tick, with
/// the service role (`prune_executions()`). Returns how many went.
pub async fn prune<P: Platform>(config: &Config, p: &P) -> Result<u64, ApiError> {
    if config.retention_days == 0 {
        return Ok(0);
    }
    let db = RestClient::as_service(config, "pruning runs")?;
    let params = json!({"p_days": config.retention_days, "p_limit": PRUNE_BATCH});
    let resp = rest::send(p, db.rpc("prune_executions", &params)).await?;
    let pruned = match rest::rows(&resp)?.into_iter().next() {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::Object(m)) => m.get("prune_executions").and_then(Value::as_u64).unwrap_or(0),
        _ => 0,
    };
    if pruned > 0 {
        p.log(&format!(
            "retention: {pruned} run(s) older than {} days pruned",
            config.retention_days
        ));
    }
    Ok(pruned)
}
