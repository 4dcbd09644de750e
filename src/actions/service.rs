//! Calls to operator-configured HTTP endpoints (the scoring service, a CRM
//! mapping): a JSON POST carrying the owner's token because those actions
//! declare `requiresAuth`.
//!
//! These URLs come from the worker's configuration, not from a workflow, so
//! the private-address rule does not apply (a local stack points them at
//! 127.0.0.1). They are still never followed through a redirect: a 3xx is
//! an error, so the token cannot be bounced to another host.
//!
//! Every call carries the step key as `Idempotency-Key` (the same on each
//! attempt of a step), so a service can answer a repeated call with its
//! first result instead of acting twice. Node ids are typed by users, so
//! bytes a header value cannot hold (controls, spaces, non-ASCII) and `%`
//! are written `%XX`; the usual ids (letters, digits, `-`, `_`) go as is.

use super::outcome::{fatal, json_body, status_error, transport_error};
use crate::engine::ActionError;
use crate::http::{HttpRequest, HttpResponse, Outbound};
use serde_json::Value;

/// A JSON POST to `url` with `Authorization: Bearer <token>` and
/// `Idempotency-Key: <idempotency_key>`.
pub fn build(url: &str, token: &str, body: &Value, idempotency_key: &str) -> HttpRequest {
    HttpRequest {
        method: "POST".into(),
        url: url.to_string(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("accept".into(), "application/json".into()),
            ("authorization".into(), format!("Bearer {token}")),
            ("idempotency-key".into(), header_safe(idempotency_key)),
        ],
        body: Some(body.to_string().into_bytes()),
    }
}

/// `key` as a header value: visible ASCII but `%` as is, every other byte
/// `%XX` (one-to-one, so two step keys never share a header value).
pub fn header_safe(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
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
    idempotency_key: &str,
) -> Result<Value, ActionError> {
    let resp = out
        .send(build(url, token, body, idempotency_key))
        .await
        .map_err(|e| transport_error(what, e))?;
    parse(what, &resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_keys_become_header_values_one_to_one() {
        let key = "0b9a6c1e-1d2f-4a3b-8c4d-5e6f7a8b9c0d:action-1";
        assert_eq!(header_safe(key), key, "usual keys go unchanged");
        assert_eq!(header_safe("e:lead score\r\n"), "e:lead%20score%0D%0A");
        assert_eq!(header_safe("e:caf\u{e9}"), "e:caf%C3%A9");
        assert_ne!(header_safe("e:a b"), header_safe("e:a%20b"));
        let req = build("https://s.example/x", "t", &serde_json::json!({}), "e:a b");
        assert!(req
            .headers
            .contains(&("idempotency-key".into(), "e:a%20b".into())));
    }
}
