//! An action's inputs at run time: its `data.config` rendered against the
//! run's scope, then checked against the action's schema.

use super::template::{escape_html, render, render_with, Scope, TemplateError};
use crate::schema::{self, ActionSpec};
use serde_json::Value;

/// Renders a node's `data.config`: fields marked `html` interpolate
/// HTML-escaped text, every other field follows the usual template rules.
pub fn render_inputs(spec: &ActionSpec, config: &Value, scope: &Scope<'_>) -> Result<Value, TemplateError> {
    let Some(map) = config.as_object() else {
        return render(config, scope);
    };
    let mut out = serde_json::Map::with_capacity(map.len());
    for (name, value) in map {
        let html = spec.input_schema.iter().any(|(n, f)| n == name && f.html);
        let rendered = if html {
            render_with(value, scope, escape_html)?
        } else {
            render(value, scope)?
        };
        out.insert(name.clone(), rendered);
    }
    Ok(Value::Object(out))
}

/// The inputs of one call of `action_id`: rendered and checked, or the
/// message that fails the node.
pub fn prepare(action_id: &str, config: &Value, scope: &Scope<'_>) -> Result<Value, String> {
    let spec = schema::find(action_id).ok_or_else(|| format!("unknown action {action_id:?}"))?;
    let inputs = render_inputs(spec, config, scope).map_err(|e| e.to_string())?;
    schema::check_inputs(spec, &inputs).map_err(|issues| {
        issues
            .iter()
            .map(|issue| issue.message.as_str())
            .collect::<Vec<_>>()
            .join("; ")
    })?;
    Ok(inputs)
}
