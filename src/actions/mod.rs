//! The action executors behind the engine's `ActionRunner` port.
//!
//! Layout, one concept per file:
//! - `email`, `score`, `crm`, `webhook`: the executors of the catalog;
//! - `store`: PostgREST writes as the workflow owner; `service`: calls to
//!   operator-configured endpoints;
//! - `ssrf`: the target guard for user-typed URLs; `signing`: Standard
//!   Webhooks signatures; `redact`: secret removal from outputs and errors;
//! - `outcome`: error grouping and input readers.
//!
//! Retries and resumes: every call carries its step key
//! (`<execution id>:<node id>`, [`step_key`]), the same on each attempt of
//! the step and after a resume. The embedded inserts store it under a unique
//! index and return the first row when it is taken; HTTP executors send it
//! as `Idempotency-Key`; `webhook_call`'s `webhook-id` is derived from the
//! same two ids. So another attempt after a timeout or a lost connection
//! never writes or sends a step twice where the other side honours the key.
//!
//! Every request leaves through the `Outbound` port, so all of this is pure
//! and tested natively with a scripted fake. Credentials flow one way: the
//! owner's token goes to PostgREST and to configured endpoints of actions
//! with `requiresAuth`; `EMAIL_API_KEY` goes to `EMAIL_API_URL` only; a
//! user-typed URL (`webhook_call`) receives none of them. Whatever an
//! executor returns passes through the redactor before the engine stores it.

pub mod crm;
pub mod email;
pub mod outcome;
pub mod redact;
pub mod score;
pub mod service;
pub mod signing;
pub mod ssrf;
pub mod store;
pub mod webhook;

use crate::config::Config;
use crate::engine::{ActionCall, ActionError, ActionRunner};
use crate::http::Outbound;
use outcome::fatal;
use redact::Redactor;
use serde_json::{json, Value};
use signing::SigningKeys;
use std::cell::RefCell;
use std::rc::Rc;

/// Who a run acts for and what it may use.
pub struct RunEnv<'a> {
    pub config: &'a Config,
    /// The workflow owner's user id (`sub`): the key of contact upserts.
    pub owner_id: &'a str,
    /// The workflow owner's access token: forwarded to PostgREST and to
    /// configured endpoints with `requiresAuth`; never to a user-typed URL.
    pub owner_token: &'a str,
    pub execution_id: &'a str,
    /// `None` for an unsaved test run.
    pub workflow_id: Option<&'a str>,
    /// Wall-clock time of the run, for `webhook-timestamp`.
    pub now_ms: u64,
}

impl<'a> RunEnv<'a> {
    /// The environment of one run; every run has a `workflow_executions`
    /// row with `execution_id` before its first step.
    pub fn new(
        config: &'a Config,
        owner_id: &'a str,
        owner_token: &'a str,
        execution_id: &'a str,
        workflow_id: Option<&'a str>,
        now_ms: u64,
    ) -> Self {
        RunEnv {
            config,
            owner_id,
            owner_token,
            execution_id,
            workflow_id,
            now_ms,
        }
    }

    /// Every secret this run knows of, for redaction.
    pub fn redactor(&self) -> Redactor {
        let c = self.config;
        let mut secrets = vec![self.owner_token, c.anon_key.expose()];
        for s in [&c.service_role_key, &c.jwt_secret, &c.email_api_key]
            .into_iter()
            .flatten()
        {
            secrets.push(s.expose());
        }
        Redactor::new(secrets)
    }
}

/// The stable key of one action call, `<execution id>:<node id>` (the
/// engine's `ActionCall::step_key`): the same for every attempt of a step
/// and after a resume, different for every step of every run. Stored as
/// `step_key` by the embedded inserts and sent as `Idempotency-Key` by the
/// HTTP executors.
pub fn step_key(call: &ActionCall) -> &str {
    &call.step_key
}

/// The engine's action runner: dispatches each call to its executor and
/// redacts what comes back.
pub struct Actions<'a, O: Outbound> {
    pub env: RunEnv<'a>,
    pub out: &'a O,
    /// The owner's webhook signing keys, read once per run on the first
    /// `webhook_call` (one PostgREST call, as the owner).
    keys: RefCell<Option<SigningKeys>>,
    /// The run's redactor, built once (and again once the keys are read).
    redactor: RefCell<Option<Rc<Redactor>>>,
}

