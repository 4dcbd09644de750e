//! PostgREST writes as the workflow owner, sent through the `Outbound`
//! port like every other request: the `postgrest` crate builds the request,
//! `rest::map_error` reads a failure, and the status decides the grouping.

use super::outcome::{fatal, is_retryable_status, retryable, transport_error};
use super::RunEnv;
use crate::engine::ActionError;
use crate::http::{HttpResponse, Outbound};
use crate::rest::{self, RestClient};
use serde_json::Value;

/// A client that writes as the owner: their token plus the anon `apikey`.
pub fn client(env: &RunEnv<'_>) -> RestClient {
    RestClient::for_token(env.config, env.owner_token)
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
    send(out, table, builder)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| {
            fatal(format!(
                "writing {table} returned no row (not allowed for this user?)"
            ))
        })
}
