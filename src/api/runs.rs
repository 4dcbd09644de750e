//! Durable runs: the life of a `workflow_executions` row around the engine.
//!
//! A run is inserted with the workflow document it executes (a snapshot, so
//! editing the workflow never changes a run already started), then driven
//! by invocations: the execute request itself (sync), or a `RUNS` queue
//! message (async, continuation after a budget yield, recovery). Each
//! invocation first owns the run (a lease, renewed by every journal write),
//! rebuilds what earlier invocations settled from the step journal
//! (`workflow_step_runs`), runs the rest, and then completes the row, or
//! yields it back to the queue when its budget is used. The scheduled
//! recovery hands runs whose lease expired to the queue again.
//!
//! With no user present (queue, cron) the run acts as its owner with a
//! short-lived owner token (`auth::mint`), so RLS applies exactly as for the
//! owner; the service role only finds and claims work (`claim_runs`).

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::journal::{self, PgJournal};
use super::Platform;
use crate::actions::redact::Redactor;
use crate::actions::{Actions, RunEnv};
use crate::auth::mint::owner_token;
use crate::config::Config;
use crate::engine::time::{ms_from_rfc3339, rfc3339_from_ms};
use crate::engine::{
    execute, validate, Budget, Graph, NoJournal, NodeResult, RunContext, RunOutcome, RunReport,
};
use crate::error::ApiError;
use crate::limits::{json_len, Limits, BOOKKEEPING_CALLS, MAX_QUEUE_DELAY_SECS, MAX_RESULTS_BYTES};
use crate::rest::{self, RestClient};

pub const TABLE: &str = "workflow_executions";

/// A `RUNS` queue message: work on this run, expecting it at `attempt`
/// (the optimistic claim that makes a redelivered message harmless).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunMessage {
    pub execution_id: String,
    pub user_id: String,
    pub attempt: u32,
}

/// Who a run acts as: the owner's id and a token PostgREST accepts for them.
pub struct Owner {
    pub user_id: Uuid,
    pub token: String,
}

impl Owner {
    /// Acts as `user_id` with a freshly minted owner token (no user present).
    pub fn minted(config: &Config, user_id: Uuid, now_ms: u64) -> Result<Owner, ApiError> {
        let token = owner_token(config, user_id, now_ms / 1000).map_err(|e| ApiError::Misconfigured(e.0))?;
        Ok(Owner { user_id, token })
    }
}

impl<'a> NewRun<'a> {
    /// A queued run of the stored `workflow` row (its document and version).
    pub fn queued(workflow: &'a Value, trigger: Value, trigger_type: &'a str) -> Self {
        NewRun {
            workflow_id: workflow["id"].as_str().and_then(|id| Uuid::parse_str(id).ok()),
            workflow_version: workflow["version"].as_i64(),
            nodes: &workflow["nodes"],
            edges: &workflow["edges"],
            trigger,
            trigger_type,
            idempotency_key: None,
            queued: true,
            parent: None,
        }
    }
}

/// A run about to be inserted.
pub struct NewRun<'a> {
    pub workflow_id: Option<Uuid>,
    pub workflow_version: Option<i64>,
    pub nodes: &'a Value,
    pub edges: &'a Value,
    pub trigger: Value,
    pub trigger_type: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// Queued for the `RUNS` consumer instead of run in this invocation.
    pub queued: bool,
    /// The run whose write caused the event that started this one, and how
    /// many runs deep that chain is (0 for a run started by a person).
    pub parent: Option<(String, u32)>,
}

/// Sends the first `RUNS` message of a run just inserted as `queued`. A
/// lost message is not a lost run: the scheduled recovery re-sends queued
/// runs nobody took, so a refusal is only logged.
pub async fn hand_to_queue<P: Platform>(p: &P, execution_id: &str, user_id: &str) {
    let message = RunMessage {
        execution_id: execution_id.to_string(),
        user_id: user_id.to_string(),
        attempt: 0,
    };
    if let Err(e) = p.enqueue(&message, 0).await {
        p.log(&format!(
            "execution {execution_id}: RUNS queue refused the message ({e}); recovery will send it"
        ));
    }
}

/// What queuing a run by itself (a form post, an event) came to.
pub enum Queued {
    /// A new run, handed to the queue.
    New(String),
    /// The idempotency key had started a run already: its row (`id`, `workflow_id`).
    Existing(Value),
}

