//! `GET /api/actions`: the action schema as the HTTP API shows it. With a
//! configuration, each action whose executor is mapped to a configured
//! service names that service's endpoint (`POST`, and whether it receives
//! the owner's token) instead of the embedded default.

use crate::config::Config;
use crate::schema::catalog;
use serde_json::Value;

/// The catalog entries as served.
pub fn catalog_view(config: Option<&Config>) -> Value {
    let mut entries = serde_json::to_value(catalog()).unwrap_or_else(|_| Value::Array(vec![]));
    let Some(config) = config else {
        return entries;
    };
    for entry in entries.as_array_mut().into_iter().flatten() {
        let id = entry["id"].as_str().unwrap_or_default().to_string();
        let mapped = match id.as_str() {
            "send_email" => config.email_api_url.clone().map(|u| (u, false)),
            "ai_score" => config.ai_score_url.clone().map(|u| (u, true)),
            "create_deal" | "update_contact" | "send_notification" => config
                .crm_api_url
                .as_ref()
                .map(|base| (format!("{}/{id}", base.trim_end_matches('/')), true)),
            _ => None,
        };
        if let Some((endpoint, requires_auth)) = mapped {
            entry["endpoint"] = Value::String(endpoint);
            entry["method"] = Value::String("POST".into());
            entry["requiresAuth"] = Value::Bool(requires_auth);
        }
    }
    entries
}
