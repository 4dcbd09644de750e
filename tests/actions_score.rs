//! `ai_score`: the built-in rules (deterministic, documented points) and
//! the scoring service mode with its token forwarding and answer checks.

mod actions_support;

use actions_support::*;
use edgeflow::actions::score::{builtin, MODEL};
use serde_json::{json, Value};

fn points(output: &Value) -> Vec<(String, i64)> {
    output["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["factor"].as_str().unwrap().to_string(),
                f["points"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_same_lead_always_gets_the_same_output() {
    let config = config(&[]);
    let lead = json!({"email": "ann@acme.com", "name": "Ann", "company": "Acme", "title": "VP Sales",
                      "source": "referral", "fields": {"employees": 250, "budget": "15000"}});
    let out = Fake::new();
    let first = run(&config, &out, "ai_score", lead.clone()).unwrap();
    let second = run(&config, &out, "ai_score", lead).unwrap();
    assert_eq!(first, second);
    assert_eq!(
        first.to_string(),
        second.to_string(),
        "factor order is stable too"
    );
    assert_eq!(out.count(), 0, "the built-in rules call nothing");
    assert_eq!(first["model"], MODEL);
}

#[test]
fn concrete_scores_follow_the_documented_table() {
    // 20 base + 20 domain + 5 name + 15 company + 20 senior + 15 referral + 15 size + 10 budget = 120 -> 100
    let top = builtin(
        &json!({"email": "ceo@acme.com", "name": "C", "company": "Acme", "title": "CEO",
                              "source": "referral", "fields": {"company_size": 1500, "budget": 50000}}),
    );
    assert_eq!(
        (top["score"].as_i64(), top["grade"].as_str()),
        (Some(100), Some("A"))
    );

    let free = builtin(&json!({"email": "jane@gmail.com"}));
    assert_eq!(
        (free["score"].as_i64(), free["grade"].as_str()),
        (Some(15), Some("D"))
    );
    assert_eq!(
        points(&free),
        [("base".to_string(), 20), ("email_domain".to_string(), -5)]
    );

    // 20 + 20 + 5 + 15 + 10 (manager) + 10 (website) = 80
    let mid = builtin(&json!({"email": "bob@acme.io", "name": "Bob", "company": "Acme",
                              "title": "Marketing Manager", "source": "website"}));
    assert_eq!(
        (mid["score"].as_i64(), mid["grade"].as_str()),
        (Some(80), Some("A"))
    );

    // 20 - 5 (yahoo family) + 15 (company) + 8 (event) + 5 (size "50-200") = 43
    let c = builtin(
        &json!({"email": "x@yahoo.co.uk", "company": "Tiny", "source": "Event",
                            "fields": {"company_size": "50-200"}}),
    );
    assert_eq!((c["score"].as_i64(), c["grade"].as_str()), (Some(43), Some("C")));

    // 20 + 20 + 20 (co-founder) + 0 (cold) = 60
    let b = builtin(&json!({"email": "f@startup.dev", "title": "Co-Founder", "source": "cold"}));
    assert_eq!((b["score"].as_i64(), b["grade"].as_str()), (Some(60), Some("B")));
    assert!(points(&b).contains(&("source".to_string(), 0)));
    let zero_budget = builtin(&json!({"email": "f@startup.dev", "fields": {"budget": 0, "employees": 10}}));
    assert_eq!(zero_budget["score"], 40);
}

#[test]
fn the_scoring_service_gets_the_inputs_and_the_owner_token() {
    let config = config(&[("AI_SCORE_URL", "https://score.example/api/datapizza/score-lead")]);
    let out = Fake::new().then(200, r#"{"score":72,"factors":[{"factor":"fit","points":72}]}"#);
    let output = run(
        &config,
        &out,
        "ai_score",
        json!({"email": "ann@acme.com", "company": "Acme", "name": "", "fields": {"x": 1}, "extra": "dropped"}),
    )
    .unwrap();
    assert_eq!(output["score"], 72);
    assert_eq!(output["grade"], "B", "derived when the service sends none");
    assert_eq!(output["factors"][0]["factor"], "fit");
    let req = out.request(0);
    assert_eq!(
        (req.method.as_str(), req.url.as_str()),
        ("POST", "https://score.example/api/datapizza/score-lead")
    );
    assert_eq!(
        header(&req, "authorization"),
        Some(format!("Bearer {OWNER_TOKEN}").as_str())
    );
    assert_eq!(
        body_json(&req),
        json!({"email": "ann@acme.com", "company": "Acme", "fields": {"x": 1}})
    );
    assert_eq!(
        header(&req, "idempotency-key"),
        Some(step_key().as_str()),
        "the service can recognise a retried step"
    );
    assert!(!output.to_string().contains(OWNER_TOKEN));
}

#[test]
fn every_attempt_of_a_step_sends_the_same_idempotency_key() {
    let config = config(&[("AI_SCORE_URL", "https://score.example/score")]);
    let out = Fake::new()
        .then_fail("connection reset")
        .then(200, r#"{"score":40}"#);
    let result = run_step(
        &config,
        &out,
        json!({"actionId": "ai_score", "config": {"email": "a@b.co"},
               "retry": {"maxAttempts": 2, "backoffMs": 100}}),
    );
    assert_eq!(result.attempts, 2, "{:?}", result.error);
    assert_eq!(result.output.unwrap()["score"], 40);
    let keys: Vec<_> = (0..2)
        .map(|i| header(&out.request(i), "idempotency-key").map(str::to_string))
        .collect();
    assert_eq!(keys, [Some(step_key()), Some(step_key())]);
}

#[test]
fn service_answers_are_checked() {
    let config = config(&[("AI_SCORE_URL", "https://score.example/score")]);
    let lead = json!({"email": "a@b.co"});
    let out = Fake::new().then(200, r#"{"data":{"score":55,"grade":"C"}}"#);
    assert_eq!(
        run(&config, &out, "ai_score", lead.clone()).unwrap()["grade"],
        "C"
    );
    for bad in [
        r#"{"score":101}"#,
        r#"{"score":-1}"#,
        r#"{"score":"high"}"#,
        r#"{"grade":"A"}"#,
        "[1]",
        "<html>",
    ] {
        let out = Fake::new().then(200, bad);
        fatal_message(run(&config, &out, "ai_score", lead.clone()));
    }
    let out = Fake::new().then(502, "");
    assert!(retryable_message(run(&config, &out, "ai_score", lead.clone())).contains("502"));
    let out = Fake::new().then(403, r#"{"message":"forbidden"}"#);
    assert!(fatal_message(run(&config, &out, "ai_score", lead)).contains("403"));
}
