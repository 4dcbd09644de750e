//! The verifier's attack suite: every forged, stale or misdirected token is
//! refused; genuine HS256, ES256 and RS256 tokens are accepted.

use super::*;
use crate::auth::jwks::parse_jwks;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{json, Value};

const SECRET: &[u8] = b"test-secret-with-at-least-32-characters!";
const ISS: &str = "http://127.0.0.1:54321/auth/v1";
const AUD: &str = "authenticated";
const NOW: u64 = 1_800_000_000;
const SUB: &str = "6f1c2d3e-4b5a-4789-9abc-def012345678";
const ES_PRIV: &str = include_str!("../../tests/fixtures/jwt/es256_private.pem");
const RS_PRIV: &str = include_str!("../../tests/fixtures/jwt/rs256_private.pem");
const RS_PUB: &str = include_str!("../../tests/fixtures/jwt/rs256_public.pem");
const JWKS: &str = include_str!("../../tests/fixtures/jwt/jwks.json");

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

fn claims() -> Value {
    json!({"sub": SUB, "role": "authenticated", "aud": AUD, "iss": ISS,
           "exp": NOW + 3600, "iat": NOW, "email": "a@example.com"})
}

fn with(patch: Value) -> Value {
    let mut c = claims();
    for (k, v) in patch.as_object().unwrap() {
        if v.is_null() {
            c.as_object_mut().unwrap().remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn hs(c: &Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        c,
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap()
}

fn es(c: &Value, kid: &str) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some(kid.into());
    encode(&h, c, &EncodingKey::from_ec_pem(ES_PRIV.as_bytes()).unwrap()).unwrap()
}

fn rs(c: &Value, kid: &str) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some(kid.into());
    encode(&h, c, &EncodingKey::from_rsa_pem(RS_PRIV.as_bytes()).unwrap()).unwrap()
}

fn verify_with(token: &str, secret: Option<&[u8]>) -> Result<AuthUser, VerifyError> {
    let set = parse_jwks(JWKS).unwrap();
    let v = Verifier {
        hs_secret: secret,
        jwks: Some(&set),
        issuer: ISS,
        audience: AUD,
    };
    v.verify(token, NOW)
}

fn verify(token: &str) -> Result<AuthUser, VerifyError> {
    verify_with(token, Some(SECRET))
}

fn b64(v: &Value) -> String {
    use base64_url::encode;
    encode(&v.to_string())
}

/// Minimal base64url without padding, enough to forge tokens by hand.
mod base64_url {
    pub fn encode(s: &str) -> String {
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &x)| acc | (x as u32) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

#[test]
fn valid_tokens_of_each_algorithm_are_accepted() {
    for token in [
        hs(&claims()),
        es(&claims(), "test-es256"),
        rs(&claims(), "test-rs256"),
    ] {
        let user = verify(&token).expect("valid token");
        assert_eq!(user.user_id.to_string(), SUB);
        assert_eq!(user.email.as_deref(), Some("a@example.com"));
        assert_eq!(user.token, token);
    }
}

#[test]
fn alg_none_is_refused() {
    let token = format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(&claims())
    );
    assert!(verify(&token).is_err());
}

#[test]
fn hs256_signed_with_a_public_key_is_refused() {
    // Algorithm confusion: the attacker signs HS256 with the public key bytes.
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("test-rs256".into());
    let token = encode(&h, &claims(), &EncodingKey::from_secret(RS_PUB.as_bytes())).unwrap();
    assert!(matches!(verify(&token), Err(VerifyError::BadSignature(_))));
    // With no HS256 secret configured, HS256 is not accepted at all.
    assert_eq!(verify_with(&token, None), Err(VerifyError::NoSecret));
}

#[test]
fn key_type_must_match_the_algorithm() {
    // An ES256 header pointing at the RSA key, and the reverse.
    let token = es(&claims(), "test-rs256");
    assert!(matches!(verify(&token), Err(VerifyError::AlgorithmNotAllowed(_))));
    let token = rs(&claims(), "test-es256");
    assert!(matches!(verify(&token), Err(VerifyError::AlgorithmNotAllowed(_))));
}

#[test]
fn other_algorithms_are_refused() {
    let token = encode(
        &Header::new(Algorithm::HS512),
        &claims(),
        &EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    assert!(matches!(verify(&token), Err(VerifyError::AlgorithmNotAllowed(_))));
}

#[test]
fn expired_and_not_yet_valid_are_refused_with_leeway() {
    let expired = hs(&with(json!({"exp": NOW - LEEWAY_SECS - 1})));
    assert_eq!(verify(&expired), Err(VerifyError::Expired));
    let within_leeway = hs(&with(json!({"exp": NOW - LEEWAY_SECS + 5})));
    assert!(verify(&within_leeway).is_ok());
    let future = hs(&with(json!({"nbf": NOW + LEEWAY_SECS + 60})));
    assert_eq!(verify(&future), Err(VerifyError::NotYetValid));
    let no_exp = hs(&with(json!({"exp": null})));
    assert!(verify(&no_exp).is_err());
}

#[test]
fn audience_and_issuer_must_match() {
    assert_eq!(
        verify(&hs(&with(json!({"aud": "other"})))),
        Err(VerifyError::WrongAudience)
    );
    assert_eq!(
        verify(&hs(&with(json!({"aud": null})))),
        Err(VerifyError::WrongAudience)
    );
    assert_eq!(
        verify(&hs(&with(json!({"iss": "https://evil.test/auth/v1"})))),
        Err(VerifyError::WrongIssuer)
    );
    assert_eq!(
        verify(&hs(&with(json!({"iss": null})))),
        Err(VerifyError::WrongIssuer)
    );
    assert!(verify(&hs(&with(json!({"aud": ["x", AUD]})))).is_ok());
}

#[test]
fn subject_must_be_a_uuid() {
    assert_eq!(
        verify(&hs(&with(json!({"sub": null})))),
        Err(VerifyError::BadSubject)
    );
    assert_eq!(
        verify(&hs(&with(json!({"sub": "not-a-uuid"})))),
        Err(VerifyError::BadSubject)
    );
}

#[test]
fn only_the_authenticated_role_is_accepted() {
    for role in ["anon", "service_role", "postgres"] {
        let token = hs(&with(json!({"role": role})));
        assert_eq!(verify(&token), Err(VerifyError::WrongRole(role.into())));
    }
    assert!(matches!(
        verify(&hs(&with(json!({"role": null})))),
        Err(VerifyError::WrongRole(_))
    ));
}

#[test]
fn tampered_payload_is_refused() {
    let token = hs(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let forged = b64(&with(json!({"sub": "00000000-0000-4000-8000-000000000001"})));
    let tampered = format!("{}.{}.{}", parts[0], forged, parts[2]);
    assert!(matches!(verify(&tampered), Err(VerifyError::BadSignature(_))));
    let es_token = es(&claims(), "test-es256");
    let p: Vec<&str> = es_token.split('.').collect();
    assert!(verify(&format!("{}.{}.{}", p[0], forged, p[2])).is_err());
}

#[test]
fn unknown_kid_asks_for_a_refetch() {
    let token = es(&claims(), "rotated-key");
    assert_eq!(
        verify(&token),
        Err(VerifyError::UnknownKid(Some("rotated-key".into())))
    );
    let v = Verifier {
        hs_secret: Some(SECRET),
        jwks: None,
        issuer: ISS,
        audience: AUD,
    };
    assert!(matches!(
        v.verify(&es(&claims(), "test-es256"), NOW),
        Err(VerifyError::UnknownKid(_))
    ));
}

#[test]
fn garbage_and_oversized_tokens_are_refused() {
    for token in ["", "abc", "a.b.c", "....", "eyJhbGciOiJIUzI1NiJ9.%%%.sig"] {
        assert!(verify(token).is_err(), "{token:?} accepted");
    }
    let big = hs(&with(json!({"pad": "x".repeat(MAX_TOKEN_BYTES)})));
    assert_eq!(verify(&big), Err(VerifyError::TooLarge));
}

#[test]
fn tampered_es256_and_rs256_are_refused_by_the_signature() {
    let forged = b64(&with(json!({"sub": "00000000-0000-4000-8000-000000000001"})));
    for token in [es(&claims(), "test-es256"), rs(&claims(), "test-rs256")] {
        let p: Vec<&str> = token.split('.').collect();
        let swapped = format!("{}.{}.{}", p[0], forged, p[2]);
        assert!(
            matches!(verify(&swapped), Err(VerifyError::BadSignature(_))),
            "{}",
            p[0]
        );
        // One signature character changed, and the signature cut short.
        let mut sig = p[2].to_string();
        let at = sig.len() - 3;
        let other = if &sig[at..at + 1] == "A" { "B" } else { "A" };
        sig.replace_range(at..at + 1, other);
        let flipped = format!("{}.{}.{}", p[0], p[1], sig);
        assert!(
            matches!(verify(&flipped), Err(VerifyError::BadSignature(_))),
            "{}",
            p[0]
        );
        let short = format!("{}.{}.{}", p[0], p[1], &p[2][..p[2].len() - 8]);
        assert!(
            matches!(verify(&short), Err(VerifyError::BadSignature(_))),
            "{}",
            p[0]
        );
        assert!(verify(&token).is_ok());
    }
}
