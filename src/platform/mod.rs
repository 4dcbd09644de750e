//! The Workers platform layer: the three entry points (`fetch`, the `RUNS`
//! queue consumer, the scheduled recovery), conversions between `worker`
//! types and the pure API, and `api::Platform` on `worker::Fetch`.

use std::cell::RefCell;

use futures_util::StreamExt;

use worker::{
    console_log, event, AbortController, Context, Env, Fetch, Headers, MessageBatch, MessageBuilder,
    MessageExt, Method, Queue, QueueRetryOptionsBuilder, Request, RequestInit, RequestRedirect, Response,
    ScheduleContext, ScheduledEvent,
};

use crate::api::executions;
use crate::api::router::{self, Route};
use crate::api::runs::{self, RunMessage};
use crate::api::sse::Follow;
use crate::api::{self, ApiRequest, ApiResponse, Platform};
use crate::auth::jwks::CachedJwks;
use crate::config::Config;
use crate::engine::Clock;
use crate::error::ApiError;
use crate::http::{HttpRequest, HttpResponse, Outbound, TransportError};
use crate::limits::{MAX_ANSWER_BYTES, MAX_BODY_BYTES};
use uuid::Uuid;

thread_local! {
    // One isolate serves many requests: the JWKS cache lives as long as it.
    static JWKS_CACHE: &'static RefCell<Option<CachedJwks>> = Box::leak(Box::new(RefCell::new(None)));
}

/// The configuration from the Worker's vars and secrets.
fn read_config(env: &Env) -> Result<Config, crate::config::ConfigError> {
    Config::from_lookup(|name| {
        env.var(name)
            .map(|v| v.to_string())
            .ok()
            .or_else(|| env.secret(name).map(|v| v.to_string()).ok())
    })
}

fn platform(env: &Env) -> WorkerPlatform {
    WorkerPlatform {
        cache: JWKS_CACHE.with(|c| *c),
        queue: env.queue("RUNS").ok(),
        lines: RefCell::new(Vec::new()),
    }
}

/// One `RUNS` message per invocation (`max_batch_size = 1`): each run
/// invocation gets the whole subrequest budget.
#[event(queue)]
async fn queue(batch: MessageBatch<RunMessage>, env: Env, _ctx: Context) -> worker::Result<()> {
    let config = match read_config(&env) {
        Ok(c) => c,
        Err(e) => {
            console_log!("RUNS: configuration error: {e}; messages will be retried");
            batch.retry_all();
            return Ok(());
        }
    };
    let platform = platform(&env);
    for message in batch.messages()? {
        match runs::consume(&config, &platform, message.body()).await {
            Ok(()) => message.ack(),
            Err(e) => {
                platform.log(&format!(
                    "RUNS: execution {} not advanced ({}); retried",
                    message.body().execution_id,
                    e.log_line()
                ));
                message.retry_with_options(&QueueRetryOptionsBuilder::new().with_delay_seconds(2).build());
            }
        }
    }
    Ok(())
}

/// Every minute: recovery of runs whose invocation is gone.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let config = match read_config(&env) {
        Ok(c) => c,
        Err(e) => return console_log!("scheduled: configuration error: {e}"),
    };
    let platform = platform(&env);
    if let Err(e) = crate::api::maintenance::recover(&config, &platform).await {
        platform.log(&format!("scheduled: recovery failed: {}", e.log_line()));
    }
    if let Err(e) = crate::api::dispatch::dispatch_events(&config, &platform).await {
        platform.log(&format!("scheduled: event dispatch failed: {}", e.log_line()));
    }
    if let Err(e) = crate::api::maintenance::prune(&config, &platform).await {
        platform.log(&format!("scheduled: retention failed: {}", e.log_line()));
    }
}

