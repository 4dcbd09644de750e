//! Parsing one node's `type` and `data` into a typed node, collecting every issue.
//! A trigger's `data.config` holds its filter and, for `form_submit`, its `redirectUrl`.

use super::condition::Op;
use super::graph::{
    Condition, Delay, LoopSpec, Node, NodeId, NodeKind, OnError, Trigger, TriggerType, Variant,
};
use super::issue::ValidationIssue;
use super::retry::RetryPolicy;
use super::structure::RawNode;
use super::template::{has_template, references, Root};
use super::time::ms_from_rfc3339;
use crate::limits::{
    Limits, DEFAULT_LOOP_CONCURRENCY, MAX_DELAY_MS, MAX_LOOP_CONCURRENCY, MAX_LOOP_ITEMS,
    MAX_REDIRECT_URL_CHARS, MAX_SPLIT_VARIANTS, MAX_SPLIT_WEIGHT, MIN_SPLIT_VARIANTS,
};
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
        Some("delay") => parse_delay(data, &mut cx),
        Some("loop") => parse_loop(data, &mut cx),
        Some("split") => parse_split(data, &mut cx),
        Some(other) => {
            cx.push(
                "type",
                format!(
                    "unknown node type {other:?} (expected one of {})",
                    NODE_TYPES.join(", ")
                ),
            );
            None
        }
        None => {
            cx.push(
                "type",
                format!("node type is required (one of {})", NODE_TYPES.join(", ")),
            );
            None
        }
    };
    Some(Node {
        id: NodeId::new(raw.id),
        kind: kind?,
        on_error: on_error?,
        parent: None,
    })
}

/// Every node `type` a document may use.
pub const NODE_TYPES: &[&str] = &["trigger", "action", "condition", "delay", "loop", "split"];

/// `data.<key>` as an object, or an issue.
fn object<'d>(
    data: &'d Map<String, Value>,
    key: &str,
    shape: &str,
    cx: &mut Ctx<'_, '_>,
) -> Option<&'d Map<String, Value>> {
    match data.get(key) {
        Some(Value::Object(o)) => Some(o),
        _ => {
            cx.push(&format!("data.{key}"), format!("{key} must be an object {shape}"));
            None
        }
    }
}

fn parse_delay(data: &Map<String, Value>, cx: &mut Ctx<'_, '_>) -> Option<NodeKind> {
    let delay = object(data, "delay", "{\"ms\": n} or {\"until\": \"<RFC 3339>\"}", cx)?;
    match (delay.get("ms"), delay.get("until")) {
        (Some(_), Some(_)) => {
            cx.push("data.delay", "give either ms or until, not both");
            None
        }
        (Some(ms), None) => match ms.as_u64() {
            Some(n) if (1..=MAX_DELAY_MS).contains(&n) => Some(NodeKind::Delay(Delay::For(n))),
            _ => {
                cx.push(
                    "data.delay.ms",
                    format!("ms must be an integer from 1 to {MAX_DELAY_MS} (365 days), got {ms}"),
                );
                None
            }
        },
        (None, Some(Value::String(until))) => {
            if !has_template(until) && ms_from_rfc3339(until.trim()).is_none() {
                cx.push(
                    "data.delay.until",
                    format!("until must be an RFC 3339 time (like 2027-01-31T09:00:00Z) or a template, got {until:?}"),
                );
                return None;
            }
            Some(NodeKind::Delay(Delay::Until(Value::String(until.clone()))))
        }
        (None, Some(other)) => {
            cx.push("data.delay.until", format!("until must be a string, got {other}"));
            None
        }
        (None, None) => {
            cx.push("data.delay", "a delay needs ms (a duration) or until (a time)");
            None
        }
    }
}

fn parse_loop(data: &Map<String, Value>, cx: &mut Ctx<'_, '_>) -> Option<NodeKind> {
    let spec = object(data, "loop", "{items, concurrency?, maxItems?}", cx)?;
    let items = match spec.get("items") {
        Some(Value::String(t)) if has_template(t) => Some(Value::String(t.clone())),
        Some(a @ Value::Array(_)) => Some(a.clone()),
        Some(other) => {
            cx.push(
                "data.loop.items",
                format!("items must be a template of an array (like \"{{{{trigger.contacts}}}}\") or an array, got {other}"),
            );
            None
        }
        None => {
            cx.push("data.loop.items", "items is required (a template of an array)");
            None
        }
    };
    let concurrency = bounded(
        spec.get("concurrency"),
        "data.loop.concurrency",
        1,
        u64::from(MAX_LOOP_CONCURRENCY),
        cx,
    );
    let max_items = bounded(
        spec.get("maxItems"),
        "data.loop.maxItems",
        1,
        MAX_LOOP_ITEMS as u64,
        cx,
    );
    Some(NodeKind::Loop(LoopSpec {
        items: items?,
        concurrency: concurrency?.map_or(DEFAULT_LOOP_CONCURRENCY, |c| c as u32),
        max_items: max_items?.map_or(MAX_LOOP_ITEMS, |m| m as usize),
    }))
}

