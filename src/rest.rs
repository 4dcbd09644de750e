//! The PostgREST client: requests are built with the `postgrest` crate and
//! captured as plain data (`HttpRequest`), sent through the `Outbound`
//! port, and their answers parsed and mapped to API errors here.

use postgrest::Postgrest;
use serde_json::Value;

use crate::error::ApiError;
use crate::http::{HttpRequest, HttpResponse, Outbound, TransportError};

/// Builds requests as one caller: the caller's token (or the service key)
/// plus the project's `apikey`.
pub struct RestClient {
    client: Postgrest,
}

impl RestClient {
    /// `base` is `$SUPABASE_URL/rest/v1`; `token` the bearer to forward.
    pub fn new(base: &str, anon_key: &str, token: &str) -> Self {
        let client = Postgrest::new(base)
            .insert_header("apikey", anon_key)
            .insert_header("Authorization", format!("Bearer {token}"));
        RestClient { client }
    }

    /// The project's PostgREST (from `config`) as the holder of `token`.
    pub fn for_token(config: &crate::config::Config, token: &str) -> Self {
        RestClient::new(&config.rest_url(), config.anon_key.expose(), token)
    }

    pub fn from(&self, table: &str) -> postgrest::Builder {
        self.client.from(table)
    }

    /// The project's PostgREST as the service role, which only finds and
    /// claims work (never reads or writes a user's rows); `purpose` names
    /// the feature in the error when the key is not configured.
    pub fn as_service(config: &crate::config::Config, purpose: &str) -> Result<Self, ApiError> {
        let key = config.service_role_key.as_ref().ok_or_else(|| {
            ApiError::Misconfigured(format!("SUPABASE_SERVICE_ROLE_KEY is needed for {purpose}"))
        })?;
        Ok(RestClient::for_token(config, key.expose()))
    }

    /// The same client, sending one more header on every request.
    pub fn with_header(self, name: &'static str, value: &str) -> Self {
        RestClient {
            client: self.client.insert_header(name, value),
        }
    }

    /// A call of a database function (`POST /rest/v1/rpc/<function>`).
    pub fn rpc(&self, function: &str, params: &Value) -> postgrest::Builder {
        self.client.rpc(function, params.to_string())
    }
}

/// Captures a built request as data.
pub fn capture(builder: postgrest::Builder) -> Result<HttpRequest, TransportError> {
    let request = builder
        .build()
        .build()
        .map_err(|e| TransportError::Unbuildable(format!("PostgREST request: {e}")))?;
    let headers = request
        .headers()
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_string(), v.to_string())))
        .collect();
    Ok(HttpRequest {
        method: request.method().as_str().to_string(),
        url: request.url().to_string(),
        headers,
        body: request.body().and_then(|b| b.as_bytes()).map(|b| b.to_vec()),
    })
}

/// Builds and sends one request.
pub async fn send<O: Outbound>(out: &O, builder: postgrest::Builder) -> Result<HttpResponse, TransportError> {
    out.send(capture(builder)?).await
}

/// The rows of a successful answer, or the mapped error.
pub fn rows(resp: &HttpResponse) -> Result<Vec<Value>, ApiError> {
    // 416 (PGRST103): the requested page starts past the last row. For a
    // listing that is simply an empty page.
    if resp.status == 416 {
        return Ok(vec![]);
    }
    if !(200..300).contains(&resp.status) {
        return Err(map_error(resp));
    }
    if resp.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(vec![]);
    }
    match serde_json::from_slice::<Value>(&resp.body) {
        Ok(Value::Array(rows)) => Ok(rows),
        Ok(obj @ Value::Object(_)) => Ok(vec![obj]),
        Ok(other) => Err(ApiError::upstream(format!("expected rows, got {other}"))),
        Err(e) => Err(ApiError::upstream(format!("unparsable PostgREST answer ({e})"))),
    }
}

/// The single row of an answer; `None` when RLS or a filter left none.
pub fn one_row(resp: &HttpResponse) -> Result<Option<Value>, ApiError> {
    Ok(rows(resp)?.into_iter().next())
}

/// The total from `Content-Range: 0-9/42` (with `Prefer: count=exact`).
pub fn total_count(resp: &HttpResponse) -> Option<u64> {
    resp.header("content-range")?.rsplit_once('/')?.1.parse().ok()
}

