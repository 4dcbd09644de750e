//! `POST /api/hooks/{trigger_key}`: a public form post starts an active
//! `form_submit` workflow. No token: the service role only finds the
//! workflow by its key (`hook_target()`); everything else (reading the
//! workflow, logging the run) happens as the owner, with a short-lived
//! owner token, and the run goes through the `RUNS` queue so the poster
//! never waits for it. Any other key, an inactive workflow or another
//! trigger type is the same `404`, with no hint which.

use serde_json::{json, Value};
use uuid::Uuid;

use super::form::hook_fields;
use super::runs::{self, NewRun, Owner, Queued};
use super::workflows::fetch as fetch_workflow;
use super::{ApiRequest, ApiResponse, Platform};
use crate::config::Config;
use crate::engine::{trigger_passes, validate};
use crate::error::ApiError;
use crate::limits::{Limits, MAX_IDEMPOTENCY_KEY_CHARS};
use crate::rest::{self, RestClient};

fn not_found() -> ApiError {
    ApiError::NotFound("no active form hook with this key".into())
}

/// Handles one form post.
pub async fn handle<P: Platform>(
    key: &str,
    req: &ApiRequest,
    config: &Config,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    if key.is_empty()
        || key.len() > 128
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(not_found());
    }
    let idempotency_key = match req.header("idempotency-key").map(str::trim) {
        None => None,
        Some(k) if !k.is_empty() && k.chars().count() <= MAX_IDEMPOTENCY_KEY_CHARS => {
            Some(format!("hook:{k}"))
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "Idempotency-Key",
                format!("the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
            ))
        }
    };
    let fields = Value::Object(hook_fields(req.header("content-type"), &req.body)?);
    let service = RestClient::as_service(config, "public form hooks")?;
    let found =
        rest::one_row(&rest::send(p, service.rpc("hook_target", &json!({"p_trigger_key": key}))).await?)?
            .ok_or_else(not_found)?;
    let (Some(workflow_id), Some(user_id)) = (
        found["workflow_id"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok()),
        found["user_id"].as_str().and_then(|s| Uuid::parse_str(s).ok()),
    ) else {
        return Err(not_found());
    };
    let owner = Owner::minted(config, user_id, p.now_ms())?;
    let db = RestClient::for_token(config, &owner.token);
    let workflow = fetch_workflow(&db, p, workflow_id)
        .await
        .map_err(|_| not_found())?;
    let graph = validate(&workflow["nodes"], &workflow["edges"], &Limits::default()).map_err(|issues| {
        p.log(&format!(
            "hook for workflow {workflow_id}: the active workflow no longer validates ({} issues)",
            issues.len()
        ));
        not_found()
    })?;
    let wants_html = req.header("accept").is_some_and(|a| a.contains("text/html"));
    let answer = |execution_id: Option<&str>| -> ApiResponse {
        match graph.redirect_url().filter(|_| wants_html) {
            Some(url) => ApiResponse::empty(303, vec![("Location", url.to_string())]),
            None => ApiResponse::json(202, json!({"executionId": execution_id})),
        }
    };
    match trigger_passes(&graph, &fields) {
        Ok(true) => {}
        Ok(false) => {
            p.log(&format!(
                "hook for workflow {workflow_id}: the trigger filter is false; not started"
            ));
            return Ok(answer(None));
        }
        Err(e) => {
            return Err(ApiError::invalid_field(
                "filter",
                format!("the trigger filter could not be evaluated: {e}"),
            ))
        }
    }
    let new_run = NewRun {
        idempotency_key: idempotency_key.as_deref(),
        ..NewRun::queued(&workflow, fields, graph.trigger_type().as_str())
    };
    let queued = runs::queue_for_owner(config, p, &owner, new_run).await?;
    match queued {
        Queued::New(execution_id) => {
            p.log(&format!(
                "execution {execution_id} queued by the form hook of workflow {workflow_id}"
            ));
            Ok(answer(Some(&execution_id)))
        }
        Queued::Existing(first) => {
            if first["workflow_id"].as_str() != Some(workflow_id.to_string().as_str()) {
                return Err(ApiError::IdempotencyKeyReused(
                    "this Idempotency-Key was already used for another form".into(),
                ));
            }
            let mut resp = answer(first["id"].as_str());
            resp.headers.push(("Idempotent-Replayed", "true".into()));
            Ok(resp)
        }
    }
}
