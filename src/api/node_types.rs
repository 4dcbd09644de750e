//! `GET /api/node-types`: what each node type is and how its `data` is
//! written, as JSON-Schema-like objects (types, bounds, defaults, enums)
//! plus the rules for its edges, so a canvas can build its palette and its
//! forms from the API. Bounds come from `limits` and the enums from the
//! engine and the action catalog, so this description cannot drift from
//! what validation accepts.

use serde_json::{json, Value};

use crate::engine::condition::Op;
use crate::engine::TriggerType;
use crate::limits::{
    Limits, DEFAULT_LOOP_CONCURRENCY, MAX_DELAY_MS, MAX_LOOP_CONCURRENCY, MAX_LOOP_DEPTH, MAX_LOOP_ITEMS,
    MAX_LOOP_ITEMS_BYTES, MAX_REDIRECT_URL_CHARS, MAX_SPLIT_VARIANTS, MAX_SPLIT_WEIGHT, MIN_SPLIT_VARIANTS,
};
use crate::schema::catalog;

/// The pattern a split variant's handle must match.
pub const HANDLE_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";

fn label() -> Value {
    json!({"type": "string", "description": "Shown on the canvas; ignored by the engine"})
}

fn on_error() -> Value {
    json!({"type": "string", "enum": ["continue", "stop"], "default": "continue",
           "description": "continue: record the failure, skip the dependents, let other branches go on; stop: end the run"})
}

/// `{left, op, right}`: a condition node's `data.condition`, a trigger's filter.
fn comparison(description: &str) -> Value {
    json!({"type": "object", "description": description, "required": ["left", "op"],
        "properties": {
            "left": {"description": "A value, or a template such as {{nodes.<id>.output.score}}"},
            "op": {"type": "string", "enum": Op::NAMES},
            "right": {"description": "A value or a template; required by every op but exists"}}})
}

/// Outgoing edges without a handle.
fn plain_out() -> Value {
    json!({"sourceHandle": "none"})
}

fn trigger() -> Value {
    json!({
        "type": "trigger",
        "label": "Trigger",
        "description": "What starts the workflow: a public form post, a contact update, a deal won, or a manual/API run. Its output is the trigger data, read as {{trigger.<path>}}.",
        "perWorkflow": {"min": 1, "max": 1},
        "data": {"type": "object", "required": ["triggerType"], "properties": {
            "label": label(),
            "triggerType": {"type": "string", "enum": TriggerType::NAMES},
            "config": {"type": "object", "properties": {
                "filter": comparison("The workflow starts only when this holds; its templates read {{trigger.<path>}} only"),
                "redirectUrl": {"type": "string", "format": "uri", "maxLength": MAX_REDIRECT_URL_CHARS,
                    "description": "form_submit only: where a browser posting an HTML form is sent (303); absolute http(s), no templates"}}}}},
        "edges": {"incoming": false, "outgoing": plain_out()},
        "output": {"description": "The trigger data: the form fields, the event ({type, table, record, old_record, changed}) or the execute request's triggerData"},
        "example": {"id": "trigger-1", "type": "trigger", "position": {"x": 0, "y": 0},
            "data": {"label": "Website form", "triggerType": "form_submit", "config": {}}}
    })
}

fn action(l: &Limits) -> Value {
    let ids: Vec<&str> = catalog().iter().map(|a| a.id).collect();
    json!({
        "type": "action",
        "label": "Action",
        "description": "Runs one action of the catalog with its inputs; templates in the inputs are rendered first. Its output is the action's answer, read as {{nodes.<id>.output...}}.",
        "data": {"type": "object", "required": ["actionId"], "properties": {
            "label": label(),
            "actionId": {"type": "string", "enum": ids},
            "config": {"type": "object", "description": "The action's inputs: the inputSchema of its entry in GET /api/actions; values may hold templates",
                "x-schemaFrom": "/api/actions"},
            "retry": {"type": "object", "properties": {
                "maxAttempts": {"type": "integer", "minimum": 1, "maximum": l.max_attempts_cap, "default": l.default_max_attempts},
                "backoffMs": {"type": "integer", "minimum": 0, "maximum": l.backoff_cap_ms, "default": l.default_backoff_ms}}},
            "timeoutMs": {"type": "integer", "minimum": 1, "maximum": l.timeout_cap_ms, "default": l.default_timeout_ms},
            "onError": on_error()}},
        "edges": {"incoming": true, "outgoing": plain_out()},
        "output": {"description": "What the action's executor returns (see GET /api/actions)"},
        "example": {"id": "notify", "type": "action", "position": {"x": 0, "y": 140},
            "data": {"label": "Tell sales", "actionId": "send_notification",
                     "config": {"title": "New lead: {{trigger.name}}"}}}
    })
}

