//! `webhook_call`: request shape, Standard Webhooks signature checked by an
//! independent verifier, answers and their grouping, redirects re-checked
//! hop by hop, refused headers, and no server credential ever sent.

mod actions_support;

use actions_support::*;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use edgeflow::actions::Actions;
use edgeflow::engine::{ActionCall, ActionRunner};
use edgeflow::http::{HttpRequest, TransportError};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// Verifies a request the way a receiver following the Standard Webhooks
/// spec would: decode the `whsec_` secret, recompute, compare.
fn verify(req: &HttpRequest, secret: &str) -> bool {
    let key = match secret.strip_prefix("whsec_") {
        Some(b64) => STANDARD.decode(b64).unwrap(),
        None => secret.as_bytes().to_vec(),
    };
    let id = header(req, "webhook-id").unwrap();
    let ts = header(req, "webhook-timestamp").unwrap();
    let mut content = format!("{id}.{ts}.").into_bytes();
    content.extend_from_slice(req.body.as_deref().unwrap_or_default());
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(&content);
    let expected = STANDARD.encode(mac.finalize().into_bytes());
    header(req, "webhook-signature")
        .unwrap()
        .split(' ')
        .any(|sig| sig.strip_prefix("v1,") == Some(expected.as_str()))
}

#[test]
fn a_post_is_json_signed_and_carries_no_server_credential() {
    let config = config(&[]);
    let out = Fake::new().then(200, r#"{"ok":true}"#);
    let output = run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://hooks.example.com/in?src=crm", "headers": {"X-Custom": "1", "Authorization": "Basic dXNlcg=="},
               "body": {"lead": "Ann", "score": 91}}),
    )
    .unwrap();
    assert_eq!(output, json!({"status": 200, "body": {"ok": true}}));
    let req = out.request(0);
    assert_eq!(req.method, "POST");
    assert_eq!(req.url, "https://hooks.example.com/in?src=crm");
    assert_eq!(body_json(&req), json!({"lead": "Ann", "score": 91}));
    assert_eq!(header(&req, "content-type"), Some("application/json"));
    assert_eq!(header(&req, "x-custom"), Some("1"));
    assert_eq!(
        header(&req, "authorization"),
        Some("Basic dXNlcg=="),
        "the user's own header is theirs to send"
    );
    assert_eq!(
        header(&req, "webhook-id"),
        Some(format!("msg_{EXECUTION_ID}_action-1").as_str())
    );
    assert_eq!(
        header(&req, "webhook-timestamp"),
        Some((NOW_MS / 1000).to_string().as_str())
    );
    assert!(verify(&req, SIGNING_SECRET));
    assert!(header(&req, "apikey").is_none());
    let sent = out.everything_sent();
    for secret in [OWNER_TOKEN, ANON_KEY, SERVICE_KEY, SIGNING_SECRET] {
        assert!(!sent.contains(secret), "{secret} was sent to a user-typed URL");
    }
    assert!(!output.to_string().contains(OWNER_TOKEN));
}

#[test]
fn every_attempt_and_resume_of_a_step_carries_the_same_webhook_id() {
    let config = config(&[]);
    let data = json!({"actionId": "webhook_call", "config": {"url": "https://hooks.example.com/in", "body": {"a": 1}},
                      "retry": {"maxAttempts": 3, "backoffMs": 100}});
    // Retried by the engine: a lost connection, a 503, then a 200.
    let out = Fake::new()
        .then_fail("connection reset")
        .then(503, "")
        .then(200, "{}");
    let result = run_step(&config, &out, data);
    assert_eq!(result.attempts, 3, "{:?}", result.error);
    let expected = format!("msg_{EXECUTION_ID}_action-1");
    for i in 0..3 {
        let req = out.request(i);
        assert_eq!(
            header(&req, "webhook-id"),
            Some(expected.as_str()),
            "attempt {}",
            i + 1
        );
        assert!(verify(&req, SIGNING_SECRET));
    }
    // Resumed by a later invocation (a new runner, a later clock): same id,
    // a fresh timestamp, still verifiable.
    let mut later = env(&config);
    later.now_ms = NOW_MS + 60_000;
    let out = Fake::new().then(200, "{}");
    let runner = Actions::new(later, &out);
    futures_executor::block_on(runner.run(ActionCall {
        node_id: "action-1".into(),
        action_id: "webhook_call".into(),
        step_key: format!("{EXECUTION_ID}:action-1"),
        inputs: json!({"url": "https://hooks.example.com/in", "body": {"a": 1}}),
        attempt: 1,
        timeout_ms: 10_000,
    }))
    .unwrap();
    let req = out.request(0);
    assert_eq!(header(&req, "webhook-id"), Some(expected.as_str()));
    assert_eq!(
        header(&req, "webhook-timestamp"),
        Some(((NOW_MS + 60_000) / 1000).to_string().as_str())
    );
    assert!(verify(&req, SIGNING_SECRET));
}

