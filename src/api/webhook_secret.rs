//! The caller's own webhook signing secret (Standard Webhooks, `whsec_...`):
//! `GET /api/webhook-secret` reads it (the database creates it on the first
//! read) and `POST /api/webhook-secret/rotate` replaces it. Both call the
//! database functions as the caller, so RLS keeps every secret its owner's.

use serde_json::{json, Value};

use super::{ApiResponse, Platform};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::engine::time::{ms_from_rfc3339, rfc3339_from_ms};
use crate::error::ApiError;
use crate::limits::WEBHOOK_SECRET_GRACE_MS;
use crate::rest::{self, RestClient};

/// Reads (`rotate` false) or rotates the caller's secret.
pub async fn handle<P: Platform>(
    rotate: bool,
    config: &Config,
    user: &AuthUser,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let db = RestClient::for_token(config, &user.token);
    let function = if rotate {
        "rotate_webhook_secret"
    } else {
        "webhook_secret"
    };
    let resp = rest::send(p, db.rpc(function, &json!({}))).await?;
    let row =
        rest::one_row(&resp)?.ok_or_else(|| ApiError::upstream(format!("{function}() returned no row")))?;
    if rotate {
        p.log(&format!("webhook secret rotated for user {}", user.user_id));
    }
    Ok(ApiResponse::json(200, json!({"webhookSecret": view(&row)})))
}

/// The row as shown: the secrets, and until when the previous one still
/// signs (`rotated_at` plus the grace period).
fn view(row: &Value) -> Value {
    let previous_until = row["rotated_at"]
        .as_str()
        .and_then(ms_from_rfc3339)
        .filter(|_| row["previous_secret"].is_string())
        .map(|ms| rfc3339_from_ms(ms + WEBHOOK_SECRET_GRACE_MS));
    json!({
        "secret": row["secret"],
        "previousSecret": row["previous_secret"],
        "previousValidUntil": previous_until,
        "rotatedAt": row["rotated_at"],
        "createdAt": row["created_at"],
    })
}
