//! `GET /openapi.json`: the OpenAPI 3 description of every route in
//! `router::TABLE` (a test keeps the two in sync).

use serde_json::{json, Value};

use crate::limits::MAX_NAME_CHARS;

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema}}})
}

fn id_param() -> Value {
    json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string", "format": "uuid"}})
}

fn idempotency_param() -> Value {
    json!({"name": "Idempotency-Key", "in": "header", "required": false,
           "description": "1-200 characters; a repeated request with the same key answers with the first run (header Idempotent-Replayed: true) instead of running again; the same key with a different request (another workflow, other triggerData): 422 idempotency_key_reused",
           "schema": {"type": "string", "maxLength": 200}})
}

fn prefer_param() -> Value {
    json!({"name": "Prefer", "in": "header", "required": false,
           "description": "respond-async (RFC 7240): answer 202 at once with the queued run (Location: /api/executions/{id}, Preference-Applied: respond-async); the RUNS queue executes it",
           "schema": {"type": "string"}})
}

fn days_param() -> Value {
    json!({"name": "days", "in": "query", "required": false, "description": "the window in days (default 30)",
           "schema": {"type": "integer", "minimum": 1, "maximum": 365, "default": 30}})
}

fn body(schema: Value) -> Value {
    json!({"required": true, "content": {"application/json": {"schema": schema}}})
}

fn secured(mut op: Value) -> Value {
    op["security"] = json!([{"bearerAuth": []}]);
    let responses = op["responses"].as_object_mut().expect("responses");
    responses.insert("401".into(), error_response("missing or invalid access token"));
    responses.insert("default".into(), error_response("error in the contract's format"));
    op
}

