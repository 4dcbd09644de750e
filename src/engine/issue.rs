//! A validation issue: one problem in a workflow document, located so the canvas can highlight it.

use serde::Serialize;
use std::fmt;

/// One problem found in a workflow document. Serializes as
/// `{"nodeId"?, "edgeId"?, "field"?, "message"}` (absent locators omitted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValidationIssue {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edge_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl ValidationIssue {
    /// An issue about the document as a whole.
    pub fn document(message: impl Into<String>) -> Self {
        Self {
            node_id: None,
            edge_id: None,
            field: None,
            message: message.into(),
        }
    }

    /// An issue about one node.
    pub fn node(node_id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            node_id: Some(node_id.into()),
            ..Self::document(message)
        }
    }

    /// An issue about one edge.
    pub fn edge(edge_id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            edge_id: Some(edge_id.into()),
            ..Self::document(message)
        }
    }

    /// Adds the field (a dotted path such as `data.config.to`) the issue is about.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(node) = &self.node_id {
            write!(f, "node {node:?}: ")?;
        }
        if let Some(edge) = &self.edge_id {
            write!(f, "edge {edge:?}: ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_camel_case_without_absent_locators() {
        let issue = ValidationIssue::node("a-1", "bad").with_field("data.config.to");
        let json = serde_json::to_value(&issue).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"nodeId": "a-1", "field": "data.config.to", "message": "bad"})
        );
        assert_eq!(
            serde_json::to_value(ValidationIssue::document("x")).unwrap(),
            serde_json::json!({"message": "x"})
        );
    }

    #[test]
    fn display_names_the_location() {
        let issue = ValidationIssue::edge("e1", "dangling");
        assert_eq!(issue.to_string(), "edge \"e1\": dangling");
    }
}
