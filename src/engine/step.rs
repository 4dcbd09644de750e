//! Running one node: an action with timeout and retries, or a condition.

use super::condition::{evaluate, Op};
use super::graph::Condition;
use super::ports::{ActionCall, ActionError, ActionRunner, Clock};
use super::retry::RetryPolicy;
use super::template::{render, ErrorKind, Scope};
use crate::limits::{json_depth, json_len, MAX_JSON_DEPTH};
use futures_util::future::{select, Either};
use serde_json::{json, Value};
use std::cell::Cell;
use std::pin::pin;
use std::rc::Rc;

/// How an action node ended, before it becomes a `NodeResult`.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionOutcome {
    /// The output, or the message of the last failure.
    pub result: Result<Value, String>,
    /// Runner calls made, retries included.
    pub attempts: u32,
}

/// Everything needed to run one action node, inputs already rendered and checked.
pub(crate) struct ActionJob<'a> {
    /// The first attempt's call; later attempts differ only in `attempt`.
    pub call: ActionCall,
    pub retry: RetryPolicy,
    /// Seeds the backoff jitter.
    pub execution_id: &'a str,
    pub max_output_bytes: usize,
    /// Updated before each attempt so the driver can report attempts of a
    /// node it abandons at the run deadline.
    pub attempts_seen: Rc<Cell<u32>>,
}

/// Calls the runner up to `retry.max_attempts` times. Each attempt races the
/// call against `timeout_ms`; retryable errors and timeouts wait the backoff
/// delay and try again, fatal errors end at once.
pub(crate) async fn run_action<R: ActionRunner, C: Clock>(
    job: ActionJob<'_>,
    runner: &R,
    clock: &C,
) -> ActionOutcome {
    let max = job.retry.max_attempts.max(1);
    let mut attempt = 1;
    loop {
        job.attempts_seen.set(attempt);
        let call = ActionCall {
            attempt,
            ..job.call.clone()
        };
        let timeout_ms = job.call.timeout_ms;
        let outcome = match select(pin!(runner.run(call)), pin!(clock.sleep(timeout_ms))).await {
            Either::Left((result, _)) => result,
            Either::Right(_) => Err(ActionError::Retryable(format!("timed out after {timeout_ms} ms"))),
        };
        let error = match outcome {
            Ok(output) => {
                let size = json_len(&output);
                let result = if size > job.max_output_bytes {
                    Err(format!(
                        "output too large: {size} bytes (limit {} bytes); not stored",
                        job.max_output_bytes
                    ))
                } else if json_depth(&output) > MAX_JSON_DEPTH {
                    Err(format!(
                        "output nests deeper than {MAX_JSON_DEPTH} levels of arrays and objects; not stored"
                    ))
                } else {
                    Ok(output)
                };
                return ActionOutcome {
                    result,
                    attempts: attempt,
                };
            }
            Err(e) => e,
        };
        if !error.is_retryable() || attempt >= max {
            let message = if attempt > 1 {
                format!("{} (after {attempt} attempts)", error.message())
            } else {
                error.message().to_string()
            };
            return ActionOutcome {
                result: Err(message),
                attempts: attempt,
            };
        }
        clock
            .sleep(job.retry.delay_ms(attempt, job.execution_id, &job.call.node_id))
            .await;
        attempt += 1;
    }
}

/// Evaluates a condition node to its output `{"result": bool}`.
pub(crate) fn run_condition(cond: &Condition, scope: &Scope<'_>) -> Result<Value, String> {
    holds(cond, scope).map(|result| json!({ "result": result }))
}

/// Whether a condition holds in `scope`. For `exists`, a missing template
/// path means "does not exist"; for every other operator it is an error.
pub(crate) fn holds(cond: &Condition, scope: &Scope<'_>) -> Result<bool, String> {
    let left = match render(&cond.left, scope) {
        Ok(v) => Some(v),
        Err(e) if e.kind == ErrorKind::Missing && cond.op == Op::Exists => None,
        Err(e) => return Err(e.to_string()),
    };
    let right = if cond.op.needs_right() {
        render(&cond.right, scope).map_err(|e| e.to_string())?
    } else {
        Value::Null
    };
    evaluate(cond.op, left.as_ref(), &right).map_err(|e| format!("condition: {e}"))
}
