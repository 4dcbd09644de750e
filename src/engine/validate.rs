//! Full validation: a raw document becomes a `Graph`, or every issue found is reported.

use super::graph::{Branch, Delay, Edge, Graph, Node, NodeKind};
use super::issue::ValidationIssue;
use super::node_def::parse_node;
use super::structure::{skeleton, RawEdge, RawNode};
use super::template::{references, Root};
use super::topo::Adjacency;
use crate::limits::{Limits, MAX_LOOP_DEPTH};
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
    let parents = check_parents(&sk.nodes, &raw_type, &mut issues);

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

    let (edges, adjacency) = check_edges(&sk.nodes, &sk.edges, &parsed, &parents, &raw_type, &mut issues);
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
    let scope = TemplateScope {
        raw: &sk.nodes,
        parsed: &parsed,
        parents: &parents,
    };
    check_templates(&scope, &adjacency, dominators.as_deref(), &mut issues);

    if !issues.is_empty() {
        return Err(issues);
    }
    let nodes: Vec<Node> = parsed
        .into_iter()
        .zip(&parents)
        .map(|(n, parent)| Node {
            parent: *parent,
            ..n.expect("no issues means every node parsed")
        })
        .collect();
    let order = adjacency
        .topological_order(&vec![true; nodes.len()])
        .expect("no issues means acyclic");
    let mut body = vec![Vec::new(); nodes.len()];
    let mut top = Vec::new();
    for &i in &order {
        match parents[i] {
            Some(p) => body[p].push(i),
            None => top.push(i),
        }
    }
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
        body,
        top,
    })
}

/// Each node's `parentId`, by index: it must name a loop of this workflow
/// (React Flow's sub-flow convention), a trigger has none, and loops nest
/// at most `MAX_LOOP_DEPTH` deep. A bad one is reported and counts as none.
fn check_parents<'a>(
    nodes: &[RawNode<'a>],
    raw_type: &dyn Fn(usize) -> Option<&'a str>,
    issues: &mut Vec<ValidationIssue>,
) -> Vec<Option<usize>> {
    let index: HashMap<&str, usize> = nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    let mut parents: Vec<Option<usize>> = nodes
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let value = raw.body.get("parentId").filter(|v| !v.is_null())?;
            let issue = |message: String| ValidationIssue::node(raw.id, message).with_field("parentId");
            let Some(id) = value.as_str() else {
                issues.push(issue(format!(
                    "parentId must be the id of a loop node, got {value}"
                )));
                return None;
            };
            match index.get(id) {
                None => issues.push(issue(format!("parentId {id:?} is not a node of this workflow"))),
                Some(_) if raw_type(i) == Some("trigger") => {
                    issues.push(issue("the trigger cannot be inside a loop".into()))
                }
                Some(&p) if raw_type(p) != Some("loop") => issues.push(issue(format!(
                    "parentId {id:?} is not a loop (only a loop node has a body)"
                ))),
                Some(&p) => return Some(p),
            }
            None
        })
        .collect();
    for i in 0..nodes.len() {
        let mut seen = vec![i];
        let mut at = parents[i];
        while let Some(p) = at {
            if seen.contains(&p) {
                issues.push(
                    ValidationIssue::node(nodes[i].id, "loops contain each other (parentId goes round)")
                        .with_field("parentId"),
                );
                parents[i] = None;
                break;
            }
            seen.push(p);
            at = parents[p];
        }
        if seen.len() > MAX_LOOP_DEPTH + 1 {
            issues.push(
                ValidationIssue::node(
                    nodes[i].id,
                    format!(
                        "loops nest at most {MAX_LOOP_DEPTH} deep; this node is inside {}",
                        seen.len() - 1
                    ),
                )
                .with_field("parentId"),
            );
        }
    }
    parents
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
    parsed: &[Option<Node>],
    parents: &[Option<usize>],
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
        if parents[e.source] != parents[e.target] {
            let side = |n: usize| match parents[n] {
                Some(p) => format!("{:?} is inside loop {:?}", nodes[n].id, nodes[p].id),
                None => format!("{:?} is outside every loop", nodes[n].id),
            };
            issues.push(on_node(
                e.target,
                format!(
                    "an edge may not cross a loop's body: {} but {}",
                    side(e.source),
                    side(e.target)
                ),
                "target",
            ));
            continue;
        }
        let mut branch = None;
        if let Some(NodeKind::Split(variants)) = parsed[e.source].as_ref().map(|n| &n.kind) {
            branch = match e.body.get("sourceHandle").and_then(Value::as_str) {
                Some(h) if variants.iter().any(|v| v.handle == h) => Some(Branch::Variant(h.to_string())),
                _ => {
                    let handles: Vec<&str> = variants.iter().map(|v| v.handle.as_str()).collect();
                    issues.push(on_node(
                        e.source,
                        format!(
                            "an edge leaving a split needs the sourceHandle of one of its variants ({})",
                            handles.join(", ")
                        ),
                        "sourceHandle",
                    ));
                    None
                }
            };
        }
        if raw_type(e.source) == Some("condition") {
            branch = match e.body.get("sourceHandle") {
                Some(Value::String(h)) if h == "true" => Some(Branch::Condition(true)),
                Some(Value::String(h)) if h == "false" => Some(Branch::Condition(false)),
                Some(Value::Bool(b)) => Some(Branch::Condition(*b)),
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
    // A loop leads into its body: each body node no body edge enters is
    // where an item starts, as if an edge ran from the loop to it.
    let entries = (0..nodes.len()).filter_map(|i| {
        let p = parents[i]?;
        (!edges.iter().any(|e| e.target == i)).then_some((p, i))
    });
    let links: Vec<(usize, usize)> = edges
        .iter()
        .map(|e| (e.source, e.target))
        .chain(entries)
        .collect();
    let adjacency = Adjacency::new(nodes.len(), links);
    (edges, adjacency)
}

/// Templates must be well-formed, and `nodes.<id>` must name an ancestor
/// that dominates the node (lies on every path from the trigger to it):
/// anything else may be skipped, or fail, while this node still runs, and
/// its output would be missing. `dominators` is `None` when there is no
/// single trigger to measure paths from; only ancestry is checked then.
struct TemplateScope<'s, 'a> {
    raw: &'s [RawNode<'a>],
    parsed: &'s [Option<Node>],
    parents: &'s [Option<usize>],
}