/// Logs a run of the stored `workflow` as its owner, `queued`, and hands it
/// to the queue; with `idempotency_key`, a repeat finds the first run
/// instead. Used by the form hook and the event dispatcher, where no user
/// is present.
pub async fn queue_for_owner<P: Platform>(
    config: &Config,
    p: &P,
    owner: &Owner,
    new_run: NewRun<'_>,
) -> Result<Queued, ApiError> {
    let db = RestClient::for_token(config, &owner.token);
    let owner_id = owner.user_id.to_string();
    let redactor = RunEnv::new(config, &owner_id, &owner.token, "", None, 0).redactor();
    let idempotency_key = new_run.idempotency_key;
    let (execution_id, row) = insert_row(&new_run, owner, &redactor, p.now_ms(), config.runs.lease_ms);
    match rest::rows(&rest::send(p, db.from(TABLE).insert(row.to_string()).select("id")).await?) {
        Ok(_) => {}
        Err(ApiError::Conflict(_)) if idempotency_key.is_some() => {
            let builder = db
                .from(TABLE)
                .select("id,workflow_id")
                .eq("idempotency_key", idempotency_key.unwrap_or_default());
            let first = rest::one_row(&rest::send(p, builder).await?)?
                .ok_or_else(|| ApiError::Conflict("this Idempotency-Key is taken".into()))?;
            return Ok(Queued::Existing(first));
        }
        Err(e) => return Err(e),
    }
    hand_to_queue(p, &execution_id, &owner_id).await;
    Ok(Queued::New(execution_id))
}

/// The row to insert for a new run, and its id. Trigger data is stored
/// redacted (a caller's token or a `password` field is never stored).
pub fn insert_row(
    run: &NewRun<'_>,
    owner: &Owner,
    redactor: &Redactor,
    now_ms: u64,
    lease_ms: u64,
) -> (String, Value) {
    let id = Uuid::now_v7().to_string();
    let row = json!({
        "id": id,
        "workflow_id": run.workflow_id.map(|w| w.to_string()),
        "user_id": owner.user_id.to_string(),
        "status": if run.queued { "queued" } else { "running" },
        "trigger_type": run.trigger_type,
        "trigger_data": redactor.value(&run.trigger),
        "idempotency_key": run.idempotency_key,
        "workflow_snapshot": {"nodes": run.nodes, "edges": run.edges},
        "workflow_version": run.workflow_version,
        "attempt": if run.queued { 0 } else { 1 },
        "lease_until": (!run.queued).then(|| rfc3339_from_ms(now_ms + lease_ms)),
    });
    let mut row = row;
    if let Some((parent, depth)) = &run.parent {
        row["parent_execution_id"] = json!(parent);
        row["chain_depth"] = json!(depth);
    }
    (id, row)
}

/// Whether a run's status is final.
pub fn is_final(status: &str) -> bool {
    matches!(status, "succeeded" | "failed" | "cancelled")
}

/// What an invocation resumes from: the trigger data (as sent in the
/// request that started the run, or as stored) and the steps journaled.
pub struct Resume {
    pub trigger: Value,
    pub journaled: Vec<NodeResult>,
}

