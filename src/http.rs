//! Plain-data outbound HTTP: the request and answer types every outbound
//! client builds and parses, and the one trait the platform implements to
//! send them. Redirects are never followed by the sender: callers that
//! allow them re-check each hop themselves.

/// Largest answer body read from any outbound call; a larger answer is an
/// error (the rest of the stream is not read).
pub const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;

/// An outbound request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

/// An answer as received (status, headers with lower-case names, body).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends requests. Worker futures are not `Send`: no bounds.
#[allow(async_fn_in_trait)]
pub trait Outbound {
    /// Sends `req` without following redirects; `Err` when no answer came
    /// (connection refused, DNS, TLS...).
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, String>;
}