/// Whether `handle` may name a split variant: 1 to 64 letters, digits, `-` or `_`.
fn is_handle(handle: &str) -> bool {
    (1..=64).contains(&handle.len())
        && handle
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_split(data: &Map<String, Value>, cx: &mut Ctx<'_, '_>) -> Option<NodeKind> {
    let spec = object(
        data,
        "split",
        "{\"variants\": [{\"handle\", \"weight\"}, ...]}",
        cx,
    )?;
    let Some(raw) = spec.get("variants").and_then(Value::as_array) else {
        cx.push(
            "data.split.variants",
            "variants must be an array of {handle, weight}",
        );
        return None;
    };
    if !(MIN_SPLIT_VARIANTS..=MAX_SPLIT_VARIANTS).contains(&raw.len()) {
        cx.push(
            "data.split.variants",
            format!(
                "a split needs {MIN_SPLIT_VARIANTS} to {MAX_SPLIT_VARIANTS} variants, got {}",
                raw.len()
            ),
        );
        return None;
    }
    let mut variants = Vec::new();
    let mut ok = true;
    for (k, v) in raw.iter().enumerate() {
        let at = format!("data.split.variants[{k}]");
        let handle = v.get("handle").and_then(Value::as_str);
        match handle {
            Some(h) if is_handle(h) => {
                if variants.iter().any(|x: &Variant| x.handle == h) {
                    cx.push(&format!("{at}.handle"), format!("duplicate variant handle {h:?}"));
                    ok = false;
                }
            }
            _ => {
                cx.push(
                    &format!("{at}.handle"),
                    "handle must be 1 to 64 letters, digits, - or _",
                );
                ok = false;
            }
        }
        let weight = bounded(v.get("weight"), &format!("{at}.weight"), 1, MAX_SPLIT_WEIGHT, cx);
        match (handle, weight) {
            (Some(h), Some(Some(w))) => variants.push(Variant {
                handle: h.to_string(),
                weight: w,
            }),
            (_, Some(None)) => {
                cx.push(&format!("{at}.weight"), "weight is required");
                ok = false;
            }
            _ => ok = false,
        }
    }
    ok.then_some(NodeKind::Split(variants))
}

fn parse_trigger(data: &Map<String, Value>, cx: &mut Ctx<'_, '_>) -> Option<NodeKind> {
    let name = data.get("triggerType").and_then(Value::as_str);
    let trigger_type = name.and_then(TriggerType::parse);
    if trigger_type.is_none() {
        let got = name.map_or("nothing".to_string(), |n| format!("{n:?}"));
        cx.push(
            "data.triggerType",
            format!(
                "triggerType must be one of {}, got {got}",
                TriggerType::NAMES.join(", ")
            ),
        );
    }
    let empty = Map::new();
    let config = match data.get("config") {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(c)) => c,
        Some(_) => {
            cx.push("data.config", "config must be an object");
            return None;
        }
    };
    let filter = match config.get("filter") {
        None | Some(Value::Null) => Some(None),
        Some(raw) => {
            let parsed = parse_comparison(raw, "data.config.filter", cx);
            check_filter_templates(raw, cx);
            parsed.map(Some)
        }
    };
    let redirect_url = parse_redirect_url(config.get("redirectUrl"), trigger_type, cx);
    Some(NodeKind::Trigger(Trigger {
        trigger_type: trigger_type?,
        filter: filter?,
        redirect_url: redirect_url?,
    }))
}

/// A trigger filter decides whether a run starts, before any node ran, so
/// its templates may read the trigger data only.
fn check_filter_templates(raw: &Value, cx: &mut Ctx<'_, '_>) {
    let Some(filter) = raw.as_object() else { return };
    for side in ["left", "right"] {
        let Some(value) = filter.get(side) else { continue };
        for (field, found) in references(value, &format!("data.config.filter.{side}")) {
            match found {
                Err(e) => cx.push(&field, e.to_string()),
                Ok(r) if r.root != Root::Trigger => cx.push(
                    &field,
                    format!(
                        "template {}: a trigger filter may read only the trigger data ({{{{trigger.<path>}}}})",
                        r.raw
                    ),
                ),
                Ok(_) => {}
            }
        }
    }
}