/// Drives one invocation of a run the caller owns now (inserted as
/// `running`, or taken with `take_run`), and answers the row as it is
/// afterwards: completed, or `queued` again when the budget ran out.
pub async fn drive<P: Platform>(
    config: &Config,
    p: &P,
    owner: &Owner,
    row: &Value,
    graph: &Graph,
    from: Resume,
) -> Result<Value, ApiError> {
    let db = RestClient::for_token(config, &owner.token);
    let execution_id = row["id"].as_str().unwrap_or_default().to_string();
    let workflow_id = row["workflow_id"].as_str().map(str::to_string);
    let owner_id = owner.user_id.to_string();
    let started_ms = row["executed_at"]
        .as_str()
        .and_then(ms_from_rfc3339)
        .unwrap_or_else(|| p.now_ms());
    let env = RunEnv::new(
        config,
        &owner_id,
        &owner.token,
        &execution_id,
        workflow_id.as_deref(),
        p.now_ms(),
    );
    let redactor = env.redactor();
    let ctx = RunContext {
        execution_id: execution_id.clone(),
        workflow_id: workflow_id.clone(),
        trigger: from.trigger,
        journaled: from.journaled,
    };
    let journal = PgJournal {
        db: &db,
        p,
        execution_id: &execution_id,
        lease_ms: config.runs.lease_ms,
        redactor: &redactor,
    };
    let budget = Budget {
        max_calls: config.runs.subrequest_budget.saturating_sub(BOOKKEEPING_CALLS),
        wall_ms: config.runs.wall_budget_ms,
    };
    let actions = Actions::new(env, p);
    let limits = Limits::default();
    let mut report = if config.runs.journal {
        execute(graph, &ctx, &actions, p, &journal, &limits, &budget).await
    } else {
        execute(graph, &ctx, &actions, p, &NoJournal, &limits, &budget).await
    };
    for result in report.results.iter_mut().filter(|r| r.node_type == "trigger") {
        result.output = result.output.take().map(|o| redactor.value(&o));
    }
    if report.journal_failures > 0 {
        p.log(&format!(
            "execution {execution_id}: {} journal write(s) failed; the completion below carries every result",
            report.journal_failures
        ));
    }
    match report.outcome {
        RunOutcome::Yielded => yield_run(config, p, &db, owner, &execution_id, row, &report).await,
        RunOutcome::Waiting => wait_run(config, p, &db, owner, &execution_id, row, &report).await,
        RunOutcome::Finished | RunOutcome::Cancelled => {
            complete(p, &db, &execution_id, &report, started_ms).await
        }
    }
}

/// Completes the row; a run cancelled meanwhile keeps its `cancelled`.
async fn complete<P: Platform>(
    p: &P,
    db: &RestClient,
    execution_id: &str,
    report: &RunReport,
    started_ms: u64,
) -> Result<Value, ApiError> {
    let now = p.now_ms();
    let cancelled = report.outcome == RunOutcome::Cancelled;
    let finish = json!({
        "status": if cancelled { "cancelled".to_string() } else { serde_json::to_value(report.status).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default() },
        "success": report.success && !cancelled,
        "error_count": report.error_count,
        "execution_time_ms": now.saturating_sub(started_ms),
        "finished_at": rfc3339_from_ms(now),
        "results": fit_results(&report.results, MAX_RESULTS_BYTES),
        "stop_reason": report.stop_reason,
        "lease_until": null,
    });
    let builder = || {
        db.from(TABLE)
            .eq("id", execution_id)
            .in_("status", ["running", "queued", "waiting"])
            .update(finish.to_string())
            .select("*")
    };
    // One retry: losing a finished run's record is worse than a slow answer
    // (and if both fail, the journal holds every step and recovery completes it).
    let completed = match rest::send(p, builder())
        .await
        .map_err(ApiError::from)
        .and_then(|r| rest::one_row(&r))
    {
        Ok(row) => row,
        Err(first) => {
            p.log(&format!(
                "execution {execution_id}: completing the log failed ({first:?}); retrying"
            ));
            rest::one_row(&rest::send(p, builder()).await?)?
        }
    };
    let row = match completed {
        Some(row) => row,
        // Cancelled by the user while its last steps ran: the row keeps its
        // status, reason and end time, and gets the results.
        None => {
            let results = json!({
                "results": finish["results"],
                "error_count": report.error_count,
                "execution_time_ms": finish["execution_time_ms"],
            });
            let builder = db
                .from(TABLE)
                .eq("id", execution_id)
                .eq("status", "cancelled")
                .update(results.to_string())
                .select("*");
            match rest::one_row(&rest::send(p, builder).await?)? {
                Some(row) => row,
                None => read(db, p, execution_id)
                    .await?
                    .ok_or_else(|| ApiError::upstream("execution row vanished"))?,
            }
        }
    };
    p.log(&format!(
        "execution {execution_id} {} ({} failed of {} nodes{})",
        row["status"].as_str().unwrap_or("?"),
        report.error_count,
        report.results.len(),
        report
            .stop_reason
            .as_deref()
            .map(|r| format!("; {r}"))
            .unwrap_or_default()
    ));
    Ok(row)
}