#[event(fetch)]
async fn fetch(mut req: Request, env: Env, _ctx: Context) -> worker::Result<Response> {
    let started = worker::Date::now().as_millis();
    let config = read_config(&env);
    let config_error = config.as_ref().err().map(|e| ApiError::from(e.clone()));
    if let Some(err) = &config_error {
        console_log!("configuration error: {}", err.log_line());
    }
    let config = match (&config, &config_error) {
        (Ok(c), _) => Ok(c),
        (_, Some(e)) => Err(e),
        _ => unreachable!("a failed parse always yields an error"),
    };
    let api_req = match read_request(&mut req).await {
        Ok(r) => r,
        Err(err) => {
            let origin = req.headers().get("origin").ok().flatten();
            console_log!(
                "{} {} -> {} {}",
                req.method(),
                req.path(),
                err.status(),
                err.log_line()
            );
            return to_response(api::reject(origin.as_deref(), config, &err));
        }
    };
    if let Some(stream) = live_stream(&api_req, config, &env).await {
        return stream;
    }
    let p = platform(&env);
    let resp = api::handle(&api_req, config, &p).await;
    if resp.status == 202 && api_req.method == "POST" && executions::wants_stream(&api_req) {
        if let Some(id) = resp
            .body
            .as_ref()
            .and_then(|b| b["execution"]["id"].as_str())
            .and_then(|s| Uuid::parse_str(s).ok())
        {
            let token = api_req
                .header("authorization")
                .and_then(|h| h.split_once(' ').map(|(_, t)| t.trim().to_string()))
                .unwrap_or_default();
            if let Ok(config) = config {
                if let Ok(follow) = Follow::follow(&api_req, config, platform(&env), id, token).await {
                    return stream_response(&api_req, Some(config), follow);
                }
            }
        }
    }
    p.log(&format!(
        "{} {} -> {} ({} ms)",
        api_req.method,
        api_req.path,
        resp.status,
        worker::Date::now().as_millis().saturating_sub(started)
    ));
    to_response(resp)
}

/// `GET /api/executions/{id}/events`: the live stream, or its error.
async fn live_stream(
    req: &ApiRequest,
    config: Result<&Config, &ApiError>,
    env: &Env,
) -> Option<worker::Result<Response>> {
    let Ok(Route::ExecutionEvents(id)) = router::route(&req.method, &req.path) else {
        return None;
    };
    let opened = match config {
        Ok(config) => Follow::open(req, config, platform(env), id).await,
        Err(e) => Err(e.clone()),
    };
    Some(match opened {
        Ok(follow) => stream_response(req, config.ok(), follow),
        Err(err) => {
            console_log!(
                "{} {} -> {} {}",
                req.method,
                req.path,
                err.status(),
                err.log_line()
            );
            to_response(api::reject(req.header("origin"), config, &err))
        }
    })
}

/// A `text/event-stream` answer producing the stream's chunks as they come.
fn stream_response(
    req: &ApiRequest,
    config: Option<&Config>,
    follow: Follow<WorkerPlatform>,
) -> worker::Result<Response> {
    let chunks = futures_util::stream::unfold(follow, |mut f| async move {
        f.next()
            .await
            .map(|chunk| (Ok::<Vec<u8>, worker::Error>(chunk.into_bytes()), f))
    });
    let headers = Headers::new();
    headers.set("Content-Type", "text/event-stream")?;
    headers.set("Cache-Control", "no-cache")?;
    let allowed: &[String] = config.map(|c| c.allowed_origins.as_slice()).unwrap_or(&[]);
    for (name, value) in api::cors::grant(req.header("origin"), allowed) {
        headers.append(name, &value)?;
    }
    console_log!("{} {} -> 200 (event stream)", req.method, req.path);
    Ok(Response::from_stream(chunks)?.with_headers(headers))
}

async fn read_request(req: &mut Request) -> Result<ApiRequest, ApiError> {
    let url = req
        .url()
        .map_err(|e| ApiError::internal(format!("request url: {e}")))?;
    let headers: Vec<(String, String)> = req.headers().entries().collect();
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok());
    if declared.unwrap_or(0) > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    let body = match req.method() {
        Method::Get | Method::Head | Method::Options => vec![],
        _ => req
            .bytes()
            .await
            .map_err(|e| ApiError::InvalidJson(format!("unreadable body: {e}")))?,
    };
    Ok(ApiRequest {
        method: req.method().to_string(),
        path: url.path().to_string(),
        query: url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        headers,
        body,
    })
}

fn to_response(resp: ApiResponse) -> worker::Result<Response> {
    let headers = Headers::new();
    for (name, value) in &resp.headers {
        headers.append(name, value)?;
    }
    let out = match (&resp.body, resp.raw) {
        (Some(body), _) => {
            headers.set("Content-Type", "application/json")?;
            Response::from_bytes(body.to_string().into_bytes())?
        }
        (None, Some(raw)) => Response::from_bytes(raw)?,
        (None, None) => Response::empty()?,
    };
    Ok(out.with_status(resp.status).with_headers(headers))
}

