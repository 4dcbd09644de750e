//! Calls to operator-configured HTTP endpoints (the scoring service, a CRM
//! mapping): a JSON POST carrying the owner's token because those actions
//! declare `requiresAuth`.
//!
//! These URLs come from the worker's configuration, not from a workflow, so
//! the private-address rule does not apply (a local stack points them at
//! 127.0.0.1). They are still never followed through a redirect: a 3xx is
//! an error, so the token cannot be bounced to another host.

use super::outcome::{fatal, json_body, status_error, transport_error};
use crate::engine::ActionError;
use crate::http::{HttpRequest, HttpResponse, Outbound};
use serde_json::Value;

/// A JSON POST to `url` with `Authorization: Bearer <token>`.
pub fn build(url: &str, token: &str, body: &Value) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: url.to_string(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {token}")),
        ],
        body: Some(body.to_string().into_bytes()),
    }
}

/// The JSON answer of a 2xx, or the grouped error.
pub fn parse(what: &str, resp: &HttpResponse) -> Result<Value, ActionError> {
    match resp.status {
        200..=299 if resp.body.iter().all(u8::is_ascii_whitespace) => Ok(Value::Null),
        200..=299 => json_body(what, resp),
        300..=399 => Err(fatal(format!(
            "{what} answered a redirect (HTTP {}); configured endpoints are never followed",
            resp.status
        ))),
        _ => Err(status_error(what, resp)),
    }
}

/// Builds, sends and parses one call.
pub async fn call<O: Outbound>(
    out: &O,
    what: &str,
    url: &str,
    token: &str,
    body: &Value,
) -> Result<Value, ActionError> {
    let resp = out
        .send(build(url, token, body))
        .await
        .map_err(|e| transport_error(what, e))?;
    parse(what, &resp)
}