/// Also: `loop.item` and `loop.index` only inside a loop body, and never
/// the output of a loop the node is inside (it exists once every item ran).
fn check_templates(
    scope: &TemplateScope<'_, '_>,
    adjacency: &Adjacency,
    dominators: Option<&[Option<Vec<bool>>]>,
    issues: &mut Vec<ValidationIssue>,
) {
    let TemplateScope { raw, parsed, parents } = *scope;
    let index: HashMap<&str, usize> = raw.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
    for (i, node) in parsed.iter().enumerate() {
        let refs = match node.as_ref().map(|n| &n.kind) {
            Some(NodeKind::Action { config, .. }) => references(config, "data.config"),
            Some(NodeKind::Condition(c)) => {
                let mut refs = references(&c.left, "data.condition.left");
                refs.extend(references(&c.right, "data.condition.right"));
                refs
            }
            Some(NodeKind::Delay(Delay::Until(until))) => references(until, "data.delay.until"),
            Some(NodeKind::Loop(spec)) => references(&spec.items, "data.loop.items"),
            _ => continue,
        };
        let inside = |j: usize| {
            let mut at = parents[i];
            while let Some(p) = at {
                if p == j {
                    return true;
                }
                at = parents[p];
            }
            false
        };
        let ancestors = adjacency.ancestors(i);
        // Unreachable nodes are reported as such; no path means no dominators.
        let dominated_by = dominators.and_then(|d| d[i].as_ref());
        for (field, found) in refs {
            let problem = match found {
                Err(e) => Some(e.to_string()),
                Ok(r) => match &r.root {
                    Root::LoopItem | Root::LoopIndex if parents[i].is_none() => Some(format!(
                        "template {}: loop.item and loop.index exist only inside a loop body (a node whose parentId is a loop)",
                        r.raw
                    )),
                    Root::NodeOutput(id) => match index.get(id.as_str()) {
                        None => Some(format!("template {}: no node {id:?} in this workflow", r.raw)),
                        Some(&j) if inside(j) => Some(format!(
                            "template {}: node {id:?} is the loop this node is in; its output exists only after every item ran",
                            r.raw
                        )),
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