/// The document.
pub fn document() -> Value {
    let workflow_ref = json!({"$ref": "#/components/schemas/Workflow"});
    let wrapped = json!({"type": "object", "properties": {"workflow": workflow_ref}});
    let execution_ref = json!({"$ref": "#/components/schemas/Execution"});
    let execution_wrapped = json!({"type": "object", "properties": {"execution": execution_ref}});
    let nullable_int = json!({"type": "integer", "nullable": true});
    let stats = json!({"type": "object", "properties": {
        "runs": {"type": "integer"}, "succeeded": {"type": "integer"}, "failed": {"type": "integer"},
        "success_rate": {"type": "number", "nullable": true},
        "duration_ms": {"type": "object", "properties": {"p50": nullable_int, "p95": nullable_int, "max": nullable_int}},
        "last_run_at": {"type": "string", "nullable": true},
        "by_node": {"type": "array", "items": {"type": "object"}}, "by_day": {"type": "array", "items": {"type": "object"}}}});
    let stats_schema = json!({"type": "object", "properties": {"days": {"type": "integer"}, "stats": stats}});
    let nullable_text = json!({"type": "string", "nullable": true});
    let secret_wrapped = json!({"type": "object", "properties": {"webhookSecret": {"type": "object", "properties": {
        "secret": {"type": "string", "pattern": "^whsec_"}, "previousSecret": nullable_text, "previousValidUntil": nullable_text,
        "rotatedAt": nullable_text, "createdAt": {"type": "string"}}}}});
    let template_ref = json!({"$ref": "#/components/schemas/Template"});
    let template_id = json!({"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "the template's id, e.g. lead-intake-scoring"});
    let instantiate_body = json!({"required": false, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": MAX_NAME_CHARS, "description": "default: the template's name"},
        "description": {"type": "string", "description": "default: the template's description"}}}}}});
    let page = [
        json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50}}),
        json!({"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}),
    ];
    json!({
        "openapi": "3.0.3",
        "info": {"title": "edgeflow workflow API", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Stores, validates and executes CRM automation workflows. Authorization is Row Level Security: every call runs as the caller."},
        "paths": {
            "/health": {"get": {"summary": "Liveness", "responses": {"200": ok("alive", json!({"type": "object", "properties": {"status": {"type": "string", "enum": ["ok"]}}}))}}},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": ok("OpenAPI document", json!({"type": "object"}))}}},
            "/api/actions": {"get": {"summary": "The action catalog", "responses": {"200": ok("catalog", json!({"type": "object", "properties": {"actions": {"type": "array", "items": {"$ref": "#/components/schemas/Action"}}}}))}}},
            "/api/workflows": {
                "get": secured(json!({"summary": "List the caller's workflows, newest updated_at first", "parameters": page,
                    "responses": {"200": ok("a page", json!({"type": "object", "properties": {
                        "workflows": {"type": "array", "items": workflow_ref},
                        "limit": {"type": "integer"}, "offset": {"type": "integer"}, "total": {"type": "integer", "nullable": true}}}))}})),
                "post": secured(json!({"summary": "Create a workflow", "requestBody": body(json!({"$ref": "#/components/schemas/WorkflowWrite"})),
                    "responses": {"201": ok("created", wrapped.clone())}})),
                "put": secured(json!({"summary": "Update a workflow (id in the body; seed form)", "requestBody": body(json!({"$ref": "#/components/schemas/WorkflowWrite"})),
                    "responses": {"200": ok("updated", wrapped.clone())}})),
                "delete": secured(json!({"summary": "Delete a workflow (seed form)", "parameters": [{"name": "id", "in": "query", "required": true, "schema": {"type": "string", "format": "uuid"}}],
                    "responses": {"200": ok("deleted", json!({"type": "object", "properties": {"deleted": {"type": "string", "format": "uuid"}}}))}}))
            },
            "/api/workflows/validate": {
                "post": secured(json!({"summary": "Fully validate a workflow document", "requestBody": body(json!({"$ref": "#/components/schemas/WorkflowWrite"})),
                    "responses": {"200": ok("valid", json!({"type": "object", "properties": {"valid": {"type": "boolean"}}})),
                                  "400": error_response("invalid_workflow; details lists each problem")}}))
            },
            "/api/workflows/{id}": {
                "get": secured(json!({"summary": "Read one workflow", "parameters": [id_param()], "responses": {"200": ok("found", wrapped.clone()), "404": error_response("not found (or not yours)")}})),
                "put": secured(json!({"summary": "Update one workflow", "parameters": [id_param()], "requestBody": body(json!({"$ref": "#/components/schemas/WorkflowWrite"})),
                    "responses": {"200": ok("updated", wrapped.clone()), "404": error_response("not found (or not yours)")}})),
                "delete": secured(json!({"summary": "Delete one workflow", "parameters": [id_param()],
                    "responses": {"200": ok("deleted", json!({"type": "object", "properties": {"deleted": {"type": "string", "format": "uuid"}}})), "404": error_response("not found (or not yours)")}}))
            },
            "/api/workflows/execute": {
                "post": secured(json!({"summary": "Execute a saved workflow by id, or an unsaved document as a test run (logged with a null workflow_id)",
                    "parameters": [idempotency_param(), prefer_param()],
                    "requestBody": body(json!({"type": "object", "properties": {
                        "workflowId": {"type": "string", "format": "uuid"},
                        "workflow": {"type": "object", "properties": {"nodes": {"type": "array"}, "edges": {"type": "array"}}},
                        "triggerData": {"type": "object"}}})),
                    "responses": {"200": ok("the run, finished (or queued again when it outgrew one invocation)", execution_wrapped.clone()), "202": ok("queued (Prefer: respond-async)", execution_wrapped.clone()), "400": error_response("invalid_workflow"), "404": error_response("not found (or not yours)"),
                        "422": error_response("idempotency_key_reused: the Idempotency-Key was used for another workflow or other triggerData")}}))
            },
            "/api/workflows/{id}/execute": {
                "post": secured(json!({"summary": "Execute a saved workflow", "parameters": [id_param(), idempotency_param(), prefer_param()],
                    "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"triggerData": {"type": "object"}}}}}},
                    "responses": {"200": ok("the run, finished (or queued again when it outgrew one invocation)", execution_wrapped.clone()), "202": ok("queued (Prefer: respond-async)", execution_wrapped.clone()), "400": error_response("invalid_workflow"), "404": error_response("not found (or not yours)"),
                        "422": error_response("idempotency_key_reused: the Idempotency-Key was used for another workflow or other triggerData")}}))
            },
            "/api/workflows/{id}/executions": {
                "get": secured(json!({"summary": "A workflow's runs, newest first", "parameters": [id_param(), page[0].clone(), page[1].clone()],
                    "responses": {"200": ok("a page", json!({"type": "object", "properties": {"executions": {"type": "array", "items": execution_ref},
                        "limit": {"type": "integer"}, "offset": {"type": "integer"}}})), "404": error_response("not found (or not yours)")}}))
            },
            "/api/executions/{id}": {
                "get": secured(json!({"summary": "One run", "parameters": [id_param()],
                    "responses": {"200": ok("found", execution_wrapped.clone()), "404": error_response("not found (or not yours)")}}))
            },
            "/api/workflows/{id}/stats": {
                "get": secured(json!({"summary": "Run statistics of one workflow over the last `days` days, computed in the database under RLS",
                    "parameters": [id_param(), days_param()],
                    "responses": {"200": ok("the stats", stats_schema),
                        "400": error_response("invalid_request: days out of range"), "404": error_response("not found (or not yours)")}}))
            },
            "/api/stats": {
                "get": secured(json!({"summary": "One stats summary (without by_node) per workflow of the caller", "parameters": [days_param()],
                    "responses": {"200": ok("the summaries", json!({"type": "object", "properties": {"days": {"type": "integer"}, "workflows": {"type": "array", "items": {"type": "object"}}}})),
                        "400": error_response("invalid_request: days out of range")}}))
            },
            "/api/executions/{id}/events": {
                "get": secured(json!({"summary": "The run's live stream (Server-Sent Events): execution, a step event when an action starts and when a step settles (id = the journal row's seq), done; Authorization: Bearer, or ?ticket= from stream-ticket for EventSource; honours Last-Event-ID",
                    "parameters": [id_param(), {"name": "ticket", "in": "query", "required": false, "schema": {"type": "string"}},
                                   {"name": "Last-Event-ID", "in": "header", "required": false, "schema": {"type": "string"}}],
                    "responses": {"200": {"description": "text/event-stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                        "404": error_response("not found (or not yours)")}}))
            },
            "/api/executions/{id}/stream-ticket": {
                "post": secured(json!({"summary": "A short-lived ticket to open this run's stream with EventSource (which cannot send Authorization); never an access token", "parameters": [id_param()],
                    "responses": {"200": ok("the ticket", json!({"type": "object", "properties": {"ticket": {"type": "string"}, "expiresIn": {"type": "integer"}, "url": {"type": "string"}}})),
                        "404": error_response("not found (or not yours)")}}))
            },
            "/api/executions/{id}/timeline.svg": {
                "get": secured(json!({"summary": "The run's steps as an SVG timeline: one bar per step on a time axis, coloured by status, labelled with node id and duration", "parameters": [id_param()],
                    "responses": {"200": {"description": "an SVG document", "content": {"image/svg+xml": {"schema": {"type": "string"}}}}, "404": error_response("not found (or not yours)")}}))
            },
            "/api/executions/{id}/cancel": {
                "post": secured(json!({"summary": "Cancel a queued, running or waiting run: steps in flight finish, nothing new starts", "parameters": [id_param()],
                    "responses": {"200": ok("cancelled", execution_wrapped.clone()), "404": error_response("not found (or not yours)"), "409": error_response("conflict: the run already ended")}}))
            },
            "/api/hooks/{trigger_key}": {
                "post": {"summary": "Public form hook: starts an active form_submit workflow with the posted fields (no token; any origin)",
                    "parameters": [{"name": "trigger_key", "in": "path", "required": true, "schema": {"type": "string"}},
                                   {"name": "Idempotency-Key", "in": "header", "required": false, "description": "a repeat answers the first executionId", "schema": {"type": "string", "maxLength": 200}}],
                    "requestBody": {"required": false, "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
                        "multipart/form-data": {"schema": {"type": "object"}}}},
                    "responses": {"202": ok("queued (executionId null when the trigger filter is false)", json!({"type": "object", "properties": {"executionId": {"type": "string", "nullable": true}}})),
                        "303": {"description": "an HTML form (Accept: text/html) is sent to the trigger's redirectUrl"},
                        "404": error_response("no active form_submit workflow with this key"),
                        "413": error_response("payload_too_large"), "415": error_response("unsupported_media_type")}}
            },
            "/api/workflows/{id}/trigger-key/rotate": {
                "post": secured(json!({"summary": "Replace the workflow's form-hook key; the old one stops working", "parameters": [id_param()],
                    "responses": {"200": ok("the workflow with its new trigger_key", wrapped.clone()), "404": error_response("not found (or not yours)")}}))
            },
            "/api/events/dispatch": {
                "post": secured(json!({"summary": "Dispatch pending database events now; the bearer is the service role key (not a user token), e.g. from a Supabase Database Webhook",
                    "responses": {"200": ok("what this pass did", json!({"type": "object", "properties": {
                        "started": {"type": "integer"}, "skipped": {"type": "integer"}, "retried": {"type": "integer"}}}))}}))
            },
            "/api/webhook-secret": {
                "get": secured(json!({"summary": "The caller's Standard Webhooks signing secret (created on first read)",
                    "responses": {"200": ok("the secret", secret_wrapped.clone())}}))
            },
            "/api/webhook-secret/rotate": {
                "post": secured(json!({"summary": "Rotate the caller's signing secret; the previous one still signs for 24 hours",
                    "responses": {"200": ok("the new secret", secret_wrapped)}}))
            },
            "/api/templates": {
                "get": {"summary": "The template library: ready-made CRM workflows (public)",
                    "parameters": [{"name": "category", "in": "query", "required": false,
                        "description": "only this category (an unknown one lists nothing)", "schema": {"type": "string"}}],
                    "responses": {"200": ok("the templates", json!({"type": "object", "properties": {
                        "templates": {"type": "array", "items": template_ref},
                        "categories": {"type": "array", "items": {"type": "string"}}}}))}}
            },
            "/api/templates/{id}": {
                "get": {"summary": "One template (public)", "parameters": [template_id.clone()],
                    "responses": {"200": ok("found", json!({"type": "object", "properties": {"template": template_ref}})),
                        "404": error_response("no such template")}}
            },
            "/api/templates/{id}/instantiate": {
                "post": secured(json!({"summary": "A new inactive workflow of the caller, made from the template (created as the caller, like POST /api/workflows)",
                    "parameters": [template_id],
                    "requestBody": instantiate_body,
                    "responses": {"201": ok("created", wrapped.clone()), "400": error_response("invalid_json or invalid_request (details.field names the member)"),
                        "404": error_response("no such template")}}))
            },
            "/api/node-types": {
                "get": {"summary": "The node types (trigger, action, condition, delay, loop, split) with the JSON-Schema-like schema of their data, edge rules, output and an example (public)",
                    "responses": {"200": ok("the node types", json!({"type": "object", "properties": {
                        "nodeTypes": {"type": "array", "items": {"$ref": "#/components/schemas/NodeType"}}}}))}}
            }
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "Supabase access token (JWT)"}},
            "schemas": {
                "Error": {"type": "object", "required": ["error", "status", "code"], "properties": {
                    "error": {"type": "string"}, "status": {"type": "integer"}, "code": {"type": "string"}, "details": {}}},
                "Action": {"type": "object", "properties": {"id": {"type": "string"}, "endpoint": {"type": "string"}, "method": {"type": "string"},
                    "requiresAuth": {"type": "boolean"}, "description": {"type": "string"}, "inputSchema": {"type": "object"}}},
                "WorkflowWrite": {"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"}, "name": {"type": "string", "maxLength": 200}, "description": {"type": "string"},
                    "nodes": {"type": "array", "items": {"type": "object"}}, "edges": {"type": "array", "items": {"type": "object"}}, "is_active": {"type": "boolean"}}},
                "Execution": {"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"}, "workflow_id": {"type": "string", "format": "uuid", "nullable": true},
                    "status": {"type": "string", "enum": ["queued", "running", "waiting", "succeeded", "failed", "cancelled"]}, "success": {"type": "boolean"},
                    "stop_reason": {"type": "string", "nullable": true}, "attempt": {"type": "integer"},
                    "lease_until": {"type": "string", "format": "date-time", "nullable": true}, "resume_at": {"type": "string", "format": "date-time", "nullable": true},
                    "workflow_version": {"type": "integer", "nullable": true}, "workflow_snapshot": {"type": "object", "nullable": true},
                    "error_count": {"type": "integer"}, "execution_time_ms": {"type": "integer", "nullable": true},
                    "executed_at": {"type": "string", "format": "date-time"}, "finished_at": {"type": "string", "format": "date-time", "nullable": true},
                    "trigger_type": {"type": "string"}, "trigger_data": {"type": "object"},
                    "results": {"type": "array", "items": {"$ref": "#/components/schemas/NodeResult"}}}},
                "NodeResult": {"type": "object", "properties": {
                    "nodeId": {"type": "string"}, "type": {"type": "string", "enum": ["trigger", "action", "condition", "delay", "loop", "split"]}, "actionId": {"type": "string"},
                    "status": {"type": "string", "enum": ["succeeded", "failed", "skipped", "running"], "description": "running only in live step events and journal rows"}, "success": {"type": "boolean"},
                    "output": {}, "error": {"type": "string"}, "attempts": {"type": "integer"},
                    "startedAt": {"type": "string", "format": "date-time", "nullable": true}, "durationMs": {"type": "integer"},
                    "itemIndex": {"type": "integer", "description": "a step of a loop body: its item ({{loop.index}})"},
                    "itemPath": {"type": "array", "items": {"type": "integer"}, "description": "a step of a loop body: item indexes from the outermost loop in"}}},
                "Template": {"type": "object", "required": ["id", "name", "description", "category", "nodes", "edges"], "properties": {
                    "id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"}, "category": {"type": "string"},
                    "nodes": {"type": "array", "items": {"type": "object"}}, "edges": {"type": "array", "items": {"type": "object"}}}},
                "NodeType": {"type": "object", "required": ["type", "label", "description", "data", "edges", "output", "example"], "properties": {
                    "type": {"type": "string", "enum": ["trigger", "action", "condition", "delay", "loop", "split"]},
                    "label": {"type": "string"}, "description": {"type": "string"},
                    "data": {"type": "object", "description": "JSON-Schema-like description of the node's data"},
                    "edges": {"type": "object", "description": "incoming: whether edges may enter; outgoing.sourceHandle: none or required, with enum or enumFrom"},
                    "output": {"type": "object"}, "example": {"type": "object"},
                    "perWorkflow": {"type": "object"}, "body": {"type": "object"}}},
                "Workflow": {"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"}, "user_id": {"type": "string", "format": "uuid"}, "name": {"type": "string"},
                    "description": {"type": "string"}, "nodes": {"type": "array", "items": {"type": "object"}}, "edges": {"type": "array", "items": {"type": "object"}},
                    "is_active": {"type": "boolean"}, "trigger_key": {"type": "string"},
                    "created_at": {"type": "string", "format": "date-time"}, "updated_at": {"type": "string", "format": "date-time"}}}
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::router::TABLE;

    #[test]
    fn every_route_is_documented_and_nothing_else() {
        let doc = document();
        let paths = doc["paths"].as_object().unwrap();
        assert_eq!(paths.len(), TABLE.len());
        for (path, methods, auth) in TABLE {
            let item = paths.get(*path).unwrap_or_else(|| panic!("{path} undocumented"));
            assert_eq!(item.as_object().unwrap().len(), methods.len(), "{path}");
            for m in *methods {
                let op = &item[m.to_lowercase()];
                assert!(op.is_object(), "{m} {path} undocumented");
                assert_eq!(op.get("security").is_some(), *auth, "{m} {path} security");
            }
        }
    }
}
