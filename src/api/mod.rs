//! The HTTP API as pure request handling: the platform turns a Workers
//! request into an `ApiRequest`, calls `handle`, and sends back the
//! `ApiResponse`. All I/O goes through the `Platform` trait, so every route
//! runs natively in tests against a fake.

pub mod auth;
pub mod body;
pub mod executions;
pub mod workflows;

use std::cell::RefCell;

use serde_json::{json, Value};

use crate::auth::jwks::CachedJwks;
use crate::config::Config;
use crate::cors;
use crate::engine::Clock;
use crate::error::ApiError;
use crate::http::{HttpRequest, Outbound};
use crate::rest::{RestRequest, RestResponse};
use crate::router::{route, Route};

/// Largest request body accepted, in bytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

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

/// An answer: status, JSON body (none for 204), extra headers.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiResponse {
    pub status: u16,
    pub body: Option<Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiResponse {
    pub fn json(status: u16, body: Value) -> Self {
        ApiResponse {
            status,
            body: Some(body),
            headers: vec![],
        }
    }
    pub fn error(err: &ApiError) -> Self {
        ApiResponse {
            status: err.status(),
            body: Some(err.body()),
            headers: err.headers(),
        }
    }
}

/// Side effects the API needs: outbound HTTP (PostgREST, JWKS, actions),
/// time, the JWKS cache and logging. Worker futures are not `Send`.
pub trait Platform: Outbound + Clock {
    /// Where the JWKS cache lives (per isolate on Workers).
    fn jwks_cache(&self) -> &RefCell<Option<CachedJwks>>;
    /// One log line.
    fn log(&self, line: &str);
}

/// Sends a PostgREST request; `Err` only when no answer came.
pub async fn send_rest<P: Platform>(p: &P, req: RestRequest) -> Result<RestResponse, ApiError> {
    let resp = p
        .send(HttpRequest {
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
        })
        .await
        .map_err(|e| ApiError::upstream(format!("PostgREST unreachable: {e}")))?;
    Ok(RestResponse {
        status: resp.status,
        content_range: resp.header("content-range").map(str::to_string),
        body: String::from_utf8_lossy(&resp.body).into_owned(),
    })
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
    let allowed: &[String] = config.map(|c| c.allowed_origins.as_slice()).unwrap_or(&[]);

    if req.method == "OPTIONS" {
        return match cors::preflight(origin, allowed) {
            Some(headers) => ApiResponse {
                status: 204,
                body: None,
                headers,
            },
            None => ApiResponse {
                status: 204,
                body: None,
                headers: cors::grant(origin, allowed),
            },
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

async fn dispatch<P: Platform>(
    req: &ApiRequest,
    config: Result<&Config, &ApiError>,
    p: &P,
) -> Result<ApiResponse, ApiError> {
    let route = route(&req.method, &req.path)?;
    match route {
        Route::Health => return Ok(ApiResponse::json(200, json!({"status": "ok"}))),
        Route::OpenApi => return Ok(ApiResponse::json(200, crate::openapi::document())),
        Route::Actions => {
            return Ok(ApiResponse::json(
                200,
                json!({"actions": crate::catalog::catalog_view(config.ok())}),
            ))
        }
        _ => {}
    }
    let config = config.map_err(Clone::clone)?;
    let user = auth::authenticate(req.header("authorization"), config, p).await?;
    match route {
        Route::ExecuteSeed
        | Route::ExecuteWorkflow(_)
        | Route::ListExecutions(_)
        | Route::GetExecution(_) => executions::handle(route, req, config, &user, p).await,
        _ => workflows::handle(route, req, config, &user, p).await,
    }
}
