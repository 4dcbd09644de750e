//! PostgREST writes as the workflow owner, sent through the `Outbound`
//! port like every other request: the `postgrest` crate builds the request,
//! `rest::map_error` reads a failure, and the status decides the grouping.
//!
//! Exactly-once inserts ([`insert_once`]): the row carries the call's
//! `step_key`, which `deals`, `notifications` and `email_outbox` hold under
//! a unique index on `(user_id, step_key)`. When an earlier attempt of the
//! same step already committed its row (it timed out after the commit, the
//! worker was evicted before journaling the step, ...), the insert fails
//! with `23505` (HTTP 409); the row is then read by its key and returned as
//! if just written. A 409 for anything else (no row has the key) stays the
//! error it was.

use super::outcome::{fatal, is_retryable_status, retryable, transport_error};
use super::RunEnv;
use crate::engine::ActionError;
use crate::http::{HttpResponse, Outbound};
use crate::rest::{self, RestClient};
use serde_json::{json, Value};

/// The request header naming the run behind a write. The outbox triggers
/// read it (PostgREST's `request.headers`) into `caused_by_execution`, so
/// an event a run caused never starts that run's workflow again.
pub const EXECUTION_HEADER: &str = "x-edgeflow-execution";

/// A client that writes as the owner: their token plus the anon `apikey`,
/// and the run's id in `x-edgeflow-execution`.
pub fn client(env: &RunEnv<'_>) -> RestClient {
    let client = RestClient::for_token(env.config, env.owner_token);
    if env.execution_id.is_empty() {
        client
    } else {
        client.with_header(EXECUTION_HEADER, env.execution_id)
    }
}

/// The rows of an answer, or the error grouped by status: 5xx and 429 are
/// worth retrying, every other refusal (409 conflict, 400 check, 403 RLS) is not.
pub fn parse(table: &str, resp: &HttpResponse) -> Result<Vec<Value>, ActionError> {
    rest::rows(resp).map_err(|e| {
        let message = format!("writing {table} failed: HTTP {} ({})", resp.status, e.message());
        if is_retryable_status(resp.status) {
            retryable(message)
        } else {
            fatal(message)
        }
    })
}

/// Whether an answer is PostgREST's refusal of a duplicate key (`23505`).
/// Which unique index it was is not said; reading by the key tells.
pub fn is_unique_violation(resp: &HttpResponse) -> bool {
    resp.status == 409
        && serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| v.get("code").and_then(Value::as_str).map(|c| c == "23505"))
            .unwrap_or(false)
}

/// Sends a built request and returns the rows.
pub async fn send<O: Outbound>(
    out: &O,
    table: &str,
    builder: postgrest::Builder,
) -> Result<Vec<Value>, ActionError> {
    let resp = rest::send(out, builder)
        .await
        .map_err(|e| transport_error("the database (PostgREST)", e))?;
    parse(table, &resp)
}

/// Like [`send`] for writes that must produce exactly one row.
pub async fn send_one<O: Outbound>(
    out: &O,
    table: &str,
    builder: postgrest::Builder,
) -> Result<Value, ActionError> {
    first(table, send(out, table, builder).await?)
}

fn first(table: &str, rows: Vec<Value>) -> Result<Value, ActionError> {
    rows.into_iter().next().ok_or_else(|| {
        fatal(format!(
            "writing {table} returned no row (not allowed for this user?)"
        ))
    })
}

/// Inserts `row` (an object) into `table` with `step_key: key` and returns
/// the stored row, or the row an earlier attempt of the same step stored
/// (see the module note).
pub async fn insert_once<O: Outbound>(
    env: &RunEnv<'_>,
    out: &O,
    table: &str,
    mut row: Value,
    key: &str,
) -> Result<Value, ActionError> {
    row["step_key"] = json!(key);
    let insert = client(env).from(table).insert(row.to_string());
    let resp = rest::send(out, insert)
        .await
        .map_err(|e| transport_error("the database (PostgREST)", e))?;
    if is_unique_violation(&resp) {
        // RLS shows only the owner's rows, and the key is unique per owner.
        let read = client(env).from(table).select("*").eq("step_key", key);
        if let Some(existing) = send(out, table, read).await?.into_iter().next() {
            return Ok(existing);
        }
    }
    first(table, parse(table, &resp)?)
}
