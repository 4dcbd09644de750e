//! Short-lived access tokens for the workflow owner, for work that runs with
//! no user present (a queued run, a recovered run, a trigger). The token is
//! an ordinary Supabase access token for the owner (`sub` = owner, role
//! `authenticated`), so PostgREST applies the owner's RLS and nothing more;
//! the service role is never used to read or write a user's rows.
//!
//! It is signed with `SUPABASE_JWT_SECRET` (HS256), which PostgREST accepts
//! as long as the project still verifies its legacy secret. A project that
//! signs only with asymmetric keys must keep that secret configured for
//! PostgREST (Supabase keeps verifying it after a migration to signing keys).

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;
use uuid::Uuid;

use crate::config::Config;
use crate::limits::OWNER_TOKEN_TTL_SECS;

/// Why no token could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintError(pub String);

/// A token for `owner`, valid from `now_s` for `OWNER_TOKEN_TTL_SECS`.
pub fn owner_token(config: &Config, owner: Uuid, now_s: u64) -> Result<String, MintError> {
    let secret = config.jwt_secret.as_ref().ok_or_else(|| {
        MintError("SUPABASE_JWT_SECRET is needed to act for a workflow owner when no user is present".into())
    })?;
    let claims = json!({
        "sub": owner.to_string(),
        "role": "authenticated",
        "aud": config.jwt_audience,
        "iss": config.jwt_issuer,
        "iat": now_s,
        "exp": now_s + OWNER_TOKEN_TTL_SECS,
        // Says who made it, for the database's logs and audit.
        "amr": [{"method": "edgeflow_run", "timestamp": now_s}],
    });
    crate::auth::crypto::install();
    encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.expose().as_bytes()),
    )
    .map_err(|e| MintError(format!("signing an owner token: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Verifier;

    fn config(secret: Option<&str>) -> Config {
        let vars = [
            ("SUPABASE_URL", Some("https://p.supabase.co")),
            ("SUPABASE_ANON_KEY", Some("anon")),
            ("SUPABASE_JWT_SECRET", secret),
        ];
        Config::from_lookup(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .and_then(|(_, v)| v.map(str::to_string))
        })
        .unwrap()
    }

    #[test]
    fn the_token_verifies_as_the_owner_and_expires_soon() {
        let c = config(Some("a-long-enough-local-secret-for-hs256"));
        let owner = Uuid::parse_str("6f1c2d3e-4b5a-4789-9abc-def012345678").unwrap();
        let token = owner_token(&c, owner, 1_800_000_000).unwrap();
        let secret = c.jwt_secret.as_ref().unwrap().expose().as_bytes().to_vec();
        let verifier = Verifier {
            hs_secret: Some(&secret),
            jwks: None,
            issuer: &c.jwt_issuer,
            audience: &c.jwt_audience,
        };
        let user = verifier.verify(&token, 1_800_000_000).unwrap();
        assert_eq!(user.user_id, owner);
        assert!(verifier
            .verify(&token, 1_800_000_000 + OWNER_TOKEN_TTL_SECS + 60)
            .is_err());
        assert!(owner_token(&config(None), owner, 0)
            .unwrap_err()
            .0
            .contains("SUPABASE_JWT_SECRET"));
    }
}
