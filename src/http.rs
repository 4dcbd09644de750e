//! Plain-data outbound HTTP: the one request and answer type that every
//! outbound client (PostgREST, configured services, webhooks, the JWKS
//! fetch) builds and parses, the one trait the platform implements to send
//! them, and the one error type for a call that got no usable answer.
//! Redirects are never followed by the sender: callers that allow them
//! re-check each hop themselves.

use std::fmt;

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

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a call produced no answer to read. Whether it is worth another
/// attempt is decided here, once, by [`TransportError::is_retryable`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// Nothing came back: connection refused or reset, DNS, TLS, or the
    /// call was abandoned. The target may or may not have acted on it.
    NoAnswer(String),
    /// An answer came but its body was larger than the cap; the rest was
    /// not read. The target did act, and would again.
    TooLarge { limit: usize },
    /// The request could not be built (bad header value, bad URL).
    Unbuildable(String),
    /// The target guard refused the URL; nothing was sent.
    Refused(String),
}

impl TransportError {
    /// Only a missing answer can go differently on another attempt; an
    /// oversized answer, an unbuildable request or a refused target would
    /// fail the same way again.
    pub fn is_retryable(&self) -> bool {
        matches!(self, TransportError::NoAnswer(_))
    }
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportError::NoAnswer(cause) => write!(f, "no answer ({cause})"),
            TransportError::TooLarge { limit } => write!(f, "answer larger than {limit} bytes"),
            TransportError::Unbuildable(cause) => write!(f, "request could not be built ({cause})"),
            TransportError::Refused(why) => f.write_str(why),
        }
    }
}

/// Sends requests. Worker futures are not `Send`: no bounds.
#[allow(async_fn_in_trait)]
pub trait Outbound {
    /// Sends `req` without following redirects, reading at most
    /// `limits::MAX_ANSWER_BYTES` of the answer.
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_missing_answer_is_retried() {
        assert!(TransportError::NoAnswer("reset".into()).is_retryable());
        assert!(!TransportError::TooLarge { limit: 8 }.is_retryable());
        assert!(!TransportError::Unbuildable("header".into()).is_retryable());
        assert!(!TransportError::Refused("private address".into()).is_retryable());
    }
}