#[test]
fn a_tampered_body_fails_verification_and_get_signs_the_empty_body() {
    let config = config(&[]);
    let out = Fake::new().then(200, "{}");
    run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/", "body": {"a": 1}}),
    )
    .unwrap();
    let mut tampered = out.request(0);
    tampered.body = Some(br#"{"a":2}"#.to_vec());
    assert!(!verify(&tampered, SIGNING_SECRET));

    let out = Fake::new().then(200, "{}");
    run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/", "method": "get", "body": {"a": 1}}),
    )
    .unwrap();
    let req = out.request(0);
    assert_eq!((req.method.as_str(), req.body.as_deref()), ("GET", None));
    assert!(header(&req, "content-type").is_none());
    assert!(verify(&req, SIGNING_SECRET));
}

#[test]
fn the_owners_secret_is_read_once_per_run_as_the_owner() {
    let config = config(&[]);
    let out = Fake::new().then(200, "{}").then(200, "{}");
    let actions = Actions::new(env(&config), &out);
    for _ in 0..2 {
        let call = ActionCall {
            node_id: "action-1".into(),
            action_id: "webhook_call".into(),
            step_key: format!("{EXECUTION_ID}:action-1"),
            inputs: json!({"url": "https://x.example/"}),
            attempt: 1,
            timeout_ms: 1000,
        };
        futures_executor::block_on(actions.run(call)).unwrap();
    }
    let reads = out.secret_reads.borrow();
    assert_eq!(reads.len(), 1, "cached for the run");
    assert_eq!(
        header(&reads[0], "authorization"),
        Some(format!("Bearer {OWNER_TOKEN}").as_str())
    );
    assert!(verify(&out.request(1), SIGNING_SECRET));
}

#[test]
fn after_a_rotation_both_secrets_sign_during_the_grace_period() {
    let config = config(&[]);
    let out = Fake::new().then(200, "{}");
    let old = "whsec_b2xkLXNlY3JldC1vZi10aGUtb3duZXI=";
    let rotated_at = edgeflow::engine::time::rfc3339_from_ms(NOW_MS - 60_000);
    *out.secret_row.borrow_mut() =
        Some(json!({"secret": SIGNING_SECRET, "previous_secret": old, "rotated_at": rotated_at}));
    run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    )
    .unwrap();
    let req = out.request(0);
    assert!(verify(&req, SIGNING_SECRET) && verify(&req, old));
    assert_eq!(header(&req, "webhook-signature").unwrap().split(' ').count(), 2);
    // A day later only the new secret signs.
    let out = Fake::new().then(200, "{}");
    let rotated_at =
        edgeflow::engine::time::rfc3339_from_ms(NOW_MS - edgeflow::limits::WEBHOOK_SECRET_GRACE_MS);
    *out.secret_row.borrow_mut() =
        Some(json!({"secret": SIGNING_SECRET, "previous_secret": old, "rotated_at": rotated_at}));
    run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    )
    .unwrap();
    assert!(verify(&out.request(0), SIGNING_SECRET) && !verify(&out.request(0), old));
}

#[test]
fn without_the_owners_secret_the_node_fails_and_nothing_is_sent() {
    let config = config(&[]);
    let out = Fake::new();
    *out.secret_row.borrow_mut() = None;
    let message = fatal_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    ));
    assert!(message.contains("webhook_secrets"), "{message}");
    assert_eq!(out.count(), 0);
}

