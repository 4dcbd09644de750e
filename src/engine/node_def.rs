//! Parsing one node's `type` and `data` into a typed node, collecting every issue.

use super::condition::Op;
use super::graph::{Condition, Node, NodeId, NodeKind, OnError, TriggerType};
use super::issue::ValidationIssue;
use super::retry::RetryPolicy;
use super::structure::RawNode;
use super::template::has_template;
use crate::limits::Limits;
use crate::schema;
use serde_json::{Map, Value};

struct Ctx<'a, 'i> {
    id: &'a str,
    issues: &'i mut Vec<ValidationIssue>,
}

impl Ctx<'_, '_> {
    fn push(&mut self, field: &str, message: impl Into<String>) {
        self.issues
            .push(ValidationIssue::node(self.id, message).with_field(field));
    }
}

/// Parses a node, or records why it cannot be and returns `None`.
pub(crate) fn parse_node(
    raw: &RawNode<'_>,
    limits: &Limits,
    issues: &mut Vec<ValidationIssue>,
) -> Option<Node> {
    let mut cx = Ctx { id: raw.id, issues };
    let empty = Map::new();
    let data = match raw.body.get("data") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(d)) => d,
        Some(_) => {
            cx.push("data", "data must be an object");
            &empty
        }
    };
    let on_error = match data.get("onError") {
        None | Some(Value::Null) => Some(OnError::Continue),
        Some(Value::String(s)) if s == "continue" => Some(OnError::Continue),
        Some(Value::String(s)) if s == "stop" => Some(OnError::Stop),
        Some(other) => {
            cx.push(
                "data.onError",
                format!("onError must be \"continue\" or \"stop\", got {other}"),
            );
            None
        }
    };
    let kind = match raw.body.get("type").and_then(Value::as_str) {
        Some("trigger") => parse_trigger(data, &mut cx),
        Some("action") => parse_action(data, limits, &mut cx),
        Some("condition") => parse_condition(data, &mut cx),
        Some(other) => {
            cx.push(
                "type",
                format!("unknown node type {other:?} (expected trigger, action or condition)"),
            );
            None
        }
        None => {
            cx.push("type", "node type is required (trigger, action or condition)");
            None
        }
    };
    Some(Node {
        id: NodeId::new(raw.id),
        kind: kind?,
        on_error: on_error?,
    })
}

fn parse_trigger(data: &Map<String, Value>, cx: &mut Ctx<'_, '_>) -> Option<NodeKind> {
    let name = data.get("triggerType").and_then(Value::as_str);
    match name.and_then(TriggerType::parse) {
        Some(t) => Some(NodeKind::Trigger(t)),
        None => {
            let got = name.map_or("nothing".to_string(), |n| format!("{n:?}"));
            cx.push(
                "data.triggerType",
                format!(
                    "triggerType must be one of {}, got {got}",
                    TriggerType::NAMES.join(", ")
                ),
            );
            None
        }
    }
}

fn parse_action(data: &Map<String, Value>, limits: &Limits, cx: &mut Ctx<'_, '_>) -> Option<NodeKind> {
    let action_id = data.get("actionId").and_then(Value::as_str);
    let spec = match action_id {
        Some(id) => schema::find(id).or_else(|| {
            cx.push("data.actionId", format!("unknown action {id:?}"));
            None
        }),
        None => {
            cx.push("data.actionId", "actionId is required");
            None
        }
    };
    let config = match data.get("config") {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(c @ Value::Object(_)) => c.clone(),
        Some(_) => {
            cx.push("data.config", "config must be an object");
            return None;
        }
    };
    if let Some(spec) = spec {
        if let Err(found) = schema::check_config(spec, &config, has_template) {
            for issue in found {
                let field = issue
                    .field
                    .map_or("data.config".to_string(), |f| format!("data.config.{f}"));
                cx.push(&field, issue.message);
            }
        }
    }
    let retry = parse_retry(data.get("retry"), limits, cx);
    let timeout_ms = bounded(
        data.get("timeoutMs"),
        "data.timeoutMs",
        1,
        limits.timeout_cap_ms,
        cx,
    )
    .map(|t| t.unwrap_or(limits.default_timeout_ms));
    Some(NodeKind::Action {
        action_id: spec?.id.to_string(),
        config,
        retry: retry?,
        timeout_ms: timeout_ms?,
    })
}

fn parse_retry(value: Option<&Value>, limits: &Limits, cx: &mut Ctx<'_, '_>) -> Option<RetryPolicy> {
    let empty = Map::new();
    let retry = match value {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(r)) => r,
        Some(_) => {
            cx.push("data.retry", "retry must be an object {maxAttempts, backoffMs}");
            return None;
        }
    };
    let attempts = bounded(
        retry.get("maxAttempts"),
        "data.retry.maxAttempts",
        1,
        u64::from(limits.max_attempts_cap),
        cx,
    );
    let backoff = bounded(
        retry.get("backoffMs"),
        "data.retry.backoffMs",
        0,
        limits.backoff_cap_ms,
        cx,
    );
    Some(RetryPolicy {
        max_attempts: attempts?.map_or(limits.default_max_attempts, |a| a as u32),
        backoff_ms: backoff?.unwrap_or(limits.default_backoff_ms),
        max_delay_ms: limits.backoff_cap_ms,
    })
}

/// An optional integer within `min..=max`; out of range is an issue, not a clamp,
/// so the user sees what will actually happen.
fn bounded(
    value: Option<&Value>,
    field: &str,
    min: u64,
    max: u64,
    cx: &mut Ctx<'_, '_>,
) -> Option<Option<u64>> {
    match value {
        None | Some(Value::Null) => Some(None),
        Some(v) => match v.as_u64() {
            Some(n) if (min..=max).contains(&n) => Some(Some(n)),
            _ => {
                let name = field.rsplit('.').next().unwrap_or(field);
                cx.push(
                    field,
                    format!("{name} must be an integer from {min} to {max}, got {v}"),
                );
                None
            }
        },
    }
}

fn parse_condition(data: &Map<String, Value>, cx: &mut Ctx<'_, '_>) -> Option<NodeKind> {
    let Some(cond) = data.get("condition").and_then(Value::as_object) else {
        cx.push("data.condition", "condition must be an object {left, op, right}");
        return None;
    };
    let op_name = cond.get("op").and_then(Value::as_str);
    let op = op_name.and_then(Op::parse);
    if op.is_none() {
        let got = op_name.map_or("nothing".to_string(), |n| format!("{n:?}"));
        cx.push(
            "data.condition.op",
            format!("op must be one of {}, got {got}", Op::NAMES.join(", ")),
        );
    }
    let left = cond.get("left").cloned();
    if left.is_none() {
        cx.push("data.condition.left", "left operand is required");
    }
    let right = cond.get("right").cloned();
    if right.is_none() && op.is_some_and(Op::needs_right) {
        cx.push("data.condition.right", "right operand is required");
    }
    Some(NodeKind::Condition(Condition {
        left: left?,
        op: op?,
        right: right.unwrap_or(Value::Null),
    }))
}
