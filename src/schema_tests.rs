//! Unit tests of the action schema: entry shape, save-time and run-time input checks.

use super::*;
use serde_json::json;

fn fields(result: Result<(), Vec<InputIssue>>) -> Vec<String> {
    result
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.field.unwrap_or_default())
        .collect()
}

#[test]
fn required_fields_must_be_present_and_non_empty() {
    let spec = find("send_email").unwrap();
    assert_eq!(
        check_inputs(spec, &json!({"to": "a@b.co", "subject": "Hi", "body": "x"})),
        Ok(())
    );
    assert_eq!(
        fields(check_inputs(
            spec,
            &json!({"to": "a@b.co", "subject": "  ", "body": null})
        )),
        ["subject", "body"]
    );
    let issues = check_inputs(spec, &json!({"subject": "s", "body": "b"})).unwrap_err();
    assert_eq!(issues[0].message, "input \"to\" is required");
    assert!(check_inputs(spec, &json!("not an object")).is_err());
}

#[test]
fn types_and_formats_are_checked() {
    let email = find("send_email").unwrap();
    for bad in [
        "a@b",
        "Ann <a@b.co>",
        "a@b.co,c@d.co",
        "a@b.co\r\nBcc: x@y.z",
        "@b.co",
        "a b@c.co",
    ] {
        assert_eq!(
            fields(check_inputs(
                email,
                &json!({"to": bad, "subject": "s", "body": "b"})
            )),
            ["to"],
            "{bad}"
        );
    }
    let deal = find("create_deal").unwrap();
    assert_eq!(
        fields(check_inputs(deal, &json!({"title": "T", "value": "lots"}))),
        ["value"]
    );
    assert_eq!(
        check_inputs(deal, &json!({"title": "T", "value": 12.5, "extra": true})),
        Ok(())
    );
    let score = find("ai_score").unwrap();
    assert_eq!(
        fields(check_inputs(score, &json!({"email": "a@b.co", "fields": [1]}))),
        ["fields"]
    );
}

#[test]
fn webhook_url_and_method() {
    let hook = find("webhook_call").unwrap();
    assert_eq!(
        check_inputs(
            hook,
            &json!({"url": "https://example.com/x?y=1", "method": "put", "body": [1]})
        ),
        Ok(())
    );
    for bad in [
        "ftp://example.com",
        "javascript:alert(1)",
        "http://",
        "https://exa mple.com",
        "example.com",
    ] {
        assert_eq!(fields(check_inputs(hook, &json!({"url": bad}))), ["url"], "{bad}");
    }
    assert_eq!(
        fields(check_inputs(
            hook,
            &json!({"url": "http://x.io", "method": "TRACE"})
        )),
        ["method"]
    );
}

#[test]
fn update_contact_needs_id_or_email() {
    let spec = find("update_contact").unwrap();
    assert_eq!(check_inputs(spec, &json!({"id": "c-1"})), Ok(()));
    assert_eq!(
        check_inputs(spec, &json!({"email": "a@b.co", "name": "A"})),
        Ok(())
    );
    let issues = check_inputs(spec, &json!({"name": "A", "email": ""})).unwrap_err();
    assert_eq!(issues.len(), 1);
    assert!(
        issues[0].message.contains("one of id or email is required"),
        "{:?}",
        issues
    );
}

/// Stands in for the engine's template detector.
fn templated(s: &str) -> bool {
    s.contains("{{")
}

#[test]
fn config_check_counts_templates_as_present() {
    let spec = find("send_email").unwrap();
    let config = json!({"to": "{{trigger.email}}", "subject": "Hi {{trigger.name}}", "body": "b"});
    assert_eq!(check_config(spec, &config, templated), Ok(()));
    assert_eq!(
        fields(check_config(
            spec,
            &json!({"to": "nobody", "subject": "s"}),
            templated
        )),
        ["to", "body"]
    );
}
