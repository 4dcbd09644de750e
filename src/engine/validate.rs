//! Full validation: a raw document becomes a `Graph`, or every issue found is reported.

use super::graph::{Edge, Graph, Node, NodeKind};
use super::issue::ValidationIssue;
use super::node_def::parse_node;
use super::structure::{skeleton, RawEdge, RawNode};
use super::template::{references, Root};
use super::topo::Adjacency;
use crate::limits::Limits;
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// Checks everything contract sections 4 and 8 ask of a runnable workflow
/// (one trigger, known types and actions, required inputs, no cycle, every
/// node reachable, templates referencing only nodes that run on every path
/// to theirs, condition edges with handles) plus the size limits, and
/// returns the validated graph or all the issues found.
pub fn validate(nodes: &Value, edges: &Value, limits: &Limits) -> Result<Graph, Vec<ValidationIssue>> {
    check_size(nodes, edges, limits)?;
    let sk = skeleton(nodes, edges);
    let mut issues = sk.issues;
    let parsed: Vec<Option<Node>> = sk
        .nodes
        .iter()
        .map(|raw| parse_node(raw, limits, &mut issues))
        .collect();
    let raw_type = |i: usize| sk.nodes[i].body.get("type").and_then(Value::as_str);

    let triggers: Vec<usize> = (0..sk.nodes.len())
        .filter(|&i| raw_type(i) == Some("trigger"))
        .collect();
    match triggers.as_slice() {
        [] => issues.push(ValidationIssue::document("the workflow needs a trigger node")),
        [first, extra @ ..] => {
            for &i in extra {
                issues.push(ValidationIssue::node(
                    sk.nodes[i].id,
                    format!(
                        "only one trigger per workflow; {:?} is already the trigger",
                        sk.nodes[*first].id
                    ),
                ));
            }
        }
    }

    let (edges, adjacency) = check_edges(&sk.nodes, &sk.edges, &raw_type, &mut issues);
    for cycle in adjacency.cycles() {
        let mut names: Vec<&str> = cycle.iter().map(|&i| sk.nodes[i].id).collect();
        names.push(names[0]);
        issues.push(ValidationIssue::node(
            names[0],
            format!("cycle: {}", names.join(" -> ")),
        ));
    }
    if let [trigger] = triggers.as_slice() {
        let reachable = adjacency.reachable(*trigger);
        for (raw, _) in sk.nodes.iter().zip(&reachable).filter(|(_, r)| !**r) {
            issues.push(ValidationIssue::node(raw.id, "not reachable from the trigger"));
        }
    }
    let dominators = match triggers.as_slice() {
        [trigger] => Some(adjacency.dominators(*trigger)),
        _ => None,
    };
    check_templates(&sk.nodes, &parsed, &adjacency, dominators.as_deref(), &mut issues);

    if !issues.is_empty() {
        return Err(issues);
    }
    let nodes: Vec<Node> = parsed
        .into_iter()
        .map(|n| n.expect("no issues means every node parsed"))
        .collect();
    let order = adjacency
        .topological_order(&vec![true; nodes.len()])
        .expect("no issues means acyclic");
    let mut incoming = vec![Vec::new(); nodes.len()];
    let mut outgoing = vec![Vec::new(); nodes.len()];
    for (k, e) in edges.iter().enumerate() {
        outgoing[e.source].push(k);
        incoming[e.target].push(k);
    }
    Ok(Graph {
        nodes,
        edges,
        incoming,
        outgoing,
        order,
        trigger: triggers[0],
    })
}

fn check_size(nodes: &Value, edges: &Value, limits: &Limits) -> Result<(), Vec<ValidationIssue>> {
    let mut issues = Vec::new();
    let count = |v: &Value| v.as_array().map_or(0, Vec::len);
    if count(nodes) > limits.max_nodes {
        issues.push(
            ValidationIssue::document(format!(
                "too many nodes: {} (limit {})",
                count(nodes),
                limits.max_nodes
            ))
            .with_field("nodes"),
        );
    }
    if count(edges) > limits.max_edges {
        issues.push(
            ValidationIssue::document(format!(
                "too many edges: {} (limit {})",
                count(edges),
                limits.max_edges
            ))
            .with_field("edges"),
        );
    }
    let bytes = nodes.to_string().len() + edges.to_string().len();
    if bytes > limits.max_document_bytes {
        issues.push(ValidationIssue::document(format!(
            "workflow too large: {bytes} bytes of nodes and edges (limit {})",
            limits.max_document_bytes
        )));
    }
    if issues.is_empty() {
        Ok(())
    } else {
        Err(issues)
    }
}

