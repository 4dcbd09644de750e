//! The template library: ready-made CRM workflows a user copies into their
//! own account. Each template is a JSON file in `templates/`, embedded in
//! the binary and parsed once; `GET /api/templates` lists them (public),
//! `POST /api/templates/{id}/instantiate` makes one a new inactive workflow
//! of the caller, through the same insert as `POST /api/workflows`.

use std::sync::OnceLock;

use serde_json::{json, Map, Value};

use super::body::{json_object, opt_string};
use super::workflows::create_from;
use super::{ApiRequest, ApiResponse, Platform};
use crate::auth::AuthUser;
use crate::config::Config;
use crate::error::ApiError;
use crate::rest::RestClient;

/// The embedded template files, in the order they are listed.
const SOURCES: &[(&str, &str)] = &[
    (
        "lead-intake-scoring",
        include_str!("templates/lead-intake-scoring.json"),
    ),
    (
        "form-contact-upsert",
        include_str!("templates/form-contact-upsert.json"),
    ),
    (
        "demo-meeting-reminder",
        include_str!("templates/demo-meeting-reminder.json"),
    ),
    (
        "welcome-sequence",
        include_str!("templates/welcome-sequence.json"),
    ),
    (
        "welcome-email-ab-test",
        include_str!("templates/welcome-email-ab-test.json"),
    ),
    (
        "stale-contact-reengagement",
        include_str!("templates/stale-contact-reengagement.json"),
    ),
    (
        "deal-won-onboarding",
        include_str!("templates/deal-won-onboarding.json"),
    ),
    (
        "deal-won-billing-webhook",
        include_str!("templates/deal-won-billing-webhook.json"),
    ),
    (
        "contact-list-campaign",
        include_str!("templates/contact-list-campaign.json"),
    ),
];

/// The members every template has.
pub const FIELDS: &[&str] = &["id", "name", "description", "category", "nodes", "edges"];

/// Every template, parsed on first use. The files are part of the build and
/// a test parses each, so a malformed one cannot ship.
pub fn all() -> &'static [Value] {
    static LIBRARY: OnceLock<Vec<Value>> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        SOURCES
            .iter()
            .map(|(id, text)| {
                let value: Value = serde_json::from_str(text)
                    .unwrap_or_else(|e| panic!("embedded template {id} is not JSON: {e}"));
                assert_eq!(value["id"], *id, "template file {id}.json names another id");
                value
            })
            .collect()
    })
}

/// The template with this id.
pub fn find(id: &str) -> Option<&'static Value> {
    all().iter().find(|t| t["id"] == id)
}

/// Every category, in order of first appearance.
pub fn categories() -> Vec<&'static str> {
    let mut out: Vec<&str> = Vec::new();
    for t in all() {
        if let Some(c) = t["category"].as_str() {
            if !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("no template {id:?}"))
}

/// `GET /api/templates[?category=]`: the library, or one category of it
/// (an unknown category lists nothing).
pub fn list(req: &ApiRequest) -> ApiResponse {
    let category = req
        .query_param("category")
        .map(str::trim)
        .filter(|c| !c.is_empty());
    let templates: Vec<&Value> = all()
        .iter()
        .filter(|t| category.is_none_or(|c| t["category"] == c))
        .collect();
    ApiResponse::json(200, json!({"templates": templates, "categories": categories()}))
}

/// `GET /api/templates/{id}`.
pub fn get(id: &str) -> Result<ApiResponse, ApiError> {
    let template = find(id).ok_or_else(|| not_found(id))?;
    Ok(ApiResponse::json(200, json!({"template": template})))
}

/// `POST /api/templates/{id}/instantiate` with an optional body `{name?,
/// description?}`: a new inactive workflow of the caller with the
/// template's nodes and edges, created as the caller (RLS decides).
pub async fn instantiate<P: Platform>(
    id: &str,
    req: &ApiRequest,
    config: &Config,
    user: &AuthUser,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let template = find(id).ok_or_else(|| not_found(id))?;
    let body = json_object(req, true)?;
    if let Some(other) = body
        .keys()
        .find(|k| !["name", "description"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid_field(
            other,
            format!("`{other}` cannot be set here; the body may hold only `name` and `description`"),
        ));
    }
    let mut fields = Map::new();
    for key in ["name", "description"] {
        let value = match opt_string(&body, key)? {
            Some(given) => Value::String(given),
            None => template[key].clone(),
        };
        fields.insert(key.into(), value);
    }
    fields.insert("nodes".into(), template["nodes"].clone());
    fields.insert("edges".into(), template["edges"].clone());
    fields.insert("is_active".into(), Value::Bool(false));
    let db = RestClient::for_token(config, &user.token);
    let resp = create_from(&fields, user, &db, p).await?;
    p.log(&format!("template {id} instantiated by user={}", user.user_id));
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses_with_the_served_fields_and_a_unique_id() {
        let mut ids = Vec::new();
        for t in all() {
            let keys: Vec<&str> = t.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(keys.len(), FIELDS.len(), "{keys:?}");
            for f in FIELDS {
                assert!(keys.contains(f), "{} lacks {f}", t["id"]);
            }
            assert!(!ids.contains(&t["id"]), "duplicate {}", t["id"]);
            ids.push(t["id"].clone());
        }
        assert!(ids.len() >= 8);
    }

    #[test]
    fn find_knows_each_id_and_nothing_else() {
        assert_eq!(find("welcome-sequence").unwrap()["category"], "marketing");
        assert!(find("no-such-template").is_none());
        assert!(categories().contains(&"sales"));
    }
}
