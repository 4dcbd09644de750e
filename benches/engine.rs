//! Native benchmarks of the worker's own code paths (`cargo bench --bench
//! engine`, the first part of `make bench`). Nothing here touches the
//! network: PostgREST and webhook targets are answered in-process, so every
//! figure is CPU spent by the code the worker runs.
//!
//! - micro: validating 200 nodes, rendering 10,000 templates, verifying
//!   10,000 HS256 and 1,000 ES256 tokens, building and parsing 10,000
//!   PostgREST requests;
//! - engine: scheduling alone (instant actions, no journal), chains and
//!   fan-outs;
//! - request: a whole `POST /api/workflows/{id}/execute` through
//!   `api::handle` (token check, workflow read, run insert, webhook calls,
//!   journal writes, completion), for 1 and 100 `webhook_call` steps, journal
//!   on and off: the CPU one run costs, per run and per step.
//!
//! Every case is warmed up, then timed in 7 samples; the median and the
//! spread (median absolute deviation) are printed and written to the
//! `native` section of `target/bench/results.json` (`BENCH_RESULTS`
//! overrides the path).
//!
//! `cargo bench --bench engine -- --profile SECS [STEPS]` instead loops the
//! request case for SECS seconds (for `perf record`; `make bench` does that
//! and reports the top five symbols).

use std::cell::RefCell;
use std::future::Future;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use edgeflow::api::runs::RunMessage;
use edgeflow::api::{self, ApiRequest, Platform};
use edgeflow::auth::jwks::{parse_jwks, CachedJwks};
use edgeflow::auth::Verifier;
use edgeflow::config::Config;
use edgeflow::engine::template::{render, Scope};
use edgeflow::engine::{
    execute, validate, ActionCall, ActionError, ActionRunner, Budget, Clock, Limits, NoJournal, RunContext,
};
use edgeflow::http::{HttpRequest, HttpResponse, Outbound, TransportError};
use edgeflow::rest::{self, RestClient};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

const SAMPLES: usize = 7;
const SECRET: &str = "bench-jwt-secret-with-enough-length-for-hs256";
const DB: &str = "http://db.bench";
const USER: &str = "11111111-2222-4333-8444-555555555555";
const WORKFLOW: &str = "22222222-3333-4444-8555-666666666666";
const TARGET: &str = "http://127.0.0.1:9/hook";
const ES_PRIV: &str = include_str!("../tests/fixtures/jwt/es256_private.pem");
const JWKS: &str = include_str!("../tests/fixtures/jwt/jwks.json");

// ---------------------------------------------------------------- timing

/// One case: `ops` operations per sample, times in ns per operation.
struct Figure {
    name: String,
    ops: u32,
    unit: &'static str,
    per_op_ns: Vec<f64>,
}

impl Figure {
    fn median(&self) -> f64 {
        median(&self.per_op_ns)
    }
    fn spread(&self) -> f64 {
        let m = self.median();
        median(&self.per_op_ns.iter().map(|x| (x - m).abs()).collect::<Vec<_>>())
    }
    fn json(&self) -> Value {
        let us = |ns: f64| (ns / 1e3 * 1000.0).round() / 1000.0;
        json!({
            "ops_per_sample": self.ops,
            "unit": "us per op",
            "op": self.unit,
            "median_us": us(self.median()),
            "spread_us": us(self.spread()),
            "min_us": us(self.per_op_ns.iter().cloned().fold(f64::MAX, f64::min)),
            "max_us": us(self.per_op_ns.iter().cloned().fold(0.0, f64::max)),
            "samples_us": self.per_op_ns.iter().map(|&ns| us(ns)).collect::<Vec<_>>(),
        })
    }
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Warms up (one untimed sample, at least 50 ms), then times `SAMPLES`
/// samples of `ops` calls of `f`.
fn measure(name: &str, unit: &'static str, ops: u32, mut f: impl FnMut()) -> Figure {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(50) {
        for _ in 0..ops {
            f();
        }
    }
    let per_op_ns = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..ops {
                f();
            }
            start.elapsed().as_nanos() as f64 / ops as f64
        })
        .collect();
    let fig = Figure {
        name: name.to_string(),
        ops,
        unit,
        per_op_ns,
    };
    println!(
        "  {:<34} {:>10.2} us per {unit:<12} (spread {:>7.2}, {} x {ops})",
        fig.name,
        fig.median() / 1e3,
        fig.spread() / 1e3,
        SAMPLES
    );
    fig
}

