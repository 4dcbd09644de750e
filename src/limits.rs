//! Every cap and default of the worker, in one place, so the code, the
//! README's limits table and the tests agree. [`Limits`] holds the values a
//! test may vary (the engine's); the constants are fixed. [`table`] is the
//! README's limits table, row for row (a test compares them).

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;

/// Limits enforced by validation and by the scheduler. `Limits::default()`
/// gives the documented production values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most nodes in one workflow. Default 200.
    pub max_nodes: usize,
    /// Most edges in one workflow. Default 500.
    pub max_edges: usize,
    /// Largest serialized `nodes` + `edges` JSON, in bytes. Default 512 KiB.
    pub max_document_bytes: usize,
    /// Wall-clock budget of one run, in ms; nodes still running when it
    /// expires fail, nodes not started are skipped. Default 60 000.
    pub max_run_ms: u64,
    /// Largest serialized output of one action, in bytes; a bigger output
    /// fails the node and is not stored. Default 256 KiB.
    pub max_output_bytes: usize,
    /// Most actions in flight at once within a run. Default 6, because a
    /// Worker may hold at most 6 simultaneous open connections.
    pub max_concurrency: usize,
    /// `retry.maxAttempts` when absent. Default 1 (no retry).
    pub default_max_attempts: u32,
    /// Largest accepted `retry.maxAttempts`; more is a validation error. Default 5.
    pub max_attempts_cap: u32,
    /// `retry.backoffMs` when absent. Default 500.
    pub default_backoff_ms: u64,
    /// Largest accepted `retry.backoffMs`, and the ceiling of any single
    /// computed delay; more is a validation error. Default 30 000.
    pub backoff_cap_ms: u64,
    /// `timeoutMs` per attempt when absent. Default 10 000.
    pub default_timeout_ms: u64,
    /// Largest accepted `timeoutMs`; more is a validation error. Default 30 000.
    pub timeout_cap_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_nodes: 200,
            max_edges: 500,
            max_document_bytes: 512 * KIB,
            max_run_ms: 60_000,
            max_output_bytes: 256 * KIB,
            max_concurrency: 6,
            default_max_attempts: 1,
            max_attempts_cap: 5,
            default_backoff_ms: 500,
            backoff_cap_ms: 30_000,
            default_timeout_ms: 10_000,
            timeout_cap_ms: 30_000,
        }
    }
}

/// Largest request body accepted, in bytes; more is `413 payload_too_large`
/// (checked on the declared length before the body is read, and after).
pub const MAX_BODY_BYTES: usize = MIB;

/// Largest answer body read from any outbound call (PostgREST, services,
/// webhooks); a larger answer fails the call and the rest is not read.
pub const MAX_ANSWER_BYTES: usize = 8 * MIB;

/// Largest `results` stored for one run; beyond it the biggest outputs are
/// replaced by `{"truncated": true, "bytes": n}` (each output is already
/// capped, but 200 nodes could add up).
pub const MAX_RESULTS_BYTES: usize = 2 * MIB;

/// Page size of a listing when `limit` is absent.
pub const DEFAULT_PAGE: usize = 50;

/// Largest accepted `limit` of a listing; more is a 400.
pub const MAX_PAGE: usize = 200;

/// Largest accepted `offset` of a listing; more is a 400.
pub const MAX_OFFSET: usize = 1_000_000;

/// Longest node id, in characters (a step key, `<execution id>:<node
/// id>[:<item>]`, must fit the database's 300).
pub const MAX_NODE_ID_CHARS: usize = 200;

/// Longest `send_email` subject, in characters (RFC 5322's line limit;
/// the database's cap too).
pub const MAX_SUBJECT_CHARS: usize = 998;

/// Longest deal and notification title, contact name and company, in
/// characters (the database's cap too).
pub const MAX_TITLE_CHARS: usize = 300;

/// Longest workflow `name`, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Most fields in one public form post (`POST /api/hooks/...`), whatever
/// its encoding: top-level members of a JSON body, name/value pairs of a
/// urlencoded one, parts of a multipart one. More is a 400.
pub const MAX_FORM_FIELDS: usize = 200;