/// Maps a PostgREST error answer (`{code,message,details,hint}`) to the
/// contract's errors. Messages that could leak internals are not passed on.
pub fn map_error(resp: &HttpResponse) -> ApiError {
    let parsed: Option<Value> = serde_json::from_slice(&resp.body).ok();
    let code = parsed
        .as_ref()
        .and_then(|v| v.get("code"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let message = parsed
        .as_ref()
        .and_then(|v| v.get("message"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let cause = format!("PostgREST {} {code}: {message}", resp.status);
    let rejected = |what: &str| ApiError::InvalidRequest {
        message: format!("rejected by the database: {what}"),
        field: None,
    };
    match (resp.status, code) {
        // No row, or several where one was asked for: RLS hides rows as absent.
        (_, "PGRST116") | (406, _) => ApiError::NotFound("not found".into()),
        (409, "23503") => ApiError::Conflict("a referenced record does not exist".into()),
        (409, _) => ApiError::Conflict("conflicts with an existing record".into()),
        // Only a JWT error is the caller's; any other 401 (a wrong apikey) is
        // a misconfigured worker.
        (401, "PGRST301" | "PGRST302" | "PGRST303") => ApiError::unauthorized(cause),
        (403, _) => ApiError::Forbidden("not allowed".into()),
        (400, "23514") => rejected("a value is outside what is allowed"),
        (400, "23502") => rejected("a required value is missing"),
        (400, "22P02") => rejected("a value has the wrong format"),
        (400, "22001") => rejected("a value is too long"),
        (413, _) => ApiError::PayloadTooLarge {
            limit: crate::limits::MAX_BODY_BYTES,
        },
        // Unknown table or function (migrations not applied), a bad apikey,
        // a 5xx, or anything else: the worker or the database is at fault.
        _ => ApiError::upstream(cause),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn client() -> RestClient {
        RestClient::new("http://db.test/rest/v1", "anon-key", "user-token")
    }

    fn header<'a>(r: &'a HttpRequest, name: &str) -> Option<&'a str> {
        r.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn every_request_carries_the_token_and_apikey() {
        let r = capture(client().from("workflows").select("*").eq("id", "x")).unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(r.url, "http://db.test/rest/v1/workflows?select=*&id=eq.x");
        assert_eq!(header(&r, "apikey"), Some("anon-key"));
        assert_eq!(header(&r, "authorization"), Some("Bearer user-token"));
    }

    #[test]
    fn pagination_uses_range_headers_and_insert_asks_for_representation() {
        let r = capture(
            client()
                .from("workflows")
                .select("*")
                .order("updated_at.desc")
                .range(50, 99),
        )
        .unwrap();
        assert_eq!(header(&r, "range"), Some("50-99"));
        assert!(r.url.contains("order=updated_at.desc"));
        let r = capture(
            client()
                .from("workflows")
                .insert(json!({"name": "a"}).to_string()),
        )
        .unwrap();
        assert_eq!(r.method, "POST");
        assert_eq!(header(&r, "prefer"), Some("return=representation"));
        assert_eq!(r.body.as_deref(), Some(br#"{"name":"a"}"#.as_slice()));
    }

    #[test]
    fn a_counted_page_keeps_its_range() {
        let r = capture(client().from("t").select("*").exact_count().range(10, 19)).unwrap();
        assert_eq!(header(&r, "range"), Some("10-19"));
        assert_eq!(header(&r, "prefer"), Some("count=exact"));
    }

    #[test]
    fn answers_are_parsed_and_errors_mapped() {
        let ok = HttpResponse {
            status: 200,
            body: br#"[{"id":1}]"#.to_vec(),
            headers: vec![("content-range".into(), "0-0/7".into())],
        };
        assert_eq!(rows(&ok).unwrap(), vec![json!({"id": 1})]);
        assert_eq!(total_count(&ok), Some(7));
        let resp = |status, body: &str| HttpResponse {
            status,
            body: body.as_bytes().to_vec(),
            headers: vec![],
        };
        assert_eq!(
            map_error(&resp(409, r#"{"code":"23505","message":"dup"}"#)).status(),
            409
        );
        assert_eq!(map_error(&resp(406, r#"{"code":"PGRST116"}"#)).status(), 404);
        assert_eq!(
            map_error(&resp(404, r#"{"code":"PGRST205"}"#)).code(),
            "upstream_error"
        );
        assert_eq!(map_error(&resp(401, r#"{"code":"PGRST303"}"#)).status(), 401);
        assert_eq!(
            map_error(&resp(401, r#"{"message":"Invalid API key"}"#)).code(),
            "upstream_error"
        );
        let check = map_error(&resp(
            400,
            r#"{"code":"23514","message":"violates check constraint \"x_check\""}"#,
        ));
        assert!(!check.body().to_string().contains("x_check"));
        assert_eq!(map_error(&resp(403, r#"{"code":"42501"}"#)).status(), 403);
        assert_eq!(
            map_error(&resp(400, r#"{"code":"23514","message":"check"}"#)).status(),
            400
        );
        assert_eq!(map_error(&resp(500, "oops")).code(), "upstream_error");
        assert_eq!(rows(&resp(200, "<html>")).unwrap_err().code(), "upstream_error");
        assert_eq!(rows(&resp(201, "")).unwrap(), Vec::<Value>::new());
        assert_eq!(
            rows(&resp(416, r#"{"code":"PGRST103"}"#)).unwrap(),
            Vec::<Value>::new()
        );
    }
}
