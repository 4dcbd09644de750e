//! Authenticates a request: bearer token verified against the project's
//! HS256 secret or its JWKS (fetched, cached, refetched once on an unknown
//! `kid`, with refetches spaced out).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode_header, Algorithm};

use super::Platform;
use crate::auth::jwks::{parse_jwks, CachedJwks};
use crate::auth::{bearer_token, AuthUser, Verifier, VerifyError};
use crate::config::Config;
use crate::error::ApiError;
use crate::http::HttpRequest;

/// Verifies the `Authorization` header; any failure is a 401 whose reason
/// goes to the log only.
pub async fn authenticate<P: Platform>(
    header: Option<&str>,
    config: &Config,
    p: &P,
) -> Result<AuthUser, ApiError> {
    let token = bearer_token(header).map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let asymmetric = matches!(
        decode_header(token).map(|h| h.alg),
        Ok(Algorithm::ES256 | Algorithm::RS256)
    );
    let now_ms = p.now_ms();

    let keys = if asymmetric {
        current_keys(config, p, now_ms, false).await?
    } else {
        None
    };
    match verify(token, config, keys.as_ref(), now_ms) {
        Err(VerifyError::UnknownKid(kid)) => {
            let may_refetch = p
                .jwks_cache()
                .borrow()
                .as_ref()
                .map(|c| c.may_refetch(now_ms))
                .unwrap_or(true);
            if !may_refetch {
                return Err(ApiError::unauthorized(format!(
                    "unknown kid {kid:?} (refetch throttled)"
                )));
            }
            let keys = current_keys(config, p, now_ms, true).await?;
            verify(token, config, keys.as_ref(), now_ms).map_err(|e| ApiError::unauthorized(e.to_string()))
        }
        other => other.map_err(|e| ApiError::unauthorized(e.to_string())),
    }
}

fn verify(token: &str, config: &Config, keys: Option<&JwkSet>, now_ms: u64) -> Result<AuthUser, VerifyError> {
    Verifier {
        hs_secret: config.jwt_secret.as_ref().map(|s| s.expose().as_bytes()),
        jwks: keys,
        issuer: &config.jwt_issuer,
        audience: &config.jwt_audience,
    }
    .verify(token, now_ms / 1000)
}

/// The cached key set, fetched when absent, stale or `force`d.
async fn current_keys<P: Platform>(
    config: &Config,
    p: &P,
    now_ms: u64,
    force: bool,
) -> Result<Option<JwkSet>, ApiError> {
    if !force {
        if let Some(cached) = p.jwks_cache().borrow().as_ref().filter(|c| c.is_fresh(now_ms)) {
            return Ok(Some(cached.keys.clone()));
        }
    }
    match fetch_keys(config, p).await {
        Ok(keys) => {
            *p.jwks_cache().borrow_mut() = Some(CachedJwks {
                keys: keys.clone(),
                fetched_at_ms: now_ms,
            });
            Ok(Some(keys))
        }
        // A failed refresh keeps the last good set in service: a short
        // outage of the auth server must not log every user out.
        Err(err) => match p.jwks_cache().borrow().as_ref() {
            Some(stale) => {
                p.log(&format!(
                    "jwks: refresh failed, using the cached set: {}",
                    err.log_line()
                ));
                Ok(Some(stale.keys.clone()))
            }
            None => Err(err),
        },
    }
}

async fn fetch_keys<P: Platform>(config: &Config, p: &P) -> Result<JwkSet, ApiError> {
    let url = config.jwks_url();
    let req = HttpRequest {
        method: "GET".into(),
        url: url.clone(),
        headers: vec![],
        body: None,
    };
    let resp = p
        .send(req)
        .await
        .map_err(|e| ApiError::upstream(format!("JWKS fetch {url}: {e}")))?;
    if resp.status != 200 {
        return Err(ApiError::upstream(format!(
            "JWKS fetch {url}: HTTP {}",
            resp.status
        )));
    }
    let keys = parse_jwks(&String::from_utf8_lossy(&resp.body))
        .map_err(|e| ApiError::upstream(format!("JWKS {url}: {e}")))?;
    p.log(&format!("jwks: fetched {} key(s) from {url}", keys.keys.len()));
    Ok(keys)
}

/// Checks that the `Authorization` header carries the service role key
/// (compared in constant time): only the platform's own callers (a Database
/// Webhook, `pg_net`) may ask for work to be dispatched.
pub fn service_role(header: Option<&str>, config: &Config) -> Result<(), ApiError> {
    let token = bearer_token(header).map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let expected = config
        .service_role_key
        .as_ref()
        .ok_or_else(|| ApiError::Misconfigured("SUPABASE_SERVICE_ROLE_KEY is not set".into()))?;
    if crate::auth::same_secret(token.as_bytes(), expected.expose().as_bytes()) {
        Ok(())
    } else {
        Err(ApiError::unauthorized("not the service role key"))
    }
}
