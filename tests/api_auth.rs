//! Authentication through the API layer with a fake platform: the JWKS is
//! fetched once and cached, an unknown `kid` refetches (spaced out), a failed
//! refresh keeps the last good key set, and no key set at all is a 502.

use std::cell::{Cell, RefCell};
use std::future::Future;

use edgeflow::api::auth::authenticate;
use edgeflow::api::Platform;
use edgeflow::auth::jwks::{CachedJwks, JWKS_MIN_REFETCH_MS, JWKS_TTL_MS};
use edgeflow::config::Config;
use edgeflow::engine::Clock;
use edgeflow::http::{HttpRequest, HttpResponse, Outbound, TransportError};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

const JWKS: &str = include_str!("fixtures/jwt/jwks.json");
const ES_PRIV: &str = include_str!("fixtures/jwt/es256_private.pem");
const URL: &str = "http://auth.test";
const NOW: u64 = 1_800_000_000_000;

struct FakePlatform {
    now: Cell<u64>,
    jwks_up: Cell<bool>,
    fetches: Cell<u32>,
    cache: RefCell<Option<CachedJwks>>,
}

impl FakePlatform {
    fn new() -> Self {
        FakePlatform {
            now: Cell::new(NOW),
            jwks_up: Cell::new(true),
            fetches: Cell::new(0),
            cache: RefCell::new(None),
        }
    }
}

impl Outbound for FakePlatform {
    async fn send(&self, req: HttpRequest) -> Result<HttpResponse, TransportError> {
        assert_eq!(req.url, format!("{URL}/auth/v1/.well-known/jwks.json"));
        self.fetches.set(self.fetches.get() + 1);
        if !self.jwks_up.get() {
            return Err(TransportError::NoAnswer("connection refused".into()));
        }
        Ok(HttpResponse {
            status: 200,
            headers: vec![],
            body: JWKS.as_bytes().to_vec(),
        })
    }
}

impl Clock for FakePlatform {
    fn now_ms(&self) -> u64 {
        self.now.get()
    }
    fn sleep(&self, _ms: u64) -> impl Future<Output = ()> {
        std::future::ready(())
    }
}

impl Platform for FakePlatform {
    fn jwks_cache(&self) -> &RefCell<Option<CachedJwks>> {
        &self.cache
    }
    fn log(&self, _line: &str) {}
    async fn enqueue(&self, _message: &edgeflow::api::runs::RunMessage, _delay_s: u32) -> Result<(), String> {
        Err("no queue in this test".into())
    }
}

fn config() -> Config {
    let vars = [("SUPABASE_URL", URL), ("SUPABASE_ANON_KEY", "anon")];
    Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
}

/// Signs like `jsonwebtoken::encode`, calling the crate's own signers
/// directly: the process-wide provider stays the worker's
/// (`edgeflow::auth::crypto`), which verifies only.
fn encode<T: serde::Serialize>(
    header: &Header,
    claims: &T,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<String> {
    use base64::engine::{general_purpose::URL_SAFE_NO_PAD, Engine};
    let part = |bytes: Vec<u8>| URL_SAFE_NO_PAD.encode(bytes);
    let message = format!(
        "{}.{}",
        part(serde_json::to_vec(header)?),
        part(serde_json::to_vec(claims)?)
    );
    let signer = (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.signer_factory)(&header.alg, key)?;
    Ok(format!(
        "{message}.{}",
        part(signer.try_sign(message.as_bytes())?)
    ))
}

fn es256(kid: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    let claims = json!({"sub": "6f1c2d3e-4b5a-4789-9abc-def012345678", "role": "authenticated",
        "aud": "authenticated", "iss": format!("{URL}/auth/v1"), "exp": NOW / 1000 + 3600});
    encode(
        &header,
        &claims,
        &EncodingKey::from_ec_pem(ES_PRIV.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn auth(p: &FakePlatform, token: &str) -> Result<(), u16> {
    let header = format!("Bearer {token}");
    futures_executor::block_on(authenticate(Some(&header), &config(), p))
        .map(|_| ())
        .map_err(|e| e.status())
}

#[test]
fn the_key_set_is_fetched_once_and_cached() {
    let p = FakePlatform::new();
    assert_eq!(auth(&p, &es256("test-es256")), Ok(()));
    assert_eq!(auth(&p, &es256("test-es256")), Ok(()));
    assert_eq!(p.fetches.get(), 1);
    p.now.set(NOW + JWKS_TTL_MS);
    assert_eq!(auth(&p, &es256("test-es256")), Ok(()));
    assert_eq!(p.fetches.get(), 2, "a stale set is refreshed");
}

#[test]
fn an_unknown_kid_refetches_but_not_in_a_flood() {
    let p = FakePlatform::new();
    assert_eq!(auth(&p, &es256("test-es256")), Ok(()));
    // Just fetched: an unknown kid is refused without asking again.
    assert_eq!(auth(&p, &es256("rotated")), Err(401));
    assert_eq!(p.fetches.get(), 1);
    p.now.set(NOW + JWKS_MIN_REFETCH_MS);
    assert_eq!(auth(&p, &es256("rotated")), Err(401));
    assert_eq!(
        p.fetches.get(),
        2,
        "after the spacing, an unknown kid refetches once"
    );
}

#[test]
fn a_failed_refresh_keeps_the_last_good_set() {
    let p = FakePlatform::new();
    assert_eq!(auth(&p, &es256("test-es256")), Ok(()));
    p.jwks_up.set(false);
    p.now.set(NOW + JWKS_TTL_MS + 1);
    assert_eq!(auth(&p, &es256("test-es256")), Ok(()));
    assert_eq!(p.fetches.get(), 2);
}

#[test]
fn no_key_set_at_all_is_an_upstream_error() {
    let p = FakePlatform::new();
    p.jwks_up.set(false);
    assert_eq!(auth(&p, &es256("test-es256")), Err(502));
    assert_eq!(auth(&p, "garbage"), Err(401));
}
