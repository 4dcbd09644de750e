//! The one API error type and its one mapping to an HTTP status and the
//! contract's JSON body `{"error","status","code","details"?}`.
//! Internal causes are kept for the log and never sent to the client.

use serde_json::{json, Value};

use crate::engine::ValidationIssue;

/// Every non-2xx answer of the worker.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// Missing or invalid credentials; the reason is logged only.
    Unauthorized {
        reason: String,
    },
    /// Authenticated but not allowed (only where hiding existence is moot).
    Forbidden(String),
    NotFound(String),
    InvalidJson(String),
    /// A well-formed body or query with a wrong or missing field.
    InvalidRequest {
        message: String,
        field: Option<String>,
    },
    InvalidWorkflow(Vec<ValidationIssue>),
    PayloadTooLarge {
        limit: usize,
    },
    /// A body in a `Content-Type` the route does not read (names what it reads).
    UnsupportedMediaType(String),
    MethodNotAllowed {
        allowed: Vec<&'static str>,
    },
    Conflict(String),
    /// An `Idempotency-Key` already used for a different request (another
    /// workflow, or other `triggerData`).
    IdempotencyKeyReused(String),
    /// PostgREST or another upstream failed; the cause is logged only.
    Upstream {
        cause: String,
    },
    /// A bug or an unexpected state; the cause is logged only.
    Internal {
        cause: String,
    },
    /// A configuration variable is missing or wrong (names the variable).
    Misconfigured(String),
}

impl ApiError {
    pub fn internal(cause: impl Into<String>) -> Self {
        ApiError::Internal { cause: cause.into() }
    }
    pub fn upstream(cause: impl Into<String>) -> Self {
        ApiError::Upstream { cause: cause.into() }
    }
    pub fn unauthorized(reason: impl Into<String>) -> Self {
        ApiError::Unauthorized {
            reason: reason.into(),
        }
    }
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        ApiError::InvalidRequest {
            message: message.into(),
            field: Some(field.to_string()),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Unauthorized { .. } => 401,
            ApiError::Forbidden(_) => 403,
            ApiError::NotFound(_) => 404,
            ApiError::InvalidJson(_) | ApiError::InvalidRequest { .. } | ApiError::InvalidWorkflow(_) => 400,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::MethodNotAllowed { .. } => 405,
            ApiError::Conflict(_) => 409,
            ApiError::IdempotencyKeyReused(_) => 422,
            ApiError::Upstream { .. } => 502,
            ApiError::Internal { .. } | ApiError::Misconfigured(_) => 500,
        }
    }

    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized { .. } => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::InvalidRequest { .. } => "invalid_request",
            ApiError::InvalidWorkflow(_) => "invalid_workflow",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::IdempotencyKeyReused(_) => "idempotency_key_reused",
            ApiError::Upstream { .. } => "upstream_error",
            ApiError::Internal { .. } => "internal",
            ApiError::Misconfigured(_) => "misconfigured",
        }
    }

    /// The human message sent to the client.
    pub fn message(&self) -> String {
        match self {
            ApiError::Unauthorized { .. } => "missing or invalid access token".into(),
            ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::IdempotencyKeyReused(m)
            | ApiError::UnsupportedMediaType(m) => m.clone(),
            ApiError::InvalidJson(m) => format!("request body is not valid JSON: {m}"),
            ApiError::InvalidRequest { message, .. } => message.clone(),
            ApiError::InvalidWorkflow(issues) => match issues.len() {
                1 => format!("workflow is invalid: {}", issues[0].message),
                n => format!("workflow is invalid: {n} problems"),
            },
            ApiError::PayloadTooLarge { limit } => format!("request body exceeds {limit} bytes"),
            ApiError::MethodNotAllowed { allowed } => {
                format!("method not allowed; allowed: {}", allowed.join(", "))
            }
            ApiError::Upstream { .. } => "the database API is unavailable or answered unexpectedly".into(),
            ApiError::Internal { .. } => "internal error".into(),
            ApiError::Misconfigured(m) => format!("server misconfigured: {m}"),
        }
    }

    /// What goes to the log (may include internal causes; never tokens).
    pub fn log_line(&self) -> String {
        match self {
            ApiError::Unauthorized { reason } => format!("unauthorized: {reason}"),
            ApiError::Upstream { cause } => format!("upstream error: {cause}"),
            ApiError::Internal { cause } => format!("internal error: {cause}"),
            other => format!("{}: {}", other.code(), other.message()),
        }
    }

    pub fn details(&self) -> Option<Value> {
        match self {
            ApiError::InvalidWorkflow(issues) => Some(json!(issues)),
            ApiError::InvalidRequest { field: Some(f), .. } => Some(json!({ "field": f })),
            _ => None,
        }
    }

    /// The contract's error body.
    pub fn body(&self) -> Value {
        let mut body = json!({
            "error": self.message(),
            "status": self.status(),
            "code": self.code(),
        });
        if let Some(details) = self.details() {
            body["details"] = details;
        }
        body
    }

    /// Extra headers the answer must carry.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        match self {
            ApiError::Unauthorized { .. } => {
                vec![("WWW-Authenticate", r#"Bearer error="invalid_token""#.to_string())]
            }
            ApiError::MethodNotAllowed { allowed } => vec![("Allow", allowed.join(", "))],
            _ => vec![],
        }
    }
}