/// Longest field name in a public form post, in characters; longer is a 400.
pub const MAX_FORM_FIELD_NAME_CHARS: usize = 200;

/// Longest `redirectUrl` of a `form_submit` trigger, in characters.
pub const MAX_REDIRECT_URL_CHARS: usize = 2000;

/// Longest accepted `Idempotency-Key`, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;

/// Largest value one action input (or one side of a condition) may render
/// to; rendering stops there and fails the node naming the input.
pub const MAX_RENDERED_INPUT_BYTES: usize = 256 * KIB;

/// Largest total a node's inputs may render to together.
pub const MAX_RENDERED_INPUTS_BYTES: usize = 512 * KIB;

/// Part of a `webhook_call` answer body kept in its output; beyond it the
/// output says `truncated: true`.
pub const WEBHOOK_BODY_KEPT_BYTES: usize = 64 * KIB;

/// How long after a rotation the previous webhook signing secret still
/// signs (a second signature in `webhook-signature`).
pub const WEBHOOK_SECRET_GRACE_MS: u64 = 24 * 60 * 60 * 1000;

/// `RUN_SUBREQUEST_BUDGET` when unset: fits the Workers Free plan's 50
/// subrequests per invocation, with room for the run's own bookkeeping.
pub const DEFAULT_SUBREQUEST_BUDGET: u64 = 40;

/// `RUN_WALL_BUDGET_MS` when unset.
pub const DEFAULT_WALL_BUDGET_MS: u64 = 25_000;

/// `RUN_LEASE_MS` when unset: longer than any step may take (`timeoutMs`
/// at most 30 s), and renewed by every journal write.
pub const DEFAULT_LEASE_MS: u64 = 60_000;

/// `RUN_MAX_RECOVERIES` when unset.
pub const DEFAULT_MAX_RECOVERIES: u32 = 5;

/// Calls an invocation keeps back from its budget for the run's own
/// bookkeeping (take or start, journal reads, completion, continuation).
pub const BOOKKEEPING_CALLS: u32 = 5;

/// Lifetime of the token the worker makes for a workflow owner when no
/// user is present (queued and recovered runs), in seconds.
pub const OWNER_TOKEN_TTL_SECS: u64 = 300;

/// How often a live stream polls its run, in ms.
pub const STREAM_POLL_MS: u64 = 250;

/// Quiet time after which a live stream sends a keep-alive comment, in ms.
pub const STREAM_KEEPALIVE_MS: u64 = 15_000;

/// Longest one live stream stays open, in ms; the client then reconnects.
pub const STREAM_MAX_MS: u64 = 5 * 60 * 1000;

/// Lifetime of a stream ticket, in seconds.
pub const STREAM_TICKET_TTL_SECS: u64 = 60;

/// `?days=` of the stats routes when absent.
pub const DEFAULT_STATS_DAYS: u32 = 30;

/// Largest accepted `?days=` of the stats routes.
pub const MAX_STATS_DAYS: u32 = 365;

/// `EXECUTION_RETENTION_DAYS` when unset (0 keeps every run).
pub const DEFAULT_RETENTION_DAYS: u64 = 30;

/// Finished runs one scheduled tick prunes at most.
pub const PRUNE_BATCH: u32 = 500;

/// Event dispatches one pass claims at most.
pub const DISPATCH_BATCH: u32 = 50;

/// Runs one scheduled tick claims for recovery at most.
pub const RECOVERY_BATCH: u32 = 50;

/// Redirects `webhook_call` follows, each hop re-checked by the target guard.
pub const MAX_REDIRECTS: usize = 3;

/// Longest error message stored for a step; longer ones (an error answer's
/// body is quoted in full first) are cut, always after secrets were
/// redacted, so no secret survives in part.
pub const MAX_ERROR_CHARS: usize = 300;

/// Largest access token read; a longer one is refused unparsed.
pub const MAX_TOKEN_BYTES: usize = 8 * KIB;

/// Clock leeway for `exp` and `nbf`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// How long a fetched JWKS is used before it is fetched again, in ms.
pub const JWKS_TTL_MS: u64 = 10 * 60 * 1000;

