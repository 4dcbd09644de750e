//! Save-time structural check, and the well-formed skeleton that full validation builds on.

use super::issue::ValidationIssue;
use crate::limits::MAX_NODE_ID_CHARS;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// A node that is an object with a unique, non-empty string id.
pub(crate) struct RawNode<'a> {
    pub id: &'a str,
    pub body: &'a Map<String, Value>,
}

/// An edge that is an object with string id/source/target naming known nodes.
pub(crate) struct RawEdge<'a> {
    pub id: &'a str,
    pub source: usize,
    pub target: usize,
    pub body: &'a Map<String, Value>,
}

/// The well-formed part of a document, plus an issue for each malformed part.
pub(crate) struct Skeleton<'a> {
    pub nodes: Vec<RawNode<'a>>,
    pub edges: Vec<RawEdge<'a>>,
    pub issues: Vec<ValidationIssue>,
}

/// Save-time check: `nodes` and `edges` are arrays, each node an object with
/// a unique non-empty string `id`, each edge an object with string `id`,
/// `source` and `target` naming existing nodes. Returns every issue found.
pub fn check_structure(nodes: &Value, edges: &Value) -> Result<(), Vec<ValidationIssue>> {
    let skeleton = skeleton(nodes, edges);
    if skeleton.issues.is_empty() {
        Ok(())
    } else {
        Err(skeleton.issues)
    }
}

pub(crate) fn skeleton<'a>(nodes: &'a Value, edges: &'a Value) -> Skeleton<'a> {
    let mut issues = Vec::new();
    let mut raw_nodes: Vec<RawNode<'a>> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    match nodes {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let Some(body) = item.as_object() else {
                    issues.push(
                        ValidationIssue::document("node must be an object").with_field(format!("nodes[{i}]")),
                    );
                    continue;
                };
                match body.get("id").and_then(Value::as_str) {
                    Some(id) if id.chars().count() > MAX_NODE_ID_CHARS => issues.push(
                        ValidationIssue::document(format!(
                            "node id must be at most {MAX_NODE_ID_CHARS} characters"
                        ))
                        .with_field(format!("nodes[{i}].id")),
                    ),
                    Some(id) if !id.trim().is_empty() => {
                        if index.contains_key(id) {
                            issues.push(
                                ValidationIssue::node(id, format!("duplicate node id {id:?}"))
                                    .with_field("id"),
                            );
                        } else {
                            index.insert(id, raw_nodes.len());
                            raw_nodes.push(RawNode { id, body });
                        }
                    }
                    _ => issues.push(
                        ValidationIssue::document("node id must be a non-empty string")
                            .with_field(format!("nodes[{i}].id")),
                    ),
                }
            }
        }
        _ => issues.push(ValidationIssue::document("nodes must be an array").with_field("nodes")),
    }

    let mut raw_edges = Vec::new();
    match edges {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let Some(body) = item.as_object() else {
                    issues.push(
                        ValidationIssue::document("edge must be an object").with_field(format!("edges[{i}]")),
                    );
                    continue;
                };
                let id = match body.get("id").and_then(Value::as_str) {
                    Some(id) if !id.trim().is_empty() => id,
                    _ => {
                        issues.push(
                            ValidationIssue::document("edge id must be a non-empty string")
                                .with_field(format!("edges[{i}].id")),
                        );
                        continue;
                    }
                };
                let mut end = |field: &str| match body.get(field).and_then(Value::as_str) {
                    Some(node) => match index.get(node) {
                        Some(&at) => Some(at),
                        None => {
                            issues.push(
                                ValidationIssue::edge(
                                    id,
                                    format!("{field} {node:?} is not a node of this workflow"),
                                )
                                .with_field(field),
                            );
                            None
                        }
                    },
                    None => {
                        issues.push(
                            ValidationIssue::edge(id, format!("{field} must be a node id")).with_field(field),
                        );
                        None
                    }
                };
                let (source, target) = (end("source"), end("target"));
                if let (Some(source), Some(target)) = (source, target) {
                    raw_edges.push(RawEdge {
                        id,
                        source,
                        target,
                        body,
                    });
                }
            }
        }
        _ => issues.push(ValidationIssue::document("edges must be an array").with_field("edges")),
    }
    Skeleton {
        nodes: raw_nodes,
        edges: raw_edges,
        issues,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_well_formed_document() {
        let nodes = json!([{"id": "a", "type": "trigger"}, {"id": "b"}]);
        let edges = json!([{"id": "e1", "source": "a", "target": "b"}]);
        assert_eq!(check_structure(&nodes, &edges), Ok(()));
        assert_eq!(check_structure(&json!([]), &json!([])), Ok(()));
    }

    #[test]
    fn reports_every_structural_problem() {
        let nodes = json!([{"id": "a"}, {"id": "a"}, 3, {"id": ""}]);
        let edges = json!([{"id": "e1", "source": "a", "target": "zz"}, {"source": "a", "target": "a"}, "x"]);
        let issues = check_structure(&nodes, &edges).unwrap_err();
        let text: Vec<String> = issues.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "node \"a\": id: duplicate node id \"a\"",
                "nodes[2]: node must be an object",
                "nodes[3].id: node id must be a non-empty string",
                "edge \"e1\": target: target \"zz\" is not a node of this workflow",
                "edges[1].id: edge id must be a non-empty string",
                "edges[2]: edge must be an object",
            ]
        );
    }

    #[test]
    fn node_ids_are_bounded() {
        let long = "n".repeat(MAX_NODE_ID_CHARS + 1);
        let issues = check_structure(&json!([{"id": long}]), &json!([])).unwrap_err();
        assert_eq!(
            issues[0].to_string(),
            "nodes[0].id: node id must be at most 200 characters"
        );
        let longest = "n".repeat(MAX_NODE_ID_CHARS);
        assert_eq!(check_structure(&json!([{"id": longest}]), &json!([])), Ok(()));
    }

    #[test]
    fn rejects_non_arrays() {
        let issues = check_structure(&json!({}), &Value::Null).unwrap_err();
        assert_eq!(issues.len(), 2);
        assert_eq!(issues[0].field.as_deref(), Some("nodes"));
        assert_eq!(issues[1].field.as_deref(), Some("edges"));
    }
}
