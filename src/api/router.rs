//! Maps a method and path to a route. Pure, so 404/405 behaviour and the
//! route table (which the OpenAPI document must cover) are tested natively.

use uuid::Uuid;

use crate::error::ApiError;

/// Every endpoint the worker serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Health,
    OpenApi,
    Actions,
    ListWorkflows,
    CreateWorkflow,
    /// `PUT /api/workflows` with the id in the body (seed form).
    UpdateWorkflowSeed,
    /// `DELETE /api/workflows?id=` (seed form).
    DeleteWorkflowSeed,
    ValidateWorkflow,
    GetWorkflow(Uuid),
    UpdateWorkflow(Uuid),
    DeleteWorkflow(Uuid),
    /// `POST /api/workflows/execute` (seed form: id or document in the body).
    ExecuteSeed,
    ExecuteWorkflow(Uuid),
    ListExecutions(Uuid),
    GetExecution(Uuid),
    /// `POST /api/executions/{id}/cancel`.
    CancelExecution(Uuid),
    /// `GET /api/executions/{id}/timeline.svg`.
    Timeline(Uuid),
    /// `GET /api/executions/{id}/events`: the live stream (bearer token or
    /// stream ticket; served by the platform as it streams).
    ExecutionEvents(Uuid),
    /// `POST /api/executions/{id}/stream-ticket`.
    StreamTicket(Uuid),
    /// `GET /api/workflows/{id}/stats?days=N`.
    WorkflowStats(Uuid),
    /// `GET /api/stats?days=N`: one summary per workflow of the caller.
    AllStats,
    /// `POST /api/hooks/{trigger_key}`: a public form post (no token).
    Hook(String),
    /// `POST /api/workflows/{id}/trigger-key/rotate`.
    RotateTriggerKey(Uuid),
    /// `POST /api/events/dispatch`: dispatch pending database events now
    /// (authenticated with the service role key, for a Database Webhook).
    DispatchEvents,
    /// `GET /api/webhook-secret`: the caller's signing secret.
    GetWebhookSecret,
    /// `POST /api/webhook-secret/rotate`.
    RotateWebhookSecret,
    /// `GET /api/templates[?category=]`: the template library (public).
    Templates,
    /// `GET /api/templates/{id}`: one template (public).
    Template(String),
    /// `POST /api/templates/{id}/instantiate`: a new workflow of the caller from a template.
    InstantiateTemplate(String),
    /// `GET /api/node-types`: the node types and their `data` schemas (public).
    NodeTypes,
}

/// The route table: path pattern, methods, whether a bearer token is needed
/// (a user's, or the service role key for `/api/events/dispatch`).
/// `GET /openapi.json` documents exactly these (a test keeps them in sync).
pub const TABLE: &[(&str, &[&str], bool)] = &[
    ("/health", &["GET"], false),
    ("/openapi.json", &["GET"], false),
    ("/api/actions", &["GET"], false),
    ("/api/workflows", &["GET", "POST", "PUT", "DELETE"], true),
    ("/api/workflows/validate", &["POST"], true),
    ("/api/workflows/{id}", &["GET", "PUT", "DELETE"], true),
    ("/api/workflows/execute", &["POST"], true),
    ("/api/workflows/{id}/execute", &["POST"], true),
    ("/api/workflows/{id}/executions", &["GET"], true),
    ("/api/executions/{id}", &["GET"], true),
    ("/api/executions/{id}/cancel", &["POST"], true),
    ("/api/executions/{id}/timeline.svg", &["GET"], true),
    ("/api/executions/{id}/events", &["GET"], true),
    ("/api/executions/{id}/stream-ticket", &["POST"], true),
    ("/api/workflows/{id}/stats", &["GET"], true),
    ("/api/stats", &["GET"], true),
    ("/api/hooks/{trigger_key}", &["POST"], false),
    ("/api/workflows/{id}/trigger-key/rotate", &["POST"], true),
    ("/api/events/dispatch", &["POST"], true),
    ("/api/webhook-secret", &["GET"], true),
    ("/api/webhook-secret/rotate", &["POST"], true),
    ("/api/templates", &["GET"], false),
    ("/api/templates/{id}", &["GET"], false),
    ("/api/templates/{id}/instantiate", &["POST"], true),
    ("/api/node-types", &["GET"], false),
];

