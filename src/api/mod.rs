//! The HTTP API as pure request handling: the platform turns a Workers
//! request into an `ApiRequest`, calls `handle`, and sends back the
//! `ApiResponse`. All I/O goes through the `Platform` trait, so every route
//! runs natively in tests against a fake.

pub mod auth;
pub mod body;
pub mod catalog;
pub mod cors;
pub mod dispatch;
pub mod executions;
pub mod form;
pub mod hooks;
pub mod journal;
pub mod maintenance;
pub mod node_types;
pub mod openapi;
pub mod router;
pub mod runs;
pub mod sse;
pub mod stats;
pub mod templates;
pub mod timeline;
pub mod webhook_secret;
pub mod workflows;

use std::cell::RefCell;

use serde_json::{json, Value};

use crate::auth::jwks::CachedJwks;
use crate::config::Config;
use crate::engine::Clock;
use crate::error::ApiError;
use crate::http::Outbound;
use router::{route, Route};

/// A request as the API sees it.
#[derive(Debug, Clone, Default)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, JSON body (none for 204), extra headers; or, for the
/// few answers that are not JSON (an SVG picture), raw bytes whose
/// `Content-Type` is among the headers.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
    pub raw: Option<Vec<u8>>,
}

impl ApiResponse {
    pub fn json(status: u16, body: Value) -> Self {
        ApiResponse {
            status,
            body: Some(body),
            headers: vec![],
            raw: None,
        }
    }
    /// An answer without a body (204, 303).
    pub fn empty(status: u16, headers: Vec<(&'static str, String)>) -> Self {
        ApiResponse {
            status,
            body: None,
            headers,
            raw: None,
        }
    }
    /// A non-JSON answer.
    pub fn bytes(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        ApiResponse {
            status,
            body: None,
            headers: vec![("Content-Type", content_type.to_string())],
            raw: Some(body),
        }
    }
    pub fn error(err: &ApiError) -> Self {
        ApiResponse {
            status: err.status(),
            body: Some(err.body()),
            headers: err.headers(),
            raw: None,
        }
    }
}

/// Side effects the API needs: outbound HTTP (PostgREST, JWKS, actions),
/// time, the JWKS cache, logging and the `RUNS` queue. Worker futures are
/// not `Send`.
#[allow(async_fn_in_trait)]
pub trait Platform: Outbound + Clock {
    /// Where the JWKS cache lives (per isolate on Workers).
    fn jwks_cache(&self) -> &RefCell<Option<CachedJwks>>;
    /// One log line.
    fn log(&self, line: &str);
    /// Sends a message to the `RUNS` queue, delivered after `delay_s` seconds.
    async fn enqueue(&self, message: &runs::RunMessage, delay_s: u32) -> Result<(), String>;
}

/// The answer to a request refused before it could be read (body too
/// large): the error, with the same CORS grant as any other answer.
pub fn reject(origin: Option<&str>, config: Result<&Config, &ApiError>, err: &ApiError) -> ApiResponse {
    let allowed: &[String] = config.map(|c| c.allowed_origins.as_slice()).unwrap_or(&[]);
    let mut resp = ApiResponse::error(err);
    resp.headers.extend(cors::grant(origin, allowed));
    resp
}

/// Handles one request end to end, CORS included. Never panics on input.
pub async fn handle<P: Platform>(req: &ApiRequest, config: Result<&Config, &ApiError>, p: &P) -> ApiResponse {
    let origin = req.header("origin");
    // Public form hooks take posts from any origin (no credentials).
    let any = ["*".to_string()];
    let allowed: &[String] = if req.path.starts_with("/api/hooks/") {
        &any
    } else {
        config.map(|c| c.allowed_origins.as_slice()).unwrap_or(&[])
    };

    if req.method == "OPTIONS" {
        return match cors::preflight(origin, allowed) {
            Some(headers) => ApiResponse::empty(204, headers),
            None => ApiResponse::empty(204, cors::grant(origin, allowed)),
        };
    }

    let mut resp = match dispatch(req, config, p).await {
        Ok(resp) => resp,
        Err(err) => {
            p.log(&format!(
                "{} {} -> {} {}",
                req.method,
                req.path,
                err.status(),
                err.log_line()
            ));
            ApiResponse::error(&err)
        }
    };
    resp.headers.extend(cors::grant(origin, allowed));
    resp
}

/// The routes anyone may call; they work even with a broken configuration.
fn public(route: Route, req: &ApiRequest, config: Option<&Config>) -> Result<ApiResponse, ApiError> {
    match route {
        Route::Health => Ok(ApiResponse::json(200, json!({"status": "ok"}))),
        Route::OpenApi => Ok(ApiResponse::json(200, openapi::document())),
        Route::Actions => Ok(ApiResponse::json(
            200,
            json!({"actions": catalog::catalog_view(config)}),
        )),
        Route::Templates => Ok(templates::list(req)),
        Route::Template(id) => templates::get(&id),
        Route::NodeTypes => Ok(ApiResponse::json(
            200,
            json!({"nodeTypes": node_types::node_types()}),
        )),
        other => Err(ApiError::internal(format!("route {other:?} is not public"))),
    }
}

async fn dispatch<P: Platform>(
    req: &ApiRequest,
    config: Result<&Config, &ApiError>,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let route = route(&req.method, &req.path)?;
    match route {
        Route::Hook(key) => return hooks::handle(&key, req, config.map_err(Clone::clone)?, p).await,
        Route::DispatchEvents => {
            let config = config.map_err(Clone::clone)?;
            auth::service_role(req.header("authorization"), config)?;
            let done = dispatch::dispatch_events(config, p).await?;
            return Ok(ApiResponse::json(
                200,
                json!({"started": done.started, "skipped": done.skipped, "retried": done.retried}),
            ));
        }
        Route::ExecutionEvents(_) => {
            return Err(ApiError::InvalidRequest {
                message: "this route answers text/event-stream only".into(),
                field: None,
            })
        }
        _ => {}
    }
    if !route.requires_auth() {
        return public(route, req, config.ok());
    }
    let config = config.map_err(Clone::clone)?;
    let user = auth::authenticate(req.header("authorization"), config, p).await?;
    match route {
        Route::ExecuteSeed
        | Route::ExecuteWorkflow(_)
        | Route::ListExecutions(_)
        | Route::GetExecution(_)
        | Route::CancelExecution(_)
        | Route::Timeline(_)
        | Route::StreamTicket(_) => executions::handle(route, req, config, &user, p).await,
        Route::GetWebhookSecret => webhook_secret::handle(false, config, &user, p).await,
        Route::RotateTriggerKey(id) => workflows::rotate_trigger_key(id, config, &user, p).await,
        Route::WorkflowStats(id) => stats::handle(Some(id), req, config, &user, p).await,
        Route::AllStats => stats::handle(None, req, config, &user, p).await,
        Route::RotateWebhookSecret => webhook_secret::handle(true, config, &user, p).await,
        Route::InstantiateTemplate(id) => templates::instantiate(&id, req, config, &user, p).await,
        _ => workflows::handle(route, req, config, &user, p).await,
    }
}