/// Shortest interval between two JWKS fetches caused by unknown `kid`s, in ms.
pub const JWKS_MIN_REFETCH_MS: u64 = 30 * 1000;

/// How long a browser may cache a CORS preflight answer, in seconds.
pub const CORS_MAX_AGE_SECS: u32 = 600;

/// Shortest configured secret redacted by value (shorter strings would
/// redact ordinary words).
pub const MIN_REDACTED_SECRET_CHARS: usize = 8;

/// Deepest nesting of arrays and objects accepted in any member of a
/// request body and in any action output: well below the 128 levels
/// serde_json reads back, so what is stored (inside the run log's own
/// nesting) can always be read again.
pub const MAX_JSON_DEPTH: usize = 32;

/// Longest `delay` (`data.delay.ms`, or how far ahead `until` may be).
pub const MAX_DELAY_MS: u64 = 365 * 24 * 60 * 60 * 1000;

/// Longest delivery delay of a Cloudflare Queues message: a run waiting
/// longer is continued by the scheduled recovery instead.
pub const MAX_QUEUE_DELAY_SECS: u64 = 12 * 60 * 60;

/// Items of one loop in progress at once (`data.loop.concurrency`): at most.
pub const MAX_LOOP_CONCURRENCY: u32 = 6;

/// `data.loop.concurrency` when unset.
pub const DEFAULT_LOOP_CONCURRENCY: u32 = 1;

/// Items one loop may go over (`data.loop.maxItems` and its default); more
/// fail the loop node.
pub const MAX_LOOP_ITEMS: usize = 1000;

/// What a loop's `items` may render to.
pub const MAX_LOOP_ITEMS_BYTES: usize = MIB;

/// Loops inside loops: a loop body may hold a loop, that one no more.
pub const MAX_LOOP_DEPTH: usize = 2;

/// Variants of a `split`: at least.
pub const MIN_SPLIT_VARIANTS: usize = 2;

/// Variants of a `split`: at most.
pub const MAX_SPLIT_VARIANTS: usize = 10;

/// Weight of one split variant: at most (at least 1).
pub const MAX_SPLIT_WEIGHT: u64 = 10_000;

/// Bytes of `v` serialized as compact JSON (what `v.to_string().len()`
/// says), counted without building the text.
pub fn json_len(v: &serde_json::Value) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Writing to a counter cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut count, v);
    count.0
}

