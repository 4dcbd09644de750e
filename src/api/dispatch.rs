//! Database events start workflows: `contact_update` and `deal_won` rows of
//! the `workflow_events` outbox (written in the same transaction as the
//! change) become runs, once per event and workflow. The service role only
//! claims the work (`claim_event_dispatches()`: one dispatch record per
//! event and matching active workflow, unique); each run is then read and
//! logged as the workflow's owner and executed from the `RUNS` queue. A
//! dispatch that fails is retried with backoff by the database and ends
//! `failed` with its reason after a bounded number of attempts.
//!
//! Runs by the scheduled handler every minute, and at once on
//! `POST /api/events/dispatch` (service role key), e.g. from a Supabase
//! Database Webhook or `pg_net`.

use serde_json::{json, Value};
use uuid::Uuid;

use super::runs::{self, NewRun, Owner, Queued};
use super::workflows::fetch as fetch_workflow;
use super::Platform;
use crate::config::Config;
use crate::engine::{trigger_passes, validate};
use crate::error::ApiError;
use crate::limits::{Limits, DISPATCH_BATCH};
use crate::rest::{self, RestClient};

/// What one dispatch pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dispatched {
    pub started: usize,
    pub skipped: usize,
    pub retried: usize,
}

/// The trigger data of an event: a Supabase Database Webhook payload plus
/// the names of the columns that changed.
pub fn event_payload(event_type: &str, table: &str, record: &Value, old_record: &Value) -> Value {
    let mut changed: Vec<String> = match (record.as_object(), old_record.as_object()) {
        (Some(new), Some(old)) => new
            .iter()
            .filter(|(k, v)| old.get(*k) != Some(*v))
            .map(|(k, _)| k.clone())
            .chain(old.keys().filter(|k| !new.contains_key(*k)).cloned())
            .collect(),
        (Some(new), None) => new.keys().cloned().collect(),
        _ => vec![],
    };
    changed.sort();
    changed.retain(|c| c != "updated_at");
    json!({"type": event_type, "table": table, "record": record, "old_record": old_record, "changed": changed})
}

/// Claims due dispatches and starts their runs.
pub async fn dispatch_events<P: Platform>(config: &Config, p: &P) -> Result<Dispatched, ApiError> {
    let service = RestClient::as_service(config, "dispatching database events")?;
    let claimed = rest::rows(
        &rest::send(
            p,
            service.rpc("claim_event_dispatches", &json!({"p_limit": DISPATCH_BATCH})),
        )
        .await?,
    )?;
    let mut done = Dispatched::default();
    for d in &claimed {
        let dispatch_id = d["dispatch_id"].clone();
        let (status, execution_id, error) = match start(config, p, d).await {
            Ok(Some(id)) => {
                done.started += 1;
                ("started", Some(id), None)
            }
            Ok(None) => {
                done.skipped += 1;
                (
                    "skipped",
                    None,
                    Some("inactive, or the trigger filter is false".to_string()),
                )
            }
            Err(e) => {
                done.retried += 1;
                p.log(&format!("dispatch {dispatch_id}: {}", e.log_line()));
                ("retry", None, Some(e.message()))
            }
        };
        let params = json!({"p_dispatch_id": dispatch_id, "p_status": status, "p_execution_id": execution_id, "p_error": error});
        rest::send(p, service.rpc("finish_event_dispatch", &params)).await?;
    }
    if !claimed.is_empty() {
        p.log(&format!(
            "dispatch: {} run(s) started, {} skipped by filters, {} to retry",
            done.started, done.skipped, done.retried
        ));
    }
    Ok(done)
}

/// Starts the run of one dispatch as the workflow's owner; `None` when the
/// workflow is no longer active or its trigger filter is false.
async fn start<P: Platform>(config: &Config, p: &P, d: &Value) -> Result<Option<String>, ApiError> {
    let bad = || ApiError::internal("claim_event_dispatches() answered an unreadable row");
    let workflow_id = d["workflow_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(bad)?;
    let user_id = d["user_id"]
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(bad)?;
    let event_type = d["event_type"].as_str().ok_or_else(bad)?;
    // One run per dispatch, even when a claim expired and the dispatch is taken again.
    let dispatch_key = format!("event-dispatch:{}", d["dispatch_id"]);
    let owner = Owner::minted(config, user_id, p.now_ms())?;
    let db = RestClient::for_token(config, &owner.token);
    let workflow = fetch_workflow(&db, p, workflow_id).await?;
    if workflow["is_active"] != true {
        return Ok(None);
    }
    let graph = validate(&workflow["nodes"], &workflow["edges"], &Limits::default()).map_err(|issues| {
        ApiError::InvalidRequest {
            message: format!("the workflow no longer validates ({} issues)", issues.len()),
            field: None,
        }
    })?;
    let payload = event_payload(
        event_type,
        d["table_name"].as_str().unwrap_or(""),
        &d["new_record"],
        &d["old_record"],
    );
    if !trigger_passes(&graph, &payload).map_err(|e| ApiError::invalid_field("filter", e))? {
        return Ok(None);
    }
    let parent = d["caused_by_execution"]
        .as_str()
        .map(|id| (id.to_string(), d["chain_depth"].as_u64().unwrap_or(0) as u32));
    let new_run = NewRun {
        idempotency_key: Some(&dispatch_key),
        parent,
        ..NewRun::queued(&workflow, payload, event_type)
    };
    let queued = runs::queue_for_owner(config, p, &owner, new_run).await?;
    Ok(match queued {
        Queued::New(execution_id) => Some(execution_id),
        // A retry after an expired claim: the run of the first attempt stands.
        Queued::Existing(first) => first["id"].as_str().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_names_the_changed_columns() {
        let new = json!({"id": 1, "stage": "won", "name": "Acme", "updated_at": "b"});
        let old = json!({"id": 1, "stage": "open", "name": "Acme", "updated_at": "a"});
        let p = event_payload("deal_won", "deals", &new, &old);
        assert_eq!(p["changed"], json!(["stage"]));
        assert_eq!(
            (p["type"].as_str(), p["table"].as_str()),
            (Some("deal_won"), Some("deals"))
        );
        let inserted = event_payload("deal_won", "deals", &new, &Value::Null);
        assert_eq!(inserted["changed"], json!(["id", "name", "stage"]));
    }
}