// ---------------------------------------------------------------- documents

fn trigger() -> Value {
    json!({"id": "t", "type": "trigger", "data": {"triggerType": "manual"}})
}

fn notification(id: &str, upstream: &str) -> Value {
    json!({"id": id, "type": "action", "data": {"actionId": "send_notification", "config": {
        "title": format!("Lead {{{{trigger.name}}}} via {upstream}"),
        "body": format!("{{{{nodes.{upstream}.output.grade}}}}")}}})
}

/// A chain of `n` actions, each templating its predecessor's output.
fn chain(n: usize) -> (Value, Value) {
    let mut nodes = vec![trigger()];
    let mut edges = vec![];
    let mut prev = "t".to_string();
    for i in 0..n {
        let id = format!("a{i}");
        let mut node = notification(&id, &prev);
        if prev == "t" {
            node["data"]["config"]["body"] = json!("{{trigger.name}}");
        }
        nodes.push(node);
        edges.push(json!({"id": format!("e{i}"), "source": prev, "target": id}));
        prev = id;
    }
    (Value::Array(nodes), Value::Array(edges))
}

/// `n` independent actions fanned out from the trigger.
fn fan_out(n: usize) -> (Value, Value) {
    let mut nodes = vec![trigger()];
    let mut edges = vec![];
    for i in 0..n {
        let id = format!("a{i}");
        let mut node = notification(&id, "t");
        node["data"]["config"]["body"] = json!("{{trigger.name}}");
        nodes.push(node);
        edges.push(json!({"id": format!("e{i}"), "source": "t", "target": id}));
    }
    (Value::Array(nodes), Value::Array(edges))
}

/// What `make bench` runs through the worker: `n` `webhook_call` steps in a chain.
fn webhook_chain(n: usize) -> (Value, Value) {
    let mut nodes = vec![trigger()];
    let mut edges = vec![];
    for i in 1..=n {
        nodes.push(json!({"id": format!("s{i}"), "type": "action",
            "data": {"actionId": "webhook_call", "config": {"url": TARGET, "body": {"i": i, "lead": "{{trigger.name}}"}}}}));
        let source = if i == 1 {
            "t".to_string()
        } else {
            format!("s{}", i - 1)
        };
        edges.push(json!({"id": format!("e{i}"), "source": source, "target": format!("s{i}")}));
    }
    (Value::Array(nodes), Value::Array(edges))
}

// ---------------------------------------------------------------- engine alone

struct Instant0;

impl ActionRunner for Instant0 {
    async fn run(&self, call: ActionCall) -> Result<Value, ActionError> {
        Ok(json!({"score": 80, "grade": "A", "echo": call.inputs}))
    }
}

struct WallClock(Instant);

impl Clock for WallClock {
    fn now_ms(&self) -> u64 {
        self.0.elapsed().as_millis() as u64
    }
    fn sleep(&self, _ms: u64) -> impl Future<Output = ()> {
        // Never reached when everything answers at once; a pending sleep
        // only loses the race against the answers.
        std::future::pending()
    }
}

fn engine_case(name: &str, nodes: &Value, edges: &Value, ops: u32) -> Figure {
    let limits = Limits::default();
    let graph = validate(nodes, edges, &limits).expect("valid");
    let ctx = RunContext {
        execution_id: "bench".into(),
        workflow_id: None,
        trigger: json!({"name": "Ada", "email": "ada@example.com"}),
        journaled: vec![],
    };
    let clock = WallClock(Instant::now());
    measure(name, "run", ops, || {
        let report = futures_executor::block_on(execute(
            &graph,
            &ctx,
            &Instant0,
            &clock,
            &NoJournal,
            &limits,
            &Budget::unlimited(),
        ));
        assert!(report.success);
        black_box(report);
    })
}

// ---------------------------------------------------------------- a whole request

/// PostgREST and the webhook target, answered in-process with what the real
/// ones send back (rows echo what was written, as `select=*` does).
struct Fake {
    workflow: Value,
    cache: RefCell<Option<CachedJwks>>,
    start: Instant,
    calls: RefCell<HashMap<String, u32>>,
}

fn answer(status: u16, body: &Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
        body: body.to_string().into_bytes(),
    }
}

