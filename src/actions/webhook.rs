//! `webhook_call`: a signed JSON request to a user-typed URL.
//!
//! Inputs: `url`, `method` (GET POST PUT PATCH DELETE, default POST),
//! `headers` (object of string values), `body` (any JSON, sent as JSON for
//! every method but GET). Output: `{status, body}`, `body` parsed when the
//! answer is JSON, else text (null when empty), cut at 64 KiB with
//! `truncated: true`. A non-2xx answer fails the node: 5xx, 429 and 408 are
//! retried, other statuses are not.
//!
//! Safety: the URL and every redirect hop pass the target guard (`ssrf`);
//! at most 3 redirects are followed (303, and 301/302 after a POST, switch
//! to GET as `fetch` does); a cross-origin hop drops the user's
//! `Authorization` and `Cookie`. Nothing of the server's is ever sent here:
//! no owner token, no key; a request that would carry one is refused.
//! Every request is signed with Standard Webhooks headers (`signing`).

use super::outcome::{fatal, opt_str, opt_value, req_str, status_error, transport_error};
use super::redact::Redactor;
use super::signing;
use super::ssrf::{self, Refusal, Target};
use crate::engine::ActionError;
use crate::http::{HttpRequest, HttpResponse, Outbound, TransportError};
use crate::limits::{MAX_REDIRECTS, WEBHOOK_BODY_KEPT_BYTES};
use serde_json::{json, Value};

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];

/// What the request is made of, checked; the URL is checked separately.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub url: String,
    pub method: String,
    /// The user's headers, names lower-case.
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// How requests are signed.
pub struct Signer {
    /// The workflow owner's signing keys.
    pub keys: signing::SigningKeys,
    pub message_id: String,
    pub timestamp_s: u64,
}

/// Reads and checks the inputs. `redactor` knows the run's secrets; a
/// request that would carry one of them is refused.
pub fn parse_inputs(inputs: &Value, redactor: &Redactor) -> Result<Call, ActionError> {
    let url = req_str(inputs, "url")?.trim().to_string();
    let method = opt_str(inputs, "method").unwrap_or("POST").to_ascii_uppercase();
    if !METHODS.contains(&method.as_str()) {
        return Err(fatal(format!(
            "method {method:?} is not allowed (use {})",
            METHODS.join(", ")
        )));
    }
    let headers = match opt_value(inputs, "headers") {
        None => vec![],
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, value)| header(name, value))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(fatal("input \"headers\" must be an object of strings")),
    };
    let body = match opt_value(inputs, "body") {
        Some(v) if method != "GET" => Some(v.to_string().into_bytes()),
        _ => None,
    };
    let carried = headers.iter().any(|(_, v)| redactor.leaks(v))
        || body
            .as_deref()
            .is_some_and(|b| redactor.leaks(&String::from_utf8_lossy(b)));
    if carried || redactor.leaks(&url) {
        return Err(fatal(
            "webhook_call refused: the request would carry a server credential",
        ));
    }
    Ok(Call {
        url,
        method,
        headers,
        body,
    })
}

fn header(name: &str, value: &Value) -> Result<(String, String), ActionError> {
    let lower = name.to_ascii_lowercase();
    let token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if lower.is_empty() || !lower.chars().all(token_char) {
        return Err(fatal(format!("header name {name:?} is not valid")));
    }
    const FORBIDDEN: &[&str] = &[
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "expect",
    ];
    if FORBIDDEN.contains(&lower.as_str()) || ["proxy-", "sec-", "cf-"].iter().any(|p| lower.starts_with(p)) {
        return Err(fatal(format!("header {name:?} may not be set")));
    }
    if lower.starts_with("webhook-") {
        return Err(fatal(format!(
            "header {name:?} is reserved for the request signature"
        )));
    }
    let value = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => return Err(fatal(format!("header {name:?} must have a string value"))),
    };
    if value.contains(['\r', '\n', '\0']) {
        return Err(fatal(format!("header {name:?} contains a line break")));
    }
    Ok((lower, value))
}