/// Per-edge rules; returns the usable edges and the adjacency used for the
/// graph checks (self-loops left out: they are reported here already).
fn check_edges<'a>(
    nodes: &[RawNode<'a>],
    raw_edges: &[RawEdge<'a>],
    raw_type: &dyn Fn(usize) -> Option<&'a str>,
    issues: &mut Vec<ValidationIssue>,
) -> (Vec<Edge>, Adjacency) {
    let mut seen = HashSet::new();
    let mut edges = Vec::new();
    for e in raw_edges {
        if !seen.insert(e.id) {
            issues
                .push(ValidationIssue::edge(e.id, format!("duplicate edge id {:?}", e.id)).with_field("id"));
        }
        let on_node = |node: usize, message: String, field: &str| {
            let mut issue = ValidationIssue::edge(e.id, message).with_field(field);
            issue.node_id = Some(nodes[node].id.to_string());
            issue
        };
        if e.source == e.target {
            issues.push(on_node(
                e.source,
                format!("edge connects {:?} to itself", nodes[e.source].id),
                "target",
            ));
            continue;
        }
        if raw_type(e.target) == Some("trigger") {
            issues.push(on_node(
                e.target,
                "no edge may enter the trigger".into(),
                "target",
            ));
        }
        let mut branch = None;
        if raw_type(e.source) == Some("condition") {
            branch = match e.body.get("sourceHandle") {
                Some(Value::String(h)) if h == "true" => Some(true),
                Some(Value::String(h)) if h == "false" => Some(false),
                Some(Value::Bool(b)) => Some(*b),
                _ => {
                    issues.push(on_node(
                        e.source,
                        "an edge leaving a condition needs sourceHandle \"true\" or \"false\"".into(),
                        "sourceHandle",
                    ));
                    None
                }
            };
        }
        edges.push(Edge {
            id: e.id.to_string(),
            source: e.source,
            target: e.target,
            branch,
        });
    }
    let adjacency = Adjacency::new(nodes.len(), edges.iter().map(|e| (e.source, e.target)));
    (edges, adjacency)
}

/// Templates must be well-formed, and `nodes.<id>` must name an ancestor
/// that dominates the node (lies on every path from the trigger to it):
/// anything else may be skipped, or fail, while this node still runs, and
/// its output would be missing. `dominators` is `None` when there is no
/// single trigger to measure paths from; only ancestry is checked then.
fn check_templates(
    raw: &[RawNode<'_>],
    parsed: &[Option<Node>],
    adjacency: &Adjacency,
    dominators: Option<&[Option<Vec<bool>>]>,
    issues: &mut Vec<ValidationIssue>,
) {
    let index: HashMap<&str, usize> = raw.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    for (i, node) in parsed.iter().enumerate() {
        let refs = match node.as_ref().map(|n| &n.kind) {
            Some(NodeKind::Action { config, .. }) => references(config, "data.config"),
            Some(NodeKind::Condition(c)) => {
                let mut refs = references(&c.left, "data.condition.left");
                refs.extend(references(&c.right, "data.condition.right"));
                refs
            }
            _ => continue,
        };
        let ancestors = adjacency.ancestors(i);
        // Unreachable nodes are reported as such; no path means no dominators.
        let dominated_by = dominators.and_then(|d| d[i].as_ref());
        for (field, found) in refs {
            let problem = match found {
                Err(e) => Some(e.to_string()),
                Ok(r) => match &r.root {
                    Root::NodeOutput(id) => match index.get(id.as_str()) {
                        None => Some(format!("template {}: no node {id:?} in this workflow", r.raw)),
                        Some(&j) if j == i || !ancestors[j] => Some(format!(
                            "template {}: node {id:?} is not upstream of this node",
                            r.raw
                        )),
                        Some(&j) if dominated_by.is_some_and(|d| !d[j]) => Some(format!(
                            "template {} references node {id:?}, which does not run on every path to {:?} (it may be skipped)",
                            r.raw, raw[i].id
                        )),
                        Some(_) => None,
                    },
                    _ => None,
                },
            };
            if let Some(message) = problem {
                issues.push(ValidationIssue::node(raw[i].id, message).with_field(field));
            }
        }
    }
}
