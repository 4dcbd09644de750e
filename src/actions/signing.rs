//! Standard Webhooks signatures for `webhook_call` requests.
//!
//! Every request carries three headers a receiver can verify with any
//! Standard Webhooks library (<https://www.standardwebhooks.com>):
//!
//! | header | value |
//! |---|---|
//! | `webhook-id` | `msg_<execution id>_<step>` where the step is the node id, plus `:<item>` inside a loop (other bytes than letters, digits, `-`, `.` as `_xx`): the same on every retry and resume of a step, and different for every step, so receivers can de-duplicate |
//! | `webhook-timestamp` | Unix seconds when the request was sent |
//! | `webhook-signature` | `v1,<base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))>` |
//!
//! The key is the workflow owner's own secret (`webhook_secrets`, generated
//! by the database, `whsec_<base64 of 32 bytes>`; the decoded bytes are the
//! key), so one tenant can never produce a signature that verifies for
//! another tenant's receiver. For `WEBHOOK_SECRET_GRACE_MS` after a rotation
//! the header carries a second signature made with the previous secret, as
//! Standard Webhooks allows (space-separated), so receivers can switch over.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::engine::time::ms_from_rfc3339;
use crate::limits::WEBHOOK_SECRET_GRACE_MS;

/// Header names of the scheme; user headers may not set them.
pub const ID: &str = "webhook-id";
pub const TIMESTAMP: &str = "webhook-timestamp";
pub const SIGNATURE: &str = "webhook-signature";

/// The HMAC key of a `whsec_<base64>` secret (any other value is used as
/// raw UTF-8 bytes, as Standard Webhooks libraries do).
pub fn decode_key(secret: &str) -> Result<Vec<u8>, String> {
    match secret.strip_prefix("whsec_") {
        Some(encoded) => {
            let key = STANDARD.decode(encoded).map_err(|_| {
                "the signing secret starts with whsec_ but the rest is not base64".to_string()
            })?;
            if key.is_empty() {
                return Err("the signing secret has an empty key after whsec_".into());
            }
            Ok(key)
        }
        None => Ok(secret.as_bytes().to_vec()),
    }
}

/// The owner's signing secrets as used for one run: the current one, and
/// the previous one while its grace period lasts. The secret strings are
/// kept for redaction.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKeys {
    pub secrets: Vec<String>,
    keys: Vec<Vec<u8>>,
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKeys({} keys, redacted)", self.keys.len())
    }
}

impl SigningKeys {
    /// From a `webhook_secrets` row (`secret`, `previous_secret`,
    /// `rotated_at`) at `now_ms`.
    pub fn from_row(row: &serde_json::Value, now_ms: u64) -> Result<Self, String> {
        let current = row["secret"]
            .as_str()
            .ok_or("the owner's webhook secret is missing from the database answer")?;
        let mut secrets = vec![current.to_string()];
        if let (Some(previous), Some(rotated)) = (row["previous_secret"].as_str(), row["rotated_at"].as_str())
        {
            let rotated_ms = ms_from_rfc3339(rotated).ok_or("unreadable rotated_at")?;
            if now_ms < rotated_ms + WEBHOOK_SECRET_GRACE_MS {
                secrets.push(previous.to_string());
            }
        }
        let keys = secrets.iter().map(|s| decode_key(s)).collect::<Result<_, _>>()?;
        Ok(SigningKeys { secrets, keys })
    }

    /// Keys from secret strings, current first.
    pub fn new(secrets: &[&str]) -> Result<Self, String> {
        let keys = secrets.iter().map(|s| decode_key(s)).collect::<Result<_, _>>()?;
        Ok(SigningKeys {
            secrets: secrets.iter().map(|s| s.to_string()).collect(),
            keys,
        })
    }

    /// The `webhook-signature` value: one `v1,` signature per key.
    pub fn signature(&self, id: &str, timestamp_s: u64, body: &[u8]) -> String {
        self.keys
            .iter()
            .map(|k| sign(k, id, timestamp_s, body))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The `webhook-signature` header value for one message.
pub fn sign(key: &[u8], id: &str, timestamp_s: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// A message id safe in a header: `msg_<execution>_<node>`, where every
/// byte but ASCII letters, digits, `-` and `.` (the `_` included) is written
/// `_xx` in hex. The encoding is one-to-one, and execution ids (UUIDs) hold
/// no `_`, so two nodes of a run never share an id (`a b` is `a_20b`, `a_b`
/// is `a_5fb`).
pub fn message_id(execution_id: &str, node_id: &str) -> String {
    let clean = |s: &str| -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("_{b:02x}"));
            }
        }
        out
    };
    format!("msg_{}_{}", clean(execution_id), clean(node_id))
}

/// The three headers for a request body.
pub fn headers(keys: &SigningKeys, id: &str, timestamp_s: u64, body: &[u8]) -> Vec<(String, String)> {
    vec![
        (ID.to_string(), id.to_string()),
        (TIMESTAMP.to_string(), timestamp_s.to_string()),
        (SIGNATURE.to_string(), keys.signature(id, timestamp_s, body)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_standard_webhooks_published_vector() {
        // The test vector used across the Standard Webhooks reference libraries.
        let key = decode_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn the_previous_secret_signs_too_during_its_grace_period_only() {
        let row = serde_json::json!({"secret": "whsec_bmV3LXNlY3JldC1ieXRlcw==", "previous_secret": "whsec_b2xkLXNlY3JldC1ieXRlcw==",
            "rotated_at": "2026-12-01T10:00:00.123456+00:00"});
        let rotated = ms_from_rfc3339("2026-12-01T10:00:00.123456+00:00").unwrap();
        let during = SigningKeys::from_row(&row, rotated + WEBHOOK_SECRET_GRACE_MS - 1).unwrap();
        let sig = during.signature("msg_1", 5, b"{}");
        let new_only = SigningKeys::new(&["whsec_bmV3LXNlY3JldC1ieXRlcw=="])
            .unwrap()
            .signature("msg_1", 5, b"{}");
        let old_only = SigningKeys::new(&["whsec_b2xkLXNlY3JldC1ieXRlcw=="])
            .unwrap()
            .signature("msg_1", 5, b"{}");
        assert_eq!(sig, format!("{new_only} {old_only}"));
        let after = SigningKeys::from_row(&row, rotated + WEBHOOK_SECRET_GRACE_MS).unwrap();
        assert_eq!(after.signature("msg_1", 5, b"{}"), new_only);
        assert!(SigningKeys::from_row(&serde_json::json!({}), 0).is_err());
        assert!(!format!("{during:?}").contains("whsec"));
    }

    #[test]
    fn raw_secrets_and_bad_whsec_values() {
        assert_eq!(decode_key("plain-secret").unwrap(), b"plain-secret");
        assert!(decode_key("whsec_not base64!").is_err());
        assert!(decode_key("whsec_").is_err());
        assert_eq!(message_id("e-1", "action 1\r\n"), "msg_e-1_action_201_0d_0a");
        assert_ne!(message_id("e-1", "a b"), message_id("e-1", "a_b"));
        assert_eq!(message_id("e-1", "action-1.x"), "msg_e-1_action-1.x");
    }
}