/// The budget ran out: the row goes back to `queued` with a lease covering
/// the message's delivery, and a continuation message is sent.
async fn yield_run<P: Platform>(
    config: &Config,
    p: &P,
    db: &RestClient,
    owner: &Owner,
    execution_id: &str,
    row: &Value,
    report: &RunReport,
) -> Result<Value, ApiError> {
    let lease = rfc3339_from_ms(p.now_ms() + config.runs.lease_ms);
    let patch = json!({"status": "queued", "lease_until": lease});
    let updated = match park(db, p, execution_id, &patch).await? {
        Ok(updated) => updated,
        Err(as_is) => return Ok(as_is),
    };
    let message = continuation(owner, execution_id, &updated, row);
    p.enqueue(&message, 0)
        .await
        .map_err(|e| ApiError::upstream(format!("RUNS queue: {e}")))?;
    p.log(&format!(
        "execution {execution_id}: budget used after {} settled steps; continues through the queue",
        report.results.len()
    ));
    Ok(updated)
}

/// A delay stopped the run: the row becomes `waiting` until `resume_at`.
/// A wait the queue can deliver (`MAX_QUEUE_DELAY_SECS`) is continued by a
/// delayed message, with a lease until a little after it is due, so the
/// scheduled recovery steps in only if that message is lost; a longer wait
/// has no lease and the scheduled recovery continues it once it is due.
/// Either way no invocation runs while the run waits.
async fn wait_run<P: Platform>(
    config: &Config,
    p: &P,
    db: &RestClient,
    owner: &Owner,
    execution_id: &str,
    row: &Value,
    report: &RunReport,
) -> Result<Value, ApiError> {
    let now = p.now_ms();
    let resume_ms = report.resume_at_ms.unwrap_or(now).max(now);
    let delay_secs = (resume_ms - now).div_ceil(1000);
    let by_queue = delay_secs <= MAX_QUEUE_DELAY_SECS;
    let lease = by_queue.then(|| rfc3339_from_ms(resume_ms + config.runs.lease_ms));
    let patch = json!({"status": "waiting", "resume_at": rfc3339_from_ms(resume_ms), "lease_until": lease});
    let updated = match park(db, p, execution_id, &patch).await? {
        Ok(updated) => updated,
        Err(as_is) => return Ok(as_is),
    };
    if by_queue {
        let message = continuation(owner, execution_id, &updated, row);
        if let Err(e) = p.enqueue(&message, delay_secs as u32).await {
            // The lease runs out a little after the wait; recovery continues it then.
            p.log(&format!(
                "execution {execution_id}: RUNS queue refused the delayed message ({e}); the scheduled recovery continues the run"
            ));
        }
    }
    p.log(&format!(
        "execution {execution_id} waiting until {} ({} steps settled; continued by {})",
        rfc3339_from_ms(resume_ms),
        report.results.len(),
        if by_queue {
            "a delayed queue message"
        } else {
            "the scheduled recovery"
        }
    ));
    Ok(updated)
}

/// Moves a run this invocation still holds (`running`) to the state in
/// `patch`. `Err` carries the row as it is if the run was cancelled
/// meanwhile: then there is nothing to continue.
async fn park<P: Platform>(
    db: &RestClient,
    p: &P,
    execution_id: &str,
    patch: &Value,
) -> Result<Result<Value, Value>, ApiError> {
    let builder = db
        .from(TABLE)
        .eq("id", execution_id)
        .eq("status", "running")
        .update(patch.to_string())
        .select("*");
    match rest::one_row(&rest::send(p, builder).await?)? {
        Some(updated) => Ok(Ok(updated)),
        None => read(db, p, execution_id)
            .await?
            .map(Err)
            .ok_or_else(|| ApiError::upstream("execution row vanished")),
    }
}

/// The queue message that continues a parked run: for the attempt that
/// `take_run()` must find (the row's, as this invocation left it).
fn continuation(owner: &Owner, execution_id: &str, updated: &Value, row: &Value) -> RunMessage {
    RunMessage {
        execution_id: execution_id.to_string(),
        user_id: owner.user_id.to_string(),
        attempt: updated["attempt"]
            .as_u64()
            .or_else(|| row["attempt"].as_u64())
            .unwrap_or(0) as u32,
    }
}

/// One row as its owner sees it.
pub async fn read<P: Platform>(
    db: &RestClient,
    p: &P,
    execution_id: &str,
) -> Result<Option<Value>, ApiError> {
    rest::one_row(&rest::send(p, db.from(TABLE).select("*").eq("id", execution_id)).await?)
}

