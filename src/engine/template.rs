//! `{{ path }}` templates: parsing, reference listing for validation, and rendering.
//!
//! Templates are data lookups only; nothing is ever evaluated as code.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;

use crate::limits::MAX_RENDERED_INPUT_BYTES;

/// Where a template path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    /// `trigger.<path>`: the trigger data.
    Trigger,
    /// `execution.id`.
    ExecutionId,
    /// `workflow.id` (null for an unsaved test run).
    WorkflowId,
    /// `nodes.<id>.output.<path>`: an upstream node's output.
    NodeOutput(String),
    /// `loop.item.<path>`: the item of the innermost loop this node is in.
    LoopItem,
    /// `loop.index`: that item's 0-based position.
    LoopIndex,
}

/// One parsed `{{ ... }}` occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateRef {
    /// The template as written, braces included, for error messages.
    pub raw: String,
    pub root: Root,
    /// Segments after the root; numeric segments also index arrays.
    pub path: Vec<String>,
}

/// A template that is malformed or cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub template: String,
    pub kind: ErrorKind,
    pub message: String,
}

/// Whether a template is wrong in itself or only lacks data at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Syntax,
    Missing,
    /// What it renders to exceeds the budget it was given.
    TooLarge,
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template {}: {}", self.template, self.message)
    }
}

enum Piece<'s> {
    Text(&'s str),
    Ref(TemplateRef),
}

/// What templates can see at run time.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub trigger: &'a Value,
    pub execution_id: &'a str,
    pub workflow_id: Option<&'a str>,
    /// Outputs of nodes that succeeded so far, by node id.
    pub outputs: &'a HashMap<String, Value>,
    /// Inside a loop body: the item and its index.
    pub item: Option<(&'a Value, u64)>,
    /// Inside a loop body: the scope the loop itself runs in, whose
    /// outputs are visible too.
    pub outer: Option<&'a Scope<'a>>,
}

impl<'a> Scope<'a> {
    /// A scope outside every loop.
    pub fn top(
        trigger: &'a Value,
        execution_id: &'a str,
        workflow_id: Option<&'a str>,
        outputs: &'a HashMap<String, Value>,
    ) -> Self {
        Scope {
            trigger,
            execution_id,
            workflow_id,
            outputs,
            item: None,
            outer: None,
        }
    }

    /// The output of node `id`, looked up here, then in the enclosing scopes.
    fn output(&self, id: &str) -> Option<&'a Value> {
        match self.outputs.get(id) {
            Some(v) => Some(v),
            None => self.outer.and_then(|o| o.output(id)),
        }
    }
}

fn syntax(raw: &str, message: impl Into<String>) -> TemplateError {
    TemplateError {
        template: raw.to_string(),
        kind: ErrorKind::Syntax,
        message: message.into(),
    }
}

fn parse_ref(raw: &str, inner: &str) -> Result<TemplateRef, TemplateError> {
    let inner = inner.trim();
    if inner.is_empty() || inner.chars().any(char::is_whitespace) {
        return Err(syntax(raw, "expected one dotted path without spaces"));
    }
    let segments: Vec<&str> = inner.split('.').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(syntax(raw, "empty path segment"));
    }
    let rest = |from: usize| segments[from..].iter().map(|s| s.to_string()).collect();
    let root = match segments.as_slice() {
        ["trigger", ..] => {
            return Ok(TemplateRef {
                raw: raw.into(),
                root: Root::Trigger,
                path: rest(1),
            })
        }
        ["execution", "id"] => Root::ExecutionId,
        ["workflow", "id"] => Root::WorkflowId,
        ["nodes", id, "output", ..] => {
            return Ok(TemplateRef {
                raw: raw.into(),
                root: Root::NodeOutput(id.to_string()),
                path: rest(3),
            })
        }
        ["nodes", ..] => return Err(syntax(raw, "expected nodes.<nodeId>.output[.<path>]")),
        ["loop", "item", ..] => {
            return Ok(TemplateRef {
                raw: raw.into(),
                root: Root::LoopItem,
                path: rest(2),
            })
        }
        ["loop", "index"] => Root::LoopIndex,
        ["loop", ..] => return Err(syntax(raw, "expected loop.item[.<path>] or loop.index")),
        _ => {
            return Err(syntax(
                raw,
                "a path must start with trigger, nodes.<nodeId>.output, loop.item, loop.index, execution.id or workflow.id",
            ))
        }
    };
    Ok(TemplateRef {
        raw: raw.into(),
        root,
        path: Vec::new(),
    })
}

/// Splits a string into text and templates. An opening `{{` without a
/// closing `}}` is plain text.
fn parse(s: &str) -> Result<Vec<Piece<'_>>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find("{{") {
        let Some(len) = rest[open + 2..].find("}}") else {
            break;
        };
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let end = open + 2 + len + 2;
        pieces.push(Piece::Ref(parse_ref(&rest[open..end], &rest[open + 2..end - 2])?));
        rest = &rest[end..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// True when the string holds at least one template.
pub fn has_template(s: &str) -> bool {
    s.find("{{").is_some_and(|i| s[i + 2..].contains("}}"))
}

/// Every template in a JSON value (strings inside objects and arrays
/// included), each with the dotted field path where it was found, under `at`.
pub fn references(value: &Value, at: &str) -> Vec<(String, Result<TemplateRef, TemplateError>)> {
    let mut found = Vec::new();
    collect(value, at, &mut found);
    found
}

fn collect(value: &Value, at: &str, found: &mut Vec<(String, Result<TemplateRef, TemplateError>)>) {
    let join = |key: &dyn fmt::Display| {
        if at.is_empty() {
            key.to_string()
        } else {
            format!("{at}.{key}")
        }
    };
    match value {
        Value::String(s) => match parse(s) {
            Ok(pieces) => found.extend(pieces.into_iter().filter_map(|p| match p {
                Piece::Ref(r) => Some((at.to_string(), Ok(r))),
                Piece::Text(_) => None,
            })),
            Err(e) => found.push((at.to_string(), Err(e))),
        },
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| collect(v, &join(&i), found)),
        Value::Object(map) => map.iter().for_each(|(k, v)| collect(v, &join(k), found)),
        _ => {}
    }
}

