//! Shared doubles for the action executor tests: a scripted `Outbound`
//! that records every request, configurations and run environments, and
//! one step run through the engine on virtual time (retries, timeouts).
#![allow(dead_code)]

#[path = "../engine_support/mod.rs"]
pub mod engine_support;

use edgeflow::actions::{Actions, RunEnv};
use edgeflow::config::Config;
use edgeflow::engine::{
    execute, validate, ActionCall, ActionError, ActionRunner, Budget, Limits, NoJournal, NodeResult,
    RunContext,
};
use edgeflow::http::{HttpRequest, HttpResponse, Outbound, TransportError};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

pub const OWNER_ID: &str = "8d0f3f9e-6a7b-4c1d-9e2f-3a4b5c6d7e8f";
pub const OWNER_TOKEN: &str = "eyJowner.token-of-the-workflow-owner.sig";
pub const ANON_KEY: &str = "anon-key-0123456789abcdef";
pub const SERVICE_KEY: &str = "service-role-key-0123456789";
pub const EMAIL_KEY: &str = "re_email_api_key_0123456789";
/// Standard Webhooks form: `whsec_` + base64 of "local-signing-secret-bytes".
pub const SIGNING_SECRET: &str = "whsec_bG9jYWwtc2lnbmluZy1zZWNyZXQtYnl0ZXM=";
pub const EXECUTION_ID: &str = "0b9a6c1e-1d2f-4a3b-8c4d-5e6f7a8b9c0d";
pub const WORKFLOW_ID: &str = "7f1e2d3c-4b5a-4968-8776-655443322110";
pub const NOW_MS: u64 = 1_700_000_123_456;

/// Answers requests the script does not cover.
type Answer = Box<dyn Fn(&HttpRequest) -> Result<HttpResponse, TransportError>>;

/// An `Outbound` that answers from a script (or a fallback function) and
/// keeps every request it was given.
pub struct Fake {
    pub requests: RefCell<Vec<HttpRequest>>,
    /// What `rpc/webhook_secret` answers (the owner's `webhook_secrets`
    /// row); such calls are counted in `secret_reads`, not in `requests`.
    pub secret_row: RefCell<Option<serde_json::Value>>,
    pub secret_reads: RefCell<Vec<HttpRequest>>,
    /// `None`: the request is taken (and recorded) but never answered.
    script: RefCell<VecDeque<Option<Result<HttpResponse, TransportError>>>>,
    fallback: Option<Answer>,
}

impl Fake {
    pub fn new() -> Self {
        Fake {
            requests: RefCell::new(vec![]),
            secret_row: RefCell::new(Some(
                serde_json::json!({"user_id": OWNER_ID, "secret": SIGNING_SECRET,
                "previous_secret": null, "rotated_at": null}),
            )),
            secret_reads: RefCell::new(vec![]),
            script: RefCell::new(VecDeque::new()),
            fallback: None,
        }
    }

    /// Answers every request not covered by the script with `f`.
    pub fn with(f: impl Fn(&HttpRequest) -> Result<HttpResponse, TransportError> + 'static) -> Self {
        Fake {
            fallback: Some(Box::new(f)),
            ..Fake::new()
        }
    }

    /// Queues an answer.
    pub fn then(self, status: u16, body: &str) -> Self {
        self.then_with(status, &[("content-type", "application/json")], body)
    }

    pub fn then_with(self, status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        self.script
            .borrow_mut()
            .push_back(Some(Ok(resp(status, headers, body))));
        self
    }

    /// Queues a request that is received but never answered: the target
    /// acted (a row was committed, a mail sent), the caller times out.
    pub fn then_hang(self) -> Self {
        self.script.borrow_mut().push_back(None);
        self
    }

    /// Queues a network failure.
    pub fn then_fail(self, cause: &str) -> Self {
        self.then_error(TransportError::NoAnswer(cause.to_string()))
    }

    /// Queues any transport failure.
    pub fn then_error(self, error: TransportError) -> Self {
        self.script.borrow_mut().push_back(Some(Err(error)));
        self
    }

    pub fn count(&self) -> usize {
        self.requests.borrow().len()
    }

    pub fn request(&self, i: usize) -> HttpRequest {
        self.requests.borrow()[i].clone()
    }

