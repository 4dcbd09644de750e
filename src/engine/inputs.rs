//! An action's inputs at run time: its `data.config` rendered against the
//! run's scope, then checked against the action's schema.

use super::template::{escape_html, render, render_within, ErrorKind, Scope};
use crate::limits::{MAX_RENDERED_INPUTS_BYTES, MAX_RENDERED_INPUT_BYTES};
use crate::schema::{self, ActionSpec};
use serde_json::Value;

/// Renders a node's `data.config`: fields marked `html` interpolate
/// HTML-escaped text, every other field follows the usual template rules.
/// Each input renders within `MAX_RENDERED_INPUT_BYTES` and all of them
/// together within `MAX_RENDERED_INPUTS_BYTES`; the error names the input
/// that crossed the line.
pub fn render_inputs(spec: &ActionSpec, config: &Value, scope: &Scope<'_>) -> Result<Value, String> {
    let Some(map) = config.as_object() else {
        return render(config, scope).map_err(|e| e.to_string());
    };
    let mut total = MAX_RENDERED_INPUTS_BYTES;
    let mut out = serde_json::Map::with_capacity(map.len());
    for (name, value) in map {
        let html = spec.input_schema.iter().any(|(n, f)| n == name && f.html);
        let escape = html.then_some(escape_html as fn(&str) -> String);
        let mut budget = MAX_RENDERED_INPUT_BYTES.min(total);
        let before = budget;
        let rendered = render_within(value, scope, escape, &mut budget).map_err(|e| match e.kind {
            ErrorKind::TooLarge if before < MAX_RENDERED_INPUT_BYTES => format!(
                "input {name:?}: the inputs together render to more than {MAX_RENDERED_INPUTS_BYTES} bytes"
            ),
            ErrorKind::TooLarge => format!("input {name:?}: {e}"),
            _ => e.to_string(),
        })?;
        total -= before - budget;
        out.insert(name.clone(), rendered);
    }
    Ok(Value::Object(out))
}

/// The inputs of one call of `action_id`: rendered and checked, or the
/// message that fails the node.
pub fn prepare(action_id: &str, config: &Value, scope: &Scope<'_>) -> Result<Value, String> {
    let spec = schema::find(action_id).ok_or_else(|| format!("unknown action {action_id:?}"))?;
    let inputs = render_inputs(spec, config, scope)?;
    schema::check_inputs(spec, &inputs).map_err(|issues| {
        issues
            .iter()
            .map(|issue| issue.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(inputs)
}
