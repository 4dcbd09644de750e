//! A native harness for the HTTP API, in the spirit of an in-process
//! `spawn_app`: [`App`] drives `api::handle` exactly as the Workers platform
//! does, over a fake `Platform` whose PostgREST answers from a script and
//! keeps every request it was given. Nothing here touches the network.

#![allow(dead_code)]

use edgeflow::api::runs::RunMessage;
use edgeflow::api::sse::Follow;
use edgeflow::api::{self, ApiRequest, ApiResponse, Platform};
use edgeflow::auth::jwks::CachedJwks;
use edgeflow::config::Config;
use edgeflow::engine::Clock;
use edgeflow::http::{HttpRequest, HttpResponse, Outbound, TransportError};
use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

pub const URL: &str = "http://db.test";
pub const SECRET: &str = "harness-jwt-secret-with-enough-length";
pub const ANON: &str = "harness-anon-key";
pub const SERVICE: &str = "harness-service-role-key";
pub const USER: &str = "11111111-2222-4333-8444-555555555555";
pub const NOW_MS: u64 = 1_800_000_000_000;

/// One scripted PostgREST answer, for the next request with this method on
/// this table (or `rpc/<fn>`).
struct Scripted {
    method: &'static str,
    table: String,
    answer: Result<HttpResponse, TransportError>,
}

/// The fake platform: scripted PostgREST, a clock that only moves when a
/// step sleeps, and a log kept for assertions.
pub struct FakePlatform {
    script: RefCell<VecDeque<Scripted>>,
    pub requests: RefCell<Vec<HttpRequest>>,
    pub logs: RefCell<Vec<String>>,
    /// Messages sent to the `RUNS` queue.
    pub queued: RefCell<Vec<RunMessage>>,
    now: Cell<u64>,
    cache: RefCell<Option<CachedJwks>>,
}

impl Outbound for FakePlatform {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.requests.borrow_mut().push(req.clone());
        let table = table_of(&req.url);
        let mut script = self.script.borrow_mut();
        match script
            .iter()
            .position(|s| s.method == req.method && s.table == table)
        {
            Some(at) => script.remove(at).unwrap().answer,
            // Journal writes succeed unless a test scripts otherwise.
            None if table == "rpc/journal_steps" => Ok(HttpResponse {
                status: 200,
                headers: vec![],
                body: br#"[{"status":"running","lease_until":null}]"#.to_vec(),
            }),
            None => panic!(
                "no scripted answer for {} {} (table {table})",
                req.method, req.url
            ),
        }
    }
}

impl Clock for FakePlatform {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    // Time moves when the sleep is awaited, not when it is created: a
    // timeout or the run deadline that loses its race never passes.
    async fn sleep(&self, ms: u64) {
        self.now.set(self.now.get() + ms);
    }
}

impl Platform for FakePlatform {
    fn jwks_cache(&self) -> &RefCell<Option<CachedJwks>> {
        &self.cache
    }
    fn log(&self, line: &str) {
        self.logs.borrow_mut().push(line.to_string());
    }
    async fn enqueue(&self, message: &RunMessage, _delay_s: u32) -> Result<(), String> {
        self.queued.borrow_mut().push(message.clone());
        Ok(())
    }
}

// The fake platform by reference, for what takes its platform by value and
// outlives one call (the live stream), while the test keeps the requests.
impl Outbound for &FakePlatform {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(req).await
    }
}

impl Clock for &FakePlatform {
    fn now_ms(&self) -> u64 {
        (**self).now_ms()
    }
    async fn sleep(&self, ms: u64) {
        (**self).sleep(ms).await
    }
}

impl Platform for &FakePlatform {
    fn jwks_cache(&self) -> &RefCell<Option<CachedJwks>> {
        (**self).jwks_cache()
    }
    fn log(&self, line: &str) {
        (**self).log(line)
    }
    async fn enqueue(&self, message: &RunMessage, delay_s: u32) -> Result<(), String> {
        (**self).enqueue(message, delay_s).await
    }
}

/// `workflows` from `http://db.test/rest/v1/workflows?select=*`.
fn table_of(url: &str) -> String {
    let path = url.split('?').next().unwrap_or("");
    path.split("/rest/v1/").nth(1).unwrap_or(path).to_string()
}

/// The API under test with its fake platform.
pub struct App {
    pub p: FakePlatform,
    config: Config,
}

impl App {
    pub fn new() -> Self {
        App::with(&[])
    }

    /// An app with extra configuration variables.
    pub fn with(extra: &[(&str, &str)]) -> Self {
        let mut vars = vec![
            ("SUPABASE_URL", URL),
            ("SUPABASE_ANON_KEY", ANON),
            ("SUPABASE_JWT_SECRET", SECRET),
            ("SUPABASE_SERVICE_ROLE_KEY", SERVICE),
        ];
        vars.extend_from_slice(extra);
        let config =
            Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap();
        App {
            p: FakePlatform {
                script: RefCell::new(VecDeque::new()),
                requests: RefCell::new(vec![]),
                logs: RefCell::new(vec![]),
                queued: RefCell::new(vec![]),
                now: Cell::new(NOW_MS),
                cache: RefCell::new(None),
            },
            config,
        }
    }

