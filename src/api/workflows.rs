//! Workflow routes: list, read, create, update, delete and validate, through
//! PostgREST as the caller, so Row Level Security decides. Another user's
//! workflow is indistinguishable from a missing one (404).

use serde_json::{json, Map, Value};
use uuid::Uuid;

use super::body::{json_object, opt_array, opt_bool, opt_string, pagination};
use super::{ApiRequest, ApiResponse, Platform};
use crate::api::router::{parse_id, Route};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::engine::{check_structure, validate, Limits};
use crate::error::ApiError;
use crate::http::HttpResponse;
use crate::limits::MAX_NAME_CHARS;
use crate::rest::{self, RestClient};

const TABLE: &str = "workflows";

/// Dispatches the authenticated workflow routes.
pub async fn handle<P: Platform>(
    route: Route,
    req: &ApiRequest,
    config: &Config,
    user: &AuthUser,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let db = RestClient::for_token(config, &user.token);
    match route {
        Route::ListWorkflows => list(req, &db, p).await,
        Route::GetWorkflow(id) => Ok(ApiResponse::json(
            200,
            json!({"workflow": fetch(&db, p, id).await?}),
        )),
        Route::CreateWorkflow => create(req, user, &db, p).await,
        Route::UpdateWorkflow(id) => update(id, req, &db, p).await,
        Route::UpdateWorkflowSeed => {
            let body = json_object(req, false)?;
            let raw =
                opt_string(&body, "id")?.ok_or_else(|| ApiError::invalid_field("id", "`id` is required"))?;
            update(parse_id(&raw, "workflow")?, req, &db, p).await
        }
        Route::DeleteWorkflow(id) => delete(id, &db, p).await,
        Route::DeleteWorkflowSeed => {
            let raw = req
                .query_param("id")
                .ok_or_else(|| ApiError::invalid_field("id", "query parameter `id` is required"))?;
            delete(parse_id(raw, "workflow")?, &db, p).await
        }
        Route::ValidateWorkflow => validate_route(req),
        other => Err(ApiError::internal(format!(
            "route {other:?} reached the workflow handler"
        ))),
    }
}

async fn send<P: Platform>(p: &P, builder: postgrest::Builder) -> Result<HttpResponse, ApiError> {
    Ok(rest::send(p, builder).await?)
}

async fn list<P: Platform>(req: &ApiRequest, db: &RestClient, p: &P) -> Result<ApiResponse, ApiError> {
    let (limit, offset) = pagination(req)?;
    let resp = send(
        p,
        // `exact_count` also sets `Range: 0-0` in the postgrest crate, so it
        // must come before `range`, which overwrites it with the page.
        db.from(TABLE)
            .select("*")
            .order("updated_at.desc,id.desc")
            .exact_count()
            .range(offset, offset + limit - 1),
    )
    .await?;
    let rows = rest::rows(&resp)?;
    let total = rest::total_count(&resp);
    Ok(ApiResponse::json(
        200,
        json!({"workflows": rows, "limit": limit, "offset": offset, "total": total}),
    ))
}

/// One workflow as the caller sees it, or 404.
pub async fn fetch<P: Platform>(db: &RestClient, p: &P, id: Uuid) -> Result<Value, ApiError> {
    let resp = send(p, db.from(TABLE).select("*").eq("id", id.to_string())).await?;
    rest::one_row(&resp)?.ok_or_else(not_found)
}

fn not_found() -> ApiError {
    ApiError::NotFound("workflow not found".into())
}