impl<'a, O: Outbound> Actions<'a, O> {
    pub fn new(env: RunEnv<'a>, out: &'a O) -> Self {
        Actions {
            env,
            out,
            keys: RefCell::new(None),
            redactor: RefCell::new(None),
        }
    }

    /// The run's secrets, the owner's signing secrets once read included.
    fn redactor(&self) -> Rc<Redactor> {
        if let Some(cached) = self.redactor.borrow().as_ref() {
            return Rc::clone(cached);
        }
        let mut redactor = self.env.redactor();
        if let Some(keys) = self.keys.borrow().as_ref() {
            // The key alone (without `whsec_`) is as secret as the whole.
            let tails = keys.secrets.iter().filter_map(|s| s.strip_prefix("whsec_"));
            redactor.add(keys.secrets.iter().map(String::as_str).chain(tails));
        }
        let redactor = Rc::new(redactor);
        *self.redactor.borrow_mut() = Some(Rc::clone(&redactor));
        redactor
    }

    async fn dispatch(&self, call: &ActionCall, redactor: &Redactor) -> Result<Value, ActionError> {
        let (env, out, inputs) = (&self.env, self.out, &call.inputs);
        let key = step_key(call).to_string();
        match call.action_id.as_str() {
            "send_email" => email::run(env, out, redactor, &key, inputs).await,
            "ai_score" => match env.config.ai_score_url.as_deref() {
                Some(url) => {
                    let body = score::service_body(inputs);
                    let answer =
                        service::call(out, "the scoring service", url, env.owner_token, &body, &key).await?;
                    score::parse_service(&answer)
                }
                None => Ok(score::builtin(inputs)),
            },
            id if crm::ACTIONS.contains(&id) => crm::run(env, out, id, &key, inputs).await,
            "webhook_call" => {
                let request = webhook::parse_inputs(inputs, redactor)?;
                let signer = self.signer(call).await?;
                webhook::run(out, request, &signer, env.config.allow_private_targets).await
            }
            other => Err(fatal(format!("unknown action {other:?}"))),
        }
    }

    /// The signer of one step: its `webhook-id` names the run and the step
    /// (the node, and the loop item inside a loop), so it is the same on
    /// every retry and resume of that step and differs between steps.
    async fn signer(&self, call: &ActionCall) -> Result<webhook::Signer, ActionError> {
        let step = call
            .step_key
            .strip_prefix(self.env.execution_id)
            .and_then(|rest| rest.strip_prefix(':'))
            .unwrap_or(&call.node_id);
        let cached = self.keys.borrow().clone();
        let keys = match cached {
            Some(keys) => keys,
            None => {
                let client = store::client(&self.env);
                let row = store::send_one(
                    self.out,
                    "webhook_secrets",
                    client.rpc("webhook_secret", &json!({})),
                )
                .await?;
                let keys = SigningKeys::from_row(&row, self.env.now_ms)
                    .map_err(|e| fatal(format!("webhook_call cannot sign its request: {e}")))?;
                *self.keys.borrow_mut() = Some(keys.clone());
                *self.redactor.borrow_mut() = None; // it must know the new secrets
                keys
            }
        };
        Ok(webhook::Signer {
            keys,
            message_id: signing::message_id(self.env.execution_id, step),
            timestamp_s: self.env.now_ms / 1000,
        })
    }
}

impl<O: Outbound> ActionRunner for Actions<'_, O> {
    async fn run(&self, call: ActionCall) -> Result<Value, ActionError> {
        let result = self.dispatch(&call, &self.redactor()).await;
        // Built again: the owner's signing secrets may have been read meanwhile.
        let redactor = self.redactor();
        match result {
            Ok(output) => Ok(redactor.value_owned(output)),
            Err(ActionError::Fatal(m)) => Err(ActionError::Fatal(redactor.error_text(&m))),
            Err(ActionError::Retryable(m)) => Err(ActionError::Retryable(redactor.error_text(&m))),
        }
    }
}