    /// Everything sent, as one string, for leak checks.
    pub fn everything_sent(&self) -> String {
        self.requests
            .borrow()
            .iter()
            .map(|r| format!("{} {} {:?} {}", r.method, r.url, r.headers, body_text(r)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Outbound for Fake {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        if req.url.ends_with("/rest/v1/rpc/webhook_secret") {
            self.secret_reads.borrow_mut().push(req);
            let rows = self.secret_row.borrow().iter().cloned().collect::<Vec<_>>();
            return Ok(resp(
                200,
                &[("content-type", "application/json")],
                &serde_json::Value::Array(rows).to_string(),
            ));
        }
        self.requests.borrow_mut().push(req.clone());
        let next = self.script.borrow_mut().pop_front();
        match next {
            Some(Some(answer)) => return answer,
            Some(None) => return std::future::pending().await,
            None => {}
        }
        match &self.fallback {
            Some(f) => f(&req),
            None => Err(TransportError::NoAnswer("no scripted answer left".into())),
        }
    }
}

pub fn resp(status: u16, headers: &[(&str, &str)], body: &str) -> HttpResponse {
    HttpResponse {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect(),
        body: body.as_bytes().to_vec(),
    }
}

pub fn header<'r>(req: &'r HttpRequest, name: &str) -> Option<&'r str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

pub fn body_text(req: &HttpRequest) -> String {
    String::from_utf8_lossy(req.body.as_deref().unwrap_or_default()).into_owned()
}

pub fn body_json(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body.as_deref().unwrap_or_default()).expect("JSON request body")
}

/// A configuration with the local secrets above plus `extra` variables.
pub fn config(extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("SUPABASE_URL", "http://db.test"),
        ("SUPABASE_ANON_KEY", ANON_KEY),
        ("SUPABASE_SERVICE_ROLE_KEY", SERVICE_KEY),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|k| vars.get(k).cloned().filter(|v| !v.is_empty())).expect("test config")
}

pub fn env(config: &Config) -> RunEnv<'_> {
    RunEnv::new(
        config,
        OWNER_ID,
        OWNER_TOKEN,
        EXECUTION_ID,
        Some(WORKFLOW_ID),
        NOW_MS,
    )
}

/// Runs one action through the runner, as the engine would.
pub fn run(config: &Config, out: &Fake, action_id: &str, inputs: Value) -> Result<Value, ActionError> {
    run_env(env(config), out, action_id, inputs)
}

pub fn run_env(env: RunEnv<'_>, out: &Fake, action_id: &str, inputs: Value) -> Result<Value, ActionError> {
    let runner = Actions::new(env, out);
    futures_executor::block_on(runner.run(ActionCall {
        node_id: "action-1".into(),
        action_id: action_id.into(),
        step_key: format!("{EXECUTION_ID}:action-1"),
        inputs,
        attempt: 1,
        timeout_ms: 10_000,
    }))
}

/// The step key of node `action-1` in the test run.
pub fn step_key() -> String {
    format!("{EXECUTION_ID}:action-1")
}

/// Runs `trigger-1 -> action-1` through the engine on virtual time, with
/// `data` as the action node's `data` (`actionId`, `config`, `retry`,
/// `timeoutMs`), and returns the action's result.
pub fn run_step(config: &Config, out: &Fake, data: Value) -> NodeResult {
    let nodes = serde_json::json!([
        {"id": "trigger-1", "type": "trigger", "data": {"triggerType": "manual"}},
        {"id": "action-1", "type": "action", "data": data}
    ]);
    let edges = serde_json::json!([{"id": "e1", "source": "trigger-1", "target": "action-1"}]);
    let limits = Limits::default();
    let graph = validate(&nodes, &edges, &limits).expect("valid workflow");
    let ctx = RunContext {
        execution_id: EXECUTION_ID.into(),
        workflow_id: Some(WORKFLOW_ID.into()),
        trigger: serde_json::json!({}),
        journaled: vec![],
    };
    let runner = Actions::new(env(config), out);
    let clock = engine_support::FakeClock::new();
    let report = engine_support::drive(
        &clock,
        execute(
            &graph,
            &ctx,
            &runner,
            &clock,
            &NoJournal,
            &limits,
            &Budget::unlimited(),
        ),
    );
    report
        .results
        .into_iter()
        .find(|r| r.node_id == "action-1")
        .expect("the action's result")
}

pub fn fatal_message(r: Result<Value, ActionError>) -> String {
    match r {
        Err(ActionError::Fatal(m)) => m,
        other => panic!("expected a fatal error, got {other:?}"),
    }
}

pub fn retryable_message(r: Result<Value, ActionError>) -> String {
    match r {
        Err(ActionError::Retryable(m)) => m,
        other => panic!("expected a retryable error, got {other:?}"),
    }
}