#[test]
fn answers_become_status_and_body() {
    let config = config(&[]);
    let out = Fake::new().then_with(201, &[("content-type", "text/plain")], "created");
    assert_eq!(
        run(
            &config,
            &out,
            "webhook_call",
            json!({"url": "https://x.example/"})
        )
        .unwrap(),
        json!({"status": 201, "body": "created"})
    );
    let big = "x".repeat(70_000);
    let out = Fake::new().then_with(200, &[("content-type", "text/plain")], &big);
    let output = run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    )
    .unwrap();
    assert_eq!(output["truncated"], true);
    assert_eq!(output["body"].as_str().unwrap().len(), 64 * 1024);
    let out = Fake::new().then_with(200, &[("content-type", "application/json")], "not json");
    assert_eq!(
        run(
            &config,
            &out,
            "webhook_call",
            json!({"url": "https://x.example/"})
        )
        .unwrap()["body"],
        "not json"
    );
}

#[test]
fn failing_answers_are_grouped_and_name_the_status_but_no_header() {
    let config = config(&[]);
    for (status, retry) in [
        (500, true),
        (503, true),
        (429, true),
        (404, false),
        (400, false),
        (401, false),
    ] {
        let out = Fake::new().then_with(status, &[("x-leaky-header", "hdr-value-123")], "nope");
        let result = run(
            &config,
            &out,
            "webhook_call",
            json!({"url": "https://x.example/"}),
        );
        let message = if retry {
            retryable_message(result)
        } else {
            fatal_message(result)
        };
        assert!(message.contains(&status.to_string()), "{message}");
        assert!(!message.contains("hdr-value-123"), "{message}");
    }
    let out = Fake::new().then_fail("connection refused");
    assert!(retryable_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"})
    ))
    .contains("connection refused"));
}

#[test]
fn an_oversized_answer_or_an_unbuildable_request_is_not_worth_another_attempt() {
    // The target acted on a POST whose answer was too large to read: sending
    // it again would repeat the effect, so the failure is fatal.
    let config = config(&[]);
    let out = Fake::new().then_error(TransportError::TooLarge {
        limit: 8 * 1024 * 1024,
    });
    let message = fatal_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    ));
    assert!(message.contains("larger than 8388608 bytes"), "{message}");
    let out = Fake::new().then_error(TransportError::Unbuildable("header x-a: invalid value".into()));
    let message = fatal_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    ));
    assert!(message.contains("could not be built"), "{message}");
}

#[test]
fn redirects_are_followed_with_each_hop_rechecked() {
    let config = config(&[]);
    let out = Fake::new()
        .then_with(302, &[("location", "https://b.example/next")], "")
        .then_with(307, &[("location", "/final")], "")
        .then(200, r#"{"done":1}"#);
    let output = run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://a.example/start", "headers": {"authorization": "Bearer users-own-key", "x-trace": "t"}, "body": {"k": 1}}),
    )
    .unwrap();
    assert_eq!(output["body"], json!({"done": 1}));
    let hops: Vec<_> = out
        .requests
        .borrow()
        .iter()
        .map(|r| (r.method.clone(), r.url.clone()))
        .collect();
    assert_eq!(
        hops,
        [
            ("POST".to_string(), "https://a.example/start".to_string()),
            ("GET".to_string(), "https://b.example/next".to_string()),
            ("GET".to_string(), "https://b.example/final".to_string()),
        ]
    );
    let second = out.request(1);
    assert!(
        header(&second, "authorization").is_none(),
        "credentials dropped on a cross-origin hop"
    );
    assert_eq!(header(&second, "x-trace"), Some("t"));
    assert!(second.body.is_none());
    assert!(verify(&second, SIGNING_SECRET));

    // 307 and 308 keep the method and body.
    let out = Fake::new()
        .then_with(308, &[("location", "https://a.example/v2")], "")
        .then(200, "{}");
    run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://a.example/v1", "body": {"k": 1}}),
    )
    .unwrap();
    assert_eq!(out.request(1).method, "POST");
    assert_eq!(body_json(&out.request(1)), json!({"k": 1}));
    // 303 switches to GET whatever the method.
    let out = Fake::new()
        .then_with(303, &[("location", "https://a.example/see")], "")
        .then(200, "{}");
    run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://a.example/", "method": "PUT", "body": {}}),
    )
    .unwrap();
    assert_eq!(out.request(1).method, "GET");
}

