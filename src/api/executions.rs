//! Execution routes: run a saved workflow (or an unsaved test document) as
//! the caller, in the request or through the `RUNS` queue; read the run log
//! (in progress: the steps journaled so far); cancel a run. The run's own
//! life (journal, lease, completion, yield) is `api::runs`.

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::body::{json_object, pagination, type_name};
use super::journal;
use super::runs::{self, NewRun, Owner, Resume, TABLE};
use super::timeline::timeline_svg;
use super::workflows::fetch as fetch_workflow;
use super::{ApiRequest, ApiResponse, Platform};
use crate::actions::RunEnv;
use crate::api::router::{parse_id, Route};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::engine::validate;
use crate::error::ApiError;
use crate::limits::{Limits, MAX_IDEMPOTENCY_KEY_CHARS};
use crate::rest::{self, RestClient};

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
                asynchronous: wants_async(req),
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
                        version: None,
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
                asynchronous: wants_async(req),
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
        Route::GetExecution(id) => Ok(ApiResponse::json(
            200,
            json!({"execution": current(&db, p, id, false).await?}),
        )),
        Route::StreamTicket(id) => {
            current(&db, p, id, false).await?;
            let ticket = super::sse::ticket(config, id, user.user_id, p.now_ms() / 1000)?;
            Ok(ApiResponse::json(
                200,
                json!({"ticket": ticket, "expiresIn": crate::limits::STREAM_TICKET_TTL_SECS,
                       "url": format!("/api/executions/{id}/events?ticket={ticket}")}),
            ))
        }
        Route::Timeline(id) => {
            let svg = timeline_svg(&current(&db, p, id, true).await?);
            Ok(ApiResponse::bytes(
                200,
                "image/svg+xml; charset=utf-8",
                svg.into_bytes(),
            ))
        }
        Route::CancelExecution(id) => {
            let params = json!({"p_execution_id": id.to_string()});
            if let Some(row) = rest::one_row(&rest::send(p, db.rpc("cancel_run", &params)).await?)? {
                p.log(&format!("execution {id} cancelled by its owner"));
                return Ok(ApiResponse::json(200, json!({"execution": row})));
            }
            match runs::read(&db, p, &id.to_string()).await? {
                Some(row) => Err(ApiError::Conflict(format!(
                    "the run already ended ({}); only queued, running or waiting runs can be cancelled",
                    row["status"].as_str().unwrap_or("?")
                ))),
                None => Err(ApiError::NotFound("execution not found".into())),
            }
        }
        other => Err(ApiError::internal(format!(
            "route {other:?} reached the execution handler"
        ))),
    }
}

/// One run as its owner sees it now: in progress, with the steps settled
/// so far as its results, so polling shows progress; with `in_flight` also
/// the steps running now, so the timeline draws them as far as they got.
async fn current<P: Platform>(db: &RestClient, p: &P, id: Uuid, in_flight: bool) -> Result<Value, ApiError> {
    let mut row = runs::read(db, p, &id.to_string())
        .await?
        .ok_or_else(|| ApiError::NotFound("execution not found".into()))?;
    if !runs::is_final(row["status"].as_str().unwrap_or("")) {
        let steps = journal::steps(db, p, &id.to_string()).await?;
        row["results"] = Value::Array(journal::results(&steps, in_flight.then(|| p.now_ms())));
    }
    Ok(row)
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
    /// `Prefer: respond-async`: answer 202 at once, run from the queue.
    asynchronous: bool,
}

async fn run_saved<P: Platform>(
    c: &Caller<'_, P>,
    id: Uuid,
    ask: RunRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    let workflow = fetch_workflow(c.db, c.p, id).await?;
    let doc = Document {
        workflow_id: Some(id),
        version: workflow["version"].as_i64(),
        nodes: &workflow["nodes"],
        edges: &workflow["edges"],
    };
    run(c, doc, ask).await
}

/// Validates, logs the run with its document, then either runs it in this
/// request (default) or hands it to the `RUNS` queue (`Prefer: respond-async`).
async fn run<P: Platform>(
    c: &Caller<'_, P>,
    doc: Document<'_>,
    ask: RunRequest<'_>,
) -> Result<ApiResponse, ApiError> {
    let Caller { config, user, db, p } = *c;
    let RunRequest {
        trigger,
        key,
        asynchronous,
    } = ask;
    let workflow_id = doc.workflow_id;
    let graph = validate(doc.nodes, doc.edges, &Limits::default()).map_err(ApiError::InvalidWorkflow)?;
    let owner = Owner {
        user_id: user.user_id,
        token: user.token.clone(),
    };
    let owner_id = user.user_id.to_string();
    let redactor = RunEnv::new(config, &owner_id, &user.token, "", None, 0).redactor();
    let new_run = NewRun {
        workflow_id,
        workflow_version: doc.version,
        nodes: doc.nodes,
        edges: doc.edges,
        trigger: trigger.clone(),
        trigger_type: graph.trigger_type().as_str(),
        idempotency_key: key,
        queued: asynchronous,
        parent: None,
    };
    let (execution_id, start) =
        runs::insert_row(&new_run, &owner, &redactor, p.now_ms(), config.runs.lease_ms);
    let inserted = rest::send(p, db.from(TABLE).insert(start.to_string()).select("*")).await?;
    let row = match rest::rows(&inserted) {
        Ok(rows) => rows
            .into_iter()
            .next()
            .ok_or_else(|| ApiError::upstream("execution insert returned no row"))?,
        Err(conflict @ ApiError::Conflict(_)) if key.is_some() => {
            let asked = Asked {
                key: key.unwrap_or_default(),
                workflow_id,
                trigger_data: &start["trigger_data"],
            };
            return replay(asked, conflict, db, p).await;
        }
        Err(e) => return Err(not_found_as_workflow(e, workflow_id.is_some())),
    };
    p.log(&format!(
        "execution {execution_id} {} workflow={} version={} user={} nodes={}",
        if asynchronous { "queued" } else { "started" },
        workflow_id.map(|w| w.to_string()).as_deref().unwrap_or("unsaved"),
        doc.version.map(|v| v.to_string()).as_deref().unwrap_or("-"),
        user.user_id,
        graph.nodes().len()
    ));
    if asynchronous {
        runs::hand_to_queue(p, &execution_id, &owner_id).await;
        let mut resp = ApiResponse::json(202, json!({"execution": row}));
        resp.headers
            .push(("Location", format!("/api/executions/{execution_id}")));
        resp.headers.push(("Preference-Applied", "respond-async".into()));
        return Ok(resp);
    }
    let from = Resume {
        trigger,
        journaled: vec![],
    };
    let row = runs::drive(config, p, &owner, &row, &graph, from).await?;
    Ok(ApiResponse::json(200, json!({"execution": row})))
}

/// Whether the request asks for an asynchronous answer (RFC 7240), or for
/// the live stream (then the run goes to the queue and the stream follows it).
fn wants_async(req: &ApiRequest) -> bool {
    wants_stream(req)
        || req.header("prefer").is_some_and(|prefer| {
            prefer
                .split([',', ';'])
                .any(|token| token.trim().eq_ignore_ascii_case("respond-async"))
        })
}

/// `Accept: text/event-stream`.
pub fn wants_stream(req: &ApiRequest) -> bool {
    req.header("accept")
        .is_some_and(|a| a.contains("text/event-stream"))
}

/// What to run: a saved workflow's document (and its version), or an unsaved one.
struct Document<'a> {
    workflow_id: Option<Uuid>,
    version: Option<i64>,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
