//! The CRM writes: `send_notification`, `create_deal`, `update_contact`.
//!
//! Default: PostgREST as the workflow owner (their token, so RLS applies
//! and `user_id` defaults to them), `Prefer: return=representation`; the
//! written row is the output.
//! - `send_notification`: insert `notifications {title, body, step_key}`.
//! - `create_deal`: insert `deals {title, value, stage, contact_id, step_key}`.
//! - `update_contact` by `id`: PATCH `contacts?id=eq.<id>` with the given
//!   `name`, `company`, `email`, `fields`; no row is "contact not found".
//!   By `email` only: upsert on `(user_id, email)`
//!   (`on_conflict=user_id,email`, `resolution=merge-duplicates`), which
//!   creates the contact or updates the given columns. `fields` are merged
//!   into the stored object (read first), not replaced.
//!
//! Retries and resumes: both inserts are exactly-once per step key
//! (`store::insert_once`: a repeated attempt returns the row the first one
//! committed). `update_contact` needs no key, being idempotent by nature:
//! repeating the PATCH by id, or the upsert by email, writes the same values
//! again (merging the same `fields` onto an object that already holds them
//! changes nothing), and an update that changes nothing records no
//! `contact_update` event, so it starts no workflow either.
//!
//! Mapped: with a CRM endpoint configured (`CRM_API_URL`), the
//! inputs are POSTed as JSON to `<crm_api_url>/<action id>` with the
//! owner's token and the step key as `Idempotency-Key` instead, and the
//! JSON answer is the output.

use super::outcome::{fatal, opt_str, opt_value, req_str};
use super::{service, store, RunEnv};
use crate::engine::ActionError;
use crate::http::Outbound;
use crate::schema::is_email;
use serde_json::{json, Map, Value};

/// The actions this module runs.
pub const ACTIONS: &[&str] = &["send_notification", "create_deal", "update_contact"];

/// Runs one CRM action.
pub async fn run<O: Outbound>(
    env: &RunEnv<'_>,
    out: &O,
    action_id: &str,
    step_key: &str,
    inputs: &Value,
) -> Result<Value, ActionError> {
    if let Some(base) = env.config.crm_api_url.as_deref() {
        let url = format!("{}/{action_id}", base.trim_end_matches('/'));
        return service::call(out, "the CRM endpoint", &url, env.owner_token, inputs, step_key).await;
    }
    match action_id {
        "send_notification" => {
            let row = notification_row(inputs)?;
            store::insert_once(env, out, "notifications", row, step_key).await
        }
        "create_deal" => store::insert_once(env, out, "deals", deal_row(inputs)?, step_key).await,
        "update_contact" => update_contact(env, out, inputs).await,
        other => Err(fatal(format!("{other} is not a CRM action"))),
    }
}

/// `notifications` row: `title`, optional `body`.
pub fn notification_row(inputs: &Value) -> Result<Value, ActionError> {
    let mut row = Map::new();
    row.insert("title".into(), json!(req_str(inputs, "title")?));
    copy(inputs, &mut row, &["body"]);
    Ok(Value::Object(row))
}

/// `deals` row: `title`, optional `value`, `stage`, `contact_id` (a UUID).
pub fn deal_row(inputs: &Value) -> Result<Value, ActionError> {
    let mut row = Map::new();
    row.insert("title".into(), json!(req_str(inputs, "title")?));
    if let Some(v) = opt_value(inputs, "value") {
        if !v.is_number() {
            return Err(fatal("input \"value\" must be a number"));
        }
    }
    if let Some(id) = opt_str(inputs, "contact_id") {
        uuid_input("contact_id", id)?;
    }
    copy(inputs, &mut row, &["value", "stage", "contact_id"]);
    Ok(Value::Object(row))
}

/// The columns an `update_contact` writes besides its key; `fields` are
/// merged onto `existing_fields` when given.
pub fn contact_changes(
    inputs: &Value,
    existing_fields: Option<&Value>,
) -> Result<Map<String, Value>, ActionError> {
    let mut row = Map::new();
    copy(inputs, &mut row, &["name", "company"]);
    if let Some(email) = opt_str(inputs, "email") {
        if !is_email(email) {
            return Err(fatal("input \"email\" must be a single email address"));
        }
        row.insert("email".into(), json!(email));
    }
    match opt_value(inputs, "fields") {
        None => {}
        Some(Value::Object(new)) => {
            let mut merged = existing_fields
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            merged.extend(new.clone());
            row.insert("fields".into(), Value::Object(merged));
        }
        Some(_) => return Err(fatal("input \"fields\" must be an object")),
    }
    Ok(row)
}

fn copy(inputs: &Value, row: &mut Map<String, Value>, names: &[&str]) {
    for name in names {
        if let Some(v) = opt_value(inputs, name) {
            row.insert(name.to_string(), v.clone());
        }
    }
}

fn uuid_input(name: &str, value: &str) -> Result<(), ActionError> {
    uuid::Uuid::parse_str(value)
        .map(|_| ())
        .map_err(|_| fatal(format!("input {name:?} must be a UUID")))
}

async fn update_contact<O: Outbound>(
    env: &RunEnv<'_>,
    out: &O,
    inputs: &Value,
) -> Result<Value, ActionError> {
    let wants_fields = opt_value(inputs, "fields").is_some();
    if let Some(id) = opt_str(inputs, "id") {
        uuid_input("id", id)?;
        let not_found = || fatal(format!("contact not found: {id}"));
        let existing = if wants_fields {
            let read = store::client(env).from("contacts").select("fields").eq("id", id);
            let row = store::send(out, "contacts", read)
                .await?
                .into_iter()
                .next()
                .ok_or_else(not_found)?;
            row.get("fields").cloned()
        } else {
            None
        };
        let changes = contact_changes(inputs, existing.as_ref())?;
        let builder = if changes.is_empty() {
            store::client(env).from("contacts").select("*").eq("id", id)
        } else {
            store::client(env)
                .from("contacts")
                .eq("id", id)
                .update(Value::Object(changes).to_string())
        };
        return store::send(out, "contacts", builder)
            .await?
            .into_iter()
            .next()
            .ok_or_else(not_found);
    }
    let email = req_str(inputs, "email").map_err(|_| fatal("update_contact needs an id or an email"))?;
    let existing = if wants_fields {
        let read = store::client(env)
            .from("contacts")
            .select("fields")
            .eq("user_id", env.owner_id)
            .eq("email", email.trim());
        store::send(out, "contacts", read)
            .await?
            .into_iter()
            .next()
            .and_then(|r| r.get("fields").cloned())
    } else {
        None
    };
    let mut row = contact_changes(inputs, existing.as_ref())?;
    row.insert("user_id".into(), json!(env.owner_id));
    let builder = store::client(env)
        .from("contacts")
        .upsert(Value::Object(row).to_string())
        .on_conflict("user_id,email");
    store::send_one(out, "contacts", builder).await
}