fn condition() -> Value {
    json!({
        "type": "condition",
        "label": "Condition",
        "description": "Compares two values and continues on the true or the false branch; the other branch is skipped.",
        "data": {"type": "object", "required": ["condition"], "properties": {
            "label": label(),
            "condition": comparison("The comparison; numbers (and numeric strings) compare numerically, contains works on strings and arrays, exists is true for a present non-null left"),
            "onError": on_error()}},
        "edges": {"incoming": true, "outgoing": {"sourceHandle": "required", "enum": ["true", "false"]}},
        "output": {"type": "object", "properties": {"result": {"type": "boolean"}}},
        "example": {"id": "is-hot", "type": "condition", "position": {"x": 0, "y": 280},
            "data": {"label": "Score 70 or more?", "condition": {"left": "{{nodes.score.output.score}}", "op": "gte", "right": 70}}}
    })
}

fn delay() -> Value {
    json!({
        "type": "delay",
        "label": "Delay",
        "description": "Waits for a duration or until a time; the run is `waiting` (with resume_at) meanwhile, costs nothing, and continues across deploys and restarts.",
        "data": {"type": "object", "required": ["delay"], "properties": {
            "label": label(),
            "delay": {"type": "object", "oneOf": [
                {"required": ["ms"], "properties": {"ms": {"type": "integer", "minimum": 1, "maximum": MAX_DELAY_MS,
                    "description": "How long to wait, in milliseconds (at most 365 days)"}}},
                {"required": ["until"], "properties": {"until": {"type": "string", "format": "date-time",
                    "description": "An RFC 3339 time, or one template giving one (e.g. {{trigger.meeting_at}}); more than 365 days ahead fails the step, a time passed continues at once"}}}]},
            "onError": on_error()}},
        "edges": {"incoming": true, "outgoing": plain_out()},
        "output": {"type": "object", "properties": {"resumedAt": {"type": "string", "format": "date-time"}, "waitedMs": {"type": "integer"}}},
        "example": {"id": "wait-2d", "type": "delay", "position": {"x": 0, "y": 280},
            "data": {"label": "Wait 2 days", "delay": {"ms": 172_800_000}}}
    })
}

fn loop_node() -> Value {
    json!({
        "type": "loop",
        "label": "For each",
        "description": "Runs its body once per item of an array. The body is the nodes whose top-level parentId is the loop's id (React Flow sub-flow), joined by their own edges; body templates may read {{loop.item}}, {{loop.item.<path>}} and {{loop.index}} (0-based). Edges leaving the loop continue after the last item.",
        "data": {"type": "object", "required": ["loop"], "properties": {
            "label": label(),
            "loop": {"type": "object", "required": ["items"], "properties": {
                "items": {"type": ["string", "array"], "maxBytes": MAX_LOOP_ITEMS_BYTES,
                    "description": "A template giving an array, e.g. {{trigger.contacts}}, or a literal array"},
                "concurrency": {"type": "integer", "minimum": 1, "maximum": MAX_LOOP_CONCURRENCY, "default": DEFAULT_LOOP_CONCURRENCY,
                    "description": "Items in flight at once"},
                "maxItems": {"type": "integer", "minimum": 1, "maximum": MAX_LOOP_ITEMS, "default": MAX_LOOP_ITEMS,
                    "description": "More items than this fails the loop"}}},
            "onError": on_error()}},
        "body": {"parentId": "the loop's id", "maxDepth": MAX_LOOP_DEPTH,
            "templates": ["{{loop.item}}", "{{loop.item.<path>}}", "{{loop.index}}"],
            "rules": "Body nodes have no edges to or from nodes outside the body; body nodes without an incoming body edge start each item; {{loop.*}} templates only inside a body; a body node cannot read the output of a loop it is inside."},
        "edges": {"incoming": true, "outgoing": plain_out()},
        "output": {"type": "object", "properties": {
            "count": {"type": "integer"}, "failed": {"type": "integer"},
            "items": {"type": "array", "items": {"type": "object", "description": "Each body node's output by node id"}}}},
        "example": {"id": "each-contact", "type": "loop", "position": {"x": 0, "y": 140},
            "data": {"label": "For each contact", "loop": {"items": "{{trigger.contacts}}", "concurrency": 3, "maxItems": 100}}}
    })
}