#[test]
fn a_redirect_to_a_private_address_is_refused() {
    let config = config(&[]);
    for location in [
        "http://127.0.0.1:9000/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://0x7f.1/",
        "file:///etc/passwd",
    ] {
        let out = Fake::new().then_with(302, &[("location", location)], "");
        let message = fatal_message(run(
            &config,
            &out,
            "webhook_call",
            json!({"url": "https://public.example/"}),
        ));
        assert!(message.contains("redirect refused"), "{location}: {message}");
        assert_eq!(
            out.count(),
            1,
            "{location}: the private hop must not be requested"
        );
    }
    let allowed = config_with_private();
    let out = Fake::new()
        .then_with(302, &[("location", "http://127.0.0.1:9000/x")], "")
        .then(200, "{}");
    run(
        &allowed,
        &out,
        "webhook_call",
        json!({"url": "https://public.example/"}),
    )
    .unwrap();
    assert_eq!(out.request(1).url, "http://127.0.0.1:9000/x");
}

fn config_with_private() -> edgeflow::config::Config {
    config(&[("ALLOW_PRIVATE_TARGETS", "true")])
}

#[test]
fn at_most_three_redirects_are_followed() {
    let config = config(&[]);
    let out = Fake::with(|req| Ok(resp(302, &[("location", &format!("{}x", req.url))], "")));
    let message = fatal_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://loop.example/"}),
    ));
    assert!(message.contains("3 redirects"), "{message}");
    assert_eq!(out.count(), 4);
    // A redirect without Location is an answer, and not a 2xx one.
    let out = Fake::new().then_with(302, &[], "");
    assert!(fatal_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://a.example/"})
    ))
    .contains("302"));
}

#[test]
fn dangerous_headers_and_methods_are_refused_before_sending() {
    let config = config(&[]);
    let bad: &[(Value, &str)] = &[
        (json!({"Host": "internal"}), "Host"),
        (json!({"content-length": "5"}), "content-length"),
        (json!({"Transfer-Encoding": "chunked"}), "Transfer-Encoding"),
        (json!({"Connection": "close"}), "Connection"),
        (json!({"webhook-signature": "v1,forged"}), "webhook-signature"),
        (json!({"Webhook-Id": "x"}), "Webhook-Id"),
        (json!({"X-Ok": "a\r\nInjected: 1"}), "X-Ok"),
        (json!({"Bad Name": "x"}), "Bad Name"),
        (json!({"X-Obj": {"a": 1}}), "X-Obj"),
    ];
    for (headers, name) in bad {
        let out = Fake::new();
        let message = fatal_message(run(
            &config,
            &out,
            "webhook_call",
            json!({"url": "https://x.example/", "headers": headers}),
        ));
        assert!(message.contains(name), "{message}");
        assert_eq!(out.count(), 0);
    }
    let out = Fake::new();
    fatal_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/", "method": "TRACE"}),
    ));
    assert_eq!(out.count(), 0);
}

#[test]
fn a_request_that_would_carry_a_server_credential_is_refused() {
    let config = config(&[]);
    for inputs in [
        json!({"url": "https://x.example/", "body": {"token": OWNER_TOKEN}}),
        json!({"url": "https://x.example/", "headers": {"X-Key": SERVICE_KEY}}),
        json!({"url": format!("https://x.example/?k={ANON_KEY}")}),
    ] {
        let out = Fake::new();
        let message = fatal_message(run(&config, &out, "webhook_call", inputs));
        assert!(message.contains("credential"), "{message}");
        assert!(!message.contains(OWNER_TOKEN));
        assert_eq!(out.count(), 0);
    }
}

#[test]
fn a_secret_straddling_the_error_cut_is_redacted_whole() {
    // The token starts 10 characters before where a 200-character excerpt
    // used to be cut: redaction must come first.
    let config = config(&[]);
    let body = format!("{}{OWNER_TOKEN} and more {}", "x".repeat(190), "y".repeat(400));
    let out = Fake::new().then(500, &body);
    let message = retryable_message(run(
        &config,
        &out,
        "webhook_call",
        json!({"url": "https://x.example/"}),
    ));
    assert!(message.contains("[redacted]"), "{message}");
    assert!(!message.contains(&OWNER_TOKEN[..8]), "{message}");
    assert!(
        message.chars().count() <= edgeflow::limits::MAX_ERROR_CHARS + 1,
        "{message}"
    );
}