impl Route {
    /// Whether the route needs a verified user.
    pub fn requires_auth(&self) -> bool {
        !matches!(
            self,
            Route::Health
                | Route::OpenApi
                | Route::Actions
                | Route::Hook(_)
                | Route::DispatchEvents
                | Route::ExecutionEvents(_)
                | Route::Templates
                | Route::Template(_)
                | Route::NodeTypes
        )
    }
}

/// Resolves a request. Unknown paths are 404, known paths with another
/// method 405 (with `Allow`), and a malformed id is 404: such a workflow
/// cannot exist.
pub fn route(method: &str, path: &str) -> Result<Route, ApiError> {
    let path = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let (pattern, route) = match segments.as_slice() {
        ["health"] => ("/health", pick(method, &[("GET", Route::Health)])),
        ["openapi.json"] => ("/openapi.json", pick(method, &[("GET", Route::OpenApi)])),
        ["api", "actions"] => ("/api/actions", pick(method, &[("GET", Route::Actions)])),
        ["api", "workflows"] => (
            "/api/workflows",
            pick(
                method,
                &[
                    ("GET", Route::ListWorkflows),
                    ("POST", Route::CreateWorkflow),
                    ("PUT", Route::UpdateWorkflowSeed),
                    ("DELETE", Route::DeleteWorkflowSeed),
                ],
            ),
        ),
        ["api", "workflows", "validate"] => (
            "/api/workflows/validate",
            pick(method, &[("POST", Route::ValidateWorkflow)]),
        ),
        ["api", "workflows", "execute"] => (
            "/api/workflows/execute",
            pick(method, &[("POST", Route::ExecuteSeed)]),
        ),
        ["api", "workflows", id, "execute"] => {
            let id = parse_id(id, "workflow")?;
            (
                "/api/workflows/{id}/execute",
                pick(method, &[("POST", Route::ExecuteWorkflow(id))]),
            )
        }
        ["api", "workflows", id, "executions"] => {
            let id = parse_id(id, "workflow")?;
            (
                "/api/workflows/{id}/executions",
                pick(method, &[("GET", Route::ListExecutions(id))]),
            )
        }
        ["api", "workflows", id, "stats"] => {
            let id = parse_id(id, "workflow")?;
            (
                "/api/workflows/{id}/stats",
                pick(method, &[("GET", Route::WorkflowStats(id))]),
            )
        }
        ["api", "stats"] => ("/api/stats", pick(method, &[("GET", Route::AllStats)])),
        ["api", "executions", id, "events"] => {
            let id = parse_id(id, "execution")?;
            (
                "/api/executions/{id}/events",
                pick(method, &[("GET", Route::ExecutionEvents(id))]),
            )
        }
        ["api", "executions", id, "stream-ticket"] => {
            let id = parse_id(id, "execution")?;
            (
                "/api/executions/{id}/stream-ticket",
                pick(method, &[("POST", Route::StreamTicket(id))]),
            )
        }
        ["api", "executions", id, "timeline.svg"] => {
            let id = parse_id(id, "execution")?;
            (
                "/api/executions/{id}/timeline.svg",
                pick(method, &[("GET", Route::Timeline(id))]),
            )
        }
        ["api", "executions", id, "cancel"] => {
            let id = parse_id(id, "execution")?;
            (
                "/api/executions/{id}/cancel",
                pick(method, &[("POST", Route::CancelExecution(id))]),
            )
        }
        ["api", "executions", id] => {
            let id = parse_id(id, "execution")?;
            (
                "/api/executions/{id}",
                pick(method, &[("GET", Route::GetExecution(id))]),
            )
        }
        ["api", "hooks", key] => (
            "/api/hooks/{trigger_key}",
            pick(method, &[("POST", Route::Hook(key.to_string()))]),
        ),
        ["api", "workflows", id, "trigger-key", "rotate"] => {
            let id = parse_id(id, "workflow")?;
            (
                "/api/workflows/{id}/trigger-key/rotate",
                pick(method, &[("POST", Route::RotateTriggerKey(id))]),
            )
        }
        ["api", "events", "dispatch"] => (
            "/api/events/dispatch",
            pick(method, &[("POST", Route::DispatchEvents)]),
        ),
        ["api", "webhook-secret"] => (
            "/api/webhook-secret",
            pick(method, &[("GET", Route::GetWebhookSecret)]),
        ),
        ["api", "webhook-secret", "rotate"] => (
            "/api/webhook-secret/rotate",
            pick(method, &[("POST", Route::RotateWebhookSecret)]),
        ),
        ["api", "templates"] => ("/api/templates", pick(method, &[("GET", Route::Templates)])),
        ["api", "templates", id] => (
            "/api/templates/{id}",
            pick(method, &[("GET", Route::Template(id.to_string()))]),
        ),
        ["api", "templates", id, "instantiate"] => (
            "/api/templates/{id}/instantiate",
            pick(method, &[("POST", Route::InstantiateTemplate(id.to_string()))]),
        ),
        ["api", "node-types"] => ("/api/node-types", pick(method, &[("GET", Route::NodeTypes)])),
        ["api", "workflows", id] => {
            let id = parse_id(id, "workflow")?;
            (
                "/api/workflows/{id}",
                pick(
                    method,
                    &[
                        ("GET", Route::GetWorkflow(id)),
                        ("PUT", Route::UpdateWorkflow(id)),
                        ("DELETE", Route::DeleteWorkflow(id)),
                    ],
                ),
            )
        }
        _ => return Err(ApiError::NotFound(format!("no route for {path}"))),
    };
    route.ok_or_else(|| ApiError::MethodNotAllowed {
        allowed: allowed_methods(pattern),
    })
}