/// The writable fields of a body, checked for type and structure.
fn writable_fields(body: &Map<String, Value>) -> Result<Map<String, Value>, ApiError> {
    let mut out = Map::new();
    if let Some(name) = opt_string(body, "name")? {
        let name = name.trim().to_string();
        if name.is_empty() {
            return Err(ApiError::invalid_field("name", "`name` must not be empty"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ApiError::invalid_field(
                "name",
                format!("`name` must be at most {MAX_NAME_CHARS} characters"),
            ));
        }
        out.insert("name".into(), Value::String(name));
    }
    if let Some(description) = opt_string(body, "description")? {
        out.insert("description".into(), Value::String(description));
    }
    if let Some(nodes) = opt_array(body, "nodes")? {
        out.insert("nodes".into(), nodes.clone());
    }
    if let Some(edges) = opt_array(body, "edges")? {
        out.insert("edges".into(), edges.clone());
    }
    if let Some(active) = opt_bool(body, "is_active")? {
        out.insert("is_active".into(), Value::Bool(active));
    }
    Ok(out)
}

/// Structure always; full validation when the result is active.
fn check_document(nodes: &Value, edges: &Value, active: bool) -> Result<(), ApiError> {
    check_structure(nodes, edges).map_err(ApiError::InvalidWorkflow)?;
    if active {
        validate(nodes, edges, &Limits::default()).map_err(ApiError::InvalidWorkflow)?;
    }
    Ok(())
}

async fn create<P: Platform>(
    req: &ApiRequest,
    user: &AuthUser,
    db: &RestClient,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    create_from(&json_object(req, false)?, user, db, p).await
}

/// Creates a workflow of `user` from a body of writable fields, as the
/// caller: `POST /api/workflows`, and a template's instantiation.
pub(super) async fn create_from<P: Platform>(
    body: &Map<String, Value>,
    user: &AuthUser,
    db: &RestClient,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let mut fields = writable_fields(body)?;
    if !fields.contains_key("name") {
        return Err(ApiError::invalid_field("name", "`name` is required"));
    }
    let empty = json!([]);
    let nodes = fields.get("nodes").unwrap_or(&empty);
    let edges = fields.get("edges").unwrap_or(&empty);
    let active = fields.get("is_active").and_then(Value::as_bool).unwrap_or(false);
    check_document(nodes, edges, active)?;
    fields.insert("user_id".into(), Value::String(user.user_id.to_string()));
    let resp = send(
        p,
        db.from(TABLE)
            .insert(Value::Object(fields).to_string())
            .select("*"),
    )
    .await?;
    let row = rest::one_row(&resp)?.ok_or_else(|| ApiError::upstream("insert returned no row"))?;
    p.log(&format!(
        "workflow created id={} user={}",
        row["id"], user.user_id
    ));
    Ok(ApiResponse::json(201, json!({"workflow": row})))
}

async fn update<P: Platform>(
    id: Uuid,
    req: &ApiRequest,
    db: &RestClient,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let body = json_object(req, false)?;
    let fields = writable_fields(&body)?;
    // Validate the document as it will be after the update.
    let current = fetch(db, p, id).await?;
    if fields.is_empty() {
        return Ok(ApiResponse::json(200, json!({"workflow": current})));
    }
    let pick = |k: &str| fields.get(k).unwrap_or(&current[k]).clone();
    let active = pick("is_active").as_bool().unwrap_or(false);
    check_document(&pick("nodes"), &pick("edges"), active)?;
    let resp = send(
        p,
        db.from(TABLE)
            .eq("id", id.to_string())
            .update(Value::Object(fields).to_string())
            .select("*"),
    )
    .await?;
    let row = rest::one_row(&resp)?.ok_or_else(not_found)?;
    Ok(ApiResponse::json(200, json!({"workflow": row})))
}

/// `POST /api/workflows/{id}/trigger-key/rotate`: a new form-hook key
/// (generated by the database); the old one stops working at once.
pub async fn rotate_trigger_key<P: Platform>(
    id: Uuid,
    config: &Config,
    user: &AuthUser,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let db = RestClient::for_token(config, &user.token);
    let resp = send(
        p,
        db.rpc("rotate_trigger_key", &json!({"p_workflow_id": id.to_string()})),
    )
    .await?;
    let row = rest::one_row(&resp)?.ok_or_else(not_found)?;
    p.log(&format!("workflow {id}: trigger key rotated"));
    Ok(ApiResponse::json(200, json!({"workflow": row})))
}

async fn delete<P: Platform>(id: Uuid, db: &RestClient, p: &P) -> Result<ApiResponse, ApiError> {
    // `delete()` asks for the deleted rows: none means "not yours or not there".
    let resp = send(p, db.from(TABLE).eq("id", id.to_string()).delete().select("id")).await?;
    if rest::rows(&resp)?.is_empty() {
        return Err(not_found());
    }
    p.log(&format!("workflow deleted id={id}"));
    Ok(ApiResponse::json(200, json!({"deleted": id.to_string()})))
}

fn validate_route(req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let body = json_object(req, false)?;
    // Accept a bare document or one wrapped as {"workflow": {...}}.
    let doc = match body.get("workflow") {
        Some(Value::Object(inner)) => inner.clone(),
        _ => body,
    };
    let nodes = doc.get("nodes").cloned().unwrap_or(Value::Null);
    let edges = doc.get("edges").cloned().unwrap_or_else(|| json!([]));
    check_document(&nodes, &edges, true)?;
    Ok(ApiResponse::json(200, json!({"valid": true})))
}
