//! `GET /api/actions`: the action schema as the HTTP API shows it. The
//! route is public, so it never shows a configured URL (which may carry
//! credentials or name internal hosts): each entry says whether its
//! executor is `mapped` to a configured service, and a mapped entry's
//! `endpoint` names the variable that configures it (`configured:AI_SCORE_URL`).

use crate::config::Config;
use crate::schema::catalog;
use serde_json::Value;

/// The catalog entries as served.
pub fn catalog_view(config: Option<&Config>) -> Value {
    let mut entries = serde_json::to_value(catalog()).unwrap_or_else(|_| Value::Array(vec![]));
    for entry in entries.as_array_mut().into_iter().flatten() {
        let id = entry["id"].as_str().unwrap_or_default().to_string();
        let mapped = config.and_then(|c| match id.as_str() {
            "send_email" => c.email_api_url.as_ref().map(|_| ("EMAIL_API_URL", false)),
            "ai_score" => c.ai_score_url.as_ref().map(|_| ("AI_SCORE_URL", true)),
            "create_deal" | "update_contact" | "send_notification" => {
                c.crm_api_url.as_ref().map(|_| ("CRM_API_URL", true))
            }
            _ => None,
        });
        entry["mapped"] = Value::Bool(mapped.is_some());
        if let Some((variable, requires_auth)) = mapped {
            entry["endpoint"] = Value::String(format!("configured:{variable}"));
            entry["method"] = Value::String("POST".into());
            entry["requiresAuth"] = Value::Bool(requires_auth);
        }
    }
    entries
}
