//! Execution routes: run a saved workflow (or an unsaved test document) as
//! the caller, and read the run log. Each run costs three bookkeeping calls,
//! whatever its size: read the workflow, insert the `running` row before the
//! first step, complete it after the last.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::body::{json_object, pagination, type_name};
use super::workflows::fetch as fetch_workflow;
use super::{ApiRequest, ApiResponse, Platform};
use crate::actions::{Actions, RunEnv};
use crate::api::router::{parse_id, Route};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::engine::time::rfc3339_from_ms;
use crate::engine::{execute, validate, Budget, Limits, NoJournal, NodeResult, RunContext};
use crate::error::ApiError;
use crate::limits::{MAX_IDEMPOTENCY_KEY_CHARS, MAX_RESULTS_BYTES};
use crate::rest::{self, RestClient};

const TABLE: &str = "workflow_executions";

/// Dispatches the execution routes.
pub async fn handle<P: Platform>(
    route: Route,
    req: &ApiRequest,
    config: &Config,
    user: &AuthUser,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let db = RestClient::for_token(config, &user.token);
    let caller = Caller {
        config,
        user,
        db: &db,
        p,
    };
    match route {
        Route::ExecuteSeed => {
            let key = idempotency_key(req)?;
            let body = json_object(req, false)?;
            let ask = RunRequest {
                trigger: trigger_data(&body)?,
                key,
            };
            match (body.get("workflowId"), body.get("workflow")) {
                (Some(Value::String(raw)), _) => run_saved(&caller, parse_id(raw, "workflow")?, ask).await,
                (Some(other), _) => Err(ApiError::invalid_field(
                    "workflowId",
                    format!("`workflowId` must be a string, not {}", type_name(other)),
                )),
                (None, Some(Value::Object(doc))) => {
                    let nodes = doc.get("nodes").cloned().unwrap_or(Value::Null);
                    let edges = doc.get("edges").cloned().unwrap_or_else(|| json!([]));
                    let doc = Document {
                        workflow_id: None,
                        nodes: &nodes,
                        edges: &edges,
                    };
                    run(&caller, doc, ask).await
                }
                (None, _) => Err(ApiError::invalid_field(
                    "workflowId",
                    "either `workflowId` or a `workflow` object with nodes and edges is required",
                )),
            }
        }
        Route::ExecuteWorkflow(id) => {
            let key = idempotency_key(req)?;
            let body = json_object(req, true)?;
            let ask = RunRequest {
                trigger: trigger_data(&body)?,
                key,
            };
            run_saved(&caller, id, ask).await
        }
        Route::ListExecutions(id) => {
            let (limit, offset) = pagination(req)?;
            // 404 for a workflow the caller cannot see, rather than an empty list.
            fetch_workflow(&db, p, id).await?;
            let builder = db
                .from(TABLE)
                .select("*")
                .eq("workflow_id", id.to_string())
                .order("executed_at.desc,id.desc")
                .range(offset, offset + limit - 1);
            let rows = rest::rows(&rest::send(p, builder).await?)?;
            Ok(ApiResponse::json(
                200,
                json!({"executions": rows, "limit": limit, "offset": offset}),
            ))
        }
        Route::GetExecution(id) => {
            let builder = db.from(TABLE).select("*").eq("id", id.to_string());
            let row = rest::one_row(&rest::send(p, builder).await?)?
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

/// Who runs, with what: the caller's identity and their database client.
struct Caller<'a, P> {
    config: &'a Config,
    user: &'a AuthUser,
    db: &'a RestClient,
    p: &'a P,
}

/// What an execute request asks for.
struct RunRequest<'a> {
    trigger: Value,
    key: Option<&'a str>,
}

async fn run_saved<P: Platform>(
    c: &Caller<'_, P>,
    id: Uuid,
    ask: RunRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    let workflow = fetch_workflow(c.db, c.p, id).await?;
    let doc = Document {
        workflow_id: Some(id),
        nodes: &workflow["nodes"],
        edges: &workflow["edges"],
    };
    run(c, doc, ask).await
}

/// Validates, logs the run as `running`, executes, completes the log row.
async fn run<P: Platform>(
    c: &Caller<'_, P>,
    doc: Document<'_>,
    ask: RunRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    let Caller { config, user, db, p } = *c;
    let RunRequest { trigger, key } = ask;
    let limits = Limits::default();
    let workflow_id = doc.workflow_id;
    let graph = validate(doc.nodes, doc.edges, &limits).map_err(ApiError::InvalidWorkflow)?;
    let execution_id = Uuid::now_v7().to_string();
    let workflow_id_text = workflow_id.map(|id| id.to_string());
    let owner_id = user.user_id.to_string();
    let env = RunEnv::new(
        config,
        &owner_id,
        &user.token,
        &execution_id,
        workflow_id_text.as_deref(),
        p.now_ms(),
    );
    // Stored trigger data and the trigger's result are redacted like every
    // output (a caller's token or a `password` field is never stored); the
    // run itself sees the data as sent.
    let redactor = env.redactor();

    let start = json!({
        "id": execution_id,
        "workflow_id": workflow_id_text,
        "user_id": user.user_id.to_string(),
        "status": "running",
        "trigger_type": graph.trigger_type().as_str(),
        "trigger_data": redactor.value(&trigger),
        "idempotency_key": key,
    });
    let inserted = rest::send(p, db.from(TABLE).insert(start.to_string()).select("id")).await?;
    match rest::rows(&inserted) {
        Ok(rows) if rows.is_empty() => return Err(ApiError::upstream("execution insert returned no row")),
        Ok(_) => {}
        Err(conflict @ ApiError::Conflict(_)) if key.is_some() => {
            let asked = Asked {
                key: key.unwrap_or_default(),
                workflow_id,
                trigger_data: &start["trigger_data"],
            };
            return replay(asked, conflict, db, p).await;
        }
        Err(e) => return Err(not_found_as_workflow(e, workflow_id.is_some())),
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
        journaled: vec![],
    };
    let actions = Actions::new(env, p);
    let mut report = execute(
        &graph,
        &ctx,
        &actions,
        p,
        &NoJournal,
        &limits,
        &Budget::unlimited(),
    )
    .await;
    for result in report.results.iter_mut().filter(|r| r.node_type == "trigger") {
        result.output = result.output.take().map(|o| redactor.value(&o));
    }

    let finish = json!({
        "status": report.status,
        "success": report.success,
        "error_count": report.error_count,
        "execution_time_ms": report.duration_ms,
        "finished_at": rfc3339_from_ms(report.started_at_ms + report.duration_ms),
        "results": fit_results(&report.results, MAX_RESULTS_BYTES),
    });
    let builder = || {
        db.from(TABLE)
            .eq("id", &execution_id)
            .update(finish.to_string())
            .select("*")
    };
    // One retry: losing a finished run's record is worse than a slow answer.
    let completed = match rest::send(p, builder())
        .await
        .map_err(ApiError::from)
        .and_then(|r| rest::one_row(&r))
    {
        Ok(Some(row)) => row,
        first => {
            p.log(&format!(
                "execution {execution_id}: completing the log failed ({first:?}); retrying"
            ));
            rest::one_row(&rest::send(p, builder()).await?)?
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

/// What to run: a saved workflow's document, or an unsaved one.
struct Document<'a> {
    workflow_id: Option<Uuid>,
    nodes: &'a Value,
    edges: &'a Value,
}

/// The optional `Idempotency-Key` header of an execute request.
fn idempotency_key(req: &ApiRequest) -> Result<Option<&str>, ApiError> {
    match req.header("idempotency-key").map(str::trim) {
        None => Ok(None),
        Some(k) if !k.is_empty() && k.chars().count() <= MAX_IDEMPOTENCY_KEY_CHARS => Ok(Some(k)),
        Some(_) => Err(ApiError::invalid_field(
            "Idempotency-Key",
            format!("the Idempotency-Key header must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
        )),
    }
}

/// An execute request carrying an `Idempotency-Key`, as its run would be stored.
struct Asked<'a> {
    key: &'a str,
    workflow_id: Option<Uuid>,
    /// The trigger data as stored (redacted), to compare with the stored row's.
    trigger_data: &'a Value,
}

/// A repeated execute request: answers with the run its key started
/// (finished, or still `running`) instead of starting another. The same key
/// with a different request (another workflow, other trigger data) is
/// `422 idempotency_key_reused`: replaying would answer a run of something
/// the caller did not ask for.
async fn replay<P: Platform>(
    asked: Asked<'_>,
    conflict: ApiError,
    db: &RestClient,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let builder = db.from(TABLE).select("*").eq("idempotency_key", asked.key);
    let Some(row) = rest::one_row(&rest::send(p, builder).await?)? else {
        return Err(conflict);
    };
    let same_target = row["workflow_id"].as_str() == asked.workflow_id.map(|id| id.to_string()).as_deref();
    let reused_for = if !same_target {
        Some("a request to another workflow")
    } else if !same_json(&row["trigger_data"], asked.trigger_data) {
        Some("a request with other triggerData")
    } else {
        None
    };
    if let Some(what) = reused_for {
        return Err(ApiError::IdempotencyKeyReused(format!(
            "this Idempotency-Key was already used for {what}; use a new key for a new request"
        )));
    }
    p.log(&format!("execution {} replayed for Idempotency-Key", row["id"]));
    let mut resp = ApiResponse::json(200, json!({"execution": row}));
    resp.headers.push(("Idempotent-Replayed", "true".into()));
    Ok(resp)
}

/// JSON equality as Postgres `jsonb` keeps it: numbers compare by value
/// (`jsonb` answers `1e2` as `100`), objects regardless of member order.
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(x), Some(y), _, _) => x == y,
            (_, _, Some(x), Some(y)) => x == y,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
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
    let size = |v: &Value| v.to_string().len();
    let mut total: usize = values.iter().map(size).sum();
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
    fn trigger_data_compares_as_jsonb_stores_it() {
        let asked = json!({"email": "ada@example.com", "score": 100, "tags": ["a", 1.5], "n": null});
        let stored = serde_json::from_str(
            r#"{"n": null, "tags": ["a", 1.50], "score": 1e2, "email": "ada@example.com"}"#,
        )
        .unwrap();
        assert!(same_json(&stored, &asked));
        for other in [
            json!({"email": "ada@example.com", "score": 101, "tags": ["a", 1.5], "n": null}),
            json!({"email": "ada@example.com", "score": 100, "tags": ["a", 1.5]}),
            json!({"email": "ada@example.com", "score": "100", "tags": ["a", 1.5], "n": null}),
            json!({"email": "ada@example.com", "score": 100, "tags": [1.5, "a"], "n": null}),
        ] {
            assert!(!same_json(&other, &asked), "{other}");
        }
        assert!(!same_json(&json!(u64::MAX), &json!(-1)));
    }

    #[test]
    fn idempotency_keys_are_bounded() {
        let with = |v: &str| ApiRequest {
            headers: vec![("idempotency-key".into(), v.into())],
            ..Default::default()
        };
        assert_eq!(idempotency_key(&ApiRequest::default()).unwrap(), None);
        assert_eq!(idempotency_key(&with(" order-1 ")).unwrap(), Some("order-1"));
        for bad in ["   ", &"x".repeat(MAX_IDEMPOTENCY_KEY_CHARS + 1)] {
            let err = idempotency_key(&with(bad)).unwrap_err();
            assert_eq!(err.details().unwrap()["field"], "Idempotency-Key");
        }
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