/// The request for one hop: the user's headers, defaults they did not set,
/// and the signature over exactly the bytes sent.
pub fn build(
    method: &str,
    url: &str,
    user_headers: &[(String, String)],
    body: Option<&[u8]>,
    signer: &Signer,
) -> HttpRequest {
    let mut headers = user_headers.to_vec();
    let has = |name: &str| user_headers.iter().any(|(k, _)| k == name);
    if body.is_some() && !has("content-type") {
        headers.push(("content-type".into(), "application/json".into()));
    }
    if !has("accept") {
        headers.push((
            "accept".into(),
            "application/json, text/plain;q=0.9, */*;q=0.8".into(),
        ));
    }
    if !has("user-agent") {
        headers.push(("user-agent".into(), "edgeflow-webhooks/1".into()));
    }
    headers.extend(signing::headers(
        &signer.keys,
        &signer.message_id,
        signer.timestamp_s,
        body.unwrap_or_default(),
    ));
    HttpRequest {
        method: method.to_string(),
        url: url.to_string(),
        headers,
        body: body.map(<[u8]>::to_vec),
    }
}

/// The next hop of a redirect answer: its URL (resolved, not yet checked)
/// and method; `None` when the answer is not a redirect to follow.
pub fn redirect(resp: &HttpResponse, from: &Target, method: &str) -> Option<(String, String)> {
    if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = resp.header("location")?;
    let next_method = match resp.status {
        303 => "GET",
        301 | 302 if method == "POST" => "GET",
        _ => method,
    };
    Some((ssrf::resolve_location(from, location), next_method.to_string()))
}

/// The node's output for a final answer, or its error.
pub fn parse_answer(resp: &HttpResponse) -> Result<Value, ActionError> {
    if !(200..300).contains(&resp.status) {
        return Err(status_error("webhook target", resp));
    }
    let truncated = resp.body.len() > WEBHOOK_BODY_KEPT_BYTES;
    let bytes = &resp.body[..resp.body.len().min(WEBHOOK_BODY_KEPT_BYTES)];
    let is_json = resp
        .header("content-type")
        .is_none_or(|ct| ct.to_ascii_lowercase().contains("json"));
    let body = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else if let (false, true, Ok(v)) = (truncated, is_json, serde_json::from_slice::<Value>(bytes)) {
        v
    } else {
        Value::String(String::from_utf8_lossy(bytes).into_owned())
    };
    let mut out = json!({ "status": resp.status, "body": body });
    if truncated {
        out["truncated"] = Value::Bool(true);
    }
    Ok(out)
}

fn refused(what: &str, url: &str, r: Refusal) -> ActionError {
    let refusal = TransportError::Refused(format!("{what} {}: {r}", without_userinfo(url)));
    transport_error("webhook_call", refusal)
}

/// The URL with any `user:password@` replaced, so a credential in a URL (or
/// in a target's `Location`) never lands in a stored error.
fn without_userinfo(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://[credentials]@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// Sends the call, following redirects that pass the guard.
pub async fn run<O: Outbound>(
    out: &O,
    call: Call,
    signer: &Signer,
    allow_private: bool,
) -> Result<Value, ActionError> {
    let mut target =
        ssrf::check(&call.url, allow_private).map_err(|r| refused("webhook_call refused", &call.url, r))?;
    let (mut method, mut headers, mut body) = (call.method, call.headers, call.body);
    let mut hops = 0;
    loop {
        let req = build(&method, &target.url(), &headers, body.as_deref(), signer);
        let resp = out
            .send(req)
            .await
            .map_err(|e| transport_error(&format!("webhook target {}", target.origin()), e))?;
        let Some((next_url, next_method)) = redirect(&resp, &target, &method) else {
            return parse_answer(&resp);
        };
        if hops == MAX_REDIRECTS {
            return Err(fatal(format!(
                "webhook_call gave up after {MAX_REDIRECTS} redirects"
            )));
        }
        let next = ssrf::check(&next_url, allow_private)
            .map_err(|r| refused("redirect refused to", &next_url, r))?;
        if next_method == "GET" {
            body = None;
        }
        if next.origin() != target.origin() {
            headers.retain(|(k, _)| !matches!(k.as_str(), "authorization" | "cookie"));
        }
        method = next_method;
        target = next;
        hops += 1;
    }
}

#[cfg(test)]
mod userinfo_tests {
    use super::without_userinfo;

    #[test]
    fn credentials_are_dropped_from_messages() {
        assert_eq!(
            without_userinfo("http://u:p@h.test/x?a=@"),
            "http://[credentials]@h.test/x?a=@"
        );
        assert_eq!(without_userinfo("https://h.test/a@b"), "https://h.test/a@b");
        assert_eq!(without_userinfo("not a url"), "not a url");
    }
}