struct WorkerPlatform {
    cache: &'static RefCell<Option<CachedJwks>>,
    /// The `RUNS` producer binding; `None` when the Worker has none.
    queue: Option<Queue>,
    /// Log lines not written yet: they go out as one console message when
    /// the platform is dropped (the end of the request, queue batch or
    /// scheduled run) or every `LOG_BATCH_LINES` lines. Each console message
    /// has a cost of its own (in `wrangler dev` about 2 ms of CPU, as the
    /// inspector relays every one), and a run writes several lines.
    lines: RefCell<Vec<String>>,
}

/// Most log lines held back before they are written.
const LOG_BATCH_LINES: usize = 32;

impl WorkerPlatform {
    fn flush_log(&self) {
        let lines = std::mem::take(&mut *self.lines.borrow_mut());
        if !lines.is_empty() {
            console_log!("{}", lines.join("\n"));
        }
    }
}

impl Drop for WorkerPlatform {
    fn drop(&mut self) {
        self.flush_log();
    }
}

/// Aborts the request when dropped: a call the engine abandons (timeout,
/// run deadline) must not keep one of the isolate's few connections open.
struct AbortOnDrop(Option<AbortController>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(controller) = self.0.take() {
            controller.abort();
        }
    }
}

impl Outbound for WorkerPlatform {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        let unbuildable = |what: &str, e: worker::Error| TransportError::Unbuildable(format!("{what}: {e}"));
        let no_answer = |e: worker::Error| TransportError::NoAnswer(e.to_string());
        let headers = Headers::new();
        for (k, v) in &req.headers {
            headers
                .append(k, v)
                .map_err(|e| unbuildable(&format!("header {k}"), e))?;
        }
        let mut init = RequestInit::new();
        init.with_method(Method::from(req.method.clone()))
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual);
        if let Some(body) = req.body.as_ref().filter(|b| !b.is_empty()) {
            init.with_body(Some(worker::js_sys::Uint8Array::from(body.as_slice()).into()));
        }
        let request = Request::new_with_init(&req.url, &init).map_err(|e| unbuildable("request", e))?;
        let controller = AbortController::default();
        let signal = controller.signal();
        let _abort = AbortOnDrop(Some(controller));
        let mut resp = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(no_answer)?;
        let headers = resp
            .headers()
            .entries()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        // Read at most MAX_ANSWER_BYTES: a hostile target must not exhaust
        // the isolate's memory; the rest of the stream is cancelled. An
        // answer that declares a length within the cap and no content
        // encoding (so what arrives is exactly that many bytes) is read in
        // one call instead of chunk by chunk.
        let declared = resp
            .headers()
            .get("content-length")
            .ok()
            .flatten()
            .and_then(|v| v.trim().parse::<usize>().ok());
        let encoded = resp
            .headers()
            .get("content-encoding")
            .ok()
            .flatten()
            .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"));
        let body = match declared {
            Some(n) if n <= MAX_ANSWER_BYTES && !encoded => resp.bytes().await.map_err(no_answer)?,
            _ => {
                let mut body = Vec::new();
                let mut stream = resp.stream().map_err(no_answer)?;
                while let Some(chunk) = stream.next().await {
                    body.extend_from_slice(&chunk.map_err(no_answer)?);
                    if body.len() > MAX_ANSWER_BYTES {
                        return Err(TransportError::TooLarge {
                            limit: MAX_ANSWER_BYTES,
                        });
                    }
                }
                body
            }
        };
        if body.len() > MAX_ANSWER_BYTES {
            return Err(TransportError::TooLarge {
                limit: MAX_ANSWER_BYTES,
            });
        }
        Ok(HttpResponse {
            status: resp.status_code(),
            headers,
            body,
        })
    }
}

impl Clock for WorkerPlatform {
    fn now_ms(&self) -> u64 {
        worker::Date::now().as_millis()
    }

    fn sleep(&self, ms: u64) -> impl std::future::Future<Output = ()> {
        worker::Delay::from(std::time::Duration::from_millis(ms))
    }
}

impl Platform for WorkerPlatform {
    fn jwks_cache(&self) -> &RefCell<Option<CachedJwks>> {
        self.cache
    }

    fn log(&self, line: &str) {
        let full = {
            let mut lines = self.lines.borrow_mut();
            lines.push(line.to_string());
            lines.len() >= LOG_BATCH_LINES
        };
        if full {
            self.flush_log();
        }
    }

    async fn enqueue(&self, message: &RunMessage, delay_s: u32) -> Result<(), String> {
        let queue = self
            .queue
            .as_ref()
            .ok_or("the Worker has no RUNS queue binding")?;
        let built = MessageBuilder::new(message.clone())
            .delay_seconds(delay_s)
            .build();
        queue.send(built).await.map_err(|e| e.to_string())
    }
}