fn split() -> Value {
    json!({
        "type": "split",
        "label": "A/B split",
        "description": "Picks one variant per run with the given weights, reproducibly from the run's id, and continues on the edges carrying that variant's handle.",
        "data": {"type": "object", "required": ["split"], "properties": {
            "label": label(),
            "split": {"type": "object", "required": ["variants"], "properties": {
                "variants": {"type": "array", "minItems": MIN_SPLIT_VARIANTS, "maxItems": MAX_SPLIT_VARIANTS,
                    "description": "Handles are unique; each outgoing edge carries one as sourceHandle",
                    "items": {"type": "object", "required": ["handle", "weight"], "properties": {
                        "handle": {"type": "string", "pattern": HANDLE_PATTERN},
                        "weight": {"type": "integer", "minimum": 1, "maximum": MAX_SPLIT_WEIGHT}}}}}},
            "onError": on_error()}},
        "edges": {"incoming": true, "outgoing": {"sourceHandle": "required", "enumFrom": "data.split.variants[].handle"}},
        "output": {"type": "object", "properties": {"variant": {"type": "string"}}},
        "example": {"id": "ab", "type": "split", "position": {"x": 0, "y": 280},
            "data": {"label": "50/50", "split": {"variants": [{"handle": "a", "weight": 50}, {"handle": "b", "weight": 50}]}}}
    })
}

/// Every node type, in palette order.
pub fn node_types() -> Vec<Value> {
    let limits = Limits::default();
    vec![
        trigger(),
        action(&limits),
        condition(),
        delay(),
        loop_node(),
        split(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_has_a_schema_edge_rules_and_an_example_of_itself() {
        let types = node_types();
        let names: Vec<&str> = types.iter().map(|t| t["type"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["trigger", "action", "condition", "delay", "loop", "split"]
        );
        for t in &types {
            assert_eq!(t["data"]["type"], "object", "{}", t["type"]);
            assert!(t["data"]["required"].as_array().is_some_and(|r| !r.is_empty()));
            assert!(t["edges"]["outgoing"]["sourceHandle"].is_string());
            assert_eq!(t["example"]["type"], t["type"]);
        }
    }

    #[test]
    fn bounds_are_the_limits() {
        let types = node_types();
        let delay = &types[3]["data"]["properties"]["delay"]["oneOf"][0]["properties"]["ms"];
        assert_eq!(delay["maximum"], MAX_DELAY_MS);
        assert_eq!(delay["maximum"], 31_536_000_000u64);
        let lp = &types[4]["data"]["properties"]["loop"]["properties"];
        assert_eq!(lp["concurrency"]["maximum"], 6);
        assert_eq!(lp["maxItems"]["maximum"], 1000);
        let variants = &types[5]["data"]["properties"]["split"]["properties"]["variants"];
        assert_eq!(
            (variants["minItems"].as_u64(), variants["maxItems"].as_u64()),
            (Some(2), Some(10))
        );
        assert_eq!(variants["items"]["properties"]["weight"]["maximum"], 10_000);
    }
}