/// How deeply `v` nests: 0 for a scalar, 1 for `[]` or `{"a": 1}`.
pub fn json_depth(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(map) => 1 + map.values().map(json_depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A size as the README writes it.
fn size(bytes: usize) -> String {
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        b if b >= KIB && b % KIB == 0 => format!("{} KiB", b / KIB),
        b => format!("{b} bytes"),
    }
}

/// A duration as the README writes it.
fn ms(ms: u64) -> String {
    match ms {
        m if m >= 2 * 86_400_000 && m % 86_400_000 == 0 => format!("{} days", m / 86_400_000),
        m if m >= 3_600_000 && m % 3_600_000 == 0 => format!("{} h", m / 3_600_000),
        m if m >= 60_000 && m % 60_000 == 0 => format!("{} min", m / 60_000),
        m if m >= 1000 && m % 1000 == 0 => format!("{} s", m / 1000),
        m => format!("{m} ms"),
    }
}

/// The README's limits table: `(what, value)` per row, in order.
pub fn table() -> Vec<(&'static str, String)> {
    let l = Limits::default();
    vec![
        ("nodes per workflow", l.max_nodes.to_string()),
        ("edges per workflow", l.max_edges.to_string()),
        ("`nodes` + `edges` JSON", size(l.max_document_bytes)),
        ("workflow `name`", format!("{MAX_NAME_CHARS} characters")),
        ("node id", format!("{MAX_NODE_ID_CHARS} characters")),
        ("`send_email` subject", format!("{MAX_SUBJECT_CHARS} characters")),
        (
            "deal and notification title, contact name and company",
            format!("{MAX_TITLE_CHARS} characters"),
        ),
        ("request body (`413` beyond)", size(MAX_BODY_BYTES)),
        (
            "fields per form post (JSON members, pairs or parts)",
            MAX_FORM_FIELDS.to_string(),
        ),
        (
            "form field name",
            format!("{MAX_FORM_FIELD_NAME_CHARS} characters"),
        ),
        (
            "trigger `redirectUrl`",
            format!("{MAX_REDIRECT_URL_CHARS} characters"),
        ),
        ("listing page (`limit`): default", DEFAULT_PAGE.to_string()),
        ("listing page (`limit`): at most", MAX_PAGE.to_string()),
        ("listing `offset`: at most", MAX_OFFSET.to_string()),
        (
            "`Idempotency-Key`",
            format!("1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
        ),
        (
            "run time per invocation (nodes still running fail, the rest are skipped)",
            ms(l.max_run_ms),
        ),
        (
            "output per node (a larger output fails the node and is not stored)",
            size(l.max_output_bytes),
        ),
        (
            "rendered value of one input or condition side (the node fails beyond)",
            size(MAX_RENDERED_INPUT_BYTES),
        ),
        (
            "rendered inputs of one node together (the node fails beyond)",
            size(MAX_RENDERED_INPUTS_BYTES),
        ),
        (
            "stored `results` per run (largest outputs truncated beyond)",
            size(MAX_RESULTS_BYTES),
        ),
        (
            "actions in flight per run (a Worker's simultaneous open connections)",
            l.max_concurrency.to_string(),
        ),
        (
            "`retry.maxAttempts`: default (no retry)",
            l.default_max_attempts.to_string(),
        ),
        ("`retry.maxAttempts`: at most", l.max_attempts_cap.to_string()),
        ("`retry.backoffMs`: default", ms(l.default_backoff_ms)),
        (
            "`retry.backoffMs` and any single retry delay: at most",
            ms(l.backoff_cap_ms),
        ),
        ("`timeoutMs` per attempt: default", ms(l.default_timeout_ms)),
        ("`timeoutMs`: at most", ms(l.timeout_cap_ms)),
        (
            "answer read from any outbound call (the call fails beyond)",
            size(MAX_ANSWER_BYTES),
        ),
        (
            "`webhook_call` answer kept (`truncated: true` beyond)",
            size(WEBHOOK_BODY_KEPT_BYTES),
        ),
        (
            "outbound calls per invocation before a run yields (`RUN_SUBREQUEST_BUDGET` default)",
            DEFAULT_SUBREQUEST_BUDGET.to_string(),
        ),
        (
            "of which kept for the run's bookkeeping",
            BOOKKEEPING_CALLS.to_string(),
        ),
        (
            "wall time per invocation before a run yields (`RUN_WALL_BUDGET_MS` default)",
            ms(DEFAULT_WALL_BUDGET_MS),
        ),
        (
            "lease of a live invocation, renewed by each journal write (`RUN_LEASE_MS` default)",
            ms(DEFAULT_LEASE_MS),
        ),
        (
            "recoveries of one run before it fails (`RUN_MAX_RECOVERIES` default)",
            DEFAULT_MAX_RECOVERIES.to_string(),
        ),
        (
            "owner token for runs with no user present, valid for",
            ms(OWNER_TOKEN_TTL_SECS * 1000),
        ),
        ("live stream: polls its run every", ms(STREAM_POLL_MS)),
        ("live stream: keep-alive comment after", ms(STREAM_KEEPALIVE_MS)),
        (
            "live stream: open at most (or `RUN_SUBREQUEST_BUDGET` calls; then reconnect)",
            ms(STREAM_MAX_MS),
        ),
        ("stream ticket valid for", ms(STREAM_TICKET_TTL_SECS * 1000)),
        ("stats window (`?days=`): default", DEFAULT_STATS_DAYS.to_string()),
        ("stats window (`?days=`): at most", MAX_STATS_DAYS.to_string()),
        (
            "runs kept (`EXECUTION_RETENTION_DAYS` default, days; 0 keeps all)",
            DEFAULT_RETENTION_DAYS.to_string(),
        ),
        ("finished runs pruned per scheduled tick", PRUNE_BATCH.to_string()),
        ("event dispatches claimed per pass", DISPATCH_BATCH.to_string()),
        ("runs claimed per scheduled tick", RECOVERY_BATCH.to_string()),
        (
            "redirects followed by `webhook_call` (each hop re-checked)",
            MAX_REDIRECTS.to_string(),
        ),
        (
            "previous webhook secret still signs after a rotation for",
            ms(WEBHOOK_SECRET_GRACE_MS),
        ),
        ("`delay`: at most", ms(MAX_DELAY_MS)),
        (
            "`delay` continued by a queue message up to (longer: the scheduled recovery)",
            ms(MAX_QUEUE_DELAY_SECS * 1000),
        ),
        (
            "`loop` items in progress at once (`concurrency`): default / at most",
            format!("{DEFAULT_LOOP_CONCURRENCY} / {MAX_LOOP_CONCURRENCY}"),
        ),
        ("`loop` items (`maxItems`): at most", MAX_LOOP_ITEMS.to_string()),
        ("`loop` items, rendered", size(MAX_LOOP_ITEMS_BYTES)),
        ("loops nested in loops: depth at most", MAX_LOOP_DEPTH.to_string()),
        (
            "`split` variants",
            format!("{MIN_SPLIT_VARIANTS} to {MAX_SPLIT_VARIANTS}"),
        ),
        ("`split` variant weight", format!("1 to {MAX_SPLIT_WEIGHT}")),
        (
            "nesting of any body member or action output (arrays and objects)",
            format!("{MAX_JSON_DEPTH} levels"),
        ),
        (
            "a step's error message (cut after redaction)",
            format!("{MAX_ERROR_CHARS} characters"),
        ),
        ("access token (refused unparsed beyond)", size(MAX_TOKEN_BYTES)),
        ("`exp`/`nbf` leeway", ms(LEEWAY_SECS * 1000)),
        ("JWKS cached for", ms(JWKS_TTL_MS)),
        (
            "JWKS refetch on an unknown `kid`: at most every",
            ms(JWKS_MIN_REFETCH_MS),
        ),
        (
            "CORS preflight cached for",
            ms(u64::from(CORS_MAX_AGE_SECS) * 1000),
        ),
        (
            "shortest secret redacted by value",
            format!("{MIN_REDACTED_SECRET_CHARS} characters"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations_read_as_in_the_readme() {
        assert_eq!(size(MIB), "1 MiB");
        assert_eq!(size(512 * KIB), "512 KiB");
        assert_eq!(size(1000), "1000 bytes");
        assert_eq!(ms(500), "500 ms");
        assert_eq!(ms(30_000), "30 s");
        assert_eq!(ms(600_000), "10 min");
    }

    #[test]
    fn depth_counts_containers() {
        use serde_json::json;
        assert_eq!(json_depth(&json!(1)), 0);
        for v in [
            json!(null),
            json!({"a": [1, "é\"\n", {"b": 2.5}]}),
            json!("x".repeat(300)),
        ] {
            assert_eq!(json_len(&v), v.to_string().len());
        }
        assert_eq!(json_depth(&json!({"a": [1, {"b": []}]})), 4);
    }

    #[test]
    fn every_constant_has_a_row() {
        let source = include_str!("limits.rs");
        let table_fn = &source[source.find("pub fn table()").unwrap()..source.find("#[cfg(test)]").unwrap()];
        for line in source.lines() {
            let Some(rest) = line.strip_prefix("pub const ") else {
                continue;
            };
            let name = rest.split(':').next().unwrap();
            assert!(table_fn.contains(name), "{name} is not in limits::table()");
        }
        let fields = source[source.find("pub struct Limits").unwrap()..source.find("impl Default").unwrap()]
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("pub ")?
                    .split(':')
                    .next()
                    .map(str::to_string)
            })
            .filter(|f| !f.starts_with("struct"))
            .collect::<Vec<_>>();
        assert_eq!(fields.len(), 12);
        for field in fields {
            assert!(
                table_fn.contains(&format!("l.{field}")),
                "Limits::{field} is not in limits::table()"
            );
        }
    }
}
