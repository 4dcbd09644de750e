//! Redaction: credential-named members and every known secret are removed
//! from whatever the runner returns, outputs and errors alike.

mod actions_support;

use actions_support::*;
use edgeflow::actions::redact::{Redactor, REDACTED};
use serde_json::json;

#[test]
fn credential_members_and_known_secrets_are_replaced() {
    let r = Redactor::new(["owner-token-123456", "short", "email-key-abcdef"]);
    let v = r.value(&json!({
        "headers": {"Authorization": "Basic abc", "Cookie": "s=1", "apikey": "k", "X-Api-Key": "k",
                    "x-auth-token": "t", "clientSecret": "s", "Content-Type": "text/plain"},
        "note": "token owner-token-123456 and key email-key-abcdef",
        "log": ["Authorization: Bearer eyJabc.def", "short stays"],
        "access_token": null,
        "monkey": "fine"
    }));
    assert_eq!(
        v,
        json!({
            "headers": {"Authorization": REDACTED, "Cookie": REDACTED, "apikey": REDACTED, "X-Api-Key": REDACTED,
                        "x-auth-token": REDACTED, "clientSecret": REDACTED, "Content-Type": "text/plain"},
            "note": "token [redacted] and key [redacted]",
            "log": ["Authorization: Bearer [redacted]", "short stays"],
            "access_token": null,
            "monkey": "fine"
        })
    );
}

#[test]
fn the_runner_redacts_outputs_and_errors() {
    let config = config(&[
        ("EMAIL_API_URL", "https://mail.example/e"),
        ("EMAIL_API_KEY", EMAIL_KEY),
    ]);
    // A webhook target echoing secrets back is stored without them.
    let echo = format!(
        r#"{{"echo":"{OWNER_TOKEN} {ANON_KEY} {SIGNING_SECRET}","session_token":"abc","set-cookie":"x"}}"#
    );
    let out = Fake::new().then(200, &echo);
    let output = run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    )
    .unwrap();
    let text = output.to_string();
    for secret in [OWNER_TOKEN, ANON_KEY, SIGNING_SECRET, "\"abc\""] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert_eq!(output["body"]["echo"], "[redacted] [redacted] [redacted]");
    // The decoded-key part of a whsec_ secret is a secret too.
    let tail = SIGNING_SECRET.trim_start_matches("whsec_");
    let out = Fake::new().then(500, &format!(r#"{{"message":"bad {tail} {SERVICE_KEY}"}}"#));
    let message = retryable_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    ));
    assert!(
        !message.contains(tail) && !message.contains(SERVICE_KEY),
        "{message}"
    );
    assert!(message.contains("[redacted]"), "{message}");
    // A PostgREST answer carrying the token (e.g. echoed in an error) is redacted.
    let out = Fake::new().then(
        400,
        &format!(r#"{{"code":"22P02","message":"bad {OWNER_TOKEN}"}}"#),
    );
    let message = fatal_message(run(&config, &out, "send_notification", json!({"title": "t"})));
    assert!(!message.contains(OWNER_TOKEN), "{message}");
}
