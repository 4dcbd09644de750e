//! The action catalog as `GET /api/actions` serves it: the six contract actions in the contract's entry shape.

use edgeflow::schema::{catalog, find, FieldType};
use serde_json::json;

#[test]
fn has_the_six_contract_actions_in_order() {
    let ids: Vec<_> = catalog().iter().map(|s| s.id).collect();
    assert_eq!(
        ids,
        [
            "send_email",
            "ai_score",
            "create_deal",
            "update_contact",
            "send_notification",
            "webhook_call"
        ]
    );
    assert!(find("ai_score").is_some());
    assert!(find("launch_rocket").is_none());
}

#[test]
fn serializes_to_the_contract_entry_shape_in_stable_order() {
    let json = serde_json::to_string(find("send_notification").unwrap()).unwrap();
    assert_eq!(
        json,
        r#"{"id":"send_notification","endpoint":"/rest/v1/notifications","method":"POST","requiresAuth":true,"description":"Post an in-app notification to the workflow owner.","inputSchema":{"title":{"type":"string","required":true,"description":"Notification title","maxLength":300},"body":{"type":"string","required":false,"description":"Notification text"}}}"#
    );
    let email = serde_json::to_value(find("send_email").unwrap()).unwrap();
    assert_eq!(email["inputSchema"]["to"]["format"], "email");
    let contact = serde_json::to_value(find("update_contact").unwrap()).unwrap();
    assert_eq!(contact["requiredOneOf"], json!(["id", "email"]));
    let hook = serde_json::to_value(find("webhook_call").unwrap()).unwrap();
    assert_eq!(
        hook["requiresAuth"], false,
        "a user-typed URL never receives the caller's token"
    );
    assert_eq!(
        hook["inputSchema"]["method"]["enum"],
        json!(["GET", "POST", "PUT", "PATCH", "DELETE"])
    );
}

#[test]
fn contract_inputs_and_required_flags() {
    let expected = [
        (
            "send_email",
            vec![("to", true), ("subject", true), ("body", true), ("from", false)],
        ),
        (
            "ai_score",
            vec![
                ("email", true),
                ("name", false),
                ("company", false),
                ("title", false),
                ("source", false),
                ("fields", false),
            ],
        ),
        (
            "create_deal",
            vec![
                ("title", true),
                ("value", false),
                ("stage", false),
                ("contact_id", false),
            ],
        ),
        (
            "update_contact",
            vec![
                ("id", false),
                ("email", false),
                ("name", false),
                ("company", false),
                ("fields", false),
            ],
        ),
        ("send_notification", vec![("title", true), ("body", false)]),
        (
            "webhook_call",
            vec![
                ("url", true),
                ("method", false),
                ("headers", false),
                ("body", false),
            ],
        ),
    ];
    for (id, inputs) in expected {
        let spec = find(id).unwrap();
        let got: Vec<(&str, bool)> = spec.input_schema.iter().map(|(n, f)| (*n, f.required)).collect();
        assert_eq!(got, inputs, "{id}");
        assert!(!spec.description.is_empty() && !spec.endpoint.is_empty(), "{id}");
    }
    let (_, fields) = find("ai_score")
        .unwrap()
        .input_schema
        .iter()
        .find(|(n, _)| *n == "fields")
        .copied()
        .unwrap();
    assert_eq!(fields.kind, FieldType::Object);
}

#[test]
fn the_public_catalog_view_says_what_is_mapped_but_never_shows_a_url() {
    use edgeflow::api::catalog::catalog_view;
    use edgeflow::config::Config;
    let vars = [
        ("SUPABASE_URL", "https://p.supabase.co"),
        ("SUPABASE_ANON_KEY", "k"),
        (
            "AI_SCORE_URL",
            "https://user:pa55word@score.example/api/datapizza/score-lead",
        ),
        ("CRM_API_URL", "https://crm.internal.example/hooks/"),
    ];
    let config =
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
    let view = catalog_view(Some(&config));
    let entry = |id: &str| {
        view.as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .unwrap()
            .clone()
    };
    assert_eq!(entry("ai_score")["endpoint"], "configured:AI_SCORE_URL");
    assert_eq!(
        (
            entry("ai_score")["mapped"].as_bool(),
            entry("ai_score")["requiresAuth"].as_bool()
        ),
        (Some(true), Some(true))
    );
    assert_eq!(entry("create_deal")["endpoint"], "configured:CRM_API_URL");
    let text = view.to_string();
    assert!(
        !text.contains("pa55word") && !text.contains("score.example") && !text.contains("crm.internal"),
        "{text}"
    );
    // Unmapped actions keep their embedded default.
    assert_eq!(entry("send_email")["endpoint"], "/rest/v1/email_outbox");
    assert_eq!(entry("send_email")["mapped"], false);
    assert_eq!(entry("webhook_call")["endpoint"], "input:url");
    let bare = catalog_view(None);
    assert!(bare.as_array().unwrap().iter().all(|e| e["mapped"] == false));
}

#[test]
fn text_inputs_are_capped_like_the_columns_they_fill() {
    use edgeflow::schema::check_inputs;
    let mail = find("send_email").unwrap();
    let ok = serde_json::json!({"to": "a@example.com", "subject": "s".repeat(998), "body": "b"});
    assert_eq!(check_inputs(mail, &ok), Ok(()));
    let long = serde_json::json!({"to": "a@example.com", "subject": "s".repeat(999), "body": "b"});
    let issues = check_inputs(mail, &long).unwrap_err();
    assert_eq!(issues[0].field.as_deref(), Some("subject"));
    assert!(
        issues[0].message.contains("at most 998 characters, got 999"),
        "{}",
        issues[0].message
    );
    let contact = find("update_contact").unwrap();
    for field in ["name", "company"] {
        let mut input = serde_json::json!({"email": "a@example.com"});
        input[field] = serde_json::json!("é".repeat(301));
        let issues = check_inputs(contact, &input).unwrap_err();
        assert_eq!(issues[0].field.as_deref(), Some(field));
        input[field] = serde_json::json!("é".repeat(300));
        assert_eq!(check_inputs(contact, &input), Ok(()), "characters, not bytes");
    }
    for id in ["create_deal", "send_notification"] {
        let issues =
            check_inputs(find(id).unwrap(), &serde_json::json!({"title": "t".repeat(301)})).unwrap_err();
        assert_eq!(issues[0].field.as_deref(), Some("title"));
    }
}
