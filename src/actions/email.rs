//! `send_email`: queue in `email_outbox`, or send through an email HTTP API.
//!
//! Default (no `EMAIL_API_URL`): one `email_outbox` row, written as the
//! owner with status `queued` and the call's step key, exactly once per key
//! (`store::insert_once`: a retried or resumed attempt returns the row the
//! first one wrote); the row is the output.
//!
//! With `EMAIL_API_URL` (and `EMAIL_API_KEY`) set, a Resend-style request:
//!
//! ```text
//! POST $EMAIL_API_URL
//! Authorization: Bearer $EMAIL_API_KEY
//! Content-Type: application/json
//! Idempotency-Key: <execution id>:<node id>   (the step key: same on retries and resumes)
//!
//! {"from": "<from>", "to": ["<to>"], "subject": "<subject>", "html": "<body>"}
//! ```
//!
//! with `text` instead of `html` when the body has no `<`. A 2xx answer's
//! `id` is recorded as `provider_id` in an `email_outbox` row with status
//! `sent` and the step key, once per key as above (a retry whose provider
//! answered the same key again returns the first `sent` row); a failure is
//! recorded with status `failed`, its error and no key (each failed attempt
//! is one row), then fails the node (5xx and 429 are retried).
//!
//! Injection: `to` must be exactly one plain address (no display name,
//! comma, semicolon, space or CR/LF), `subject` one line; values templated
//! into `body` were HTML-escaped by the engine, so any markup in the body
//! was written by the workflow's author.

use super::outcome::{fatal, opt_str, req_str, status_error, transport_error};
use super::redact::Redactor;
use super::{service, store, RunEnv};
use crate::engine::ActionError;
use crate::http::{HttpRequest, HttpResponse, Outbound};
use crate::schema::is_email;
use serde_json::{json, Map, Value};

/// Sender used with an email API when neither the node (`from`) nor
/// `EMAIL_FROM` gives one.
pub const DEFAULT_FROM: &str = "no-reply@edgeflow.local";

/// A checked email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub from: Option<String>,
    pub subject: String,
    pub body: String,
}

impl Email {
    /// Bodies containing markup go out as HTML, others as plain text.
    pub fn is_html(&self) -> bool {
        self.body.contains('<')
    }
}

/// Checks the inputs again, whatever the engine did: this is the last stop
/// before a mail header.
pub fn parse_inputs(inputs: &Value) -> Result<Email, ActionError> {
    let to = req_str(inputs, "to")?.trim();
    if !is_email(to) {
        return Err(fatal(
            "input \"to\" must be exactly one email address (no lists, names or line breaks)",
        ));
    }
    let subject = req_str(inputs, "subject")?;
    if subject.contains(['\r', '\n']) {
        return Err(fatal("input \"subject\" must be a single line (no CR or LF)"));
    }
    let body = req_str(inputs, "body")?;
    let from = opt_str(inputs, "from");
    if from.is_some_and(|f| !is_email(f)) {
        return Err(fatal("input \"from\" must be a single email address"));
    }
    Ok(Email {
        to: to.to_string(),
        from: from.map(str::to_string),
        subject: subject.to_string(),
        body: body.to_string(),
    })
}

/// The `email_outbox` row for this email and outcome.
pub fn outbox_row(
    env: &RunEnv<'_>,
    email: &Email,
    status: &str,
    provider_id: Option<&str>,
    error: Option<&str>,
) -> Value {
    let mut row = Map::new();
    row.insert("recipient".into(), json!(email.to));
    row.insert("from_address".into(), json!(email.from));
    row.insert("subject".into(), json!(email.subject));
    row.insert("body".into(), json!(email.body));
    row.insert("status".into(), json!(status));
    if let Some(id) = env.workflow_id.filter(|id| is_uuid(id)) {
        row.insert("workflow_id".into(), json!(id));
    }
    if is_uuid(env.execution_id) {
        row.insert("execution_id".into(), json!(env.execution_id));
    }
    if let Some(id) = provider_id {
        row.insert("provider_id".into(), json!(id));
    }
    if let Some(e) = error {
        row.insert("error".into(), json!(e));
    }
    Value::Object(row)
}

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

/// The provider request (see the module note for the format); the step
/// key goes as `Idempotency-Key`.
pub fn provider_request(url: &str, key: &str, email: &Email, step_key: &str) -> HttpRequest {
    let mut body = json!({
        "from": email.from.as_deref().unwrap_or(DEFAULT_FROM),
        "to": [email.to],
        "subject": email.subject,
    });
    body[if email.is_html() { "html" } else { "text" }] = json!(email.body);
    service::build(url, key, &body, step_key)
}

/// The provider's message id from a 2xx answer (`None` if it sent none).
pub fn parse_provider(resp: &HttpResponse) -> Result<Option<String>, ActionError> {
    if !(200..300).contains(&resp.status) {
        return Err(status_error("the email API", resp));
    }
    let id = serde_json::from_slice::<Value>(&resp.body).ok().and_then(|v| {
        v.get("id").or_else(|| v.pointer("/data/id")).and_then(|id| {
            id.as_str()
                .map(str::to_string)
                .or_else(|| id.as_u64().map(|n| n.to_string()))
        })
    });
    Ok(id)
}

/// Records the step's outcome (`step_key`, once per key), or one failed
/// attempt (`None`).
async fn record<O: Outbound>(
    env: &RunEnv<'_>,
    out: &O,
    row: Value,
    step_key: Option<&str>,
) -> Result<Value, ActionError> {
    match step_key {
        Some(key) => store::insert_once(env, out, "email_outbox", row, key).await,
        None => {
            let builder = store::client(env).from("email_outbox").insert(row.to_string());
            store::send_one(out, "email_outbox", builder).await
        }
    }
}

/// Runs one attempt of `send_email`.
pub async fn run<O: Outbound>(
    env: &RunEnv<'_>,
    out: &O,
    redactor: &Redactor,
    step_key: &str,
    inputs: &Value,
) -> Result<Value, ActionError> {
    let mut email = parse_inputs(inputs)?;
    if email.from.is_none() {
        email.from = env.config.email_from.clone();
    }
    let Some(url) = env.config.email_api_url.as_deref() else {
        let row = outbox_row(env, &email, "queued", None, None);
        return record(env, out, row, Some(step_key)).await;
    };
    let key = env
        .config
        .email_api_key
        .as_ref()
        .ok_or_else(|| fatal("EMAIL_API_URL is set but EMAIL_API_KEY is not; set both or neither"))?;
    let sent = match out
        .send(provider_request(url, key.expose(), &email, step_key))
        .await
    {
        Ok(resp) => parse_provider(&resp),
        Err(e) => Err(transport_error("the email API", e)),
    };
    match sent {
        Ok(provider_id) => {
            let row = outbox_row(env, &email, "sent", provider_id.as_deref(), None);
            // The mail is gone: failing now would make a retry send it twice.
            match record(env, out, row, Some(step_key)).await {
                Ok(row) => Ok(row),
                Err(e) => Ok(json!({
                    "status": "sent",
                    "recipient": email.to,
                    "provider_id": provider_id,
                    "record_error": e.message(),
                })),
            }
        }
        Err(e) => {
            // Best effort: the node's own error matters more than the record's.
            let error = redactor.error_text(e.message());
            let row = outbox_row(env, &email, "failed", None, Some(&error));
            let _ = record(env, out, row, None).await;
            Err(e)
        }
    }
}