/// Looks a template up. A missing path or a node without output is a
/// `Missing` error naming the template and the path.
pub fn resolve(r: &TemplateRef, scope: &Scope<'_>) -> Result<Value, TemplateError> {
    let missing = |message: String| TemplateError {
        template: r.raw.clone(),
        kind: ErrorKind::Missing,
        message,
    };
    let (start, what) = match &r.root {
        Root::ExecutionId => return Ok(Value::String(scope.execution_id.to_string())),
        Root::WorkflowId => return Ok(scope.workflow_id.map_or(Value::Null, |w| Value::String(w.into()))),
        Root::Trigger => (scope.trigger, "trigger data".to_string()),
        Root::LoopIndex => {
            return match scope.item {
                Some((_, index)) => Ok(Value::from(index)),
                None => Err(missing("loop.index is defined only inside a loop body".into())),
            }
        }
        Root::LoopItem => match scope.item {
            Some((item, _)) => (item, "loop item".to_string()),
            None => return Err(missing("loop.item is defined only inside a loop body".into())),
        },
        Root::NodeOutput(id) => match scope.output(id) {
            Some(out) => (out, format!("output of node {id:?}")),
            None => return Err(missing(format!("node {id:?} has no output (it did not succeed)"))),
        },
    };
    let mut current = start;
    for seg in &r.path {
        let next = match current {
            Value::Object(map) => map.get(seg),
            Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        current = next.ok_or_else(|| missing(format!("path {:?} not found in {what}", r.path.join("."))))?;
    }
    Ok(current.clone())
}

/// Text form of an interpolated value: strings raw, anything else compact JSON.
pub fn to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Renders every template in a value. A string that is exactly one template
/// (surrounding whitespace aside) becomes the referenced value with its JSON
/// type; templates inside longer text are interpolated as text.
/// Rendering stops with [`ErrorKind::TooLarge`] once a value would exceed
/// `limits::MAX_RENDERED_INPUT_BYTES`, so a small document cannot expand a
/// large trigger into an isolate-killing string.
pub fn render(value: &Value, scope: &Scope<'_>) -> Result<Value, TemplateError> {
    render_within(value, scope, None, &mut MAX_RENDERED_INPUT_BYTES.clone())
}

/// Renders within `budget` bytes (of text produced, or of serialized JSON
/// for whole-value templates), counting down; `escape` as in [`render_with`].
pub fn render_within(
    value: &Value,
    scope: &Scope<'_>,
    escape: Option<fn(&str) -> String>,
    budget: &mut usize,
) -> Result<Value, TemplateError> {
    render_value(value, scope, escape, budget)
}

/// Takes `bytes` from the budget, or fails naming the template.
fn spend(budget: &mut usize, bytes: usize, raw: &str) -> Result<(), TemplateError> {
    match budget.checked_sub(bytes) {
        Some(left) => {
            *budget = left;
            Ok(())
        }
        None => Err(TemplateError {
            template: raw.to_string(),
            kind: ErrorKind::TooLarge,
            message: format!("renders to more than {MAX_RENDERED_INPUT_BYTES} bytes"),
        }),
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Like [`render`], but every string containing a template renders to text
/// and each interpolated piece passes through `escape` (e.g. HTML escaping
/// for an email body), so no value keeps its JSON type.
pub fn render_with(
    value: &Value,
    scope: &Scope<'_>,
    escape: fn(&str) -> String,
) -> Result<Value, TemplateError> {
    render_within(value, scope, Some(escape), &mut MAX_RENDERED_INPUT_BYTES.clone())
}

fn render_value(
    value: &Value,
    scope: &Scope<'_>,
    escape: Option<fn(&str) -> String>,
    budget: &mut usize,
) -> Result<Value, TemplateError> {
    Ok(match value {
        Value::String(s) => render_str(s, scope, escape, budget)?,
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| render_value(v, scope, escape, budget))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), render_value(v, scope, escape, budget)?)))
                .collect::<Result<Map<_, _>, TemplateError>>()?,
        ),
        other => other.clone(),
    })
}

fn render_str(
    s: &str,
    scope: &Scope<'_>,
    escape: Option<fn(&str) -> String>,
    budget: &mut usize,
) -> Result<Value, TemplateError> {
    if escape.is_none() {
        if let [Piece::Ref(r)] = parse(s.trim())?.as_slice() {
            let value = resolve(r, scope)?;
            let size = match &value {
                Value::String(text) => text.len(),
                other => serde_json::to_string(other).map_or(0, |j| j.len()),
            };
            spend(budget, size, &r.raw)?;
            return Ok(value);
        }
    }
    let pieces = parse(s)?;
    let mut out = String::with_capacity(s.len().min(*budget));
    for piece in &pieces {
        match piece {
            Piece::Text(t) => {
                spend(budget, t.len(), s)?;
                out.push_str(t);
            }
            Piece::Ref(r) => {
                let text = to_text(&resolve(r, scope)?);
                let text = match escape {
                    Some(f) => f(&text),
                    None => text,
                };
                spend(budget, text.len(), &r.raw)?;
                out.push_str(&text);
            }
        }
    }
    Ok(Value::String(out))
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