/// A database call that got no answer: a request the worker could not build
/// is its own bug; anything else is the upstream's failure.
impl From<crate::http::TransportError> for ApiError {
    fn from(e: crate::http::TransportError) -> Self {
        match e {
            crate::http::TransportError::Unbuildable(_) => ApiError::internal(e.to_string()),
            other => ApiError::upstream(format!("PostgREST: {other}")),
        }
    }
}

impl From<crate::config::ConfigError> for ApiError {
    fn from(e: crate::config::ConfigError) -> Self {
        ApiError::Misconfigured(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_contract_shape() {
        let e = ApiError::NotFound("workflow not found".into());
        assert_eq!(
            e.body(),
            json!({"error": "workflow not found", "status": 404, "code": "not_found"})
        );
    }

    #[test]
    fn a_reused_idempotency_key_is_422_with_its_own_code() {
        let e = ApiError::IdempotencyKeyReused("used for another workflow".into());
        assert_eq!(
            e.body(),
            json!({"error": "used for another workflow", "status": 422, "code": "idempotency_key_reused"})
        );
        assert!(e.headers().is_empty());
    }

    #[test]
    fn an_unsupported_media_type_is_415_with_its_own_code() {
        let e = ApiError::UnsupportedMediaType("send JSON or a form".into());
        assert_eq!(
            e.body(),
            json!({"error": "send JSON or a form", "status": 415, "code": "unsupported_media_type"})
        );
        assert!(e.headers().is_empty());
        assert_eq!(e.log_line(), "unsupported_media_type: send JSON or a form");
    }

    #[test]
    fn internal_causes_are_not_sent() {
        let e = ApiError::internal("db password=hunter2");
        assert!(!e.body().to_string().contains("hunter2"));
        assert!(e.log_line().contains("hunter2"));
        let e = ApiError::unauthorized("signature mismatch for kid abc");
        assert!(!e.body().to_string().contains("signature"));
        assert_eq!(e.status(), 401);
        assert_eq!(e.headers()[0].1, r#"Bearer error="invalid_token""#);
    }

    #[test]
    fn invalid_workflow_lists_issues_in_details() {
        let issue = ValidationIssue {
            node_id: Some("a".into()),
            edge_id: None,
            field: Some("data.actionId".into()),
            message: "unknown action".into(),
        };
        let body = ApiError::InvalidWorkflow(vec![issue]).body();
        assert_eq!(body["code"], "invalid_workflow");
        assert_eq!(body["details"][0]["nodeId"], "a");
        assert_eq!(body["details"][0]["field"], "data.actionId");
        assert!(body["details"][0].get("edgeId").is_none());
    }
}
