//! Execution routes: run a saved workflow (or an unsaved test document) as
//! the caller, and read the run log. Each run costs three bookkeeping calls,
//! whatever its size: read the workflow, insert the `running` row before the
//! first step, complete it after the last.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::body::{json_object, pagination, type_name};
use super::workflows::fetch as fetch_workflow;
use super::{send_rest, ApiRequest, ApiResponse, Platform};
use crate::actions::{Actions, RunEnv};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::engine::time::rfc3339_from_ms;
use crate::engine::{execute, validate, Limits, RunContext};
use crate::error::ApiError;
use crate::rest::{self, capture, RestClient};
use crate::router::{parse_id, Route};

const TABLE: &str = "workflow_executions";
/// Executions listing page size default and maximum.
pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 200;

/// Dispatches the execution routes.
pub async fn handle<P: Platform>(
    route: Route,
    req: &ApiRequest,
    config: &Config,
    user: &AuthUser,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let db = RestClient::new(&config.rest_url(), config.anon_key.expose(), &user.token);
    match route {
        Route::ExecuteSeed => {
            let body = json_object(req, false)?;
            let trigger = trigger_data(&body)?;
            match (body.get("workflowId"), body.get("workflow")) {
                (Some(Value::String(raw)), _) => {
                    let id = parse_id(raw, "workflow")?;
                    run_saved(id, trigger, config, user, &db, p).await
                }
                (Some(other), _) => Err(ApiError::invalid_field(
                    "workflowId",
                    format!("`workflowId` must be a string, not {}", type_name(other)),
                )),
                (None, Some(Value::Object(doc))) => {
                    let nodes = doc.get("nodes").cloned().unwrap_or(Value::Null);
                    let edges = doc.get("edges").cloned().unwrap_or_else(|| json!([]));
                    run(None, &nodes, &edges, trigger, config, user, &db, p).await
                }
                (None, _) => Err(ApiError::invalid_field(
                    "workflowId",
                    "either `workflowId` or a `workflow` object with nodes and edges is required",
                )),
            }
        }
        Route::ExecuteWorkflow(id) => {
            let body = json_object(req, true)?;
            let trigger = trigger_data(&body)?;
            run_saved(id, trigger, config, user, &db, p).await
        }
        Route::ListExecutions(id) => {
            let (limit, offset) = pagination(req, DEFAULT_LIMIT, MAX_LIMIT)?;
            // 404 for a workflow the caller cannot see, rather than an empty list.
            fetch_workflow(&db, p, id).await?;
            let builder = db
                .from(TABLE)
                .select("*")
                .eq("workflow_id", id.to_string())
                .order("executed_at.desc,id.desc")
                .range(offset, offset + limit - 1);
            let rows = rest::rows(&send_rest(p, capture(builder)?).await?)?;
            Ok(ApiResponse::json(
                200,
                json!({"executions": rows, "limit": limit, "offset": offset}),
            ))
        }
        Route::GetExecution(id) => {
            let builder = db.from(TABLE).select("*").eq("id", id.to_string());
            let row = rest::one_row(&send_rest(p, capture(builder)?).await?)?
                .ok_or_else(|| ApiError::NotFound("execution not found".into()))?;
            Ok(ApiResponse::json(200, json!({"execution": row})))
        }
        other => Err(ApiError::internal(format!(
            "route {other:?} reached the execution handler"
        ))),
    }
}

/// `triggerData`: an object, or absent (then `{}`).
fn trigger_data(body: &Map<String, Value>) -> Result<Value, ApiError> {
    match body.get("triggerData") {
        None | Some(Value::Null) => Ok(json!({})),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(other) => Err(ApiError::invalid_field(
            "triggerData",
            format!("`triggerData` must be an object, not {}", type_name(other)),
        )),
    }
}

async fn run_saved<P: Platform>(
    id: Uuid,
    trigger: Value,
    config: &Config,
    user: &AuthUser,
    db: &RestClient,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let workflow = fetch_workflow(db, p, id).await?;
    run(
        Some(id),
        &workflow["nodes"],
        &workflow["edges"],
        trigger,
        config,
        user,
        db,
        p,
    )
    .await
}

/// Validates, logs the run as `running`, executes, completes the log row.
#[allow(clippy::too_many_arguments)]
async fn run<P: Platform>(
    workflow_id: Option<Uuid>,
    nodes: &Value,
    edges: &Value,
    trigger: Value,
    config: &Config,
    user: &AuthUser,
    db: &RestClient,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let limits = Limits::default();
    let graph = validate(nodes, edges, &limits).map_err(ApiError::InvalidWorkflow)?;
    let execution_id = Uuid::now_v7().to_string();
    let workflow_id_text = workflow_id.map(|id| id.to_string());

    let start = json!({
        "id": execution_id,
        "workflow_id": workflow_id_text,
        "user_id": user.user_id.to_string(),
        "status": "running",
        "trigger_type": graph.trigger_type().as_str(),
        "trigger_data": trigger,
    });
    let inserted = send_rest(p, capture(db.from(TABLE).insert(start.to_string()).select("id"))?).await?;
    if rest::rows(&inserted)
        .map_err(|e| not_found_as_workflow(e, workflow_id.is_some()))?
        .is_empty()
    {
        return Err(ApiError::upstream("execution insert returned no row"));
    }
    p.log(&format!(
        "execution {execution_id} started workflow={} user={} nodes={}",
        workflow_id_text.as_deref().unwrap_or("unsaved"),
        user.user_id,
        graph.nodes().len()
    ));

    let ctx = RunContext {
        execution_id: execution_id.clone(),
        workflow_id: workflow_id_text.clone(),
        trigger,
    };
    let owner_id = user.user_id.to_string();
    let mut env = RunEnv::new(
        config,
        &owner_id,
        &user.token,
        &execution_id,
        workflow_id_text.as_deref(),
        p.now_ms(),
    );
    env.crm_api_url = config.crm_api_url.as_deref();
    let actions = Actions { env, out: p };
    let report = execute(&graph, &ctx, &actions, p, &limits).await;

    let finish = json!({
        "status": report.status,
        "success": report.success,
        "error_count": report.error_count,
        "execution_time_ms": report.duration_ms,
        "finished_at": rfc3339_from_ms(report.started_at_ms + report.duration_ms),
        "results": report.results,
    });
    let builder = || {
        db.from(TABLE)
            .eq("id", &execution_id)
            .update(finish.to_string())
            .select("*")
    };
    // One retry: losing a finished run's record is worse than a slow answer.
    let completed = match send_rest(p, capture(builder())?)
        .await
        .and_then(|r| rest::one_row(&r))
    {
        Ok(Some(row)) => row,
        first => {
            p.log(&format!(
                "execution {execution_id}: completing the log failed ({first:?}); retrying"
            ));
            rest::one_row(&send_rest(p, capture(builder())?).await?)?
                .ok_or_else(|| ApiError::upstream("execution row vanished before completion"))?
        }
    };
    p.log(&format!(
        "execution {execution_id} {} in {} ms ({} failed of {} nodes)",
        completed["status"].as_str().unwrap_or("?"),
        report.duration_ms,
        report.error_count,
        report.results.len()
    ));
    Ok(ApiResponse::json(200, json!({"execution": completed})))
}

/// An insert refused by RLS means the workflow is not the caller's.
fn not_found_as_workflow(err: ApiError, saved: bool) -> ApiError {
    match err {
        ApiError::Forbidden(_) | ApiError::Conflict(_) if saved => {
            ApiError::NotFound("workflow not found".into())
        }
        other => other,
    }
}
