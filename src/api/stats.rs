//! Run statistics per workflow (`GET /api/workflows/{id}/stats`) and for
//! all of the caller's workflows (`GET /api/stats`), computed in the
//! database by `workflow_stats()` / `all_workflow_stats()` under RLS
//! (security invoker): the worker only forwards the answer.

use serde_json::{json, Value};
use uuid::Uuid;

use super::{ApiRequest, ApiResponse, Platform};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::error::ApiError;
use crate::limits::{DEFAULT_STATS_DAYS, MAX_STATS_DAYS};
use crate::rest::{self, RestClient};

/// `?days=N`: 1 to `MAX_STATS_DAYS`, default `DEFAULT_STATS_DAYS`.
pub fn days(req: &ApiRequest) -> Result<u32, ApiError> {
    match req.query_param("days") {
        None | Some("") => Ok(DEFAULT_STATS_DAYS),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (1..=MAX_STATS_DAYS).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid_field(
                "days",
                format!("`days` must be a whole number from 1 to {MAX_STATS_DAYS}"),
            )),
        },
    }
}

/// Answers the stats of one workflow (`Some(id)`) or of all.
pub async fn handle<P: Platform>(
    workflow: Option<Uuid>,
    req: &ApiRequest,
    config: &Config,
    user: &AuthUser,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let days = days(req)?;
    let db = RestClient::for_token(config, &user.token);
    let (function, params) = match workflow {
        Some(id) => (
            "workflow_stats",
            json!({"p_workflow_id": id.to_string(), "p_days": days}),
        ),
        None => ("all_workflow_stats", json!({"p_days": days})),
    };
    let resp = rest::send(p, db.rpc(function, &params)).await?;
    if !(200..300).contains(&resp.status) {
        return Err(rest::map_error(&resp));
    }
    // PostgREST answers a scalar function's value as the body itself.
    let value: Value = if resp.body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&resp.body)
            .map_err(|e| ApiError::upstream(format!("{function}() answered unparsable JSON ({e})")))?
    };
    match (workflow, value) {
        (Some(_), Value::Null) => Err(ApiError::NotFound("workflow not found".into())),
        (Some(_), stats) => Ok(ApiResponse::json(200, json!({"stats": stats, "days": days}))),
        (None, Value::Null) => Ok(ApiResponse::json(200, json!({"workflows": [], "days": days}))),
        (None, all) => Ok(ApiResponse::json(200, json!({"workflows": all, "days": days}))),
    }
}