impl Outbound for Fake {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        let path = req.url.split('?').next().unwrap_or_default().to_string();
        *self
            .calls
            .borrow_mut()
            .entry(format!("{} {path}", req.method))
            .or_default() += 1;
        if req.url.starts_with(TARGET) {
            return Ok(answer(200, &json!({"ok": true})));
        }
        let table = path.rsplit("/rest/v1/").next().unwrap_or_default();
        // Rows echo what was written (as `select=*` answers), without the
        // fake parsing anything: its own cost stays out of the figures.
        let echo = |status: u16| HttpResponse {
            status,
            headers: vec![("content-type".into(), "application/json; charset=utf-8".into())],
            body: [b"[".as_slice(), req.body.as_deref().unwrap_or(b"{}"), b"]"].concat(),
        };
        Ok(match (req.method.as_str(), table) {
            ("GET", "workflows") => answer(200, &json!([self.workflow])),
            ("POST", "workflow_executions") => echo(201),
            ("POST", "rpc/webhook_secret") => answer(
                200,
                &json!({"secret": "whsec_YmVuY2gtc2lnbmluZy1zZWNyZXQtYnl0ZXM=", "previous_secret": null,
                        "rotated_at": null}),
            ),
            ("POST", "rpc/journal_steps") => {
                answer(200, &json!([{"status": "running", "lease_until": null}]))
            }
            ("PATCH", "workflow_executions") => echo(200),
            (m, t) => panic!("the bench has no answer for {m} {t}"),
        })
    }
}

impl Clock for Fake {
    fn now_ms(&self) -> u64 {
        1_800_000_000_000 + self.start.elapsed().as_millis() as u64
    }
    fn sleep(&self, _ms: u64) -> impl Future<Output = ()> {
        std::future::pending()
    }
}

impl Platform for Fake {
    fn jwks_cache(&self) -> &RefCell<Option<CachedJwks>> {
        &self.cache
    }
    fn log(&self, line: &str) {
        black_box(line);
    }
    async fn enqueue(&self, _message: &RunMessage, _delay_s: u32) -> Result<(), String> {
        Ok(())
    }
}

fn config(journal: bool) -> Config {
    let vars = [
        ("SUPABASE_URL", DB),
        ("SUPABASE_ANON_KEY", "bench-anon-key"),
        ("SUPABASE_JWT_SECRET", SECRET),
        ("SUPABASE_SERVICE_ROLE_KEY", "bench-service-key"),
        ("ALLOW_PRIVATE_TARGETS", "true"),
        ("RUN_SUBREQUEST_BUDGET", "1000"),
        ("RUN_JOURNAL", if journal { "on" } else { "off" }),
    ];
    Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).expect("config")
}

/// Signs like `jsonwebtoken::encode`, calling the crate's own signers
/// directly: the process-wide provider stays the worker's
/// (`edgeflow::auth::crypto`), which verifies only.
fn encode<T: serde::Serialize>(
    header: &Header,
    claims: &T,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<String> {
    use base64::engine::{general_purpose::URL_SAFE_NO_PAD, Engine};
    let part = |bytes: Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
    let message = format!(
        "{}.{}",
        part(serde_json::to_vec(header)?),
        part(serde_json::to_vec(claims)?)
    );
    let signer = (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.signer_factory)(&header.alg, key)?;
    Ok(format!(
        "{message}.{}",
        part(signer.try_sign(message.as_bytes())?)
    ))
}

fn hs_token(now_s: u64) -> String {
    let claims = json!({"sub": USER, "role": "authenticated", "aud": "authenticated",
        "iss": format!("{DB}/auth/v1"), "exp": now_s + 3600, "email": "ada@example.com"});
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("token")
}

/// One execute request of an `n`-step webhook chain, ready to run again and again.
struct RequestCase {
    fake: Fake,
    config: Config,
    req: ApiRequest,
}

impl RequestCase {
    fn new(steps: usize, journal: bool) -> Self {
        let (nodes, edges) = webhook_chain(steps);
        let workflow = json!({"id": WORKFLOW, "user_id": USER, "name": "bench", "version": 1,
            "nodes": nodes, "edges": edges, "is_active": false});
        let fake = Fake {
            workflow,
            cache: RefCell::new(None),
            start: Instant::now(),
            calls: RefCell::new(HashMap::new()),
        };
        let token = hs_token(fake.now_ms() / 1000);
        let req = ApiRequest {
            method: "POST".into(),
            path: format!("/api/workflows/{WORKFLOW}/execute"),
            query: vec![],
            headers: vec![
                ("authorization".into(), format!("Bearer {token}")),
                ("content-type".into(), "application/json".into()),
            ],
            body: br#"{"triggerData":{"name":"Ada","email":"ada@example.com"}}"#.to_vec(),
        };
        RequestCase {
            fake,
            config: config(journal),
            req,
        }
    }

    fn run(&self) {
        let resp = futures_executor::block_on(api::handle(&self.req, Ok(&self.config), &self.fake));
        assert_eq!(resp.status, 200, "{:?}", resp.body);
        assert_eq!(
            resp.body.as_ref().map(|b| &b["execution"]["status"]),
            Some(&json!("succeeded")),
            "{:?}",
            resp.body
        );
        black_box(resp);
    }

    /// Outbound calls one run makes, by method and path.
    fn calls_per_run(&self) -> Value {
        self.fake.calls.borrow_mut().clear();
        self.run();
        let calls = self.fake.calls.borrow();
        let mut out: Vec<_> = calls.iter().collect();
        out.sort();
        Value::Object(out.into_iter().map(|(k, v)| (k.clone(), json!(v))).collect())
    }
}

// ---------------------------------------------------------------- results file

fn results_path() -> PathBuf {
    std::env::var_os("BENCH_RESULTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench/results.json"))
}

