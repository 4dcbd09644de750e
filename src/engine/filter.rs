//! Trigger filters: whether an event or a form post starts a workflow at all.

use super::graph::Graph;
use super::step::holds;
use super::template::Scope;
use serde_json::Value;
use std::collections::HashMap;

/// Whether `trigger_data` passes the workflow's trigger filter
/// (`data.config.filter` of its trigger node), evaluated like a condition
/// node over the trigger data alone. No filter passes everything; `exists`
/// on a missing path is false; any other operator on a missing path, or
/// operands it cannot compare, is an `Err` naming the problem (the caller
/// does not start the run).
pub fn trigger_passes(graph: &Graph, trigger_data: &Value) -> Result<bool, String> {
    let Some(filter) = graph.trigger_filter() else {
        return Ok(true);
    };
    // Validation allowed `trigger.<path>` templates only, so nothing else
    // in the scope is ever read.
    let outputs = HashMap::new();
    let scope = Scope::top(trigger_data, "", None, &outputs);
    holds(filter, &scope).map_err(|e| format!("trigger filter: {e}"))
}
