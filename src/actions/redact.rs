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
        if self.is_clean(s) {
            return s.to_string();
        }
        let mut out = s.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        redact_bearer(&out)
    }

    /// Whether [`Redactor::text`] would leave `s` as it is: no known secret
    /// and no `bearer ` (any case) in it. Allocates nothing, so the common
    /// case (an output with nothing to hide) costs no copies.
    fn is_clean(&self, s: &str) -> bool {
        !self.leaks(s) && !contains_ignore_ascii_case(s.as_bytes(), b"bearer ")
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

    /// [`Redactor::value`] of a value the caller owns: the same result,
    /// changing only what needs redaction instead of copying everything.
    pub fn value_owned(&self, mut v: Value) -> Value {
        self.scrub(&mut v);
        v
    }

    fn scrub(&self, v: &mut Value) {
        match v {
            Value::String(s) if !self.is_clean(s) => *s = self.text(s),
            Value::Array(items) => items.iter_mut().for_each(|i| self.scrub(i)),
            Value::Object(map) => {
                if map.keys().all(|k| self.is_clean(k)) {
                    for (k, item) in map.iter_mut() {
                        if is_sensitive_name(k) && !item.is_null() {
                            *item = Value::String(REDACTED.into());
                        } else {
                            self.scrub(item);
                        }
                    }
                } else {
                    // A member name to redact (rare): rebuilt as `value` does.
                    *v = self.value(v);
                }
            }
            _ => {}
        }
    }

    /// Whether `s` contains any known secret.
    pub fn leaks(&self, s: &str) -> bool {
        self.secrets.iter().any(|secret| s.contains(secret.as_str()))
    }
}

/// Header or member names that carry credentials.
pub fn is_sensitive_name(name: &str) -> bool {
    // `<execution id>:<node id>` on the rows the embedded actions write:
    // an identifier the output should show, not a credential. A secret
    // stored under that name would still be caught by its value.
    if name.eq_ignore_ascii_case("step_key") {
        return false;
    }
    const WHOLE: &[&str] = &[
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "apikey",
        "x-api-key",
    ];
    const WORDS: &[&str] = &[
        "token",
        "secret",
        "key",
        "apikey",
        "password",
        "passwd",
        "authorization",
        "cookie",
    ];
    WHOLE.iter().any(|w| name.eq_ignore_ascii_case(w))
        || words(name).any(|word| WORDS.iter().any(|w| word.eq_ignore_ascii_case(w)))
}

/// Splits `x-api-key`, `access_token`, `apiKey`, `clientSecret` into words
/// (compare them ignoring ASCII case): runs of ASCII letters and digits,
/// also split where a capital follows a lower-case letter or a digit.
fn words(name: &str) -> impl Iterator<Item = &str> {
    let bytes = name.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        while at < bytes.len() && !bytes[at].is_ascii_alphanumeric() {
            at += 1;
        }
        if at == bytes.len() {
            return None;
        }
        let start = at;
        at += 1;
        while at < bytes.len() && bytes[at].is_ascii_alphanumeric() {
            let prev = bytes[at - 1];
            if bytes[at].is_ascii_uppercase() && (prev.is_ascii_lowercase() || prev.is_ascii_digit()) {
                break;
            }
            at += 1;
        }
        // Word boundaries are ASCII bytes, so they are char boundaries.
        Some(&name[start..at])
    })
}

fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len()
        && haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
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
        let split = |name| words(name).map(str::to_ascii_lowercase).collect::<Vec<_>>();
        assert_eq!(split("x-api-key"), ["x", "api", "key"]);
        assert_eq!(split("apiKey"), ["api", "key"]);
        assert_eq!(split("ACCESS_TOKEN"), ["access", "token"]);
        assert_eq!(split("client2Secret"), ["client2", "secret"]);
        assert_eq!(split("été_token"), ["t", "token"]);
        assert!(!is_sensitive_name("monkey"));
        assert!(!is_sensitive_name("contact_id"));
        assert!(!is_sensitive_name("step_key"));
        assert!(is_sensitive_name("step_key_secret"));
    }

    #[test]
    fn an_owned_value_is_redacted_like_a_borrowed_one() {
        let r = Redactor::new(["s3cret-value-123", "another-secret-456"]);
        let cases = [
            serde_json::json!({"status": 200, "body": {"ok": true, "list": [1, "two", null]}}),
            serde_json::json!({"apiKey": "k", "nested": {"Authorization": "Bearer abc", "password": null}}),
            serde_json::json!(["has s3cret-value-123 inside", {"note": "BEARER xyz; rest"}]),
            serde_json::json!({"s3cret-value-123": 1, "another-secret-456": 2, "plain": "another-secret-456"}),
            serde_json::json!({"step_key": "e:n", "x-api-key": "v", "monkey": "banana"}),
            serde_json::json!("bearer "),
        ];
        for case in cases {
            assert_eq!(r.value_owned(case.clone()), r.value(&case), "{case}");
        }
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