/// `data.config.redirectUrl`: only on a `form_submit` trigger, an absolute
/// http(s) URL without templates. An empty string is a cleared field and
/// counts as absent.
fn parse_redirect_url(
    value: Option<&Value>,
    trigger_type: Option<TriggerType>,
    cx: &mut Ctx<'_, '_>,
) -> Option<Option<String>> {
    const FIELD: &str = "data.config.redirectUrl";
    let url = match value {
        None | Some(Value::Null) => return Some(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Some(None),
        Some(Value::String(s)) => s.trim(),
        Some(other) => {
            cx.push(FIELD, format!("redirectUrl must be a string, got {other}"));
            return None;
        }
    };
    match trigger_type {
        Some(TriggerType::FormSubmit) => {}
        Some(other) => {
            cx.push(
                FIELD,
                format!(
                    "redirectUrl applies only to form_submit triggers, not {}",
                    other.as_str()
                ),
            );
            return None;
        }
        None => return None,
    }
    match check_redirect_url(url) {
        Ok(()) => Some(Some(url.to_string())),
        Err(why) => {
            cx.push(
                FIELD,
                format!("redirectUrl must be an absolute http(s) URL: {why}"),
            );
            None
        }
    }
}

/// Why `url` is not an absolute `http`/`https` URL that can go into a
/// `Location` header as written.
fn check_redirect_url(url: &str) -> Result<(), String> {
    if url.chars().count() > MAX_REDIRECT_URL_CHARS {
        return Err(format!("longer than {MAX_REDIRECT_URL_CHARS} characters"));
    }
    if has_template(url) {
        return Err("templates are not allowed here".into());
    }
    if let Some(c) = url.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "{c:?} is not allowed (spaces, control and non-ASCII characters must be percent-encoded)"
        ));
    }
    let lower = url.to_ascii_lowercase();
    let rest = ["https://", "http://"]
        .iter()
        .find_map(|scheme| lower.strip_prefix(scheme))
        .ok_or("it must start with https:// or http://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("credentials are not allowed in it".into());
    }
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => {
            let (addr, after) = v6.split_once(']').ok_or("unclosed [ in the host")?;
            if addr.is_empty()
                || !addr
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
            {
                return Err(format!("[{addr}] is not an IPv6 address"));
            }
            (addr, after.strip_prefix(':'))
        }
        None => match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    if host.is_empty() {
        return Err("it has no host".into());
    }
    let host_ok = authority.starts_with('[')
        || host
            .split('.')
            .all(|label| !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !host_ok {
        return Err(format!("{host:?} is not a host name"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0) {
            return Err(format!("{port:?} is not a port"));
        }
    }
    Ok(())
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
                let name = last(field);
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
    let raw = data.get("condition").unwrap_or(&Value::Null);
    parse_comparison(raw, "data.condition", cx).map(NodeKind::Condition)
}

/// `{left, op, right}` found at `at` (a condition node's `data.condition`,
/// a trigger's `data.config.filter`).
fn parse_comparison(raw: &Value, at: &str, cx: &mut Ctx<'_, '_>) -> Option<Condition> {
    let Some(cond) = raw.as_object() else {
        cx.push(at, format!("{} must be an object {{left, op, right}}", last(at)));
        return None;
    };
    let op_name = cond.get("op").and_then(Value::as_str);
    let op = op_name.and_then(Op::parse);
    if op.is_none() {
        let got = op_name.map_or("nothing".to_string(), |n| format!("{n:?}"));
        cx.push(
            &format!("{at}.op"),
            format!("op must be one of {}, got {got}", Op::NAMES.join(", ")),
        );
    }
    let left = cond.get("left").cloned();
    if left.is_none() {
        cx.push(&format!("{at}.left"), "left operand is required");
    }
    let right = cond.get("right").cloned();
    if right.is_none() && op.is_some_and(Op::needs_right) {
        cx.push(&format!("{at}.right"), "right operand is required");
    }
    Some(Condition {
        left: left?,
        op: op?,
        right: right.unwrap_or(Value::Null),
    })
}

/// The last segment of a dotted field path, for messages.
fn last(field: &str) -> &str {
    field.rsplit('.').next().unwrap_or(field)
}