/// The graph a stored run executes: its snapshot, validated again.
pub fn snapshot_graph(row: &Value) -> Result<Graph, String> {
    let snapshot = &row["workflow_snapshot"];
    let edges = snapshot.get("edges").cloned().unwrap_or_else(|| json!([]));
    validate(&snapshot["nodes"], &edges, &Limits::default()).map_err(|issues| {
        format!(
            "the stored workflow no longer validates: {}",
            issues
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}

/// Handles one `RUNS` message: takes the run (or finds it taken, finished
/// or cancelled, and does nothing), rebuilds it from its journal and drives
/// it. `Err` means "deliver again later".
pub async fn consume<P: Platform>(config: &Config, p: &P, message: &RunMessage) -> Result<(), ApiError> {
    let user_id = Uuid::parse_str(&message.user_id)
        .map_err(|_| ApiError::internal("RUNS message with a bad user id"))?;
    let owner = Owner::minted(config, user_id, p.now_ms())?;
    let db = RestClient::for_token(config, &owner.token);
    let params = json!({"p_execution_id": message.execution_id, "p_expected_attempt": message.attempt,
        "p_lease_ms": config.runs.lease_ms});
    let Some(row) = rest::one_row(&rest::send(p, db.rpc("take_run", &params)).await?)? else {
        p.log(&format!(
            "execution {}: message for attempt {} dropped (taken, finished or cancelled)",
            message.execution_id, message.attempt
        ));
        return Ok(());
    };
    let graph = match snapshot_graph(&row) {
        Ok(graph) => graph,
        Err(reason) => return fail(p, &db, &message.execution_id, &reason).await,
    };
    let journaled: Vec<NodeResult> = journal::steps(&db, p, &message.execution_id)
        .await?
        .iter()
        .filter_map(journal::journaled_step)
        .collect();
    p.log(&format!(
        "execution {} resumed (invocation {}, {} steps journaled)",
        message.execution_id,
        row["attempt"],
        journaled.len()
    ));
    let trigger = row["trigger_data"].clone();
    drive(config, p, &owner, &row, &graph, Resume { trigger, journaled })
        .await
        .map(|_| ())
}

/// Fails a run that cannot go on, with the reason stored.
async fn fail<P: Platform>(p: &P, db: &RestClient, execution_id: &str, reason: &str) -> Result<(), ApiError> {
    let patch = json!({"status": "failed", "success": false, "stop_reason": reason,
        "finished_at": rfc3339_from_ms(p.now_ms()), "lease_until": null});
    rest::send(p, db.from(TABLE).eq("id", execution_id).update(patch.to_string())).await?;
    p.log(&format!("execution {execution_id} failed: {reason}"));
    Ok(())
}

/// The results as stored: within `cap` bytes, by truncating the largest
/// outputs first, so the run log can always be completed.
pub fn fit_results(results: &[NodeResult], cap: usize) -> Value {
    let values = results
        .iter()
        .map(|r| serde_json::to_value(r).unwrap_or(Value::Null))
        .collect();
    Value::Array(fit_values(values, cap))
}

fn fit_values(mut values: Vec<Value>, cap: usize) -> Vec<Value> {
    let size = json_len;
    let mut total: usize = values.iter().map(size).sum();
    if total <= cap {
        return values;
    }
    let mut by_size: Vec<(usize, usize)> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (v.get("output").map(size).unwrap_or(0), i))
        .collect();
    by_size.sort_unstable_by(|a, b| b.cmp(a));
    for (bytes, i) in by_size {
        if total <= cap || bytes == 0 {
            break;
        }
        values[i]["output"] = json!({"truncated": true, "bytes": bytes});
        total = total - bytes + size(&values[i]["output"]);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(id: &str, output: Value) -> Value {
        json!({"nodeId": id, "type": "action", "status": "succeeded", "success": true,
               "output": output, "attempts": 1, "startedAt": null, "durationMs": 0})
    }

    #[test]
    fn large_outputs_are_truncated_largest_first() {
        let values = vec![
            result("a", json!("x".repeat(1000))),
            result("b", json!("y".repeat(100))),
        ];
        let fitted = fit_values(values.clone(), 800);
        assert_eq!(fitted[0]["output"], json!({"truncated": true, "bytes": 1002}));
        assert_eq!(fitted[1]["output"], json!("y".repeat(100)));
        assert_eq!(fit_values(values.clone(), 10_000), values);
        assert_eq!(fit_results(&[], 10), json!([]));
    }
}
