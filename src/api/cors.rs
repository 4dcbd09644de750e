//! CORS for browser frontends on other origins: only origins in
//! `ALLOWED_ORIGINS` get a grant; the others get no CORS headers at all.

/// Headers a browser may send on API calls.
pub const ALLOWED_HEADERS: &str = "Authorization, Content-Type, apikey, Idempotency-Key, X-Client-Info";
pub const ALLOWED_METHODS: &str = "GET, POST, PUT, DELETE, OPTIONS";
/// How long a browser may cache a preflight answer, in seconds.
use crate::limits::CORS_MAX_AGE_SECS;

/// The headers to add to any answer for a request from `origin`.
pub fn grant(origin: Option<&str>, allowed: &[String]) -> Vec<(&'static str, String)> {
    let mut headers = vec![("Vary", "Origin".to_string())];
    if let Some(origin) = origin {
        if allowed
            .iter()
            .any(|a| a == "*" || a == origin.trim_end_matches('/'))
        {
            headers.push(("Access-Control-Allow-Origin", origin.to_string()));
            headers.push((
                "Access-Control-Expose-Headers",
                "Content-Range, Idempotent-Replayed".to_string(),
            ));
        }
    }
    headers
}

/// The extra headers of a preflight answer, when the origin is allowed.
pub fn preflight(origin: Option<&str>, allowed: &[String]) -> Option<Vec<(&'static str, String)>> {
    let mut headers = grant(origin, allowed);
    if headers.len() == 1 {
        return None;
    }
    headers.push(("Access-Control-Allow-Methods", ALLOWED_METHODS.to_string()));
    headers.push(("Access-Control-Allow-Headers", ALLOWED_HEADERS.to_string()));
    headers.push(("Access-Control-Max-Age", CORS_MAX_AGE_SECS.to_string()));
    Some(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> Vec<String> {
        vec!["http://localhost:3000".into()]
    }

    #[test]
    fn allowed_origin_is_echoed() {
        let h = grant(Some("http://localhost:3000"), &allowed());
        assert!(h.contains(&("Access-Control-Allow-Origin", "http://localhost:3000".into())));
        let p = preflight(Some("http://localhost:3000"), &allowed()).unwrap();
        assert!(p
            .iter()
            .any(|(k, v)| *k == "Access-Control-Allow-Headers" && v.contains("Authorization")));
        assert!(p
            .iter()
            .any(|(k, v)| *k == "Access-Control-Allow-Headers" && v.contains("Idempotency-Key")));
    }

    #[test]
    fn other_origins_get_no_grant() {
        let h = grant(Some("http://evil.test"), &allowed());
        assert!(!h.iter().any(|(k, _)| k.starts_with("Access-Control")));
        assert!(preflight(Some("http://evil.test"), &allowed()).is_none());
        assert!(preflight(None, &allowed()).is_none());
    }
}
