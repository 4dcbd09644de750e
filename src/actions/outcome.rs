//! How executors report failures, and the small input readers they share.
//!
//! Grouping follows the engine's contract: no answer, 5xx, 408, 429 and
//! timeouts can succeed on a later attempt (`Retryable`); other 4xx, bad
//! input, oversized answers, refused targets and configuration gaps cannot
//! (`Fatal`). Transport failures are grouped by `TransportError` itself.

use crate::engine::ActionError;
use crate::http::{HttpResponse, TransportError};
use serde_json::Value;

pub fn fatal(message: impl Into<String>) -> ActionError {
    ActionError::Fatal(message.into())
}

pub fn retryable(message: impl Into<String>) -> ActionError {
    ActionError::Retryable(message.into())
}

/// Whether an HTTP status is worth another attempt.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || status == 408 || status >= 500
}

/// The error for a non-2xx answer: `what` names the endpoint, the status is
/// always in the message, and a short excerpt of the body when there is one.
/// Headers never are.
pub fn status_error(what: &str, resp: &HttpResponse) -> ActionError {
    let excerpt = body_excerpt(&resp.body);
    let message = if excerpt.is_empty() {
        format!("{what} answered HTTP {}", resp.status)
    } else {
        format!("{what} answered HTTP {}: {excerpt}", resp.status)
    };
    if is_retryable_status(resp.status) {
        retryable(message)
    } else {
        fatal(message)
    }
}

/// The error of a call that got no usable answer; whether it is retried
/// is `TransportError::is_retryable`'s decision, made once for every caller.
pub fn transport_error(what: &str, e: TransportError) -> ActionError {
    let message = match &e {
        TransportError::NoAnswer(cause) => format!("{what} could not be reached: {cause}"),
        TransportError::Refused(why) => why.clone(),
        other => format!("{what}: {other}"),
    };
    if e.is_retryable() {
        retryable(message)
    } else {
        fatal(message)
    }
}

/// The message of an error body, on one line. Not cut here: the runner
/// redacts secrets first and cuts after (`Redactor::error_text`).
fn body_excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| {
            ["message", "error", "msg", "detail"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| text.into_owned());
    let one_line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    one_line.trim().to_string()
}

/// A non-blank string input, trimmed; `None` when absent, null or blank.
pub fn opt_str<'v>(inputs: &'v Value, name: &str) -> Option<&'v str> {
    inputs
        .get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// A required string input, as the engine's check left it; re-checked here
/// so an executor never trusts its caller blindly.
pub fn req_str<'v>(inputs: &'v Value, name: &str) -> Result<&'v str, ActionError> {
    match inputs.get(name) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            Err(fatal(format!("input {name:?} is required")))
        }
        Some(_) => Err(fatal(format!("input {name:?} must be a string"))),
    }
}

/// A non-null input of any type.
pub fn opt_value<'v>(inputs: &'v Value, name: &str) -> Option<&'v Value> {
    inputs
        .get(name)
        .filter(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()))
}

/// A JSON answer body, or a fatal error naming the endpoint.
pub fn json_body(what: &str, resp: &HttpResponse) -> Result<Value, ActionError> {
    serde_json::from_slice(&resp.body).map_err(|_| {
        fatal(format!(
            "{what} answered HTTP {} with a body that is not JSON",
            resp.status
        ))
    })
}