fn write_section(section: Value) {
    let path = results_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("results folder");
    }
    let mut all = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| json!({}));
    all["native"] = section;
    std::fs::write(&path, serde_json::to_vec_pretty(&all).expect("json")).expect("results file");
    println!("native figures written to {}", path.display());
}

fn figures(list: &[Figure]) -> Value {
    Value::Object(
        list.iter()
            .map(|f| (f.name.clone(), f.json()))
            .collect::<Map<_, _>>(),
    )
}

// ---------------------------------------------------------------- cases

fn micro() -> Vec<Figure> {
    println!("micro (native, release profile)");
    let limits = Limits::default();
    let mut out = vec![];

    let (nodes, edges) = chain(199);
    out.push(measure("validate 200 nodes", "document", 50, || {
        black_box(validate(&nodes, &edges, &limits).expect("valid"));
    }));

    let trigger = json!({"name": "Ada", "email": "ada@example.com", "company": {"name": "AE", "size": 12}});
    let mut outputs = HashMap::new();
    outputs.insert("score".to_string(), json!({"score": 80, "grade": "A"}));
    let scope = Scope::top(
        &trigger,
        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        Some(WORKFLOW),
        &outputs,
    );
    let templates = [
        json!("Lead {{trigger.name}} <{{trigger.email}}> scored {{nodes.score.output.score}}"),
        json!("{{trigger.company}}"),
        json!({"subject": "Hi {{trigger.name}}", "grade": "{{nodes.score.output.grade}}"}),
        json!("run {{execution.id}} of {{workflow.id}}"),
    ];
    let mut i = 0;
    out.push(measure("render 10,000 templates", "10,000", 5, || {
        for _ in 0..10_000 {
            i = (i + 1) % templates.len();
            black_box(render(&templates[i], &scope).expect("renders"));
        }
    }));

    let now = 1_800_000_000;
    let hs = hs_token(now);
    let set = parse_jwks(JWKS).expect("jwks");
    let verifier = Verifier {
        hs_secret: Some(SECRET.as_bytes()),
        jwks: Some(&set),
        issuer: &format!("{DB}/auth/v1"),
        audience: "authenticated",
    };
    out.push(measure("verify 10,000 HS256 tokens", "10,000", 3, || {
        for _ in 0..10_000 {
            black_box(verifier.verify(&hs, now).expect("valid"));
        }
    }));
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("test-es256".into());
    let claims = json!({"sub": USER, "role": "authenticated", "aud": "authenticated",
        "iss": format!("{DB}/auth/v1"), "exp": now + 3600});
    let es = encode(
        &header,
        &claims,
        &EncodingKey::from_ec_pem(ES_PRIV.as_bytes()).expect("pem"),
    )
    .expect("token");
    out.push(measure("verify 1,000 ES256 tokens", "1,000", 3, || {
        for _ in 0..1_000 {
            black_box(verifier.verify(&es, now).expect("valid"));
        }
    }));

    let db = RestClient::new(&format!("{DB}/rest/v1"), "bench-anon-key", &hs);
    out.push(measure("build 10,000 PostgREST requests", "10,000", 3, || {
        for _ in 0..10_000 {
            let builder = db
                .from("workflow_executions")
                .select("*")
                .eq("id", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")
                .in_("status", ["running", "queued", "waiting"])
                .update(r#"{"status":"succeeded"}"#);
            black_box(rest::capture(builder).expect("request"));
        }
    }));
    let row = json!([{"id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", "workflow_id": WORKFLOW, "user_id": USER,
        "status": "succeeded", "success": true, "error_count": 0, "execution_time_ms": 41,
        "trigger_data": {"name": "Ada", "email": "ada@example.com"},
        "results": [{"nodeId": "t", "type": "trigger", "status": "succeeded", "output": {"name": "Ada"}},
                    {"nodeId": "s1", "type": "action", "status": "succeeded", "output": {"status": 200, "body": {"ok": true}}}],
        "executed_at": "2027-01-15T08:00:00.000Z", "finished_at": "2027-01-15T08:00:00.041Z"}]);
    let resp = answer(200, &row);
    out.push(measure("parse 10,000 PostgREST answers", "10,000", 3, || {
        for _ in 0..10_000 {
            black_box(rest::one_row(&resp).expect("rows"));
        }
    }));
    out
}

fn engine() -> Vec<Figure> {
    println!("engine alone (instant actions, no journal, validation excluded)");
    let mut out = vec![];
    for n in [1usize, 100, 199] {
        let (nodes, edges) = chain(n);
        out.push(engine_case(
            &format!("chain of {n}"),
            &nodes,
            &edges,
            if n > 50 { 20 } else { 500 },
        ));
    }
    let (nodes, edges) = fan_out(50);
    out.push(engine_case("fan-out of 50", &nodes, &edges, 50));
    out
}

fn requests() -> (Vec<Figure>, Value) {
    println!("a whole execute request through api::handle (webhook_call chain, answers in-process)");
    let mut out = vec![];
    let mut calls = Map::new();
    for journal in [true, false] {
        for steps in [1usize, 100] {
            let case = RequestCase::new(steps, journal);
            let name = format!(
                "execute {steps} step(s), journal {}",
                if journal { "on" } else { "off" }
            );
            calls.insert(name.clone(), case.calls_per_run());
            out.push(measure(&name, "run", if steps > 1 { 20 } else { 400 }, || {
                case.run()
            }));
        }
    }
    (out, Value::Object(calls))
}

fn per_step(figs: &[Figure], a: &str, b: &str, steps: f64) -> f64 {
    let get = |n: &str| {
        figs.iter()
            .find(|f| f.name == n)
            .map(Figure::median)
            .unwrap_or(f64::NAN)
    };
    (get(b) - get(a)) / steps / 1e3
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--profile") {
        let secs: f64 = args.get(at + 1).and_then(|s| s.parse().ok()).unwrap_or(5.0);
        let steps: usize = args.get(at + 2).and_then(|s| s.parse().ok()).unwrap_or(100);
        let case = RequestCase::new(steps, true);
        let start = Instant::now();
        let mut runs = 0u64;
        while start.elapsed().as_secs_f64() < secs {
            case.run();
            runs += 1;
        }
        println!(
            "profile: {runs} runs of {steps} steps in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        return;
    }
    let micro = micro();
    let engine = engine();
    let (request, calls) = requests();
    let engine_step = per_step(&engine, "chain of 1", "chain of 100", 99.0);
    let on_step = per_step(
        &request,
        "execute 1 step(s), journal on",
        "execute 100 step(s), journal on",
        99.0,
    );
    let off_step = per_step(
        &request,
        "execute 1 step(s), journal off",
        "execute 100 step(s), journal off",
        99.0,
    );
    println!("per step (chain of 100 minus chain of 1, / 99): engine {engine_step:.2} us, whole request {off_step:.2} us journal off, {on_step:.2} us journal on");
    write_section(json!({
        "micro": figures(&micro),
        "engine": figures(&engine),
        "request": figures(&request),
        "calls_per_run": calls,
        "per_step_us": {"engine": engine_step, "request_journal_off": off_step, "request_journal_on": on_step},
    }));
}
