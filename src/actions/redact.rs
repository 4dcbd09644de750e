//! Removes secrets from anything an action returns, before it is stored in
//! a node result or shown in an error.
//!
//! Two rules: object members whose name says they hold a credential
//! (`authorization`, `cookie`, `apikey`, `x-api-key`, or any name with a
//! word `token`, `secret`, `key`, `password`) get the value `[redacted]`,
//! except `step_key`, the rows' public step identifier (see `store`);
//! and every known secret string (the owner's token, the anon and service
//! keys, `EMAIL_API_KEY`, the signing secret) and every `Bearer <value>` is
//! replaced inside all strings.

use serde_json::{Map, Value};

/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";

/// Secrets shorter than this are not searched for in text: replacing a
/// two-letter "secret" everywhere would garble outputs and protect nothing.
use crate::limits::{MAX_ERROR_CHARS, MIN_REDACTED_SECRET_CHARS};

/// The known secrets of one run.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Remembers `secrets` (empty and very short values are ignored).
    pub fn new<'a>(secrets: impl IntoIterator<Item = &'a str>) -> Self {
        let mut secrets: Vec<String> = secrets
            .into_iter()
            .filter(|s| s.len() >= MIN_REDACTED_SECRET_CHARS)
            .map(str::to_string)
            .collect();
        // Longest first, so a secret containing another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Redactor { secrets }
    }

    /// Remembers more secrets (the same rules as [`Redactor::new`]).
    pub fn add<'a>(&mut self, secrets: impl IntoIterator<Item = &'a str>) {
        let known = std::mem::take(&mut self.secrets);
        let more: Vec<String> = secrets.into_iter().map(str::to_string).collect();
        *self = Redactor::new(known.iter().chain(&more).map(String::as_str));
    }

    /// Redacts secrets and bearer credentials inside text.
    pub fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        redact_bearer(&out)
    }

    /// An error message as stored: redacted, then cut to
    /// `limits::MAX_ERROR_CHARS` (the order matters: a cut first could
    /// leave part of a secret).
    pub fn error_text(&self, s: &str) -> String {
        let redacted = self.text(s);
        match redacted.char_indices().nth(MAX_ERROR_CHARS) {
            Some((at, _)) => format!("{}…", &redacted[..at]),
            None => redacted,
        }
    }

    /// Redacts a JSON value: credential-named members and secrets in strings.
    pub fn value(&self, v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|i| self.value(i)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| {
                        let v = if is_sensitive_name(k) && !v.is_null() {
                            Value::String(REDACTED.into())
                        } else {
                            self.value(v)
                        };
                        (self.text(k), v)
                    })
                    .collect::<Map<_, _>>(),
            ),
            other => other.clone(),
        }
    }

    /// Whether `s` contains any known secret.
    pub fn leaks(&self, s: &str) -> bool {
        self.secrets.iter().any(|secret| s.contains(secret.as_str()))
    }
}

/// Header or member names that carry credentials.
pub fn is_sensitive_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    // `<execution id>:<node id>` on the rows the embedded actions write:
    // an identifier the output should show, not a credential. A secret
    // stored under that name would still be caught by its value.
    if lower == "step_key" {
        return false;
    }
    if matches!(
        lower.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie" | "apikey" | "x-api-key"
    ) {
        return true;
    }
    words(name).iter().any(|w| {
        matches!(
            w.as_str(),
            "token" | "secret" | "key" | "apikey" | "password" | "passwd" | "authorization" | "cookie"
        )
    })
}

/// Splits `x-api-key`, `access_token`, `apiKey`, `clientSecret` into lower-case words.
fn words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_ascii_alphanumeric() {
            prev_lower = false;
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// `Bearer <credential>` (any case) becomes `Bearer [redacted]`.
fn redact_bearer(s: &str) -> String {
    const WORD: &str = "bearer ";
    let lower = s.to_ascii_lowercase();
    if !lower.contains(WORD) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find(WORD) {
        let start = search + found + WORD.len();
        let end = s[start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | ';'))
            .map_or(s.len(), |i| start + i);
        if end > start && &s[start..end] != REDACTED {
            out.push_str(&s[rest..start]);
            out.push_str(REDACTED);
            rest = end;
        }
        search = end.max(start);
    }
    out.push_str(&s[rest..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_common_spellings() {
        assert_eq!(words("x-api-key"), ["x", "api", "key"]);
        assert_eq!(words("apiKey"), ["api", "key"]);
        assert_eq!(words("ACCESS_TOKEN"), ["access", "token"]);
        assert!(!is_sensitive_name("monkey"));
        assert!(!is_sensitive_name("contact_id"));
        assert!(!is_sensitive_name("step_key"));
        assert!(is_sensitive_name("step_key_secret"));
    }

    #[test]
    fn bearer_values_are_cut_at_delimiters() {
        assert_eq!(
            redact_bearer("auth: Bearer abc.def, next"),
            "auth: Bearer [redacted], next"
        );
        assert_eq!(redact_bearer("BEARER x"), "BEARER [redacted]");
        assert_eq!(redact_bearer("bearer "), "bearer ");
    }
}
