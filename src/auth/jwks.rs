//! The JWKS cache policy: how long a fetched key set is trusted and when an
//! unknown `kid` may trigger a refetch. Pure; the platform holds the state.

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};

// A fetched key set is reused for JWKS_TTL_MS (Supabase rotates keys with
// overlap, and an unknown `kid` refetches early anyway). Refetches caused by
// unknown `kid`s are spaced JWKS_MIN_REFETCH_MS apart, so a flood of forged
// tokens cannot turn into a flood of JWKS requests.
pub use crate::limits::{JWKS_MIN_REFETCH_MS, JWKS_TTL_MS};

/// A key set and when it was fetched.
#[derive(Debug, Clone)]
pub struct CachedJwks {
    pub keys: JwkSet,
    pub fetched_at_ms: u64,
}

impl CachedJwks {
    pub fn is_fresh(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.fetched_at_ms) < JWKS_TTL_MS
    }

    /// Whether an unknown `kid` may refetch now.
    pub fn may_refetch(&self, now_ms: u64) -> bool {
        now_ms.saturating_sub(self.fetched_at_ms) >= JWKS_MIN_REFETCH_MS
    }
}

/// Parses a JWKS document; keys of types the verifier cannot use (anything
/// but EC and RSA) are dropped rather than failing the whole set.
pub fn parse_jwks(body: &str) -> Result<JwkSet, String> {
    let raw: serde_json::Value = serde_json::from_str(body).map_err(|e| format!("JWKS is not JSON: {e}"))?;
    let keys = raw
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("JWKS has no `keys` array")?;
    let keys = keys
        .iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .filter(|k| {
            matches!(
                k.algorithm,
                AlgorithmParameters::EllipticCurve(_) | AlgorithmParameters::RSA(_)
            )
        })
        .collect();
    Ok(JwkSet { keys })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_ages_and_refetch_spacing() {
        let c = CachedJwks {
            keys: JwkSet { keys: vec![] },
            fetched_at_ms: 1_000,
        };
        assert!(c.is_fresh(1_000 + JWKS_TTL_MS - 1));
        assert!(!c.is_fresh(1_000 + JWKS_TTL_MS));
        assert!(!c.may_refetch(1_000 + 5));
        assert!(c.may_refetch(1_000 + JWKS_MIN_REFETCH_MS));
    }

    #[test]
    fn parse_keeps_supported_keys() {
        let body = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1","alg":"ES256","use":"sig"},{"kty":"weird"}]}"#;
        let set = parse_jwks(body).unwrap();
        assert_eq!(set.keys.len(), 1);
        assert!(set.find("k1").is_some());
        assert!(parse_jwks("[]").is_err());
        assert!(parse_jwks("nope").is_err());
    }
}
