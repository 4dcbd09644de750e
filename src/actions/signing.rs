//! Standard Webhooks signatures for `webhook_call` requests.
//!
//! Every request carries three headers a receiver can verify with any
//! Standard Webhooks library (<https://www.standardwebhooks.com>):
//!
//! | header | value |
//! |---|---|
//! | `webhook-id` | `msg_<execution id>_<node id>` (other bytes than letters, digits, `-`, `.` as `_xx`): the same on every retry of a node, and different for every node, so receivers can de-duplicate |
//! | `webhook-timestamp` | Unix seconds when the request was sent |
//! | `webhook-signature` | `v1,<base64(HMAC-SHA256(key, "<id>.<timestamp>.<body>"))>` |
//!
//! The key comes from `WEBHOOK_SIGNING_SECRET`: in the Standard Webhooks form
//! `whsec_<base64 bytes>` the decoded bytes are the key; any other value is
//! used as raw UTF-8 bytes. Receivers use the same secret string.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Header names of the scheme; user headers may not set them.
pub const ID: &str = "webhook-id";
pub const TIMESTAMP: &str = "webhook-timestamp";
pub const SIGNATURE: &str = "webhook-signature";

/// The HMAC key of a configured secret (see the module note).
pub fn decode_key(secret: &str) -> Result<Vec<u8>, String> {
    match secret.strip_prefix("whsec_") {
        Some(encoded) => {
            let key = STANDARD.decode(encoded).map_err(|_| {
                "WEBHOOK_SIGNING_SECRET starts with whsec_ but the rest is not base64".to_string()
            })?;
            if key.is_empty() {
                return Err("WEBHOOK_SIGNING_SECRET has an empty key after whsec_".into());
            }
            Ok(key)
        }
        None => Ok(secret.as_bytes().to_vec()),
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
pub fn headers(key: &[u8], id: &str, timestamp_s: u64, body: &[u8]) -> Vec<(String, String)> {
    vec![
        (ID.to_string(), id.to_string()),
        (TIMESTAMP.to_string(), timestamp_s.to_string()),
        (SIGNATURE.to_string(), sign(key, id, timestamp_s, body)),
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
    fn raw_secrets_and_bad_whsec_values() {
        assert_eq!(decode_key("plain-secret").unwrap(), b"plain-secret");
        assert!(decode_key("whsec_not base64!").is_err());
        assert!(decode_key("whsec_").is_err());
        assert_eq!(message_id("e-1", "action 1\r\n"), "msg_e-1_action_201_0d_0a");
        assert_ne!(message_id("e-1", "a b"), message_id("e-1", "a_b"));
        assert_eq!(message_id("e-1", "action-1.x"), "msg_e-1_action-1.x");
    }
}