fn pick(method: &str, options: &[(&str, Route)]) -> Option<Route> {
    options.iter().find(|(m, _)| *m == method).map(|(_, r)| r.clone())
}

fn allowed_methods(pattern: &str) -> Vec<&'static str> {
    TABLE
        .iter()
        .find(|(p, _, _)| *p == pattern)
        .map(|(_, methods, _)| {
            let mut m = methods.to_vec();
            m.push("OPTIONS");
            m
        })
        .unwrap_or_default()
}

/// Parses a path or query id; anything but a UUID is "not found".
pub fn parse_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::NotFound(format!("{what} not found")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6f1c2d3e-4b5a-4789-9abc-def012345678";

    #[test]
    fn resolves_every_route() {
        assert_eq!(route("GET", "/health"), Ok(Route::Health));
        assert_eq!(route("GET", "/api/workflows/"), Ok(Route::ListWorkflows));
        assert_eq!(route("PUT", "/api/workflows"), Ok(Route::UpdateWorkflowSeed));
        assert_eq!(
            route("POST", "/api/workflows/validate"),
            Ok(Route::ValidateWorkflow)
        );
        let id = Uuid::parse_str(ID).unwrap();
        assert_eq!(
            route("DELETE", &format!("/api/workflows/{ID}")),
            Ok(Route::DeleteWorkflow(id))
        );
    }

    #[test]
    fn unknown_paths_are_404_and_wrong_methods_405() {
        assert_eq!(route("GET", "/nope").unwrap_err().status(), 404);
        assert_eq!(route("GET", "/api/workflows/a/b/c").unwrap_err().status(), 404);
        let err = route("PATCH", "/api/workflows").unwrap_err();
        assert_eq!(err.status(), 405);
        assert_eq!(
            err.headers()[0],
            ("Allow", "GET, POST, PUT, DELETE, OPTIONS".to_string())
        );
        assert_eq!(route("GET", "/api/workflows/validate").unwrap_err().status(), 405);
    }

    #[test]
    fn template_routes_carry_the_template_id() {
        assert_eq!(route("GET", "/api/templates"), Ok(Route::Templates));
        assert_eq!(
            route("GET", "/api/templates/welcome-sequence"),
            Ok(Route::Template("welcome-sequence".into()))
        );
        assert_eq!(
            route("POST", "/api/templates/welcome-sequence/instantiate"),
            Ok(Route::InstantiateTemplate("welcome-sequence".into()))
        );
        assert_eq!(route("GET", "/api/node-types"), Ok(Route::NodeTypes));
        assert_eq!(
            route("GET", "/api/templates/x/instantiate").unwrap_err().status(),
            405
        );
        assert_eq!(route("POST", "/api/templates").unwrap_err().status(), 405);
    }

    #[test]
    fn malformed_ids_are_not_found() {
        let err = route("GET", "/api/workflows/123").unwrap_err();
        assert_eq!(err.status(), 404);
        assert_eq!(err.code(), "not_found");
    }

    #[test]
    fn public_routes_need_no_token() {
        assert!(!Route::Health.requires_auth());
        assert!(!Route::Actions.requires_auth());
        assert!(Route::ListWorkflows.requires_auth());
        assert!(!Route::Templates.requires_auth());
        assert!(!Route::NodeTypes.requires_auth());
        assert!(Route::InstantiateTemplate("welcome-sequence".into()).requires_auth());
        for (_, _, auth) in TABLE.iter().take(3) {
            assert!(!auth);
        }
    }
}