    /// Scripts the next answer to `method` on `table`.
    pub fn db(&self, method: &'static str, table: &str, status: u16, body: Value) -> &Self {
        let body = if body.is_null() {
            vec![]
        } else {
            body.to_string().into_bytes()
        };
        self.db_answer(
            method,
            table,
            Ok(HttpResponse {
                status,
                headers: vec![],
                body,
            }),
        )
    }

    /// Scripts a transport failure for the next `method` on `table`.
    pub fn db_fails(&self, method: &'static str, table: &str, error: TransportError) -> &Self {
        self.db_answer(method, table, Err(error))
    }

    fn db_answer(
        &self,
        method: &'static str,
        table: &str,
        answer: Result<HttpResponse, TransportError>,
    ) -> &Self {
        self.p.script.borrow_mut().push_back(Scripted {
            method,
            table: table.to_string(),
            answer,
        });
        self
    }

    /// A valid access token of the harness user.
    pub fn token(&self) -> String {
        let claims = json!({"sub": USER, "role": "authenticated", "aud": "authenticated",
            "iss": format!("{URL}/auth/v1"), "exp": NOW_MS / 1000 + 3600});
        // The worker's provider signs HS256; installed before the crate's
        // default could be picked.
        edgeflow::auth::crypto::install();
        encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    /// Calls the API as the harness user.
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> ApiResponse {
        self.call_with(method, path, body, &[])
    }

    /// Calls the API as the harness user with extra headers.
    pub fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> ApiResponse {
        let mut all = vec![("authorization".to_string(), format!("Bearer {}", self.token()))];
        all.extend(
            headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())),
        );
        self.send(ApiRequest {
            method: method.into(),
            path: path.into(),
            query: vec![],
            headers: all,
            body: body.map(|b| b.to_string().into_bytes()).unwrap_or_default(),
        })
    }

    /// Opens `GET /api/executions/{id}/events` as the harness user, with
    /// extra headers (`Last-Event-ID`), as the platform layer does.
    pub fn stream(&self, execution_id: &str, headers: &[(&str, &str)]) -> Follow<&FakePlatform> {
        let mut all = vec![("authorization".to_string(), format!("Bearer {}", self.token()))];
        all.extend(
            headers
                .iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())),
        );
        let req = ApiRequest {
            method: "GET".into(),
            path: format!("/api/executions/{execution_id}/events"),
            query: vec![],
            headers: all,
            body: vec![],
        };
        let id = uuid::Uuid::parse_str(execution_id).expect("a uuid");
        futures_executor::block_on(Follow::open(&req, &self.config, &self.p, id)).expect("the stream opens")
    }

    /// Delivers one `RUNS` queue message, as the consumer does.
    pub fn consume(&self, message: &RunMessage) -> Result<(), edgeflow::error::ApiError> {
        futures_executor::block_on(edgeflow::api::runs::consume(&self.config, &self.p, message))
    }

    /// Runs the scheduled recovery once.
    pub fn recover(&self) -> Result<(usize, usize), edgeflow::error::ApiError> {
        futures_executor::block_on(edgeflow::api::maintenance::recover(&self.config, &self.p))
    }

    /// Sends a request exactly as given.
    pub fn send(&self, req: ApiRequest) -> ApiResponse {
        futures_executor::block_on(api::handle(&req, Ok(&self.config), &self.p))
    }

    /// The requests sent to `table` with `method`.
    pub fn sent(&self, method: &str, table: &str) -> Vec<HttpRequest> {
        self.p
            .requests
            .borrow()
            .iter()
            .filter(|r| r.method == method && table_of(&r.url) == table)
            .cloned()
            .collect()
    }

    /// The body of the one request sent to `table` with `method`, after
    /// asserting that it went as the harness user (their bearer token and
    /// the anon key), so row-level security decides.
    pub fn only_sent_as_caller(&self, method: &str, table: &str) -> Value {
        let sent = self.sent(method, table);
        assert_eq!(sent.len(), 1, "{method} {table} sent {} times", sent.len());
        assert_eq!(
            header(&sent[0], "authorization"),
            Some(format!("Bearer {}", self.token()).as_str())
        );
        assert_eq!(header(&sent[0], "apikey"), Some(ANON));
        body_of(&sent[0])
    }

    /// Whether every scripted answer was used.
    pub fn script_used_up(&self) -> bool {
        self.p.script.borrow().is_empty()
    }
}

/// The JSON body of a request.
pub fn body_of(req: &HttpRequest) -> Value {
    serde_json::from_slice(req.body.as_deref().unwrap_or(b"null")).unwrap()
}

/// A header of a request.
pub fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Asserts the contract's error shape and returns the code.
pub fn error_code(resp: &ApiResponse, status: u16) -> String {
    assert_eq!(resp.status, status, "{:?}", resp.body);
    let body = resp.body.as_ref().expect("an error has a body");
    assert_eq!(body["status"], status);
    assert!(body["error"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    body["code"].as_str().expect("an error has a code").to_string()
}

/// A saved workflow row: trigger -> one notification.
pub fn workflow_row(id: &str) -> Value {
    json!({"id": id, "user_id": USER, "name": "w", "description": "", "is_active": false,
        "nodes": [
            {"id": "t", "type": "trigger", "data": {"triggerType": "manual"}},
            {"id": "n", "type": "action", "data": {"actionId": "send_notification", "config": {"title": "Hi {{trigger.name}}"}}}
        ],
        "edges": [{"id": "e", "source": "t", "target": "n"}]})
}
